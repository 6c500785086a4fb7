//go:build !unix

package docker

import (
	"os"
	"os/exec"
	"time"
)

// setProcessGroup does nothing: process groups are a Unix notion.
func setProcessGroup(*exec.Cmd) {}

// endGroup kills the program itself at once (there is no portable polite
// signal nor process group here) and returns cmd.Wait's error.
func endGroup(cmd *exec.Cmd, done <-chan error, _ time.Duration) error {
	_ = cmd.Process.Kill()
	return <-done
}

// exitCode is the process's exit code.
func exitCode(ps *os.ProcessState) int {
	if ps == nil {
		return -1
	}
	return ps.ExitCode()
}
