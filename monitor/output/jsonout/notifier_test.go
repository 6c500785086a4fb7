package jsonout_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"testing"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/jsonout"
	"github.com/minato-ops/minato/monitor/output/notify"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFileNotifier(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "notifications.jsonl")
	require.NoError(t, os.WriteFile(path, []byte(`{"before":true}`+"\n"), 0o600))
	n, err := jsonout.NewFileNotifier(path)
	require.NoError(t, err)

	// Concurrent Notify calls write whole lines.
	const goroutines, each = 20, 50
	var wg sync.WaitGroup
	for g := range goroutines {
		wg.Go(func() {
			for i := range each {
				ev := monitor.Evaluation{Check: fmt.Sprint("check-", g), Target: inventory.Target{Kind: inventory.KindContainer, ID: fmt.Sprint(i)}, Status: monitor.Critical}
				assert.NoError(t, n.Notify(ctx, ev))
			}
		})
	}
	wg.Wait()
	require.NoError(t, n.Flush(ctx))
	assert.Equal(t, notify.Stats{Sent: goroutines * each}, n.Stats())

	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	sc := bufio.NewScanner(f)
	require.True(t, sc.Scan())
	assert.Equal(t, `{"before":true}`, sc.Text(), "appended to what was there")
	lines := 0
	for sc.Scan() {
		var ev jsonout.Evaluation
		require.NoError(t, json.Unmarshal(sc.Bytes(), &ev), "line %d", lines)
		assert.Equal(t, monitor.Critical, ev.Status)
		lines++
	}
	assert.Equal(t, goroutines*each, lines)

	require.NoError(t, n.Close(ctx))
	assert.NoError(t, n.Close(ctx), "idempotent")
	assert.ErrorIs(t, n.Notify(ctx, monitor.Evaluation{}), notify.ErrClosed)
	assert.Equal(t, notify.Stats{Sent: goroutines * each, Dropped: 1}, n.Stats())

	_, err = jsonout.NewFileNotifier(filepath.Join(t.TempDir(), "missing", "x.jsonl"))
	assert.ErrorIs(t, err, os.ErrNotExist)
}

func TestFileNotifierMode(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.jsonl")
	n, err := jsonout.NewFileNotifier(path)
	require.NoError(t, err)
	require.NoError(t, n.Close(context.Background()))
	fi, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
}

// TestLineNotifierDrops writes to a full disk (/dev/full) and to a
// closed file: each failed line is a counted drop.
func TestLineNotifierDrops(t *testing.T) {
	ctx := context.Background()
	full, err := os.OpenFile("/dev/full", os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no /dev/full: %v", err)
	}
	defer full.Close()
	n := jsonout.NewLineNotifier(full)
	err = n.Notify(ctx, monitor.Evaluation{Check: "cpu"})
	require.ErrorIs(t, err, syscall.ENOSPC)
	assert.Contains(t, err.Error(), "jsonout: write to writer: ")
	assert.Equal(t, notify.Stats{Dropped: 1}, n.Stats())
	require.NoError(t, n.Flush(ctx), "a writer is not synced")
	require.NoError(t, n.Close(ctx))
	_, err = full.Write([]byte("x"))
	assert.ErrorIs(t, err, syscall.ENOSPC, "Close leaves the writer open")

	closed, err := os.Create(filepath.Join(t.TempDir(), "closed.jsonl"))
	require.NoError(t, err)
	require.NoError(t, closed.Close())
	n = jsonout.NewLineNotifier(closed)
	assert.ErrorIs(t, n.Notify(ctx, monitor.Evaluation{}), os.ErrClosed)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	assert.ErrorIs(t, n.Notify(cctx, monitor.Evaluation{}), context.Canceled)
	assert.Equal(t, notify.Stats{Dropped: 2}, n.Stats())
}

func ExampleNewLineNotifier() {
	n := jsonout.NewLineNotifier(os.Stdout)
	fan := notify.NewFanOut(notify.FanOutConfig{})
	if err := fan.Add("stdout", n); err != nil {
		fmt.Println(err)
		return
	}
	// monitor.NewRunner(cfg, resolver, monitor.WithTransitions(fan.Transition))
	fan.Transition(context.Background(), monitor.Transition{From: monitor.OK, Evaluation: monitor.Evaluation{
		Check:    "status",
		Target:   inventory.Target{Kind: inventory.KindContainer, ID: "90b56eb899e7", Name: "web-1"},
		Status:   monitor.Critical,
		Observed: monitor.Critical,
		Message:  "exited",
	}})
	fmt.Printf("%+v\n", n.Stats())
	// Output:
	// {"check":"status","target":{"kind":"container","id":"90b56eb899e7","name":"web-1"},"status":"CRITICAL","exit_code":2,"observed":"CRITICAL","message":"exited","took_seconds":0,"samples":[]}
	// {Sent:1 Dropped:0 Pending:0}
}
