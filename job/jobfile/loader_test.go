package jobfile_test

import (
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/job/jobfile"
	"github.com/minato-ops/minato/job/schedule"
	"github.com/minato-ops/minato/job/scheduler"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newLoader(t *testing.T, cals map[string]*schedule.Calendar) *jobfile.Loader {
	t.Helper()
	c, err := container.New(container.DefaultConfig()) // the Loader does not contact the engine
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return jobfile.NewLoader(c, jobfile.LoaderOptions{SpillDir: t.TempDir(), Calendars: cals})
}

const scheduledDef = `name: nightly
queue: batch
schedule: {cron: "0 2 * * *", timezone: UTC, calendar: business, shift: next, overlap: queue, catch_up: 2h}
units:
  - {name: a, run: {image: "app:1"}}
  - {name: b, needs: [a], host: {command: [/bin/true]}}
`

func TestLoaderEntryAndConfigured(t *testing.T) {
	cal := &schedule.Calendar{Name: "business"}
	l := newLoader(t, map[string]*schedule.Calendar{"business": cal})

	e, err := l.Entry([]byte(scheduledDef))
	require.NoError(t, err)
	assert.Equal(t, "nightly", e.Name)
	assert.Equal(t, "batch", e.Queue)
	assert.Nil(t, e.Schedule, "a submitted or recorded network runs when submitted, not on its file's schedule")
	assert.Equal(t, scheduler.OverlapAllow, e.Overlap)
	assert.Equal(t, []byte(scheduledDef), e.Definition)

	c, err := l.Configured([]byte(scheduledDef))
	require.NoError(t, err)
	require.NotNil(t, c.Schedule)
	assert.Equal(t, scheduler.OverlapQueue, c.Overlap)
	assert.Equal(t, 2*time.Hour, c.CatchUp)
	// 2026-12-05 is a Saturday: shifted to Monday's 02:00.
	assert.Equal(t, time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC), c.Schedule.Next(time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)))

	n, err := c.Build(c.Definition, "nightly@20261207T020000Z")
	require.NoError(t, err)
	assert.Len(t, n.Units, 2)
}

func TestLoaderErrors(t *testing.T) {
	l := newLoader(t, nil)
	_, err := l.Entry([]byte("name: x\nunits: [{name: a, run: {}}]\n"))
	require.ErrorContains(t, err, "units[0].run.image: required")
	_, err = l.Entry([]byte("name: x y\nunits: [{name: a, host: {command: [/bin/true]}}]\n"))
	require.ErrorContains(t, err, `name: "x y": want letters, digits`)
	_, err = l.Configured([]byte(scheduledDef))
	require.ErrorContains(t, err, `calendar "business": no such calendar (none is defined)`)
}
