package bundle

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEscapePath(t *testing.T) {
	for in, want := range map[string]string{
		"/usr/spool/nqs":          "usr_spool_nqs",
		"/usr/spool/nqs/":         "usr_spool_nqs",
		"/":                       "_",
		"":                        "_",
		"/data/a b/ü":             "data_a_b___",
		"/tmp/../etc//x":          "etc_x",
		"/var/lib/docker/v/_data": "var_lib_docker_v__data",
	} {
		assert.Equal(t, want, escapePath(in), in)
	}
	long := "/" + strings.Repeat("d/", 100)
	a, b := escapePath(long), escapePath(long+"x")
	assert.LessOrEqual(t, len(a), 150)
	assert.NotEqual(t, a, b, "long paths stay distinct")
}

var safeFileRE = regexp.MustCompile(`^[A-Za-z0-9._-]{1,150}$`)

func FuzzEscapePath(f *testing.F) {
	for _, s := range []string{"/usr/spool/nqs", "/", "", "../../etc/passwd", "/a\x00b", "/\xff/é"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		got := escapePath(p)
		if !safeFileRE.MatchString(got) || got == "." || got == ".." {
			t.Fatalf("escapePath(%q) = %q: not a plain file name", p, got)
		}
	})
}

func TestModeString(t *testing.T) {
	for m, want := range map[fs.FileMode]string{
		0o644:                                     "-rw-r--r--",
		fs.ModeDir | 0o750:                        "drwxr-x---",
		fs.ModeSymlink | 0o777:                    "lrwxrwxrwx",
		fs.ModeSetuid | 0o755:                     "-rwsr-xr-x",
		fs.ModeSetgid | 0o640:                     "-rw-r-S---",
		fs.ModeDir | fs.ModeSticky | 0o777:        "drwxrwxrwt",
		fs.ModeNamedPipe | 0o600:                  "prw-------",
		fs.ModeSocket | 0o755:                     "srwxr-xr-x",
		fs.ModeDevice | fs.ModeCharDevice | 0o666: "crw-rw-rw-",
		fs.ModeDevice | 0o660:                     "brw-rw----",
	} {
		assert.Equal(t, want, modeString(m), "%v", m)
	}
}

func TestListTreeBounds(t *testing.T) {
	root := t.TempDir()
	for _, d := range []string{"a/b/c", "z"} {
		require.NoError(t, os.MkdirAll(filepath.Join(root, d), 0o755))
	}
	for i := range 5 {
		require.NoError(t, os.WriteFile(filepath.Join(root, "z", "f"+string(rune('0'+i))), nil, 0o644))
	}

	var b strings.Builder
	assert.Empty(t, listTree(&b, root, 8, 1000))
	s := b.String()
	for _, dir := range []string{root, filepath.Join(root, "a"), filepath.Join(root, "a", "b"), filepath.Join(root, "a", "b", "c"), filepath.Join(root, "z")} {
		assert.Contains(t, s, "\n"+dir+":\n")
	}
	assert.Less(t, strings.Index(s, filepath.Join(root, "a", "b")+":"), strings.Index(s, filepath.Join(root, "z")+":"), "depth first, in name order, as ls -R")

	b.Reset()
	listTree(&b, root, 1, 1000)
	assert.Contains(t, b.String(), "\n"+filepath.Join(root, "a")+":\n")
	assert.NotContains(t, b.String(), filepath.Join(root, "a", "b")+":")
	assert.Contains(t, b.String(), "1 subdirectories deeper than 1 levels are not listed")

	b.Reset()
	listTree(&b, root, 8, 4)
	assert.Contains(t, b.String(), "... more than 4 entries: the listing stops here")
	entries := regexp.MustCompile(`(?m)^[-dl][-rwxsStT]{9} .* [^.\s]\S*$`).FindAllString(b.String(), -1)
	assert.Len(t, entries, 4, "four entries besides the '.' lines:\n%s", b.String())

	b.Reset()
	errs := listTree(&b, filepath.Join(root, "missing"), 8, 10)
	require.Len(t, errs, 1)
	assert.True(t, errors.Is(errs[0], fs.ErrNotExist))
	assert.Contains(t, b.String(), "ls: cannot open directory")
}

func TestWriteArchiveTellsTarFromGzipErrors(t *testing.T) {
	parent := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(parent, "b"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(parent, "b", "x.info"), bytes.Repeat([]byte("data "), 100000), 0o600))

	var out bytes.Buffer
	stage, err := writeArchive(&out, parent, "b", []string{"x.info"})
	require.NoError(t, err)
	assert.Empty(t, stage)

	stage, err = writeArchive(&out, parent, "b", []string{"x.info", "missing.info"})
	assert.Equal(t, "tar", stage)
	assert.ErrorIs(t, err, fs.ErrNotExist)

	full := errors.New("no space left on device")
	stage, err = writeArchive(&failAfter{n: 100, err: full}, parent, "b", []string{"x.info"})
	assert.Equal(t, "gzip", stage)
	assert.ErrorIs(t, err, full)
}

// failAfter accepts n bytes, then fails.
type failAfter struct {
	n   int
	err error
}

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		n := f.n
		f.n = 0
		return n, f.err
	}
	f.n -= len(p)
	return len(p), nil
}
