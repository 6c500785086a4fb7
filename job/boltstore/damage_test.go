package boltstore_test

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
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

	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/boltstore"
	"github.com/minato-ops/minato/job/scheduler"
	"github.com/minato-ops/minato/job/scheduler/storetest"
)

// goodStore writes a store with n sample runs at path and returns the
// file's bytes.
func goodStore(t testing.TB, path string, n int) []byte {
	t.Helper()
	st := open(t, path, boltstore.Options{NoSync: true})
	for i := range n {
		if err := st.PutRun(t.Context(), sample(fmt.Sprintf("backup@%04d", i), 5, 1024)); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.PutValue(t.Context(), "schedule/backup/last", []byte("2025-03-14T01:00:00Z")); err != nil {
		t.Fatal(err)
	}
	if err := st.Close(); err != nil {
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

// scribble writes random bytes over the pages, in b and, when f is not
// nil, in the file.
func scribble(t testing.TB, b []byte, f *os.File, pages []int, seed uint64) {
	t.Helper()
	ps := os.Getpagesize()
	r := rand.New(rand.NewPCG(seed, seed))
	for _, p := range pages {
		page := b[p*ps : (p+1)*ps]
		for i := range page {
			page[i] = byte(r.Uint32())
		}
		if f != nil {
			if _, err := f.WriteAt(page, int64(p*ps)); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// rawDB writes a bbolt file at path with fill's buckets, as another
// program (or an earlier minato) would.
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

func marker(format, version string) func(tx *bolt.Tx) error {
	return func(tx *bolt.Tx) error {
		for _, n := range []string{"runs", "values", "meta"} {
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

// TestOpenRefusesBadFiles opens files that are not sound job stores: each
// is refused with an error naming the file, what is wrong and what to do;
// the file is left exactly as it was; and the file lock is released, so
// that once the file is replaced in place by a good store (same inode:
// the lock would still be on it) the store opens at once.
func TestOpenRefusesBadFiles(t *testing.T) {
	dir := t.TempDir()
	good := goodStore(t, filepath.Join(dir, "good.db"), 200)
	tree := treePages(good)
	if len(tree) < 20 {
		t.Fatalf("the good store has only %d tree pages", len(tree))
	}
	for _, tc := range []struct {
		name string
		file func(t *testing.T, path string) []byte
		is   error
		says string
	}{
		{"empty", func(*testing.T, string) []byte { return nil }, boltstore.ErrCorrupt, "the file is empty (0 bytes)"},
		{"junk", func(*testing.T, string) []byte {
			b := make([]byte, 64<<10)
			scribble(t, b, nil, []int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, 1)
			return b
		}, boltstore.ErrCorrupt, "it is not a bbolt database"},
		{"text", func(*testing.T, string) []byte { return []byte("root:x:0:0:root:/root:/bin/bash\n") }, boltstore.ErrCorrupt, "it is not a bbolt database"},
		{"truncated", func(*testing.T, string) []byte { return slices.Clone(good[:len(good)/2]) }, boltstore.ErrCorrupt, ""},
		{"truncated to its header pages", func(*testing.T, string) []byte {
			return slices.Clone(good[:2*os.Getpagesize()])
		}, boltstore.ErrCorrupt, ""},
		{"damaged pages", func(*testing.T, string) []byte {
			b := slices.Clone(good)
			r := rand.New(rand.NewPCG(7, 7))
			var some []int
			for _, p := range tree {
				if r.IntN(4) == 0 {
					some = append(some, p)
				}
			}
			scribble(t, b, nil, some, 2)
			return b
		}, boltstore.ErrCorrupt, "is damaged"},
		{"another program's database", func(t *testing.T, path string) []byte {
			return rawDB(t, path, buckets("users", "sessions", "runs"))
		}, boltstore.ErrNotStore, `buckets "runs", "sessions", "users"`},
		{"an empty bbolt database", func(t *testing.T, path string) []byte { return rawDB(t, path, nil) }, boltstore.ErrNotStore, "holds nothing"},
		{"another program's format marker", func(t *testing.T, path string) []byte {
			return rawDB(t, path, marker("gitea-queue", "1"))
		}, boltstore.ErrNotStore, `says "gitea-queue"`},
		{"a newer format", func(t *testing.T, path string) []byte { return rawDB(t, path, marker("minato-jobs", "2")) }, nil, `format version "2"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "jobs.db")
			b := tc.file(t, path)
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			st, err := boltstore.Open(path, boltstore.Options{LockTimeout: 100 * time.Millisecond})
			if err == nil {
				st.Close()
				t.Fatal("Open succeeded")
			}
			t.Logf("Open: %v", err)
			if tc.is != nil && !errors.Is(err, tc.is) {
				t.Errorf("the error does not wrap %v", tc.is)
			}
			for _, want := range []string{path, tc.says, "point the job store elsewhere", "nothing was changed"} {
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
			st, err = boltstore.Open(path, boltstore.Options{LockTimeout: 100 * time.Millisecond})
			if err != nil {
				t.Fatalf("Open of the restored file: %v (the refused Open must release the file lock)", err)
			}
			defer st.Close()
			if _, err := st.GetRun(t.Context(), "backup@0199"); err != nil {
				t.Errorf("GetRun from the restored store: %v", err)
			}
		})
	}
}

// TestDamagedWhileOpen damages the file under an open store, as a failing
// disk would: the call that meets the damage returns ErrCorrupt, later
// writes are refused, and Close releases the file.
func TestDamagedWhileOpen(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "jobs.db")
	good := goodStore(t, path, 200)
	st := open(t, path, boltstore.Options{})
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	scribble(t, slices.Clone(good), f, treePages(good), 3)
	f.Close()

	_, err = st.ListRuns(ctx, scheduler.RunFilter{})
	if !errors.Is(err, boltstore.ErrCorrupt) {
		t.Fatalf("ListRuns over damaged pages: %v, want ErrCorrupt", err)
	}
	t.Logf("ListRuns: %v", err)
	for _, want := range []string{path, "list runs", "damaged page", "move the file aside"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the error does not say %q", want)
		}
	}
	err = st.PutRun(ctx, sample("after", 1, 1))
	if !errors.Is(err, boltstore.ErrCorrupt) || !strings.Contains(err.Error(), "refused") || !strings.Contains(err.Error(), `"after"`) {
		t.Errorf("PutRun after the damage: %v; want ErrCorrupt, refused, naming the run", err)
	}
	if err := st.PutValue(ctx, "k", []byte("v")); !errors.Is(err, boltstore.ErrCorrupt) {
		t.Errorf("PutValue after the damage: %v; want ErrCorrupt", err)
	}
	if err := st.Close(); err != nil {
		t.Errorf("Close of the damaged store: %v", err)
	}
	if err := st.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
	if _, err := st.GetRun(ctx, "backup@0001"); err == nil || errors.Is(err, job.ErrNotFound) {
		t.Errorf("GetRun after Close: %v; want an error that is not ErrNotFound", err)
	}

	if err := os.WriteFile(path, good, 0o600); err != nil {
		t.Fatal(err)
	}
	st, err = boltstore.Open(path, boltstore.Options{LockTimeout: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("Open of the restored file: %v (Close of the damaged store must release the file lock)", err)
	}
	st.Close()
}

// TestConformanceDamaged holds the store to storetest.TestDamaged, with
// random bytes over every tree page of the open file.
func TestConformanceDamaged(t *testing.T) {
	var path string
	storetest.TestDamaged(t, func(t *testing.T) scheduler.Store {
		path = filepath.Join(t.TempDir(), "jobs.db")
		return open(t, path, boltstore.Options{NoSync: true})
	}, func(t *testing.T, st scheduler.Store) {
		if st.(*boltstore.Store).Path() != path {
			t.Fatal("damage got another store")
		}
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		scribble(t, b, f, treePages(b), 4)
	})
	// The damaged store released its file.
	st, err := boltstore.Open(path, boltstore.Options{LockTimeout: 100 * time.Millisecond})
	if err == nil {
		st.Close()
		t.Fatal("Open of the damaged file succeeded")
	}
	if !errors.Is(err, boltstore.ErrCorrupt) {
		t.Errorf("Open of the damaged file: %v; want ErrCorrupt, not a lock timeout", err)
	}
}

// TestOpenMarksEarlierStore opens a store an earlier minato wrote (its
// buckets, no format marker): it is accepted, its runs are there, and it
// is marked.
func TestOpenMarksEarlierStore(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.db")
	rec := sample("backup@old", 2, 10)
	enc, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	rawDB(t, path, func(tx *bolt.Tx) error {
		runs, err := tx.CreateBucket([]byte("runs"))
		if err != nil {
			return err
		}
		if _, err := tx.CreateBucket([]byte("values")); err != nil {
			return err
		}
		return runs.Put([]byte(rec.ID), enc)
	})
	st := open(t, path, boltstore.Options{})
	if got, err := st.GetRun(t.Context(), rec.ID); err != nil || got.ID != rec.ID {
		t.Errorf("GetRun of the earlier store's run: (%v, %v)", got.ID, err)
	}
	st.Close()
	checkMarker(t, path)
}

// TestOpenCreatesMarkedStore opens a path where no file is: the store is
// created with the format marker, and no temporary file is left.
func TestOpenCreatesMarkedStore(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "jobs.db")
	open(t, path, boltstore.Options{}).Close()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if !slices.Equal(names, []string{"jobs.db"}) {
		t.Errorf("the directory holds %v, want only jobs.db", names)
	}
	checkMarker(t, path)
}

func checkMarker(t *testing.T, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		m := tx.Bucket([]byte("meta"))
		if m == nil {
			return errors.New("no meta bucket")
		}
		if f, v := string(m.Get([]byte("format"))), string(m.Get([]byte("version"))); f != "minato-jobs" || v != "1" {
			return fmt.Errorf("format marker %q version %q, want minato-jobs 1", f, v)
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
}

// FuzzOpenDamaged writes the fuzzer's bytes over a good store's file at
// the fuzzer's offset, then opens and uses it: nothing may panic, every
// failure must be an error, and the file lock must be released whatever
// happened.
func FuzzOpenDamaged(f *testing.F) {
	good := goodStore(f, filepath.Join(f.TempDir(), "good.db"), 40)
	ps := os.Getpagesize()
	f.Add(uint32(0), []byte{})
	f.Add(uint32(2*ps), bytes.Repeat([]byte{0xff}, 64))
	f.Add(uint32(3*ps+16), []byte("\x01\x00\x00\x00"))
	f.Add(uint32(len(good)-ps), bytes.Repeat([]byte{0}, ps))
	for _, p := range treePages(good)[:3] {
		f.Add(uint32(p*ps), []byte("\x00\x00\x00\x00\x00\x00\x00\x00\x02\x00\xff\xff"))
	}
	f.Fuzz(func(t *testing.T, off uint32, data []byte) {
		b := slices.Clone(good)
		if len(data) > 0 {
			copy(b[int(off)%len(b):], data)
		}
		path := filepath.Join(t.TempDir(), "jobs.db")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		st, err := boltstore.Open(path, boltstore.Options{LockTimeout: 50 * time.Millisecond, NoSync: true})
		if err == nil {
			_, _ = st.ListRuns(t.Context(), scheduler.RunFilter{})
			_ = st.PutRun(t.Context(), sample("fuzz", 1, 10))
			_, _ = st.DeleteRuns(t.Context(), time.Now())
			_ = st.Close()
		}
		if err := os.WriteFile(path, good, 0o600); err != nil {
			t.Fatal(err)
		}
		st, err = boltstore.Open(path, boltstore.Options{LockTimeout: 50 * time.Millisecond})
		if err != nil {
			t.Fatalf("Open of the good file afterwards: %v", err)
		}
		st.Close()
	})
}

// TestCycleWhileOpen damages an open store's file so that two entries of
// the runs tree's root page lead to the same page: iterating the runs
// would go round it again. ListRuns fails with ErrCorrupt at once.
func TestCycleWhileOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "jobs.db")
	goodStore(t, path, 200)
	var root uint64
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	_ = db.View(func(tx *bolt.Tx) error { root = uint64(tx.Bucket([]byte("runs")).Root()); return nil })
	db.Close()

	st := open(t, path, boltstore.Options{})
	defer st.Close()
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	ps := int64(os.Getpagesize())
	hdr := make([]byte, 16+2*16)
	if _, err := f.ReadAt(hdr, int64(root)*ps); err != nil {
		t.Fatal(err)
	}
	if flags, count := binary.LittleEndian.Uint16(hdr[8:]), binary.LittleEndian.Uint16(hdr[10:]); flags != 0x01 || count < 2 {
		t.Fatalf("the runs tree's root page %d has flags %#x and %d elements; want a branch page", root, flags, count)
	}
	// Element 1's child becomes element 0's.
	if _, err := f.WriteAt(hdr[16+8:16+16], int64(root)*ps+16+16+8); err != nil {
		t.Fatal(err)
	}

	done := make(chan error, 1)
	go func() {
		_, err := st.ListRuns(t.Context(), scheduler.RunFilter{})
		done <- err
	}()
	select {
	case err = <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("ListRuns over pages in a cycle did not return")
	}
	t.Logf("ListRuns: %v", err)
	if !errors.Is(err, boltstore.ErrCorrupt) || !strings.Contains(err.Error(), "out of order") {
		t.Errorf("ListRuns over pages in a cycle: %v; want ErrCorrupt saying the pages are out of order", err)
	}
	if err := st.PutValue(t.Context(), "k", []byte("v")); !errors.Is(err, boltstore.ErrCorrupt) {
		t.Errorf("PutValue after: %v; want ErrCorrupt", err)
	}
}
