package agent

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/ha/etcd/etcdtest"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/job/boltstore"
	"github.com/minato-ops/minato/job/jobapi"
	"github.com/minato-ops/minato/job/scheduler"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestHAJobsRunOnceAcrossAFailover: two agents with an etcd lease run a
// job network of group web every 2 seconds. Only the holder runs it; the
// holder is stopped; the other takes over; across both nodes' histories no
// due time ran twice, and the runs go on on the new holder.
func TestHAJobsRunOnceAcrossAFailover(t *testing.T) {
	dockertest.New(t) // the agents need an engine for their jobs part
	etcd := etcdtest.Start(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "ha.key")
	require.NoError(t, os.WriteFile(key, []byte(strings.Repeat("j", 32)), 0o600))
	marks := filepath.Join(dir, "marks")
	require.NoError(t, os.MkdirAll(marks, 0o700))
	a1, a2 := freeUDP(t), freeUDP(t)
	type node struct {
		name  string
		agent *Agent
		url   string
		stop  func()
	}
	var nodes []*node
	for _, name := range []string{"node1", "node2"} {
		ndir := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(ndir, 0o700))
		write(t, ndir, "tick.yaml", fmt.Sprintf(`
name: tick
group: web
schedule: {cron: "*/2 * * * * *", catch_up: 30s}
units:
  - {name: u, host: {command: [sh, -c, 'echo %s >> %s/ticks']}}
`, name, dir))
		path := write(t, ndir, "agent.yaml", fmt.Sprintf(`
listen: 127.0.0.1:0
state_dir: %q
jobnets: [tick.yaml]
jobs: {store: jobs.db}
ha:
  cluster: jobs
  node: %s
  key_file: %q
  interval: 200ms
  timeout: 1s
  leave_timeout: 10s
  nodes: [{name: node1, addresses: [%q]}, {name: node2, addresses: [%q]}]
  witness: {etcd: {endpoints: [%q]}}
  groups:
    - name: web
      nodes: [node1, node2]
      resources:
        - name: mark
          script:
            start: {argv: [sh, -c, 'touch %s/$MINATO_HA_NODE']}
            stop: {argv: [sh, -c, 'rm -f %s/$MINATO_HA_NODE']}
`, filepath.Join(ndir, "state"), name, key, a1, a2, etcd.Endpoint, marks, marks))
		cfg, err := Load(path)
		require.NoError(t, err)
		a, err := New(cfg, os.Getenv, slog.New(slog.DiscardHandler))
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		addr := <-a.Addr()
		n := &node{name: name, agent: a, url: "http://" + addr}
		n.stop = func() { cancel(); require.NoError(t, <-done) }
		nodes = append(nodes, n)
	}
	defer func() {
		for _, n := range nodes {
			if n.stop != nil {
				n.stop()
			}
		}
	}()
	runs := func(n *node) []scheduler.RunRecord {
		c, err := jobapi.NewClient(n.url)
		require.NoError(t, err)
		rs, err := c.Runs(context.Background(), scheduler.RunFilter{Network: "tick"})
		require.NoError(t, err)
		return rs
	}
	eventually(t, 20*time.Second, "node1 holds web and runs tick", func() bool {
		return len(runs(nodes[0])) >= 3
	})
	assert.Empty(t, runs(nodes[1]), "the standby runs nothing")

	nodes[0].stop()
	nodes[0].stop = nil
	eventually(t, 20*time.Second, "node2 took over and runs tick", func() bool {
		return len(runs(nodes[1])) >= 3
	})

	// Across both histories no due time ran twice: node1's store, read
	// after it stopped, and node2's.
	st, err := boltstore.Open(filepath.Join(dir, "node1", "jobs.db"), boltstore.Options{})
	require.NoError(t, err)
	on1, err := st.ListRuns(context.Background(), scheduler.RunFilter{Network: "tick"})
	require.NoError(t, err)
	require.NoError(t, st.Close())
	on2 := runs(nodes[1])
	ids := map[string]string{}
	for _, r := range on1 {
		ids[r.ID] = "node1"
	}
	for _, r := range on2 {
		other, dup := ids[r.ID]
		assert.False(t, dup, "due time %s ran on node2 and %s", r.ID, other)
		ids[r.ID] = "node2"
	}
	ticks, err := os.ReadFile(filepath.Join(dir, "ticks"))
	require.NoError(t, err)
	// node2 is still running: its newest run may not have run its unit
	// yet when the file is read; count the ended ones.
	ended := func(rs []scheduler.RunRecord) (n int) {
		for _, r := range rs {
			if !r.Ended.IsZero() {
				n++
			}
		}
		return n
	}
	// node1 was stopped for the failover: a run it had just started may
	// have ended before its unit ran (a busy machine); none ran twice.
	if got := strings.Count(string(ticks), "node1"); got < ended(on1)-1 || got > len(on1) {
		t.Errorf("node1 ran its unit %d times for %d runs of which %d ended", got, len(on1), ended(on1))
	}
	if got := strings.Count(string(ticks), "node2"); got < ended(on2) || got > len(on2) {
		t.Errorf("node2 ran its unit %d times for %d runs of which %d ended", got, len(on2), ended(on2))
	}
	assert.GreaterOrEqual(t, len(on1), 3)
	assert.GreaterOrEqual(t, len(on2), 3)
	// The due times are consecutive 2-second slots: none was lost in the
	// handover beyond the ones that fell while no node held the group.
	var dues []time.Time
	for _, r := range append(on1, on2...) {
		dues = append(dues, r.Due)
	}
	sort.Slice(dues, func(i, j int) bool { return dues[i].Before(dues[j]) })
	for i := 1; i < len(dues); i++ {
		assert.False(t, dues[i].Equal(dues[i-1]), "due time %s twice", dues[i])
	}
}
