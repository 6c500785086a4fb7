package dockertest

import (
	"context"
	"debug/elf"
	"fmt"
	"os"
	"sync"
	"testing"
)

// ShellImageRepo is the repository part of the test image with a shell.
const ShellImageRepo = "minato-testbox-sh"

// BusyboxEnv names a static busybox binary to put in the shell image;
// the default is /bin/busybox (Debian's busybox-static package).
const BusyboxEnv = "MINATO_BUSYBOX"

// shellTools are the busybox applets linked into /bin of the shell image:
// what minato's in-container exec killing and --shell tests need.
var shellTools = []string{"sh", "tr", "grep", "kill", "sleep", "cat", "echo", "ls", "ps", "true", "false", "env"}

const shellDockerfile = "FROM scratch\nCOPY testbox /testbox\nCOPY bin /bin\nENTRYPOINT [\"/testbox\"]\n"

var shellImage struct {
	once    sync.Once
	ref     string
	err     error
	missing string
}

// ShellImage returns the reference of a test image that is Image plus a
// static busybox with /bin/sh, tr, grep, kill, sleep and a few more applets,
// "minato-testbox-sh:<12 hex>". It stands in for an ordinary distribution
// image, which cannot be pulled here. The busybox comes from the host
// (BusyboxEnv, default /bin/busybox) and must be statically linked; without
// one the test is skipped, or failed when RequireEnv is "1" (CI installs
// busybox-static). Like Image, it is built at most once per process.
func (h *Harness) ShellImage(t testing.TB) string {
	t.Helper()
	shellImage.once.Do(func() {
		path := os.Getenv(BusyboxEnv)
		if path == "" {
			path = "/bin/busybox"
		}
		bb, err := staticBinary(path)
		if err != nil {
			shellImage.missing = fmt.Sprintf("no static busybox for the shell image (%v); install busybox-static or set %s", err, BusyboxEnv)
			return
		}
		files := []tarFile{{name: "bin/busybox", mode: 0o755, data: bb}}
		for _, tool := range shellTools {
			files = append(files, tarFile{name: "bin/" + tool, mode: 0o777, linkname: "busybox"})
		}
		ctx, cancel := context.WithTimeout(context.Background(), imageBuildTimeout)
		defer cancel()
		shellImage.ref, shellImage.err = buildImage(ctx, h.Client, imageVariant{repo: ShellImageRepo, dockerfile: shellDockerfile, extra: files})
	})
	if shellImage.missing != "" {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("dockertest: %s", shellImage.missing)
		}
		t.Skipf("dockertest: %s", shellImage.missing)
	}
	if shellImage.err != nil {
		t.Fatalf("dockertest: shell image: %v", shellImage.err)
	}
	return shellImage.ref
}

// staticBinary reads an ELF executable that has no program interpreter, so
// that it runs in a FROM scratch image.
func staticBinary(path string) ([]byte, error) {
	f, err := elf.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return nil, fmt.Errorf("%s is dynamically linked", path)
		}
	}
	return os.ReadFile(path)
}
