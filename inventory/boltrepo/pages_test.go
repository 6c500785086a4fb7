package boltrepo

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// smallRepo returns the bytes of a small repository with 1 KiB pages:
// nodes spread over leaf pages under a branch page, a nested bucket, an
// inline one, and free pages.
func smallRepo(t testing.TB) []byte {
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
		nodes := tx.Bucket(nodesBucket)
		for i := range 40 {
			if err := nodes.Put(fmt.Appendf(nil, "dockerhost01-c%03d", i), bytes.Repeat([]byte("x"), 60+i*7)); err != nil {
				return err
			}
		}
		nested, err := nodes.CreateBucket([]byte("nested"))
		if err != nil {
			return err
		}
		for i := range 30 {
			if err := nested.Put(fmt.Appendf(nil, "k%02d", i), bytes.Repeat([]byte("y"), 50)); err != nil {
				return err
			}
		}
		inline, err := tx.Bucket(scopesBucket).CreateBucket([]byte("inline"))
		if err != nil {
			return err
		}
		return inline.Put([]byte("a"), []byte("b"))
	})
	if err == nil {
		err = db.Update(func(tx *bolt.Tx) error { return tx.Bucket(nodesBucket).Delete([]byte("dockerhost01-c003")) })
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

func TestCheckPages(t *testing.T) {
	b := smallRepo(t)
	if err := checkPages(b, int64(len(b))); err != nil {
		t.Fatalf("checkPages of a sound file: %v", err)
	}
	path := filepath.Join(t.TempDir(), "small.db")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	var root int
	_ = db.View(func(tx *bolt.Tx) error { root = int(tx.Bucket(nodesBucket).Root()); return nil })
	db.Close()
	if b[root*1024+8] != flagBranch {
		t.Fatalf("the nodes tree's root page %d is not a branch page", root)
	}
	at := root*1024 + hdrLen
	cycle := bytes.Clone(b) // the second child made the first
	copy(cycle[at+elemLen+8:at+2*elemLen], cycle[at+8:at+elemLen])
	self := bytes.Clone(b) // the first child made the page itself
	copy(self[at+8:at+elemLen], b[root*1024:root*1024+8])
	order := bytes.Clone(b) // two keys swapped
	copy(order[at:at+elemLen], b[at+elemLen:at+2*elemLen])
	copy(order[at+elemLen:at+2*elemLen], b[at:at+elemLen])
	for _, tc := range []struct {
		name string
		b    []byte
		says string
	}{
		{"a cycle", cycle, "reached twice"},
		{"a page its own child", self, "reached twice"},
		{"keys out of order", order, "out of order"},
		{"truncated", b[:5*1024], "truncated"},
		{"no header pages", bytes.Repeat([]byte{0}, 8192), "not a bbolt database"},
		{"too short", []byte("bbolt"), "not a bbolt database"},
	} {
		err := checkPages(tc.b, int64(len(tc.b)))
		if err == nil || !strings.Contains(err.Error(), tc.says) {
			t.Errorf("%s: checkPages = %v, want an error saying %q", tc.name, err, tc.says)
		}
	}
}

// FuzzCheckPages gives checkPages damaged files: it must never panic or
// hang, and a file it passes must be one bbolt opens and walks without a
// panic (a recursion without end would crash the fuzzer).
func FuzzCheckPages(f *testing.F) {
	good := smallRepo(f)
	f.Add(uint16(0), []byte{})
	f.Add(uint16(2*1024), []byte{0xff, 0xff, 0xff, 0xff})
	f.Add(uint16(3*1024+8), []byte{0x01, 0x00, 0x03, 0x00})
	f.Add(uint16(4*1024+16), []byte("\x00\x00\x00\x00\x10\x00\x00\x00"))
	f.Add(uint16(5*1024+24), []byte("\x04\x00\x00\x00\x00\x00\x00\x00"))
	f.Add(uint16(16+40), []byte("\x03\x00\x00\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, off uint16, data []byte) {
		b := bytes.Clone(good)
		if len(data) > 0 {
			copy(b[int(off)%len(b):], data)
		}
		if checkPages(b, int64(len(b))) != nil {
			return
		}
		path := filepath.Join(t.TempDir(), "inventory.db")
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

// walk reads every key of b and of the buckets in it.
func walk(b *bolt.Bucket) error {
	return forEach(b, nil, func(k, v []byte) error {
		if v == nil {
			if sub := b.Bucket(k); sub != nil {
				return walk(sub)
			}
		}
		return nil
	})
}
