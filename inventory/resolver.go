package inventory

import (
	"context"
	"errors"
)

// ErrNoMatch is returned (wrapped) by resolvers and by operations that need
// at least one Target when a Selector matched nothing. Container jobs exit
// with code 1 for it, as the Hinemos Docker job scripts do.
var ErrNoMatch = errors.New("inventory: no target matched")

// Resolver returns the Targets a Selector matches now.
//
// Resolve must be safe for concurrent use. It returns the matching Targets
// sorted by [Target.Key] (an empty slice and nil error when nothing matched:
// whether that is an error is the caller's decision). A non-nil error means
// the source could not be asked (daemon unreachable, ctx expired) or the
// Selector is invalid; the caller owns the returned slice.
type Resolver interface {
	Resolve(ctx context.Context, sel Selector) ([]Target, error)
}

// ResolverFunc adapts a function to [Resolver].
type ResolverFunc func(ctx context.Context, sel Selector) ([]Target, error)

// Resolve calls f(ctx, sel).
func (f ResolverFunc) Resolve(ctx context.Context, sel Selector) ([]Target, error) {
	return f(ctx, sel)
}

// Static returns a Resolver over a fixed set of Targets. It applies
// [Selector.Validate] and [Selector.Match]; States are ignored because a
// static Target has no state; Scopes are refused ([ErrScopes]). Useful for tests and for targets that are not
// discovered (an HA node list, a fixed engine address).
func Static(ts ...Target) Resolver {
	fixed := append([]Target(nil), ts...)
	SortTargets(fixed)
	return ResolverFunc(func(ctx context.Context, sel Selector) ([]Target, error) {
		if err := sel.Validate(); err != nil {
			return nil, err
		}
		if len(sel.Scopes) > 0 {
			return nil, ErrScopes
		}
		out := []Target{}
		for _, t := range fixed {
			if sel.Match(t) {
				out = append(out, t)
			}
		}
		return out, ctx.Err()
	})
}
