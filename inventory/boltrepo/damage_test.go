package boltrepo_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/inventory/boltrepo"
)

// goodRepo writes a repository with n containers of one host, each in the
// host's scope, at path and returns the file's bytes.
func goodRepo(t testing.TB, path string, n int) []byte {
	t.Helper()
	ctx := t.Context()
	r := open(t, path, boltrepo.Options{NoSync: true})
	err := r.Batch(ctx, func(tx inventory.Repository) error {
		if err := tx.PutScope(ctx, inventory.Scope{FacilityID: "dockerhost01_scope", FacilityName: "dockerhost01"}); err != nil {
			return err
		}
		for i := range n {
			c := node("dockerhost01", fmt.Sprintf("c%04d", i))
			if err := tx.PutNode(ctx, c); err != nil {
				return err
			}
			if err := tx.Assign(ctx, "dockerhost01_scope", c.FacilityID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// treePages returns the file's branch and leaf pages: those whose header
// names their own index and says branch (0x01) or leaf (0x02).
func treePages(b []byte) []int {
	ps := os.Getpagesize() // bbolt's page size for files it creates
	var out []int
	for i := 2; (i+1)*ps <= len(b); i++ {
		p := b[i*ps:]
		id, flags := binary.LittleEndian.Uint64(p[0:8]), binary.LittleEndian.Uint16(p[8:10])
		if id == uint64(i) && (flags == 0x01 || flags == 0x02) {
			out = append(out, i)
		}
	}
	return out
}

// scribble writes random bytes over the pages of b.
func scribble(b []byte, pages []int, seed uint64) {
	ps := os.Getpagesize()
	r := rand.New(rand.NewPCG(seed, seed))
	for _, p := range pages {
		for i := range b[p*ps : (p+1)*ps] {
			b[p*ps+i] = byte(r.Uint32())
		}
	}
}

// rawDB writes a bbolt file at path with fill's content, as another
// program would, and returns its bytes.
func rawDB(t testing.TB, path string, fill func(tx *bolt.Tx) error) []byte {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if fill != nil {
		if err := db.Update(fill); err != nil {
			t.Fatal(err)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func buckets(names ...string) func(tx *bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		for _, n := range names {
			b, err := tx.CreateBucket([]byte(n))
			if err != nil {
				return err
			}
			if err := b.Put([]byte("key"), []byte("value of "+n)); err != nil {
				return err
			}
		}
		return nil
	}
}

func marker(format, version string, names ...string) func(tx *bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		for _, n := range append(names, "meta") {
			if _, err := tx.CreateBucket([]byte(n)); err != nil {
				return err
			}
		}
		m := tx.Bucket([]byte("meta"))
		if err := m.Put([]byte("format"), []byte(format)); err != nil {
			return err
		}
		return m.Put([]byte("version"), []byte(version))
	}
}

var repoBuckets = []string{"nodes", "scopes", "members", "memberof"}

// edit changes a good repository's content behind minato's back.
func edit(t testing.TB, path string, good []byte, fn func(tx *bolt.Tx) error) []byte {
	t.Helper()
	if err := os.WriteFile(path, good, 0o600); err != nil {
		t.Fatal(err)
	}
	return rawDBEdit(t, path, fn)
}

func rawDBEdit(t testing.TB, path string, fn func(tx *bolt.Tx) error) []byte {
	t.Helper()
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(fn); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestOpenRefusesBadFiles opens files that are not sound repositories:
// each is refused with an error naming the file, what is wrong and what to
// do; the file is left exactly as it was; and the file lock is released,
// so that once the file is replaced in place by a good repository it
// opens at once.
func TestOpenRefusesBadFiles(t *testing.T) {
	good := goodRepo(t, filepath.Join(t.TempDir(), "good.db"), 300)
	tree := treePages(good)
	if len(tree) < 20 {
		t.Fatalf("the good repository has only %d tree pages", len(tree))
	}
	for _, tc := range []struct {
		name string
		file func(t *testing.T, path string) []byte
		is   error
		says string
	}{
		{"empty", func(*testing.T, string) []byte { return nil }, boltrepo.ErrCorrupt, "the file is empty (0 bytes)"},
		{"junk", func(*testing.T, string) []byte {
			b := make([]byte, 64<<10)
			scribble(b, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, 1)
			return b
		}, boltrepo.ErrCorrupt, "it is not a bbolt database"},
		{"text", func(*testing.T, string) []byte { return []byte("facility_id,facility_name\nweb,web\n") }, boltrepo.ErrCorrupt, "it is not a bbolt database"},
		{"truncated", func(*testing.T, string) []byte { return slices.Clone(good[:len(good)/2]) }, boltrepo.ErrCorrupt, "truncated"},
		{"truncated to its header pages", func(*testing.T, string) []byte {
			return slices.Clone(good[:2*os.Getpagesize()])
		}, boltrepo.ErrCorrupt, "truncated"},
		{"damaged pages", func(*testing.T, string) []byte {
			b := slices.Clone(good)
			r := rand.New(rand.NewPCG(7, 7))
			var some []int
			for _, p := range tree {
				if r.IntN(4) == 0 {
					some = append(some, p)
				}
			}
			scribble(b, some, 2)
			return b
		}, boltrepo.ErrCorrupt, "is damaged"},
		{"another program's database", func(t *testing.T, path string) []byte {
			return rawDB(t, path, buckets("users", "sessions", "nodes"))
		}, boltrepo.ErrNotStore, `buckets "nodes", "sessions", "users"`},
		{"an empty bbolt database", func(t *testing.T, path string) []byte { return rawDB(t, path, nil) }, boltrepo.ErrNotStore, "holds nothing"},
		{"minato's job store", func(t *testing.T, path string) []byte {
			return rawDB(t, path, marker("minato-jobs", "1", "runs", "values"))
		}, boltrepo.ErrNotStore, "job store"},
		{"another program's format marker", func(t *testing.T, path string) []byte {
			return rawDB(t, path, marker("gitea-queue", "1"))
		}, boltrepo.ErrNotStore, `says "gitea-queue"`},
		{"a newer format", func(t *testing.T, path string) []byte {
			return rawDB(t, path, marker("minato-inventory", "2", repoBuckets...))
		}, nil, `format version "2"`},
		{"a bucket missing", func(t *testing.T, path string) []byte {
			return rawDB(t, path, marker("minato-inventory", "1", "nodes", "scopes", "members"))
		}, boltrepo.ErrCorrupt, `no bucket "memberof"`},
		{"a record that does not decode", func(t *testing.T, path string) []byte {
			return edit(t, path, good, func(tx *bolt.Tx) error {
				return tx.Bucket([]byte("nodes")).Put([]byte("dockerhost01-c0007"), []byte(`{"facility_id":"dockerhost01-c0007",`))
			})
		}, boltrepo.ErrCorrupt, `node "dockerhost01-c0007": its record does not decode`},
		{"a record under another ID", func(t *testing.T, path string) []byte {
			return edit(t, path, good, func(tx *bolt.Tx) error {
				return tx.Bucket([]byte("scopes")).Put([]byte("other_scope"), []byte(`{"facility_id":"dockerhost01_scope"}`))
			})
		}, boltrepo.ErrCorrupt, `scope "other_scope": its record says facility ID "dockerhost01_scope"`},
		{"an assignment of a node that is not there", func(t *testing.T, path string) []byte {
			return edit(t, path, good, func(tx *bolt.Tx) error {
				return tx.Bucket([]byte("nodes")).Delete([]byte("dockerhost01-c0100"))
			})
		}, boltrepo.ErrCorrupt, "names a facility that is not in the repository"},
		{"an assignment recorded one way", func(t *testing.T, path string) []byte {
			return edit(t, path, good, func(tx *bolt.Tx) error {
				return tx.Bucket([]byte("memberof")).Delete([]byte("dockerhost01-c0100\x00dockerhost01_scope"))
			})
		}, boltrepo.ErrCorrupt, "is not recorded in memberof"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "inventory.db")
			b := tc.file(t, path)
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			r, err := boltrepo.Open(path, boltrepo.Options{LockTimeout: 100 * time.Millisecond})
			if err == nil {
				t.Fatalf("Open succeeded: %v", r.Path())
			}
			t.Logf("Open: %v", err)
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("the error does not wrap %v", tc.is)
			}
			for _, want := range []string{path, tc.says, "nothing was changed", "give minato another repository file"} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("the error does not say %q", want)
				}
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(after, b) {
				t.Errorf("Open changed the file (%d bytes, was %d): a file it refuses must be left as it was", len(after), len(b))
			}

			// Restored in place from a backup: it opens, at once.
			if err := os.WriteFile(path, good, 0o600); err != nil {
				t.Fatal(err)
			}
			r = open(t, path, boltrepo.Options{LockTimeout: 100 * time.Millisecond})
			if _, err := r.Node(t.Context(), "dockerhost01-c0299"); err != nil {
				t.Errorf("Node from the restored repository: %v", err)
			}
		})
	}
}

// calls makes every call of the Repository contract once on r, and a
// Batch, and returns their errors.
func calls(t *testing.T, r *boltrepo.Repo) map[string]error {
	ctx := t.Context()
	errs := map[string]error{}
	_, errs["Node"] = r.Node(ctx, "dockerhost01-c0001")
	_, errs["Nodes"] = r.Nodes(ctx)
	errs["PutNode"] = r.PutNode(ctx, node("dockerhost01", "new"))
	errs["DeleteNode"] = r.DeleteNode(ctx, "dockerhost01-c0002")
	_, errs["Scope"] = r.Scope(ctx, "dockerhost01_scope")
	_, errs["Scopes"] = r.Scopes(ctx)
	errs["PutScope"] = r.PutScope(ctx, inventory.Scope{FacilityID: "new_scope"})
	errs["DeleteScope"] = r.DeleteScope(ctx, "new_scope")
	errs["Assign"] = r.Assign(ctx, "dockerhost01_scope", "dockerhost01-c0003")
	errs["Unassign"] = r.Unassign(ctx, "dockerhost01_scope", "dockerhost01-c0003")
	_, errs["Members"] = r.Members(ctx, "dockerhost01_scope")
	errs["Batch"] = r.Batch(ctx, func(tx inventory.Repository) error { return tx.PutNode(ctx, node("dockerhost01", "batch")) })
	return errs
}

// TestDamagedAfterOpen damages the file of an open Repo, as a failing disk
// would, and replaces it with other files: every call fails with a clear
// error, none panics, nothing is written, and once the good file is back
// every call works again.
func TestDamagedAfterOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "inventory.db")
	good := goodRepo(t, path, 300)
	r := open(t, path, boltrepo.Options{LockTimeout: 100 * time.Millisecond})

	damaged := slices.Clone(good)
	scribble(damaged, treePages(good), 3)
	cycle := slices.Clone(good)
	makeCycle(t, path, cycle)
	jobs := rawDB(t, filepath.Join(t.TempDir(), "jobs.db"), marker("minato-jobs", "1", "runs", "values"))
	badRecord := edit(t, filepath.Join(t.TempDir(), "x.db"), good, func(tx *bolt.Tx) error {
		for _, id := range []string{"dockerhost01-c0001", "dockerhost01-c0002", "dockerhost01-c0003", "dockerhost01-new", "dockerhost01-batch"} {
			if err := tx.Bucket([]byte("nodes")).Put([]byte(id), []byte("{")); err != nil {
				return err
			}
		}
		return tx.Bucket([]byte("scopes")).Put([]byte("dockerhost01_scope"), []byte("null,"))
	})
	for _, tc := range []struct {
		name string
		b    []byte
		is   error
		says string
	}{
		{"random bytes over every tree page", damaged, boltrepo.ErrCorrupt, "move the file aside"},
		{"tree pages in a cycle", cycle, boltrepo.ErrCorrupt, "reached twice"},
		{"truncated", good[:len(good)/3], boltrepo.ErrCorrupt, "truncated"},
		{"empty", nil, boltrepo.ErrCorrupt, "empty (0 bytes)"},
		{"replaced by the job store", jobs, boltrepo.ErrNotStore, "job store"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := os.WriteFile(path, tc.b, 0o600); err != nil {
				t.Fatal(err)
			}
			for call, err := range calls(t, r) {
				if !errors.Is(err, tc.is) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), tc.says) {
					t.Errorf("%s: %v; want an error wrapping %v, naming the file, saying %q", call, err, tc.is, tc.says)
				}
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(after, tc.b) {
				t.Error("calls changed the damaged file")
			}
		})
	}
	t.Run("records that do not decode", func(t *testing.T) {
		if err := os.WriteFile(path, badRecord, 0o600); err != nil {
			t.Fatal(err)
		}
		errs := calls(t, r)
		for _, call := range []string{"Node", "Nodes", "Scope", "Scopes", "DeleteScope"} {
			err := errs[call]
			if !errors.Is(err, boltrepo.ErrCorrupt) || !strings.Contains(err.Error(), "does not decode") {
				t.Errorf("%s: %v; want ErrCorrupt saying a record does not decode", call, err)
			}
		}
		// A batch whose function carries on past the damage fails, and
		// keeps none of its changes.
		ctx := t.Context()
		err := r.Batch(ctx, func(tx inventory.Repository) error {
			if err := tx.PutNode(ctx, node("dockerhost01", "kept")); err != nil {
				t.Errorf("PutNode in the batch: %v", err)
			}
			if _, err := tx.Node(ctx, "dockerhost01-c0001"); !errors.Is(err, boltrepo.ErrCorrupt) {
				t.Errorf("Node of a damaged record in the batch: %v, want ErrCorrupt", err)
			}
			if err := tx.PutNode(ctx, node("dockerhost01", "after")); !errors.Is(err, boltrepo.ErrCorrupt) {
				t.Errorf("PutNode after the batch met damage: %v, want ErrCorrupt", err)
			}
			return nil
		})
		if !errors.Is(err, boltrepo.ErrCorrupt) {
			t.Errorf("Batch whose function ignored the damage: %v, want ErrCorrupt", err)
		}
		if _, err := r.Node(ctx, "dockerhost01-kept"); !errors.Is(err, inventory.ErrNotFound) {
			t.Errorf("Node of what the failed batch put: %v, want ErrNotFound", err)
		}
	})

	if err := os.WriteFile(path, good, 0o600); err != nil {
		t.Fatal(err)
	}
	for call, err := range calls(t, r) {
		if err != nil {
			t.Errorf("%s once the good file is back: %v", call, err)
		}
	}
}

// makeCycle rewrites the root page of the nodes bucket's tree in b (the
// bytes of the file at path) so that its second child is its first.
func makeCycle(t *testing.T, path string, b []byte) {
	t.Helper()
	tmp := filepath.Join(t.TempDir(), "cycle.db")
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(tmp, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var root int
	_ = db.View(func(tx *bolt.Tx) error { root = int(tx.Bucket([]byte("nodes")).Root()); return nil })
	db.Close()
	ps := os.Getpagesize()
	page := b[root*ps:]
	if flags, count := binary.LittleEndian.Uint16(page[8:]), binary.LittleEndian.Uint16(page[10:]); flags != 0x01 || count < 2 {
		t.Fatalf("the nodes tree's root page %d has flags %#x and %d elements; want a branch page", root, flags, count)
	}
	copy(page[16+16+8:16+32], page[16+8:16+16])
}

// FuzzDamaged writes the fuzzer's bytes over a good repository's file at
// the fuzzer's offset, then opens it and makes every call: nothing may
// panic, every failure must be an error, and the file lock must be
// released whatever happened.
func FuzzDamaged(f *testing.F) {
	good := goodRepo(f, filepath.Join(f.TempDir(), "good.db"), 60)
	ps := os.Getpagesize()
	f.Add(uint32(0), []byte{})
	f.Add(uint32(2*ps), bytes.Repeat([]byte{0xff}, 64))
	f.Add(uint32(3*ps+16), []byte("\x01\x00\x00\x00"))
	f.Add(uint32(len(good)-ps), bytes.Repeat([]byte{0}, ps))
	f.Add(uint32(16+40), []byte("\x02\x00\x00\x00\x00\x00\x00\x00"))
	for _, p := range treePages(good)[:3] {
		f.Add(uint32(p*ps), []byte("\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xff\xff"))
		f.Add(uint32(p*ps+200), []byte(`"}`))
	}
	f.Fuzz(func(t *testing.T, off uint32, data []byte) {
		b := slices.Clone(good)
		if len(data) > 0 {
			copy(b[int(off)%len(b):], data)
		}
		path := filepath.Join(t.TempDir(), "inventory.db")
		if err := os.WriteFile(path, good, 0o600); err != nil {
			t.Fatal(err)
		}
		r, err := boltrepo.Open(path, boltrepo.Options{LockTimeout: 50 * time.Millisecond, NoSync: true})
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		_ = calls(t, r)
		if r2, err := boltrepo.Open(path, boltrepo.Options{LockTimeout: 50 * time.Millisecond, NoSync: true}); err == nil {
			_ = calls(t, r2)
		}
		if err := os.WriteFile(path, good, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := r.Nodes(t.Context()); err != nil {
			t.Fatalf("Nodes of the good file afterwards: %v", err)
		}
	})
}
