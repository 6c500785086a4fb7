package bundle

import (
	"archive/tar"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// compress writes the archive of <parent>/<base>/<files> to path as a
// gzip-compressed tar whose members are <base>/<file>. On failure it
// removes the partial archive and returns which stage failed, in
// JobCenter's words: "tar" (the archive cannot be created, or a collected
// file read back) or "gzip" (the compressed data cannot be written).
func compress(path, parent, base string, files []string) (stage string, err error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return "tar", err
	}
	stage, err = writeArchive(f, parent, base, files)
	if err == nil {
		if err = f.Sync(); err == nil {
			err = f.Close()
		} else {
			f.Close()
		}
		if err != nil {
			stage = "gzip"
		}
	} else {
		f.Close()
	}
	if err != nil {
		os.Remove(path)
		return stage, err
	}
	return "", nil
}

// writeArchive writes the tar.gz stream to w; see compress.
func writeArchive(w io.Writer, parent, base string, files []string) (stage string, err error) {
	ew := &errWriter{w: w}
	gz := gzip.NewWriter(ew)
	tw := tar.NewWriter(gz)
	fail := func(err error) (string, error) {
		if ew.err != nil {
			return "gzip", ew.err
		}
		return "tar", err
	}
	dir := filepath.Join(parent, base)
	di, err := os.Stat(dir)
	if err != nil {
		return fail(err)
	}
	if err := tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: base + "/", Mode: 0o700, ModTime: di.ModTime()}); err != nil {
		return fail(err)
	}
	for _, name := range files {
		if err := addFile(tw, filepath.Join(dir, name), base+"/"+name); err != nil {
			return fail(err)
		}
	}
	if err := tw.Close(); err != nil {
		return fail(err)
	}
	if err := gz.Close(); err != nil {
		return fail(err)
	}
	if ew.err != nil {
		return "gzip", ew.err
	}
	return "", nil
}

func addFile(tw *tar.Writer, path, name string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", path)
	}
	h := &tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o600, Size: fi.Size(), ModTime: fi.ModTime()}
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	n, err := io.Copy(tw, f)
	if err == nil && n != fi.Size() {
		err = fmt.Errorf("%s changed while it was archived", path)
	}
	return err
}

// errWriter remembers the first error of w, so that a failure of the
// compressed output can be told from one of the input.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	if err != nil {
		e.err = err
	}
	return n, err
}
