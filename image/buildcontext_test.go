package image

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeTree creates files under dir: name -> content; a name ending in
// "/" is a directory; content "->target" makes a symlink.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for _, name := range slices.Sorted(func(yield func(string) bool) {
		for k := range files {
			if !yield(k) {
				return
			}
		}
	}) {
		p := filepath.Join(dir, filepath.FromSlash(name))
		content := files[name]
		if strings.HasSuffix(name, "/") {
			if err := os.MkdirAll(p, 0o755); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if target, ok := strings.CutPrefix(content, "->"); ok {
			if err := os.Symlink(target, p); err != nil {
				t.Fatal(err)
			}
			continue
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

type tarEntry struct {
	hdr  *tar.Header
	data string
}

func contextTar(t *testing.T, dir, dockerfile string) (*buildContext, []byte, map[string]tarEntry, []string) {
	t.Helper()
	bc, err := prepareContext(dir, dockerfile)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := bc.writeTar(&buf); err != nil {
		t.Fatal(err)
	}
	entries := map[string]tarEntry{}
	var names []string
	tr := tar.NewReader(bytes.NewReader(buf.Bytes()))
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		entries[h.Name] = tarEntry{h, string(data)}
		names = append(names, h.Name)
	}
	return bc, buf.Bytes(), entries, names
}

func TestContextDockerignore(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"Dockerfile":        "FROM scratch\n",
		".dockerignore":     "# comment\n*.log\n/secret\n!secret/keep.txt\nDockerfile\n.dockerignore\nnode_modules\n**/*.tmp\n",
		"app/main.go":       "package main\n",
		"app/debug.log":     "x",
		"app/cache/x.tmp":   "x",
		"build.log":         "x",
		"secret/key.pem":    "x",
		"secret/keep.txt":   "kept",
		"node_modules/a.js": "x",
		"link":              "->app/main.go",
		"empty/":            "",
	})
	if err := os.Chmod(filepath.Join(dir, "app/main.go"), 0o755); err != nil {
		t.Fatal(err)
	}
	bc, raw, entries, names := contextTar(t, dir, "")
	if bc.dockerfile != "Dockerfile" {
		t.Errorf("dockerfile name %q", bc.dockerfile)
	}
	// "*.log" matches at the root only, as in the docker CLI.
	want := []string{".dockerignore", "Dockerfile", "app/", "app/cache/", "app/debug.log", "app/main.go", "empty/", "link", "secret/keep.txt"}
	if !slices.Equal(names, want) {
		t.Errorf("tar entries\n got %q\nwant %q", names, want)
	}
	if e := entries["app/main.go"]; e.hdr.Mode&0o777 != 0o755 || e.data != "package main\n" || e.hdr.Uid != 0 || e.hdr.Gid != 0 || e.hdr.Uname != "" {
		t.Errorf("app/main.go: mode %o uid %d gid %d uname %q data %q", e.hdr.Mode, e.hdr.Uid, e.hdr.Gid, e.hdr.Uname, e.data)
	}
	if e := entries["link"]; e.hdr.Typeflag != tar.TypeSymlink || e.hdr.Linkname != "app/main.go" {
		t.Errorf("link: %+v", e.hdr)
	}
	if e := entries["secret/keep.txt"]; e.data != "kept" {
		t.Errorf("secret/keep.txt: %q", e.data)
	}
	if e := entries["app/"]; e.hdr.Typeflag != tar.TypeDir {
		t.Errorf("app/: %+v", e.hdr)
	}
	// Deterministic: the same bytes twice.
	_, again, _, _ := contextTar(t, dir, "")
	if !bytes.Equal(raw, again) {
		t.Error("two tars of the same directory differ")
	}
}

func TestContextDockerfileElsewhere(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"ctx/.dockerignore":        "build\n",
		"ctx/build/Dockerfile.web": "FROM scratch\nCOPY a /a\n",
		"ctx/build/other":          "x",
		"ctx/a":                    "a",
		"outside/Dockerfile":       "FROM scratch\n",
	})
	ctx := filepath.Join(dir, "ctx")

	// Inside the context, in an ignored directory: still sent.
	bc, _, _, names := contextTar(t, ctx, "build/Dockerfile.web")
	if bc.dockerfile != "build/Dockerfile.web" || !slices.Equal(names, []string{".dockerignore", "a", "build/Dockerfile.web"}) {
		t.Errorf("dockerfile %q, entries %q", bc.dockerfile, names)
	}
	// The same file given by its absolute path.
	bc, _, _, _ = contextTar(t, ctx, filepath.Join(ctx, "build", "Dockerfile.web"))
	if bc.dockerfile != "build/Dockerfile.web" {
		t.Errorf("absolute dockerfile inside the context: %q", bc.dockerfile)
	}

	// Outside the context: sent under a generated name, last.
	for _, df := range []string{filepath.Join(dir, "outside", "Dockerfile"), "../outside/Dockerfile"} {
		bc, _, entries, names := contextTar(t, ctx, df)
		if !strings.HasPrefix(bc.dockerfile, ".dockerfile.") || len(bc.dockerfile) != len(".dockerfile.")+20 {
			t.Errorf("%s: generated name %q", df, bc.dockerfile)
		}
		if names[len(names)-1] != bc.dockerfile || entries[bc.dockerfile].data != "FROM scratch\n" {
			t.Errorf("%s: entries %q", df, names)
		}
	}
}

func TestContextErrors(t *testing.T) {
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{"Dockerfile": "FROM scratch\n", "file": "x", "sub/": ""})
	cases := []struct {
		dir, dockerfile, want string
	}{
		{"", "", "Dir) is required"},
		{filepath.Join(dir, "nope"), "", filepath.Join(dir, "nope")},
		{filepath.Join(dir, "file"), "", "not a directory"},
		{dir, "Dockerfile.missing", filepath.Join(dir, "Dockerfile.missing")},
		{dir, "sub", "not a regular file"},
		{filepath.Join(dir, "sub"), "", filepath.Join(dir, "sub", "Dockerfile")},
	}
	for _, c := range cases {
		_, err := prepareContext(c.dir, c.dockerfile)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("prepareContext(%q, %q) = %v, want an error containing %q", c.dir, c.dockerfile, err, c.want)
		}
	}
	if _, err := prepareContext(filepath.Join(dir, "nope"), ""); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing dir: %v, want fs.ErrNotExist", err)
	}

	// A bad pattern in .dockerignore.
	bad := t.TempDir()
	writeTree(t, bad, map[string]string{"Dockerfile": "FROM scratch\n", ".dockerignore": "[\n"})
	if _, err := prepareContext(bad, ""); err == nil || !strings.Contains(err.Error(), ".dockerignore") {
		t.Errorf("bad pattern: %v", err)
	}

	// An unreadable file fails the stream, naming the file (not as root).
	if os.Geteuid() != 0 {
		writeTree(t, dir, map[string]string{"secret": "x"})
		if err := os.Chmod(filepath.Join(dir, "secret"), 0); err != nil {
			t.Fatal(err)
		}
		bc, err := prepareContext(dir, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := bc.writeTar(io.Discard); err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "secret")) {
			t.Errorf("unreadable file: %v", err)
		}
	}
}
