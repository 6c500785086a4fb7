package image

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/minato-ops/minato/internal/dockertest"
)

func TestBuild(t *testing.T) {
	t.Parallel()
	c, h := newEngineClient(t)
	ctx := testCtx(t)
	base := h.Image(t)
	dir := t.TempDir()
	big := strings.Repeat("x", 1<<20)
	writeTree(t, dir, map[string]string{
		"docker/Dockerfile.app": "FROM " + base + " AS app\nARG V=default-v\nARG W=default-w\nLABEL stage=app arg.v=$V arg.w=$W\nCOPY . /ctx/\n" +
			"FROM " + base + " AS other\nLABEL stage=other\n",
		".dockerignore": "*.log\nbig\ndocker\n",
		"keep.txt":      "kept",
		"ignored.log":   "ignored",
		"big":           big,
	})
	repo := "minato-test/build-" + randHex(t, 4)
	v := "given"
	var out strings.Builder
	res, err := c.Build(ctx, BuildOptions{
		Dir: dir, Dockerfile: "docker/Dockerfile.app", Tags: []string{repo + ":1", repo + ":2"},
		BuildArgs: map[string]*string{"V": &v, "W": nil}, Labels: map[string]string{dockertest.LabelKey: "build", "extra": "yes"},
		Target: "app", Output: &out,
	})
	for _, tag := range []string{repo + ":1", repo + ":2"} {
		t.Cleanup(func() { _, _ = c.Remove(context.Background(), tag, RemoveOptions{}) })
	}
	if err != nil {
		t.Fatalf("build: %v\n%s", err, out.String())
	}
	if !strings.Contains(out.String(), "Step 1/") || !strings.Contains(out.String(), "COPY . /ctx/") || strings.Contains(out.String(), "stage=other") {
		t.Errorf("build output:\n%s", out.String())
	}
	if res.ContextBytes <= 0 || res.ContextBytes > 1<<19 {
		t.Errorf("context bytes %d: want the ignored 1 MiB file left out", res.ContextBytes)
	}
	if len(res.Tags) != 2 || res.Tags[0] != "docker.io/"+repo+":1" {
		t.Errorf("tags %q", res.Tags)
	}
	img, err := c.Inspect(ctx, repo+":2")
	if err != nil {
		t.Fatal(err)
	}
	if img.ID != res.ID {
		t.Errorf("ID %s, inspect says %s", res.ID, img.ID)
	}
	for k, want := range map[string]string{"stage": "app", "arg.v": "given", "arg.w": "default-w", "extra": "yes", dockertest.LabelKey: "build"} {
		if img.Labels[k] != want {
			t.Errorf("label %s = %q, want %q (labels %v)", k, img.Labels[k], want, img.Labels)
		}
	}
	// The files in the image: what the context held.
	ctr := h.Run(t, dockertest.RunOptions{Image: res.ID, Args: []string{"sleep", "1h"}, Start: new(bool)})
	for path, present := range map[string]bool{"/ctx/keep.txt": true, "/ctx/ignored.log": false, "/ctx/big": false, "/ctx/.dockerignore": true, "/testbox": true} {
		_, err := h.Client.ContainerStatPath(ctx, ctr.ID, path)
		if present && err != nil || !present && !cerrdefs.IsNotFound(err) {
			t.Errorf("stat %s in the image: %v, want present=%v", path, err, present)
		}
	}
}

func TestBuildErrors(t *testing.T) {
	t.Parallel()
	c, h := newEngineClient(t)
	ctx := testCtx(t)
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		// No step before the failing one: it would leave an untagged image.
		"Dockerfile":  "FROM " + h.Image(t) + "\nCOPY absent.txt /absent.txt\n",
		"present.txt": "x",
	})
	var out strings.Builder
	_, err := c.Build(ctx, BuildOptions{Dir: dir, Output: &out})
	if err == nil || !strings.Contains(err.Error(), "Step 2/2 : COPY absent.txt /absent.txt") || !strings.Contains(err.Error(), "absent.txt") {
		t.Errorf("failed step: %v\n%s", err, out.String())
	}
	t.Logf("failed step: %v", err)

	_, err = c.Build(ctx, BuildOptions{Dir: filepath.Join(dir, "nope")})
	if !errors.Is(err, os.ErrNotExist) || !strings.Contains(err.Error(), filepath.Join(dir, "nope")) {
		t.Errorf("missing dir: %v", err)
	}
	_, err = c.Build(ctx, BuildOptions{Dir: dir, Dockerfile: "Dockerfile.prod"})
	if err == nil || !strings.Contains(err.Error(), filepath.Join(dir, "Dockerfile.prod")) {
		t.Errorf("missing dockerfile: %v", err)
	}
	_, err = c.Build(ctx, BuildOptions{Dir: dir, Tags: []string{"Bad:Tag"}})
	if !errors.Is(err, ErrReference) {
		t.Errorf("bad tag: %v", err)
	}
	// A Dockerfile the engine cannot parse.
	bad := t.TempDir()
	writeTree(t, bad, map[string]string{"Dockerfile": "FROM " + h.Image(t) + "\nNOSUCHINSTRUCTION x\n"})
	_, err = c.Build(ctx, BuildOptions{Dir: bad})
	if err == nil || !strings.Contains(strings.ToLower(err.Error()), "nosuchinstruction") {
		t.Errorf("bad dockerfile: %v", err)
	}
}
