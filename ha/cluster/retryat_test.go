package cluster_test

import (
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/ha"
)

// TestTakeoverAtRetryAt: the holder crashes while its lease hold (3
// timeouts long) has time left; the survivor, refused, asks again when
// the lease says the hold becomes takeable (RetryAt), and takes the group
// over right then; without RetryAt it would retry only every half
// interval. The attempt that acquires is never
// thrown away: the group changes holder once, at the next epoch.
func TestTakeoverAtRetryAt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		store := newLeaseStore()
		store.retryAt = true
		h := newHarness(t, []string{"a", "b"}, []ha.Group{groupOn("web", "a", "b")},
			hopts{witness: true, lease: store, leaseTTL: 3 * timeout})
		h.startAll()
		h.wait(2 * interval)
		require.Equal(t, []string{"a"}, h.w.holders("web"))
		first := h.w.epochOn("web", "a")

		// A crashed process releases nothing: cut a off the store first,
		// so that the harness's stop cannot release the hold either.
		h.nodes["a"].lease.reachable.Store(false)
		h.crash("a")
		store.mu.Lock()
		require.Len(t, store.holds, 1)
		// The hold ends off the cluster's tick grid (a renewal's time as a
		// real store would have it), so that only RetryAt can hit it.
		expires := time.Now().Add(5*time.Second + 130*time.Millisecond)
		for _, hd := range store.holds {
			hd.expires = expires
		}
		grants := len(store.grants)
		store.mu.Unlock()

		// Until the hold expires the survivor is refused (it noticed the
		// silence after timeout, long before).
		time.Sleep(time.Until(expires) - time.Millisecond)
		assert.Empty(t, h.w.holders("web"), "nobody holds the group while a's hold lasts")
		time.Sleep(10 * time.Millisecond)
		synctest.Wait()
		assert.Equal(t, []string{"b"}, h.w.holders("web"), "b took the group as soon as the hold expired")
		h.wait(2 * interval)
		store.mu.Lock()
		newGrants := store.grants[grants:]
		store.mu.Unlock()
		assert.Len(t, newGrants, 1, "one new hold: the acquiring attempt kept it")
		assert.Equal(t, first+1, h.w.epochOn("web", "b"))
		h.requireNoOverlap()
	})
}
