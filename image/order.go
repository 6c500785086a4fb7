package image

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	dcontainer "github.com/docker/docker/api/types/container"
)

// Labels [Client.Update] reads for the order of an update.
const (
	// DependsOnLabel lists, comma-separated, the names of containers this
	// one depends on: they are updated first, and this one is skipped when
	// one of them fails or is rolled back.
	DependsOnLabel = "minato.depends-on"
	// ComposeDependsOnLabel is docker compose's record of depends_on:
	// "service:condition:restart,..." (older versions "service:condition"),
	// services of the same project (ComposeProjectLabel).
	ComposeDependsOnLabel = "com.docker.compose.depends_on"
	// ComposeServiceLabel and ComposeProjectLabel name a compose service.
	ComposeServiceLabel = "com.docker.compose.service"
	ComposeProjectLabel = "com.docker.compose.project"
)

// ErrDependencyCycle is wrapped by the error of an update whose containers
// depend on each other in a cycle; the message names the cycle.
var ErrDependencyCycle = errors.New("dependency cycle")

// parseDependsOn reads the value of DependsOnLabel: container names,
// comma-separated, with optional spaces and a leading "/".
func parseDependsOn(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		p = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(p), "/"))
		if p != "" {
			out = append(out, p)
		}
	}
	return out
}

// parseComposeDependsOn reads the value of ComposeDependsOnLabel,
// "svc:condition:restart,..." and returns the service names. Entries
// without a condition ("svc") are accepted too.
func parseComposeDependsOn(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		svc, _, _ := strings.Cut(strings.TrimSpace(p), ":")
		if svc = strings.TrimSpace(svc); svc != "" {
			out = append(out, svc)
		}
	}
	return out
}

// linkTarget returns the container a HostConfig.Links entry names: the
// engine's "/db:/web/db" form and the create-time "db:alias" form.
func linkTarget(l string) string {
	name, _, _ := strings.Cut(l, ":")
	return strings.TrimPrefix(strings.TrimSpace(name), "/")
}

// dependencyNames returns what ins depends on, as written (names, IDs,
// or "compose:<project>/<service>" for compose services), without
// duplicates, in a fixed order.
func dependencyNames(ins dcontainer.InspectResponse) []string {
	var out []string
	seen := map[string]bool{}
	add := func(s string) {
		if s != "" && !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	if h := ins.HostConfig; h != nil {
		for _, l := range h.Links {
			add(linkTarget(l))
		}
		if h.NetworkMode.IsContainer() {
			add(strings.TrimPrefix(h.NetworkMode.ConnectedContainer(), "/"))
		}
		for _, v := range h.VolumesFrom {
			name, _, _ := strings.Cut(v, ":")
			add(strings.TrimPrefix(name, "/"))
		}
	}
	if ins.Config != nil {
		for _, d := range parseDependsOn(ins.Config.Labels[DependsOnLabel]) {
			add(d)
		}
		if project := ins.Config.Labels[ComposeProjectLabel]; project != "" {
			for _, svc := range parseComposeDependsOn(ins.Config.Labels[ComposeDependsOnLabel]) {
				add("compose:" + project + "/" + svc)
			}
		}
	}
	return out
}

// dependencyGraph returns, for each container of set, the indexes in set
// of the containers it depends on. Dependencies outside set are not
// updated and so do not order anything; they are ignored. A name matches a
// container's name, its full ID or an ID prefix of at least 12 hex digits;
// "compose:<project>/<service>" every container of that service.
func dependencyGraph(set []dcontainer.InspectResponse) [][]int {
	byName := map[string][]int{}
	for i, ins := range set {
		if ins.ContainerJSONBase == nil {
			continue
		}
		byName[strings.TrimPrefix(ins.Name, "/")] = append(byName[strings.TrimPrefix(ins.Name, "/")], i)
		if ins.Config != nil {
			if p, s := ins.Config.Labels[ComposeProjectLabel], ins.Config.Labels[ComposeServiceLabel]; p != "" && s != "" {
				k := "compose:" + p + "/" + s
				byName[k] = append(byName[k], i)
			}
		}
	}
	resolve := func(d string) []int {
		if is, ok := byName[d]; ok {
			return is
		}
		if len(d) >= 12 {
			for i, ins := range set {
				if ins.ContainerJSONBase != nil && strings.HasPrefix(ins.ID, d) {
					return []int{i}
				}
			}
		}
		return nil
	}
	deps := make([][]int, len(set))
	for i, ins := range set {
		seen := map[int]bool{}
		for _, d := range dependencyNames(ins) {
			for _, j := range resolve(d) {
				if !seen[j] {
					seen[j] = true
					deps[i] = append(deps[i], j)
				}
			}
		}
		sort.Ints(deps[i])
	}
	return deps
}

// topoOrder orders 0..len(deps)-1 so that every node comes after the
// nodes it depends on, keeping the given order otherwise (a stable
// topological sort). names label nodes in the cycle error, which wraps
// ErrDependencyCycle and names the cycle ("a -> b -> a").
func topoOrder(deps [][]int, names []string) ([]int, error) {
	n := len(deps)
	placed := make([]bool, n)
	order := make([]int, 0, n)
	for len(order) < n {
		progress := false
		for i := 0; i < n; i++ {
			if placed[i] {
				continue
			}
			ready := true
			for _, j := range deps[i] {
				if !placed[j] {
					ready = false
					break
				}
			}
			if ready {
				placed[i] = true
				order = append(order, i)
				progress = true
				break // restart from the first: keep the input order stable
			}
		}
		if !progress {
			return nil, fmt.Errorf("%w: %s: break it (labels %s, %s, links, network mode or volumes-from) before updating these containers together",
				ErrDependencyCycle, strings.Join(findCycle(deps, placed, names), " -> "), DependsOnLabel, ComposeDependsOnLabel)
		}
	}
	return order, nil
}

// findCycle returns one cycle among the unplaced nodes, as names, the
// first repeated at the end.
func findCycle(deps [][]int, placed []bool, names []string) []string {
	const (
		white = iota
		grey
		black
	)
	color := make([]int, len(deps))
	var stack []int
	var cycle []int
	var visit func(i int) bool
	visit = func(i int) bool {
		color[i] = grey
		stack = append(stack, i)
		for _, j := range deps[i] {
			if placed[j] {
				continue
			}
			if color[j] == grey {
				for k := len(stack) - 1; k >= 0; k-- {
					if stack[k] == j {
						cycle = append(append([]int(nil), stack[k:]...), j)
						return true
					}
				}
			}
			if color[j] == white && visit(j) {
				return true
			}
		}
		stack = stack[:len(stack)-1]
		color[i] = black
		return false
	}
	for i := range deps {
		if !placed[i] && color[i] == white && visit(i) {
			break
		}
	}
	out := make([]string, len(cycle))
	for k, i := range cycle {
		out[k] = names[i]
	}
	return out
}

// makeBatches cuts order into batches of at most size containers (size < 1
// is 1), in order, starting a new batch whenever the next container
// depends, directly or not, on one already in the current batch.
func makeBatches(order []int, deps [][]int, size int) [][]int {
	if size < 1 {
		size = 1
	}
	reach := depReach(deps)
	var out [][]int
	var cur []int
	for _, i := range order {
		conflict := len(cur) >= size
		for _, j := range cur {
			if reach[i][j] || reach[j][i] {
				conflict = true
				break
			}
		}
		if conflict && len(cur) > 0 {
			out = append(out, cur)
			cur = nil
		}
		cur = append(cur, i)
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

// depReach returns reach[i][j]: i depends on j, directly or not.
func depReach(deps [][]int) [][]bool {
	n := len(deps)
	reach := make([][]bool, n)
	for i := range reach {
		reach[i] = make([]bool, n)
		stack := append([]int(nil), deps[i]...)
		for len(stack) > 0 {
			j := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			if reach[i][j] {
				continue
			}
			reach[i][j] = true
			stack = append(stack, deps[j]...)
		}
	}
	return reach
}
