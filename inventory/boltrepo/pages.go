package boltrepo

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
)

// The parts of the bbolt file format (go.etcd.io/bbolt, format version 2)
// that checkPages reads. A page starts with a 16-byte header: page ID
// (8 bytes), flags (2), element count (2), overflow page count (4);
// integers are little-endian. Pages 0 and 1 are the two meta pages, one
// of which bbolt uses (the valid one with the higher transaction ID).
const (
	hdrLen   = 16
	elemLen  = 16 // branch: pos, key size, child page; leaf: flags, pos, key size, value size
	metaLen  = 64 // magic, version, page size, flags, root (page, sequence), freelist, high water, txid, checksum
	metaSum  = 56 // the checksum covers the bytes before it
	magic    = 0xED0CDAED
	version2 = 2

	flagBranch   = 0x01
	flagLeaf     = 0x02
	flagMeta     = 0x04
	flagFreelist = 0x10

	leafIsBucket  = 0x01
	bucketHdrLen  = 16 // a nested bucket's value: root page, sequence; an inline page follows when root is 0
	freelistNone  = ^uint64(0)
	maxPageSize   = 1 << 20 // far above bbolt's largest; guards the reads below
	extendedCount = 0xFFFF  // a freelist count too large for the header: the first 8 bytes hold it
)

// readUsed reads the part of the bbolt file f, of size bytes, that its
// meta page says holds data (bbolt grows files ahead of their data, by
// doubling up to 1 GiB), or the whole file when no meta page says so.
func readUsed(f io.ReaderAt, size int64) ([]byte, error) {
	read := func(n int64) ([]byte, error) {
		b := make([]byte, n)
		if _, err := f.ReadAt(b, 0); err != nil {
			return nil, err
		}
		return b, nil
	}
	head, err := read(min(size, 64<<10))
	if err != nil {
		return nil, err
	}
	m, err := useMeta(head)
	if err != nil || m.highWater > uint64(size)/uint64(m.pageSize) {
		return read(size) // checkPages says what is wrong
	}
	if used := int64(m.highWater) * int64(m.pageSize); used <= int64(len(head)) {
		return head[:max(used, int64(2*m.pageSize))], nil
	}
	return read(int64(m.highWater) * int64(m.pageSize))
}

// checkPages reads the bbolt file b and reports what
// would make bbolt panic, fault, loop for ever or recurse without end on
// it: meta pages that do not validate; data that reaches past the end of
// the file (truncation); and in the freelist and in every tree (the root
// bucket, and the buckets nested in it), page IDs out of range, pages
// whose header does not say what they should be, elements outside their
// page, keys out of order, and pages reached twice (a cycle, or pages
// shared by two trees) or both free and in use. It looks at each page
// once. A nil error means bbolt can open the file and read every key; it
// says nothing of what the values hold. b is the file, or as much of it
// as readUsed returns; size is the file's size.
func checkPages(b []byte, size int64) error {
	m, err := useMeta(b)
	if err != nil {
		return err
	}
	ps := int64(m.pageSize)
	if m.highWater < 4 { // two meta pages, a freelist and a root page at least
		return fmt.Errorf("its header page says the data ends at page %d, before the first tree page", m.highWater)
	}
	if m.highWater > uint64(size/ps) {
		return fmt.Errorf("the file is %d bytes but its data reaches %d bytes: it was truncated", size, int64(m.highWater)*ps)
	}
	if m.highWater > uint64(int64(len(b))/ps) {
		return fmt.Errorf("only %d bytes of the file were read, and its data reaches %d bytes", len(b), int64(m.highWater)*ps)
	}
	w := &walker{b: b, ps: ps, end: m.highWater, free: map[uint64]bool{}, used: map[uint64]bool{}}
	if m.freelist != freelistNone {
		if err := w.freelist(m.freelist); err != nil {
			return err
		}
	}
	return w.tree(m.root, "the root bucket")
}

type metaPage struct {
	pageSize                        uint32
	root, freelist, highWater, txid uint64
}

// readMeta reads and validates the meta page at off in file.
func readMeta(file []byte, off int64) (metaPage, error) {
	if off < 0 || off+hdrLen+metaLen > int64(len(file)) {
		return metaPage{}, errors.New("the file ends before the meta page")
	}
	b := file[off : off+hdrLen+metaLen]
	le := binary.LittleEndian
	d := b[hdrLen:]
	m := metaPage{pageSize: le.Uint32(d[8:]), root: le.Uint64(d[16:]), freelist: le.Uint64(d[32:]), highWater: le.Uint64(d[40:]), txid: le.Uint64(d[48:])}
	h := fnv.New64a()
	_, _ = h.Write(d[:metaSum])
	switch {
	case le.Uint16(b[8:]) != flagMeta:
		return m, errors.New("not a meta page")
	case le.Uint32(d[0:]) != magic || le.Uint32(d[4:]) != version2:
		return m, errors.New("not a bbolt meta page")
	case le.Uint64(d[metaSum:]) != h.Sum64():
		return m, errors.New("meta page checksum mismatch")
	}
	return m, nil
}

// useMeta returns the meta page bbolt will use.
func useMeta(b []byte) (metaPage, error) {
	size := int64(len(b))
	notBolt := errors.New("it is not a bbolt database, or both of its header pages are damaged")
	first, err0 := readMeta(b, 0)
	ps := int64(first.pageSize)
	if err0 != nil {
		// Find the second meta page at every page size bbolt may use.
		ps = 0
		for s := int64(1024); s <= maxPageSize && s+hdrLen+metaLen <= size; s *= 2 {
			if m, err := readMeta(b, s); err == nil && int64(m.pageSize) == s {
				ps = s
				break
			}
		}
	}
	if ps < 1024 || ps > maxPageSize || ps&(ps-1) != 0 {
		return metaPage{}, notBolt
	}
	second, err1 := readMeta(b, ps)
	if err1 == nil && int64(second.pageSize) != ps {
		return metaPage{}, errors.New("its two header pages disagree about the page size")
	}
	switch {
	case err0 == nil && (err1 != nil || first.txid >= second.txid):
		return first, nil
	case err1 == nil:
		return second, nil
	}
	return metaPage{}, notBolt
}

// walker checks the pages of one file.
type walker struct {
	b    []byte // the file
	ps   int64
	end  uint64          // the high water mark: the first page ID past the data
	free map[uint64]bool // pages the freelist lists
	used map[uint64]bool // pages of the trees read so far
}

// read returns page id with its overflow pages, after checking that it is
// within the data and that its header names it and has the flags want.
func (w *walker) read(id uint64, want uint16, what string) ([]byte, error) {
	if id < 2 || id >= w.end {
		return nil, fmt.Errorf("%s: page %d is outside the data (pages 2 to %d)", what, id, w.end-1)
	}
	hdr := w.b[int64(id)*w.ps:]
	le := binary.LittleEndian
	if got, flags := le.Uint64(hdr[0:]), le.Uint16(hdr[8:]); got != id || flags != want {
		return nil, fmt.Errorf("%s: page %d is damaged (its header says page %d, flags %#x)", what, id, got, flags)
	}
	overflow := uint64(le.Uint32(hdr[12:]))
	if overflow >= w.end-id {
		return nil, fmt.Errorf("%s: page %d runs past the data", what, id)
	}
	return w.b[int64(id)*w.ps : int64(id+overflow+1)*w.ps], nil
}

// freelist reads the freelist page and notes the free page IDs.
func (w *walker) freelist(id uint64) error {
	b, err := w.read(id, flagFreelist, "the freelist")
	if err != nil {
		return err
	}
	le := binary.LittleEndian
	n, at := uint64(le.Uint16(b[10:])), uint64(hdrLen)
	if n == extendedCount {
		n, at = le.Uint64(b[hdrLen:]), hdrLen+8
	}
	if n > uint64(len(b))/8 || at+n*8 > uint64(len(b)) {
		return fmt.Errorf("the freelist: page %d claims %d page IDs, more than it holds", id, n)
	}
	for i := range n {
		p := le.Uint64(b[at+i*8:])
		if p < 2 || p >= w.end || w.free[p] {
			return fmt.Errorf("the freelist: page %d lists page %d, outside the data or twice", id, p)
		}
		w.free[p] = true
	}
	return nil
}

// tree checks the tree whose root is page root, depth first with a stack
// of its own (a damaged file must not make the check recurse without
// end), and the buckets nested in its leaves.
func (w *walker) tree(root uint64, what string) error {
	stack := []uint64{root}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		// A branch or a leaf: read the flags to know which to expect.
		kind := uint16(flagLeaf)
		if id >= 2 && id < w.end && binary.LittleEndian.Uint16(w.b[int64(id)*w.ps+8:]) == flagBranch {
			kind = flagBranch
		}
		b, err := w.read(id, kind, what)
		if err != nil {
			return err
		}
		for p := id; p < id+uint64(len(b))/uint64(w.ps); p++ {
			switch {
			case w.used[p]:
				return fmt.Errorf("%s: page %d is reached twice (the tree has a cycle, or shares pages)", what, p)
			case w.free[p]:
				return fmt.Errorf("%s: page %d is in use and also listed as free", what, p)
			}
			w.used[p] = true
		}
		children, nested, err := elements(b, kind)
		if err != nil {
			return fmt.Errorf("%s: page %d: %w", what, id, err)
		}
		stack = append(stack, children...)
		for _, n := range nested {
			if err := w.bucket(n.value, fmt.Sprintf("bucket %q", n.key)); err != nil {
				return err
			}
		}
	}
	return nil
}

// bucket checks a nested bucket from its value: a tree of its own, or an
// inline leaf page right after the header.
func (w *walker) bucket(v []byte, what string) error {
	if len(v) < bucketHdrLen {
		return fmt.Errorf("%s: its header is %d bytes, not %d", what, len(v), bucketHdrLen)
	}
	if root := binary.LittleEndian.Uint64(v); root != 0 {
		return w.tree(root, what)
	}
	inline := v[bucketHdrLen:]
	if len(inline) < hdrLen || binary.LittleEndian.Uint16(inline[8:]) != flagLeaf {
		return fmt.Errorf("%s: its inline page is damaged", what)
	}
	_, nested, err := elements(inline, flagLeaf)
	if err != nil {
		return fmt.Errorf("%s: inline page: %w", what, err)
	}
	for _, n := range nested {
		if err := w.bucket(n.value, fmt.Sprintf("%s: bucket %q", what, n.key)); err != nil {
			return err
		}
	}
	return nil
}

type nestedBucket struct{ key, value []byte }

// elements checks the elements of the branch or leaf page b (each inside
// the page, keys in increasing order) and returns a branch page's
// children and a leaf page's nested buckets.
func elements(b []byte, kind uint16) (children []uint64, nested []nestedBucket, err error) {
	le := binary.LittleEndian
	n := int(le.Uint16(b[10:]))
	if hdrLen+n*elemLen > len(b) {
		return nil, nil, fmt.Errorf("%d elements do not fit in the page", n)
	}
	if n == 0 && kind == flagBranch {
		return nil, nil, errors.New("a branch page without elements")
	}
	var prev []byte
	for i := range n {
		at := hdrLen + i*elemLen
		e := b[at : at+elemLen]
		var pos, ksize, vsize uint64
		if kind == flagBranch {
			pos, ksize = uint64(le.Uint32(e[0:])), uint64(le.Uint32(e[4:]))
		} else {
			pos, ksize, vsize = uint64(le.Uint32(e[4:])), uint64(le.Uint32(e[8:])), uint64(le.Uint32(e[12:]))
		}
		start := uint64(at) + pos
		if start+ksize+vsize > uint64(len(b)) {
			return nil, nil, fmt.Errorf("element %d points past the page", i)
		}
		key := b[start : start+ksize]
		if i > 0 && bytes.Compare(prev, key) >= 0 {
			return nil, nil, fmt.Errorf("element %d: keys out of order", i)
		}
		prev = key
		switch {
		case kind == flagBranch:
			children = append(children, le.Uint64(e[8:]))
		case le.Uint32(e[0:])&leafIsBucket != 0:
			nested = append(nested, nestedBucket{key: key, value: b[start+ksize : start+ksize+vsize]})
		}
	}
	return children, nested, nil
}
