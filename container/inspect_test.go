package container_test

import (
	"context"
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestInspectRunning(t *testing.T) {
	c, srv := newFake(t, basicDir)
	r, err := c.Inspect(context.Background(), "web-1", container.InspectOptions{})
	require.NoError(t, err)
	assert.Equal(t, url.Values{}, only(t, srv, "GET", "/containers/web-1/json").Query)

	raw := r.Raw
	r.Raw = nil
	twenty := 20
	assert.Equal(t, container.InspectResult{
		ID:           idWeb1,
		Name:         "web-1",
		Image:        "nginx:1.27",
		ImageID:      "sha256:3b25b682ea82b2db3cc4fd48db818be788ee3f902ac7378090cf2624ec2442df",
		Created:      time.Date(2025, 1, 1, 12, 0, 0, 123456789, time.UTC),
		State:        container.Running,
		Pid:          24817,
		StartedAt:    time.Date(2025, 1, 1, 12, 0, 1, 5e8, time.UTC),
		Health:       "healthy",
		Labels:       map[string]string{"app": "web", "tier": "front", "com.example.owner": "ops"},
		Cmd:          []string{"nginx", "-g", "daemon off;"},
		Entrypoint:   []string{"/docker-entrypoint.sh"},
		StopTimeout:  &twenty,
		MemoryLimit:  256 << 20,
		NanoCPUs:     1_500_000_000,
		PidsLimit:    256,
		ExitCode:     0,
		RestartCount: 0,
	}, r)
	assert.True(t, r.FinishedAt.IsZero(), "the engine's 0001-01-01 is the zero time")
	assert.True(t, json.Valid(raw), "Raw is the engine's document")
	assert.Contains(t, string(raw), `"SECRET_TOKEN=do-not-log"`, "Raw is verbatim (hence: do not log it)")
	assert.Equal(t, inventory.Target{Kind: inventory.KindContainer, ID: idWeb1, Name: "web-1", Engine: "e", Labels: r.Labels}, r.Target("e"))
}

func TestInspectExitedByShortID(t *testing.T) {
	c, srv := newFake(t, basicDir)
	r, err := c.Inspect(context.Background(), idWeb2[:12], container.InspectOptions{Size: true})
	require.NoError(t, err)
	assert.Equal(t, url.Values{"size": {"1"}}, only(t, srv, "GET", "/containers/"+idWeb2[:12]+"/json").Query)
	assert.Equal(t, idWeb2, r.ID)
	assert.Equal(t, "web-2", r.Name)
	assert.Equal(t, container.Exited, r.State)
	assert.Equal(t, 0, r.Pid)
	assert.Equal(t, 137, r.ExitCode)
	assert.True(t, r.OOMKilled)
	assert.Equal(t, "unhealthy", r.Health)
	assert.Equal(t, 3, r.RestartCount)
	assert.Equal(t, time.Date(2025, 1, 1, 13, 10, 0, 25e7, time.UTC), r.StartedAt)
	assert.Equal(t, time.Date(2025, 1, 1, 13, 20, 0, 75e7, time.UTC), r.FinishedAt)
	assert.Equal(t, int64(64<<20), r.MemoryLimit)
	assert.Zero(t, r.NanoCPUs)
	assert.Zero(t, r.PidsLimit, "null PidsLimit")
	assert.Nil(t, r.StopTimeout)
}

func TestInspectWithoutHealthCheck(t *testing.T) {
	c, _ := newFake(t, basicDir)
	r, err := c.Inspect(context.Background(), idDB, container.InspectOptions{})
	require.NoError(t, err)
	assert.Empty(t, r.Health)
	assert.Equal(t, "db", r.Name)
	assert.Zero(t, r.MemoryLimit)
}

func TestInspectNotFound(t *testing.T) {
	c, _ := newFake(t, basicDir)
	_, err := c.Inspect(context.Background(), "nope", container.InspectOptions{})
	require.Error(t, err)
	assert.True(t, container.IsNotFound(err), "%v", err)
	assert.False(t, container.IsConflict(err))
	assert.NotErrorIs(t, err, container.ErrUnreachable)
	assert.ErrorContains(t, err, "inspect nope: ")
	assert.ErrorContains(t, err, "No such container: nope")
}

func TestInspectNotFoundShortensLongIDs(t *testing.T) {
	c, _ := newFake(t, basicDir)
	missing := "d4d669aa8ec113108dff150fcfea81cba6a5f5f1247ea20d01c6ab125d8b3b39"
	_, err := c.Inspect(context.Background(), missing, container.InspectOptions{})
	assert.True(t, container.IsNotFound(err))
	assert.ErrorContains(t, err, "inspect d4d669aa8ec1: ")
}

func TestTop(t *testing.T) {
	c, srv := newFake(t, basicDir)
	r, err := c.Top(context.Background(), "web-1", container.TopOptions{})
	require.NoError(t, err)
	assert.Equal(t, url.Values{}, only(t, srv, "GET", "/containers/web-1/top").Query)
	assert.Equal(t, []string{"UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"}, r.Titles)
	require.Len(t, r.Processes, 3)
	assert.Equal(t, 1, r.Column("pid"))
	assert.Equal(t, 7, r.Column("CMD"))
	assert.Equal(t, -1, r.Column("%CPU"))
	assert.Equal(t, "24817", r.Processes[0][r.Column("PID")])
	assert.Equal(t, "nginx: worker process", r.Processes[2][r.Column("cmd")])
}

func TestTopPSArgs(t *testing.T) {
	c, srv := newFake(t, basicDir)
	_, err := c.Top(context.Background(), idWeb1, container.TopOptions{PSArgs: "-o pid,comm"})
	require.NoError(t, err)
	assert.Equal(t, url.Values{"ps_args": {"-o pid,comm"}}, only(t, srv, "GET", "/containers/"+idWeb1+"/top").Query)
}

func TestTopNotRunningIsConflict(t *testing.T) {
	c, _ := newFake(t, basicDir)
	_, err := c.Top(context.Background(), "web-2", container.TopOptions{})
	assert.True(t, container.IsConflict(err), "%v", err)
	_, err = c.Top(context.Background(), "gone", container.TopOptions{})
	assert.True(t, container.IsNotFound(err), "%v", err)
}
