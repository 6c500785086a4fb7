package app

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/minato-ops/minato/container"
)

// Action is what a plan does to one replica.
type Action string

// The actions of a plan.
const (
	// ActionCreate creates a missing replica.
	ActionCreate Action = "create"
	// ActionRecreate replaces a replica whose spec changed (or that is
	// dead), health-gated and rolled back on failure.
	ActionRecreate Action = "recreate"
	// ActionRemove removes a replica beyond Replicas, a leftover, or one
	// of an application no longer declared (with Prune).
	ActionRemove Action = "remove"
	// ActionKeep leaves a replica as it is.
	ActionKeep Action = "keep"
	// ActionStart starts a replica that was stopped (by hand, or that
	// exited) and is otherwise as declared.
	ActionStart Action = "start"
)

// PrevSuffix ends the name of a replica's previous container while an
// update is gated ("web-1.minato-prev").
const PrevSuffix = ".minato-prev"

// Change is one field that differs between a replica and its spec.
// Environment values are never shown: From and To are then "" and Note
// says "added", "removed" or "changed".
type Change struct {
	// Field is the key path ("image", "env.PASSWORD", "resources.memory").
	Field string `json:"field"`
	// From is the replica's value, To the declared one ("" when absent).
	From string `json:"from,omitempty"`
	To   string `json:"to,omitempty"`
	// Note replaces From and To for secret fields.
	Note string `json:"note,omitempty"`
}

// String renders the change as "field: from -> to" or "field: note".
func (c Change) String() string {
	if c.Note != "" {
		return c.Field + ": " + c.Note
	}
	return fmt.Sprintf("%s: %s -> %s", c.Field, orNone(c.From), orNone(c.To))
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// Step is what the plan does to one replica.
type Step struct {
	// Replica is the replica index (from 1); 0 for a container whose index
	// label is missing or bad.
	Replica int `json:"replica"`
	// Container is the container's name ("web-2"); ID its ID, empty for
	// a replica to create.
	Container string `json:"container"`
	ID        string `json:"id,omitempty"`
	// Action and Reason say what is done and why.
	Action Action `json:"action"`
	Reason string `json:"reason,omitempty"`
	// Changes are the differing fields of a recreate.
	Changes []Change `json:"changes,omitempty"`
}

// AppPlan is the plan for one application.
type AppPlan struct {
	// App is the application's name.
	App string `json:"app"`
	// Declared is false for an application found on the engine but not
	// declared (removed only with Prune).
	Declared bool `json:"declared"`
	// Replicas is the declared replica count (0 when not declared).
	Replicas int `json:"replicas"`
	// Hash is the declared [Spec.Hash] ("" when not declared).
	Hash string `json:"hash,omitempty"`
	// Steps are per replica, by index, leftovers and extras last.
	Steps []Step `json:"steps"`
}

// Changed reports whether any step is not ActionKeep.
func (a AppPlan) Changed() bool {
	return slices.ContainsFunc(a.Steps, func(s Step) bool { return s.Action != ActionKeep })
}

// Plan is what an apply would do, per application and replica. It renders
// as text ([Plan.WriteText], what minato app plan prints) and as JSON
// (its json tags).
type Plan struct {
	// Apps are in declaration order, undeclared ones after, by name.
	Apps []AppPlan `json:"apps"`
}

// Converged reports whether the plan keeps every replica as it is.
func (p Plan) Converged() bool {
	return !slices.ContainsFunc(p.Apps, AppPlan.Changed)
}

// Count returns how many steps have action a.
func (p Plan) Count(a Action) int {
	n := 0
	for _, ap := range p.Apps {
		for _, s := range ap.Steps {
			if s.Action == a {
				n++
			}
		}
	}
	return n
}

// PlanOptions tunes [NewPlan].
type PlanOptions struct {
	// Prune plans the removal of the containers of applications that are
	// not declared. Without it they are not in the plan.
	Prune bool
}

// NewPlan compares desired (valid specs, env files loaded) with actual,
// the engine's containers (all states; those without [LabelApp] are
// ignored), and returns what an apply would do. It is pure: it reads
// nothing but its arguments, which it does not modify.
//
// Per declared application and replica index 1..Replicas: no container →
// create; a container whose [LabelSpec] differs from the spec's hash, or
// that is dead → recreate (with the changed fields, read from
// [LabelConfig]); created or exited → start; running, restarting or paused
// → keep. Containers with an index beyond Replicas, second containers of
// one index and leftover "<name>.minato-prev" containers → remove.
func NewPlan(desired []Spec, actual []container.Summary, o PlanOptions) Plan {
	byApp := map[string][]container.Summary{}
	for _, c := range actual {
		if a, ok := c.Labels[LabelApp]; ok {
			byApp[a] = append(byApp[a], c)
		}
	}
	var p Plan
	declared := map[string]bool{}
	for i := range desired {
		s := &desired[i]
		declared[s.Name] = true
		p.Apps = append(p.Apps, planApp(s, byApp[s.Name]))
	}
	if o.Prune {
		for _, name := range slices.Sorted(maps.Keys(byApp)) {
			if declared[name] {
				continue
			}
			ap := AppPlan{App: name}
			cs := slices.Clone(byApp[name])
			sortReplicas(cs)
			for _, c := range slices.Backward(cs) {
				ap.Steps = append(ap.Steps, Step{Replica: replicaOf(c), Container: c.Name, ID: c.ID, Action: ActionRemove, Reason: "application not declared"})
			}
			p.Apps = append(p.Apps, ap)
		}
	}
	return p
}

func replicaOf(c container.Summary) int {
	n, err := strconv.Atoi(c.Labels[LabelReplica])
	if err != nil || n < 1 {
		return 0
	}
	return n
}

// sortReplicas orders by replica index, then name.
func sortReplicas(cs []container.Summary) {
	slices.SortFunc(cs, func(a, b container.Summary) int {
		return cmp.Or(cmp.Compare(replicaOf(a), replicaOf(b)), strings.Compare(a.Name, b.Name))
	})
}

// ReplicaName returns the container name of replica i of app: "<app>-<i>".
func ReplicaName(app string, i int) string { return app + "-" + strconv.Itoa(i) }

func planApp(s *Spec, cs []container.Summary) AppPlan {
	n := s.ReplicaCount()
	ap := AppPlan{App: s.Name, Declared: true, Replicas: n, Hash: s.Hash()}
	current := map[int]container.Summary{}
	var extra []Step
	cs = slices.Clone(cs)
	sortReplicas(cs)
	for _, c := range cs {
		i := replicaOf(c)
		switch {
		case strings.HasSuffix(c.Name, PrevSuffix):
			extra = append(extra, Step{Replica: i, Container: c.Name, ID: c.ID, Action: ActionRemove, Reason: "leftover of an interrupted update"})
		case i < 1:
			extra = append(extra, Step{Container: c.Name, ID: c.ID, Action: ActionRemove, Reason: fmt.Sprintf("label %s=%q is not a replica index", LabelReplica, c.Labels[LabelReplica])})
		case i > n:
			extra = append(extra, Step{Replica: i, Container: c.Name, ID: c.ID, Action: ActionRemove, Reason: fmt.Sprintf("scale down to %d", n)})
		default:
			if prev, dup := current[i]; dup {
				// Keep the one with the expected name, else the first.
				if c.Name == ReplicaName(s.Name, i) && prev.Name != c.Name {
					current[i], c = c, prev
				}
				extra = append(extra, Step{Replica: i, Container: c.Name, ID: c.ID, Action: ActionRemove, Reason: "second container for this replica"})
				continue
			}
			current[i] = c
		}
	}
	want := s.recordLabel()
	for i := 1; i <= n; i++ {
		c, ok := current[i]
		st := Step{Replica: i, Container: ReplicaName(s.Name, i)}
		switch {
		case !ok:
			st.Action, st.Reason = ActionCreate, "missing"
		case c.Labels[LabelSpec] != ap.Hash:
			st.ID, st.Container = c.ID, c.Name
			st.Action, st.Reason = ActionRecreate, "spec changed"
			st.Changes = diffRecords(c.Labels[LabelConfig], want)
			if len(st.Changes) == 0 {
				st.Changes = []Change{{Field: "spec", From: c.Labels[LabelSpec], To: ap.Hash}}
			}
		case c.State == container.Dead || c.State == container.Removing:
			st.ID, st.Container = c.ID, c.Name
			st.Action, st.Reason = ActionRecreate, "container is "+string(c.State)
		case c.State == container.Created || c.State == container.Exited:
			st.ID, st.Container = c.ID, c.Name
			st.Action, st.Reason = ActionStart, "container is "+string(c.State)+" ("+c.Status+")"
			if c.Status == "" {
				st.Reason = "container is " + string(c.State)
			}
		case c.Name != ReplicaName(s.Name, i):
			st.ID, st.Container = c.ID, c.Name
			st.Action, st.Reason = ActionRecreate, "renamed by hand (want "+ReplicaName(s.Name, i)+")"
		default:
			st.ID, st.Container = c.ID, c.Name
			st.Action = ActionKeep
			st.Reason = string(c.State)
		}
		ap.Steps = append(ap.Steps, st)
	}
	slices.SortStableFunc(extra, func(a, b Step) int { return cmp.Compare(b.Replica, a.Replica) })
	ap.Steps = append(ap.Steps, extra...)
	return ap
}

// diffRecords compares two LabelConfig values field by field.
func diffRecords(oldJSON, newJSON string) []Change {
	var a, b record
	if oldJSON == "" || json.Unmarshal([]byte(oldJSON), &a) != nil {
		return nil
	}
	_ = json.Unmarshal([]byte(newJSON), &b)
	var out []Change
	str := func(field, x, y string) {
		if x != y {
			out = append(out, Change{Field: field, From: x, To: y})
		}
	}
	list := func(field string, x, y []string) {
		if !slices.Equal(x, y) {
			out = append(out, Change{Field: field, From: quoteList(x), To: quoteList(y)})
		}
	}
	str("image", a.Image, b.Image)
	list("command", a.Command, b.Command)
	list("entrypoint", a.Entrypoint, b.Entrypoint)
	for _, k := range slices.Sorted(maps.Keys(union(a.Env, b.Env))) {
		x, inA := a.Env[k]
		y, inB := b.Env[k]
		switch {
		case !inA:
			out = append(out, Change{Field: "env." + k, Note: "added"})
		case !inB:
			out = append(out, Change{Field: "env." + k, Note: "removed"})
		case x != y:
			out = append(out, Change{Field: "env." + k, Note: "changed"})
		}
	}
	list("ports", a.Ports, b.Ports)
	if !slices.Equal(a.Mounts, b.Mounts) {
		out = append(out, Change{Field: "mounts", From: mountsText(a.Mounts), To: mountsText(b.Mounts)})
	}
	list("networks", a.Networks, b.Networks)
	if a.NanoCPUs != b.NanoCPUs {
		out = append(out, Change{Field: "resources.cpus", From: cpusText(a.NanoCPUs), To: cpusText(b.NanoCPUs)})
	}
	if a.Memory != b.Memory {
		out = append(out, Change{Field: "resources.memory", From: bytesText(a.Memory), To: bytesText(b.Memory)})
	}
	str("restart", a.Restart, b.Restart)
	ha, _ := json.Marshal(a.Healthcheck)
	hb, _ := json.Marshal(b.Healthcheck)
	if string(ha) != string(hb) {
		out = append(out, Change{Field: "healthcheck", From: jsonOrNone(a.Healthcheck, ha), To: jsonOrNone(b.Healthcheck, hb)})
	}
	for _, k := range slices.Sorted(maps.Keys(union(a.Labels, b.Labels))) {
		str("labels."+k, a.Labels[k], b.Labels[k])
	}
	return out
}

func union(a, b map[string]string) map[string]string {
	m := maps.Clone(a)
	if m == nil {
		m = map[string]string{}
	}
	maps.Copy(m, b)
	return m
}

func quoteList(l []string) string {
	if l == nil {
		return ""
	}
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = strconv.Quote(s)
	}
	return "[" + strings.Join(q, " ") + "]"
}

func mountsText(ms []Mount) string {
	var parts []string
	for _, m := range ms {
		s := m.Type + ":" + m.Source + ":" + m.Target
		if m.ReadOnly {
			s += ":ro"
		}
		parts = append(parts, s)
	}
	return strings.Join(parts, ", ")
}

func cpusText(n int64) string {
	if n == 0 {
		return ""
	}
	return strconv.FormatFloat(float64(n)/1e9, 'f', -1, 64)
}

func bytesText(n int64) string {
	switch {
	case n == 0:
		return ""
	case n%(1<<30) == 0:
		return strconv.FormatInt(n>>30, 10) + "Gi"
	case n%(1<<20) == 0:
		return strconv.FormatInt(n>>20, 10) + "Mi"
	case n%(1<<10) == 0:
		return strconv.FormatInt(n>>10, 10) + "Ki"
	}
	return strconv.FormatInt(n, 10)
}

func jsonOrNone(h *Healthcheck, b []byte) string {
	if h == nil {
		return ""
	}
	return string(b)
}

// WriteText writes the plan as minato app plan prints it: per application
// a header line, then one line per replica (container, action, reason) and
// one indented line per change. Environment values never appear.
func (p Plan) WriteText(w io.Writer) error {
	var b strings.Builder
	for _, ap := range p.Apps {
		switch {
		case !ap.Declared:
			fmt.Fprintf(&b, "%s: not declared\n", ap.App)
		default:
			fmt.Fprintf(&b, "%s: %d replica(s), spec %s\n", ap.App, ap.Replicas, ap.Hash)
		}
		for _, s := range ap.Steps {
			line := fmt.Sprintf("  %-24s %-8s", s.Container, s.Action)
			if s.Reason != "" {
				line += " " + s.Reason
			}
			b.WriteString(strings.TrimRight(line, " ") + "\n")
			for _, c := range s.Changes {
				b.WriteString("      " + c.String() + "\n")
			}
		}
	}
	if len(p.Apps) == 0 {
		b.WriteString("no applications\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// String returns the text of [Plan.WriteText].
func (p Plan) String() string {
	var b strings.Builder
	_ = p.WriteText(&b)
	return b.String()
}
