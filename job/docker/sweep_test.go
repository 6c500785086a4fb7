package docker_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/clienttest"
	"github.com/minato-ops/minato/internal/dockertest"
	jobdocker "github.com/minato-ops/minato/job/docker"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSweepPrepared: the containers prepared (created, never started) for
// runs that will not use them go: a run not recorded, or one that ended;
// a run that will be resumed keeps its container, and so does a container
// younger than MinAge or whose run cannot be looked up.
func TestSweepPrepared(t *testing.T) {
	h := dockertest.New(t)
	c := clienttest.New(t, h)
	ctx := context.Background()
	no := false
	preparedBy := func(owner, run string) string {
		labels := map[string]string{jobdocker.LabelJob: "true", jobdocker.LabelNetwork: "n", jobdocker.LabelRun: run, jobdocker.LabelUnit: "u"}
		if owner != "" {
			labels[jobdocker.LabelOwner] = owner
		}
		return h.Run(t, dockertest.RunOptions{Args: []string{"exit", "0"}, Start: &no, Labels: labels}).ID
	}
	prepared := func(run string) string { return preparedBy("me", run) }
	gone, ended, resumed, unknown := prepared("n@20261122T020000Z"), prepared("n@ended"), prepared("n@resumed"), prepared("n@unreadable")
	others, older := preparedBy("another-agent", "n@20261122T020000Z"), preparedBy("", "n@20261122T020000Z")
	keep := func(_ context.Context, run string) (bool, error) {
		switch run {
		case "n@resumed":
			return true, nil
		case "n@unreadable":
			return false, errors.New("store unreadable")
		}
		return false, nil // not recorded, or ended
	}
	exists := func(id string) bool {
		_, err := c.Inspect(ctx, id, container.InspectOptions{})
		if container.IsNotFound(err) {
			return false
		}
		require.NoError(t, err)
		return true
	}

	res, err := jobdocker.SweepPrepared(ctx, c, jobdocker.SweepOptions{Keep: keep, Owner: "me"})
	require.NoError(t, err)
	assert.NotContains(t, res.Removed, gone) // (leftovers of other runs may go)
	assert.True(t, exists(gone), "younger than a minute: maybe another process's, between create and start")

	res, err = jobdocker.SweepPrepared(ctx, c, jobdocker.SweepOptions{Keep: keep, Owner: "me", MinAge: time.Nanosecond})
	require.ErrorContains(t, err, "run n@unreadable: store unreadable")
	assert.Subset(t, res.Removed, []string{gone, ended})
	assert.NotContains(t, res.Removed, resumed)
	assert.False(t, exists(gone), "prepared for a run that is not recorded")
	assert.False(t, exists(ended), "prepared for a run that ended")
	assert.True(t, exists(resumed), "the scheduler resumes that run: it uses or releases the container")
	assert.True(t, exists(unknown), "when in doubt, keep")
	assert.True(t, exists(others), "another agent's prepared container, on the same engine, is not ours to remove")
	assert.False(t, exists(older), "one an earlier minato prepared without an owner is swept")

	_, err = jobdocker.SweepPrepared(ctx, c, jobdocker.SweepOptions{})
	require.ErrorContains(t, err, "Keep is required")
}
