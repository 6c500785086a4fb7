package diag_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/minato-ops/minato/diag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// counted is a check that counts its runs and returns fs, err.
type counted struct {
	id   string
	runs atomic.Int32
	fs   []diag.Finding
	err  error
}

func (c *counted) Info() diag.CheckInfo { return diag.CheckInfo{ID: c.id, Title: c.id} }
func (c *counted) Run(ctx context.Context) ([]diag.Finding, error) {
	c.runs.Add(1)
	return c.fs, c.err
}

func pass(id string, fs ...diag.Finding) *counted { return &counted{id: id, fs: fs} }

func TestRunbookStopsAtFirstFailingStep(t *testing.T) {
	s1, s2 := pass("one"), pass("two", finding("broken", diag.Warning, "web"))
	s3 := pass("three")
	rb := diag.Runbook{Name: "t", Title: "T", Reference: "ref", Steps: []diag.Step{
		{Title: "first", Check: s1, Advice: "advice 1"},
		{Title: "second", Check: s2, Advice: "advice 2"},
		{Title: "third", Check: s3, Advice: "advice 3"},
	}}
	res := rb.Run(context.Background(), 0)
	assert.Equal(t, 2, res.FailedAt)
	assert.Equal(t, "advice 2", res.Advice)
	assert.Equal(t, []string{"third"}, res.NotRun)
	assert.EqualValues(t, 0, s3.runs.Load(), "a later step must not run")
	require.Len(t, res.Steps, 2)
	assert.Equal(t, diag.StepResult{Step: 1, Title: "first", Passed: true, Duration: res.Steps[0].Duration}, res.Steps[0])
	assert.False(t, res.Steps[1].Passed)
	assert.Equal(t, "advice 2", res.Steps[1].Advice)
	assert.Len(t, res.Steps[1].Findings, 1)
	assert.Equal(t, "t", res.Runbook)
	assert.Equal(t, "T", res.Title)
	assert.Equal(t, "ref", res.Reference)
	assert.False(t, res.Passed())
	assert.Equal(t, 1, res.ExitCode())
}

func TestRunbookErrorFailsStep(t *testing.T) {
	rb := diag.Runbook{Steps: []diag.Step{
		{Title: "a", Check: &counted{id: "a", err: errors.New("engine unreachable")}, Advice: "start the engine"},
		{Title: "b", Check: pass("b")},
	}}
	res := rb.Run(context.Background(), 0)
	assert.Equal(t, 1, res.FailedAt)
	assert.Equal(t, "engine unreachable", res.Steps[0].Err)
	assert.Equal(t, "start the engine", res.Advice)
	assert.Equal(t, 1, res.ExitCode())
}

func TestRunbookInfoAndOKFindingsPass(t *testing.T) {
	rb := diag.Runbook{Steps: []diag.Step{
		{Title: "a", Check: pass("a", finding("note", diag.Info, "web"), finding("seen", diag.OK, "web"))},
		{Title: "b", Check: pass("b")},
	}}
	res := rb.Run(context.Background(), 0)
	assert.True(t, res.Passed())
	assert.Zero(t, res.FailedAt)
	assert.Empty(t, res.Advice)
	assert.Len(t, res.Steps, 2)
	assert.Len(t, res.Steps[0].Findings, 2, "passing findings are kept")
	assert.Empty(t, res.Steps[0].Advice)
	assert.Equal(t, 0, res.ExitCode())
}

func TestRunbookCriticalExitCode(t *testing.T) {
	rb := diag.Runbook{Steps: []diag.Step{{Title: "a", Check: pass("a", finding("down", diag.Critical, "web"))}}}
	assert.Equal(t, 2, rb.Run(context.Background(), 0).ExitCode())
}

func TestRunbookNilCheckIsNotApplicable(t *testing.T) {
	last := pass("dns")
	rb := diag.Runbook{Steps: []diag.Step{{Title: "slb", Advice: "x"}, {Title: "dns", Check: last}}}
	res := rb.Run(context.Background(), 0)
	assert.True(t, res.Passed())
	assert.True(t, res.Steps[0].NotApplicable)
	assert.True(t, res.Steps[0].Passed)
	assert.EqualValues(t, 1, last.runs.Load())
}

func TestRunbookRunAllRunsEveryStep(t *testing.T) {
	a, b, c := pass("a", finding("x", diag.Warning, "w")), pass("b"), &counted{id: "c", err: errors.New("no answer")}
	rb := diag.Runbook{RunAll: true, Steps: []diag.Step{
		{Title: "a", Check: a, Advice: "fix a"}, {Title: "b", Check: b, Advice: "fix b"}, {Title: "c", Check: c, Advice: "fix c"},
	}}
	res := rb.Run(context.Background(), 0)
	assert.Equal(t, 1, res.FailedAt)
	assert.Equal(t, "fix a", res.Advice)
	assert.Empty(t, res.NotRun)
	require.Len(t, res.Steps, 3)
	assert.Equal(t, "fix a", res.Steps[0].Advice)
	assert.Empty(t, res.Steps[1].Advice)
	assert.Equal(t, "fix c", res.Steps[2].Advice)
	for _, ch := range []*counted{a, b, c} {
		assert.EqualValues(t, 1, ch.runs.Load(), ch.id)
	}
}

func TestRunbookStepTimeout(t *testing.T) {
	rb := diag.Runbook{Steps: []diag.Step{{Title: "slow", Check: check("slow", func(ctx context.Context) ([]diag.Finding, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}), Advice: "a"}}}
	res := rb.Run(context.Background(), 20*time.Millisecond)
	assert.Equal(t, 1, res.FailedAt)
	assert.Equal(t, "timed out after 20ms", res.Steps[0].Err)
}

func TestRunbookInterrupted(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	rb := diag.Runbook{Steps: []diag.Step{
		{Title: "a", Check: pass("a")},
		{Title: "b", Check: check("b", func(c context.Context) ([]diag.Finding, error) {
			cancel()
			<-c.Done()
			return nil, c.Err()
		}), Advice: "not this advice"},
		{Title: "c", Check: pass("c")},
	}}
	res := rb.Run(ctx, 0)
	assert.Equal(t, "context canceled", res.Interrupted)
	assert.Zero(t, res.FailedAt, "an interrupted step is no failure of the step")
	assert.Empty(t, res.Advice)
	assert.Equal(t, []string{"b", "c"}, res.NotRun)
	assert.Len(t, res.Steps, 1)
	assert.False(t, res.Passed())
	assert.Equal(t, 1, res.ExitCode())

	res = rb.Run(ctx, 0) // already cancelled
	assert.Equal(t, []string{"a", "b", "c"}, res.NotRun)
	assert.Empty(t, res.Steps)
}

// failingAt returns checks of which only the i-th (0-based) fails.
func failingAt(n, i int) ([]diag.Check, []*counted) {
	var cs []diag.Check
	var cc []*counted
	for j := range n {
		c := pass(fmt.Sprint("step", j+1))
		if j == i {
			c.fs = []diag.Finding{finding("fail", diag.Warning, "x")}
		}
		cs, cc = append(cs, c), append(cc, c)
	}
	return cs, cc
}

func TestConnectivityFollowsTheFAQ(t *testing.T) {
	rb := diag.Connectivity(nil, nil, nil, nil, nil, nil, nil)
	assert.Equal(t, diag.RunbookConnectivity, rb.Name)
	assert.Equal(t, "Container Service FAQ §2.8", rb.Reference)
	assert.False(t, rb.RunAll, "the link check stops at the first failing stage")
	require.Len(t, rb.Steps, 7)
	// The FAQ's order: container running, service, health check, direct
	// request bypassing the routing, routing, load balancer, DNS; each
	// advice in its words.
	want := []struct{ title, advice []string }{
		{[]string{"container", "running"}, []string{"running", "events"}},
		{[]string{"service", "web container"}, []string{"Ready", "Ready:3 Stop:0"}},
		{[]string{"health-check"}, []string{"Normal", "logs", "events", "status code 200"}},
		{[]string{"page", "bypassing the routing"}, []string{"container IP", "curl -v", "below 400", "302"}},
		{[]string{"routing"}, []string{"Upgrade the routing", "each machine", "curl -Ss -u admin:admin 'http://127.0.0.1:1936/haproxy?stats'", "backend", "w_web_80_servers", "green"}},
		{[]string{"load balancer VIP", "health check"}, []string{"Running", "TCP:80", "TCP:9080", "Normal"}},
		{[]string{"domain", "resolves", "VIP"}, []string{"ping www.example-domain.com", "dig www.example-domain.com", "VIP"}},
	}
	for i, s := range rb.Steps {
		assert.Nil(t, s.Check)
		for _, w := range want[i].title {
			assert.Contains(t, s.Title, w, "step %d", i+1)
		}
		for _, w := range want[i].advice {
			assert.Contains(t, s.Advice, w, "step %d", i+1)
		}
	}
	assert.True(t, rb.Run(context.Background(), 0).Passed(), "no counterpart for any step: all not applicable")

	// Each argument answers its own step.
	for i := range 7 {
		cs, cc := failingAt(7, i)
		rb := diag.Connectivity(cs[0], cs[1], cs[2], cs[3], cs[4], cs[5], cs[6])
		res := rb.Run(context.Background(), 0)
		assert.Equal(t, i+1, res.FailedAt)
		assert.Equal(t, rb.Steps[i].Advice, res.Advice)
		assert.Len(t, res.NotRun, 6-i)
		for j, c := range cc {
			assert.EqualValues(t, map[bool]int32{true: 1, false: 0}[j <= i], c.runs.Load(), "step %d after failure at %d", j+1, i+1)
		}
	}
}

func TestLogCollectionFollowsTheFAQ(t *testing.T) {
	rb := diag.LogCollection(nil, nil, nil, nil, nil, nil)
	assert.Equal(t, diag.RunbookLogCollection, rb.Name)
	assert.Equal(t, "Container Service FAQ §2.15", rb.Reference)
	assert.True(t, rb.RunAll, "the FAQ: do not skip steps")
	require.Len(t, rb.Steps, 6)
	want := []struct{ title, advice []string }{
		{[]string{"Logstore"}, []string{"not deployed correctly", "events"}},
		{[]string{"ilogtail version"}, []string{"docker ps | grep ilogtail", "0.11.6", "0.13.4"}},
		{[]string{"ilogtail log"}, []string{"/usr/local/ilogtail/ilogtail.LOG", "telnet logtail.cn-<region>-vpc.log.aliyuncs.com 80",
			"telnet logtail.cn-<region>.log.aliyuncs.com 80", "Unauthorized ErrorMessage:no authority, denied by ACL", "AccessKey"}},
		{[]string{"machine", "machine group"}, []string{"acslog-project-<first 10 characters of the cluster ID>", "IP list"}},
		{[]string{"primary account", "AccessKey"}, []string{"at least one valid AccessKey"}},
		{[]string{"log file", "content"}, []string{"docker logs"}},
	}
	for i, s := range rb.Steps {
		for _, w := range want[i].title {
			assert.Contains(t, s.Title, w, "step %d", i+1)
		}
		for _, w := range want[i].advice {
			assert.Contains(t, s.Advice, w, "step %d", i+1)
		}
	}

	// Every step is evaluated in order, even when all fail.
	var order []string
	mk := func(i int) diag.Check {
		return check(fmt.Sprint(i), func(ctx context.Context) ([]diag.Finding, error) {
			order = append(order, fmt.Sprint(i))
			return []diag.Finding{finding("f", diag.Warning, "x")}, nil
		})
	}
	res := diag.LogCollection(mk(1), mk(2), mk(3), mk(4), mk(5), mk(6)).Run(context.Background(), 0)
	assert.Equal(t, []string{"1", "2", "3", "4", "5", "6"}, order)
	assert.Equal(t, 1, res.FailedAt)
	for i, s := range res.Steps {
		assert.Equal(t, rb.Steps[i].Advice, s.Advice)
	}
	assert.True(t, strings.HasPrefix(res.Advice, "If the Logstore was not created"))
}
