package cluster_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/stretchr/testify/assert"

	"github.com/minato-ops/minato/ha"
)

// recFence records fencings and fails while fail is set.
type recFence struct {
	mu    sync.Mutex
	calls []string
	fail  bool
}

func (f *recFence) Fence(_ context.Context, node string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, node)
	if f.fail {
		return errors.New("StopInstances: UnauthorizedOperation")
	}
	return nil
}

func (f *recFence) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.calls)
}

func (f *recFence) setFail(v bool) {
	f.mu.Lock()
	f.fail = v
	f.mu.Unlock()
}

// TestFenceBeforeTakeover: the standby fences the crashed holder before it
// takes its groups over, once per down episode for all its groups; while
// fencing fails, nothing is taken over; a clean move fences nobody.
func TestFenceBeforeTakeover(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := &recFence{fail: true}
		h := newHarness(t, []string{"a", "b"}, []ha.Group{groupOn("web", "a", "b"), groupOn("db", "a", "b")}, hopts{witness: true, fence: f})
		h.startAll()
		h.wait(interval)
		assert.Equal(t, []string{"a"}, h.w.holders("web"))
		assert.Zero(t, f.count(), "nobody fenced while all is well")

		// A clean move: the holder released, no fencing.
		assert.NoError(t, h.nodes["a"].c.Move(context.Background(), "web", "b"))
		h.wait(interval)
		assert.Equal(t, []string{"b"}, h.w.holders("web"))
		assert.Zero(t, f.count(), "a move fences nobody")

		h.crash("b")
		h.wait(timeout + 4*interval)
		assert.Empty(t, h.w.holders("web"), "fencing fails: the group stays offline rather than risk running twice")
		assert.Positive(t, f.count(), "fencing was tried")
		assert.True(t, h.nodes["a"].hasEvent(ha.EventFenceFailed, "b"))

		f.setFail(false)
		h.wait(2 * interval)
		assert.Equal(t, []string{"a"}, h.w.holders("web"), "taken over once b was fenced")
		assert.Equal(t, []string{"a"}, h.w.holders("db"), "a kept db")
		assert.True(t, h.nodes["a"].hasEvent(ha.EventFenced, "b"))
		n := f.count()
		h.wait(4 * interval)
		assert.Equal(t, n, f.count(), "fenced once per down episode")
		h.requireNoOverlap()
		h.requireEpochsIncrease("web")
	})
}
