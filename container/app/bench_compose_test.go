package app_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/container/app"
	"github.com/minato-ops/minato/internal/dockertest"
)

// The three benchmarks below start the same set, 10 applications of 2
// replicas (20 containers running "sleep forever" on the test image), from
// nothing, and remove it again outside the timer:
//
//	go test -run '^$' -bench 'Apply20|ComposeUp20|RawCreateStart20' -benchtime 5x ./container/app/
//
// BenchmarkApply20 is minato's Reconciler.Apply; BenchmarkComposeUp20 is
// Debian's docker-compose (v1) "up -d" of a file with the same services
// scaled to 2; BenchmarkRawCreateStart20 is the bare API sequence
// (create, start) per container, the floor.

const (
	benchApps     = 10
	benchReplicas = 2
)

// BenchmarkApply20 applies 10 new applications of 2 replicas each.
func BenchmarkApply20(b *testing.B) {
	e := newEnv(b)
	r := e.reconciler(b)
	ctx := ctxT(b, 20*time.Minute)
	for b.Loop() {
		b.StopTimer()
		var specs []app.Spec
		for range benchApps {
			specs = append(specs, e.spec(uniq("b"), benchReplicas))
		}
		b.StartTimer()
		res, err := r.Apply(ctx, specs, app.ApplyOptions{})
		if err != nil || len(res.Created) != benchApps*benchReplicas {
			b.Fatalf("created %d: %v", len(res.Created), err)
		}
		b.StopTimer()
		e.sweep(b)
		b.StartTimer()
	}
}

// BenchmarkComposeUp20 runs docker-compose up -d for 10 services scaled to
// 2, as a new project each time.
func BenchmarkComposeUp20(b *testing.B) {
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		b.Skip("docker-compose is not installed (Debian package docker-compose)")
	}
	e := newEnv(b)
	ctx := ctxT(b, 20*time.Minute)
	dir := b.TempDir()
	var doc strings.Builder
	doc.WriteString("version: \"2.4\"\nservices:\n")
	var scale []string
	for i := range benchApps {
		fmt.Fprintf(&doc, "  s%d:\n    image: %s\n    command: [sleep, forever]\n    environment: {GREETING: hello}\n    labels: {%s: %s}\n",
			i, e.image, dockertest.LabelKey, e.h.RunID())
		scale = append(scale, "--scale", fmt.Sprintf("s%d=%d", i, benchReplicas))
	}
	file := filepath.Join(dir, "docker-compose.yml")
	if err := os.WriteFile(file, []byte(doc.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	compose := func(project string, args ...string) {
		cmd := exec.CommandContext(ctx, bin, append([]string{"-f", file, "-p", project}, args...)...)
		cmd.Env = append(os.Environ(), "DOCKER_HOST="+e.h.Host)
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("docker-compose %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	for b.Loop() {
		project := uniq("mb")
		b.Cleanup(func() {
			cmd := exec.Command(bin, "-f", file, "-p", project, "down", "-v", "--remove-orphans")
			cmd.Env = append(os.Environ(), "DOCKER_HOST="+e.h.Host)
			_ = cmd.Run()
		})
		compose(project, append([]string{"up", "-d", "--no-build"}, scale...)...)
		b.StopTimer()
		l, err := e.c.List(ctx, container.ListOptions{Labels: map[string]string{"com.docker.compose.project": project}, States: []container.State{container.Running}})
		if err != nil || len(l.Containers) != benchApps*benchReplicas {
			b.Fatalf("running %d: %v", len(l.Containers), err)
		}
		compose(project, "down", "-v")
		b.StartTimer()
	}
}

// BenchmarkRawCreateStart20 creates and starts 20 containers with the
// Docker API, one after the other.
func BenchmarkRawCreateStart20(b *testing.B) {
	e := newEnv(b)
	ctx := ctxT(b, 20*time.Minute)
	cli := e.h.Client
	for b.Loop() {
		for i := range benchApps * benchReplicas {
			cr, err := cli.ContainerCreate(ctx, &dcontainer.Config{
				Image: e.image, Cmd: []string{"sleep", "forever"}, Env: []string{"GREETING=hello"},
				Labels: map[string]string{dockertest.LabelKey: e.h.RunID(), app.LabelApp: fmt.Sprintf("raw%d", i/benchReplicas)},
			}, &dcontainer.HostConfig{}, nil, nil, uniq("raw"))
			if err != nil {
				b.Fatal(err)
			}
			if err := cli.ContainerStart(ctx, cr.ID, dcontainer.StartOptions{}); err != nil {
				b.Fatal(err)
			}
		}
		b.StopTimer()
		e.sweep(b)
		b.StartTimer()
	}
}
