package inventory

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
)

// MemRepository is a [Repository] held in memory: the reference
// implementation of the Repository contract, for tests and for programs
// that keep no repository between runs. It also implements [Batcher].
//
// It is safe for concurrent use: reads share a lock, each change takes it
// alone. Nothing blocks but on that lock, so every call returns at once
// unless a [MemRepository.Batch] is running. A change is "durable" when the
// call returns: it is visible to every later call, and lost with the
// process. Every call first checks ctx and returns its error when it is
// done. Caller mistakes are reported as [Repository] says; a malformed
// facility ID is [ErrInvalid] in every call, lookups and deletions
// included.
//
// The zero value is not usable: call [NewMemRepository].
type MemRepository struct {
	mu sync.RWMutex
	st *memState
}

var (
	_ Repository = (*MemRepository)(nil)
	_ Batcher    = (*MemRepository)(nil)
)

// NewMemRepository returns an empty in-memory repository.
func NewMemRepository() *MemRepository {
	return &MemRepository{st: newMemState()}
}

// Node implements [Repository].
func (m *MemRepository) Node(ctx context.Context, facilityID string) (Node, error) {
	if err := ctx.Err(); err != nil {
		return Node{}, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.st.node(facilityID)
}

// Nodes implements [Repository].
func (m *MemRepository) Nodes(ctx context.Context) ([]Node, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.st.allNodes(), nil
}

// PutNode implements [Repository].
func (m *MemRepository) PutNode(ctx context.Context, n Node) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.putNode(n)
}

// DeleteNode implements [Repository].
func (m *MemRepository) DeleteNode(ctx context.Context, facilityID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.deleteNode(facilityID)
}

// Scope implements [Repository].
func (m *MemRepository) Scope(ctx context.Context, facilityID string) (Scope, error) {
	if err := ctx.Err(); err != nil {
		return Scope{}, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.st.scope(facilityID)
}

// Scopes implements [Repository].
func (m *MemRepository) Scopes(ctx context.Context) ([]Scope, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.st.allScopes(), nil
}

// PutScope implements [Repository].
func (m *MemRepository) PutScope(ctx context.Context, s Scope) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.putScope(s)
}

// DeleteScope implements [Repository].
func (m *MemRepository) DeleteScope(ctx context.Context, facilityID string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.deleteScope(facilityID)
}

// Assign implements [Repository].
func (m *MemRepository) Assign(ctx context.Context, scopeID string, nodeIDs ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.assign(scopeID, nodeIDs)
}

// Unassign implements [Repository].
func (m *MemRepository) Unassign(ctx context.Context, scopeID string, nodeIDs ...string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.st.unassign(scopeID, nodeIDs)
}

// Members implements [Repository].
func (m *MemRepository) Members(ctx context.Context, scopeID string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.st.scopeMembers(scopeID)
}

// Batch implements [Batcher]. fn runs on a copy of the repository, which
// replaces the repository's content when fn returns nil and is dropped
// when it returns an error (or panics). Batch holds the repository's lock
// while fn runs: other calls wait for the batch to end, and fn must not
// call m's own methods (they would wait for ever); it uses the Repository
// it is given, which fails every call once Batch has returned. A batch
// costs a copy of the whole repository.
func (m *MemRepository) Batch(ctx context.Context, fn func(Repository) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	tx := &memTx{st: m.st.clone()}
	defer tx.end()
	if err := fn(tx); err != nil {
		return err
	}
	m.st = tx.st
	return nil
}

// errBatchEnded is returned by the Repository of a batch used after the
// batch ended.
var errBatchEnded = errors.New("inventory: the repository of a batch was used after the batch ended")

// memTx is the Repository a MemRepository's Batch gives fn: a private
// copy of the state. Its lock only guards against misuse from several
// goroutines.
type memTx struct {
	mu   sync.Mutex
	st   *memState
	done bool
}

func (t *memTx) end() {
	t.mu.Lock()
	t.done = true
	t.mu.Unlock()
}

// enter locks t for one call, failing when the batch has ended or ctx is
// done.
func (t *memTx) enter(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	t.mu.Lock()
	if t.done {
		t.mu.Unlock()
		return errBatchEnded
	}
	return nil
}

func (t *memTx) Node(ctx context.Context, facilityID string) (Node, error) {
	if err := t.enter(ctx); err != nil {
		return Node{}, err
	}
	defer t.mu.Unlock()
	return t.st.node(facilityID)
}

func (t *memTx) Nodes(ctx context.Context) ([]Node, error) {
	if err := t.enter(ctx); err != nil {
		return nil, err
	}
	defer t.mu.Unlock()
	return t.st.allNodes(), nil
}

func (t *memTx) PutNode(ctx context.Context, n Node) error {
	if err := t.enter(ctx); err != nil {
		return err
	}
	defer t.mu.Unlock()
	return t.st.putNode(n)
}

func (t *memTx) DeleteNode(ctx context.Context, facilityID string) error {
	if err := t.enter(ctx); err != nil {
		return err
	}
	defer t.mu.Unlock()
	return t.st.deleteNode(facilityID)
}

func (t *memTx) Scope(ctx context.Context, facilityID string) (Scope, error) {
	if err := t.enter(ctx); err != nil {
		return Scope{}, err
	}
	defer t.mu.Unlock()
	return t.st.scope(facilityID)
}

func (t *memTx) Scopes(ctx context.Context) ([]Scope, error) {
	if err := t.enter(ctx); err != nil {
		return nil, err
	}
	defer t.mu.Unlock()
	return t.st.allScopes(), nil
}

func (t *memTx) PutScope(ctx context.Context, s Scope) error {
	if err := t.enter(ctx); err != nil {
		return err
	}
	defer t.mu.Unlock()
	return t.st.putScope(s)
}

func (t *memTx) DeleteScope(ctx context.Context, facilityID string) error {
	if err := t.enter(ctx); err != nil {
		return err
	}
	defer t.mu.Unlock()
	return t.st.deleteScope(facilityID)
}

func (t *memTx) Assign(ctx context.Context, scopeID string, nodeIDs ...string) error {
	if err := t.enter(ctx); err != nil {
		return err
	}
	defer t.mu.Unlock()
	return t.st.assign(scopeID, nodeIDs)
}

func (t *memTx) Unassign(ctx context.Context, scopeID string, nodeIDs ...string) error {
	if err := t.enter(ctx); err != nil {
		return err
	}
	defer t.mu.Unlock()
	return t.st.unassign(scopeID, nodeIDs)
}

func (t *memTx) Members(ctx context.Context, scopeID string) ([]string, error) {
	if err := t.enter(ctx); err != nil {
		return nil, err
	}
	defer t.mu.Unlock()
	return t.st.scopeMembers(scopeID)
}

// memState is the content of a MemRepository; its methods do the work,
// unlocked, and change nothing when they fail.
type memState struct {
	nodes   map[string]Node
	scopes  map[string]Scope
	members map[string]map[string]struct{} // scope ID → node IDs; every scope has an entry
}

func newMemState() *memState {
	return &memState{nodes: map[string]Node{}, scopes: map[string]Scope{}, members: map[string]map[string]struct{}{}}
}

// clone returns a deep copy of s.
func (s *memState) clone() *memState {
	c := &memState{
		nodes:   make(map[string]Node, len(s.nodes)),
		scopes:  maps.Clone(s.scopes),
		members: make(map[string]map[string]struct{}, len(s.members)),
	}
	for id, n := range s.nodes {
		c.nodes[id] = n.Clone()
	}
	for id, m := range s.members {
		c.members[id] = maps.Clone(m)
	}
	return c
}

// checkIDs returns an [ErrInvalid] error for the first malformed ID,
// prefixed with what it is.
func checkIDs(what string, ids ...string) error {
	for _, id := range ids {
		if err := ValidFacilityID(id); err != nil {
			return fmt.Errorf("%s: %w", what, err)
		}
	}
	return nil
}

func (s *memState) node(id string) (Node, error) {
	if err := checkIDs("node", id); err != nil {
		return Node{}, err
	}
	n, ok := s.nodes[id]
	if !ok {
		_, isScope := s.scopes[id]
		return Node{}, notFound("node", id, isScope)
	}
	return n.Clone(), nil
}

// notFound is the ErrNotFound error for the node or scope id; isOther says
// that id is the other kind of facility.
func notFound(kind, id string, isOther bool) error {
	if isOther {
		other := "node"
		if kind == "node" {
			other = "scope"
		}
		return fmt.Errorf("%w: %s %s (a %s has that facility ID)", ErrNotFound, kind, id, other)
	}
	return fmt.Errorf("%w: %s %s", ErrNotFound, kind, id)
}

func (s *memState) allNodes() []Node {
	out := make([]Node, 0, len(s.nodes))
	for _, id := range slices.Sorted(maps.Keys(s.nodes)) {
		out = append(out, s.nodes[id].Clone())
	}
	return out
}

func (s *memState) putNode(n Node) error {
	if err := n.Validate(); err != nil {
		return err
	}
	if _, ok := s.scopes[n.FacilityID]; ok {
		return fmt.Errorf("%w: node %s: a scope has that facility ID", ErrConflict, n.FacilityID)
	}
	s.nodes[n.FacilityID] = n.Clone()
	return nil
}

func (s *memState) deleteNode(id string) error {
	if err := checkIDs("node", id); err != nil {
		return err
	}
	if _, ok := s.nodes[id]; !ok {
		return nil
	}
	delete(s.nodes, id)
	for _, m := range s.members {
		delete(m, id)
	}
	return nil
}

func (s *memState) scope(id string) (Scope, error) {
	if err := checkIDs("scope", id); err != nil {
		return Scope{}, err
	}
	sc, ok := s.scopes[id]
	if !ok {
		_, isNode := s.nodes[id]
		return Scope{}, notFound("scope", id, isNode)
	}
	return sc, nil
}

func (s *memState) allScopes() []Scope {
	out := make([]Scope, 0, len(s.scopes))
	for _, id := range slices.Sorted(maps.Keys(s.scopes)) {
		out = append(out, s.scopes[id])
	}
	return out
}

func (s *memState) putScope(sc Scope) error {
	if err := sc.Validate(); err != nil {
		return err
	}
	id := sc.FacilityID
	if _, ok := s.nodes[id]; ok {
		return fmt.Errorf("%w: scope %s: a node has that facility ID", ErrConflict, id)
	}
	if sc.Parent != "" {
		if _, ok := s.scopes[sc.Parent]; !ok {
			_, isNode := s.nodes[sc.Parent]
			return fmt.Errorf("scope %s: parent: %w", id, notFound("scope", sc.Parent, isNode))
		}
		// The parent must not lie inside the scope: walk up from it.
		for p := sc.Parent; p != ""; p = s.scopes[p].Parent {
			if p == id {
				return fmt.Errorf("%w: scope %s: parent %s lies inside it", ErrConflict, id, sc.Parent)
			}
		}
	}
	s.scopes[id] = sc
	if s.members[id] == nil {
		s.members[id] = map[string]struct{}{}
	}
	return nil
}

func (s *memState) deleteScope(id string) error {
	if err := checkIDs("scope", id); err != nil {
		return err
	}
	if _, ok := s.scopes[id]; !ok {
		return nil
	}
	if children := childScopes(s.allScopes(), id); len(children) > 0 {
		return fmt.Errorf("%w: scope %s still has child scopes: %s", ErrConflict, id, listIDs(children))
	}
	delete(s.scopes, id)
	delete(s.members, id)
	return nil
}

// childScopes returns the IDs of the scopes whose parent is id, in the
// order of all.
func childScopes(all []Scope, id string) []string {
	var out []string
	for _, sc := range all {
		if sc.Parent == id {
			out = append(out, sc.FacilityID)
		}
	}
	return out
}

// listIDs joins ids for an error message, at most five of them.
func listIDs(ids []string) string {
	if len(ids) > 5 {
		return strings.Join(ids[:5], ", ") + fmt.Sprintf(" and %d more", len(ids)-5)
	}
	return strings.Join(ids, ", ")
}

func (s *memState) assign(scopeID string, nodeIDs []string) error {
	if err := checkIDs("assign: scope", scopeID); err != nil {
		return err
	}
	if err := checkIDs("assign: node", nodeIDs...); err != nil {
		return err
	}
	m, ok := s.members[scopeID]
	if !ok {
		_, isNode := s.nodes[scopeID]
		return fmt.Errorf("assign: %w", notFound("scope", scopeID, isNode))
	}
	var missing []string
	for _, id := range nodeIDs {
		if _, ok := s.nodes[id]; !ok && !slices.Contains(missing, id) {
			missing = append(missing, id)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("assign to scope %s: %w: node %s (nothing assigned)", scopeID, ErrNotFound, listIDs(missing))
	}
	for _, id := range nodeIDs {
		m[id] = struct{}{}
	}
	return nil
}

func (s *memState) unassign(scopeID string, nodeIDs []string) error {
	if err := checkIDs("unassign: scope", scopeID); err != nil {
		return err
	}
	if err := checkIDs("unassign: node", nodeIDs...); err != nil {
		return err
	}
	m, ok := s.members[scopeID]
	if !ok {
		_, isNode := s.nodes[scopeID]
		return fmt.Errorf("unassign: %w", notFound("scope", scopeID, isNode))
	}
	for _, id := range nodeIDs {
		delete(m, id)
	}
	return nil
}

func (s *memState) scopeMembers(scopeID string) ([]string, error) {
	if err := checkIDs("scope", scopeID); err != nil {
		return nil, err
	}
	m, ok := s.members[scopeID]
	if !ok {
		_, isNode := s.nodes[scopeID]
		return nil, notFound("scope", scopeID, isNode)
	}
	return slices.Sorted(maps.Keys(m)), nil
}
