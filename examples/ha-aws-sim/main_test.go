package main

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/minato-ops/minato/ha"
	haaws "github.com/minato-ops/minato/ha/aws"
	"github.com/minato-ops/minato/internal/strictyaml"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
)

func TestParseLatency(t *testing.T) {
	for _, tc := range []struct {
		in     string
		lo, hi time.Duration
		bad    bool
	}{
		{in: "100ms-300ms", lo: 100 * time.Millisecond, hi: 300 * time.Millisecond},
		{in: "0", lo: 0, hi: 0},
		{in: "250ms", lo: 250 * time.Millisecond, hi: 250 * time.Millisecond},
		{in: " 1s - 2s ", lo: time.Second, hi: 2 * time.Second},
		{in: "300ms-100ms", bad: true},
		{in: "-5ms", bad: true},
		{in: "1s-2m", bad: true},
		{in: "fast", bad: true},
		{in: "", bad: true},
		{in: "1s-", bad: true},
	} {
		got, err := parseLatency(tc.in)
		if tc.bad {
			assert.Error(t, err, tc.in)
			continue
		}
		require.NoError(t, err, tc.in)
		assert.Equal(t, [2]time.Duration{tc.lo, tc.hi}, got, tc.in)
	}
}

// startSim starts a simulator without latency, closed with the test.
func startSim(t *testing.T, n int) *sim {
	t.Helper()
	s := newSim(n, [2]time.Duration{})
	t.Cleanup(s.close)
	return s
}

// at returns the value under the path of keys in a decoded YAML document.
func at(t *testing.T, doc any, path ...any) any {
	t.Helper()
	v := doc
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := v.(map[string]any)
			require.True(t, ok, "%v: not a mapping at %q", path, k)
			v, ok = m[k]
			require.True(t, ok, "%v: no key %q", path, k)
		case int:
			l, ok := v.([]any)
			require.True(t, ok && k < len(l), "%v: no item %d", path, k)
			v = l[k]
		}
	}
	return v
}

// strict decodes the YAML of doc's value at path into v as the agent
// does (unknown keys are errors, nested values validated), so every key
// the simulator writes is one the library types take.
func strict(t *testing.T, v any, doc any, path ...any) {
	t.Helper()
	b, err := yaml.Marshal(at(t, doc, path...))
	require.NoError(t, err)
	require.NoError(t, strictyaml.Unmarshal(b, v), "%v:\n%s", path, b)
}

// TestConfigs: the files written are what an agent per node needs, each
// value accepted by the library's own types.
func TestConfigs(t *testing.T) {
	s := startSim(t, 3)
	dir := filepath.Join(t.TempDir(), "sim")
	paths, err := s.writeConfigs(dir, 19471)
	require.NoError(t, err)
	require.Equal(t, []string{filepath.Join(dir, "node1.yaml"), filepath.Join(dir, "node2.yaml"), filepath.Join(dir, "node3.yaml")}, paths)

	st, err := os.Stat(filepath.Join(dir, "ha.key"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm(), "the agent refuses a key others can read")
	assert.GreaterOrEqual(t, st.Size(), int64(32))

	var files []string
	for k, p := range paths {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		files = append(files, string(b))
		var doc any
		require.NoError(t, yaml.Unmarshal(b, &doc), p)
		node := s.nodes[k]
		assert.Equal(t, "127.0.0.1:"+[]string{"19471", "19472", "19473"}[k], at(t, doc, "listen"))
		assert.Equal(t, node+"-state", at(t, doc, "state_dir"))
		assert.Equal(t, cluster, at(t, doc, "ha", "cluster"))
		assert.Equal(t, node, at(t, doc, "ha", "node"))
		assert.Equal(t, "ha.key", at(t, doc, "ha", "key_file"))
		for i := range s.nodes {
			assert.Equal(t, []any{"127.0.0.1:" + []string{"19481", "19482", "19483"}[i]}, at(t, doc, "ha", "nodes", i, "addresses"))
		}

		var ac haaws.Config
		strict(t, &ac, doc, "ha", "aws")
		assert.Equal(t, haaws.Config{Region: s.srv.Region(), Endpoint: s.srv.URL(), IMDSEndpoint: s.srv.IMDS(s.g.Instances[k])}, ac)
		require.NoError(t, ac.Validate())
		var lc haaws.LeaseConfig
		strict(t, &lc, doc, "ha", "witness", "dynamodb")
		assert.Equal(t, s.g.LeaseTable, lc.Table)

		for gi, want := range []struct{ group, resource, kind string }{
			{"vip", "awsvip1", "aws_vip"}, {"eip", "awseip1", "aws_eip"}, {"dns", "awsdns1", "aws_dns"},
		} {
			g := []any{"ha", "groups", gi}
			assert.Equal(t, want.group, at(t, doc, append(g, "name")...))
			assert.Equal(t, []any{"node1", "node2", "node3"}, at(t, doc, append(g, "nodes")...))
			r := append(g, "resources", 0)
			assert.Equal(t, want.resource, at(t, doc, append(r, "name")...))
			switch want.kind {
			case "aws_vip":
				var v haaws.VIPConfig
				strict(t, &v, doc, append(r, "aws_vip")...)
				assert.Equal(t, haaws.VIPConfig{IP: s.g.VIP, VPC: s.g.VPC}, v)
			case "aws_eip":
				var v haaws.EIPConfig
				strict(t, &v, doc, append(r, "aws_eip")...)
				assert.Equal(t, haaws.EIPConfig{AllocationID: s.g.AllocationID}, v)
			case "aws_dns":
				var v haaws.DNSConfig
				strict(t, &v, doc, append(r, "aws_dns")...)
				assert.Equal(t, haaws.DNSConfig{HostedZoneID: s.g.HostedZoneID, Name: s.g.RecordName, Resolver: s.srv.DNS()}, v)
				var p ha.RecoveryPolicy
				strict(t, &p, doc, append(r, "policy")...)
				assert.Equal(t, 10*time.Second, p.StartWait)
			}
			key := map[string]string{"aws_vip": "eni", "aws_eip": "eni", "aws_dns": "ip"}[want.kind]
			vals := map[string][]string{"eni": s.g.ENIs, "ip": s.g.PrivateIPs}[key]
			for i, n := range s.nodes {
				assert.Equal(t, vals[i], at(t, doc, append(r, "per_node", n, key)...), "%s per_node %s", want.resource, n)
			}
			m := append(g, "monitors", 0)
			assert.Equal(t, "awsazw1", at(t, doc, append(m, "name")...))
			var az haaws.AZConfig
			strict(t, &az, doc, append(m, "aws_az")...)
			for i, n := range s.nodes {
				assert.Equal(t, s.g.Zones[i], at(t, doc, append(m, "per_node", n, "zone")...))
			}
		}
	}
	// The files differ only where a node's own values go.
	own := regexp.MustCompile(`(?m)^(# node\d.*|listen: .*|state_dir: .*|  node: .*|    imds_endpoint: .*)$`)
	assert.Equal(t, own.ReplaceAllString(files[0], ""), own.ReplaceAllString(files[1], ""))
	assert.Equal(t, own.ReplaceAllString(files[0], ""), own.ReplaceAllString(files[2], ""))
}

// clients are AWS clients of node k as its agent builds them, with no
// credentials in the environment: they come from the instance role.
func clients(t *testing.T, s *sim, k int) *haaws.Clients {
	t.Helper()
	for _, v := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION", "AWS_EC2_METADATA_DISABLED"} {
		t.Setenv(v, "")
	}
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	c, err := haaws.Load(context.Background(), haaws.Config{Region: s.srv.Region(), Endpoint: s.srv.URL(),
		IMDSEndpoint: s.srv.IMDS(s.g.Instances[k]), CallTimeout: 5 * time.Second, MaxAttempts: 1})
	require.NoError(t, err)
	return c
}

// run runs command lines through the loop and returns what it printed
// and whether it was quit.
func run(s *sim, lines ...string) (string, bool) {
	var out strings.Builder
	quit := s.loop(strings.NewReader(strings.Join(lines, "\n")), &out)
	return out.String(), quit
}

// TestCommands drives the command loop and checks, through the AWS SDK
// as an agent sees the account, that each command did what it said.
func TestCommands(t *testing.T) {
	s := startSim(t, 2)
	c := clients(t, s, 0)
	ctx := context.Background()
	node1 := inventory.Target{Kind: inventory.KindNode, ID: "node1", Name: "node1"}
	eip, err := haaws.NewEIP(c, haaws.EIPConfig{AllocationID: s.g.AllocationID, ENI: s.g.ENIs[0]})
	require.NoError(t, err)
	vip, err := haaws.NewVIP(c, haaws.VIPConfig{IP: s.g.VIP, VPC: s.g.VPC, ENI: s.g.ENIs[0]})
	require.NoError(t, err)
	check := func(m monitor.Monitor) (monitor.Result, error) { return m.Check(ctx, node1) }

	// The guide's account: everything on node1, no lease held yet.
	out, quit := run(s, "state")
	assert.False(t, quit)
	for _, re := range []string{
		`(?m)^  rtb-public-ab\s+10\.1\.0\.20/32 -> eni-node1\s+node1$`,
		`(?m)^  rtb-private-a\s+10\.1\.0\.20/32 -> eni-node1\s+node1$`,
		`(?m)^  rtb-private-b\s+10\.1\.0\.20/32 -> eni-node1\s+node1$`,
		`(?m)^  eipalloc-guide\s+-> eni-node1\s+node1$`,
		`(?m)^  A 10\.0\.110\.11\s+ttl 60\s+node1$`,
		`(?m)^  sim/vip\s+\(no item yet\)`,
		`(?m)^  ap-northeast-1a\s+available\s+node1$`,
		`(?m)^  ap-northeast-1c\s+available\s+node2$`,
	} {
		assert.Regexp(t, re, out)
	}
	res, err := check(eip)
	require.NoError(t, err)
	assert.Equal(t, monitor.OK, res.Status, res.Message)

	// A lease item shows its holder.
	lease, err := haaws.NewLease(c, haaws.LeaseConfig{Table: s.g.LeaseTable})
	require.NoError(t, err)
	_, err = lease.Acquire(ctx, cluster+"/vip", "node1", time.Minute)
	require.NoError(t, err)
	out, _ = run(s, "state")
	assert.Regexp(t, `(?m)^  sim/vip\s+holder node1, epoch 1\s+expires in \d`, out)

	// Throttling, an outage and clear reach the agents' calls.
	out, _ = run(s, "throttle DescribeAddresses 1")
	assert.Contains(t, out, "the next 1 calls of DescribeAddresses are throttled")
	_, err = check(eip)
	assert.ErrorContains(t, err, "Request limit exceeded.")
	_, err = check(eip)
	assert.NoError(t, err, "one call was throttled, not two")
	run(s, "outage on")
	_, err = check(eip)
	assert.Error(t, err)
	out, _ = run(s, "clear")
	assert.Contains(t, out, "cleared")
	_, err = check(eip)
	assert.NoError(t, err)
	run(s, "outage on", "outage off")
	_, err = check(eip)
	assert.NoError(t, err)
	run(s, "throttle all 1")
	_, err = check(eip)
	assert.Error(t, err)

	// Drift: what each monitor reports.
	out, _ = run(s, "drift vip", "drift eip", "drift dns")
	assert.Contains(t, out, "rtb-private-a: 10.1.0.20/32 -> eni-node2 (was eni-node1)")
	assert.Contains(t, out, "eipalloc-guide disassociated (was eni-node1)")
	assert.Contains(t, out, "srv.hz1.local. A 192.0.2.1 (was 10.0.110.11)")
	res, err = check(vip)
	require.NoError(t, err)
	assert.Equal(t, haaws.CodeVIPRouteChanged, res.Code, res.Message)
	assert.Equal(t, "The routing for VIP 10.1.0.20 was changed.", res.Message)
	res, err = check(eip)
	require.NoError(t, err)
	assert.Equal(t, "The EIP address does not exist. (EIP ALLOCATION ID=eipalloc-guide)", res.Message)
	vals, _, ok := s.srv.Record(s.g.HostedZoneID, s.g.RecordName, "A")
	assert.True(t, ok)
	assert.Equal(t, []string{driftIP}, vals)
	out, _ = run(s, "state")
	assert.Regexp(t, `(?m)^  rtb-private-a\s+10\.1\.0\.20/32 -> eni-node2\s+node2$`, out)
	assert.Regexp(t, `(?m)^  rtb-public-ab\s+10\.1\.0\.20/32 -> eni-node1\s+node1$`, out)
	assert.Regexp(t, `(?m)^  eipalloc-guide\s+-> \(none\)\s+-$`, out)
	assert.Regexp(t, `(?m)^  A 192\.0\.2\.1\s+ttl 60\s+\(no node\)$`, out)

	// An impaired zone, as the AZ monitor of node2 sees it.
	out, _ = run(s, "az node2 impaired")
	assert.Contains(t, out, "zone ap-northeast-1c (node2) is impaired")
	azm, err := haaws.NewAZMonitor(c, haaws.AZConfig{Zone: s.g.Zones[1]})
	require.NoError(t, err)
	res, err = check(azm)
	require.NoError(t, err)
	assert.Equal(t, monitor.Critical, res.Status)
	assert.Equal(t, "The availability zone ap-northeast-1c is impaired.", res.Message)
	out, _ = run(s, "state")
	assert.Regexp(t, `(?m)^  ap-northeast-1c\s+impaired\s+node2$`, out)
	run(s, "az node2 available")
	res, err = check(azm)
	require.NoError(t, err)
	assert.Equal(t, monitor.OK, res.Status)

	out, _ = run(s, "calls")
	assert.Regexp(t, `(?m)^  DescribeAddresses\s+\d+$`, out)
	assert.Regexp(t, `(?m)^  total\s+\d+$`, out)
	out, _ = run(s, "calls reset", "calls")
	assert.Regexp(t, `(?m)^  total\s+0$`, out)
}

// TestCommandErrors: a wrong command says what is allowed and changes
// nothing; quit ends the loop, the end of the input too.
func TestCommandErrors(t *testing.T) {
	s := startSim(t, 2)
	before, _ := run(s, "state")
	for line, want := range map[string]string{
		"bogus":               `"bogus": unknown command or wrong arguments: type help`,
		"state now":           "unknown command",
		"az node9 impaired":   `az: no node "node9": want one of node1, node2`,
		"az node1 melted":     `az: state "melted": want one of available, information, impaired, unavailable`,
		"throttle Foo 1":      `throttle: action "Foo": want all or one of DescribeVpcs`,
		"throttle all x":      `throttle: count "x": want a whole number from 1 to 1000000`,
		"throttle all 0":      "want a whole number",
		"drift everything":    `drift: "everything": want vip, eip or dns`,
		"outage maybe":        "unknown command",
		"calls everything up": "unknown command",
	} {
		out, quit := run(s, line)
		assert.False(t, quit, line)
		assert.Contains(t, out, "error: ", line)
		assert.Contains(t, out, want, line)
	}
	after, _ := run(s, "state")
	assert.Equal(t, regexp.MustCompile(`expires in \S+`).ReplaceAllString(before, ""), regexp.MustCompile(`expires in \S+`).ReplaceAllString(after, ""))

	out, _ := run(s, "help")
	for _, cmd := range []string{"state", "drift vip|eip|dns", "az NODE", "throttle ACTION|all N", "outage on|off", "clear", "calls [reset]", "quit"} {
		assert.Contains(t, out, cmd)
	}
	out, quit := run(s, "", "   ", "quit", "drift vip")
	assert.True(t, quit)
	assert.NotContains(t, out, "rtb-private-a", "nothing runs after quit")
	_, quit = run(s, "state")
	assert.False(t, quit, "the end of the input is not quit")
}

// FuzzExec: no command line makes the simulator panic.
func FuzzExec(f *testing.F) {
	for _, seed := range []string{"state", "drift vip", "drift eip", "drift dns", "az node1 impaired", "az node2 available",
		"throttle DescribeRouteTables 3", "throttle all 1", "outage on", "outage off", "clear", "calls", "calls reset", "help",
		"quit", "", " \t ", "az", "throttle", "drift", "az node1", "throttle all -1", "throttle all 99999999999999999999"} {
		f.Add(seed)
	}
	s := newSim(2, [2]time.Duration{})
	f.Cleanup(s.close)
	f.Fuzz(func(t *testing.T, line string) {
		var out strings.Builder
		s.exec(&out, line)
		if strings.TrimSpace(line) != "" {
			assert.NotEmpty(t, out.String(), "every command says something")
		}
	})
}
