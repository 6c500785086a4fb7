package dockertest

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/client"
)

// ImageRepo is the repository part of the test image reference.
const ImageRepo = "minato-testbox"

// dockerfile is the whole build recipe of the test image.
const dockerfile = "FROM scratch\nCOPY testbox /testbox\nENTRYPOINT [\"/testbox\"]\n"

// testboxPkg is the workload program, relative to the module root.
const testboxPkg = "./internal/testbox"

const imageBuildTimeout = 5 * time.Minute

// testImage remembers the one build per process, including its error.
var testImage struct {
	once sync.Once
	ref  string
	err  error
}

// Image returns the reference of the test image, "minato-testbox:<12 hex>",
// where the tag is a hash of the Dockerfile, the image label and the testbox
// binary, building it first if needed. The build happens at most once per
// process (concurrent callers wait for it) and its result, including a
// failure, is remembered: after a failed build every call fails t the same
// way.
//
// The build compiles ./internal/testbox with CGO_ENABLED=0, GOOS=linux,
// GOARCH = the engine's architecture, -trimpath and -ldflags="-s -w", then
// sends a tar context holding only the binary and the Dockerfile
//
//	FROM scratch
//	COPY testbox /testbox
//	ENTRYPOINT ["/testbox"]
//
// to ImageBuild (no pull; intermediate containers removed; the image
// labelled LabelKey=image) and checks the JSON progress stream for errors.
// If an image with that tag already exists (ImageInspect) it is reused, so
// the engine work happens only when the testbox program changed. The image
// is never removed by the harness.
func (h *Harness) Image(t testing.TB) string {
	t.Helper()
	testImage.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), imageBuildTimeout)
		defer cancel()
		testImage.ref, testImage.err = buildImage(ctx, h.Client, imageVariant{repo: ImageRepo, dockerfile: dockerfile})
	})
	if testImage.err != nil {
		t.Fatalf("dockertest: test image: %v", testImage.err)
	}
	return testImage.ref
}

// imageVariant is what distinguishes the plain test image from the one
// with a shell.
type imageVariant struct {
	repo       string
	dockerfile string
	extra      []tarFile
}

func buildImage(ctx context.Context, c *client.Client, v imageVariant) (string, error) {
	root, err := moduleRoot(ctx)
	if err != nil {
		return "", err
	}
	goarch := runtime.GOARCH
	if v, err := c.ServerVersion(ctx); err == nil && v.Arch != "" {
		goarch = v.Arch
	}
	tmp, err := os.MkdirTemp("", "minato-testbox-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "testbox")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, testboxPkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s in %s: %w\n%s", testboxPkg, root, err, out)
	}
	binary, err := os.ReadFile(bin)
	if err != nil {
		return "", err
	}

	labels := map[string]string{LabelKey: "image"}
	sum := sha256.New()
	fmt.Fprintf(sum, "%s\x00%s=%s\x00", v.dockerfile, LabelKey, labels[LabelKey])
	sum.Write(binary)
	for _, f := range v.extra {
		fmt.Fprintf(sum, "%s\x00%o\x00%s\x00", f.name, f.mode, f.linkname)
		sum.Write(f.data)
	}
	ref := v.repo + ":" + hex.EncodeToString(sum.Sum(nil))[:12]

	if _, err := c.ImageInspect(ctx, ref); err == nil {
		return ref, nil
	} else if !isNotFound(err) {
		return "", fmt.Errorf("inspect %s: %w", ref, err)
	}

	buildCtx, err := tarContext(append([]tarFile{
		{name: "Dockerfile", mode: 0o644, data: []byte(v.dockerfile)},
		{name: "testbox", mode: 0o755, data: binary},
	}, v.extra...))
	if err != nil {
		return "", err
	}
	resp, err := c.ImageBuild(ctx, buildCtx, build.ImageBuildOptions{
		Tags:        []string{ref},
		Remove:      true,
		ForceRemove: true,
		PullParent:  false,
		Labels:      labels,
		Dockerfile:  "Dockerfile",
	})
	if err != nil {
		return "", fmt.Errorf("build %s: %w", ref, err)
	}
	defer resp.Body.Close()
	if err := drainBuild(resp.Body); err != nil {
		return "", fmt.Errorf("build %s: %w", ref, err)
	}
	if _, err := c.ImageInspect(ctx, ref); err != nil {
		return "", fmt.Errorf("build %s finished but the image is missing: %w", ref, err)
	}
	return ref, nil
}

// moduleRoot finds the directory holding minato's go.mod: next to this
// source file when available, else via "go env GOMOD".
func moduleRoot(ctx context.Context) (string, error) {
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		root := filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			return root, nil
		}
	}
	out, err := exec.CommandContext(ctx, "go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("locate module root: go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("locate module root: not inside a Go module")
	}
	return filepath.Dir(gomod), nil
}

type tarFile struct {
	name     string
	mode     int64
	data     []byte
	linkname string // a symbolic link when set
}

// tarContext builds an in-memory tar build context from files, in order.
func tarContext(files []tarFile) (io.Reader, error) {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		hdr := &tar.Header{
			Name:     f.name,
			Mode:     f.mode,
			Size:     int64(len(f.data)),
			Typeflag: tar.TypeReg,
			ModTime:  time.Unix(0, 0),
		}
		if f.linkname != "" {
			hdr.Typeflag, hdr.Linkname, hdr.Size = tar.TypeSymlink, f.linkname, 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			return nil, err
		}
		if _, err := tw.Write(f.data); err != nil {
			return nil, err
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return &buf, nil
}

// buildMessage is the subset of the engine's JSON build progress we read.
type buildMessage struct {
	Stream      string `json:"stream"`
	Error       string `json:"error"`
	ErrorDetail *struct {
		Message string `json:"message"`
	} `json:"errorDetail"`
}

// drainBuild reads the whole build progress stream and returns the first
// error it reports, with the tail of the build output for context.
func drainBuild(r io.Reader) error {
	dec := json.NewDecoder(r)
	var tail []string
	for {
		var m buildMessage
		if err := dec.Decode(&m); err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("read build output: %w", err)
		}
		if s := strings.TrimSpace(m.Stream); s != "" {
			tail = append(tail, s)
			if len(tail) > 20 {
				tail = tail[1:]
			}
		}
		msg := m.Error
		if m.ErrorDetail != nil && m.ErrorDetail.Message != "" {
			msg = m.ErrorDetail.Message
		}
		if msg != "" {
			return fmt.Errorf("%s\n%s", msg, strings.Join(tail, "\n"))
		}
	}
}
