package docker_test

import (
	"archive/tar"
	"strings"
	"testing"
	"time"

	jobdocker "github.com/minato-ops/minato/job/docker"
	"github.com/stretchr/testify/assert"
)

func TestArchiveName(t *testing.T) {
	cases := []struct{ name, src, want string }{
		{"web-1", "/root/", "web-1_root.tar"},
		{"/web-1", "/etc/nginx/nginx.conf", "web-1_etc_nginx_nginx.conf.tar"},
		{"db", "/", "db_rootfs.tar"},
		{"db", "", "db_rootfs.tar"},
		{"db", "var/log/../lib", "db_var_lib.tar"},
		{"db", "/data/my file:1", "db_data_my-file-1.tar"},
		{"db", "/../../etc", "db_etc.tar"},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, jobdocker.ArchiveName(c.name, c.src), "%q %q", c.name, c.src)
	}
}

func FuzzArchiveName(f *testing.F) {
	f.Add("web", "/root/")
	f.Add("", "../..")
	f.Fuzz(func(t *testing.T, name, src string) {
		got := jobdocker.ArchiveName(name, src)
		if strings.ContainsAny(got, "/\\\x00") || strings.HasPrefix(got, ".") && !strings.HasPrefix(name, ".") && !strings.HasPrefix(strings.TrimPrefix(name, "/"), ".") {
			t.Fatalf("ArchiveName(%q, %q) = %q: not a plain file name", name, src, got)
		}
		if !strings.HasSuffix(got, ".tar") {
			t.Fatalf("ArchiveName(%q, %q) = %q: no .tar", name, src, got)
		}
	})
}

func TestFormatEntry(t *testing.T) {
	mt := time.Date(2015, 8, 24, 18, 28, 36, 0, time.UTC)
	cases := []struct {
		h    tar.Header
		want string
	}{
		{tar.Header{Typeflag: tar.TypeDir, Name: "root/", Mode: 0o700, ModTime: mt}, "drwx------ 0/0 0 2015-08-24 18:28:36 root/"},
		{tar.Header{Typeflag: tar.TypeReg, Name: "root/.bashrc", Mode: 0o644, Size: 570, ModTime: mt}, "-rw-r--r-- 0/0 570 2015-08-24 18:28:36 root/.bashrc"},
		{tar.Header{Typeflag: tar.TypeReg, Name: "b", Mode: 0o600, Uid: 1000, Gid: 100, ModTime: mt}, "-rw------- 1000/100 0 2015-08-24 18:28:36 b"},
		{tar.Header{Typeflag: tar.TypeSymlink, Name: "l", Linkname: "/etc/x", Mode: 0o777, ModTime: mt}, "lrwxrwxrwx 0/0 0 2015-08-24 18:28:36 l -> /etc/x"},
		{tar.Header{Typeflag: tar.TypeReg, Name: "su", Mode: 0o4755, ModTime: mt}, "-rwsr-xr-x 0/0 0 2015-08-24 18:28:36 su"},
		{tar.Header{Typeflag: tar.TypeDir, Name: "tmp/", Mode: 0o1777, ModTime: mt}, "drwxrwxrwt 0/0 0 2015-08-24 18:28:36 tmp/"},
		{tar.Header{Typeflag: tar.TypeReg, Name: "g", Mode: 0o2640, ModTime: mt}, "-rw-r-S--- 0/0 0 2015-08-24 18:28:36 g"},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, jobdocker.FormatEntry(&c.h, time.UTC))
	}
}

func TestEscapeName(t *testing.T) {
	for in, want := range map[string]string{
		"plain/name.txt":           "plain/name.txt",
		"日本語.txt":                  "日本語.txt",
		"a\x1b[2Jb":                `a\033[2Jb`,
		"bell\a\nnew\tline":        `bell\a\nnew\tline`,
		`back\slash`:               `back\\slash`,
		"del\x7f c1\u0085 bad\xff": `del\177 c1\302\205 bad\377`,
	} {
		assert.Equal(t, want, jobdocker.EscapeName(in), "%q", in)
	}
	h := &tar.Header{Name: "evil\x1b]0;pwned\a", Typeflag: tar.TypeSymlink, Linkname: "x\ny", Mode: 0o777, ModTime: time.Unix(0, 0)}
	assert.Equal(t, `lrwxrwxrwx 0/0 0 1970-01-01 00:00:00 evil\033]0;pwned\a -> x\ny`, jobdocker.FormatEntry(h, time.UTC))
}
