package hinemos

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/minato-ops/minato/inventory"
)

// ErrNoEngine is wrapped by [Resolver.Resolve] for container nodes whose
// DOCKER_HOST names no engine the Resolver knows.
var ErrNoEngine = errors.New("hinemos: no engine for the Docker host")

// ErrUnscoped is returned (wrapped) by [Resolver.Resolve] for a Selector
// that names no scopes when no resolver for them was configured
// ([WithUnscoped]).
var ErrUnscoped = errors.New("hinemos: the selector names no scopes and no resolver for all engines is configured")

// Resolver is an [inventory.Resolver] that applies [inventory.Selector]
// Scopes: the containers selected are those whose nodes are in one of the
// scopes, or in a scope below one, of a repository kept by a [Syncer]
// (whether their nodes were put there by the sync, by a
// hinemosAssignScopeId label or by hand).
//
// For each container node in the scopes (a node with a DOCKER_HOST
// variable; host nodes and other nodes are ignored), the engine named by
// its DOCKER_HOST is asked, with the Selector minus its Scopes, and the
// containers it returns are kept when their name is the node's container
// name: the node's facility ID without the "<host>-" prefix (the identity
// the sync keeps, and which a Hinemos user cannot edit), or its facility
// name for a node whose ID lacks that prefix. The container ID in the node
// is not used: it is stale from the moment a container is re-created until
// the next sync. Nodes whose managed flag is off are included, unlike a
// Hinemos monitor or job, which skips them: select by state with
// Selector.States.
//
// Resolve is safe for concurrent use if the repository and the engine
// resolvers are.
type Resolver struct {
	repo     inventory.Repository
	engines  func(hostFacilityID string) (inventory.Resolver, bool)
	unscoped inventory.Resolver
	hosts    map[string]bool // nil: every host
}

// ResolverOption configures a [Resolver].
type ResolverOption func(*Resolver)

// WithUnscoped makes the Resolver pass Selectors that name no scopes to r,
// typically the resolver over every engine (a fleet of engines). Without
// it such Selectors fail with [ErrUnscoped].
func WithUnscoped(r inventory.Resolver) ResolverOption {
	return func(s *Resolver) { s.unscoped = r }
}

// OnlyHosts restricts the Resolver to the container nodes of these hosts
// (engine names): nodes of other hosts in the scopes are left out without
// an error. A check bound to one engine among several uses it, so that the
// scope's containers on the other engines are not its business.
func OnlyHosts(hostFacilityIDs ...string) ResolverOption {
	return func(s *Resolver) {
		s.hosts = map[string]bool{}
		for _, h := range hostFacilityIDs {
			s.hosts[h] = true
		}
	}
}

// NewResolver returns a Resolver over repo. engines returns the resolver
// of the engine whose name (a host facility ID, the DOCKER_HOST of its
// container nodes) is given, and false when no such engine is configured;
// it must be safe for concurrent use and must not block.
func NewResolver(repo inventory.Repository, engines func(hostFacilityID string) (inventory.Resolver, bool), opts ...ResolverOption) (*Resolver, error) {
	if repo == nil {
		return nil, errors.New("hinemos: resolver: nil repository")
	}
	if engines == nil {
		return nil, errors.New("hinemos: resolver: nil engine lookup")
	}
	r := &Resolver{repo: repo, engines: engines}
	for _, o := range opts {
		o(r)
	}
	return r, nil
}

// Resolve returns the containers sel selects, sorted by [inventory.Target.Key].
//
// An invalid Selector, a Kind other than container, a scope that does not
// exist (an error wrapping [inventory.ErrNotFound] that names it) or a
// repository that cannot be read fail the call with no Targets. Engines
// are asked one after the other; a node whose DOCKER_HOST names no engine
// ([ErrNoEngine]) or an engine that fails does not stop the others: their
// Targets are returned together with the joined errors, each naming its
// host.
func (r *Resolver) Resolve(ctx context.Context, sel inventory.Selector) ([]inventory.Target, error) {
	if err := sel.Validate(); err != nil {
		return nil, err
	}
	if len(sel.Scopes) == 0 {
		if r.unscoped == nil {
			return nil, fmt.Errorf("hinemos: resolve %s: %w", sel, ErrUnscoped)
		}
		return r.unscoped.Resolve(ctx, sel)
	}
	if sel.Kind != "" && sel.Kind != inventory.KindContainer {
		return nil, fmt.Errorf("hinemos: resolve %s: scopes select containers, not %s", sel, sel.Kind)
	}
	inScope := map[string]bool{}
	for _, sc := range sel.Scopes {
		ids, err := inventory.ScopeNodes(ctx, r.repo, sc)
		if err != nil {
			return nil, fmt.Errorf("hinemos: scope %s: %w", sc, err)
		}
		for _, id := range ids {
			inScope[id] = true
		}
	}
	nodes, err := r.repo.Nodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("hinemos: list nodes: %w", err)
	}
	byHost := map[string]map[string]string{} // host -> container name -> facility ID
	for _, n := range nodes {
		host := n.Variables[VarHost]
		if !inScope[n.FacilityID] || host == "" || (r.hosts != nil && !r.hosts[host]) {
			continue
		}
		name, ok := strings.CutPrefix(n.FacilityID, host+ContainerSeparator)
		if !ok {
			name = n.FacilityName
		}
		if byHost[host] == nil {
			byHost[host] = map[string]string{}
		}
		byHost[host][name] = n.FacilityID
	}
	inner := sel
	inner.Scopes = nil
	inner.Kind = inventory.KindContainer
	out := []inventory.Target{}
	seen := map[string]bool{}
	var errs []error
	for _, host := range slices.Sorted(maps.Keys(byHost)) {
		er, ok := r.engines(host)
		if !ok || er == nil {
			errs = append(errs, fmt.Errorf("%w %s (container nodes %s)", ErrNoEngine, host, strings.Join(slices.Sorted(maps.Values(byHost[host])), ", ")))
			continue
		}
		ts, err := er.Resolve(ctx, inner)
		if err != nil {
			errs = append(errs, fmt.Errorf("hinemos: engine %s: %w", host, err))
			continue
		}
		for _, t := range ts {
			if t.Kind == inventory.KindContainer && byHost[host][inventory.TrimName(t.Name)] != "" && !seen[t.Key()] {
				seen[t.Key()] = true
				out = append(out, t)
			}
		}
	}
	inventory.SortTargets(out)
	return out, errors.Join(errs...)
}

var _ inventory.Resolver = (*Resolver)(nil)
