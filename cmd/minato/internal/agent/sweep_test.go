package agent

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/clienttest"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/boltstore"
	"github.com/minato-ops/minato/job/scheduler"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSweepPrepared: at start, the agent removes the containers prepared
// (created, never started) for runs that will not use them: a run not in
// its store, or one that ended; a run it will resume keeps its container,
// and so does a container younger than sweepAge.
func TestSweepPrepared(t *testing.T) {
	h := dockertest.New(t)
	c := clienttest.New(t, h)
	store, err := boltstore.Open(filepath.Join(t.TempDir(), "jobs.db"), boltstore.Options{})
	require.NoError(t, err)
	defer store.Close()
	ctx := context.Background()
	now := time.Now()
	require.NoError(t, store.PutRun(ctx, scheduler.RunRecord{ID: "n@resumed", Network: "n", Created: now, Report: job.NetworkReport{Name: "n", State: job.Running}}))
	require.NoError(t, store.PutRun(ctx, scheduler.RunRecord{ID: "n@ended", Network: "n", Created: now, Ended: now, Report: job.NetworkReport{Name: "n", State: job.Succeeded}}))
	no := false
	prepared := func(run string) string {
		return h.Run(t, dockertest.RunOptions{Args: []string{"exit", "0"}, Start: &no, Labels: map[string]string{
			"minato.job": "true", "minato.network": "n", "minato.run": run, "minato.unit": "u"}}).ID
	}
	gone, ended, resumed := prepared("n@20261122T020000Z"), prepared("n@ended"), prepared("n@resumed")

	j := newJobs(Config{}, nil, c, slog.New(slog.DiscardHandler))
	j.sweepPrepared(store)
	exists := func(id string) bool {
		_, err := c.Inspect(ctx, id, container.InspectOptions{})
		if container.IsNotFound(err) {
			return false
		}
		require.NoError(t, err)
		return true
	}
	assert.True(t, exists(gone), "younger than sweepAge: maybe another process's, between create and start")

	old := sweepAge
	sweepAge = 0
	defer func() { sweepAge = old }()
	j.sweepPrepared(store)
	assert.False(t, exists(gone), "prepared for a run that is not in the store")
	assert.False(t, exists(ended), "prepared for a run that ended")
	assert.True(t, exists(resumed), "the scheduler resumes that run: it uses or releases the container")
}
