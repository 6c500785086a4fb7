package boltstore

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
)

// The bbolt file format (go.etcd.io/bbolt, version 2), as far as checkPages
// reads it. Every page starts with a 16-byte header: id (8), flags (2),
// count (2), overflow (4); integers are little-endian.
const (
	pageHeaderSize  = 16
	elementSize     = 16 // a branch element: pos, ksize (4 each), pgid (8); a leaf element: flags, pos, ksize, vsize (4 each)
	bucketHeaderLen = 16 // root pgid, sequence
	metaSize        = 64
	metaChecksumAt  = 56
	boltMagic       = 0xED0CDAED
	boltVersion     = 2

	branchPage   = 0x01
	leafPage     = 0x02
	metaPage     = 0x04
	freelistPage = 0x10

	bucketLeaf = 0x01 // a leaf element that is a nested bucket

	noFreelist = ^uint64(0)
	maxPage    = 1 << 30 // bbolt's largest page size is far smaller
)

// checkPages reads the bbolt file r of size bytes the way bbolt will, and
// reports the damage that would make bbolt panic, fault, loop forever or
// recurse without end: header pages that do not validate, a data end past
// the end of the file (truncation), and, in the freelist and in every
// tree (the root bucket and the buckets in it), pages out of range, pages
// that do not say what they should be, elements that point outside their
// page, keys out of order, and pages reached twice (a cycle) or both free
// and in use. It reads every page once, keeping only the free page IDs in
// memory. A nil error means bbolt can open the file and read every key of
// it; it says nothing of what the values hold.
func checkPages(r io.ReaderAt, size int64) error {
	m, err := readMeta(r, size)
	if err != nil {
		return err
	}
	ps := int64(m.pageSize)
	if end := int64(m.pgid) * ps; m.pgid > uint64(size/ps) || end > size {
		return fmt.Errorf("the file is %d bytes but its data reaches %d bytes: it was truncated", size, int64(m.pgid)*ps)
	}
	c := &pageChecker{r: r, ps: ps, hw: m.pgid, free: map[uint64]bool{}, seen: map[uint64]bool{}}
	if m.freelist != noFreelist {
		if err := c.freelist(m.freelist); err != nil {
			return err
		}
	}
	return c.tree(m.root, "the root bucket")
}

// meta is the part of a bbolt meta page checkPages uses.
type meta struct {
	pageSize uint32
	root     uint64
	freelist uint64
	pgid     uint64
	txid     uint64
}

// readMeta returns the meta page bbolt would use: of the two, the valid
// one with the higher transaction ID.
func readMeta(r io.ReaderAt, size int64) (meta, error) {
	first, err0 := metaAt(r, 0)
	ps := int64(first.pageSize)
	if err0 != nil {
		// bbolt looks for the second meta page at every page size it
		// supports.
		for i := 0; i <= 14; i++ {
			pos := int64(1024) << i
			if pos >= size-1024 {
				break
			}
			if m, err := metaAt(r, pos); err == nil {
				ps = int64(m.pageSize)
				break
			}
		}
	}
	if ps < 1024 || ps > maxPage || ps&(ps-1) != 0 {
		return meta{}, errors.New("it is not a bbolt database, or both of its header pages are damaged")
	}
	second, err1 := metaAt(r, ps)
	if err0 == nil && int64(first.pageSize) != ps || err1 == nil && int64(second.pageSize) != ps {
		return meta{}, errors.New("its two header pages disagree about the page size")
	}
	switch {
	case err0 == nil && (err1 != nil || first.txid >= second.txid):
		return first, nil
	case err1 == nil:
		return second, nil
	}
	return meta{}, errors.New("it is not a bbolt database, or both of its header pages are damaged")
}

// metaAt reads and validates the meta page at off.
func metaAt(r io.ReaderAt, off int64) (meta, error) {
	var b [pageHeaderSize + metaSize]byte
	if _, err := r.ReadAt(b[:], off); err != nil {
		return meta{}, err
	}
	le := binary.LittleEndian
	if le.Uint16(b[8:]) != metaPage {
		return meta{}, errors.New("not a meta page")
	}
	d := b[pageHeaderSize:]
	h := fnv.New64a()
	_, _ = h.Write(d[:metaChecksumAt])
	m := meta{pageSize: le.Uint32(d[8:]), root: le.Uint64(d[16:]), freelist: le.Uint64(d[32:]), pgid: le.Uint64(d[40:]), txid: le.Uint64(d[48:])}
	if le.Uint32(d[0:]) != boltMagic || le.Uint32(d[4:]) != boltVersion || le.Uint64(d[metaChecksumAt:]) != h.Sum64() {
		return m, errors.New("invalid meta page")
	}
	return m, nil
}

type pageChecker struct {
	r    io.ReaderAt
	ps   int64
	hw   uint64          // the first page ID past the data
	free map[uint64]bool // the freelist's pages
	seen map[uint64]bool // the tree pages read so far
}

// page reads page id with its overflow pages, checking that it is in
// range and says it is page id of the kind want.
func (c *pageChecker) page(id uint64, want uint16, what string) ([]byte, error) {
	if id < 2 || id >= c.hw {
		return nil, fmt.Errorf("%s: page %d is outside the data (pages 2 to %d)", what, id, c.hw-1)
	}
	var hdr [pageHeaderSize]byte
	if _, err := c.r.ReadAt(hdr[:], int64(id)*c.ps); err != nil {
		return nil, fmt.Errorf("%s: page %d: %w", what, id, err)
	}
	le := binary.LittleEndian
	got, flags, overflow := le.Uint64(hdr[0:]), le.Uint16(hdr[8:]), uint64(le.Uint32(hdr[12:]))
	if got != id || flags != want {
		return nil, fmt.Errorf("%s: page %d is damaged (it says it is page %d with flags %#x)", what, id, got, flags)
	}
	if id+overflow >= c.hw {
		return nil, fmt.Errorf("%s: page %d runs %d pages past the data", what, id, id+overflow+1-c.hw)
	}
	b := make([]byte, int64(overflow+1)*c.ps)
	if _, err := c.r.ReadAt(b, int64(id)*c.ps); err != nil {
		return nil, fmt.Errorf("%s: page %d: %w", what, id, err)
	}
	return b, nil
}

// freelist reads the freelist page and notes its page IDs.
func (c *pageChecker) freelist(id uint64) error {
	b, err := c.page(id, freelistPage, "the freelist")
	if err != nil {
		return err
	}
	le := binary.LittleEndian
	count, at := uint64(le.Uint16(b[10:])), int64(pageHeaderSize)
	if count == 0xFFFF {
		count, at = le.Uint64(b[pageHeaderSize:]), pageHeaderSize+8
	}
	if count > uint64(len(b)) || at+int64(count)*8 > int64(len(b)) {
		return fmt.Errorf("the freelist: page %d holds %d page IDs, more than fit in it", id, count)
	}
	for i := range int64(count) {
		p := le.Uint64(b[at+i*8:])
		if p < 2 || p >= c.hw || c.free[p] {
			return fmt.Errorf("the freelist: page %d lists page %d, which is outside the data or listed twice", id, p)
		}
		c.free[p] = true
	}
	return nil
}

// tree checks the tree of the bucket whose header is h (a root page ID
// and a sequence; root 0 and an inline page after it for an inline
// bucket), depth first, with an explicit stack.
func (c *pageChecker) tree(root uint64, what string) error {
	stack := []uint64{root}
	for len(stack) > 0 {
		id := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if c.seen[id] {
			return fmt.Errorf("%s: page %d is reached twice (the tree has a cycle)", what, id)
		}
		var hdr [pageHeaderSize]byte
		if id >= 2 && id < c.hw {
			if _, err := c.r.ReadAt(hdr[:], int64(id)*c.ps); err != nil {
				return fmt.Errorf("%s: page %d: %w", what, id, err)
			}
		}
		kind := binary.LittleEndian.Uint16(hdr[8:])
		if kind != branchPage {
			kind = leafPage
		}
		b, err := c.page(id, kind, what)
		if err != nil {
			return err
		}
		for p := id; p <= id+uint64(binary.LittleEndian.Uint32(b[12:])); p++ {
			switch {
			case c.free[p]:
				return fmt.Errorf("%s: page %d is in use and also listed as free", what, p)
			case c.seen[p]:
				return fmt.Errorf("%s: page %d is reached twice (pages overlap, or the tree has a cycle)", what, p)
			}
			c.seen[p] = true
		}
		children, buckets, err := elements(b, kind)
		if err != nil {
			return fmt.Errorf("%s: page %d: %w", what, id, err)
		}
		stack = append(stack, children...)
		for _, bk := range buckets {
			if err := c.bucket(bk.value, fmt.Sprintf("bucket %q", bk.key)); err != nil {
				return err
			}
		}
	}
	return nil
}

// bucket checks a nested bucket from its header.
func (c *pageChecker) bucket(v []byte, what string) error {
	if len(v) < bucketHeaderLen {
		return fmt.Errorf("%s: its header is %d bytes, not %d", what, len(v), bucketHeaderLen)
	}
	root := binary.LittleEndian.Uint64(v)
	if root != 0 {
		return c.tree(root, what)
	}
	// An inline bucket: a leaf page right after the header.
	inline := v[bucketHeaderLen:]
	if len(inline) < pageHeaderSize || binary.LittleEndian.Uint16(inline[8:]) != leafPage {
		return fmt.Errorf("%s: its inline page is damaged", what)
	}
	_, buckets, err := elements(inline, leafPage)
	if err != nil {
		return fmt.Errorf("%s: inline page: %w", what, err)
	}
	for _, bk := range buckets {
		if err := c.bucket(bk.value, fmt.Sprintf("%s: bucket %q", what, bk.key)); err != nil {
			return err
		}
	}
	return nil
}

type nested struct{ key, value []byte }

// elements checks the elements of page b (of kind branch or leaf): each
// within the page, keys in increasing order, and returns the child page
// IDs of a branch page and the nested buckets of a leaf page.
func elements(b []byte, kind uint16) (children []uint64, buckets []nested, err error) {
	le := binary.LittleEndian
	count := int(le.Uint16(b[10:]))
	if pageHeaderSize+count*elementSize > len(b) {
		return nil, nil, fmt.Errorf("%d elements do not fit in the page", count)
	}
	if count == 0 && kind == branchPage {
		return nil, nil, errors.New("a branch page without elements")
	}
	var prev []byte
	for i := range count {
		at := pageHeaderSize + i*elementSize
		e := b[at : at+elementSize]
		var pos, ksize, vsize uint64
		if kind == branchPage {
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
		case kind == branchPage:
			children = append(children, le.Uint64(e[8:]))
		case le.Uint32(e[0:])&bucketLeaf != 0:
			buckets = append(buckets, nested{key: key, value: b[start+ksize : start+ksize+vsize]})
		}
	}
	return children, buckets, nil
}
