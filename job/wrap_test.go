package job_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var tgt = inventory.Target{Kind: inventory.KindContainer, ID: "0e0d8cdf3a57aaaa", Name: "web-1"}

// blocking is an action that honours ctx: it waits for ctx to end.
var blocking = job.ActionFunc(func(ctx context.Context, _ inventory.Target) (job.Outcome, error) {
	<-ctx.Done()
	return job.Outcome{}, ctx.Err()
})

// codes returns an action that returns the given exit codes in turn (the
// last one from then on) and records when each attempt started.
func codes(calls *[]time.Duration, start time.Time, cs ...int) job.Action {
	return job.ActionFunc(func(ctx context.Context, _ inventory.Target) (job.Outcome, error) {
		*calls = append(*calls, time.Since(start))
		c := cs[min(len(*calls), len(cs))-1]
		return job.Outcome{ExitCode: c}, nil
	})
}

func TestChainOrder(t *testing.T) {
	var trace []string
	w := func(name string) job.Wrapper {
		return func(a job.Action) job.Action {
			return job.ActionFunc(func(ctx context.Context, t inventory.Target) (job.Outcome, error) {
				trace = append(trace, name+" in")
				defer func() { trace = append(trace, name+" out") }()
				return a.Do(ctx, t)
			})
		}
	}
	a := job.ActionFunc(func(context.Context, inventory.Target) (job.Outcome, error) {
		trace = append(trace, "action")
		return job.Outcome{}, nil
	})
	_, err := job.Chain(a, w("w1"), nil, w("w2")).Do(context.Background(), tgt)
	require.NoError(t, err)
	assert.Equal(t, []string{"w1 in", "w2 in", "action", "w2 out", "w1 out"}, trace)
}

type named struct{ job.ActionFunc }

func TestTimeout(t *testing.T) {
	t.Run("honouring ctx", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			start := time.Now()
			out, err := job.Timeout(3*time.Second)(blocking).Do(context.Background(), tgt)
			require.NoError(t, err, "a timeout is an outcome")
			assert.True(t, out.TimedOut)
			assert.False(t, out.Succeeded())
			assert.Equal(t, "timed out after 3s", out.Message)
			assert.Equal(t, 3*time.Second, time.Since(start), "returns at the deadline")
		})
	})
	t.Run("returns late without error", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			late := job.ActionFunc(func(context.Context, inventory.Target) (job.Outcome, error) {
				time.Sleep(2 * time.Second)
				return job.Outcome{ExitCode: 137}, nil
			})
			out, err := job.Timeout(time.Second)(late).Do(context.Background(), tgt)
			require.NoError(t, err)
			assert.True(t, out.TimedOut)
			assert.Equal(t, 137, out.ExitCode, "the exit code is kept")
		})
	})
	t.Run("in time", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			quick := job.ActionFunc(func(context.Context, inventory.Target) (job.Outcome, error) {
				time.Sleep(999 * time.Millisecond)
				return job.Outcome{}, nil
			})
			out, err := job.Timeout(time.Second)(quick).Do(context.Background(), tgt)
			require.NoError(t, err)
			assert.False(t, out.TimedOut)
			assert.True(t, out.Succeeded())
		})
	})
	t.Run("caller's cancellation is not a timeout", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			out, err := job.Timeout(time.Hour)(blocking).Do(ctx, tgt)
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			assert.False(t, out.TimedOut)
		})
	})
	t.Run("d <= 0 is a no-op", func(t *testing.T) {
		a := &named{}
		assert.Same(t, a, job.Timeout(0)(a))
		assert.Same(t, a, job.Timeout(-time.Second)(a))
	})
}

func TestRetryLimit(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls []time.Duration
		out, err := job.Retry(job.RetryPolicy{Limit: 3})(codes(&calls, time.Now(), 1)).Do(context.Background(), tgt)
		require.NoError(t, err)
		assert.Len(t, calls, 4)
		assert.Equal(t, 4, out.Attempts)
		assert.Equal(t, 1, out.ExitCode)
		assert.False(t, out.Succeeded())
	})
}

func TestRetryNotNeeded(t *testing.T) {
	var calls []time.Duration
	out, err := job.Retry(job.RetryPolicy{Limit: 3})(codes(&calls, time.Now(), 0)).Do(context.Background(), tgt)
	require.NoError(t, err)
	assert.Equal(t, 1, out.Attempts)
	assert.False(t, out.Started.IsZero())

	skip := job.ActionFunc(func(context.Context, inventory.Target) (job.Outcome, error) {
		calls = append(calls, 0)
		return job.Outcome{Skipped: true, Message: "running"}, nil
	})
	calls = nil
	out, err = job.Retry(job.RetryPolicy{Limit: 3})(skip).Do(context.Background(), tgt)
	require.NoError(t, err)
	assert.Len(t, calls, 1, "a skip is not retried")
	assert.True(t, out.Skipped)
}

func TestRetryDelays(t *testing.T) {
	for _, tc := range []struct {
		name string
		p    job.RetryPolicy
		want []time.Duration
	}{
		{"immediate", job.RetryPolicy{Limit: 2}, []time.Duration{0, 0, 0}},
		{"constant", job.RetryPolicy{Limit: 3, Delay: 10 * time.Second}, []time.Duration{0, 10 * time.Second, 20 * time.Second, 30 * time.Second}},
		{"backoff 1 is constant", job.RetryPolicy{Limit: 2, Delay: 5 * time.Second, Backoff: 1}, []time.Duration{0, 5 * time.Second, 10 * time.Second}},
		{"exponential", job.RetryPolicy{Limit: 4, Delay: time.Second, Backoff: 2},
			[]time.Duration{0, 1 * time.Second, 3 * time.Second, 7 * time.Second, 15 * time.Second}},
		{"exponential capped", job.RetryPolicy{Limit: 5, Delay: time.Second, Backoff: 2, MaxDelay: 5 * time.Second},
			[]time.Duration{0, 1 * time.Second, 3 * time.Second, 7 * time.Second, 12 * time.Second, 17 * time.Second}},
		{"kubernetes 10s x2 capped at 6m", job.RetryPolicy{Limit: 7, Delay: 10 * time.Second, Backoff: 2, MaxDelay: 6 * time.Minute},
			[]time.Duration{0, 10 * time.Second, 30 * time.Second, 70 * time.Second, 150 * time.Second, 310 * time.Second, 630 * time.Second, 990 * time.Second}},
		{"huge backoff saturates", job.RetryPolicy{Limit: 3, Delay: time.Hour, Backoff: 1e6, MaxDelay: 2 * time.Hour},
			[]time.Duration{0, time.Hour, 3 * time.Hour, 5 * time.Hour}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var calls []time.Duration
				start := time.Now()
				out, err := job.Retry(tc.p)(codes(&calls, start, 1)).Do(context.Background(), tgt)
				require.NoError(t, err)
				assert.Equal(t, tc.want, calls)
				assert.Equal(t, len(tc.want), out.Attempts)
				assert.Equal(t, start, out.Started, "Started is the first attempt's start")
			})
		})
	}
}

func TestRetryDecisions(t *testing.T) {
	p := job.RetryPolicy{
		Limit:   5,
		OnExit:  map[int]job.Decision{2: job.DecideFail, 3: job.DecideIgnore, 4: job.DecideRetry},
		Default: job.DecideFail,
	}
	for _, tc := range []struct {
		name     string
		p        job.RetryPolicy
		codes    []int
		attempts int
		code     int
		ignored  bool
	}{
		{"retry then ignore", p, []int{4, 4, 3}, 3, 3, true},
		{"retry then fail", p, []int{4, 2}, 2, 2, false},
		{"retry then success", p, []int{4, 0}, 2, 0, false},
		{"default fail", p, []int{5}, 1, 5, false},
		{"default empty retries", job.RetryPolicy{Limit: 2, OnExit: map[int]job.Decision{2: job.DecideFail}}, []int{5, 5, 5}, 3, 5, false},
		{"default ignore", job.RetryPolicy{Limit: 2, Default: job.DecideIgnore}, []int{5}, 1, 5, true},
		{"retry decision bounded by limit", p, []int{4}, 6, 4, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls []time.Duration
			out, err := job.Retry(tc.p)(codes(&calls, time.Now(), tc.codes...)).Do(context.Background(), tgt)
			require.NoError(t, err)
			assert.Equal(t, tc.attempts, out.Attempts)
			assert.Len(t, calls, tc.attempts)
			assert.Equal(t, tc.code, out.ExitCode, "the exit code is reported as is")
			assert.Equal(t, tc.ignored, out.Ignored)
			assert.Equal(t, tc.code == 0 || tc.ignored, out.Succeeded())
			assert.Equal(t, !out.Succeeded(), job.Result{Outcome: out}.Failed())
			if tc.ignored {
				assert.Equal(t, "Success", job.Result{Outcome: out}.Verdict())
			}
		})
	}
}

func TestRetryErrors(t *testing.T) {
	boom := errors.New("engine unreachable")
	flaky := func(n *int) job.Action {
		return job.ActionFunc(func(context.Context, inventory.Target) (job.Outcome, error) {
			*n++
			if *n < 3 {
				return job.Outcome{}, boom
			}
			return job.Outcome{}, nil
		})
	}
	var n int
	out, err := job.Retry(job.RetryPolicy{Limit: 5})(flaky(&n)).Do(context.Background(), tgt)
	assert.ErrorIs(t, err, boom, "an error fails at once by default")
	assert.Equal(t, 1, n)
	assert.Equal(t, 1, out.Attempts)

	n = 0
	out, err = job.Retry(job.RetryPolicy{Limit: 5, RetryErrors: true})(flaky(&n)).Do(context.Background(), tgt)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	assert.Equal(t, 3, out.Attempts)

	n = 0
	out, err = job.Retry(job.RetryPolicy{Limit: 1, RetryErrors: true})(flaky(&n)).Do(context.Background(), tgt)
	assert.ErrorIs(t, err, boom, "the last attempt's error")
	assert.Equal(t, 2, out.Attempts)
}

func TestRetryCancelledDuringDelay(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		go func() {
			time.Sleep(10 * time.Second)
			cancel()
		}()
		var calls []time.Duration
		start := time.Now()
		out, err := job.Retry(job.RetryPolicy{Limit: 5, Delay: time.Hour})(codes(&calls, start, 1)).Do(ctx, tgt)
		require.NoError(t, err, "the last attempt's result")
		assert.Equal(t, 10*time.Second, time.Since(start), "the delay honours ctx")
		assert.Equal(t, 1, out.Attempts)
		assert.Equal(t, 1, out.ExitCode)
	})
}

func TestRetryTimedOutAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		a := job.Chain(blocking, job.Retry(job.RetryPolicy{Limit: 2, Delay: time.Second}), job.Timeout(5*time.Second))
		out, err := a.Do(context.Background(), tgt)
		require.NoError(t, err)
		assert.True(t, out.TimedOut)
		assert.Equal(t, 3, out.Attempts)
		assert.Equal(t, 17*time.Second, time.Since(start), "3 attempts of 5s, 2 delays of 1s")
		assert.Equal(t, "Failed: timed out after 5s", job.Result{Outcome: out}.Verdict())
	})
}

func TestRetryPolicyValidate(t *testing.T) {
	assert.NoError(t, job.RetryPolicy{}.Validate())
	assert.NoError(t, job.RetryPolicy{Limit: 6, Delay: 10 * time.Second, Backoff: 2, MaxDelay: 6 * time.Minute,
		OnExit: map[int]job.Decision{1: job.DecideFail, 2: job.DecideIgnore, 3: job.DecideRetry}, Default: job.DecideFail}.Validate())
	err := job.RetryPolicy{
		Limit: -1, Delay: -time.Second, Backoff: 0.5, MaxDelay: -time.Minute,
		OnExit:  map[int]job.Decision{0: job.DecideRetry, 7: "again"},
		Default: "maybe",
	}.Validate()
	require.Error(t, err)
	for _, want := range []string{
		"limit: must not be negative, got -1",
		"delay: must not be negative, got -1s",
		"backoff: must be 0 or at least 1, got 0.5",
		"max_delay: must not be negative, got -1m0s",
		"on_exit[0]: exit code 0 is success",
		`on_exit[7]: unknown decision "again"`,
		`default: unknown decision "maybe"`,
	} {
		assert.ErrorContains(t, err, want)
	}
	assert.ErrorContains(t, job.RetryPolicy{Backoff: -1}.Validate(), "backoff")
}

func TestSkipIfRunning(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var mu sync.Mutex
		runs := map[string]int{}
		a := job.ActionFunc(func(ctx context.Context, t inventory.Target) (job.Outcome, error) {
			mu.Lock()
			runs[t.Name]++
			mu.Unlock()
			if t.Name == "web-1" {
				<-release
			}
			return job.Outcome{}, nil
		})
		w := job.SkipIfRunning()(a)
		other := job.SkipIfRunning()(a)
		first := make(chan job.Outcome)
		go func() {
			out, _ := w.Do(context.Background(), tgt)
			first <- out
		}()
		synctest.Wait() // the first Do is blocked in the action

		out, err := w.Do(context.Background(), tgt)
		require.NoError(t, err)
		assert.True(t, out.Skipped)
		assert.Equal(t, "still running", out.Message)

		web2 := tgt
		web2.ID, web2.Name = "1eae26f41927bbbb", "web-2"
		out, err = w.Do(context.Background(), web2)
		require.NoError(t, err)
		assert.False(t, out.Skipped, "another Target runs")

		var wg sync.WaitGroup
		wg.Go(func() { _, _ = other.Do(context.Background(), tgt) })
		synctest.Wait()
		mu.Lock()
		assert.Equal(t, 2, runs["web-1"], "another wrapped Action has its own record")
		mu.Unlock()

		close(release)
		assert.False(t, (<-first).Skipped)
		wg.Wait()
		out, err = w.Do(context.Background(), tgt)
		require.NoError(t, err)
		assert.False(t, out.Skipped, "runs again once the previous Do returned")
		assert.Equal(t, 3, runs["web-1"])
	})
}

func TestOutputContext(t *testing.T) {
	assert.Equal(t, io.Discard, job.Output(context.Background()), "io.Discard when none")
	assert.Equal(t, io.Discard, job.Output(job.WithOutput(context.Background(), nil)))
	var b strings.Builder
	ctx := job.WithOutput(context.Background(), &b)
	_, _ = io.WriteString(job.Output(ctx), "hello")
	assert.Equal(t, "hello", b.String())
}
