package dockertest

import (
	"archive/tar"
	"context"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/image"
)

// ContextFile is one file of a build context sent by [Harness.Build]
// besides the Dockerfile.
type ContextFile struct {
	// Name is the path in the context ("filler", "etc/app.conf").
	Name string
	// Mode is the file mode (0o644 when 0).
	Mode int64
	// Size is the file's length; Content must yield exactly Size bytes.
	Size    int64
	Content io.Reader
}

// Build builds the image ref with the engine's classic builder from
// dockerfile and files (the context is streamed, never held in memory),
// labelling it with labels, and returns its ID. Nothing is pulled, so the
// Dockerfile's FROM must name a local image (h.Image, or "scratch"). A
// t.Cleanup removes the tag ref (and the image when no other tag keeps it;
// an image still used by a container then is left alone, logged). Any
// failure is fatal to t, with the tail of the build output.
func (h *Harness) Build(t testing.TB, ref, dockerfile string, labels map[string]string, files ...ContextFile) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), imageBuildTimeout)
	defer cancel()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(writeBuildContext(pw, dockerfile, files)) }()
	resp, err := h.Client.ImageBuild(ctx, pr, build.ImageBuildOptions{
		Tags: []string{ref}, Labels: labels, Dockerfile: "Dockerfile",
		Remove: true, ForceRemove: true, Version: build.BuilderV1,
	})
	if err != nil {
		pr.CloseWithError(err)
		t.Fatalf("dockertest: build %s: %v", ref, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
		defer cancel()
		_, err := h.Client.ImageRemove(ctx, ref, image.RemoveOptions{PruneChildren: true})
		switch {
		case err == nil, isNotFound(err):
		case cerrdefs.IsConflict(err):
			t.Logf("dockertest: cleanup: image %s left in place: %v", ref, err)
		default:
			t.Errorf("dockertest: cleanup: remove image %s: %v", ref, err)
		}
	})
	err = drainBuild(resp.Body)
	resp.Body.Close()
	pr.Close()
	if err != nil {
		t.Fatalf("dockertest: build %s:\n%s\n%v", ref, dockerfile, err)
	}
	in, err := h.Client.ImageInspect(ctx, ref)
	if err != nil {
		t.Fatalf("dockertest: build %s finished but inspect failed: %v", ref, err)
	}
	return in.ID
}

func writeBuildContext(w io.Writer, dockerfile string, files []ContextFile) error {
	tw := tar.NewWriter(w)
	epoch := time.Unix(0, 0)
	all := append([]ContextFile{{Name: "Dockerfile", Size: int64(len(dockerfile)), Content: strings.NewReader(dockerfile)}}, files...)
	for _, f := range all {
		mode := f.Mode
		if mode == 0 {
			mode = 0o644
		}
		if err := tw.WriteHeader(&tar.Header{Name: f.Name, Mode: mode, Size: f.Size, ModTime: epoch, Typeflag: tar.TypeReg}); err != nil {
			return fmt.Errorf("context file %s: %w", f.Name, err)
		}
		if n, err := io.CopyN(tw, f.Content, f.Size); err != nil {
			return fmt.Errorf("context file %s: %d of %d bytes: %w", f.Name, n, f.Size, err)
		}
	}
	return tw.Close()
}
