package agent

import (
	"strconv"
	"time"

	"github.com/minato-ops/minato/ha/cluster"
	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/monitor/output/notify"
	"github.com/minato-ops/minato/monitor/output/prom"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// The agent's own series, beside the checks' (monitor/output/prom).
var (
	descNotifySent    = prometheus.NewDesc("minato_notifications_sent_total", "Notifications a notifier delivered.", []string{"notifier"}, nil)
	descNotifyDropped = prometheus.NewDesc("minato_notifications_dropped_total", "Notifications a notifier could not deliver (buffer full, retries spent, refused, closed).", []string{"notifier"}, nil)
	descNotifyPending = prometheus.NewDesc("minato_notifications_pending", "Notifications queued or being delivered.", []string{"notifier"}, nil)
	descRuns          = prometheus.NewDesc("minato_jobnet_runs_total", "Runs of a job network that reached their final state since the agent started, by state.", []string{"network", "state"}, nil)
	descQueueRunning  = prometheus.NewDesc("minato_queue_running", "Units holding a slot of the queue.", []string{"queue"}, nil)
	descQueueStopped  = prometheus.NewDesc("minato_queue_stopped", "1 when the queue is stopped: its units do not start.", []string{"queue"}, nil)
	descNextDue       = prometheus.NewDesc("minato_jobnet_next_due_timestamp_seconds", "When the network's schedule is next due (Unix time); scheduled networks only.", []string{"network"}, nil)
	descStoreUp       = prometheus.NewDesc("minato_job_store_up", "1 while the job store takes writes, 0 while they fail (runs are not admitted then).", nil, nil)
	descChecks        = prometheus.NewDesc("minato_checks", "Checks the agent runs.", nil, nil)
	descEvents        = prometheus.NewDesc("minato_engine_events_total", "Engine events the agent's event stream received and judged since it started.", nil, nil)
	descInvSyncs      = prometheus.NewDesc("minato_inventory_syncs_total", "Repository syncs of the engine's containers (add, delete, update) since the agent started.", []string{"engine"}, nil)
	descInvFailures   = prometheus.NewDesc("minato_inventory_sync_failures_total", "Repository syncs that failed (engine down, repository locked or failing); the repository is then unchanged for the engine.", []string{"engine"}, nil)
	descHANode        = prometheus.NewDesc("minato_ha_node_up", "1 while the HA node is up as this node sees it (heard within the timeout; this node: running and not isolated).", []string{"node"}, nil)
	descHAGroupLocal  = prometheus.NewDesc("minato_ha_group_online", "1 while the group is online on this node.", []string{"group"}, nil)
	descHAGroupHolder = prometheus.NewDesc("minato_ha_group_holder", "1 for the node holding the group, as this node sees it.", []string{"group", "node"}, nil)
	descHAGroupEpoch  = prometheus.NewDesc("minato_ha_group_epoch", "The newest epoch (fencing token) of the group known here.", []string{"group"}, nil)
	descHAHeard       = prometheus.NewDesc("minato_ha_heartbeat_age_seconds", "Seconds since a heartbeat of the node last arrived on the network (a network that died keeps growing).", []string{"node", "network"}, nil)
	descHARTT         = prometheus.NewDesc("minato_ha_heartbeat_rtt_seconds", "The last heartbeat round trip to the node on the network.", []string{"node", "network"}, nil)
	descHABeats       = prometheus.NewDesc("minato_ha_heartbeats_total", "Heartbeat datagrams sent, received (accepted) and rejected.", []string{"direction"}, nil)
	descHAChanges     = prometheus.NewDesc("minato_ha_transitions_total", "Takeovers, failovers, self-fences (isolations) and leases lost on this node.", []string{"kind"}, nil)
	descInvLast       = prometheus.NewDesc("minato_inventory_last_sync_timestamp_seconds", "When the engine's containers were last synced into the repository (Unix time).", []string{"engine"}, nil)
)

// agentCollector collects the agent's own series at scrape time.
type agentCollector struct{ a *Agent }

func (c agentCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descNotifySent, descNotifyDropped, descNotifyPending, descRuns, descQueueRunning, descQueueStopped, descNextDue, descStoreUp, descChecks, descEvents, descInvSyncs, descInvFailures, descInvLast,
		descHANode, descHAHeard, descHAGroupLocal, descHAGroupHolder, descHAGroupEpoch, descHARTT, descHABeats, descHAChanges} {
		ch <- d
	}
}

func (c agentCollector) Collect(ch chan<- prometheus.Metric) {
	a := c.a
	ch <- prometheus.MustNewConstMetric(descChecks, prometheus.GaugeValue, float64(len(a.cfg.Checks)))
	if a.cfg.Events.Enabled {
		ch <- prometheus.MustNewConstMetric(descEvents, prometheus.CounterValue, float64(a.events.Load()))
	}
	for _, n := range a.fan.Stats() {
		collectNotifier(ch, n)
	}
	for _, f := range a.follow {
		name := f.engine.Name()
		ch <- prometheus.MustNewConstMetric(descInvSyncs, prometheus.CounterValue, float64(f.syncs.Load()), name)
		ch <- prometheus.MustNewConstMetric(descInvFailures, prometheus.CounterValue, float64(f.failures.Load()), name)
		if t := f.lastOK.Load(); t != 0 {
			ch <- prometheus.MustNewConstMetric(descInvLast, prometheus.GaugeValue, float64(t)/1e9, name)
		}
	}
	if a.ha != nil {
		collectHA(ch, a.ha)
	}
	j := a.jobs
	if j == nil {
		return
	}
	up := 1.0
	if j.sched.Health() != nil {
		up = 0
	}
	ch <- prometheus.MustNewConstMetric(descStoreUp, prometheus.GaugeValue, up)
	counts := j.endedCounts()
	nets := j.sched.Networks()
	for _, n := range nets {
		for _, st := range []job.UnitState{job.Succeeded, job.StateFailed, job.Cancelled, job.Skipped} {
			counts[[2]string{n.Name, string(st)}] += 0
		}
		if !n.Next.IsZero() {
			ch <- prometheus.MustNewConstMetric(descNextDue, prometheus.GaugeValue, float64(n.Next.Unix()), n.Name)
		}
	}
	for k, v := range counts {
		ch <- prometheus.MustNewConstMetric(descRuns, prometheus.CounterValue, float64(v), k[0], k[1])
	}
	for _, q := range j.sched.Queues() {
		stopped := 0.0
		if q.Stopped {
			stopped = 1
		}
		ch <- prometheus.MustNewConstMetric(descQueueRunning, prometheus.GaugeValue, float64(q.Running), q.Name)
		ch <- prometheus.MustNewConstMetric(descQueueStopped, prometheus.GaugeValue, stopped, q.Name)
	}
}

func collectNotifier(ch chan<- prometheus.Metric, n notify.NamedStats) {
	ch <- prometheus.MustNewConstMetric(descNotifySent, prometheus.CounterValue, float64(n.Sent), n.Name)
	ch <- prometheus.MustNewConstMetric(descNotifyDropped, prometheus.CounterValue, float64(n.Dropped), n.Name)
	ch <- prometheus.MustNewConstMetric(descNotifyPending, prometheus.GaugeValue, float64(n.Pending), n.Name)
}

// registry is the agent's Prometheus registry: the Go runtime and the
// process, the checks' latest evaluations, and the agent's own series.
func (a *Agent) registry() *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		prom.NewCollector(a.runner.Evaluations, a.runner.Describe(), prom.WithLogger(a.log)),
		agentCollector{a},
	)
	return reg
}

func collectHA(ch chan<- prometheus.Metric, rt *haRuntime) {
	st := rt.cluster.Status()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	for _, n := range st.Nodes {
		up := 0.0
		if n.State == cluster.NodeUp {
			up = 1
		}
		gauge(descHANode, up, n.Name)
		for i, nw := range n.Networks {
			if nw.RTT > 0 {
				gauge(descHARTT, nw.RTT.Seconds(), n.Name, strconv.Itoa(i))
			}
			if !n.Self && !nw.LastHeard.IsZero() {
				gauge(descHAHeard, time.Since(nw.LastHeard).Seconds(), n.Name, strconv.Itoa(i))
			}
		}
	}
	for _, g := range st.Groups {
		online := 0.0
		if rt.online(g.Name) {
			online = 1
		}
		gauge(descHAGroupLocal, online, g.Name)
		gauge(descHAGroupEpoch, float64(g.Epoch), g.Name)
		for _, n := range st.Nodes {
			held := 0.0
			if g.Holder == n.Name {
				held = 1
			}
			gauge(descHAGroupHolder, held, g.Name, n.Name)
		}
	}
	c := st.Counters
	counter(descHABeats, c.HeartbeatsSent, "sent")
	counter(descHABeats, c.HeartbeatsReceived, "received")
	counter(descHABeats, c.HeartbeatsRejected, "rejected")
	counter(descHAChanges, c.Takeovers, "takeover")
	counter(descHAChanges, c.Failovers, "failover")
	counter(descHAChanges, c.Isolations, "isolation")
	counter(descHAChanges, c.LeasesLost, "lease_lost")
}
