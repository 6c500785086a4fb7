package boltrepo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime/debug"
	"slices"
	"strings"
	"sync"

	bolt "go.etcd.io/bbolt"

	"github.com/minato-ops/minato/inventory"
)

// The buckets of the file, and the format marker in the meta bucket.
//
// "nodes" and "scopes" map a facility ID to the JSON encoding of its
// inventory.Node or inventory.Scope. An assignment is two empty-valued
// keys: "<scope>\x00<node>" in "members" and "<node>\x00<scope>" in
// "memberof", so that the members of a scope, and the scopes of a node,
// are one prefix scan each, already sorted (a facility ID never holds a
// NUL byte).
var (
	metaBucket     = []byte("meta")
	nodesBucket    = []byte("nodes")
	scopesBucket   = []byte("scopes")
	membersBucket  = []byte("members")
	memberofBucket = []byte("memberof")
	formatKey      = []byte("format")
	versionKey     = []byte("version")
)

// dataBuckets are the buckets besides meta.
func dataBuckets() [][]byte {
	return [][]byte{nodesBucket, scopesBucket, membersBucket, memberofBucket}
}

// The format marker's values; jobsFormat is minato's job store's.
const (
	formatName    = "minato-inventory"
	formatVersion = "1"
	jobsFormat    = "minato-jobs"
)

// sep separates the two facility IDs of an assignment key.
const sep = 0

// initialise creates the buckets a repository needs and its format marker.
func initialise(tx *bolt.Tx) error {
	for _, b := range append(dataBuckets(), metaBucket) {
		if _, err := tx.CreateBucketIfNotExists(b); err != nil {
			return fmt.Errorf("bucket %s: %w", b, err)
		}
	}
	meta := tx.Bucket(metaBucket)
	if err := meta.Put(formatKey, []byte(formatName)); err != nil {
		return err
	}
	return meta.Put(versionKey, []byte(formatVersion))
}

// errBatchEnded is returned by the Repository of a batch used after the
// batch ended.
var errBatchEnded = errors.New("boltrepo: the repository of a batch was used after the batch ended")

// damageError is damage found in the file's content (a record that does
// not decode, keys out of order) or a panic of bbolt's over a damaged
// page; txRepo.do turns it into an ErrCorrupt error.
type damageError string

func (e damageError) Error() string { return string(e) }

func damagef(format string, args ...any) error { return damageError(fmt.Sprintf(format, args...)) }

// txRepo is the inventory.Repository of one bbolt transaction: what a
// Batch gives its function, and what every call of Repo runs in.
type txRepo struct {
	r     *Repo
	tx    *bolt.Tx
	batch bool // a Batch's: the caller's function uses it

	mu     sync.Mutex // a bbolt transaction is not safe for concurrent use
	dirty  bool       // something was written
	done   bool       // the transaction is over
	broken string     // the damage met; "" while none
}

var _ inventory.Repository = (*txRepo)(nil)

// do runs fn for the call what: it fails when ctx is done, the batch has
// ended or the transaction met damage, and turns a panic of bbolt (a
// damaged page; a fault reading the file's memory map) or a damageError
// into an ErrCorrupt error.
func (t *txRepo) do(ctx context.Context, what string, fn func() error) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	switch {
	case t.done:
		return errBatchEnded
	case t.broken != "":
		return t.r.corrupt(what, "the transaction met damage earlier: "+t.broken)
	}
	defer func() {
		if p := recover(); p != nil {
			err = damageError(fmt.Sprintf("bbolt met a damaged page: %v", p))
		}
		var d damageError
		if errors.As(err, &d) {
			t.broken = string(d)
			err = t.r.corrupt(what, string(d))
		}
	}()
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	return fn()
}

func (t *txRepo) bucket(name []byte) *bolt.Bucket { return t.tx.Bucket(name) }

// checkIDs returns an ErrInvalid error for the first malformed ID.
func checkIDs(what string, ids ...string) error {
	for _, id := range ids {
		if err := inventory.ValidFacilityID(id); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return nil
}

// notFound is the ErrNotFound error for the node or scope id; isOther
// says the other kind of facility has that ID.
func notFound(kind, id string, isOther bool) error {
	if isOther {
		other := "node"
		if kind == "node" {
			other = "scope"
		}
		return fmt.Errorf("%w: %s %s (a %s has that facility ID)", inventory.ErrNotFound, kind, id, other)
	}
	return fmt.Errorf("%w: %s %s", inventory.ErrNotFound, kind, id)
}

// listIDs joins ids for an error message, at most five of them.
func listIDs(ids []string) string {
	if len(ids) > 5 {
		return strings.Join(ids[:5], ", ") + fmt.Sprintf(" and %d more", len(ids)-5)
	}
	return strings.Join(ids, ", ")
}

func (t *txRepo) has(bucket []byte, id string) bool { return t.bucket(bucket).Get([]byte(id)) != nil }

func (t *txRepo) put(bucket, k, v []byte) error {
	t.dirty = true
	return t.bucket(bucket).Put(k, v)
}

func (t *txRepo) del(bucket, k []byte) error {
	t.dirty = true
	return t.bucket(bucket).Delete(k)
}

func pair(a, b string) []byte {
	k := make([]byte, 0, len(a)+1+len(b))
	return append(append(append(k, a...), sep), b...)
}

// forEach calls fn for every key of b that starts with prefix, in order,
// failing with damage when a key does not come after the one before: over
// pages damaged into a cycle, bbolt would go round for ever.
func forEach(b *bolt.Bucket, prefix []byte, fn func(k, v []byte) error) error {
	c := b.Cursor()
	var prev []byte
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if prev != nil && bytes.Compare(k, prev) <= 0 {
			return damagef("key %q follows key %q: pages are out of order", k, prev)
		}
		prev = k
		if err := fn(k, v); err != nil {
			return err
		}
	}
	return nil
}

// seconds returns the second IDs of the assignment keys of b that start
// with id: the members of scope id in "members", the scopes of node id in
// "memberof".
func (t *txRepo) seconds(bucket []byte, id string) ([]string, error) {
	prefix := append([]byte(id), sep)
	var out []string
	err := forEach(t.bucket(bucket), prefix, func(k, _ []byte) error {
		out = append(out, string(k[len(prefix):]))
		return nil
	})
	return out, err
}

func decodeNode(k, v []byte) (inventory.Node, error) {
	var n inventory.Node
	if err := json.Unmarshal(v, &n); err != nil {
		return n, damagef("node %q: its record does not decode: %v", k, err)
	}
	if n.FacilityID != string(k) {
		return n, damagef("node %q: its record says facility ID %q", k, n.FacilityID)
	}
	return n, nil
}

func decodeScope(k, v []byte) (inventory.Scope, error) {
	var s inventory.Scope
	if err := json.Unmarshal(v, &s); err != nil {
		return s, damagef("scope %q: its record does not decode: %v", k, err)
	}
	if s.FacilityID != string(k) {
		return s, damagef("scope %q: its record says facility ID %q", k, s.FacilityID)
	}
	return s, nil
}

// Node implements [inventory.Repository].
func (t *txRepo) Node(ctx context.Context, id string) (n inventory.Node, err error) {
	err = t.do(ctx, "node "+id, func() error {
		if err := checkIDs("node", id); err != nil {
			return err
		}
		v := t.bucket(nodesBucket).Get([]byte(id))
		if v == nil {
			return notFound("node", id, t.has(scopesBucket, id))
		}
		n, err = decodeNode([]byte(id), v)
		return err
	})
	return n, err
}

// Nodes implements [inventory.Repository].
func (t *txRepo) Nodes(ctx context.Context) (ns []inventory.Node, err error) {
	err = t.do(ctx, "nodes", func() error {
		ns = []inventory.Node{}
		return forEach(t.bucket(nodesBucket), nil, func(k, v []byte) error {
			n, err := decodeNode(k, v)
			ns = append(ns, n)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return ns, nil
}

// PutNode implements [inventory.Repository].
func (t *txRepo) PutNode(ctx context.Context, n inventory.Node) error {
	return t.do(ctx, "put node "+n.FacilityID, func() error {
		if err := n.Validate(); err != nil {
			return err
		}
		if t.has(scopesBucket, n.FacilityID) {
			return fmt.Errorf("%w: node %s: a scope has that facility ID", inventory.ErrConflict, n.FacilityID)
		}
		v, err := json.Marshal(n)
		if err != nil {
			return fmt.Errorf("node %s: encode: %w", n.FacilityID, err)
		}
		if bytes.Equal(t.bucket(nodesBucket).Get([]byte(n.FacilityID)), v) {
			return nil
		}
		return t.put(nodesBucket, []byte(n.FacilityID), v)
	})
}

// DeleteNode implements [inventory.Repository].
func (t *txRepo) DeleteNode(ctx context.Context, id string) error {
	return t.do(ctx, "delete node "+id, func() error {
		if err := checkIDs("node", id); err != nil {
			return err
		}
		if !t.has(nodesBucket, id) {
			return nil
		}
		scopes, err := t.seconds(memberofBucket, id)
		if err != nil {
			return err
		}
		for _, s := range scopes {
			if err := t.del(membersBucket, pair(s, id)); err != nil {
				return err
			}
			if err := t.del(memberofBucket, pair(id, s)); err != nil {
				return err
			}
		}
		return t.del(nodesBucket, []byte(id))
	})
}

// Scope implements [inventory.Repository].
func (t *txRepo) Scope(ctx context.Context, id string) (s inventory.Scope, err error) {
	err = t.do(ctx, "scope "+id, func() error {
		if err := checkIDs("scope", id); err != nil {
			return err
		}
		v := t.bucket(scopesBucket).Get([]byte(id))
		if v == nil {
			return notFound("scope", id, t.has(nodesBucket, id))
		}
		s, err = decodeScope([]byte(id), v)
		return err
	})
	return s, err
}

// allScopes returns every scope, sorted.
func (t *txRepo) allScopes() ([]inventory.Scope, error) {
	ss := []inventory.Scope{}
	err := forEach(t.bucket(scopesBucket), nil, func(k, v []byte) error {
		s, err := decodeScope(k, v)
		ss = append(ss, s)
		return err
	})
	return ss, err
}

// Scopes implements [inventory.Repository].
func (t *txRepo) Scopes(ctx context.Context) (ss []inventory.Scope, err error) {
	err = t.do(ctx, "scopes", func() error {
		ss, err = t.allScopes()
		return err
	})
	if err != nil {
		return nil, err
	}
	return ss, nil
}

// PutScope implements [inventory.Repository].
func (t *txRepo) PutScope(ctx context.Context, s inventory.Scope) error {
	return t.do(ctx, "put scope "+s.FacilityID, func() error {
		if err := s.Validate(); err != nil {
			return err
		}
		id := s.FacilityID
		if t.has(nodesBucket, id) {
			return fmt.Errorf("%w: scope %s: a node has that facility ID", inventory.ErrConflict, id)
		}
		if s.Parent != "" {
			if !t.has(scopesBucket, s.Parent) {
				return fmt.Errorf("scope %s: parent: %w", id, notFound("scope", s.Parent, t.has(nodesBucket, s.Parent)))
			}
			// The parent must not lie inside the scope: walk up from it.
			seen := map[string]bool{}
			for p := s.Parent; p != ""; {
				if p == id {
					return fmt.Errorf("%w: scope %s: parent %s lies inside it", inventory.ErrConflict, id, s.Parent)
				}
				if seen[p] {
					return damagef("scope %q: its ancestors form a cycle", p)
				}
				seen[p] = true
				v := t.bucket(scopesBucket).Get([]byte(p))
				if v == nil {
					return damagef("scope %q: its parent is not in the repository", p)
				}
				ps, err := decodeScope([]byte(p), v)
				if err != nil {
					return err
				}
				p = ps.Parent
			}
		}
		v, err := json.Marshal(s)
		if err != nil {
			return fmt.Errorf("scope %s: encode: %w", id, err)
		}
		if bytes.Equal(t.bucket(scopesBucket).Get([]byte(id)), v) {
			return nil
		}
		return t.put(scopesBucket, []byte(id), v)
	})
}

// DeleteScope implements [inventory.Repository].
func (t *txRepo) DeleteScope(ctx context.Context, id string) error {
	return t.do(ctx, "delete scope "+id, func() error {
		if err := checkIDs("scope", id); err != nil {
			return err
		}
		if !t.has(scopesBucket, id) {
			return nil
		}
		all, err := t.allScopes()
		if err != nil {
			return err
		}
		var children []string
		for _, s := range all {
			if s.Parent == id {
				children = append(children, s.FacilityID)
			}
		}
		if len(children) > 0 {
			return fmt.Errorf("%w: scope %s still has child scopes: %s", inventory.ErrConflict, id, listIDs(children))
		}
		nodes, err := t.seconds(membersBucket, id)
		if err != nil {
			return err
		}
		for _, n := range nodes {
			if err := t.del(membersBucket, pair(id, n)); err != nil {
				return err
			}
			if err := t.del(memberofBucket, pair(n, id)); err != nil {
				return err
			}
		}
		return t.del(scopesBucket, []byte(id))
	})
}

// Assign implements [inventory.Repository].
func (t *txRepo) Assign(ctx context.Context, scopeID string, nodeIDs ...string) error {
	return t.do(ctx, "assign to scope "+scopeID, func() error {
		if err := checkIDs("assign: scope", scopeID); err != nil {
			return err
		}
		if err := checkIDs("assign: node", nodeIDs...); err != nil {
			return err
		}
		if !t.has(scopesBucket, scopeID) {
			return fmt.Errorf("assign: %w", notFound("scope", scopeID, t.has(nodesBucket, scopeID)))
		}
		var missing []string
		for _, id := range nodeIDs {
			if !t.has(nodesBucket, id) && !slices.Contains(missing, id) {
				missing = append(missing, id)
			}
		}
		if len(missing) > 0 {
			return fmt.Errorf("assign to scope %s: %w: node %s (nothing assigned)", scopeID, inventory.ErrNotFound, listIDs(missing))
		}
		for _, id := range nodeIDs {
			k := pair(scopeID, id)
			if t.bucket(membersBucket).Get(k) != nil {
				continue
			}
			if err := t.put(membersBucket, k, []byte{}); err != nil {
				return err
			}
			if err := t.put(memberofBucket, pair(id, scopeID), []byte{}); err != nil {
				return err
			}
		}
		return nil
	})
}

// Unassign implements [inventory.Repository].
func (t *txRepo) Unassign(ctx context.Context, scopeID string, nodeIDs ...string) error {
	return t.do(ctx, "unassign from scope "+scopeID, func() error {
		if err := checkIDs("unassign: scope", scopeID); err != nil {
			return err
		}
		if err := checkIDs("unassign: node", nodeIDs...); err != nil {
			return err
		}
		if !t.has(scopesBucket, scopeID) {
			return fmt.Errorf("unassign: %w", notFound("scope", scopeID, t.has(nodesBucket, scopeID)))
		}
		for _, id := range nodeIDs {
			k := pair(scopeID, id)
			if t.bucket(membersBucket).Get(k) == nil {
				continue
			}
			if err := t.del(membersBucket, k); err != nil {
				return err
			}
			if err := t.del(memberofBucket, pair(id, scopeID)); err != nil {
				return err
			}
		}
		return nil
	})
}

// Members implements [inventory.Repository].
func (t *txRepo) Members(ctx context.Context, scopeID string) (ids []string, err error) {
	err = t.do(ctx, "members of scope "+scopeID, func() error {
		if err := checkIDs("scope", scopeID); err != nil {
			return err
		}
		if !t.has(scopesBucket, scopeID) {
			return notFound("scope", scopeID, t.has(nodesBucket, scopeID))
		}
		ids, err = t.seconds(membersBucket, scopeID)
		return err
	})
	if err != nil {
		return nil, err
	}
	return ids, nil
}

// checkMarker checks, at the start of every call, that the file is still
// a repository of this format: a file replaced by another program's
// database since Open is refused rather than written to.
func (t *txRepo) checkMarker() error {
	return t.do(context.Background(), "check the format marker", func() error {
		meta := t.bucket(metaBucket)
		if meta == nil {
			var names []string
			err := t.tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
				names = append(names, string(name))
				return nil
			})
			if err != nil {
				return err
			}
			return t.r.notStore(describe(names) + ", and no minato format marker")
		}
		switch f, v := string(meta.Get(formatKey)), string(meta.Get(versionKey)); {
		case f == jobsFormat:
			return t.r.notStore("it is minato's job store (the agent's jobs.store), not an inventory repository")
		case f != formatName:
			return t.r.notStore(fmt.Sprintf("its format marker (meta/format) says %q, not %q: it belongs to another program", f, formatName))
		case v != formatVersion:
			return fmt.Errorf("boltrepo: %s: the repository is in format version %q and this minato reads version %s only; nothing was changed in it: use the minato that wrote it, or give minato another repository file", t.r.path, v, formatVersion)
		}
		for _, b := range dataBuckets() {
			if t.bucket(b) == nil {
				return damagef("it has minato's format marker but no bucket %q", b)
			}
		}
		return nil
	})
}

// describe says what buckets a bbolt database that is not a repository
// holds.
func describe(names []string) string {
	if len(names) == 0 {
		return "it is a bbolt database that holds nothing"
	}
	q := make([]string, 0, 6)
	for i, n := range names {
		if i == 5 {
			q = append(q, fmt.Sprintf("and %d more", len(names)-5))
			break
		}
		q = append(q, fmt.Sprintf("%q", n))
	}
	return "it is a bbolt database with the buckets " + strings.Join(q, ", ")
}

// checkAll reads the whole repository, as Open does: every record
// decodes, names itself, is valid, and every assignment is recorded both
// ways between a node and a scope that exist.
func (t *txRepo) checkAll() error {
	return t.do(context.Background(), "check", func() error {
		if err := forEach(t.bucket(nodesBucket), nil, func(k, v []byte) error {
			n, err := decodeNode(k, v)
			if err == nil {
				if verr := n.Validate(); verr != nil {
					err = damagef("node %q: %v", k, verr)
				}
			}
			if err == nil && t.has(scopesBucket, n.FacilityID) {
				err = damagef("node %q: a scope has its facility ID", k)
			}
			return err
		}); err != nil {
			return err
		}
		scopes, err := t.allScopes()
		if err != nil {
			return err
		}
		for _, s := range scopes {
			if err := s.Validate(); err != nil {
				return damagef("scope %q: %v", s.FacilityID, err)
			}
			if s.Parent != "" && !t.has(scopesBucket, s.Parent) {
				return damagef("scope %q: its parent %q is not in the repository", s.FacilityID, s.Parent)
			}
		}
		for _, dir := range []struct {
			bucket, mirror []byte
			first, second  []byte
		}{
			{membersBucket, memberofBucket, scopesBucket, nodesBucket},
			{memberofBucket, membersBucket, nodesBucket, scopesBucket},
		} {
			if err := forEach(t.bucket(dir.bucket), nil, func(k, v []byte) error {
				a, b, ok := bytes.Cut(k, []byte{sep})
				switch {
				case !ok || len(v) != 0:
					return damagef("%s: key %q is not an assignment", dir.bucket, k)
				case t.bucket(dir.first).Get(a) == nil || t.bucket(dir.second).Get(b) == nil:
					return damagef("%s: assignment %q names a facility that is not in the repository", dir.bucket, k)
				case t.bucket(dir.mirror).Get(pair(string(b), string(a))) == nil:
					return damagef("%s: assignment %q is not recorded in %s", dir.bucket, k, dir.mirror)
				}
				return nil
			}); err != nil {
				return err
			}
		}
		return nil
	})
}
