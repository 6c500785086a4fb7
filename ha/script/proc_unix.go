//go:build unix

package script

import (
	"os/exec"
	"syscall"
)

// ownGroup makes the command the leader of a new process group, so that
// signal reaches it and every process it started (a shell's children).
func ownGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// signal sends SIGTERM (or, with kill, SIGKILL) to the command's process
// group. A group that is gone already is not an error.
func signal(cmd *exec.Cmd, kill bool) {
	sig := syscall.SIGTERM
	if kill {
		sig = syscall.SIGKILL
	}
	_ = syscall.Kill(-cmd.Process.Pid, sig)
}
