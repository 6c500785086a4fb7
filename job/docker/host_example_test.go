//go:build unix

package docker_test

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
	jobdocker "github.com/minato-ops/minato/job/docker"
)

// Run a program on minato's host with a deadline; its output goes to the
// unit's output writer.
func ExampleHostCommand() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ctx = job.WithOutput(ctx, os.Stdout)
	a := jobdocker.HostCommand([]string{"sh", "-c", "echo backup done; exit 3"}, jobdocker.HostOptions{KillGrace: 2 * time.Second})
	out, err := a.Do(ctx, inventory.Target{})
	fmt.Println(out.ExitCode, err)
	// Output:
	// backup done
	// 3 <nil>
}
