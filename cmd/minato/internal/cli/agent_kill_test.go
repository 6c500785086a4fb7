package cli

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/clienttest"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// killLineRE reads the key fields of a -f line.
var killLineRE = regexp.MustCompile(`^\[\S+ killtest\] time=(\S+) type=(\S+) action=(\S+) id=(\S+)`)

// killKey is monitor/docker's EventKey: time in ns, type, actor ID, action.
func killKey(e container.Event) string {
	return strconv.FormatInt(e.Time.UnixNano(), 10) + "|" + e.Type + "|" + e.ActorID + "|" + e.Action
}

// killFileKeys parses the forwarded events of file as killKeys.
func killFileKeys(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	require.NoError(t, err)
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		if l == "" {
			continue
		}
		m := killLineRE.FindStringSubmatch(l)
		require.NotNil(t, m, "line %q", l)
		tm, err := time.Parse(time.RFC3339Nano, m[1])
		require.NoError(t, err)
		out = append(out, strconv.FormatInt(tm.UnixNano(), 10)+"|"+m[2]+"|"+m[4]+"|"+m[3])
	}
	return out
}

// killChurn creates, starts, stops and removes labelled containers one
// after another until stop is called.
type killChurn struct {
	cancel context.CancelFunc
	done   chan struct{}
	ids    []string
	err    error
}

func startKillChurn(t *testing.T, h *dockertest.Harness, c *container.Client) *killChurn {
	image := h.Image(t)
	ctx, cancel := context.WithCancel(context.Background())
	ch := &killChurn{cancel: cancel, done: make(chan struct{})}
	t.Cleanup(func() {
		_ = ch.stop()
		for _, id := range ch.ids {
			_, _ = c.Remove(context.Background(), id, container.RemoveOptions{Force: true, Volumes: true})
		}
	})
	zero := time.Duration(0)
	bg := context.Background()
	go func() {
		defer close(ch.done)
		for ctx.Err() == nil {
			res, err := c.Create(bg, container.CreateOptions{Image: image, Cmd: []string{"sleep", "forever"},
				Labels: map[string]string{dockertest.LabelKey: h.RunID(), dockertest.NameLabelKey: t.Name()}})
			if err != nil {
				ch.err = err
				return
			}
			ch.ids = append(ch.ids, res.ID)
			if _, err = c.Start(bg, res.ID, container.StartOptions{}); err == nil {
				if _, err = c.Stop(bg, res.ID, container.StopOptions{Grace: &zero}); err == nil {
					_, err = c.Remove(bg, res.ID, container.RemoveOptions{})
				}
			}
			if err != nil {
				ch.err = err
				return
			}
		}
	}()
	return ch
}

func (ch *killChurn) stop() error { ch.cancel(); <-ch.done; return ch.err }

// buildMinato builds the minato binary into dir and returns its path
// (the second build in a run is a link from the build cache). It skips the
// test when there is no go command.
func buildMinato(t *testing.T, dir string) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build minato")
	}
	bin := filepath.Join(dir, "minato")
	out, err := exec.Command(goBin, "build", "-o", bin, "github.com/minato-ops/minato/cmd/minato").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// TestEventsFollowSIGKILL runs the real binary's `minato monitor events
// --follow -f FILE` while containers keep changing, SIGKILLs it, restarts
// it, then stops it with SIGTERM. The file holds every event of the window
// (the engine's own list, over the local socket) once, in order. With
// SaveEvery 1 (the CLI's setting) a SIGKILL between the file write and the
// checkpoint write may deliver the last event before the kill a second
// time: at most that one duplicate is accepted.
func TestEventsFollowSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary and churns containers for ~10 s")
	}
	h := dockertest.New(t)
	dir := t.TempDir()
	bin := buildMinato(t, dir)

	local := clienttest.New(t, h)
	f := map[string][]string{"type": {"container"}, "label": {dockertest.LabelKey + "=" + h.RunID()}}
	file := filepath.Join(dir, "events.log")
	args := []string{"monitor", "events", "-k", "killtest", "--state-dir", dir, "-f", file, "--follow",
		"--syslog-hostname", "killtest", "--type", "container", "--label", dockertest.LabelKey + "=" + h.RunID()}
	var stderr lockedBuffer
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, args...)
		cmd.Env = append(os.Environ(), "DOCKER_HOST="+h.Host)
		cmd.Stderr = &stderr
		require.NoError(t, cmd.Start())
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		return cmd
	}
	waitFor := func(what string, d time.Duration, ok func() bool) {
		t.Helper()
		for deadline := time.Now().Add(d); !ok(); time.Sleep(10 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not within %s; minato's stderr:\n%s", what, d, stderr.String())
			}
		}
	}

	// The engine's own list: a live subscription on the local socket.
	var omu sync.Mutex
	var oracle []container.Event
	octx, ocancel := context.WithCancel(context.Background())
	odone := make(chan struct{})
	go func() {
		defer close(odone)
		_ = local.Events(octx, container.EventsOptions{Since: time.Now(), Filters: f}, func(e container.Event) error {
			omu.Lock()
			oracle = append(oracle, e)
			omu.Unlock()
			return nil
		})
	}()
	defer func() { ocancel(); <-odone }()

	p1 := start()
	// The run lock's file appears when the first run starts; its
	// checkpoint (the first run's start) is taken right after.
	waitFor("first run", 10*time.Second, func() bool {
		_, err := os.Stat(filepath.Join(dir, "killtest.events-run.lock"))
		return err == nil
	})
	time.Sleep(500 * time.Millisecond)
	t0 := time.Now()
	ch := startKillChurn(t, h, local)

	waitFor("first events in the file", 15*time.Second, func() bool { return len(killFileKeys(t, file)) >= 3 })
	time.Sleep(1500 * time.Millisecond)
	require.NoError(t, p1.Process.Signal(syscall.SIGKILL))
	_ = p1.Wait()
	beforeKill := killFileKeys(t, file)
	time.Sleep(time.Second) // containers change while nothing forwards
	p2 := start()
	time.Sleep(2 * time.Second)
	require.NoError(t, ch.stop())

	var want []string
	waitFor("the final destroy in the engine's list", 10*time.Second, func() bool {
		omu.Lock()
		defer omu.Unlock()
		n := len(oracle)
		if n == 0 || oracle[n-1].Action != "destroy" {
			return false
		}
		want = want[:0]
		for _, e := range oracle {
			want = append(want, killKey(e))
		}
		return true
	})
	tEnd := time.Now()
	waitFor("the final destroy in the file", 10*time.Second, func() bool {
		got := killFileKeys(t, file)
		return len(got) > 0 && got[len(got)-1] == want[len(want)-1]
	})
	require.NoError(t, p2.Process.Signal(syscall.SIGTERM))
	exited := make(chan error, 1)
	go func() { exited <- p2.Wait() }()
	select {
	case err := <-exited:
		require.NoError(t, err, "exit after SIGTERM; stderr:\n%s", stderr.String())
	case <-time.After(5 * time.Second):
		t.Fatal("no exit within 5 s of SIGTERM")
	}

	// The since/until replay agrees when the engine's buffer still holds
	// the window (other tests share the engine).
	var all int
	var replay []string
	require.NoError(t, local.Events(context.Background(), container.EventsOptions{Since: t0, Until: tEnd}, func(container.Event) error { all++; return nil }))
	require.NoError(t, local.Events(context.Background(), container.EventsOptions{Since: t0, Until: tEnd, Filters: f}, func(e container.Event) error {
		replay = append(replay, killKey(e))
		return nil
	}))
	if all < 256 {
		assert.Equal(t, want, replay, "the engine's live and replayed lists agree")
	}

	got := killFileKeys(t, file)
	seen := map[string]int{}
	var deduped, dups []string
	for _, k := range got {
		if seen[k]++; seen[k] == 1 {
			deduped = append(deduped, k)
		} else {
			dups = append(dups, k)
		}
	}
	assert.Equal(t, want, deduped, "every event of the window, in order")
	require.LessOrEqual(t, len(dups), 1, "at most one event twice (the one at the SIGKILL): %v", dups)
	if len(dups) == 1 {
		n := len(beforeKill)
		require.Positive(t, n)
		assert.Equal(t, beforeKill[n-1], dups[0], "the duplicate is the last event written before the SIGKILL")
		assert.Equal(t, dups[0], got[n], "and the first one written after the restart")
	}
	t.Logf("%d events (engine: %d live, %d replayed, %d unfiltered in the window), %d before the SIGKILL, %d duplicate(s) %v; %d containers churned",
		len(got), len(want), len(replay), all, len(beforeKill), len(dups), dups, len(ch.ids))
}
