package dockerdtest_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/minato-ops/minato/internal/dockerdtest"
	"github.com/minato-ops/minato/internal/dockertest"
)

// A test that needs a second engine asks for the shared daemon, creates
// labelled containers there through its Harness and points the code under
// test at d.Host.
func ExampleGet() {
	var t *testing.T // the test's *testing.T
	d := dockerdtest.Get(t)
	c := d.Harness(t).Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}})
	info, _ := d.Client.ContainerInspect(context.Background(), c.ID)
	fmt.Println(d.Host, info.State.Status)
}
