package jobfile_test

import (
	"context"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/clienttest"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
	jobdocker "github.com/minato-ops/minato/job/docker"
	"github.com/minato-ops/minato/job/jobfile"
	"github.com/minato-ops/minato/job/jobtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func runDef(t *testing.T, c *container.Client, text string, obs job.Observer) job.NetworkReport {
	t.Helper()
	def, err := jobfile.Parse([]byte(text))
	require.NoError(t, err)
	n, err := jobfile.Build(def, c, jobfile.BuildOptions{RunID: "test", SpillDir: t.TempDir()})
	require.NoError(t, err)
	rep, err := jobtest.RunNetwork(context.Background(), n, obs)
	require.NoError(t, err)
	return rep
}

func unit(t *testing.T, rep job.NetworkReport, name string) job.UnitReport {
	t.Helper()
	u, ok := rep.Unit(name)
	require.True(t, ok, name)
	return u
}

// TestExitCodePolicyAndSkipPropagation: an exit code the policy says not to
// retry fails at once; skips propagate down a success chain while an
// always-unit still runs; exit-code conditions pick a branch.
func TestExitCodePolicyAndSkipPropagation(t *testing.T) {
	h := dockertest.New(t)
	c := clienttest.New(t, h)
	img := h.Image(t)
	rep := runDef(t, c, `name: policy-`+h.RunID()[:6]+`
units:
  - name: flaky
    run: {image: "`+img+`", command: [exit, "3"]}
    retry: {limit: 5, delay: 10ms, on_exit: {"3": fail}}
  - name: branch-3
    needs: [flaky]
    when: {codes: [3]}
    run: {image: "`+img+`", command: [print, three]}
  - name: next
    needs: [flaky]
    host: {command: [/bin/true]}
  - name: after-next
    needs: [next]
    host: {command: [/bin/true]}
  - name: always
    needs: [after-next]
    when: always
    host: {command: [/bin/true]}
  - name: ignored
    run: {image: "`+img+`", command: [exit, "4"]}
    retry: {limit: 2, on_exit: {"4": ignore}}
`, nil)
	fl := unit(t, rep, "flaky")
	assert.Equal(t, job.StateFailed, fl.State)
	assert.Equal(t, 3, fl.ExitCode)
	assert.Equal(t, 1, fl.Attempts, "on_exit 3: fail stops retrying")
	assert.Equal(t, job.Succeeded, unit(t, rep, "branch-3").State)
	assert.Contains(t, unit(t, rep, "branch-3").Output, "three")
	assert.Equal(t, job.Skipped, unit(t, rep, "next").State)
	assert.Equal(t, job.Skipped, unit(t, rep, "after-next").State, "skips propagate")
	assert.Equal(t, job.Succeeded, unit(t, rep, "always").State, "always runs after a skipped need")
	ig := unit(t, rep, "ignored")
	assert.Equal(t, job.Succeeded, ig.State)
	assert.Equal(t, 4, ig.ExitCode)
	assert.Equal(t, 9, rep.ExitCode())
}

// TestConcurrencyLimitOnRealEngine: three 1-second run units with
// concurrency 1 never overlap.
func TestConcurrencyLimitOnRealEngine(t *testing.T) {
	h := dockertest.New(t)
	c := clienttest.New(t, h)
	img := h.Image(t)
	var (
		mu          sync.Mutex
		cur, maxRun int
	)
	rep := runDef(t, c, `name: conc-`+h.RunID()[:6]+`
concurrency: 1
units:
  - {name: a, run: {image: "`+img+`", command: [sleep, 700ms]}}
  - {name: b, run: {image: "`+img+`", command: [sleep, 700ms]}}
  - {name: c, run: {image: "`+img+`", command: [sleep, 700ms]}}
`, func(u job.UnitReport) {
		mu.Lock()
		defer mu.Unlock()
		switch {
		case u.State == job.Running:
			cur++
			maxRun = max(maxRun, cur)
		case u.State.Finished():
			cur--
		}
	})
	require.Equal(t, 0, rep.ExitCode())
	assert.Equal(t, 1, maxRun)
	a, b := unit(t, rep, "a"), unit(t, rep, "b")
	assert.False(t, b.Started.Before(a.Ended), "b starts after a ended")
}

// TestTimedOutExecUnitEndsTheProcess: after the unit times out its process
// is gone from the container's process table.
func TestTimedOutExecUnitEndsTheProcess(t *testing.T) {
	h := dockertest.New(t)
	c := clienttest.New(t, h)
	w := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}})
	h.WaitState(t, w.ID, "running", 10*time.Second)
	start := time.Now()
	rep := runDef(t, c, `name: tmo-`+h.RunID()[:6]+`
units:
  - name: stuck
    exec: {container: "`+w.Name+`", command: [/testbox, spawn, "2", --, sleep, forever, --ignore-term]}
    timeout: 1s
`, nil)
	u := unit(t, rep, "stuck")
	assert.Equal(t, job.TimedOut, u.State)
	assert.Less(t, time.Since(start), 10*time.Second)
	top, err := c.Top(context.Background(), w.ID, container.TopOptions{})
	require.NoError(t, err)
	assert.Len(t, top.Processes, 1, "only the container's own process is left: %v", top.Processes)
}

// TestLargeOutputSpills: a unit writing 50 MiB keeps 1 MiB in memory and
// the whole output in a file.
func TestLargeOutputSpills(t *testing.T) {
	h := dockertest.New(t)
	c := clienttest.New(t, h)
	img := h.Image(t)
	rep := runDef(t, c, `name: big-`+h.RunID()[:6]+`
units:
  - {name: big, run: {image: "`+img+`", command: [emit, "50"]}, timeout: 2m}
`, nil)
	u := unit(t, rep, "big")
	require.Equal(t, job.Succeeded, u.State, u.Message)
	require.NotEmpty(t, u.OutputFile)
	fi, err := os.Stat(u.OutputFile)
	require.NoError(t, err)
	assert.Equal(t, int64(50<<20), fi.Size())
	assert.Less(t, len(u.Output), 2<<20, "the report keeps only the first part in memory")
	assert.Contains(t, u.Output, "output truncated")
}

// TestAdoptableRunUnitKeepsItsContainer: built Adoptable, a run unit's
// container carries the network, run and unit labels and is kept after it
// exited; an Adopter of a later Build of the same run finds it, reports its
// exit and output, and its Release removes it. A network run releases the
// unit's container once the unit's final state is reported.
func TestAdoptableRunUnitKeepsItsContainer(t *testing.T) {
	h := dockertest.New(t)
	c := clienttest.New(t, h)
	img := h.Image(t)
	text := `name: adopt-` + h.RunID()[:6] + `
units:
  - {name: u, run: {image: "` + img + `", command: [print, done, --, exit, "3"]}}
`
	def, err := jobfile.Parse([]byte(text))
	require.NoError(t, err)
	runID := "r-" + h.RunID()
	build := func() *job.Network {
		n, err := jobfile.Build(def, c, jobfile.BuildOptions{RunID: runID, SpillDir: t.TempDir(), Adoptable: true})
		require.NoError(t, err)
		return n
	}
	labels := map[string]string{jobdocker.LabelNetwork: def.Name, jobdocker.LabelRun: runID, jobdocker.LabelUnit: "u"}
	kept := func() []container.Summary {
		res, err := c.List(context.Background(), container.ListOptions{All: true, Labels: labels})
		require.NoError(t, err)
		return res.Containers
	}
	t.Cleanup(func() {
		for _, s := range kept() {
			_, _ = c.Remove(context.Background(), s.ID, container.RemoveOptions{Force: true, Volumes: true})
		}
	})

	res, err := build().Units[0].Action.Do(context.Background(), inventory.Target{})
	require.NoError(t, err)
	assert.Equal(t, 3, res.ExitCode)
	require.Len(t, kept(), 1, "kept for adoption until released")

	a, ok := build().Units[0].Action.(job.Adopter)
	require.True(t, ok)
	var out strings.Builder
	res, found, err := a.Adopt(job.WithOutput(context.Background(), &out), inventory.Target{})
	require.NoError(t, err)
	assert.True(t, found)
	assert.Equal(t, 3, res.ExitCode)
	assert.Equal(t, "done\n", out.String())
	require.NoError(t, a.Release(context.Background(), inventory.Target{}))
	assert.Empty(t, kept())

	rep, err := jobtest.RunNetwork(context.Background(), build(), nil)
	require.NoError(t, err)
	assert.Equal(t, 3, unit(t, rep, "u").ExitCode)
	assert.Contains(t, unit(t, rep, "u").Output, "done\n")
	require.Eventually(t, func() bool { return len(kept()) == 0 }, 10*time.Second, 50*time.Millisecond, "released after the run")
}
