package docker

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
)

// DownloadResult is what [DownloadTo] wrote.
type DownloadResult struct {
	// Path is the archive's path: the destination directory joined with
	// the name [ArchiveName] gives (plus a -N suffix if that was taken).
	Path string
	// Entries are the archive's headers in order.
	Entries []*tar.Header
	// Bytes is the archive's size.
	Bytes int64
}

// ArchiveName is the file name a download of src from the container named
// name is written under: "<name>_<src>.tar", where src loses its leading and
// trailing "/", inner "/" become "_", and characters outside [A-Za-z0-9._-]
// become "-". "/" alone is "rootfs". Examples: web-1 and /root/ →
// "web-1_root.tar"; web-1 and /etc/nginx/nginx.conf →
// "web-1_etc_nginx_nginx.conf.tar". When the name exists already,
// [DownloadTo] adds "-1", "-2", ... before ".tar", so no file is ever
// overwritten.
func ArchiveName(name, src string) string {
	p := strings.Trim(filepath.ToSlash(filepath.Clean("/"+src)), "/")
	if p == "" {
		p = "rootfs"
	}
	p = strings.ReplaceAll(p, "/", "_")
	return sanitize(inventory.TrimName(name)) + "_" + sanitize(p) + ".tar"
}

func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-' {
			return r
		}
		return '-'
	}, s)
}

// DownloadTo copies src out of the container as a tar archive into the
// existing directory destDir, byte for byte as the engine sends it, so
// owners, modes and times are kept. The archive is first written to a
// hidden partial file and then linked into place under a free name, so an
// interrupted download leaves no truncated archive and concurrent
// downloads never overwrite each other or an existing file.
func DownloadTo(ctx context.Context, c *container.Client, t inventory.Target, src, destDir string) (DownloadResult, error) {
	var res DownloadResult
	st, err := os.Stat(destDir)
	if err != nil {
		return res, fmt.Errorf("destination: %w", err)
	}
	if !st.IsDir() {
		return res, fmt.Errorf("destination %s is not a directory", destDir)
	}
	cp, err := c.CopyFrom(ctx, t.ID, src, container.CopyFromOptions{})
	if err != nil {
		return res, err
	}
	defer cp.Archive.Close()

	part, err := os.CreateTemp(destDir, ".minato-download-*.partial")
	if err != nil {
		return res, fmt.Errorf("destination: %w", err)
	}
	defer os.Remove(part.Name())
	defer part.Close()

	// Parse the headers while the stream is written, then copy the rest
	// (the end-of-archive blocks) so the file is the stream verbatim.
	counter := &countingWriter{w: part}
	tee := io.TeeReader(cp.Archive, counter)
	tr := tar.NewReader(tee)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return res, fmt.Errorf("reading archive of %s: %w", src, err)
		}
		res.Entries = append(res.Entries, h)
	}
	if _, err := io.Copy(io.Discard, tee); err != nil {
		return res, fmt.Errorf("reading archive of %s: %w", src, err)
	}
	if err := part.Sync(); err != nil {
		return res, fmt.Errorf("writing archive: %w", err)
	}
	if err := part.Close(); err != nil {
		return res, fmt.Errorf("writing archive: %w", err)
	}
	res.Bytes = counter.n
	base := strings.TrimSuffix(ArchiveName(t.Name, src), ".tar")
	for i := 0; i < 10000; i++ {
		name := base + ".tar"
		if i > 0 {
			name = base + "-" + strconv.Itoa(i) + ".tar"
		}
		dst := filepath.Join(destDir, name)
		err := os.Link(part.Name(), dst)
		if err == nil {
			res.Path = dst
			return res, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return res, fmt.Errorf("writing archive: %w", err)
		}
	}
	return res, fmt.Errorf("writing archive: no free name for %s.tar in %s", base, destDir)
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// DownloadOptions tunes [Download].
type DownloadOptions struct {
	// Out receives, per container, the archive path and then a tar -tv
	// style listing ([FormatEntry]); nil discards.
	Out io.Writer
	// Location is the time zone of the listing's times; nil means
	// time.Local, as tar prints them.
	Location *time.Location
}

// Download returns an Action that writes src from each container into
// destDir with [DownloadTo] and prints the archive path and its listing to
// o.Out. The Outcome's Message is the archive path.
func Download(c *container.Client, src, destDir string, o DownloadOptions) job.Action {
	return job.ActionFunc(func(ctx context.Context, t inventory.Target) (job.Outcome, error) {
		out := job.Outcome{Started: time.Now()}
		res, err := DownloadTo(ctx, c, t, src, destDir)
		out.Ended = time.Now()
		if err != nil {
			return out, err
		}
		out.Message = res.Path
		if o.Out != nil {
			var b strings.Builder
			b.WriteString(res.Path + "\n")
			for _, h := range res.Entries {
				b.WriteString(FormatEntry(h, o.Location) + "\n")
			}
			if _, err := io.WriteString(o.Out, b.String()); err != nil {
				return out, err
			}
		}
		return out, nil
	})
}

// FormatEntry renders a tar header as tar -tv does, with numeric owners:
// "-rw-r--r-- 0/0 570 2010-01-31 11:52:26 root/.bashrc", plus " -> target"
// for links. loc is the time zone (nil means time.Local). Names are
// escaped as GNU tar escapes them (see [EscapeName]), so that a file name
// holding control characters cannot drive the terminal it is printed on.
func FormatEntry(h *tar.Header, loc *time.Location) string {
	if loc == nil {
		loc = time.Local
	}
	line := fmt.Sprintf("%s %d/%d %d %s %s", modeString(h), h.Uid, h.Gid, h.Size, h.ModTime.In(loc).Format(time.DateTime), EscapeName(h.Name))
	switch h.Typeflag {
	case tar.TypeSymlink:
		line += " -> " + EscapeName(h.Linkname)
	case tar.TypeLink:
		line += " link to " + EscapeName(h.Linkname)
	}
	return line
}

// EscapeName makes a name from a container safe to print on a terminal,
// as GNU tar's listing does (its "escape" quoting style): a backslash
// becomes \\, the C escapes \a \b \f \n \r \t \v stand for their
// characters, other control characters (C0, DEL, C1) and invalid UTF-8
// bytes become a backslash and three octal digits (ESC is \033).
// Printable text, non-ASCII letters included, is kept.
func EscapeName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size <= 1:
			fmt.Fprintf(&b, "\\%03o", s[i])
		case r == '\\':
			b.WriteString(`\\`)
		case strings.ContainsRune("\a\b\f\n\r\t\v", r):
			b.WriteByte('\\')
			b.WriteByte("abfnrtv"[strings.IndexRune("\a\b\f\n\r\t\v", r)])
		case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0:
			for _, c := range []byte(string(r)) {
				fmt.Fprintf(&b, "\\%03o", c)
			}
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}

// modeString renders type and permission bits like ls -l and tar -tv.
func modeString(h *tar.Header) string {
	b := []byte("----------")
	switch h.Typeflag {
	case tar.TypeDir:
		b[0] = 'd'
	case tar.TypeSymlink:
		b[0] = 'l'
	case tar.TypeChar:
		b[0] = 'c'
	case tar.TypeBlock:
		b[0] = 'b'
	case tar.TypeFifo:
		b[0] = 'p'
	case tar.TypeLink:
		b[0] = 'h'
	}
	m := h.Mode
	const rwx = "rwxrwxrwx"
	for i := 0; i < 9; i++ {
		if m&(1<<uint(8-i)) != 0 {
			b[1+i] = rwx[i]
		}
	}
	special := func(bit int64, pos int, set, unset byte) {
		if m&bit != 0 {
			if b[pos] == '-' {
				b[pos] = unset
			} else {
				b[pos] = set
			}
		}
	}
	special(04000, 3, 's', 'S')
	special(02000, 6, 's', 'S')
	special(01000, 9, 't', 'T')
	return string(b)
}
