package image

import (
	"errors"
	"strings"
	"testing"

	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func depCtr(id, name string, labels map[string]string, edit func(h *dcontainer.HostConfig)) dcontainer.InspectResponse {
	h := &dcontainer.HostConfig{NetworkMode: "default"}
	if edit != nil {
		edit(h)
	}
	return dcontainer.InspectResponse{
		ContainerJSONBase: &dcontainer.ContainerJSONBase{ID: id, Name: "/" + name, HostConfig: h},
		Config:            &dcontainer.Config{Labels: labels},
	}
}

func TestDependencyGraph(t *testing.T) {
	const dbID = "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0"
	set := []dcontainer.InspectResponse{
		depCtr("a1", "web", map[string]string{DependsOnLabel: " cache, /db ,outside"}, nil),
		depCtr("b1", "cache", nil, func(h *dcontainer.HostConfig) { h.Links = []string{"/db:/cache/db"} }),
		depCtr(dbID, "db", nil, nil),
		depCtr("c1", "sidecar", nil, func(h *dcontainer.HostConfig) { h.NetworkMode = "container:" + dbID }),
		depCtr("e1", "backup", nil, func(h *dcontainer.HostConfig) { h.VolumesFrom = []string{"db:ro"} }),
		depCtr("f1", "p_api_1", map[string]string{ComposeProjectLabel: "p", ComposeServiceLabel: "api", ComposeDependsOnLabel: "worker:service_started:false,db:service_healthy"}, nil),
		depCtr("g1", "p_worker_1", map[string]string{ComposeProjectLabel: "p", ComposeServiceLabel: "worker"}, nil),
		depCtr("h1", "q_worker_1", map[string]string{ComposeProjectLabel: "q", ComposeServiceLabel: "worker"}, nil),
	}
	deps := dependencyGraph(set)
	assert.Equal(t, [][]int{{1, 2}, {2}, nil, {2}, {2}, {6}, nil, nil}, deps)

	order, err := topoOrder(deps, nil)
	require.NoError(t, err)
	assert.Equal(t, []int{2, 1, 0, 3, 4, 6, 5, 7}, order, "dependencies first, the given order otherwise")
}

func TestTopoOrderCycle(t *testing.T) {
	set := []dcontainer.InspectResponse{
		depCtr("x", "free", nil, nil),
		depCtr("a", "a", map[string]string{DependsOnLabel: "b"}, nil),
		depCtr("b", "b", map[string]string{DependsOnLabel: "c"}, nil),
		depCtr("c", "c", map[string]string{DependsOnLabel: "a"}, nil),
	}
	_, err := topoOrder(dependencyGraph(set), []string{"free", "a", "b", "c"})
	require.Error(t, err)
	assert.True(t, errors.Is(err, ErrDependencyCycle))
	assert.Contains(t, err.Error(), "a -> b -> c -> a")

	_, err = topoOrder([][]int{{0}}, []string{"self"})
	require.ErrorIs(t, err, ErrDependencyCycle)
	assert.Contains(t, err.Error(), "self -> self")
}

func TestMakeBatches(t *testing.T) {
	// 0 <- 1 <- 2 (2 depends on 1, 1 on 0); 3 and 4 free.
	deps := [][]int{nil, {0}, {1}, nil, nil}
	order, err := topoOrder(deps, nil)
	require.NoError(t, err)
	assert.Equal(t, [][]int{{0}, {1}, {2}, {3}, {4}}, makeBatches(order, deps, 0))
	assert.Equal(t, [][]int{{0}, {1}, {2, 3}, {4}}, makeBatches(order, deps, 2))
	assert.Equal(t, [][]int{{0}, {1}, {2, 3, 4}}, makeBatches(order, deps, 10))
	// Transitive: 2 depends on 0 through 1 and may not join 0's batch
	// even when 1 is elsewhere.
	assert.Equal(t, [][]int{{0, 3}, {2}}, makeBatches([]int{0, 3, 2}, deps, 3))
}

func TestParseDependsOnLabels(t *testing.T) {
	assert.Equal(t, []string{"a", "b"}, parseDependsOn(" a,,/b , "))
	assert.Nil(t, parseDependsOn(""))
	assert.Equal(t, []string{"db", "redis", "old"}, parseComposeDependsOn("db:service_started:false, redis:service_healthy:true,old,:x:y"))
	assert.Equal(t, "db", linkTarget("/db:/web/db"))
	assert.Equal(t, "db", linkTarget("db:alias"))
}

func FuzzParseComposeDependsOn(f *testing.F) {
	for _, s := range []string{"db:service_started:false", "a,b:c,,", ":::", " x : y ", "\x00,\xff"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, svc := range parseComposeDependsOn(s) {
			if svc == "" || strings.ContainsAny(svc, ",:") || svc != strings.TrimSpace(svc) {
				t.Fatalf("bad service %q from %q", svc, s)
			}
		}
		for _, n := range parseDependsOn(s) {
			if n == "" || strings.Contains(n, ",") || n != strings.TrimSpace(n) {
				t.Fatalf("bad name %q from %q", n, s)
			}
		}
	})
}
