package job_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
	"github.com/stretchr/testify/assert"
)

func targets(names ...string) []inventory.Target {
	ts := make([]inventory.Target, len(names))
	for i, n := range names {
		ts[i] = inventory.Target{Kind: inventory.KindContainer, ID: n + "0000000000000000", Name: n}
	}
	return ts
}

func TestExitCodes(t *testing.T) {
	ok := job.Result{Outcome: job.Outcome{}}
	skip := job.Result{Outcome: job.Outcome{Skipped: true, Message: "running"}}
	bad := job.Result{Outcome: job.Outcome{ExitCode: 3}}
	errd := job.Result{Err: errors.New("gone")}
	assert.Equal(t, 0, job.Report{}.ExitCode(), "nothing to do is success")
	assert.Equal(t, 0, job.Report{Results: []job.Result{ok, skip}}.ExitCode())
	assert.Equal(t, 9, job.Report{Results: []job.Result{ok, bad}}.ExitCode())
	assert.Equal(t, 9, job.Report{Results: []job.Result{skip, errd}}.ExitCode())
	assert.Equal(t, 1, job.Failed(errors.New("unreachable")).ExitCode())

	assert.Equal(t, "Success", ok.Verdict())
	assert.Equal(t, "Skipped (running)", skip.Verdict())
	assert.Equal(t, "Failed: exit code 3", bad.Verdict())
	assert.Equal(t, "Failed: gone", errd.Verdict())
	assert.Equal(t, "Failed: refused", job.Result{Outcome: job.Outcome{ExitCode: 1, Message: "refused"}}.Verdict())
}

func TestRunKeepsOrderAndBoundsConcurrency(t *testing.T) {
	var cur, peak atomic.Int32
	a := job.ActionFunc(func(ctx context.Context, tg inventory.Target) (job.Outcome, error) {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(20 * time.Millisecond)
		cur.Add(-1)
		if tg.Name == "c" {
			return job.Outcome{ExitCode: 2}, nil
		}
		return job.Outcome{}, nil
	})
	ts := targets("a", "b", "c", "d", "e", "f")
	rep := job.Run(context.Background(), a, ts, job.RunOptions{Concurrency: 3})
	assert.Equal(t, int32(3), peak.Load())
	for i, r := range rep.Results {
		assert.Equal(t, ts[i], r.Target)
		assert.False(t, r.Outcome.Started.IsZero())
		assert.False(t, r.Outcome.Ended.Before(r.Outcome.Started))
	}
	assert.True(t, rep.Results[2].Failed())
	assert.Equal(t, 9, rep.ExitCode())
}

func TestRunSequentialStopOnFailure(t *testing.T) {
	var calls []string
	a := job.ActionFunc(func(ctx context.Context, tg inventory.Target) (job.Outcome, error) {
		calls = append(calls, tg.Name)
		if tg.Name == "b" {
			return job.Outcome{}, errors.New("boom")
		}
		return job.Outcome{}, nil
	})
	rep := job.Run(context.Background(), a, targets("a", "b", "c"), job.RunOptions{StopOnFailure: true})
	assert.Equal(t, []string{"a", "b"}, calls)
	assert.ErrorIs(t, rep.Results[2].Err, job.ErrNotRun)
	assert.ErrorContains(t, rep.Errors(), "boom")
}

func TestRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	a := job.ActionFunc(func(ctx context.Context, tg inventory.Target) (job.Outcome, error) {
		cancel()
		return job.Outcome{}, nil
	})
	rep := job.Run(ctx, a, targets("a", "b"), job.RunOptions{})
	assert.NoError(t, rep.Results[0].Err)
	assert.ErrorIs(t, rep.Results[1].Err, job.ErrNotRun)
	assert.ErrorIs(t, rep.Results[1].Err, context.Canceled)
	assert.Equal(t, 9, rep.ExitCode())
}
