package swarm

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/swarm"
)

// Action is what Apply did.
type Action string

// Apply's actions.
const (
	Created   Action = "created"
	Updated   Action = "updated"
	Unchanged Action = "unchanged"
)

// ApplyResult is what [Client.Apply] did to one service.
type ApplyResult struct {
	// Action is Created, Updated or Unchanged.
	Action Action `json:"action"`
	// ServiceID is the service's ID.
	ServiceID string `json:"service_id"`
	// Hash is the spec hash now on the service (LabelSpec).
	Hash string `json:"hash"`
	// Warnings are the engine's warnings, e.g. an image it could not
	// resolve to a digest (every node then uses its local image).
	Warnings []string `json:"warnings,omitempty"`
}

// maxUpdateAttempts bounds the retries of an update that lost a race with
// another writer (Swarm's "update out of sequence").
const maxUpdateAttempts = 3

// Apply makes the service spec.Name run as spec declares: it creates a
// missing service, and updates an existing one whose LabelSpec differs
// from spec.Hash() or whose replica count differs from spec.Replicas. A
// service whose hash and replicas match is left alone (no update call), so
// that Apply is cheap to repeat. An update is rolled out by Swarm as
// spec.Update says; Apply returns once Swarm accepted it: use
// [Client.WaitConverged] to wait for the result.
//
// Apply refuses (ErrNotOwned) a service of that name that carries no
// LabelApp naming it, and an invalid spec (the joined field errors). It is
// safe to call concurrently for different services; concurrent Applies of
// one service end with one of the specs, the engine ordering them. The
// image is not pulled or resolved through a registry here: each node
// resolves it when it starts a task (a pull that fails falls back to the
// node's local image).
func (c *Client) Apply(ctx context.Context, spec ServiceSpec) (ApplyResult, error) {
	if err := spec.Validate(); err != nil {
		return ApplyResult{}, fmt.Errorf("swarm: service %q: invalid spec: %w", spec.Name, err)
	}
	c.ready(ctx)
	want := spec.engineSpec()
	hash := want.Labels[LabelSpec]
	for attempt := 1; ; attempt++ {
		svc, _, err := c.api.ServiceInspectWithRaw(ctx, spec.Name, swarm.ServiceInspectOptions{})
		if cerrdefs.IsNotFound(err) {
			resp, err := c.api.ServiceCreate(ctx, want, swarm.ServiceCreateOptions{})
			if err != nil {
				return ApplyResult{}, c.wrap("create service", spec.Name, err)
			}
			c.log.DebugContext(ctx, "swarm service created", "service", spec.Name, "id", resp.ID, "hash", hash)
			return ApplyResult{Action: Created, ServiceID: resp.ID, Hash: hash, Warnings: resp.Warnings}, nil
		}
		if err != nil {
			return ApplyResult{}, c.wrap("inspect service", spec.Name, err)
		}
		if err := owned(svc, spec.Name); err != nil {
			return ApplyResult{}, err
		}
		if svc.Spec.Labels[LabelSpec] == hash && replicas(svc.Spec) == uint64(spec.Replicas) && svc.Spec.Mode.Replicated != nil {
			return ApplyResult{Action: Unchanged, ServiceID: svc.ID, Hash: hash}, nil
		}
		resp, err := c.api.ServiceUpdate(ctx, svc.ID, svc.Version, want, swarm.ServiceUpdateOptions{})
		if err != nil {
			if outOfSequence(err) && attempt < maxUpdateAttempts {
				continue
			}
			return ApplyResult{}, c.wrap("update service", spec.Name, err)
		}
		c.log.DebugContext(ctx, "swarm service updated", "service", spec.Name, "id", svc.ID, "from", svc.Spec.Labels[LabelSpec], "to", hash)
		return ApplyResult{Action: Updated, ServiceID: svc.ID, Hash: hash, Warnings: resp.Warnings}, nil
	}
}

// owned returns ErrNotOwned unless svc carries LabelApp = name.
func owned(svc swarm.Service, name string) error {
	if svc.Spec.Labels[LabelApp] != name {
		return fmt.Errorf("swarm: service %q (%.12s) has no label %s=%s: %w", svc.Spec.Name, svc.ID, LabelApp, name, ErrNotOwned)
	}
	return nil
}

func replicas(s swarm.ServiceSpec) uint64 {
	if s.Mode.Replicated != nil && s.Mode.Replicated.Replicas != nil {
		return *s.Mode.Replicated.Replicas
	}
	return 0
}

func outOfSequence(err error) bool {
	return strings.Contains(err.Error(), "update out of sequence")
}

// Scale sets the replica count of minato's service name to n (n >= 0),
// leaving its spec and LabelSpec as they are: Swarm starts or stops tasks
// without a rolling update. It returns an error matching
// container.IsNotFound for a missing service and ErrNotOwned for a service
// that is not minato's or not replicated.
func (c *Client) Scale(ctx context.Context, name string, n int) error {
	if n < 0 {
		return fmt.Errorf("swarm: scale %q: replicas %d: want 0 or more", name, n)
	}
	c.ready(ctx)
	for attempt := 1; ; attempt++ {
		svc, _, err := c.api.ServiceInspectWithRaw(ctx, name, swarm.ServiceInspectOptions{})
		if err != nil {
			return c.wrap("inspect service", name, err)
		}
		if err := owned(svc, name); err != nil {
			return err
		}
		if svc.Spec.Mode.Replicated == nil {
			return fmt.Errorf("swarm: scale %q: not a replicated service: %w", name, ErrNotOwned)
		}
		if replicas(svc.Spec) == uint64(n) {
			return nil
		}
		spec := svc.Spec
		r := uint64(n)
		spec.Mode.Replicated = &swarm.ReplicatedService{Replicas: &r}
		_, err = c.api.ServiceUpdate(ctx, svc.ID, svc.Version, spec, swarm.ServiceUpdateOptions{})
		if err == nil {
			c.log.DebugContext(ctx, "swarm service scaled", "service", name, "replicas", n)
			return nil
		}
		if !outOfSequence(err) || attempt >= maxUpdateAttempts {
			return c.wrap("scale service", name, err)
		}
	}
}

// Delete removes minato's service name; Swarm then stops and removes its
// tasks' containers on every node, asynchronously. It reports whether a
// service was removed: a missing service is not an error (Delete is
// idempotent). A service that is not minato's is refused (ErrNotOwned).
func (c *Client) Delete(ctx context.Context, name string) (bool, error) {
	c.ready(ctx)
	svc, _, err := c.api.ServiceInspectWithRaw(ctx, name, swarm.ServiceInspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, c.wrap("inspect service", name, err)
	}
	if err := owned(svc, name); err != nil {
		return false, err
	}
	if err := c.api.ServiceRemove(ctx, svc.ID); err != nil {
		if cerrdefs.IsNotFound(err) {
			return false, nil
		}
		return false, c.wrap("remove service", name, err)
	}
	c.log.DebugContext(ctx, "swarm service removed", "service", name, "id", svc.ID)
	return true, nil
}

// ServiceStatus is a service's state as its tasks show it across nodes.
type ServiceStatus struct {
	// Name and ID identify the service; Hash is its LabelSpec.
	Name string `json:"name"`
	ID   string `json:"id"`
	Hash string `json:"hash,omitempty"`
	// Image is the image of the service's current spec.
	Image string `json:"image"`
	// Desired is the declared replica count; Running counts the tasks
	// that should run and do (healthy, when there is a healthcheck);
	// Failed counts the failed or rejected tasks Swarm still keeps in its
	// task history (by default the last 5 per replica slot).
	Desired int `json:"desired"`
	Running int `json:"running"`
	Failed  int `json:"failed"`
	// Nodes breaks the counts down by node, in node ID order.
	Nodes []NodeStatus `json:"nodes"`
	// Tasks are the service's tasks, newest first.
	Tasks []TaskStatus `json:"tasks"`
	// LastError is the error of the newest failed or rejected task, "" when
	// there is none.
	LastError string `json:"last_error,omitempty"`
	// Update is the state of the last rolling update, empty when the
	// service was never updated.
	Update UpdateStatus `json:"update,omitzero"`
	// Converged says the service runs as declared: Running equals
	// Desired, every task that should run runs the service's current spec
	// (for minato's services: its containers carry the service's
	// LabelSpec), no update or rollback is in progress or paused, and the
	// last update was not rolled back.
	Converged bool `json:"converged"`
}

// NodeStatus counts one node's tasks of a service.
type NodeStatus struct {
	// NodeID is the node's ID; Hostname its name, when the node is known.
	NodeID   string `json:"node_id"`
	Hostname string `json:"hostname,omitempty"`
	// Desired, Running and Failed are as in [ServiceStatus].
	Desired int `json:"desired"`
	Running int `json:"running"`
	Failed  int `json:"failed"`
}

// TaskStatus is one task of a service.
type TaskStatus struct {
	ID string `json:"id"`
	// Slot is the replica index (1-based) of a replicated service.
	Slot   int    `json:"slot"`
	NodeID string `json:"node_id,omitempty"`
	// DesiredState is what Swarm wants ("running", "shutdown",
	// "complete"); State is what the task is ("running", "failed", ...).
	DesiredState string `json:"desired_state"`
	State        string `json:"state"`
	// Message is Swarm's status message; Error the task's error, if any.
	Message string `json:"message,omitempty"`
	Error   string `json:"error,omitempty"`
	// ContainerID is the task's container, once it has one; ExitCode its
	// exit code once it exited.
	ContainerID string `json:"container_id,omitempty"`
	ExitCode    *int   `json:"exit_code,omitempty"`
	// Image is the image the task runs; Hash the LabelSpec of its spec
	// (which declared spec it runs; "" for a service that is not minato's).
	Image string `json:"image"`
	Hash  string `json:"hash,omitempty"`
	// Updated is when the task's state last changed.
	Updated time.Time `json:"updated"`
}

// UpdateStatus is Swarm's report of the last rolling update.
type UpdateStatus struct {
	// State is "updating", "paused", "completed", "rollback_started",
	// "rollback_paused" or "rollback_completed".
	State       string    `json:"state,omitempty"`
	Message     string    `json:"message,omitempty"`
	StartedAt   time.Time `json:"started_at,omitzero"`
	CompletedAt time.Time `json:"completed_at,omitzero"`
}

// Status reads the service name and its tasks on every node. It returns
// an error matching container.IsNotFound when there is no such service. It
// reads any service, minato's or not.
func (c *Client) Status(ctx context.Context, name string) (ServiceStatus, error) {
	c.ready(ctx)
	svc, _, err := c.api.ServiceInspectWithRaw(ctx, name, swarm.ServiceInspectOptions{})
	if err != nil {
		return ServiceStatus{}, c.wrap("inspect service", name, err)
	}
	tasks, err := c.api.TaskList(ctx, swarm.TaskListOptions{Filters: filters.NewArgs(filters.Arg("service", svc.ID))})
	if err != nil {
		return ServiceStatus{}, c.wrap("list tasks of service", name, err)
	}
	hostnames := map[string]string{}
	if nodes, err := c.api.NodeList(ctx, swarm.NodeListOptions{}); err == nil {
		for _, n := range nodes {
			hostnames[n.ID] = n.Description.Hostname
		}
	}
	return status(svc, tasks, hostnames), nil
}

// status computes a ServiceStatus; pure, for tests.
func status(svc swarm.Service, tasks []swarm.Task, hostnames map[string]string) ServiceStatus {
	st := ServiceStatus{Name: svc.Spec.Name, ID: svc.ID, Hash: svc.Spec.Labels[LabelSpec], Desired: int(replicas(svc.Spec))}
	if cs := svc.Spec.TaskTemplate.ContainerSpec; cs != nil {
		st.Image = cs.Image
	}
	if u := svc.UpdateStatus; u != nil {
		st.Update = UpdateStatus{State: string(u.State), Message: u.Message}
		if u.StartedAt != nil {
			st.Update.StartedAt = *u.StartedAt
		}
		if u.CompletedAt != nil {
			st.Update.CompletedAt = *u.CompletedAt
		}
	}
	slices.SortFunc(tasks, func(a, b swarm.Task) int { return b.Status.Timestamp.Compare(a.Status.Timestamp) })
	nodes := map[string]*NodeStatus{}
	node := func(id string) *NodeStatus {
		n := nodes[id]
		if n == nil {
			n = &NodeStatus{NodeID: id, Hostname: hostnames[id]}
			nodes[id] = n
		}
		return n
	}
	pending := 0
	for _, t := range tasks {
		ts := TaskStatus{ID: t.ID, Slot: t.Slot, NodeID: t.NodeID, DesiredState: string(t.DesiredState), State: string(t.Status.State),
			Message: t.Status.Message, Error: t.Status.Err, Updated: t.Status.Timestamp}
		if t.Spec.ContainerSpec != nil {
			ts.Image, ts.Hash = t.Spec.ContainerSpec.Image, t.Spec.ContainerSpec.Labels[LabelSpec]
		}
		if cs := t.Status.ContainerStatus; cs != nil {
			ts.ContainerID = cs.ContainerID
			if t.Status.State == swarm.TaskStateComplete || t.Status.State == swarm.TaskStateFailed || t.Status.State == swarm.TaskStateShutdown {
				code := cs.ExitCode
				ts.ExitCode = &code
			}
		}
		st.Tasks = append(st.Tasks, ts)
		failed := t.Status.State == swarm.TaskStateFailed || t.Status.State == swarm.TaskStateRejected
		if failed {
			st.Failed++
			if st.LastError == "" {
				st.LastError = firstNonEmpty(t.Status.Err, t.Status.Message)
			}
		}
		if t.DesiredState == swarm.TaskStateRunning {
			if t.Status.State == swarm.TaskStateRunning {
				st.Running++
			}
			if t.Status.State != swarm.TaskStateRunning || !current(svc.Spec, t) {
				pending++
			}
		}
		if t.NodeID == "" {
			continue // not yet assigned: counted in the totals only
		}
		n := node(t.NodeID)
		if failed {
			n.Failed++
		}
		if t.DesiredState == swarm.TaskStateRunning {
			n.Desired++
			if t.Status.State == swarm.TaskStateRunning {
				n.Running++
			}
		}
	}
	for _, id := range slices.Sorted(maps.Keys(nodes)) {
		st.Nodes = append(st.Nodes, *nodes[id])
	}
	switch st.Update.State {
	case "", string(swarm.UpdateStateCompleted):
		st.Converged = st.Running == st.Desired && pending == 0
	}
	return st
}

// current says task t runs the service's current spec: its container
// carries the service's LabelSpec (minato's services), or at least the
// image of the service's spec (any other service).
func current(spec swarm.ServiceSpec, t swarm.Task) bool {
	cs, tcs := spec.TaskTemplate.ContainerSpec, t.Spec.ContainerSpec
	if cs == nil || tcs == nil {
		return cs == tcs
	}
	if h := spec.Labels[LabelSpec]; h != "" && tcs.Labels[LabelSpec] != h {
		return false
	}
	return tcs.Image == cs.Image
}

func firstNonEmpty(s ...string) string {
	for _, x := range s {
		if x != "" {
			return x
		}
	}
	return ""
}

// WaitConverged waits until the service name is converged (see
// [ServiceStatus].Converged) and returns its status. It reads the tasks
// every poll interval (see [WithPollInterval]). It stops early with the
// status and an error when Swarm rolled the last update back
// (ErrRolledBack) or paused it (ErrUpdatePaused), when the service does
// not exist (container.IsNotFound), or when ctx ends (wrapping ctx.Err(),
// with the last status read).
func (c *Client) WaitConverged(ctx context.Context, name string) (ServiceStatus, error) {
	t := time.NewTicker(c.poll)
	defer t.Stop()
	for {
		st, err := c.Status(ctx, name)
		if err != nil {
			if ctx.Err() != nil {
				return st, fmt.Errorf("swarm: waiting for service %q to converge: %w", name, ctx.Err())
			}
			return st, err
		}
		if st.Converged {
			return st, nil
		}
		switch st.Update.State {
		case string(swarm.UpdateStateRollbackCompleted):
			return st, fmt.Errorf("swarm: service %q: %w: %s", name, ErrRolledBack, st.Update.Message)
		case string(swarm.UpdateStatePaused), string(swarm.UpdateStateRollbackPaused):
			return st, fmt.Errorf("swarm: service %q: %w: %s", name, ErrUpdatePaused, st.Update.Message)
		}
		select {
		case <-ctx.Done():
			return st, fmt.Errorf("swarm: waiting for service %q to converge (%d/%d running, last error %q): %w", name, st.Running, st.Desired, st.LastError, ctx.Err())
		case <-t.C:
		}
	}
}
