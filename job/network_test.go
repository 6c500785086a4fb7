package job_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/jobtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorder builds actions that record the order units ran in.
type recorder struct {
	mu  sync.Mutex
	ran []string
}

func (r *recorder) exit(name string, code int) job.Action {
	return job.ActionFunc(func(context.Context, inventory.Target) (job.Outcome, error) {
		r.mu.Lock()
		r.ran = append(r.ran, name)
		r.mu.Unlock()
		return job.Outcome{ExitCode: code}, nil
	})
}

func (r *recorder) order() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.ran...)
}

func states(rep job.NetworkReport) map[string]job.UnitState {
	m := map[string]job.UnitState{}
	for _, u := range rep.Units {
		m[u.Name] = u.State
	}
	return m
}

func unit(t *testing.T, rep job.NetworkReport, name string) job.UnitReport {
	t.Helper()
	u, ok := rep.Unit(name)
	require.True(t, ok, name)
	return u
}

func TestNetworkLinear(t *testing.T) {
	var r recorder
	n := &job.Network{Name: "nightly", Units: []job.Unit{
		{Name: "c", Action: r.exit("c", 0), Needs: []string{"b"}},
		{Name: "a", Action: r.exit("a", 0)},
		{Name: "b", Action: r.exit("b", 0), Needs: []string{"a"}},
	}}
	rep, err := jobtest.RunNetwork(context.Background(), n, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b", "c"}, r.order())
	assert.Equal(t, "nightly", rep.Name)
	assert.Equal(t, job.Succeeded, rep.State)
	assert.Equal(t, 0, rep.ExitCode())
	assert.Equal(t, []string{"c", "a", "b"}, []string{rep.Units[0].Name, rep.Units[1].Name, rep.Units[2].Name}, "definition order")
	for _, u := range rep.Units {
		assert.Equal(t, job.Succeeded, u.State)
		assert.Equal(t, 1, u.Attempts)
		assert.False(t, u.Started.IsZero())
		assert.False(t, u.Ended.Before(u.Started))
		assert.Empty(t, u.OutputFile)
	}
	assert.False(t, unit(t, rep, "b").Started.Before(unit(t, rep, "a").Ended), "b starts after a ended")
}

func TestNetworkFailureBranches(t *testing.T) {
	var r recorder
	n := &job.Network{Name: "backup", Units: []job.Unit{
		{Name: "dump", Action: r.exit("dump", 2)},
		{Name: "upload", Action: r.exit("upload", 0), Needs: []string{"dump"}},
		{Name: "alert", Action: r.exit("alert", 0), Needs: []string{"dump"}, When: job.When{On: job.WhenFailure}},
		{Name: "cleanup", Action: r.exit("cleanup", 0), Needs: []string{"upload"}, When: job.When{On: job.WhenAlways}},
		{Name: "verify", Action: r.exit("verify", 0), Needs: []string{"upload"}},
		{Name: "report", Action: r.exit("report", 0), Needs: []string{"verify"}},
		{Name: "page", Action: r.exit("page", 0), Needs: []string{"upload"}, When: job.When{On: job.WhenFailure}},
	}}
	rep, err := jobtest.RunNetwork(context.Background(), n, nil)
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{"dump", "alert", "cleanup"}, r.order())
	assert.Equal(t, map[string]job.UnitState{
		"dump": job.StateFailed, "upload": job.Skipped, "alert": job.Succeeded,
		"cleanup": job.Succeeded, "verify": job.Skipped, "report": job.Skipped, "page": job.Skipped,
	}, states(rep))
	assert.Equal(t, 2, unit(t, rep, "dump").ExitCode)
	assert.Equal(t, "condition success not met: dump failed", unit(t, rep, "upload").Message)
	assert.Equal(t, "condition success not met: upload skipped", unit(t, rep, "verify").Message)
	assert.Equal(t, "condition success not met: verify skipped", unit(t, rep, "report").Message, "skips propagate")
	assert.Equal(t, "condition failure not met: no need failed or timed out", unit(t, rep, "page").Message)
	assert.Zero(t, unit(t, rep, "upload").Attempts)
	assert.Zero(t, unit(t, rep, "upload").Duration())
	assert.Equal(t, job.StateFailed, rep.State, "a handled failure still fails the network")
	assert.Equal(t, 9, rep.ExitCode())
}

func TestNetworkFailureNeedsOneFailed(t *testing.T) {
	var r recorder
	n := &job.Network{Units: []job.Unit{
		{Name: "a", Action: r.exit("a", 0)},
		{Name: "b", Action: r.exit("b", 1)},
		{Name: "on-fail", Action: r.exit("on-fail", 0), Needs: []string{"a", "b"}, When: job.When{On: job.WhenFailure}},
		{Name: "on-ok", Action: r.exit("on-ok", 0), Needs: []string{"a", "b"}},
	}}
	rep, err := jobtest.RunNetwork(context.Background(), n, nil)
	require.NoError(t, err)
	assert.Equal(t, job.Succeeded, unit(t, rep, "on-fail").State)
	assert.Equal(t, job.Skipped, unit(t, rep, "on-ok").State)
	assert.Equal(t, "condition success not met: b failed", unit(t, rep, "on-ok").Message)
}

func TestNetworkExitCodeConditions(t *testing.T) {
	var r recorder
	boom := job.ActionFunc(func(context.Context, inventory.Target) (job.Outcome, error) {
		return job.Outcome{}, errors.New("engine unreachable")
	})
	n := &job.Network{Units: []job.Unit{
		{Name: "probe", Action: r.exit("probe", 3)},
		{Name: "ok", Action: r.exit("ok", 0)},
		{Name: "err", Action: boom},
		{Name: "on-3", Action: r.exit("on-3", 0), Needs: []string{"probe", "ok"}, When: job.When{Codes: []int{0, 3}}},
		{Name: "on-0", Action: r.exit("on-0", 0), Needs: []string{"probe", "ok"}, When: job.When{On: job.WhenExit, Codes: []int{0}}},
		{Name: "on-err", Action: r.exit("on-err", 0), Needs: []string{"err"}, When: job.When{Codes: []int{-1, 0, 1}}},
		{Name: "on-skip", Action: r.exit("on-skip", 0), Needs: []string{"on-0"}, When: job.When{Codes: []int{0}}},
	}}
	rep, err := jobtest.RunNetwork(context.Background(), n, nil)
	require.NoError(t, err)
	assert.Equal(t, job.Succeeded, unit(t, rep, "on-3").State)
	assert.Equal(t, job.Skipped, unit(t, rep, "on-0").State)
	assert.Equal(t, "condition exit codes [0] not met: probe exited 3", unit(t, rep, "on-0").Message)
	e := unit(t, rep, "err")
	assert.Equal(t, job.StateFailed, e.State)
	assert.Equal(t, "engine unreachable", e.Message)
	assert.Equal(t, -1, e.ExitCode, "an error has no exit code")
	assert.Equal(t, "condition exit codes [-1 0 1] not met: err failed without an exit code", unit(t, rep, "on-err").Message)
	assert.Equal(t, "condition exit codes [0] not met: on-0 skipped", unit(t, rep, "on-skip").Message)
}

func TestNetworkIgnoredExitCodeSucceeds(t *testing.T) {
	var r recorder
	n := &job.Network{Units: []job.Unit{
		{Name: "grep", Action: r.exit("grep", 1), Retry: &job.RetryPolicy{OnExit: map[int]job.Decision{1: job.DecideIgnore}}},
		{Name: "next", Action: r.exit("next", 0), Needs: []string{"grep"}},
	}}
	rep, err := jobtest.RunNetwork(context.Background(), n, nil)
	require.NoError(t, err)
	g := unit(t, rep, "grep")
	assert.Equal(t, job.Succeeded, g.State)
	assert.Equal(t, 1, g.ExitCode, "reported as is")
	assert.Equal(t, job.Succeeded, unit(t, rep, "next").State)
	assert.Equal(t, job.Succeeded, rep.State)
}

func TestNetworkActionSkipped(t *testing.T) {
	skip := job.ActionFunc(func(context.Context, inventory.Target) (job.Outcome, error) {
		return job.Outcome{Skipped: true, Message: "running"}, nil
	})
	var r recorder
	n := &job.Network{Units: []job.Unit{
		{Name: "start", Action: skip},
		{Name: "after", Action: r.exit("after", 0), Needs: []string{"start"}},
		{Name: "always", Action: r.exit("always", 0), Needs: []string{"start"}, When: job.When{On: job.WhenAlways}},
	}}
	rep, err := jobtest.RunNetwork(context.Background(), n, nil)
	require.NoError(t, err)
	assert.Equal(t, job.Skipped, unit(t, rep, "start").State)
	assert.Equal(t, "running", unit(t, rep, "start").Message)
	assert.Equal(t, 1, unit(t, rep, "start").Attempts)
	assert.Equal(t, job.Skipped, unit(t, rep, "after").State)
	assert.Equal(t, job.Succeeded, unit(t, rep, "always").State)
	assert.Equal(t, job.Succeeded, rep.State, "skips are allowed")
	assert.Equal(t, 0, rep.ExitCode())
}

func TestNetworkConcurrencyLimit(t *testing.T) {
	for _, tc := range []struct {
		limit, peak int
		took        time.Duration
	}{{2, 2, 3 * time.Second}, {4, 4, 2 * time.Second}, {0, 6, time.Second}, {1, 1, 6 * time.Second}} {
		t.Run(fmt.Sprint(tc.limit), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var cur, peak atomic.Int32
				a := job.ActionFunc(func(context.Context, inventory.Target) (job.Outcome, error) {
					n := cur.Add(1)
					for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
					}
					time.Sleep(time.Second)
					cur.Add(-1)
					return job.Outcome{}, nil
				})
				n := &job.Network{Concurrency: tc.limit}
				for i := range 6 {
					n.Units = append(n.Units, job.Unit{Name: fmt.Sprint("u", i), Action: a})
				}
				start := time.Now()
				rep, err := jobtest.RunNetwork(context.Background(), n, nil)
				require.NoError(t, err)
				assert.Equal(t, job.Succeeded, rep.State)
				assert.Equal(t, int32(tc.peak), peak.Load())
				assert.Equal(t, tc.took, time.Since(start))
			})
		})
	}
}

func TestNetworkDefinitionOrderAmongReady(t *testing.T) {
	var r recorder
	n := &job.Network{Concurrency: 1, Units: []job.Unit{
		{Name: "z", Action: r.exit("z", 0)},
		{Name: "y", Action: r.exit("y", 0), Needs: []string{"z"}},
		{Name: "x", Action: r.exit("x", 0)},
		{Name: "w", Action: r.exit("w", 0)},
	}}
	_, err := jobtest.RunNetwork(context.Background(), n, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"z", "y", "x", "w"}, r.order(), "y became ready together with x and w, and is defined first")

	// A skip decided in the same round makes a unit ready before the start.
	r = recorder{}
	n = &job.Network{Concurrency: 1, Units: []job.Unit{
		{Name: "a", Action: r.exit("a", 1)},
		{Name: "b", Action: r.exit("b", 0), Needs: []string{"a"}},
		{Name: "c", Action: r.exit("c", 0), Needs: []string{"b"}, When: job.When{On: job.WhenAlways}},
		{Name: "d", Action: r.exit("d", 0), Needs: []string{"a"}, When: job.When{On: job.WhenAlways}},
	}}
	_, err = jobtest.RunNetwork(context.Background(), n, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "c", "d"}, r.order())
}

func TestNetworkTimeoutPerAttempt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var r recorder
		n := &job.Network{Units: []job.Unit{
			{Name: "hang", Action: blocking, Timeout: 5 * time.Second, Retry: &job.RetryPolicy{Limit: 2, Delay: time.Second}},
			{Name: "after", Action: r.exit("after", 0), Needs: []string{"hang"}},
			{Name: "on-fail", Action: r.exit("on-fail", 0), Needs: []string{"hang"}, When: job.When{On: job.WhenFailure}},
		}}
		rep, err := jobtest.RunNetwork(context.Background(), n, nil)
		require.NoError(t, err)
		h := unit(t, rep, "hang")
		assert.Equal(t, job.TimedOut, h.State)
		assert.Equal(t, 3, h.Attempts)
		assert.Equal(t, "timed out after 5s", h.Message)
		assert.Equal(t, 17*time.Second, h.Duration(), "5s per attempt, 1s between")
		assert.Equal(t, job.Skipped, unit(t, rep, "after").State)
		assert.Equal(t, "condition success not met: hang timed_out", unit(t, rep, "after").Message)
		assert.Equal(t, job.Succeeded, unit(t, rep, "on-fail").State)
		assert.Equal(t, job.StateFailed, rep.State)
		assert.Equal(t, 9, rep.ExitCode())
	})
}

func TestNetworkRetryAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var calls []time.Duration
		n := &job.Network{Units: []job.Unit{
			{Name: "flaky", Action: codes(&calls, time.Now(), 75, 75, 0), Retry: &job.RetryPolicy{Limit: 5, Delay: 2 * time.Second, Backoff: 2}},
		}}
		rep, err := jobtest.RunNetwork(context.Background(), n, nil)
		require.NoError(t, err)
		u := unit(t, rep, "flaky")
		assert.Equal(t, job.Succeeded, u.State)
		assert.Equal(t, 3, u.Attempts)
		assert.Equal(t, 0, u.ExitCode)
		assert.Equal(t, 6*time.Second, u.Duration())
	})
}

func TestNetworkCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		var sawCancel atomic.Bool
		long := job.ActionFunc(func(ctx context.Context, _ inventory.Target) (job.Outcome, error) {
			<-ctx.Done()
			sawCancel.Store(true)
			time.Sleep(time.Second) // ending the work takes a while
			return job.Outcome{}, ctx.Err()
		})
		var r recorder
		n := &job.Network{Concurrency: 2, Units: []job.Unit{
			{Name: "long", Action: long},
			{Name: "quick", Action: r.exit("quick", 0)},
			{Name: "other", Action: long},
			{Name: "waiting", Action: r.exit("waiting", 0)},
			{Name: "after", Action: r.exit("after", 0), Needs: []string{"long"}},
		}}
		go func() {
			time.Sleep(10 * time.Second)
			cancel()
		}()
		start := time.Now()
		rep, err := jobtest.RunNetwork(ctx, n, nil)
		require.NoError(t, err)
		assert.Equal(t, 11*time.Second, time.Since(start), "waits for the running units to end")
		assert.True(t, sawCancel.Load())
		assert.Equal(t, map[string]job.UnitState{
			"long": job.Cancelled, "quick": job.Succeeded, "other": job.Cancelled,
			"waiting": job.Cancelled, "after": job.Cancelled,
		}, states(rep))
		assert.Equal(t, "cancelled: context canceled", unit(t, rep, "long").Message)
		assert.Equal(t, "cancelled before it started: context canceled", unit(t, rep, "after").Message)
		assert.Zero(t, unit(t, rep, "after").Attempts)
		assert.Equal(t, []string{"quick"}, r.order())
		assert.Equal(t, job.Cancelled, rep.State)
		assert.Equal(t, 9, rep.ExitCode())
	})
}

func TestNetworkCancelledBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	var r recorder
	n := &job.Network{Units: []job.Unit{{Name: "a", Action: r.exit("a", 0)}}}
	rep, err := jobtest.RunNetwork(ctx, n, nil)
	require.NoError(t, err)
	assert.Empty(t, r.order())
	assert.Equal(t, job.Cancelled, rep.State)
	assert.Equal(t, job.Cancelled, rep.Units[0].State)
}

func TestNetworkOutputSmall(t *testing.T) {
	dir := t.TempDir()
	a := job.ActionFunc(func(ctx context.Context, _ inventory.Target) (job.Outcome, error) {
		fmt.Fprintln(job.Output(ctx), "hello")
		return job.Outcome{Output: []byte("returned\n")}, nil
	})
	var wg sync.WaitGroup
	parallel := job.ActionFunc(func(ctx context.Context, _ inventory.Target) (job.Outcome, error) {
		for range 8 {
			wg.Go(func() {
				for range 100 {
					_, _ = io.WriteString(job.Output(ctx), "0123456789")
				}
			})
		}
		wg.Wait()
		return job.Outcome{}, nil
	})
	n := &job.Network{Name: "small", SpillDir: dir, Units: []job.Unit{
		{Name: "hello", Action: a},
		{Name: "parallel", Action: parallel},
	}}
	rep, err := jobtest.RunNetwork(context.Background(), n, nil)
	require.NoError(t, err)
	assert.Equal(t, "hello\nreturned\n", unit(t, rep, "hello").Output)
	assert.Empty(t, unit(t, rep, "hello").OutputFile)
	assert.Equal(t, strings.Repeat("0123456789", 800), unit(t, rep, "parallel").Output, "the writer is safe for concurrent use")
	files, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Empty(t, files, "nothing spilled")
}

func TestNetworkOutputSpill(t *testing.T) {
	const total = 50 << 20
	dir := t.TempDir()
	chunk := make([]byte, 64<<10)
	hash := sha256.New()
	a := job.ActionFunc(func(ctx context.Context, _ inventory.Target) (job.Outcome, error) {
		w := job.Output(ctx)
		for i := 0; i < total/len(chunk); i++ {
			for j := range chunk {
				chunk[j] = byte('a' + (i+j)%26)
			}
			hash.Write(chunk)
			if _, err := w.Write(chunk); err != nil {
				return job.Outcome{}, err
			}
		}
		return job.Outcome{}, nil
	})
	n := &job.Network{Name: "big", SpillDir: dir, Units: []job.Unit{{Name: "dump", Action: a}}}

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	rep, err := jobtest.RunNetwork(context.Background(), n, nil)
	runtime.ReadMemStats(&after)
	require.NoError(t, err)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(8<<20), "memory stays bounded while 50 MiB pass")

	u := unit(t, rep, "dump")
	assert.Equal(t, job.Succeeded, u.State)
	require.NotEmpty(t, u.OutputFile)
	assert.Equal(t, dir, filepath.Dir(u.OutputFile))
	assert.Regexp(t, `^big-dump-.*\.log$`, filepath.Base(u.OutputFile))
	fi, err := os.Stat(u.OutputFile)
	require.NoError(t, err)
	assert.Equal(t, int64(total), fi.Size())
	f, err := os.Open(u.OutputFile)
	require.NoError(t, err)
	defer f.Close()
	fileHash := sha256.New()
	_, err = io.Copy(fileHash, f)
	require.NoError(t, err)
	assert.Equal(t, hash.Sum(nil), fileHash.Sum(nil), "the file holds the whole output")

	prefix, note, ok := strings.Cut(u.Output, "\n[output truncated")
	require.True(t, ok, "a note follows the prefix")
	assert.Len(t, prefix, job.DefaultOutputLimit)
	first := make([]byte, job.DefaultOutputLimit)
	_, err = f.ReadAt(first, 0)
	require.NoError(t, err)
	assert.True(t, bytes.Equal(first, []byte(prefix)), "Output holds the first OutputLimit bytes")
	assert.Contains(t, note, fmt.Sprintf("%d of %d bytes kept; the whole output is in %s", job.DefaultOutputLimit, total, u.OutputFile))
}

func TestNetworkOutputLimit(t *testing.T) {
	dir := t.TempDir()
	a := job.ActionFunc(func(ctx context.Context, _ inventory.Target) (job.Outcome, error) {
		_, _ = io.WriteString(job.Output(ctx), "0123456789")
		return job.Outcome{Output: []byte("abc")}, nil
	})
	n := &job.Network{Name: "a/b", OutputLimit: 10, SpillDir: dir, Units: []job.Unit{
		{Name: "exact", Action: job.ActionFunc(func(ctx context.Context, _ inventory.Target) (job.Outcome, error) {
			_, _ = io.WriteString(job.Output(ctx), "0123456789")
			return job.Outcome{}, nil
		})},
		{Name: "over", Action: a},
	}}
	rep, err := jobtest.RunNetwork(context.Background(), n, nil)
	require.NoError(t, err)
	assert.Equal(t, "0123456789", unit(t, rep, "exact").Output)
	assert.Empty(t, unit(t, rep, "exact").OutputFile)
	over := unit(t, rep, "over")
	assert.True(t, strings.HasPrefix(over.Output, "0123456789\n[output truncated: 10 of 13 bytes kept"), over.Output)
	b, err := os.ReadFile(over.OutputFile)
	require.NoError(t, err)
	assert.Equal(t, "0123456789abc", string(b))
	assert.Regexp(t, `^a_b-over-.*\.log$`, filepath.Base(over.OutputFile), "path separators are not kept in file names")

	// A spill directory that does not exist: the prefix is kept and the
	// note says why the rest is missing; the action is not failed.
	n.SpillDir = filepath.Join(dir, "missing")
	rep, err = jobtest.RunNetwork(context.Background(), n, nil)
	require.NoError(t, err)
	over = unit(t, rep, "over")
	assert.Equal(t, job.Succeeded, over.State)
	assert.Empty(t, over.OutputFile)
	assert.Contains(t, over.Output, "0123456789\n[output truncated: 10 of 13 bytes kept; spilling to a file failed:")
}

func TestNetworkObserver(t *testing.T) {
	var r recorder
	n := &job.Network{Units: []job.Unit{
		{Name: "a", Action: r.exit("a", 1)},
		{Name: "b", Action: r.exit("b", 0), Needs: []string{"a"}},
		{Name: "c", Action: r.exit("c", 0), Needs: []string{"a"}, When: job.When{On: job.WhenFailure}},
	}}
	var seen []string
	rep, err := jobtest.RunNetwork(context.Background(), n, func(u job.UnitReport) {
		seen = append(seen, u.Name+" "+string(u.State))
		if u.State == job.Running {
			assert.False(t, u.Started.IsZero())
			assert.True(t, u.Ended.IsZero())
		}
	})
	require.NoError(t, err)
	assert.Equal(t, []string{"a running", "a failed", "b skipped", "c running", "c succeeded"}, seen)
	assert.Equal(t, job.StateFailed, rep.State)
}

func TestNetworkReportExitCode(t *testing.T) {
	assert.Equal(t, 0, job.NetworkReport{State: job.Succeeded}.ExitCode())
	assert.Equal(t, 9, job.NetworkReport{State: job.StateFailed}.ExitCode())
	assert.Equal(t, 9, job.NetworkReport{State: job.Cancelled}.ExitCode())
	assert.Equal(t, 1, job.NetworkReport{}.ExitCode(), "a network that did not run")
	assert.True(t, job.TimedOut.Finished())
	assert.False(t, job.Running.Finished())
	assert.Zero(t, job.UnitReport{Started: time.Now()}.Duration())
}

func TestNetworkRunInvalid(t *testing.T) {
	var r recorder
	n := &job.Network{Name: "bad", Units: []job.Unit{
		{Name: "a", Action: r.exit("a", 0)},
		{Name: "b", Action: r.exit("b", 0), Needs: []string{"nope"}},
	}}
	rep, err := jobtest.RunNetwork(context.Background(), n, nil)
	require.Error(t, err)
	assert.Empty(t, r.order(), "nothing ran")
	assert.Equal(t, "bad", rep.Name)
	assert.Equal(t, 1, rep.ExitCode())
	var nilNet *job.Network
	_, err = jobtest.RunNetwork(context.Background(), nilNet, nil)
	assert.Error(t, err)
}

func TestNetworkValidate(t *testing.T) {
	ok := job.ActionFunc(func(context.Context, inventory.Target) (job.Outcome, error) { return job.Outcome{}, nil })
	for _, tc := range []struct {
		name  string
		units []job.Unit
		want  string
	}{
		{"empty name", []job.Unit{{Action: ok}}, "unit #1: name: empty"},
		{"duplicate", []job.Unit{{Name: "a", Action: ok}, {Name: "a", Action: ok}}, `unit "a" (#2): name: duplicate of unit #1`},
		{"nil action", []job.Unit{{Name: "a"}}, `unit "a": action: nil`},
		{"unknown need", []job.Unit{{Name: "a", Action: ok, Needs: []string{"x"}}}, `unit "a": needs: unknown unit "x"`},
		{"self need", []job.Unit{{Name: "a", Action: ok, Needs: []string{"a"}}}, `unit "a": needs: the unit needs itself`},
		{"negative timeout", []job.Unit{{Name: "a", Action: ok, Timeout: -time.Second}}, `unit "a": timeout: must not be negative, got -1s`},
		{"unknown on", []job.Unit{{Name: "a", Action: ok}, {Name: "b", Action: ok, Needs: []string{"a"}, When: job.When{On: "sometimes"}}},
			`unit "b": when.on: unknown condition "sometimes"`},
		{"codes with on success", []job.Unit{{Name: "a", Action: ok}, {Name: "b", Action: ok, Needs: []string{"a"}, When: job.When{On: "success", Codes: []int{1}}}},
			`unit "b": when.codes: only with on "exit" or empty, not with on "success"`},
		{"exit without codes", []job.Unit{{Name: "a", Action: ok}, {Name: "b", Action: ok, Needs: []string{"a"}, When: job.When{On: "exit"}}},
			`unit "b": when.codes: required with on "exit"`},
		{"condition without needs", []job.Unit{{Name: "a", Action: ok, When: job.When{On: "failure"}}},
			`unit "a": when: a condition on needs, but the unit needs no other unit`},
		{"retry", []job.Unit{{Name: "a", Action: ok, Retry: &job.RetryPolicy{Limit: -2}}}, `unit "a": retry.limit: must not be negative, got -2`},
		{"cycle", []job.Unit{
			{Name: "a", Action: ok, Needs: []string{"c"}},
			{Name: "b", Action: ok, Needs: []string{"a"}},
			{Name: "c", Action: ok, Needs: []string{"b"}},
		}, `unit "a": needs: cycle a -> c -> b -> a`},
		{"two-unit cycle behind a chain", []job.Unit{
			{Name: "top", Action: ok, Needs: []string{"x"}},
			{Name: "x", Action: ok, Needs: []string{"y"}},
			{Name: "y", Action: ok, Needs: []string{"x"}},
		}, `unit "x": needs: cycle x -> y -> x`},
		{"no units", nil, `network "n": units: none`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			n := &job.Network{Name: "n", Units: tc.units}
			err := n.Validate()
			require.Error(t, err)
			assert.ErrorContains(t, err, tc.want)
		})
	}

	n := &job.Network{Name: "n", Concurrency: -1, OutputLimit: -1, Units: []job.Unit{
		{Name: "a", Needs: []string{"b"}},
		{Name: "b", Action: ok, Needs: []string{"a", "ghost"}, Timeout: -1},
		{Action: ok},
	}}
	err := n.Validate()
	require.Error(t, err)
	assert.Equal(t, strings.Join([]string{
		`network "n": concurrency: must not be negative, got -1`,
		`network "n": output_limit: must not be negative, got -1`,
		`unit #3: name: empty`,
		`unit "a": action: nil`,
		`unit "b": timeout: must not be negative, got -1ns`,
		`unit "b": needs: unknown unit "ghost"`,
		`unit "a": needs: cycle a -> b -> a`,
	}, "\n"), err.Error(), "every problem, listed together")

	good := &job.Network{Units: []job.Unit{
		{Name: "a", Action: ok},
		{Name: "b", Action: ok, Needs: []string{"a"}, When: job.When{Codes: []int{0, 1}}, Timeout: time.Second, Retry: &job.RetryPolicy{Limit: 1}},
		{Name: "c", Action: ok, Needs: []string{"a", "b"}, When: job.When{On: job.WhenAlways}},
	}}
	assert.NoError(t, good.Validate())
}
