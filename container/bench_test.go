package container_test

import (
	"context"
	"io"
	"testing"
	"time"

	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/dockertest"
)

// BenchmarkExec compares one exec through minato (create, attach, relay,
// exit code) with the same exec done with the raw Docker client in the same
// run. Run it with:
//
//	go test ./container -run '^$' -bench Exec -count 10 | tee exec.txt; benchstat exec.txt
func BenchmarkExec(b *testing.B) {
	h := dockertest.New(b)
	x := h.Run(b, dockertest.RunOptions{Args: []string{"sleep", "forever"}})
	h.WaitState(b, x.ID, "running", 10*time.Second)
	cfg := container.DefaultConfig()
	cfg.Host = h.Host
	c, err := container.New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	cmd := []string{"/testbox", "exit", "0"}

	b.Run("impl=raw-api", func(b *testing.B) {
		for b.Loop() {
			created, err := h.Client.ContainerExecCreate(ctx, x.ID, dcontainer.ExecOptions{AttachStdout: true, AttachStderr: true, Cmd: cmd})
			if err != nil {
				b.Fatal(err)
			}
			hj, err := h.Client.ContainerExecAttach(ctx, created.ID, dcontainer.ExecAttachOptions{})
			if err != nil {
				b.Fatal(err)
			}
			if _, err := stdcopy.StdCopy(io.Discard, io.Discard, hj.Reader); err != nil {
				b.Fatal(err)
			}
			hj.Close()
			for {
				ins, err := h.Client.ContainerExecInspect(ctx, created.ID)
				if err != nil {
					b.Fatal(err)
				}
				if !ins.Running {
					if ins.ExitCode != 0 {
						b.Fatalf("exit %d", ins.ExitCode)
					}
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
	})
	b.Run("impl=minato", func(b *testing.B) {
		for b.Loop() {
			res, err := c.Exec(ctx, x.ID, container.ExecOptions{Cmd: cmd, Timeout: time.Minute})
			if err != nil {
				b.Fatal(err)
			}
			if res.ExitCode != 0 {
				b.Fatalf("exit %d", res.ExitCode)
			}
		}
	})
}
