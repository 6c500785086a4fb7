//go:build linux

package hatest

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"

	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/ha/cluster"
	"github.com/minato-ops/minato/internal/dockertest"
)

// percentile is the nearest-rank p-th percentile of xs (p in 0..100).
func percentile(xs []float64, p float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	i := int(math.Ceil(p/100*float64(len(s)))) - 1
	return s[max(i, 0)]
}

// failoverTimes is one failover after SIGKILL, in seconds from the kill:
// the standby's first witness probe (the heartbeats' silence noticed),
// its node_down (the witness answered), its holder_changed (it claimed the
// group: with the lease, once it acquired it), and the group online with
// the container running and its monitor's first check OK.
type failoverTimes struct {
	probe, down, claimed, ready float64
}

// BenchmarkFailover: the active node's agent is SIGKILLed; the standby
// brings the group online (a container on the local engine, created and
// started by its activation, running, and its monitor's first check OK).
// Heartbeat interval 1 s, timeout 3 s, CLUSTERPRO's HTTP witness, with and
// without the etcd lease (lease TTL = timeout). Reported, p50 and p99
// (nearest rank) over the runs, in seconds from the SIGKILL:
//
//	detect   the standby notices the silence: its witness probe arrives
//	witness  the witness answered: node_down
//	claim    it holds the group at a new epoch: holder_changed (with the
//	         lease: acquired once the dead node's hold expired)
//	online   the container runs and its monitor said OK
//
// Run with -benchtime 20x for 20 failovers; each run then restarts the
// killed agent (untimed) and removes its container, as a node that died
// would have lost it.
func BenchmarkFailover(b *testing.B) {
	for _, lease := range []bool{false, true} {
		name := "http-witness"
		if lease {
			name = "http-witness+lease"
		}
		b.Run(name, func(b *testing.B) { benchFailover(b, lease) })
	}
}

func benchFailover(b *testing.B, lease bool) {
	d := dockertest.New(b)
	image := d.Image(b)
	prefix := "hxbench-" + d.RunID() + "-"
	b.Cleanup(func() {
		for _, n := range []string{"node1", "node2"} {
			_ = d.Client.ContainerRemove(context.Background(), prefix+n, dcontainer.RemoveOptions{Force: true})
		}
	})
	h := newCluster(b, clusterOpts{nodes: 2, interval: time.Second, timeout: 3 * time.Second,
		httpWitness: true, lease: lease, witnessTimeout: time.Second,
		env: []string{"DOCKER_HOST=" + d.Host},
		resources: func(node string) string {
			return fmt.Sprintf(`        - name: app
          container:
            name: %q
            create: {image: %q, cmd: [sleep, forever], network: none, labels: {%q: %q}}
            stop_grace: 1s
          policy: {interval: 1s}
`, prefix+node, image, dockertest.LabelKey, d.RunID())
		}})
	running := func(node string) bool {
		r, err := d.Client.ContainerInspect(context.Background(), prefix+node)
		return err == nil && r.State != nil && r.State.Running
	}
	ready := func(r haReport) bool {
		_, eg := r.group(group)
		return eg.State == ha.Online && len(eg.Monitors) > 0 && eg.Monitors[0].Status.String() == "OK"
	}
	holder := h.waitSettled(60 * time.Second)
	var runs []failoverTimes
	var lines []string
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		active, standby := h.node(holder), h.nodes[0]
		if standby == active {
			standby = h.nodes[1]
		}
		b.StopTimer()
		// Start from a steady cluster: both up, the standby hearing the
		// active node.
		h.eventually(30*time.Second, "both nodes up", func() bool {
			r, err := h.ask(standby)
			if err != nil {
				return false
			}
			for _, n := range r.Cluster.Nodes {
				if n.State != cluster.NodeUp {
					return false
				}
			}
			return true
		})
		time.Sleep(time.Duration(i%10) * 100 * time.Millisecond) // kills at every phase of the heartbeat
		b.StartTimer()
		t0 := time.Now()
		h.kill(active)
		var r haReport
		for {
			var err error
			if r, err = h.ask(standby); err == nil && ready(r) {
				break
			}
			if time.Since(t0) > 60*time.Second {
				b.Fatalf("run %d: %s not online within 60s after %s's SIGKILL: %+v", i, standby.name, active.name, r)
			}
			time.Sleep(10 * time.Millisecond)
		}
		tReady := time.Since(t0)
		b.StopTimer()
		if !running(standby.name) {
			b.Fatalf("run %d: %s reports the group online but its container is not running", i, standby.name)
		}
		ft := failoverTimes{ready: tReady.Seconds(), probe: math.NaN(), down: math.NaN(), claimed: math.NaN()}
		if p := h.witnessLog.first(standby.k, t0); !p.IsZero() {
			ft.probe = p.Sub(t0).Seconds()
		}
		for _, ev := range r.Events {
			if ev.Time.Before(t0) {
				continue
			}
			switch {
			case ev.Kind == ha.EventNodeDown && ev.Node == active.name && math.IsNaN(ft.down):
				ft.down = ev.Time.Sub(t0).Seconds()
			case ev.Kind == ha.EventHolderChanged && ev.Node == standby.name && math.IsNaN(ft.claimed):
				ft.claimed = ev.Time.Sub(t0).Seconds()
			}
		}
		runs = append(runs, ft)
		lines = append(lines, fmt.Sprintf("%.2f/%.2f/%.2f/%.2f", ft.probe, ft.down, ft.claimed, ft.ready))
		// The dead node lost its container with it; its agent comes back
		// as the standby.
		_ = d.Client.ContainerRemove(context.Background(), prefix+active.name, dcontainer.RemoveOptions{Force: true})
		h.start(active)
		holder = standby.name
		b.StartTimer()
	}
	b.StopTimer()
	var detect, witness, claim, online []float64
	over := 0
	for _, r := range runs {
		detect = append(detect, r.probe)
		witness = append(witness, r.down-r.probe)
		claim = append(claim, r.claimed-r.down)
		online = append(online, r.ready-r.claimed)
		if r.ready > 5 {
			over++
		}
	}
	var totals []float64
	for _, r := range runs {
		totals = append(totals, r.ready)
	}
	for _, m := range []struct {
		name string
		xs   []float64
	}{{"detect", detect}, {"witness", witness}, {"claim", claim}, {"activate", online}, {"total", totals}} {
		b.ReportMetric(percentile(m.xs, 50), m.name+"-p50-s")
		b.ReportMetric(percentile(m.xs, 99), m.name+"-p99-s")
	}
	b.ReportMetric(float64(over), "runs-over-5s")
	// Two lines: a benchmark's log is cut after ten.
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d failovers, p50/p99 in s: detect (kill -> witness probe) %.3f/%.3f, witness (-> node_down) %.4f/%.4f, claim (-> holder_changed) %.3f/%.3f, activate (-> running + monitor OK) %.3f/%.3f, total %.3f/%.3f; over 5 s: %d",
		len(runs), percentile(detect, 50), percentile(detect, 99), percentile(witness, 50), percentile(witness, 99),
		percentile(claim, 50), percentile(claim, 99), percentile(online, 50), percentile(online, 99),
		percentile(totals, 50), percentile(totals, 99), over)
	fmt.Fprintf(&sb, "\neach run, probe/node_down/holder_changed/online in s from the kill: %s", strings.Join(lines, " "))
	b.Log(sb.String())
}
