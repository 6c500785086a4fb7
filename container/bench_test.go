package container_test

import (
	"context"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/clienttest"
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
	c := clienttest.New(b, h)
	ctx := context.Background()
	cmd := []string{"/testbox", "exit", "0"}

	b.Run("impl=raw-api", func(b *testing.B) {
		for b.Loop() {
			code, err := h.RawExec(ctx, x.ID, cmd)
			if err != nil || code != 0 {
				b.Fatalf("exit %d: %v", code, err)
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
