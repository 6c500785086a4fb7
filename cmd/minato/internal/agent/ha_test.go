package agent

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/internal/dockerdtest"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// freeUDP returns a loopback UDP address nobody listens on.
func freeUDP(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := c.LocalAddr().String()
	require.NoError(t, c.Close())
	return addr
}

// haNode is one agent of a test cluster, with its engine.
type haNode struct {
	name   string
	host   string // its engine
	image  string
	docker *client.Client
	agent  *Agent
	srv    *httptest.Server
	stop   func()
}

// running reports whether the group's container runs on the node's engine.
func (n *haNode) running(t *testing.T, name string) bool {
	t.Helper()
	r, err := n.docker.ContainerInspect(context.Background(), name)
	if err != nil {
		return false
	}
	return r.State != nil && r.State.Running
}

// TestHATwoAgentsOnTwoEngines: two real agents, each the node of its own
// real engine (the local one and a second dockerd), keep a container
// service on exactly one of them: start on the first in priority, a manual
// move, then a stop of the holder hands the service over; epochs grow.
func TestHATwoAgentsOnTwoEngines(t *testing.T) {
	local := dockertest.New(t)
	second := dockerdtest.Get(t)
	dir := t.TempDir()
	key := filepath.Join(dir, "ha.key")
	require.NoError(t, os.WriteFile(key, []byte(strings.Repeat("k", 40)), 0o600))
	ctr := "minato-ha-" + local.RunID()
	addr1, addr2 := freeUDP(t), freeUDP(t)
	nodes := []*haNode{
		{name: "node1", host: local.Host, image: local.Image(t), docker: local.Client},
		{name: "node2", host: second.Host, image: second.Image, docker: second.Client},
	}
	t.Cleanup(func() {
		for _, n := range nodes {
			_ = n.docker.ContainerRemove(context.Background(), ctr, dcontainer.RemoveOptions{Force: true})
		}
	})
	start := func(n *haNode) {
		ndir := filepath.Join(dir, n.name)
		require.NoError(t, os.MkdirAll(ndir, 0o700))
		path := write(t, ndir, "agent.yaml", fmt.Sprintf(`
listen: 127.0.0.1:0
state_dir: %q
docker: {host: %q}
ha:
  cluster: shop
  node: %s
  key_file: %q
  interval: 200ms
  timeout: 1s
  leave_timeout: 20s
  nodes:
    - {name: node1, addresses: [%q]}
    - {name: node2, addresses: [%q]}
  groups:
    - name: web
      nodes: [node1, node2]
      resources:
        - name: web-ctr
          container: {name: %q, create: {image: %q, cmd: [sleep, forever], network: none}, stop_grace: 1s, health_timeout: 20s}
          policy: {interval: 1s}
`, filepath.Join(ndir, "state"), n.host, n.name, key, addr1, addr2, ctr, n.image))
		cfg, err := Load(path)
		require.NoError(t, err)
		a, err := New(cfg, func(string) string { return "" }, slog.New(slog.DiscardHandler))
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- a.Run(ctx) }()
		<-a.Addr()
		n.agent, n.srv = a, httptest.NewServer(a.handler())
		n.stop = func() {
			cancel()
			require.NoError(t, <-done)
			n.srv.Close()
		}
	}
	for _, n := range nodes {
		start(n)
	}
	defer func() {
		for _, n := range nodes {
			if n.stop != nil {
				n.stop()
			}
		}
	}()
	holder := func(n *haNode) (string, ha.Epoch) {
		for _, g := range n.agent.ha.cluster.Status().Groups {
			if g.Name == "web" {
				return g.Holder, g.Epoch
			}
		}
		return "", 0
	}
	eventually(t, 30*time.Second, "node1 (first in priority) runs the service, node2 does not", func() bool {
		h, _ := holder(nodes[1])
		return h == "node1" && nodes[0].running(t, ctr) && !nodes[1].running(t, ctr)
	})
	_, e1 := holder(nodes[0])

	// A manual move through node1's API.
	code, body, _ := call(t, nodes[0].srv, "POST", "/api/v1/ha/groups/web/move", `{"node":"node2"}`, "Content-Type", "application/json")
	require.Equal(t, 200, code, body)
	eventually(t, 30*time.Second, "the service moved to node2", func() bool {
		h, _ := holder(nodes[0])
		return h == "node2" && nodes[1].running(t, ctr) && !nodes[0].running(t, ctr)
	})
	_, e2 := holder(nodes[0])
	assert.Greater(t, e2, e1, "a move is a new epoch")

	code, body, _ = call(t, nodes[1].srv, "GET", "/api/v1/ha", "")
	require.Equal(t, 200, code)
	assert.Contains(t, body, `"holder": "node2"`)
	code, body, _ = call(t, nodes[1].srv, "GET", "/metrics", "")
	require.Equal(t, 200, code)
	assert.Contains(t, body, `minato_ha_group_online{group="web"} 1`)
	assert.Contains(t, body, `minato_ha_node_up{node="node1"} 1`)
	code, body, _ = call(t, nodes[1].srv, "POST", "/api/v1/ha/groups/nosuch/move", `{"node":"node1"}`, "Content-Type", "application/json")
	assert.Equal(t, 404, code, body)

	// The holder stops (SIGTERM): its clean leave hands the service back.
	nodes[1].stop()
	nodes[1].stop = nil
	eventually(t, 30*time.Second, "node1 took the service over", func() bool {
		h, _ := holder(nodes[0])
		return h == "node1" && nodes[0].running(t, ctr) && !nodes[1].running(t, ctr)
	})
	_, e3 := holder(nodes[0])
	assert.Greater(t, e3, e2)
}

// TestHAConfigErrors: what the agent refuses in an ha: section, with the
// key paths.
func TestHAConfigErrors(t *testing.T) {
	dir := t.TempDir()
	base := func(extra string) string {
		return `
ha:
  cluster: c1
  node: node1
  nodes: [{name: node1, addresses: ["127.0.0.1:17001"]}, {name: node2, addresses: ["127.0.0.1:17002"]}]
` + extra
	}
	cases := map[string]struct{ text, want string }{
		"no key file": {base("  groups: [{name: web, nodes: [node1], resources: [{name: s, script: {start: {argv: [true]}}}]}]\n"),
			"ha.key_file: required"},
		"http and ping": {base("  key_file: k\n  witness: {http: {target: 'https://127.0.0.1'}, ping: {host: 127.0.0.1}}\n  groups: [{name: web, nodes: [node1], resources: [{name: s, script: {start: {argv: [true]}}}]}]\n"),
			"ha.witness: give http or ping, not both"},
		"no groups":  {base("  key_file: k\n"), "ha.groups: give at least one failover group"},
		"both kinds": {base("  key_file: k\n  groups: [{name: web, nodes: [node1], resources: [{name: s, script: {start: {argv: [true]}}, container: {name: x, existing: true}}]}]\n"), "give exactly one of container, script, aws_vip, aws_eip and aws_dns"},
		"vip and script": {base("  key_file: k\n  groups: [{name: web, nodes: [node1], resources: [{name: s, script: {start: {argv: [true]}}, aws_vip: {ip: 10.1.0.20, vpc: vpc-1}}]}]\n"),
			"give exactly one of container, script, aws_vip, aws_eip and aws_dns"},
		"per_node of a script": {base("  key_file: k\n  groups: [{name: web, nodes: [node1], resources: [{name: s, script: {start: {argv: [true]}}, per_node: {node1: {eni: eni-1}}}]}]\n"),
			"per_node: only the aws_* resources take per-node values"},
		"per_node of another node": {base("  key_file: k\n  groups: [{name: web, nodes: [node1], resources: [{name: v, aws_vip: {ip: 10.1.0.20, vpc: vpc-1}, per_node: {node7: {eni: eni-1}}}]}]\n"),
			`per_node: "node7" is not one of the group's nodes`},
		"bad vip": {base("  key_file: k\n  groups: [{name: web, nodes: [node1], resources: [{name: v, aws_vip: {ip: 10.1.0, vpc: vpc-1}}]}]\n"),
			"aws_vip.ip"},
		"two leases": {base("  key_file: k\n  witness: {etcd: {endpoints: ['http://127.0.0.1:2379']}, dynamodb: {table: t}}\n  groups: [{name: web, nodes: [node1], resources: [{name: s, script: {start: {argv: [true]}}}]}]\n"),
			"give one lease, etcd or dynamodb, not both"},
		"monitor without kind": {base("  key_file: k\n  groups: [{name: web, nodes: [node1], resources: [{name: s, script: {start: {argv: [true]}}}], monitors: [{name: m}]}]\n"),
			`monitor "m": give aws_az`},
		"fence of a stranger": {base("  key_file: k\n  fence: {aws: {instances: {node8: i-1}}}\n  groups: [{name: web, nodes: [node1], resources: [{name: s, script: {start: {argv: [true]}}}]}]\n"),
			`fence.aws.instances: "node8" is not one of nodes`},
		"node not in nodes": {strings.Replace(base("  key_file: k\n  groups: [{name: web, nodes: [node1], resources: [{name: s, script: {start: {argv: [true]}}}]}]\n"), "node: node1", "node: node9", 1),
			"node9"},
		"jobnet of an unknown group": {base("  key_file: k\n  groups: [{name: web, nodes: [node1], resources: [{name: s, script: {start: {argv: [true]}}}]}]\njobnets: [net.yaml]\n"),
			`group: "db" is not a group of this agent's ha: section`},
		"bad policy": {base("  key_file: k\n  groups: [{name: web, nodes: [node1], resources: [{name: s, script: {start: {argv: [true]}}, policy: {final_action: reboot}}]}]\n"),
			`final_action: "reboot"`},
	}
	write(t, dir, "net.yaml", "name: n\ngroup: db\nunits: [{name: a, host: {command: [true]}}]\n")
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := Load(write(t, dir, "agent.yaml", tc.text))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
	// A key file others can read is refused when the agent is built.
	key := filepath.Join(dir, "k")
	require.NoError(t, os.WriteFile(key, []byte(strings.Repeat("x", 32)), 0o644))
	cfg, err := Load(write(t, dir, "agent.yaml", base("  key_file: k\n  groups: [{name: web, nodes: [node1], resources: [{name: s, script: {start: {argv: [true]}}}]}]\n")))
	require.NoError(t, err)
	_, err = New(cfg, func(string) string { return "" }, slog.New(slog.DiscardHandler))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "lets others read the key")
	require.NoError(t, os.Chmod(key, 0o600))
	require.NoError(t, os.WriteFile(key, []byte("short"), 0o600))
	_, err = New(cfg, func(string) string { return "" }, slog.New(slog.DiscardHandler))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "want at least 32")
}

// TestHACleanUpAtStart: an agent deactivates what a killed predecessor may
// have left running before it joins the cluster; then, alone (its peer
// silent, no witness), it starts the group after the timeout.
func TestHACleanUpAtStart(t *testing.T) {
	dir := t.TempDir()
	key := filepath.Join(dir, "ha.key")
	require.NoError(t, os.WriteFile(key, []byte(strings.Repeat("c", 32)), 0o600))
	logf := filepath.Join(dir, "actions")
	path := write(t, dir, "agent.yaml", fmt.Sprintf(`
listen: 127.0.0.1:0
state_dir: %q
ha:
  cluster: c1
  node: node1
  key_file: %q
  interval: 100ms
  timeout: 500ms
  nodes: [{name: node1, addresses: [%q]}, {name: node2, addresses: [%q]}]
  groups:
    - name: web
      nodes: [node1, node2]
      resources:
        - name: s
          script:
            start: {argv: [sh, -c, 'echo start >> %s']}
            stop: {argv: [sh, -c, 'echo stop >> %s']}
`, filepath.Join(dir, "state"), key, freeUDP(t), freeUDP(t), logf, logf))
	cfg, err := Load(path)
	require.NoError(t, err)
	a, err := New(cfg, func(string) string { return "" }, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	<-a.Addr()
	eventually(t, 10*time.Second, "the lone node started the group", func() bool {
		b, _ := os.ReadFile(logf)
		return strings.Contains(string(b), "start")
	})
	cancel()
	require.NoError(t, <-done)
	b, err := os.ReadFile(logf)
	require.NoError(t, err)
	assert.Equal(t, "stop\nstart\nstop\n", string(b), "cleaned up at start, started, deactivated by the clean leave")
}
