package app_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/container/app"
	"github.com/minato-ops/minato/container/swarm"
	"github.com/minato-ops/minato/internal/dockerdtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestServiceSpecMapping: a declaration maps to the Swarm service that
// runs it, and what a service cannot express is refused by field.
func TestServiceSpecMapping(t *testing.T) {
	specs, err := app.Parse([]byte(`
name: web
image: shop/web:1.5
replicas: 3
backend: swarm
command: [serve]
env: {MODE: prod}
ports: ["8080:80", "9090/udp"]
mounts: [{type: volume, source: data, target: /data, read_only: true}]
resources: {cpus: 0.5, memory: 256Mi}
restart: on-failure:3
healthcheck: {test: [CMD, /bin/check], interval: 2s, retries: 2}
labels: {team: shop}
update: {batch: 2, order: start-first, timeout: 30s}
`), ".")
	require.NoError(t, err)
	ss, err := specs[0].ServiceSpec()
	require.NoError(t, err)
	assert.Equal(t, "web", ss.Name)
	assert.Equal(t, 3, ss.Replicas)
	assert.Equal(t, []string{"serve"}, ss.Command)
	assert.Equal(t, map[string]string{"MODE": "prod"}, ss.Env)
	assert.Equal(t, []string{"8080:80/tcp", "9090/udp"}, ss.Ports)
	assert.Equal(t, []string{"data:/data:ro"}, ss.Mounts)
	assert.Equal(t, swarm.Resources{CPUs: 0.5, Memory: 256 << 20}, ss.Resources)
	assert.Equal(t, "on-failure:3", ss.Restart)
	require.NotNil(t, ss.Healthcheck)
	assert.Equal(t, 2*time.Second, ss.Healthcheck.Interval)
	assert.Equal(t, swarm.UpdatePolicy{Order: "start-first", Batch: 2, Timeout: 30 * time.Second, FailureAction: "rollback"}, ss.Update)

	bad, err := app.Parse([]byte(`
name: api
image: shop/api:1
backend: swarm
entrypoint: [/bin/sh]
ports: ["127.0.0.1:8080:80"]
mounts: [{type: tmpfs, target: /tmp}]
`), ".")
	require.NoError(t, err)
	_, err = bad[0].ServiceSpec()
	require.Error(t, err)
	for _, want := range []string{"entrypoint", "ports[0]", "host IP 127.0.0.1", "mounts[0]: type tmpfs"} {
		assert.Contains(t, err.Error(), want)
	}
}

// TestApplySwarm: the same declaration, with backend swarm, runs as a
// Swarm service on a one-node swarm (a second engine of the test's own):
// created and converged, unchanged when applied again, updated when the
// environment changes.
func TestApplySwarm(t *testing.T) {
	d := dockerdtest.Get(t)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	d.InitSwarm(t)
	cc, err := container.New(container.Config{Host: d.Host})
	require.NoError(t, err)
	defer cc.Close()
	sc, err := swarm.New(cc, swarm.WithPollInterval(200*time.Millisecond))
	require.NoError(t, err)
	decl := func(mode string) []app.Spec {
		specs, err := app.Parse([]byte(fmt.Sprintf("apps:\n  - name: swarm-web\n    image: %s\n    backend: swarm\n    replicas: 2\n    command: [sleep, forever]\n    env: {MODE: %s}\n  - name: engine-only\n    image: %s\n", d.Image, mode, d.Image)), ".")
		require.NoError(t, err)
		return specs
	}
	res, err := app.ApplySwarm(ctx, sc, decl("a"), "")
	require.NoError(t, err)
	require.Len(t, res, 1, "the engine-backend app is not the Swarm path's")
	assert.Equal(t, swarm.Created, res[0].Action)
	st, err := sc.Status(ctx, "swarm-web")
	require.NoError(t, err)
	assert.Equal(t, 2, st.Running)

	res, err = app.ApplySwarm(ctx, sc, decl("a"), "")
	require.NoError(t, err)
	assert.Equal(t, swarm.Unchanged, res[0].Action)

	res, err = app.ApplySwarm(ctx, sc, decl("b"), "")
	require.NoError(t, err)
	assert.Equal(t, swarm.Updated, res[0].Action)
	st, err = sc.Status(ctx, "swarm-web")
	require.NoError(t, err)
	assert.Equal(t, 2, st.Running)
	assert.True(t, st.Converged, "%+v", st)
	_, err = sc.Delete(ctx, "swarm-web")
	require.NoError(t, err)
	assert.False(t, strings.Contains(fmt.Sprint(st.LastError), "rollback"))
}
