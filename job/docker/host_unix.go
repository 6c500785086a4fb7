//go:build unix

package docker

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"
)

// setProcessGroup makes the command the leader of a new process group, so
// that it and everything it starts can be signalled together.
func setProcessGroup(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
}

// endGroup sends SIGTERM to the command's process group, waits up to grace
// for the whole group to be gone, then sends SIGKILL to what is left, and
// returns cmd.Wait's error.
func endGroup(cmd *exec.Cmd, done <-chan error, grace time.Duration) error {
	pgid := cmd.Process.Pid // the leader's PID is the group's ID
	var waitErr error
	reaped := false
	if grace > 0 {
		_ = syscall.Kill(-pgid, syscall.SIGTERM)
		deadline := time.NewTimer(grace)
		defer deadline.Stop()
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
	wait:
		for {
			select {
			case waitErr = <-done:
				reaped = true
				if !groupAlive(pgid) {
					return waitErr
				}
			case <-tick.C:
				if reaped && !groupAlive(pgid) {
					return waitErr
				}
			case <-deadline.C:
				break wait
			}
		}
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	if !reaped {
		waitErr = <-done
	}
	// SIGKILL cannot be caught, but dying takes a moment: wait briefly so
	// that nothing of the group outlives Do.
	for end := time.Now().Add(time.Second); groupAlive(pgid) && time.Now().Before(end); {
		time.Sleep(10 * time.Millisecond)
	}
	return waitErr
}

// groupAlive reports whether any process of the group is left that can
// still run (zombies waiting for their parent do not count).
func groupAlive(pgid int) bool {
	if err := syscall.Kill(-pgid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	return groupHasLiveMember(pgid)
}

// exitCode is the process's exit code, or 128+N when signal N killed it.
func exitCode(ps *os.ProcessState) int {
	if ps == nil {
		return -1
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ps.ExitCode()
}

// groupHasLiveMember looks through /proc for a process of the group that
// is not a zombie. Without a readable /proc it assumes there is one.
func groupHasLiveMember(pgid int) bool {
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil || len(stats) == 0 {
		return true
	}
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // gone meanwhile
		}
		// "pid (comm) S ppid pgrp ...": comm may hold anything, so parse
		// after its closing parenthesis.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		fields := bytes.Fields(b[i+1:])
		if len(fields) < 3 {
			continue
		}
		if pg, err := strconv.Atoi(string(fields[2])); err == nil && pg == pgid && string(fields[0]) != "Z" && string(fields[0]) != "X" {
			return true
		}
	}
	return false
}
