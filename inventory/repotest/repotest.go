package repotest

import (
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/minato-ops/minato/inventory"
)

// Run runs the conformance suite for an [inventory.Repository] as subtests
// of t. open must return a fresh, empty repository each time it is called
// (one per subtest); it may call t.Fatal when it cannot, and should
// register with t.Cleanup whatever the repository leaves behind (files,
// containers). When the repository is an [io.Closer], the suite closes it
// at the end of the subtest.
//
// The suite runs subtests with goroutines sharing one repository; run it
// with -race. Subtests about [inventory.Batcher] are skipped when the
// repository does not implement it.
func Run(t *testing.T, open func(t *testing.T) inventory.Repository) {
	t.Helper()
	if open == nil {
		t.Fatal("repotest.Run: open is nil")
	}
	for _, tc := range []struct {
		name string
		fn   func(t *testing.T, r inventory.Repository)
	}{
		{"Empty", testEmpty},
		{"NodeRoundTrip", testNodeRoundTrip},
		{"PutNodeReplaces", testPutNodeReplaces},
		{"ScopeRoundTrip", testScopeRoundTrip},
		{"PutScopeReplaces", testPutScopeReplaces},
		{"Sorted", testSorted},
		{"Idempotent", testIdempotent},
		{"NotFound", testNotFound},
		{"Invalid", testInvalid},
		{"IDClash", testIDClash},
		{"ScopeCycles", testScopeCycles},
		{"AssignAllOrNothing", testAssignAllOrNothing},
		{"Unassign", testUnassign},
		{"DeleteNode", testDeleteNode},
		{"DeleteScope", testDeleteScope},
		{"ScopeNodes", testScopeNodes},
		{"Ownership", testOwnership},
		{"BatchCommit", testBatchCommit},
		{"BatchRollback", testBatchRollback},
		{"BatchFailedCall", testBatchFailedCall},
		{"Concurrent", testConcurrent},
		{"ConcurrentBatches", testConcurrentBatches},
	} {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, fresh(t, open)) })
	}
}

// fresh opens a repository, registers its Close, and checks it is empty.
func fresh(t *testing.T, open func(t *testing.T) inventory.Repository) inventory.Repository {
	t.Helper()
	r := open(t)
	if r == nil {
		t.Fatal("repotest: open returned a nil inventory.Repository")
	}
	if c, ok := r.(io.Closer); ok {
		t.Cleanup(func() {
			if err := c.Close(); err != nil {
				t.Errorf("repotest: Close: %v", err)
			}
		})
	}
	if s := dump(t, r); len(s.Nodes) > 0 || len(s.Scopes) > 0 {
		t.Fatalf("repotest: open must return a fresh, empty repository, but it holds %d nodes and %d scopes", len(s.Nodes), len(s.Scopes))
	}
	return r
}

// The facility IDs the suite uses, after the Hinemos Docker scripts: a
// Docker host, its containers (<host>-<container>) and its scope
// (<host>_scope) under a scope of all Docker hosts.
const (
	host   = "dockerhost01"
	web    = "dockerhost01-web"
	db     = "dockerhost01-db"
	cache  = "dockerhost01-cache"
	top    = "DOCKER"
	scope  = "dockerhost01_scope"
	scope2 = "dockerhost02_scope"
)

// node returns a container node as the Hinemos Docker scripts register it.
func node(id string) inventory.Node {
	name := strings.TrimPrefix(id, host+"-")
	return inventory.Node{
		FacilityID: id, FacilityName: name, Managed: true, Platform: "LINUX", IPVersion: 4,
		IPv4: "172.17.0.2", HostName: "0e0d8cdf3a57", NodeName: "0e0d8cdf3a57",
		Variables: map[string]string{
			"DOCKER_CONTAINER_ID": "0e0d8cdf3a57", "DOCKER_IMAGE": "nginx:1.27",
			"DOCKER_STATUS": "running", "DOCKER_HOST": host,
		},
	}
}

// fullNode returns a node with every field set, text that is not ASCII,
// quotes and control characters, and a variable whose value is empty.
// Fields added to Node after the suite was written get a value too.
func fullNode(id string) inventory.Node {
	n := inventory.Node{
		FacilityID:   id,
		FacilityName: "ウェブ \"web\" 1",
		Description:  "nginx; ports 80,443\ttab\nsecond line \\ back",
		Managed:      true,
		Platform:     "LINUX",
		IPVersion:    6,
		IPv4:         "172.17.0.2",
		IPv6:         "fd00:dead:beef::2",
		HostName:     "0e0d8cdf3a57",
		NodeName:     "0e0d8cdf3a57",
		Variables: map[string]string{
			"DOCKER_CONTAINER_ID": "0e0d8cdf3a57",
			"DOCKER_COMMAND":      `"nginx -g 'daemon off;'"`,
			"DOCKER_PORTS":        "0.0.0.0:8080->80/tcp, :::8080->80/tcp",
			"DOCKER_IMAGE":        "nginx:1.27",
			"DOCKER_STATUS":       "running",
			"DOCKER_HOST":         host,
			"EMPTY":               "",
		},
	}
	fillZero(reflect.ValueOf(&n).Elem())
	return n
}

// fillZero gives every zero field of the struct v a value.
func fillZero(v reflect.Value) {
	for i := range v.NumField() {
		f := v.Field(i)
		if !f.CanSet() || !f.IsZero() {
			continue
		}
		name := v.Type().Field(i).Name
		switch f.Kind() {
		case reflect.String:
			f.SetString("x-" + name)
		case reflect.Bool:
			f.SetBool(true)
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			f.SetInt(1)
		case reflect.Map:
			if f.Type().Key().Kind() == reflect.String && f.Type().Elem().Kind() == reflect.String {
				f.Set(reflect.ValueOf(map[string]string{name: "x"}).Convert(f.Type()))
			}
		case reflect.Slice:
			if f.Type().Elem().Kind() == reflect.String {
				f.Set(reflect.ValueOf([]string{"x-" + name}).Convert(f.Type()))
			}
		}
	}
}

// sameNode compares nodes, an empty Variables map equal to a nil one.
func sameNode(a, b inventory.Node) bool {
	if len(a.Variables) == 0 {
		a.Variables = nil
	}
	if len(b.Variables) == 0 {
		b.Variables = nil
	}
	return reflect.DeepEqual(a, b)
}

// state is the whole content of a repository.
type state struct {
	Nodes   []inventory.Node
	Scopes  []inventory.Scope
	Members map[string][]string
}

func (s state) String() string {
	var b strings.Builder
	for _, n := range s.Nodes {
		fmt.Fprintf(&b, "node %s %+v\n", n.FacilityID, n)
	}
	for _, sc := range s.Scopes {
		fmt.Fprintf(&b, "scope %s parent %q name %q members %v\n", sc.FacilityID, sc.Parent, sc.FacilityName, s.Members[sc.FacilityID])
	}
	return b.String()
}

func (s state) equal(o state) bool {
	if len(s.Nodes) != len(o.Nodes) || !slices.Equal(s.Scopes, o.Scopes) || len(s.Members) != len(o.Members) {
		return false
	}
	for i := range s.Nodes {
		if !sameNode(s.Nodes[i], o.Nodes[i]) {
			return false
		}
	}
	for k, v := range s.Members {
		if !slices.Equal(v, o.Members[k]) {
			return false
		}
	}
	return true
}

// dump reads the whole repository, checking that Node and Scope return
// what Nodes and Scopes list.
func dump(t *testing.T, r inventory.Repository) state {
	t.Helper()
	ctx := t.Context()
	var s state
	var err error
	if s.Nodes, err = r.Nodes(ctx); err != nil {
		t.Fatalf("Nodes: %v", err)
	}
	if s.Scopes, err = r.Scopes(ctx); err != nil {
		t.Fatalf("Scopes: %v", err)
	}
	for _, n := range s.Nodes {
		if got, err := r.Node(ctx, n.FacilityID); err != nil || !sameNode(got, n) {
			t.Errorf("Node(%s) = %+v, %v; Nodes has %+v", n.FacilityID, got, err, n)
		}
	}
	s.Members = map[string][]string{}
	for _, sc := range s.Scopes {
		if got, err := r.Scope(ctx, sc.FacilityID); err != nil || got != sc {
			t.Errorf("Scope(%s) = %+v, %v; Scopes has %+v", sc.FacilityID, got, err, sc)
		}
		ms, err := r.Members(ctx, sc.FacilityID)
		if err != nil {
			t.Fatalf("Members(%s): %v", sc.FacilityID, err)
		}
		s.Members[sc.FacilityID] = ms
	}
	return s
}

// unchanged fails t when r no longer holds before.
func unchanged(t *testing.T, r inventory.Repository, before state, after string) {
	t.Helper()
	if now := dump(t, r); !now.equal(before) {
		t.Errorf("%s, the repository changed; it holds\n%s\nwant\n%s", after, now, before)
	}
}

func putNode(t *testing.T, r inventory.Repository, ns ...inventory.Node) {
	t.Helper()
	for _, n := range ns {
		if err := r.PutNode(t.Context(), n); err != nil {
			t.Fatalf("PutNode(%s): %v", n.FacilityID, err)
		}
	}
}

func putScope(t *testing.T, r inventory.Repository, ss ...inventory.Scope) {
	t.Helper()
	for _, s := range ss {
		if err := r.PutScope(t.Context(), s); err != nil {
			t.Fatalf("PutScope(%s parent %q): %v", s.FacilityID, s.Parent, err)
		}
	}
}

func assign(t *testing.T, r inventory.Repository, scopeID string, nodeIDs ...string) {
	t.Helper()
	if err := r.Assign(t.Context(), scopeID, nodeIDs...); err != nil {
		t.Fatalf("Assign(%s, %v): %v", scopeID, nodeIDs, err)
	}
}

func members(t *testing.T, r inventory.Repository, scopeID string, want ...string) {
	t.Helper()
	got, err := r.Members(t.Context(), scopeID)
	if err != nil {
		t.Fatalf("Members(%s): %v", scopeID, err)
	}
	if len(got) != len(want) || (len(want) > 0 && !slices.Equal(got, want)) {
		t.Errorf("Members(%s) = %q, want %q", scopeID, got, want)
	}
}

func getNode(t *testing.T, r inventory.Repository, id string) inventory.Node {
	t.Helper()
	n, err := r.Node(t.Context(), id)
	if err != nil {
		t.Fatalf("Node(%s): %v", id, err)
	}
	return n
}

// is fails t unless err wraps want and names id.
func is(t *testing.T, call string, err, want error, id string) {
	t.Helper()
	switch {
	case err == nil:
		t.Errorf("%s succeeded, want an error wrapping %v", call, want)
	case !errors.Is(err, want):
		t.Errorf("%s: %v, want an error wrapping %v", call, err, want)
	case id != "" && !strings.Contains(err.Error(), id):
		t.Errorf("%s: %v: the error does not name the facility ID %s", call, err, id)
	}
}

// basic fills r with a host, three containers, a scope tree and
// assignments.
func basic(t *testing.T, r inventory.Repository) {
	t.Helper()
	putNode(t, r, inventory.Node{FacilityID: host, FacilityName: host, Managed: true, Platform: "LINUX", IPVersion: 4, IPv4: "192.0.2.10"})
	putNode(t, r, node(web), node(db), node(cache))
	putScope(t, r, inventory.Scope{FacilityID: top, FacilityName: "Docker hosts"},
		inventory.Scope{FacilityID: scope, FacilityName: "dockerhost01 containers", Parent: top},
		inventory.Scope{FacilityID: scope2, FacilityName: "dockerhost02 containers", Parent: top})
	assign(t, r, top, host)
	assign(t, r, scope, web, db, cache)
	assign(t, r, scope2, web)
}

func testEmpty(t *testing.T, r inventory.Repository) {
	ctx := t.Context()
	if _, err := r.Node(ctx, web); !errors.Is(err, inventory.ErrNotFound) {
		t.Errorf("Node(%s) on an empty repository: %v, want ErrNotFound", web, err)
	}
	if _, err := r.Scope(ctx, scope); !errors.Is(err, inventory.ErrNotFound) {
		t.Errorf("Scope(%s) on an empty repository: %v, want ErrNotFound", scope, err)
	}
	if _, err := r.Members(ctx, scope); !errors.Is(err, inventory.ErrNotFound) {
		t.Errorf("Members(%s) on an empty repository: %v, want ErrNotFound", scope, err)
	}
	if err := r.DeleteNode(ctx, web); err != nil {
		t.Errorf("DeleteNode on an empty repository: %v", err)
	}
	if err := r.DeleteScope(ctx, scope); err != nil {
		t.Errorf("DeleteScope on an empty repository: %v", err)
	}
}

func testNodeRoundTrip(t *testing.T, r inventory.Repository) {
	ctx := t.Context()
	want := fullNode(web)
	putNode(t, r, want)
	if got := getNode(t, r, web); !sameNode(got, want) {
		t.Errorf("Node after PutNode of a node with every field set:\n got %+v\nwant %+v", got, want)
	}
	minimal := inventory.Node{FacilityID: db}
	putNode(t, r, minimal)
	if got := getNode(t, r, db); !sameNode(got, minimal) {
		t.Errorf("Node after PutNode of a node with only its facility ID: got %+v, want %+v (zero values stay zero)", got, minimal)
	}
	ns, err := r.Nodes(ctx)
	if err != nil {
		t.Fatalf("Nodes: %v", err)
	}
	if len(ns) != 2 || !sameNode(ns[0], minimal) || !sameNode(ns[1], want) {
		t.Errorf("Nodes = %+v, want the two nodes put, %s then %s", ns, db, web)
	}
	if ss, err := r.Scopes(ctx); err != nil || len(ss) != 0 {
		t.Errorf("Scopes after putting only nodes = %v, %v; want none", ss, err)
	}
}

func testPutNodeReplaces(t *testing.T, r inventory.Repository) {
	basic(t, r)
	next := inventory.Node{
		FacilityID: web, FacilityName: "web-2", Platform: "LINUX", IPVersion: 4, IPv4: "172.17.0.9",
		Variables: map[string]string{"DOCKER_STATUS": "exited"},
	}
	putNode(t, r, next)
	if got := getNode(t, r, web); !sameNode(got, next) {
		t.Errorf("Node after a second PutNode: got %+v, want %+v (PutNode replaces every property: no old variable, description or flag stays)", got, next)
	}
	members(t, r, scope, cache, db, web)
	members(t, r, scope2, web)
}

func testScopeRoundTrip(t *testing.T, r inventory.Repository) {
	ctx := t.Context()
	want := []inventory.Scope{
		{FacilityID: top, FacilityName: "Docker ホスト", Description: "every engine\nminato syncs"},
		{FacilityID: scope, FacilityName: "dockerhost01 containers", Parent: top},
	}
	putScope(t, r, want...)
	for _, w := range want {
		got, err := r.Scope(ctx, w.FacilityID)
		if err != nil || got != w {
			t.Errorf("Scope(%s) = %+v, %v; want %+v", w.FacilityID, got, err, w)
		}
		members(t, r, w.FacilityID)
	}
	got, err := r.Scopes(ctx)
	if err != nil || !slices.Equal(got, want) {
		t.Errorf("Scopes = %+v, %v; want %+v", got, err, want)
	}
	if ns, err := r.Nodes(ctx); err != nil || len(ns) != 0 {
		t.Errorf("Nodes after putting only scopes = %v, %v; want none", ns, err)
	}
}

func testPutScopeReplaces(t *testing.T, r inventory.Repository) {
	ctx := t.Context()
	basic(t, r)
	moved := inventory.Scope{FacilityID: scope, FacilityName: "renamed", Description: "moved", Parent: scope2}
	putScope(t, r, moved)
	if got, err := r.Scope(ctx, scope); err != nil || got != moved {
		t.Errorf("Scope after PutScope moved it: %+v, %v; want %+v", got, err, moved)
	}
	members(t, r, scope, cache, db, web)
	toTop := inventory.Scope{FacilityID: scope, FacilityName: "top"}
	putScope(t, r, toTop)
	if got, err := r.Scope(ctx, scope); err != nil || got != toTop {
		t.Errorf("Scope after PutScope moved it to the top: %+v, %v; want %+v", got, err, toTop)
	}
	members(t, r, scope, cache, db, web)
}

func testSorted(t *testing.T, r inventory.Repository) {
	ctx := t.Context()
	// Upper case before lower case, "-" < "." < digits < "@" < letters < "_",
	// shorter before longer: byte order.
	ids := []string{"b", "a_1", "B", "a", "a-1", "a.1", "a1", "a@1", "A", "aa", "0"}
	want := slices.Sorted(slices.Values(ids))
	for _, id := range ids {
		putNode(t, r, node("n"+id))
		putScope(t, r, inventory.Scope{FacilityID: "s" + id})
	}
	ns, err := r.Nodes(ctx)
	if err != nil {
		t.Fatalf("Nodes: %v", err)
	}
	var got []string
	for _, n := range ns {
		got = append(got, strings.TrimPrefix(n.FacilityID, "n"))
	}
	if !slices.Equal(got, want) {
		t.Errorf("Nodes in the order %q, want %q (sorted by facility ID)", got, want)
	}
	ss, err := r.Scopes(ctx)
	if err != nil {
		t.Fatalf("Scopes: %v", err)
	}
	got = got[:0]
	for _, s := range ss {
		got = append(got, strings.TrimPrefix(s.FacilityID, "s"))
	}
	if !slices.Equal(got, want) {
		t.Errorf("Scopes in the order %q, want %q (sorted by facility ID)", got, want)
	}
	for _, id := range ids {
		assign(t, r, "s0", "n"+id)
	}
	var wantMembers []string
	for _, id := range want {
		wantMembers = append(wantMembers, "n"+id)
	}
	members(t, r, "s0", wantMembers...)
}

func testIdempotent(t *testing.T, r inventory.Repository) {
	ctx := t.Context()
	basic(t, r)
	twice := func(name string, call func() error) {
		t.Helper()
		if err := call(); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		before := dump(t, r)
		if err := call(); err != nil {
			t.Errorf("%s a second time: %v, want nil (every call is idempotent)", name, err)
		}
		unchanged(t, r, before, name+" a second time")
	}
	twice("PutNode", func() error { return r.PutNode(ctx, fullNode(web)) })
	twice("PutNode of a new node", func() error { return r.PutNode(ctx, node("dockerhost01-new")) })
	twice("PutScope", func() error {
		return r.PutScope(ctx, inventory.Scope{FacilityID: scope, FacilityName: "x", Parent: top})
	})
	twice("PutScope of a new scope", func() error { return r.PutScope(ctx, inventory.Scope{FacilityID: "new_scope", Parent: scope}) })
	twice("Assign", func() error { return r.Assign(ctx, scope2, web, db) })
	twice("Assign of the same node twice in one call", func() error { return r.Assign(ctx, "new_scope", cache, cache) })
	twice("Assign of no nodes", func() error { return r.Assign(ctx, scope) })
	twice("Unassign", func() error { return r.Unassign(ctx, scope2, web) })
	twice("Unassign of no nodes", func() error { return r.Unassign(ctx, scope) })
	twice("DeleteNode", func() error { return r.DeleteNode(ctx, db) })
	twice("DeleteScope", func() error { return r.DeleteScope(ctx, "new_scope") })
	members(t, r, scope, cache, web)
	members(t, r, scope2)
}

func testNotFound(t *testing.T, r inventory.Repository) {
	ctx := t.Context()
	basic(t, r)
	before := dump(t, r)
	for _, tc := range []struct {
		call string
		id   string
		err  error
	}{
		{"Node of an absent node", "dockerhost01-gone", func() error { _, err := r.Node(ctx, "dockerhost01-gone"); return err }()},
		{"Node of a scope's ID", scope, func() error { _, err := r.Node(ctx, scope); return err }()},
		{"Scope of an absent scope", "gone_scope", func() error { _, err := r.Scope(ctx, "gone_scope"); return err }()},
		{"Scope of a node's ID", web, func() error { _, err := r.Scope(ctx, web); return err }()},
		{"Members of an absent scope", "gone_scope", func() error { _, err := r.Members(ctx, "gone_scope"); return err }()},
		{"Members of a node's ID", web, func() error { _, err := r.Members(ctx, web); return err }()},
		{"PutScope under an absent parent", "gone_scope", r.PutScope(ctx, inventory.Scope{FacilityID: "new_scope", Parent: "gone_scope"})},
		{"PutScope under a node", web, r.PutScope(ctx, inventory.Scope{FacilityID: "new_scope", Parent: web})},
		{"Assign to an absent scope", "gone_scope", r.Assign(ctx, "gone_scope", web)},
		{"Assign of no nodes to an absent scope", "gone_scope", r.Assign(ctx, "gone_scope")},
		{"Assign to a node", db, r.Assign(ctx, db, web)},
		{"Assign of an absent node", "dockerhost01-gone", r.Assign(ctx, scope2, "dockerhost01-gone")},
		{"Assign of a scope as a node", top, r.Assign(ctx, scope2, top)},
		{"Unassign from an absent scope", "gone_scope", r.Unassign(ctx, "gone_scope", web)},
		{"Unassign from a node", db, r.Unassign(ctx, db, web)},
	} {
		is(t, tc.call, tc.err, inventory.ErrNotFound, tc.id)
	}
	unchanged(t, r, before, "after calls that failed with ErrNotFound")
}

func testInvalid(t *testing.T, r inventory.Repository) {
	ctx := t.Context()
	basic(t, r)
	before := dump(t, r)
	long := strings.Repeat("a", inventory.MaxFacilityIDLen+1)
	bad := []string{"", "web 1", "web/1", "ウェブ", "a:b", long}
	for _, id := range bad {
		n := node(web)
		n.FacilityID = id
		is(t, fmt.Sprintf("PutNode(%.20q)", id), r.PutNode(ctx, n), inventory.ErrInvalid, "")
		is(t, fmt.Sprintf("PutScope(%.20q)", id), r.PutScope(ctx, inventory.Scope{FacilityID: id}), inventory.ErrInvalid, "")
		if id != "" { // "" is no parent, not a malformed one
			is(t, fmt.Sprintf("PutScope with parent %.20q", id), r.PutScope(ctx, inventory.Scope{FacilityID: "new_scope", Parent: id}), inventory.ErrInvalid, "")
		}
	}
	for _, v := range []int{1, 5, -4, 46} {
		n := node(web)
		n.IPVersion = v
		is(t, fmt.Sprintf("PutNode with IPVersion %d", v), r.PutNode(ctx, n), inventory.ErrInvalid, web)
	}
	// Lookups, deletions and assignments of a malformed ID: ErrInvalid, or
	// what the call says of an ID that is not there.
	for _, id := range bad[1:] {
		q := fmt.Sprintf("%.20q", id)
		if _, err := r.Node(ctx, id); !errors.Is(err, inventory.ErrInvalid) && !errors.Is(err, inventory.ErrNotFound) {
			t.Errorf("Node(%s): %v, want ErrInvalid or ErrNotFound", q, err)
		}
		if _, err := r.Scope(ctx, id); !errors.Is(err, inventory.ErrInvalid) && !errors.Is(err, inventory.ErrNotFound) {
			t.Errorf("Scope(%s): %v, want ErrInvalid or ErrNotFound", q, err)
		}
		if _, err := r.Members(ctx, id); !errors.Is(err, inventory.ErrInvalid) && !errors.Is(err, inventory.ErrNotFound) {
			t.Errorf("Members(%s): %v, want ErrInvalid or ErrNotFound", q, err)
		}
		if err := r.Assign(ctx, scope2, db, id); !errors.Is(err, inventory.ErrInvalid) && !errors.Is(err, inventory.ErrNotFound) {
			t.Errorf("Assign(%s, %s, %s): %v, want ErrInvalid or ErrNotFound", scope2, db, q, err)
		}
		if err := r.DeleteNode(ctx, id); err != nil && !errors.Is(err, inventory.ErrInvalid) {
			t.Errorf("DeleteNode(%s): %v, want nil or ErrInvalid", q, err)
		}
		if err := r.DeleteScope(ctx, id); err != nil && !errors.Is(err, inventory.ErrInvalid) {
			t.Errorf("DeleteScope(%s): %v, want nil or ErrInvalid", q, err)
		}
		if err := r.Unassign(ctx, scope, id); err != nil && !errors.Is(err, inventory.ErrInvalid) {
			t.Errorf("Unassign(%s, %s): %v, want nil or ErrInvalid", scope, q, err)
		}
	}
	unchanged(t, r, before, "after calls with malformed nodes, scopes and IDs")
}

func testIDClash(t *testing.T, r inventory.Repository) {
	ctx := t.Context()
	basic(t, r)
	before := dump(t, r)
	n := node(scope)
	is(t, "PutNode with a scope's facility ID", r.PutNode(ctx, n), inventory.ErrConflict, scope)
	is(t, "PutScope with a node's facility ID", r.PutScope(ctx, inventory.Scope{FacilityID: web}), inventory.ErrConflict, web)
	is(t, "PutScope with a node's facility ID under a scope", r.PutScope(ctx, inventory.Scope{FacilityID: host, Parent: top}), inventory.ErrConflict, host)
	unchanged(t, r, before, "after PutNode and PutScope clashed with the other kind")
	// The other kind is untouched by deletions of an ID it has.
	if err := r.DeleteNode(ctx, scope); err != nil {
		t.Errorf("DeleteNode of a scope's ID: %v, want nil (no such node)", err)
	}
	if err := r.DeleteScope(ctx, web); err != nil {
		t.Errorf("DeleteScope of a node's ID: %v, want nil (no such scope)", err)
	}
	unchanged(t, r, before, "after DeleteNode of a scope's ID and DeleteScope of a node's ID")
}

func testScopeCycles(t *testing.T, r inventory.Repository) {
	ctx := t.Context()
	putScope(t, r, inventory.Scope{FacilityID: "a"}, inventory.Scope{FacilityID: "b", Parent: "a"}, inventory.Scope{FacilityID: "c", Parent: "b"})
	before := dump(t, r)
	is(t, "PutScope of a under its grandchild c", r.PutScope(ctx, inventory.Scope{FacilityID: "a", Parent: "c"}), inventory.ErrConflict, "a")
	is(t, "PutScope of a under its child b", r.PutScope(ctx, inventory.Scope{FacilityID: "a", Parent: "b"}), inventory.ErrConflict, "a")
	is(t, "PutScope of b under itself", r.PutScope(ctx, inventory.Scope{FacilityID: "b", Parent: "b"}), inventory.ErrConflict, "b")
	is(t, "PutScope of a new scope under itself", r.PutScope(ctx, inventory.Scope{FacilityID: "d", Parent: "d"}), inventory.ErrConflict, "d")
	unchanged(t, r, before, "after PutScope calls that would make a cycle")
	// Moving a scope elsewhere in the tree is fine.
	putScope(t, r, inventory.Scope{FacilityID: "c", Parent: "a"}, inventory.Scope{FacilityID: "b", Parent: "c"})
	if s, err := r.Scope(ctx, "b"); err != nil || s.Parent != "c" {
		t.Errorf("Scope(b) after moving it under c = %+v, %v", s, err)
	}
}

func testAssignAllOrNothing(t *testing.T, r inventory.Repository) {
	ctx := t.Context()
	basic(t, r)
	before := dump(t, r)
	err := r.Assign(ctx, scope2, db, "dockerhost01-gone", cache)
	is(t, "Assign of two nodes and an absent one", err, inventory.ErrNotFound, "dockerhost01-gone")
	err = r.Assign(ctx, scope2, db, cache, top)
	is(t, "Assign of two nodes and a scope", err, inventory.ErrNotFound, top)
	unchanged(t, r, before, "after Assign failed")
	assign(t, r, scope2, db, cache)
	members(t, r, scope2, cache, db, web)
}

func testUnassign(t *testing.T, r inventory.Repository) {
	ctx := t.Context()
	basic(t, r)
	if err := r.Unassign(ctx, scope, web, host, "dockerhost01-gone", web); err != nil {
		t.Fatalf("Unassign of a member, a node not in the scope, an absent node and the member again: %v, want nil", err)
	}
	members(t, r, scope, cache, db)
	members(t, r, scope2, web)
	getNode(t, r, web) // the node stays
}

func testDeleteNode(t *testing.T, r inventory.Repository) {
	ctx := t.Context()
	basic(t, r)
	if err := r.DeleteNode(ctx, web); err != nil {
		t.Fatalf("DeleteNode: %v", err)
	}
	is(t, "Node after DeleteNode", func() error { _, err := r.Node(ctx, web); return err }(), inventory.ErrNotFound, web)
	members(t, r, scope, cache, db)
	members(t, r, scope2)
	// A node put again with the ID has no assignments.
	putNode(t, r, node(web))
	members(t, r, scope, cache, db)
	members(t, r, scope2)
	if ns, err := inventory.ScopeNodes(ctx, r, top); err != nil || !slices.Equal(ns, []string{host, cache, db}) {
		t.Errorf("ScopeNodes(%s) = %q, %v; want %q", top, ns, err, []string{host, cache, db})
	}
}

func testDeleteScope(t *testing.T, r inventory.Repository) {
	ctx := t.Context()
	basic(t, r)
	before := dump(t, r)
	is(t, "DeleteScope of a scope with child scopes", r.DeleteScope(ctx, top), inventory.ErrConflict, top)
	unchanged(t, r, before, "after DeleteScope failed")

	if err := r.DeleteScope(ctx, scope); err != nil {
		t.Fatalf("DeleteScope(%s): %v", scope, err)
	}
	is(t, "Scope after DeleteScope", func() error { _, err := r.Scope(ctx, scope); return err }(), inventory.ErrNotFound, scope)
	is(t, "Members after DeleteScope", func() error { _, err := r.Members(ctx, scope); return err }(), inventory.ErrNotFound, scope)
	for _, id := range []string{web, db, cache} {
		getNode(t, r, id) // the nodes stay
	}
	members(t, r, scope2, web)
	// A scope put again with the ID has no members.
	putScope(t, r, inventory.Scope{FacilityID: scope, Parent: top})
	members(t, r, scope)

	for _, id := range []string{scope, scope2} {
		if err := r.DeleteScope(ctx, id); err != nil {
			t.Fatalf("DeleteScope(%s): %v", id, err)
		}
	}
	if err := r.DeleteScope(ctx, top); err != nil {
		t.Fatalf("DeleteScope(%s) once its children are gone: %v", top, err)
	}
	s := dump(t, r)
	if len(s.Scopes) != 0 || len(s.Nodes) != 4 {
		t.Errorf("after deleting every scope the repository holds %d scopes and %d nodes, want 0 and 4", len(s.Scopes), len(s.Nodes))
	}
}

func testScopeNodes(t *testing.T, r inventory.Repository) {
	ctx := t.Context()
	basic(t, r)
	putScope(t, r, inventory.Scope{FacilityID: "web_scope", Parent: scope})
	assign(t, r, "web_scope", web)
	for scopeID, want := range map[string][]string{
		top:         {host, cache, db, web},
		scope:       {cache, db, web},
		scope2:      {web},
		"web_scope": {web},
	} {
		got, err := inventory.ScopeNodes(ctx, r, scopeID)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("ScopeNodes(%s) = %q, %v; want %q", scopeID, got, err, want)
		}
	}
}

func testOwnership(t *testing.T, r inventory.Repository) {
	ctx := t.Context()
	basic(t, r)
	n := fullNode("dockerhost01-owned")
	vars := n.Variables
	putNode(t, r, n)
	assign(t, r, scope2, n.FacilityID)
	before := dump(t, r)

	vars["DOCKER_STATUS"] = "changed by the caller"
	vars["ADDED"] = "by the caller"
	delete(vars, "DOCKER_IMAGE")
	unchanged(t, r, before, "after the caller changed the Variables map it gave PutNode")

	got := getNode(t, r, n.FacilityID)
	got.Variables["DOCKER_STATUS"] = "changed by the caller"
	delete(got.Variables, "DOCKER_HOST")
	unchanged(t, r, before, "after the caller changed the Variables of a node Node returned")

	ns, err := r.Nodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := range ns {
		ns[i].FacilityName = "changed"
		if ns[i].Variables != nil {
			ns[i].Variables["DOCKER_STATUS"] = "changed by the caller"
		}
	}
	slices.Reverse(ns)
	unchanged(t, r, before, "after the caller changed the nodes Nodes returned")

	ss, err := r.Scopes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ss[0].Parent = scope
	slices.Reverse(ss)
	ms, err := r.Members(ctx, scope)
	if err != nil {
		t.Fatal(err)
	}
	ms[0] = "changed"
	ids := []string{db, cache}
	assign(t, r, scope2, ids...)
	ids[0] = web
	before.Members[scope2] = []string{cache, db, "dockerhost01-owned", web}
	unchanged(t, r, before, "after the caller changed the slices Scopes, Members and Assign returned or were given")
}

// batcher returns r as a Batcher, or skips t.
func batcher(t *testing.T, r inventory.Repository) inventory.Batcher {
	t.Helper()
	b, ok := r.(inventory.Batcher)
	if !ok {
		t.Skipf("%T is not an inventory.Batcher", r)
	}
	return b
}

func testBatchCommit(t *testing.T, r inventory.Repository) {
	b := batcher(t, r)
	ctx := t.Context()
	basic(t, r)
	err := b.Batch(ctx, func(tx inventory.Repository) error {
		if err := tx.PutScope(ctx, inventory.Scope{FacilityID: "dockerhost03_scope", Parent: top}); err != nil {
			return err
		}
		for _, id := range []string{"dockerhost03-a", "dockerhost03-b"} {
			if err := tx.PutNode(ctx, node(id)); err != nil {
				return err
			}
		}
		if err := tx.Assign(ctx, "dockerhost03_scope", "dockerhost03-a", "dockerhost03-b"); err != nil {
			return err
		}
		if err := tx.DeleteNode(ctx, db); err != nil {
			return err
		}
		if err := tx.Unassign(ctx, scope2, web); err != nil {
			return err
		}
		// The batch reads its own changes.
		members(t, tx, "dockerhost03_scope", "dockerhost03-a", "dockerhost03-b")
		members(t, tx, scope, cache, web)
		if _, err := tx.Node(ctx, db); !errors.Is(err, inventory.ErrNotFound) {
			t.Errorf("Node(%s) in the batch that deleted it: %v, want ErrNotFound", db, err)
		}
		if ns, err := inventory.ScopeNodes(ctx, tx, top); err != nil || len(ns) != 5 {
			t.Errorf("ScopeNodes(%s) in the batch = %q, %v; want 5 nodes", top, ns, err)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("Batch: %v", err)
	}
	members(t, r, "dockerhost03_scope", "dockerhost03-a", "dockerhost03-b")
	members(t, r, scope, cache, web)
	members(t, r, scope2)
	if _, err := r.Node(ctx, db); !errors.Is(err, inventory.ErrNotFound) {
		t.Errorf("Node(%s) after the batch that deleted it: %v, want ErrNotFound", db, err)
	}

	// inventory.Batch takes the same path.
	err = inventory.Batch(ctx, r, func(tx inventory.Repository) error { return tx.Assign(ctx, scope2, cache) })
	if err != nil {
		t.Fatalf("inventory.Batch: %v", err)
	}
	members(t, r, scope2, cache)
}

var errStop = errors.New("repotest: the batch function gave up")

func testBatchRollback(t *testing.T, r inventory.Repository) {
	b := batcher(t, r)
	ctx := t.Context()
	basic(t, r)
	before := dump(t, r)
	err := b.Batch(ctx, func(tx inventory.Repository) error {
		changed := inventory.Node{FacilityID: web, FacilityName: "changed"}
		for _, err := range []error{
			tx.PutNode(ctx, node("dockerhost01-new")),
			tx.PutNode(ctx, changed),
			tx.Assign(ctx, scope2, "dockerhost01-new", db),
			tx.Unassign(ctx, scope, cache),
			tx.DeleteNode(ctx, cache),
			tx.PutScope(ctx, inventory.Scope{FacilityID: "new_scope", Parent: scope2}),
			tx.PutScope(ctx, inventory.Scope{FacilityID: scope2, FacilityName: "renamed"}),
			tx.DeleteScope(ctx, scope),
		} {
			if err != nil {
				t.Errorf("a change in the batch: %v", err)
			}
		}
		members(t, tx, scope2, db, "dockerhost01-new", web)
		return fmt.Errorf("after 8 changes: %w", errStop)
	})
	if !errors.Is(err, errStop) {
		t.Errorf("Batch of a function that failed: %v, want its error", err)
	}
	unchanged(t, r, before, "after a batch whose function returned an error")

	// A failed call's error, returned by the function, discards the batch.
	err = b.Batch(ctx, func(tx inventory.Repository) error {
		if err := tx.PutNode(ctx, node("dockerhost01-new")); err != nil {
			return err
		}
		return tx.PutNode(ctx, node(scope))
	})
	is(t, "Batch whose function returned PutNode's conflict", err, inventory.ErrConflict, scope)
	unchanged(t, r, before, "after a batch whose function returned a call's error")
}

func testBatchFailedCall(t *testing.T, r inventory.Repository) {
	b := batcher(t, r)
	ctx := t.Context()
	basic(t, r)
	err := b.Batch(ctx, func(tx inventory.Repository) error {
		if err := tx.PutNode(ctx, node("dockerhost01-new")); err != nil {
			return err
		}
		err := tx.Assign(ctx, scope2, "dockerhost01-new", "dockerhost01-gone")
		is(t, "Assign of an absent node in a batch", err, inventory.ErrNotFound, "dockerhost01-gone")
		is(t, "DeleteScope with child scopes in a batch", tx.DeleteScope(ctx, top), inventory.ErrConflict, top)
		members(t, tx, scope2, web)
		return nil // the function carries on: the failed calls changed nothing
	})
	if err != nil {
		t.Fatalf("Batch: %v", err)
	}
	getNode(t, r, "dockerhost01-new")
	members(t, r, scope2, web)
	if _, err := r.Scope(ctx, top); err != nil {
		t.Errorf("Scope(%s) after a batch whose DeleteScope failed: %v", top, err)
	}
}

// workers and rounds size the concurrent subtests: enough to interleave
// calls, few enough for a store that syncs every write to a disk.
const (
	workers = 6
	rounds  = 8
)

func testConcurrent(t *testing.T, r inventory.Repository) {
	ctx := t.Context()
	putScope(t, r, inventory.Scope{FacilityID: "all"})
	for w := range workers {
		putScope(t, r, inventory.Scope{FacilityID: fmt.Sprintf("w%d_scope", w), Parent: "all"})
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers*rounds*8+64)
	for w := range workers {
		wg.Go(func() {
			sc := fmt.Sprintf("w%d_scope", w)
			for i := range rounds {
				id := fmt.Sprintf("w%d-n%02d", w, i)
				n := node(id)
				n.Variables["ROUND"] = fmt.Sprint(i)
				if err := r.PutNode(ctx, n); err != nil {
					errs <- fmt.Errorf("PutNode(%s): %w", id, err)
					continue
				}
				if err := r.Assign(ctx, sc, id); err != nil {
					errs <- fmt.Errorf("Assign(%s, %s): %w", sc, id, err)
				}
				if err := r.Assign(ctx, "all", id); err != nil {
					errs <- fmt.Errorf("Assign(all, %s): %w", id, err)
				}
				if got, err := r.Node(ctx, id); err != nil || !sameNode(got, n) {
					errs <- fmt.Errorf("Node(%s) right after PutNode = %+v, %v", id, got, err)
				}
				ms, err := r.Members(ctx, sc)
				if err != nil || !slices.Contains(ms, id) {
					errs <- fmt.Errorf("Members(%s) right after Assign = %q, %v; want %s in it", sc, ms, err, id)
				}
				if i%2 == 1 {
					if err := r.DeleteNode(ctx, id); err != nil {
						errs <- fmt.Errorf("DeleteNode(%s): %w", id, err)
					}
				}
			}
		})
	}
	stop := make(chan struct{})
	var readers sync.WaitGroup
	for range 2 {
		readers.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				ns, err := r.Nodes(ctx)
				if err != nil {
					errs <- fmt.Errorf("while others write: Nodes: %w", err)
					return
				}
				if !slices.IsSortedFunc(ns, func(a, b inventory.Node) int { return strings.Compare(a.FacilityID, b.FacilityID) }) {
					errs <- errors.New("while others write: Nodes are not sorted")
					return
				}
				if _, err := inventory.ScopeNodes(ctx, r, "all"); err != nil {
					errs <- fmt.Errorf("while others write: ScopeNodes: %w", err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(stop)
	readers.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	var all []string
	for w := range workers {
		var want []string
		for i := 0; i < rounds; i += 2 {
			want = append(want, fmt.Sprintf("w%d-n%02d", w, i))
		}
		members(t, r, fmt.Sprintf("w%d_scope", w), want...)
		all = append(all, want...)
	}
	members(t, r, "all", all...)
	ns, err := r.Nodes(ctx)
	if err != nil || len(ns) != len(all) {
		t.Errorf("Nodes after the concurrent calls: %d nodes, %v; want %d", len(ns), err, len(all))
	}
}

func testConcurrentBatches(t *testing.T, r inventory.Repository) {
	b := batcher(t, r)
	ctx := t.Context()
	putScope(t, r, inventory.Scope{FacilityID: "all"})
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			err := b.Batch(ctx, func(tx inventory.Repository) error {
				ids := make([]string, 0, rounds)
				for i := range rounds {
					id := fmt.Sprintf("w%d-n%02d", w, i)
					if err := tx.PutNode(ctx, node(id)); err != nil {
						return err
					}
					ids = append(ids, id)
				}
				if err := tx.Assign(ctx, "all", ids...); err != nil {
					return err
				}
				if w%2 == 1 {
					return errStop
				}
				return nil
			})
			if w%2 == 1 && !errors.Is(err, errStop) {
				err = fmt.Errorf("batch %d: %v, want its function's error", w, err)
			} else if w%2 == 1 {
				err = nil
			}
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	var want []string
	for w := 0; w < workers; w += 2 {
		for i := range rounds {
			want = append(want, fmt.Sprintf("w%d-n%02d", w, i))
		}
	}
	members(t, r, "all", want...)
	if ns, err := r.Nodes(ctx); err != nil || len(ns) != len(want) {
		t.Errorf("Nodes after concurrent batches, half of them failed: %d nodes, %v; want %d", len(ns), err, len(want))
	}
}
