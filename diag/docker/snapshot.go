package docker

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
)

// inspected is one selected container as the checks judge it.
type inspected struct {
	summary container.Summary
	ins     container.InspectResult
	set     container.Settings
}

// snapshot is the engine's containers at one moment: all of them as
// listed, the selected ones inspected.
type snapshot struct {
	all      []container.Summary
	selected []inspected // sorted by name, then ID
	isSel    map[string]bool
	// err joins the inspections that failed (a container that vanished
	// meanwhile is not one); the snapshot holds what worked.
	err error
}

// loader makes snapshots, sharing one among the checks that ask for it
// while it is made or less than SnapshotReuse after.
type loader struct {
	mu  sync.Mutex
	cur *pending
}

type pending struct {
	done     chan struct{}
	snap     *snapshot
	err      error
	finished time.Time
}

func (e *checker) snapshot(ctx context.Context) (*snapshot, error) {
	l := e.snaps
	l.mu.Lock()
	if p := l.cur; p != nil {
		select {
		case <-p.done:
			if p.err == nil && time.Since(p.finished) < SnapshotReuse {
				l.mu.Unlock()
				return p.snap, nil
			}
		default:
			l.mu.Unlock()
			select {
			case <-p.done:
				if p.err != nil {
					return nil, p.err
				}
				return p.snap, nil
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		}
	}
	p := &pending{done: make(chan struct{})}
	l.cur = p
	l.mu.Unlock()
	p.snap, p.err = e.load(ctx)
	p.finished = time.Now()
	close(p.done)
	return p.snap, p.err
}

// load lists every container and inspects the selected ones.
func (e *checker) load(ctx context.Context) (*snapshot, error) {
	sel := e.o.Selector
	if sel.Kind != "" && sel.Kind != inventory.KindContainer {
		return nil, fmt.Errorf("selector kind %q: the container checks select containers only", sel.Kind)
	}
	if err := sel.Validate(); err != nil {
		return nil, err
	}
	if len(sel.Scopes) > 0 {
		return nil, fmt.Errorf("select %s: %w (resolve the scopes to names or labels first)", sel, inventory.ErrScopes)
	}
	res, err := e.c.List(ctx, container.ListOptions{All: true})
	if err != nil {
		return nil, err
	}
	s := &snapshot{all: res.Containers, isSel: map[string]bool{}}
	var todo []container.Summary
	for _, c := range res.Containers {
		if sel.Match(c.Target(e.o.Engine)) && sel.MatchState(string(c.State)) {
			todo = append(todo, c)
			s.isSel[c.ID] = true
		}
	}
	got, err := e.inspectAll(ctx, todo)
	s.selected, s.err = got, err
	return s, ctx.Err()
}

// inspectAll inspects cs, Concurrency at a time, skipping containers
// removed meanwhile; the result is sorted by name, then ID.
func (e *checker) inspectAll(ctx context.Context, cs []container.Summary) ([]inspected, error) {
	out := make([]*inspected, len(cs))
	errs := make([]error, len(cs))
	sem := make(chan struct{}, e.o.Concurrency)
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			ins, err := e.c.Inspect(ctx, c.ID, container.InspectOptions{})
			if container.IsNotFound(err) {
				return
			}
			if err != nil {
				errs[i] = err
				return
			}
			set, err := ins.Settings()
			if err != nil {
				errs[i] = err
				return
			}
			out[i] = &inspected{summary: c, ins: ins, set: set}
		}()
	}
	wg.Wait()
	var res []inspected
	for _, x := range out {
		if x != nil {
			res = append(res, *x)
		}
	}
	slices.SortFunc(res, func(a, b inspected) int {
		if c := strings.Compare(a.ins.Name, b.ins.Name); c != 0 {
			return c
		}
		return strings.Compare(a.ins.ID, b.ins.ID)
	})
	return res, errors.Join(errs...)
}

// live says the container runs (or is about to run again): the hygiene
// checks judge only these.
func live(s container.State) bool {
	return s == container.Running || s == container.Restarting || s == container.Paused
}
