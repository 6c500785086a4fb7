package dockertest

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
)

// RawExec runs cmd in the running container id with the Docker client
// alone (exec create, attach, discard the output, inspect until it ends)
// and returns the exit code. It is the raw-API side of minato's exec
// benchmarks: what a program without minato would do.
func (h *Harness) RawExec(ctx context.Context, id string, cmd []string) (int, error) {
	created, err := h.Client.ContainerExecCreate(ctx, id, container.ExecOptions{AttachStdout: true, AttachStderr: true, Cmd: cmd})
	if err != nil {
		return -1, fmt.Errorf("exec create: %w", err)
	}
	hj, err := h.Client.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return -1, fmt.Errorf("exec attach: %w", err)
	}
	defer hj.Close()
	if _, err := stdcopy.StdCopy(io.Discard, io.Discard, hj.Reader); err != nil {
		return -1, fmt.Errorf("exec output: %w", err)
	}
	for {
		ins, err := h.Client.ContainerExecInspect(ctx, created.ID)
		if err != nil {
			return -1, fmt.Errorf("exec inspect: %w", err)
		}
		if !ins.Running {
			return ins.ExitCode, nil
		}
		time.Sleep(5 * time.Millisecond)
	}
}
