package console

import (
	"context"
	"sync"
)

// Changes is a change counter: whoever owns the data the views show (the
// agent) calls [Changes.Bump] whenever it may have changed (an engine
// event, a round of evaluations, a job run's state), and open pages wait
// for the next bump instead of re-reading every view on a clock ([WithChanges]).
// A bump says only "look again": bumping too often costs a rebuild of the
// open views, missing one delays them until the next bump or
// Config.Wait. The zero value is ready; safe for concurrent use.
type Changes struct {
	mu      sync.Mutex
	version uint64
	closed  bool
	ch      chan struct{} // closed and replaced by every bump
}

// Bump records a change and wakes every waiter. It never blocks (beyond
// the counter's own lock).
func (c *Changes) Bump() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.version++
	if c.ch != nil {
		close(c.ch)
		c.ch = nil
	}
}

// Version returns the current version: it grows by one with every bump.
func (c *Changes) Version() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.version
}

// Close wakes every waiter and makes later waits return at once (call it
// when the HTTP server shuts down, so that waiting pages do not hold the
// shutdown). Bump still counts after Close. Idempotent.
func (c *Changes) Close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.ch != nil {
		close(c.ch)
		c.ch = nil
	}
}

// Wait blocks until the version differs from after, ctx ends, or c is
// closed, and returns the current version. It returns ctx's error when
// ctx ended first (the version is still the current one).
func (c *Changes) Wait(ctx context.Context, after uint64) (uint64, error) {
	for {
		c.mu.Lock()
		if c.version != after || c.closed {
			v := c.version
			c.mu.Unlock()
			return v, nil
		}
		if c.ch == nil {
			c.ch = make(chan struct{})
		}
		ch := c.ch
		c.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return c.Version(), ctx.Err()
		}
	}
}
