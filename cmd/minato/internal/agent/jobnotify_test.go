package agent

import (
	"log/slog"
	"testing"
	"time"

	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/scheduler"
	"github.com/minato-ops/minato/monitor"
	"github.com/stretchr/testify/assert"
)

// TestJobOutcomeNotifications: a network's run outcomes are notified when
// they change, as monitor statuses are: nothing for the first success, a
// failure is CRITICAL once however often it repeats, a cancellation
// WARNING, the next success OK; overlap skips change nothing.
func TestJobOutcomeNotifications(t *testing.T) {
	j := &jobs{log: slog.New(slog.DiscardHandler), ended: map[[2]string]uint64{}, last: map[string]job.UnitState{}}
	var got []string
	j.notify = func(ev monitor.Evaluation) {
		assert.Equal(t, "jobnet", ev.Check)
		assert.Equal(t, "nightly", ev.Target.Name)
		assert.Equal(t, ev.Status, ev.Result.Status)
		got = append(got, ev.Status.String()+" "+ev.Message)
	}
	end := time.Date(2026, 11, 22, 3, 0, 0, 0, time.UTC)
	run := func(id string, st job.UnitState, units ...job.UnitReport) {
		j.runEnded(scheduler.RunRecord{ID: id, Network: "nightly", Ended: end, Report: job.NetworkReport{Name: "nightly", State: st, Units: units}})
	}
	run("r1", job.Succeeded)
	run("r2", job.StateFailed, job.UnitReport{Name: "load", State: job.StateFailed, ExitCode: 3, Message: "bad row\nmore"}, job.UnitReport{Name: "extract", State: job.Succeeded})
	run("r3", job.StateFailed, job.UnitReport{Name: "load", State: job.StateFailed, ExitCode: 3})
	run("r4", job.Skipped)
	run("r5", job.Succeeded)
	run("r6", job.Cancelled)
	run("r7", job.Succeeded)
	assert.Equal(t, []string{
		"CRITICAL run r2 failed; load failed exit=3: bad row …",
		"OK run r5 succeeded",
		"WARNING run r6 cancelled",
		"OK run r7 succeeded",
	}, got)
	assert.Equal(t, uint64(2), j.endedCounts()[[2]string{"nightly", "failed"}], "every run counts in the metrics")
}
