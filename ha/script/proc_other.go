//go:build !unix

package script

import "os/exec"

// ownGroup does nothing where there are no process groups.
func ownGroup(*exec.Cmd) {}

// signal ends the command's process; without process groups, its
// children are not reached, and there is no gentler signal than a kill.
func signal(cmd *exec.Cmd, _ bool) {
	_ = cmd.Process.Kill()
}
