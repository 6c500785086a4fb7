package inventory

import (
	"context"
	"errors"
	"fmt"
	"slices"
)

// Errors a [Repository] returns, wrapped with the facility ID concerned.
var (
	// ErrNotFound: no node or scope has that facility ID.
	ErrNotFound = errors.New("inventory: no such facility")
	// ErrConflict: the call would break the repository's rules (a node and
	// a scope with one facility ID, a scope that would contain itself, a
	// scope deleted while it still has child scopes).
	ErrConflict = errors.New("inventory: conflict")
	// ErrInvalid: a malformed node, scope or facility ID.
	ErrInvalid = errors.New("inventory: invalid")
)

// MaxFacilityIDLen is the longest facility ID a repository accepts, as in
// the Hinemos repository.
const MaxFacilityIDLen = 512

// ValidFacilityID reports, as an [ErrInvalid] error naming the ID, whether
// id can be a facility ID: 1 to 512 characters among ASCII letters, digits
// and "-", "_", ".", "@", as the Hinemos repository allows.
func ValidFacilityID(id string) error {
	if id == "" {
		return fmt.Errorf("%w: empty facility ID", ErrInvalid)
	}
	if len(id) > MaxFacilityIDLen {
		return fmt.Errorf("%w: facility ID %.40q...: %d characters, at most %d", ErrInvalid, id, len(id), MaxFacilityIDLen)
	}
	for _, r := range id {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.' || r == '@') {
			return fmt.Errorf("%w: facility ID %q: %q is not allowed (letters, digits, -, _, . and @)", ErrInvalid, id, r)
		}
	}
	return nil
}

// Node is one managed node of a repository: a Docker host or a container,
// with the properties a Hinemos repository node has.
type Node struct {
	// FacilityID identifies the node; unique across nodes and scopes.
	FacilityID string `json:"facility_id"`
	// FacilityName is the display name (the container or host name).
	FacilityName string `json:"facility_name"`
	// Description is free text.
	Description string `json:"description,omitempty"`
	// Managed says whether monitors and jobs address the node (Hinemos's
	// managed flag): on for running containers, off otherwise.
	Managed bool `json:"managed"`
	// Platform is the Hinemos platform ("LINUX").
	Platform string `json:"platform"`
	// IPVersion is 4 or 6; IPv4 and IPv6 the node's addresses.
	IPVersion int    `json:"ip_version"`
	IPv4      string `json:"ipv4,omitempty"`
	IPv6      string `json:"ipv6,omitempty"`
	// HostName and NodeName are the node's host name and node name (for
	// containers, the 12-character container ID).
	HostName string `json:"host_name,omitempty"`
	NodeName string `json:"node_name,omitempty"`
	// Variables are the node variables (DOCKER_CONTAINER_ID, DOCKER_HOST, ...).
	Variables map[string]string `json:"variables,omitempty"`
}

// Validate checks the facility ID and the IP version.
func (n Node) Validate() error {
	var errs []error
	if err := ValidFacilityID(n.FacilityID); err != nil {
		errs = append(errs, fmt.Errorf("node: %w", err))
	}
	if n.IPVersion != 0 && n.IPVersion != 4 && n.IPVersion != 6 {
		errs = append(errs, fmt.Errorf("%w: node %s: ip_version %d: want 4 or 6", ErrInvalid, n.FacilityID, n.IPVersion))
	}
	return errors.Join(errs...)
}

// Clone returns a deep copy of the node.
func (n Node) Clone() Node {
	n.Variables = cloneMap(n.Variables)
	return n
}

// Scope is a named group of nodes (a Hinemos scope). Scopes form a tree
// through Parent; a node may belong to many scopes.
type Scope struct {
	// FacilityID identifies the scope; unique across nodes and scopes.
	FacilityID string `json:"facility_id"`
	// FacilityName is the display name.
	FacilityName string `json:"facility_name"`
	// Description is free text.
	Description string `json:"description,omitempty"`
	// Parent is the facility ID of the enclosing scope, empty at the top.
	Parent string `json:"parent,omitempty"`
}

// Validate checks the facility IDs.
func (s Scope) Validate() error {
	var errs []error
	if err := ValidFacilityID(s.FacilityID); err != nil {
		errs = append(errs, fmt.Errorf("scope: %w", err))
	}
	if s.Parent != "" {
		if err := ValidFacilityID(s.Parent); err != nil {
			errs = append(errs, fmt.Errorf("scope %s: parent: %w", s.FacilityID, err))
		}
		if s.Parent == s.FacilityID {
			errs = append(errs, fmt.Errorf("%w: scope %s cannot be its own parent", ErrConflict, s.FacilityID))
		}
	}
	return errors.Join(errs...)
}

// Repository holds nodes, scopes and the assignment of nodes to scopes:
// the Hinemos repository, minato's embedded one, or a CMDB.
//
// Every method is idempotent: calling it twice with the same arguments
// leaves the repository as calling it once did, and the second call
// succeeds (putting an identical node, deleting an absent one, assigning a
// node already assigned). Methods must be safe for concurrent use; they
// block until the change is durable and return an error wrapping
// [ErrNotFound], [ErrConflict] or [ErrInvalid] for the caller's mistakes,
// anything else when the repository could not be read or written. Slices
// and maps passed in or returned are owned by the caller.
type Repository interface {
	// Node returns the node with that facility ID ([ErrNotFound] if none).
	Node(ctx context.Context, facilityID string) (Node, error)
	// Nodes returns every node, sorted by facility ID.
	Nodes(ctx context.Context) ([]Node, error)
	// PutNode creates the node or replaces every property of the existing
	// one; assignments are kept. [ErrConflict] if a scope has the ID.
	PutNode(ctx context.Context, n Node) error
	// DeleteNode removes the node and its assignments; an absent node is
	// not an error.
	DeleteNode(ctx context.Context, facilityID string) error
	// Scope returns the scope with that facility ID ([ErrNotFound] if none).
	Scope(ctx context.Context, facilityID string) (Scope, error)
	// Scopes returns every scope, sorted by facility ID.
	Scopes(ctx context.Context) ([]Scope, error)
	// PutScope creates the scope or replaces its name, description and
	// parent. The parent must exist ([ErrNotFound]); [ErrConflict] if a
	// node has the ID or the parent lies inside the scope.
	PutScope(ctx context.Context, s Scope) error
	// DeleteScope removes the scope and its assignments (the nodes stay);
	// [ErrConflict] while it has child scopes; an absent scope is not an
	// error.
	DeleteScope(ctx context.Context, facilityID string) error
	// Assign puts the nodes in the scope. The scope and every node must
	// exist ([ErrNotFound], and then nothing is assigned).
	Assign(ctx context.Context, scopeID string, nodeIDs ...string) error
	// Unassign takes the nodes out of the scope; nodes not in it are
	// ignored; [ErrNotFound] if the scope does not exist.
	Unassign(ctx context.Context, scopeID string, nodeIDs ...string) error
	// Members returns the facility IDs of the nodes assigned directly to
	// the scope, sorted ([ErrNotFound] if the scope does not exist).
	Members(ctx context.Context, scopeID string) ([]string, error)
}

// Batcher is implemented by repositories that can apply several changes
// at once. Batch calls fn with a Repository whose changes become durable
// together when fn returns nil and are all discarded when it returns an
// error (which Batch returns). The Repository passed to fn is valid only
// during the call and must not be used from other goroutines. Callers
// doing many changes (a sync of hundreds of containers) use it when the
// repository offers it, through [Batch].
type Batcher interface {
	Batch(ctx context.Context, fn func(Repository) error) error
}

// Batch runs fn in one batch when repo is a [Batcher], and directly on
// repo otherwise (each change then durable on its own).
func Batch(ctx context.Context, repo Repository, fn func(Repository) error) error {
	if b, ok := repo.(Batcher); ok {
		return b.Batch(ctx, fn)
	}
	return fn(repo)
}

// ScopeNodes returns the facility IDs of the nodes in the scope or in any
// scope below it, sorted and without duplicates ([ErrNotFound] if the
// scope does not exist).
func ScopeNodes(ctx context.Context, repo Repository, scopeID string) ([]string, error) {
	if _, err := repo.Scope(ctx, scopeID); err != nil {
		return nil, err
	}
	all, err := repo.Scopes(ctx)
	if err != nil {
		return nil, err
	}
	children := map[string][]string{}
	for _, s := range all {
		children[s.Parent] = append(children[s.Parent], s.FacilityID)
	}
	seen := map[string]bool{}
	var out []string
	visited := map[string]bool{}
	queue := []string{scopeID}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		if visited[id] {
			continue
		}
		visited[id] = true
		ms, err := repo.Members(ctx, id)
		if err != nil {
			return nil, err
		}
		for _, m := range ms {
			if !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
		queue = append(queue, children[id]...)
	}
	slices.Sort(out)
	return out, nil
}
