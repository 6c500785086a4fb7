// Command exec-deadline runs a command in one container with a deadline
// that really ends the process, importing only package container.
//
//	go run ./examples/exec-deadline NAME TIMEOUT CMD [ARG...]
//	go run ./examples/exec-deadline web-1 5s sleep 60
//
// It exits with the command's exit code (137 when the deadline killed it).
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/minato-ops/minato/container"
)

func main() {
	if len(os.Args) < 4 {
		fmt.Fprintln(os.Stderr, "usage: exec-deadline NAME TIMEOUT CMD [ARG...]")
		os.Exit(2)
	}
	timeout, err := time.ParseDuration(os.Args[2])
	if err != nil {
		fmt.Fprintf(os.Stderr, "TIMEOUT %q: %v (want e.g. 5s)\n", os.Args[2], err)
		os.Exit(2)
	}
	c, err := container.New(container.ConfigFromEnv(nil))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer c.Close()
	res, err := c.Exec(context.Background(), os.Args[1], container.ExecOptions{
		Cmd: os.Args[3:], Stdout: os.Stdout, Stderr: os.Stderr, Timeout: timeout,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if res.TimedOut {
		fmt.Fprintf(os.Stderr, "timed out after %s; ended from the %s\n", timeout, res.Killed)
	}
	c.Close()
	os.Exit(res.ExitCode)
}
