package docker_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"testing"
	"time"

	"github.com/docker/docker/api/types/filters"
	dswarm "github.com/docker/docker/api/types/swarm"
	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/container/swarm"
	"github.com/minato-ops/minato/internal/dockerdtest"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
	jobdocker "github.com/minato-ops/minato/job/docker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSwarmRun runs Swarm jobs on a one-node swarm on a second dockerd of
// its own (never on the machine's engine, which other tests share, unless
// MINATO_SWARM_MAIN=1), left at the end.
func TestSwarmRun(t *testing.T) {
	var (
		api interface {
			SwarmInit(context.Context, dswarm.InitRequest) (string, error)
			SwarmLeave(context.Context, bool) error
			ServiceList(context.Context, dswarm.ServiceListOptions) ([]dswarm.Service, error)
		}
		host, img string
	)
	if os.Getenv("MINATO_SWARM_MAIN") == "1" {
		h := dockertest.New(t)
		api, host, img = h.Client, h.Host, h.Image(t)
	} else {
		d := dockerdtest.Get(t)
		api, host, img = d.Client, d.Host, d.Image
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cc, err := container.New(container.Config{Host: host})
	require.NoError(t, err)
	t.Cleanup(func() { cc.Close() })
	sc, err := swarm.New(cc, swarm.WithPollInterval(200*time.Millisecond))
	require.NoError(t, err)
	info, err := sc.Info(ctx)
	require.NoError(t, err)
	if !info.Active() {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		_, err = api.SwarmInit(ctx, dswarm.InitRequest{ListenAddr: fmt.Sprintf("127.0.0.1:%d", port), AdvertiseAddr: "127.0.0.1"})
		require.NoError(t, err)
		t.Cleanup(func() { assert.NoError(t, api.SwarmLeave(context.Background(), true)) })
	}
	runID := fmt.Sprintf("swarmrun-%d", time.Now().UnixNano())
	labels := map[string]string{dockertest.LabelKey: runID}
	left := func() int {
		svcs, err := api.ServiceList(ctx, dswarm.ServiceListOptions{Filters: filters.NewArgs(filters.Arg("label", dockertest.LabelKey+"="+runID))})
		require.NoError(t, err)
		return len(svcs)
	}
	tgt := inventory.Target{Name: "node-a"}

	t.Run("exit 0 with output", func(t *testing.T) {
		var out syncBuffer
		o, err := jobdocker.SwarmRun(sc, jobdocker.SwarmRunOptions{Image: img, Command: []string{"print", "hello", "--", "eprint", "warn"}, Labels: labels}).
			Do(job.WithOutput(ctx, &out), tgt)
		require.NoError(t, err)
		assert.True(t, o.Succeeded())
		assert.Equal(t, 0, o.ExitCode)
		assert.Contains(t, out.String(), "hello\n")
		assert.Contains(t, out.String(), "warn\n")
		assert.False(t, o.Ended.Before(o.Started))
		assert.Zero(t, left(), "removed")
	})
	t.Run("exit 3 kept", func(t *testing.T) {
		var out, stderr syncBuffer
		o, err := jobdocker.SwarmRun(sc, jobdocker.SwarmRunOptions{Image: img, Command: []string{"eprint", "failing", "--", "exit", "3"}, Labels: labels, Keep: true, Stderr: &stderr}).
			Do(job.WithOutput(ctx, &out), tgt)
		require.NoError(t, err)
		assert.Equal(t, 3, o.ExitCode)
		assert.False(t, o.Succeeded())
		assert.Equal(t, "failing\n", out.String())
		assert.Equal(t, "failing\n", stderr.String())
		svcs, err := api.ServiceList(ctx, dswarm.ServiceListOptions{Filters: filters.NewArgs(filters.Arg("label", dockertest.LabelKey+"="+runID))})
		require.NoError(t, err)
		require.Len(t, svcs, 1, "kept")
		assert.Equal(t, "true", svcs[0].Spec.Labels[jobdocker.LabelJob])
		assert.Equal(t, "node-a", svcs[0].Spec.Labels[jobdocker.LabelTarget])
		require.NoError(t, sc.RemoveJob(ctx, svcs[0].ID))
	})
	t.Run("timeout stops it", func(t *testing.T) {
		a := job.Timeout(3 * time.Second)(jobdocker.SwarmRun(sc, jobdocker.SwarmRunOptions{Image: img, Command: []string{"sleep", "forever"}, Labels: labels, StopGrace: time.Second}))
		o, err := a.Do(ctx, tgt)
		require.NoError(t, err)
		assert.True(t, o.TimedOut)
		assert.False(t, o.Succeeded())
		assert.Contains(t, o.Message, "timed out")
		assert.Zero(t, left(), "stopped and removed")
	})
	t.Run("missing image", func(t *testing.T) {
		_, err := jobdocker.SwarmRun(sc, jobdocker.SwarmRunOptions{Image: "minato-no-such-image:1", Labels: labels}).Do(ctx, tgt)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "No such image")
		assert.Zero(t, left())
	})
}
