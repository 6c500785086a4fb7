package hinemos

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/minato-ops/minato/inventory"
)

// Endpointer is implemented by repositories reached over the network, such
// as a Hinemos manager. The run log then prints the endpoint URL and user
// name the way the Hinemos scripts print their login; it never prints a
// password. Endpoint must not block.
type Endpointer interface {
	Endpoint() (url, user string)
}

// Syncer keeps the nodes and scopes of one Docker host in a
// [inventory.Repository] in step with the host's containers, as the
// Hinemos Docker kit's RepositoryDockerNodeAdd, Delete and Update scripts
// do. See the package documentation for what each run does.
//
// A Syncer is safe for concurrent use; its runs are serialised (a run
// waits for the one in progress, or for its ctx to end). Every run goes
// through [inventory.Batch], so against a repository that is an
// [inventory.Batcher] it is one transaction: on error nothing is written.
type Syncer struct {
	cfg  Config
	repo inventory.Repository
	log  io.Writer
	msg  *messages
	sem  chan struct{}
}

// Option configures a [Syncer].
type Option func(*Syncer)

// WithLog makes the Syncer write its run log, the scripts' lines in the
// language of [Config.Lang], to w (one line per write). A nil w, or no
// WithLog, writes nothing. Write errors are ignored: the [Report] is the
// result, the log a transcript.
func WithLog(w io.Writer) Option {
	return func(s *Syncer) { s.log = w }
}

// New returns a Syncer for the host cfg describes, writing to repo.
func New(cfg Config, repo inventory.Repository, opts ...Option) (*Syncer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("hinemos: %w", err)
	}
	if repo == nil {
		return nil, errors.New("hinemos: nil repository")
	}
	s := &Syncer{cfg: cfg, repo: repo, msg: &english, sem: make(chan struct{}, 1)}
	if cfg.Lang == LangJapanese {
		s.msg = &japanese
	}
	for _, o := range opts {
		o(s)
	}
	if s.log == nil {
		s.log = io.Discard
	}
	return s, nil
}

// Config returns the Config the Syncer was created with.
func (s *Syncer) Config() Config { return s.cfg }

// Report is what one run did. Lists hold facility IDs in the order the run
// met them; a list is empty when nothing of that sort happened.
type Report struct {
	// ScopesCreated are the scopes created (docker_container,
	// docker_host, docker_map, the host's scope).
	ScopesCreated []string `json:"scopes_created,omitempty"`
	// Created are the nodes created: the host node, then container nodes.
	Created []string `json:"created,omitempty"`
	// Updated are the container nodes whose properties changed.
	Updated []string `json:"updated,omitempty"`
	// Deleted are the container nodes deleted.
	Deleted []string `json:"deleted,omitempty"`
	// Assigned are the assignments made.
	Assigned []Assignment `json:"assigned,omitempty"`
	// Skipped are the nodes met and left as they were: existing nodes
	// (Add), nodes of current containers (Delete), nodes whose state and
	// properties did not change, missing nodes and nodes of other hosts
	// (Update).
	Skipped []string `json:"skipped,omitempty"`
	// MissingScopes are the label assignments skipped because the scope
	// does not exist (or is not a valid facility ID); the sync never
	// creates label scopes.
	MissingScopes []Assignment `json:"missing_scopes,omitempty"`
	// Invalid are the names of containers that cannot be nodes: their
	// facility ID would not be valid.
	Invalid []string `json:"invalid,omitempty"`
}

// Assignment is a node in a scope.
type Assignment struct {
	// Scope is the scope's facility ID.
	Scope string `json:"scope"`
	// Node is the node's facility ID.
	Node string `json:"node"`
}

// String summarises the Report in one line of counts.
func (r Report) String() string {
	return fmt.Sprintf("%d scopes created, %d nodes created, %d updated, %d deleted, %d assigned, %d skipped, %d missing label scopes, %d invalid containers",
		len(r.ScopesCreated), len(r.Created), len(r.Updated), len(r.Deleted), len(r.Assigned), len(r.Skipped), len(r.MissingScopes), len(r.Invalid))
}

// merge appends o to r; Skipped then keeps only nodes no run changed, once.
func (r *Report) merge(o Report) {
	r.ScopesCreated = append(r.ScopesCreated, o.ScopesCreated...)
	r.Created = append(r.Created, o.Created...)
	r.Updated = append(r.Updated, o.Updated...)
	r.Deleted = append(r.Deleted, o.Deleted...)
	r.Assigned = append(r.Assigned, o.Assigned...)
	r.Skipped = append(r.Skipped, o.Skipped...)
	r.MissingScopes = append(r.MissingScopes, o.MissingScopes...)
	r.Invalid = append(r.Invalid, o.Invalid...)
	changed := map[string]bool{}
	for _, l := range [][]string{r.Created, r.Updated, r.Deleted} {
		for _, id := range l {
			changed[id] = true
		}
	}
	r.Skipped = slices.DeleteFunc(r.Skipped, func(id string) bool {
		dup := changed[id]
		changed[id] = true
		return dup
	})
	r.MissingScopes = uniq(r.MissingScopes)
	r.Invalid = uniq(r.Invalid)
	r.Updated = uniq(r.Updated)
}

func uniq[T comparable](s []T) []T {
	seen := map[T]bool{}
	return slices.DeleteFunc(s, func(v T) bool {
		dup := seen[v]
		seen[v] = true
		return dup
	})
}

// Add registers the containers that have no node yet, as
// RepositoryDockerNodeAdd.py does: it creates the scopes docker_container,
// docker_host, docker_map and the host's scope (under docker_map) when
// missing, the host node when missing (assigning it to docker_host), and
// one node per container without one, assigned to docker_container and the
// host's scope and to the existing scopes its hinemosAssignScopeId label
// names. Existing nodes are skipped (a node of this host missing from
// docker_container or the host's scope is put back there).
//
// items are the containers of this Docker host: container Items of one
// engine (other kinds are ignored; items of several engines are refused
// with [inventory.ErrInvalid]). The error is a repository failure or
// ctx's; the Report then lists what was done before it, or nothing when
// the repository is a Batcher (nothing was written).
func (s *Syncer) Add(ctx context.Context, items []inventory.Item) (Report, error) {
	return s.run(ctx, items, s.add)
}

// Delete deletes the nodes of containers that no longer exist, as
// RepositoryDockerNodeDelete.py does. Its candidates are the container
// nodes of this host: nodes whose DOCKER_HOST variable is the host's
// facility ID and whose facility ID begins with "<host>-"; a candidate is
// deleted (with its assignments) when no container in items produces its
// facility ID. Nodes of other hosts, or created by hand, are never
// touched.
//
// items must be the complete container list of the host, all states: a
// container missing from it loses its node. Never pass the Items of an
// engine that could not be listed ([EngineItems] refuses them). Errors and
// the Report are as for [Syncer.Add].
func (s *Syncer) Delete(ctx context.Context, items []inventory.Item) (Report, error) {
	return s.run(ctx, items, s.delete)
}

// Update brings the nodes of this host's containers up to date, as
// RepositoryDockerNodeUpdate.py does: DOCKER_STATUS follows the container
// state and, when it changes, the managed flag with it (on for running);
// the other DOCKER_* variables, host and node name (the 12-character
// container ID, new when a container was re-created under its name) and
// the IPv4 address are refreshed; hinemosAssignScopeId labels are applied
// again (assigning scopes created since, never unassigning). Containers
// without a node are skipped (Add creates them), as are nodes of other
// hosts. Errors and the Report are as for [Syncer.Add].
func (s *Syncer) Update(ctx context.Context, items []inventory.Item) (Report, error) {
	return s.run(ctx, items, s.update)
}

// Sync runs Add, Delete and Update in that order, as the scripts' cron
// wrapper does, in one batch, and returns their Reports merged (Skipped
// then lists the nodes no step changed). The log holds the three runs'
// transcripts one after the other. Errors are as for [Syncer.Add].
func (s *Syncer) Sync(ctx context.Context, items []inventory.Item) (Report, error) {
	return s.run(ctx, items, s.add, s.delete, s.update)
}

// EngineItems returns the container Items of the engine named engine in
// snap, ready for a [Syncer]. It fails when snap did not ask that engine
// ([inventory.ErrNotFound]) or the engine did not answer (an
// [*inventory.EngineError]): an engine that cannot be listed says nothing
// about its containers, and syncing it would delete every node. snap must
// list every container of the engine (a Snapshot taken with a Selector
// naming only a Kind); a narrower Snapshot would make Delete remove the
// nodes of the containers it left out.
func EngineItems(snap inventory.Snapshot, engine string) ([]inventory.Item, error) {
	e, ok := snap.Engine(engine)
	if !ok {
		return nil, fmt.Errorf("hinemos: engine %s: %w: not in the snapshot", engine, inventory.ErrNotFound)
	}
	if !e.Up() {
		return nil, &inventory.EngineError{Engine: e.Name, Endpoint: e.Endpoint, Err: e.Error}
	}
	out := []inventory.Item{}
	for _, it := range snap.Items {
		if it.Target.Kind == inventory.KindContainer && it.Target.Engine == e.Endpoint {
			out = append(out, it)
		}
	}
	return out, nil
}

// ctr is one container as the sync sees it.
type ctr struct {
	fid, name, id12, state, status string
	image, command, ports          string
	hasImage, hasCommand, hasPorts bool
	labels                         []string // parsed hinemosAssignScopeId
	invalid                        error
}

// phase is one of Add, Delete, Update, run inside the batch.
type phase func(ctx context.Context, r inventory.Repository, l *runLog, cs []ctr, rep *Report) error

func (s *Syncer) run(ctx context.Context, items []inventory.Item, phases ...phase) (Report, error) {
	cs, err := s.containers(items)
	if err != nil {
		return Report{}, err
	}
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return Report{}, ctx.Err()
	}
	defer func() { <-s.sem }()

	l := &runLog{w: s.log, m: s.msg}
	var rep Report
	err = inventory.Batch(ctx, s.repo, func(r inventory.Repository) error {
		rep = Report{} // a Batcher may call fn again
		for i, ph := range phases {
			s.header(l)
			var one Report
			err := ph(ctx, r, l, cs, &one)
			rep.merge(one)
			if err != nil {
				return err
			}
			if i < len(phases)-1 {
				l.line(l.m.done)
			}
		}
		return nil
	})
	if err != nil {
		if _, ok := s.repo.(inventory.Batcher); ok {
			l.line(l.m.rolledBack)
			return Report{}, err
		}
		l.line(l.m.failed)
		return rep, err
	}
	l.line(l.m.done)
	return rep, nil
}

// containers converts items, refusing a mixture of engines or names.
func (s *Syncer) containers(items []inventory.Item) ([]ctr, error) {
	var cs []ctr
	engine, first := "", true
	names := map[string]bool{}
	for _, it := range items {
		t := it.Target
		if t.Kind != inventory.KindContainer {
			continue
		}
		if first {
			engine, first = t.Engine, false
		} else if t.Engine != engine {
			return nil, fmt.Errorf("hinemos: %w: items of two engines (%q and %q): sync one engine, the host %s, at a time", inventory.ErrInvalid, engine, t.Engine, s.cfg.HostFacilityID)
		}
		name := inventory.TrimName(t.Name)
		if names[name] {
			return nil, fmt.Errorf("hinemos: %w: two containers named %q", inventory.ErrInvalid, name)
		}
		names[name] = true
		c := ctr{
			fid: ContainerFacilityID(s.cfg.HostFacilityID, name), name: name, id12: t.ShortID(),
			state: stateOf(it.State, it.Attrs[inventory.AttrStatus]), status: it.Attrs[inventory.AttrStatus],
			labels: ParseScopeLabel(t.Labels[LabelAssignScope]),
		}
		c.image, c.hasImage = it.Attrs[inventory.AttrImage]
		c.command, c.hasCommand = it.Attrs[inventory.AttrCommand]
		c.ports, c.hasPorts = it.Attrs[inventory.AttrPorts]
		c.ports = publishedPorts(c.ports)
		switch {
		case name == "":
			c.invalid = errors.New("no name")
		case t.ID == "":
			c.invalid = errors.New("no ID")
		default:
			c.invalid = inventory.ValidFacilityID(c.fid)
		}
		cs = append(cs, c)
	}
	return cs, nil
}

// runLog writes the run log.
type runLog struct {
	w io.Writer
	m *messages
}

func (l *runLog) line(format string, args ...any) {
	fmt.Fprintf(l.w, format+"\n", args...)
}

// header prints the scripts' opening lines: started, login, fetch.
func (s *Syncer) header(l *runLog) {
	l.line(l.m.started)
	if e, ok := s.repo.(Endpointer); ok {
		url, user := e.Endpoint()
		l.line(l.m.login)
		l.line(l.m.endpoint, url)
		l.line(l.m.username, user)
	} else {
		name := fmt.Sprintf("%T", s.repo)
		if st, ok := s.repo.(fmt.Stringer); ok {
			name = st.String()
		}
		l.line(l.m.repoHeader)
		l.line(l.m.repoName, name)
	}
	l.line(l.m.fetch)
}

func (s *Syncer) owned(n inventory.Node) bool {
	return n.Variables[VarHost] == s.cfg.HostFacilityID &&
		strings.HasPrefix(n.FacilityID, s.cfg.HostFacilityID+ContainerSeparator)
}

func nodeMap(ctx context.Context, r inventory.Repository) (map[string]inventory.Node, error) {
	ns, err := r.Nodes(ctx)
	if err != nil {
		return nil, fmt.Errorf("hinemos: list nodes: %w", err)
	}
	m := make(map[string]inventory.Node, len(ns))
	for _, n := range ns {
		m[n.FacilityID] = n
	}
	return m, nil
}

func scopeSet(ctx context.Context, r inventory.Repository) (map[string]bool, error) {
	ss, err := r.Scopes(ctx)
	if err != nil {
		return nil, fmt.Errorf("hinemos: list scopes: %w", err)
	}
	m := make(map[string]bool, len(ss))
	for _, sc := range ss {
		m[sc.FacilityID] = true
	}
	return m, nil
}

// members caches scope memberships during one phase.
type members struct {
	r inventory.Repository
	m map[string]map[string]bool
}

func (m *members) has(ctx context.Context, scope, node string) (bool, error) {
	if m.m == nil {
		m.m = map[string]map[string]bool{}
	}
	set, ok := m.m[scope]
	if !ok {
		ids, err := m.r.Members(ctx, scope)
		if err != nil {
			return false, fmt.Errorf("hinemos: members of scope %s: %w", scope, err)
		}
		set = make(map[string]bool, len(ids))
		for _, id := range ids {
			set[id] = true
		}
		m.m[scope] = set
	}
	return set[node], nil
}

func (m *members) assign(ctx context.Context, rep *Report, scope string, nodes ...string) error {
	if len(nodes) == 0 {
		return nil
	}
	if err := m.r.Assign(ctx, scope, nodes...); err != nil {
		return fmt.Errorf("hinemos: assign to scope %s: %w", scope, err)
	}
	for _, n := range nodes {
		if set, ok := m.m[scope]; ok {
			set[n] = true
		}
		rep.Assigned = append(rep.Assigned, Assignment{Scope: scope, Node: n})
	}
	return nil
}

func (s *Syncer) hostNode() inventory.Node {
	h := s.cfg.HostFacilityID
	return inventory.Node{
		FacilityID: h, FacilityName: h, Description: "Docker host",
		Managed: true, Platform: PlatformLinux, IPVersion: 4, IPv4: s.cfg.HostAddress,
		HostName: h, NodeName: h,
	}
}

func (s *Syncer) containerNode(c ctr) inventory.Node {
	vars := map[string]string{
		VarContainerID: c.id12,
		VarStatus:      c.state,
		VarHost:        s.cfg.HostFacilityID,
	}
	if c.hasImage {
		vars[VarImage] = c.image
	}
	if c.hasCommand {
		vars[VarCommand] = c.command
	}
	if c.ports != "" {
		vars[VarPorts] = c.ports
	}
	return inventory.Node{
		FacilityID: c.fid, FacilityName: c.name, Description: "Docker container on " + s.cfg.HostFacilityID,
		Managed: c.state == "running", Platform: PlatformLinux, IPVersion: 4, IPv4: s.cfg.HostAddress,
		HostName: c.id12, NodeName: c.id12, Variables: vars,
	}
}

func (s *Syncer) add(ctx context.Context, r inventory.Repository, l *runLog, cs []ctr, rep *Report) error {
	host, hostScope := s.cfg.HostFacilityID, HostScopeID(s.cfg.HostFacilityID)
	for _, c := range cs {
		p := ""
		if c.ports == "" {
			p = l.m.portNotBind
		}
		l.line(l.m.containerAdd, p, c.id12, c.name, c.status, c.state)
	}
	nodes, err := nodeMap(ctx, r)
	if err != nil {
		return err
	}
	scopes, err := scopeSet(ctx, r)
	if err != nil {
		return err
	}
	mem := &members{r: r}

	l.line(l.m.scopesHeader)
	for _, sc := range []inventory.Scope{
		{FacilityID: ScopeContainer, FacilityName: ScopeContainer, Description: "Docker container nodes"},
		{FacilityID: ScopeHost, FacilityName: ScopeHost, Description: "Docker host nodes"},
		{FacilityID: ScopeMap, FacilityName: ScopeMap, Description: "Docker hosts and their containers"},
		{FacilityID: hostScope, FacilityName: hostScope, Description: "Docker containers on " + host, Parent: ScopeMap},
	} {
		if scopes[sc.FacilityID] {
			l.line(l.m.exists, sc.FacilityID)
			continue
		}
		if err := r.PutScope(ctx, sc); err != nil {
			return fmt.Errorf("hinemos: create scope %s: %w", sc.FacilityID, err)
		}
		scopes[sc.FacilityID] = true
		rep.ScopesCreated = append(rep.ScopesCreated, sc.FacilityID)
		l.line(l.m.create, sc.FacilityID)
	}

	l.line(l.m.hostHeader)
	if _, ok := nodes[host]; ok {
		l.line(l.m.exists, host)
		rep.Skipped = append(rep.Skipped, host)
	} else {
		if err := r.PutNode(ctx, s.hostNode()); err != nil {
			return fmt.Errorf("hinemos: create host node %s: %w", host, err)
		}
		rep.Created = append(rep.Created, host)
		l.line(l.m.create, host)
	}
	l.line(l.m.hostAssignHeader, ScopeHost)
	if in, err := mem.has(ctx, ScopeHost, host); err != nil {
		return err
	} else if !in {
		if err := mem.assign(ctx, rep, ScopeHost, host); err != nil {
			return err
		}
		l.line(l.m.assign, host)
	}

	l.line(l.m.containerHeader)
	var created, own []ctr
	for _, c := range cs {
		if c.invalid != nil {
			l.line(l.m.invalidName, c.name, c.invalid)
			rep.Invalid = append(rep.Invalid, c.name)
			continue
		}
		if n, ok := nodes[c.fid]; ok {
			if s.owned(n) {
				l.line(l.m.exists, c.fid)
				own = append(own, c)
			} else {
				l.line(l.m.existsOther, c.fid, host)
			}
			rep.Skipped = append(rep.Skipped, c.fid)
			continue
		}
		if err := r.PutNode(ctx, s.containerNode(c)); err != nil {
			return fmt.Errorf("hinemos: create node %s: %w", c.fid, err)
		}
		created = append(created, c)
		rep.Created = append(rep.Created, c.fid)
		l.line(l.m.create, c.fid)
	}
	for _, sc := range []string{ScopeContainer, hostScope} {
		l.line(l.m.containerAssignHeader, sc)
		var ids []string
		for _, c := range append(slices.Clip(created), own...) {
			if in, err := mem.has(ctx, sc, c.fid); err != nil {
				return err
			} else if !in {
				ids = append(ids, c.fid)
			}
		}
		if err := mem.assign(ctx, rep, sc, ids...); err != nil {
			return err
		}
		for _, id := range ids {
			l.line(l.m.assign, id)
		}
	}
	for _, c := range created {
		if len(c.labels) == 0 {
			continue
		}
		l.line(l.m.labelAdd, c.fid, l.m.list(c.labels))
		for _, sc := range c.labels {
			if !s.labelScope(l, rep, scopes, sc, c.fid, l.m.scopeMissingAdd) {
				continue
			}
			if err := mem.assign(ctx, rep, sc, c.fid); err != nil {
				return err
			}
			l.line(l.m.assign, c.fid)
		}
	}
	return nil
}

// labelScope reports whether the label scope sc exists; if not, it logs
// the skip with missing and records it.
func (s *Syncer) labelScope(l *runLog, rep *Report, scopes map[string]bool, sc, fid, missing string) bool {
	if err := inventory.ValidFacilityID(sc); err != nil {
		l.line(l.m.scopeInvalid, sc)
	} else if !scopes[sc] {
		l.line(missing, sc)
	} else {
		return true
	}
	rep.MissingScopes = append(rep.MissingScopes, Assignment{Scope: sc, Node: fid})
	return false
}

func (s *Syncer) delete(ctx context.Context, r inventory.Repository, l *runLog, cs []ctr, rep *Report) error {
	current := map[string]bool{}
	for _, c := range cs {
		l.line(l.m.containerDelete, c.id12, c.name)
		if c.invalid == nil {
			current[c.fid] = true
		}
	}
	l.line(l.m.deleteHeader)
	ns, err := r.Nodes(ctx)
	if err != nil {
		return fmt.Errorf("hinemos: list nodes: %w", err)
	}
	slices.SortFunc(ns, func(a, b inventory.Node) int { return strings.Compare(a.FacilityID, b.FacilityID) })
	for _, n := range ns {
		if !s.owned(n) {
			continue
		}
		if current[n.FacilityID] {
			l.line(l.m.deleteKeep, n.FacilityID)
			rep.Skipped = append(rep.Skipped, n.FacilityID)
			continue
		}
		if err := r.DeleteNode(ctx, n.FacilityID); err != nil {
			return fmt.Errorf("hinemos: delete node %s: %w", n.FacilityID, err)
		}
		rep.Deleted = append(rep.Deleted, n.FacilityID)
		l.line(l.m.deleteNode, n.FacilityID)
	}
	return nil
}

func (s *Syncer) update(ctx context.Context, r inventory.Repository, l *runLog, cs []ctr, rep *Report) error {
	for _, c := range cs {
		l.line(l.m.containerUpdate, c.id12, c.name, c.status, c.state)
	}
	l.line(l.m.updateHeader)
	nodes, err := nodeMap(ctx, r)
	if err != nil {
		return err
	}
	show := func(v string) string {
		if v == "" {
			return l.m.none
		}
		return v
	}
	var labelled []ctr
	for _, c := range cs {
		if c.invalid != nil {
			l.line(l.m.invalidName, c.name, c.invalid)
			rep.Invalid = append(rep.Invalid, c.name)
			continue
		}
		l.line(l.m.updateNode, c.fid)
		n, ok := nodes[c.fid]
		switch {
		case !ok:
			l.line(l.m.updateMissing)
			rep.Skipped = append(rep.Skipped, c.fid)
			continue
		case !s.owned(n):
			l.line(l.m.updateOther, s.cfg.HostFacilityID)
			rep.Skipped = append(rep.Skipped, c.fid)
			continue
		}
		n = n.Clone()
		if n.Variables == nil {
			n.Variables = map[string]string{}
		}
		changed := false
		if old := n.Variables[VarStatus]; old != c.state {
			l.line(l.m.updateStatus, show(old), c.state)
			n.Variables[VarStatus] = c.state
			n.Managed = c.state == "running"
			changed = true
		} else {
			l.line(l.m.updateSkip, old, c.state)
		}
		field := func(name string, cur *string, want string) {
			if *cur != want {
				l.line(l.m.updateField, name, show(*cur), show(want))
				*cur = want
				changed = true
			}
		}
		variable := func(name, want string, known bool) {
			if !known {
				return
			}
			cur := n.Variables[name]
			field(name, &cur, want)
			if want == "" {
				delete(n.Variables, name)
			} else {
				n.Variables[name] = want
			}
		}
		variable(VarContainerID, c.id12, true)
		variable(VarImage, c.image, c.hasImage)
		variable(VarCommand, c.command, c.hasCommand)
		variable(VarPorts, c.ports, c.hasPorts)
		field(l.m.fieldHostName, &n.HostName, c.id12)
		field(l.m.fieldNodeName, &n.NodeName, c.id12)
		field(l.m.fieldIPv4, &n.IPv4, s.cfg.HostAddress)
		if changed {
			if err := r.PutNode(ctx, n); err != nil {
				return fmt.Errorf("hinemos: update node %s: %w", c.fid, err)
			}
			rep.Updated = append(rep.Updated, c.fid)
		} else {
			rep.Skipped = append(rep.Skipped, c.fid)
		}
		if len(c.labels) > 0 {
			labelled = append(labelled, c)
		}
	}
	if len(labelled) == 0 {
		return nil
	}
	scopes, err := scopeSet(ctx, r)
	if err != nil {
		return err
	}
	mem := &members{r: r}
	for _, c := range labelled {
		l.line(l.m.labelUpdate, c.fid, l.m.list(c.labels))
		for _, sc := range c.labels {
			if !s.labelScope(l, rep, scopes, sc, c.fid, l.m.scopeMissingUpdate) {
				continue
			}
			if in, err := mem.has(ctx, sc, c.fid); err != nil {
				return err
			} else if in {
				l.line(l.m.alreadyAssigned, sc)
				continue
			}
			if err := mem.assign(ctx, rep, sc, c.fid); err != nil {
				return err
			}
			l.line(l.m.assign, c.fid)
		}
	}
	return nil
}
