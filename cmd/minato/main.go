// Command minato is the reference command-line tool of the minato toolkit:
// seed 002's container jobs (minato job start|stop|restart|rm|exec|download)
// and a container listing (minato ps). Run "minato help" for the commands.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/minato-ops/minato/cmd/minato/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv})
	stop()
	os.Exit(code)
}
