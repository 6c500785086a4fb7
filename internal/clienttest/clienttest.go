package clienttest

import (
	"testing"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/dockertest"
)

// New returns a container.Client for h's engine with the default timeouts;
// it fails tb when the client cannot be built and closes it in tb.Cleanup.
func New(tb testing.TB, h *dockertest.Harness) *container.Client {
	tb.Helper()
	cfg := container.DefaultConfig()
	cfg.Host = h.Host
	c, err := container.New(cfg)
	if err != nil {
		tb.Fatalf("clienttest: %v", err)
	}
	tb.Cleanup(func() { _ = c.Close() })
	return c
}
