package boltstore

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// smallStore returns the bytes of a small store: a root bucket with the
// store's buckets, runs spread over a few leaf pages under a branch page,
// a nested bucket and an inline one.
func smallStore(t testing.TB) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "small.db")
	db, err := bolt.Open(path, 0o600, &bolt.Options{PageSize: 1024, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		if err := initialise(tx); err != nil {
			return err
		}
		runs := tx.Bucket(runsBucket)
		for i := range 40 {
			if err := runs.Put(fmt.Appendf(nil, "backup@%03d", i), bytes.Repeat([]byte("x"), 60+i*7)); err != nil {
				return err
			}
		}
		nested, err := runs.CreateBucket([]byte("nested"))
		if err != nil {
			return err
		}
		for i := range 30 {
			if err := nested.Put(fmt.Appendf(nil, "k%02d", i), bytes.Repeat([]byte("y"), 50)); err != nil {
				return err
			}
		}
		inline, err := tx.Bucket(valuesBucket).CreateBucket([]byte("inline"))
		if err != nil {
			return err
		}
		return inline.Put([]byte("a"), []byte("b"))
	})
	if err == nil {
		err = db.Update(func(tx *bolt.Tx) error { return tx.Bucket(runsBucket).Delete([]byte("backup@003")) }) // some free pages
	}
	if cerr := db.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestCheckPagesSmallStore(t *testing.T) {
	b := smallStore(t)
	if err := checkPages(bytes.NewReader(b), int64(len(b))); err != nil {
		t.Fatalf("checkPages of a sound store: %v", err)
	}
	// The runs tree's root page, a branch page, with its second child
	// made its first: a cycle for bbolt's cursor.
	path := filepath.Join(t.TempDir(), "small.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var root int
	_ = db.View(func(tx *bolt.Tx) error { root = int(tx.Bucket(runsBucket).Root()); return nil })
	db.Close()
	cycle := bytes.Clone(b)
	at := root*1024 + pageHeaderSize
	if cycle[root*1024+8] != branchPage {
		t.Fatalf("the runs tree's root page %d is not a branch page", root)
	}
	copy(cycle[at+elementSize+8:at+2*elementSize], cycle[at+8:at+elementSize])
	for _, tc := range []struct {
		name string
		b    []byte
		says string
	}{
		{"a cycle", cycle, "reached twice"},
		{"truncated", b[:5*1024], "truncated"},
		{"no header pages", bytes.Repeat([]byte{0}, 8192), "not a bbolt database"},
		{"too short", []byte("bbolt"), "not a bbolt database"},
	} {
		err := checkPages(bytes.NewReader(tc.b), int64(len(tc.b)))
		if err == nil || !bytes.Contains([]byte(err.Error()), []byte(tc.says)) {
			t.Errorf("%s: checkPages = %v, want an error saying %q", tc.name, err, tc.says)
		}
	}
}

// FuzzCheckPages gives checkPages damaged stores: it must never panic or
// hang, and a file it passes must be one bbolt opens and walks without a
// panic.
func FuzzCheckPages(f *testing.F) {
	good := smallStore(f)
	f.Add(uint16(0), []byte{})
	f.Add(uint16(2*1024), []byte{0xff, 0xff, 0xff, 0xff})
	f.Add(uint16(3*1024+8), []byte{0x01, 0x00, 0x03, 0x00})
	f.Add(uint16(4*1024+16), []byte("\x00\x00\x00\x00\x10\x00\x00\x00"))
	f.Add(uint16(5*1024+24), []byte("\x04\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, off uint16, data []byte) {
		b := bytes.Clone(good)
		if len(data) > 0 {
			copy(b[int(off)%len(b):], data)
		}
		if checkPages(bytes.NewReader(b), int64(len(b))) != nil {
			return
		}
		path := filepath.Join(t.TempDir(), "jobs.db")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		defer func() {
			if r := recover(); r != nil {
				t.Fatalf("checkPages passed a file bbolt panics on: %v", r)
			}
		}()
		defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
		db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
		if err != nil {
			return // an error is fine
		}
		defer db.Close()
		_ = db.View(func(tx *bolt.Tx) error {
			return tx.ForEach(func(_ []byte, b *bolt.Bucket) error { return walk(b) })
		})
	})
}
