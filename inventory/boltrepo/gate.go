package boltrepo

import (
	"context"
	"sync"
	"time"
)

// gate orders one Repo's calls within the process as a readers-writer
// lock that prefers writers: reads share it, a change (or a Batch) holds
// it alone, and once a change waits no new read starts, so that a steady
// stream of reads cannot starve a sync. Unlike sync.RWMutex, a wait ends
// with the deadline or ctx. (The file lock, which orders processes, has
// no such fairness: flock grants a shared lock while an exclusive one
// waits.)
type gate struct {
	mu       sync.Mutex
	readers  int
	writing  bool
	waiting  int           // writers waiting
	released chan struct{} // closed, and replaced, whenever the gate opens
}

func newGate() *gate { return &gate{released: make(chan struct{})} }

// enter takes the gate, for a write or a read, waiting until deadline
// (then it returns false and nil) or until ctx is done (ctx's error).
func (g *gate) enter(ctx context.Context, write bool, deadline time.Time) (bool, error) {
	g.mu.Lock()
	if write {
		g.waiting++
		defer func() {
			g.mu.Lock()
			g.waiting--
			g.mu.Unlock()
			g.open() // a reader may have waited for this writer only
		}()
	}
	for {
		if !g.writing && (write && g.readers == 0 || !write && g.waiting == 0) {
			if write {
				g.writing = true
			} else {
				g.readers++
			}
			g.mu.Unlock()
			return true, nil
		}
		wait := g.released
		g.mu.Unlock()
		left := time.Until(deadline)
		if left <= 0 {
			return false, nil
		}
		timer := time.NewTimer(left)
		select {
		case <-wait:
			timer.Stop()
		case <-ctx.Done():
			timer.Stop()
			return false, ctx.Err()
		case <-timer.C:
			return false, nil
		}
		g.mu.Lock()
	}
}

// leave releases the gate taken by enter.
func (g *gate) leave(write bool) {
	g.mu.Lock()
	if write {
		g.writing = false
	} else {
		g.readers--
	}
	g.mu.Unlock()
	g.open()
}

// open wakes every waiter to look at the gate again.
func (g *gate) open() {
	g.mu.Lock()
	close(g.released)
	g.released = make(chan struct{})
	g.mu.Unlock()
}
