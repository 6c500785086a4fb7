package docker

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
)

// Set is several containers as one [ha.Resource] (an application and its
// sidecar, a Compose-like stack): activated in the order given,
// deactivated in reverse. Use it when the containers fail and recover
// together; give them separate group members instead when each should be
// restarted on its own. Its methods are safe for concurrent use.
type Set struct {
	members []*Resource
}

var _ ha.Resource = (*Set)(nil)

// NewSet returns the Set of members, in activation order. It needs at
// least one member, no nil member and no container twice.
func NewSet(members ...*Resource) (*Set, error) {
	if len(members) == 0 {
		return nil, errors.New("ha/docker: a set needs at least one container")
	}
	seen := map[string]bool{}
	for i, m := range members {
		if m == nil {
			return nil, fmt.Errorf("ha/docker: set member %d is nil", i)
		}
		if seen[m.Name()] {
			return nil, fmt.Errorf("ha/docker: container %s is in the set twice", m.Name())
		}
		seen[m.Name()] = true
	}
	return &Set{members: append([]*Resource(nil), members...)}, nil
}

// Members returns the containers in activation order. The slice is a
// copy.
func (s *Set) Members() []*Resource { return append([]*Resource(nil), s.members...) }

// Activate activates each container in order (see [Resource.Activate]).
// When one fails, those this call activated before it are deactivated
// again, in reverse, so that a failed activation leaves nothing half up;
// the error is the failed container's, its detail prefixed with the
// container's name, and any rollback failure is joined to it.
func (s *Set) Activate(ctx context.Context, node inventory.Target) error {
	for i, m := range s.members {
		err := m.Activate(ctx, node)
		if err == nil {
			continue
		}
		re := named(m.Name(), err)
		var rollback []error
		for j := i - 1; j >= 0; j-- {
			if derr := s.members[j].Deactivate(context.WithoutCancel(ctx), node); derr != nil {
				rollback = append(rollback, fmt.Errorf("rolling back %s: %w", s.members[j].Name(), derr))
			}
		}
		if len(rollback) > 0 {
			return errors.Join(append([]error{re}, rollback...)...)
		}
		return re
	}
	return nil
}

// Deactivate deactivates every container in reverse order, going on past
// failures. The error, if any, has the first failure's code and every
// failure's detail, each prefixed with its container's name.
func (s *Set) Deactivate(ctx context.Context, node inventory.Target) error {
	var first *ha.ResourceError
	var details []string
	var errs []error
	for i := len(s.members) - 1; i >= 0; i-- {
		m := s.members[i]
		if err := m.Deactivate(ctx, node); err != nil {
			re := named(m.Name(), err)
			if first == nil {
				first = re
			}
			details = append(details, re.Detail)
			errs = append(errs, err)
		}
	}
	if first == nil {
		return nil
	}
	return &ha.ResourceError{Code: first.Code, Detail: strings.Join(details, "; "), Err: errors.Join(errs...)}
}

// Check checks every container and returns the worst verdict (see
// [monitor.Worst]); the Code and Message are those of the first container
// with that verdict, or, when all are OK, a count. A Critical container
// makes the set Critical even when another one could not be checked; only
// when none is Critical does a failed check make Check return an error
// (the joined errors).
func (s *Set) Check(ctx context.Context, t inventory.Target) (monitor.Result, error) {
	var results []monitor.Result
	var errs []error
	worst := monitor.OK
	for _, m := range s.members {
		res, err := m.Check(ctx, t)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", m.Name(), err))
			continue
		}
		results = append(results, res)
		worst = monitor.Worst(worst, res.Status)
	}
	if worst != monitor.Critical && len(errs) > 0 {
		return monitor.Result{}, errors.Join(errs...)
	}
	out := monitor.Result{Time: time.Now(), Status: worst}
	if worst == monitor.OK {
		out.Message = fmt.Sprintf("%d containers running", len(results))
		if len(results) == 1 {
			out.Message = results[0].Message
		}
		return out, nil
	}
	for _, r := range results {
		if r.Status == worst {
			out.Code, out.Message = r.Code, r.Message
			break
		}
	}
	return out, nil
}

// named returns err as a ResourceError whose detail starts with the
// container's name, when it does not already name it.
func named(name string, err error) *ha.ResourceError {
	re := ha.AsResourceError(err)
	if strings.Contains(re.Detail, name) {
		return re
	}
	return &ha.ResourceError{Code: re.Code, Detail: name + ": " + re.Detail, Err: re.Err}
}
