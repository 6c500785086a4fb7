package notify_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/minato-ops/minato/monitor/output/notify"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// logger returns a debug logger and a function returning what it logged
// so far. It logs to a file, whose writes are safe for the logger and the
// test.
func logger(t *testing.T) (*slog.Logger, func() string) {
	path := filepath.Join(t.TempDir(), "log")
	f, err := os.Create(path)
	require.NoError(t, err)
	t.Cleanup(func() { f.Close() })
	return slog.New(slog.NewTextHandler(f, &slog.HandlerOptions{Level: slog.LevelDebug})), func() string {
		b, err := os.ReadFile(path)
		require.NoError(t, err)
		return string(b)
	}
}

// recorder is a deliver function that records each attempt and answers
// with what fail says (nil: delivered).
type recorder struct {
	fail func(n int, m string) error // n counts attempts from 1

	mu       sync.Mutex
	attempts []string
	at       []time.Time
}

func (r *recorder) deliver(_ context.Context, m string) error {
	r.mu.Lock()
	r.attempts = append(r.attempts, m)
	r.at = append(r.at, time.Now())
	n := len(r.attempts)
	r.mu.Unlock()
	if r.fail != nil {
		return r.fail(n, m)
	}
	return nil
}

func (r *recorder) got() ([]string, []time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.attempts...), append([]time.Time(nil), r.at...)
}

func newQueue[T any](t *testing.T, cfg notify.QueueConfig, deliver func(context.Context, T) error, opts ...notify.Option) *notify.Queue[T] {
	t.Helper()
	q, err := notify.NewQueue(cfg, deliver, opts...)
	require.NoError(t, err)
	return q
}

func closeNow[T any](t *testing.T, q *notify.Queue[T]) {
	t.Helper()
	require.NoError(t, q.Close(context.Background()))
}

func TestQueueKeepsOrder(t *testing.T) {
	var rec recorder
	q := newQueue(t, notify.QueueConfig{Name: "test"}, rec.deliver)
	var want []string
	for i := range 200 {
		m := fmt.Sprint(i)
		want = append(want, m)
		require.NoError(t, q.Enqueue(context.Background(), m))
	}
	require.NoError(t, q.Flush(context.Background()))
	got, _ := rec.got()
	assert.Equal(t, want, got)
	assert.Equal(t, notify.Stats{Sent: 200}, q.Stats())
	closeNow(t, q)
}

func TestQueueRetryThenSuccess(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := recorder{fail: func(n int, _ string) error {
			if n <= 2 {
				return errors.New("connection refused")
			}
			return nil
		}}
		log, logged := logger(t)
		q := newQueue(t, notify.QueueConfig{Retries: 5, Backoff: 100 * time.Millisecond}, rec.deliver, notify.WithLogger(log))
		require.NoError(t, q.Enqueue(context.Background(), "one"))
		require.NoError(t, q.Enqueue(context.Background(), "two"))
		require.NoError(t, q.Flush(context.Background()))
		got, at := rec.got()
		assert.Equal(t, []string{"one", "one", "one", "two"}, got, "two waits behind one")
		assert.Equal(t, 100*time.Millisecond, at[1].Sub(at[0]), "first backoff")
		assert.Equal(t, 200*time.Millisecond, at[2].Sub(at[1]), "doubled")
		assert.Equal(t, time.Duration(0), at[3].Sub(at[2]), "the next message starts at once")
		assert.Equal(t, notify.Stats{Sent: 2}, q.Stats())
		assert.Contains(t, logged(), `level=DEBUG msg="notify: delivery failed; retrying" attempts=2 retry_in=200ms error="connection refused"`)
		assert.NotContains(t, logged(), "level=WARN")
		closeNow(t, q)
	})
}

func TestQueuePermanentDroppedAtOnce(t *testing.T) {
	rec := recorder{fail: func(_ int, m string) error {
		if m == "secret-body" {
			return notify.Permanent(fmt.Errorf("status 400: %w", errors.ErrUnsupported))
		}
		return nil
	}}
	log, logged := logger(t)
	q := newQueue(t, notify.QueueConfig{Retries: 5, Backoff: time.Hour, MaxBackoff: time.Hour}, rec.deliver, notify.WithLogger(log))
	require.NoError(t, q.Enqueue(context.Background(), "secret-body"))
	require.NoError(t, q.Enqueue(context.Background(), "next"))
	require.NoError(t, q.Flush(context.Background()))
	got, _ := rec.got()
	assert.Equal(t, []string{"secret-body", "next"}, got, "not retried")
	assert.Equal(t, notify.Stats{Sent: 1, Dropped: 1}, q.Stats())
	out := logged()
	assert.Contains(t, out, `level=WARN msg="notify: message dropped" reason="permanent error" attempts=1 error="status 400: unsupported operation"`)
	assert.NotContains(t, out, "secret-body", "the message is never logged")
	closeNow(t, q)
}

func TestQueueRetriesSpent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, tc := range []struct {
			retries, attempts int
		}{{2, 3}, {0, 1}} {
			rec := recorder{fail: func(int, string) error { return errors.New("status 502") }}
			log, logged := logger(t)
			q := newQueue(t, notify.QueueConfig{Retries: tc.retries, Backoff: time.Second}, rec.deliver, notify.WithLogger(log))
			require.NoError(t, q.Enqueue(context.Background(), "x"))
			require.NoError(t, q.Flush(context.Background()))
			got, _ := rec.got()
			assert.Len(t, got, tc.attempts)
			assert.Equal(t, notify.Stats{Dropped: 1}, q.Stats())
			assert.Contains(t, logged(), fmt.Sprintf(`level=WARN msg="notify: message dropped" reason="retries spent" attempts=%d error="status 502"`, tc.attempts))
			closeNow(t, q)
		}
	})
}

func TestQueueRetryAfter(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := recorder{fail: func(n int, m string) error {
			switch {
			case m == "x" && n == 1:
				return notify.RetryAfter(errors.New("status 429"), 3*time.Second)
			case m == "y":
				return notify.RetryAfter(errors.New("status 503"), time.Hour)
			}
			return nil
		}}
		q := newQueue(t, notify.QueueConfig{Retries: 1, Backoff: 10 * time.Millisecond, MaxBackoff: 10 * time.Second}, rec.deliver)
		require.NoError(t, q.Enqueue(context.Background(), "x"))
		require.NoError(t, q.Flush(context.Background()))
		_, at := rec.got()
		require.Len(t, at, 2)
		assert.Equal(t, 3*time.Second, at[1].Sub(at[0]), "the hint replaces the backoff")

		require.NoError(t, q.Enqueue(context.Background(), "y"))
		require.NoError(t, q.Flush(context.Background()))
		_, at = rec.got()
		require.Len(t, at, 4, "a retry after a hint counts: Retries 1 allows one")
		assert.Equal(t, 10*time.Second, at[3].Sub(at[2]), "the hint is capped at MaxBackoff")
		assert.Equal(t, notify.Stats{Sent: 1, Dropped: 1}, q.Stats())
		closeNow(t, q)
	})
}

func TestQueueRetryForever(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		rec := recorder{fail: func(n int, _ string) error {
			if n <= 40 {
				return errors.New("down")
			}
			return nil
		}}
		q := newQueue(t, notify.QueueConfig{Retries: notify.RetryForever, Backoff: 50 * time.Millisecond, MaxBackoff: 5 * time.Second}, rec.deliver)
		start := time.Now()
		require.NoError(t, q.Enqueue(context.Background(), "x"))
		require.NoError(t, q.Flush(context.Background()))
		_, at := rec.got()
		require.Len(t, at, 41)
		assert.Equal(t, 5*time.Second, at[40].Sub(at[39]), "capped")
		assert.Less(t, time.Since(start), 4*time.Minute)
		assert.Equal(t, notify.Stats{Sent: 1}, q.Stats())
		closeNow(t, q)
	})
}

// gate is a deliver function that blocks until the test lets a message
// through (or the Queue's context ends), and says which message it holds.
type gate struct {
	open    chan struct{}
	holding chan string
}

func newGate() *gate {
	return &gate{open: make(chan struct{}), holding: make(chan string, 100)}
}

func (g *gate) deliver(ctx context.Context, m string) error {
	g.holding <- m
	select {
	case <-g.open:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestQueueBufferFull(t *testing.T) {
	g := newGate()
	q := newQueue(t, notify.QueueConfig{Name: "tcp 192.0.2.10:514", BufferSize: 2}, g.deliver)
	ctx := context.Background()
	require.NoError(t, q.Enqueue(ctx, "1"))
	assert.Equal(t, "1", <-g.holding, "1 is being delivered: still pending")
	require.NoError(t, q.Enqueue(ctx, "2"))
	err := q.Enqueue(ctx, "3")
	require.ErrorIs(t, err, notify.ErrBufferFull)
	assert.EqualError(t, err, "notify: buffer full: 2 messages already wait for tcp 192.0.2.10:514")
	assert.Equal(t, notify.Stats{Dropped: 1, Pending: 2}, q.Stats())
	g.open <- struct{}{}
	g.open <- struct{}{}
	require.NoError(t, q.Flush(ctx))
	assert.Equal(t, notify.Stats{Sent: 2, Dropped: 1}, q.Stats())
	require.NoError(t, q.Enqueue(ctx, "4"), "room again")
	close(g.open)
	closeNow(t, q)
	assert.Equal(t, notify.Stats{Sent: 3, Dropped: 1}, q.Stats())
}

func TestQueueFlush(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGate()
		q := newQueue(t, notify.QueueConfig{}, g.deliver)
		ctx := context.Background()
		require.NoError(t, q.Flush(ctx), "nothing to wait for")
		for _, m := range []string{"1", "2"} {
			require.NoError(t, q.Enqueue(ctx, m))
		}
		var flushed atomic.Bool
		var flushErr error
		done := make(chan struct{})
		go func() {
			flushErr = q.Flush(ctx)
			flushed.Store(true)
			close(done)
		}()
		synctest.Wait()
		assert.False(t, flushed.Load(), "Flush waits for 1 and 2")
		require.NoError(t, q.Enqueue(ctx, "3"), "queued after Flush began")
		g.open <- struct{}{}
		synctest.Wait()
		assert.False(t, flushed.Load(), "2 is still pending")
		g.open <- struct{}{}
		<-done
		require.NoError(t, flushErr)
		assert.Equal(t, notify.Stats{Sent: 2, Pending: 1}, q.Stats(), "Flush did not wait for 3")

		tctx, cancel := context.WithTimeout(ctx, time.Second)
		defer cancel()
		err := q.Flush(tctx)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.EqualError(t, err, "notify: flush: 1 messages still wait for the destination: context deadline exceeded")
		assert.Equal(t, notify.Stats{Sent: 2, Pending: 1}, q.Stats(), "a Flush that gives up drops nothing")
		close(g.open)
		closeNow(t, q)
		assert.Equal(t, notify.Stats{Sent: 3}, q.Stats())
	})
}

func TestQueueCloseFlushes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var rec recorder
		slow := func(ctx context.Context, m string) error {
			time.Sleep(10 * time.Millisecond)
			return rec.deliver(ctx, m)
		}
		q := newQueue(t, notify.QueueConfig{}, slow)
		for i := range 20 {
			require.NoError(t, q.Enqueue(context.Background(), fmt.Sprint(i)))
		}
		start := time.Now()
		require.NoError(t, q.Close(context.Background()))
		assert.Equal(t, 200*time.Millisecond, time.Since(start))
		got, _ := rec.got()
		assert.Len(t, got, 20)
		assert.Equal(t, notify.Stats{Sent: 20}, q.Stats())
		assert.NoError(t, q.Close(context.Background()), "idempotent")
		require.ErrorIs(t, q.Enqueue(context.Background(), "late"), notify.ErrClosed)
		assert.Equal(t, notify.Stats{Sent: 20, Dropped: 1}, q.Stats())
		assert.NoError(t, q.Flush(context.Background()), "nothing pending after Close")
	})
}

// TestQueueCloseHanging checks that Close keeps to its context when the
// delivery in progress hangs, whether deliver honours its context (as an
// HTTP request does) or not.
func TestQueueCloseHanging(t *testing.T) {
	for _, honours := range []bool{true, false} {
		t.Run(fmt.Sprintf("deliver honours ctx %v", honours), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				release := make(chan struct{})
				var attempts atomic.Int64
				hang := func(ctx context.Context, _ string) error {
					attempts.Add(1)
					if honours {
						<-ctx.Done()
						return ctx.Err()
					}
					<-release
					return nil // arrives, too late to count
				}
				q := newQueue(t, notify.QueueConfig{Name: "https://hooks.example.com"}, hang)
				for i := range 3 {
					require.NoError(t, q.Enqueue(context.Background(), fmt.Sprint(i)))
				}
				ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
				defer cancel()
				start := time.Now()
				err := q.Close(ctx)
				assert.Equal(t, 300*time.Millisecond, time.Since(start), "Close returns when ctx ends")
				require.ErrorIs(t, err, notify.ErrUndelivered)
				assert.EqualError(t, err, "notify: messages not delivered: 3 messages could not be delivered to https://hooks.example.com before the close ended (3 dropped in all)")
				assert.Equal(t, notify.Stats{Dropped: 3}, q.Stats())
				close(release)
				synctest.Wait() // the delivering goroutine has ended
				assert.Equal(t, notify.Stats{Dropped: 3}, q.Stats(), "counted once")
				assert.EqualValues(t, 1, attempts.Load(), "nothing delivered after Close gave up")
				assert.NoError(t, q.Close(context.Background()))
			})
		})
	}
}

// TestQueueCloseHangingRealTime is TestQueueCloseHanging's first case on
// the real clock: Close ends soon after its context does.
func TestQueueCloseHangingRealTime(t *testing.T) {
	hang := func(ctx context.Context, _ string) error { <-ctx.Done(); return ctx.Err() }
	q := newQueue(t, notify.QueueConfig{}, hang)
	require.NoError(t, q.Enqueue(context.Background(), "x"))
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	start := time.Now()
	require.ErrorIs(t, q.Close(ctx), notify.ErrUndelivered)
	// The exact slack is TestQueueCloseHanging's (fake clock); here, on a
	// possibly busy machine, Close must only end long before the hanging
	// delivery would.
	assert.Less(t, time.Since(start), 1500*time.Millisecond)
	assert.Equal(t, notify.Stats{Dropped: 1}, q.Stats())
}

func TestQueueRefusals(t *testing.T) {
	q := newQueue(t, notify.QueueConfig{}, (&recorder{}).deliver)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, q.Enqueue(ctx, "x"), context.Canceled)
	assert.Equal(t, notify.Stats{Dropped: 1}, q.Stats())
	bad := errors.New("cannot encode")
	assert.Equal(t, bad, q.Drop(bad))
	assert.Equal(t, notify.Stats{Dropped: 2}, q.Stats())
	closeNow(t, q)
}

// TestQueueCountsExactly enqueues from many goroutines, with a buffer too
// small for all, while the Queue delivers and, in the second case, while
// it is closed: every message is counted once.
func TestQueueCountsExactly(t *testing.T) {
	for _, closing := range []bool{false, true} {
		t.Run(fmt.Sprintf("closing %v", closing), func(t *testing.T) {
			var delivered atomic.Uint64
			deliver := func(ctx context.Context, n int) error {
				if n%7 == 0 {
					return notify.Permanent(errors.New("refused"))
				}
				if n%5 == 0 {
					time.Sleep(50 * time.Microsecond)
				}
				delivered.Add(1)
				return nil
			}
			q := newQueue(t, notify.QueueConfig{BufferSize: 50}, deliver)
			const goroutines, each = 8, 400
			var refused atomic.Uint64
			var wg sync.WaitGroup
			for g := range goroutines {
				wg.Go(func() {
					for i := range each {
						if err := q.Enqueue(context.Background(), g*each+i); err != nil {
							refused.Add(1)
						}
					}
				})
			}
			if closing {
				time.Sleep(time.Millisecond)
				ctx, cancel := context.WithTimeout(context.Background(), time.Millisecond)
				_ = q.Close(ctx)
				cancel()
			}
			wg.Wait()
			if !closing {
				require.NoError(t, q.Flush(context.Background()))
			}
			_ = q.Close(context.Background())
			s := q.Stats()
			assert.EqualValues(t, goroutines*each, s.Sent+s.Dropped, "every message counted once")
			assert.Zero(t, s.Pending)
			if !closing {
				assert.Equal(t, delivered.Load(), s.Sent)
				assert.Greater(t, refused.Load(), uint64(0), "the buffer filled up")
			}
			assert.LessOrEqual(t, s.Sent, delivered.Load())
			assert.GreaterOrEqual(t, s.Dropped, refused.Load())
		})
	}
}

func TestQueueConfig(t *testing.T) {
	assert.Equal(t, notify.QueueConfig{BufferSize: 1024, Retries: 5, Backoff: 500 * time.Millisecond, MaxBackoff: 30 * time.Second}, notify.DefaultQueueConfig())
	assert.NoError(t, notify.QueueConfig{}.Validate(), "zero fields mean defaults")
	assert.NoError(t, notify.QueueConfig{Retries: notify.RetryForever}.Validate())

	err := notify.QueueConfig{BufferSize: -1, Retries: -2, Backoff: -1, MaxBackoff: -1}.Validate()
	require.Error(t, err)
	assert.Equal(t, []string{
		"buffer_size -1: want 1 or more messages, or 0 for the default 1024",
		"retries -2: want 0 or more, or -1 to retry until Close",
		"backoff -1ns: want a positive duration, or 0 for the default 500ms",
		"max_backoff -1ns: want a positive duration, or 0 for the default 30s",
	}, strings.Split(err.Error(), "\n"))
	assert.EqualError(t, notify.QueueConfig{Backoff: time.Minute}.Validate(), "backoff 1m0s: want at most max_backoff 30s")

	_, err = notify.NewQueue[string](notify.QueueConfig{BufferSize: -1}, nil)
	assert.EqualError(t, err, "notify: new queue: buffer_size -1: want 1 or more messages, or 0 for the default 1024\ndeliver: nil function")

	q := newQueue(t, notify.QueueConfig{Retries: 2}, (&recorder{}).deliver)
	assert.Equal(t, notify.QueueConfig{Name: "the destination", BufferSize: 1024, Retries: 2, Backoff: 500 * time.Millisecond, MaxBackoff: 30 * time.Second}, q.Config())
	closeNow(t, q)
}

func TestMarks(t *testing.T) {
	assert.NoError(t, notify.Permanent(nil))
	assert.NoError(t, notify.RetryAfter(nil, time.Second))
	base := errors.New("status 429")
	for _, err := range []error{notify.Permanent(base), notify.RetryAfter(base, time.Second), fmt.Errorf("post: %w", notify.Permanent(base))} {
		assert.ErrorIs(t, err, base)
		assert.Contains(t, err.Error(), "status 429")
	}
}

func TestCounter(t *testing.T) {
	var c notify.Counter
	assert.NoError(t, c.Count(nil))
	bad := errors.New("write: broken pipe")
	assert.Equal(t, bad, c.Count(bad))
	assert.NoError(t, c.Count(nil))
	assert.Equal(t, notify.Stats{Sent: 2, Dropped: 1}, c.Stats())
}
