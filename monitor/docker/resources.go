package docker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/baseline"
)

// Kind selects a family of resource samples.
type Kind string

// The resource families a [Resources] monitor can produce.
const (
	CPU     Kind = "cpu"
	Memory  Kind = "memory"
	BlockIO Kind = "blkio"
	Network Kind = "network"
	PIDs    Kind = "pids"
)

// Resources measures containers' resource usage from one sample per run
// plus, for rates and deltas, the previous run's sample kept in a
// [baseline.Store] under a key (the Hinemos scripts' -k KEY_ID). It
// implements [monitor.BatchMonitor] and [monitor.Describer]; it is safe for
// concurrent use, although two runs with the same key at the same moment
// measure nearly nothing between them.
type Resources struct {
	col   *Collector
	store *baseline.Store
	key   string
	kinds []Kind
	now   func() time.Time
}

var (
	_ monitor.BatchMonitor = (*Resources)(nil)
	_ monitor.Describer    = (*Resources)(nil)
)

// NewResources returns a monitor of the given kinds (all when none). store
// and key keep the baseline for CPU, block I/O and network rates; with a
// nil store those samples are never produced (memory and pids need none).
// The baseline file is "<key>.<kinds>", so monitors of different kinds may
// share one key.
func NewResources(col *Collector, store *baseline.Store, key string, kinds ...Kind) (*Resources, error) {
	if len(kinds) == 0 {
		kinds = []Kind{CPU, Memory, BlockIO, Network, PIDs}
	}
	for _, k := range kinds {
		if !slices.Contains([]Kind{CPU, Memory, BlockIO, Network, PIDs}, k) {
			return nil, fmt.Errorf("docker resources: kind %q: want cpu, memory, blkio, network or pids", k)
		}
	}
	if store != nil {
		if err := baseline.CheckKey(key); err != nil {
			return nil, fmt.Errorf("docker resources: %w", err)
		}
	}
	return &Resources{col: col, store: store, key: key, kinds: kinds, now: time.Now}, nil
}

func (r *Resources) has(k Kind) bool { return slices.Contains(r.kinds, k) }

func (r *Resources) needsBaseline() bool {
	return r.store != nil && (r.has(CPU) || r.has(BlockIO) || r.has(Network))
}

func (r *Resources) baselineKey() string {
	s := r.key
	for _, k := range r.kinds {
		s += "." + string(k)
	}
	return s
}

// prev is what the baseline keeps per container.
type prev struct {
	StartedAt time.Time       `json:"started_at"`
	Stats     container.Stats `json:"stats"`
}

// Check measures one container; see CheckAll.
func (r *Resources) Check(ctx context.Context, t inventory.Target) (monitor.Result, error) {
	res, errs, err := r.CheckAll(ctx, []inventory.Target{t})
	if err != nil {
		return monitor.Result{}, err
	}
	return res[0], errs[0]
}

// CheckAll samples every container once, computes the samples of the
// configured kinds and stores the new baseline. For each container whose
// rates cannot be computed yet (first run of the key, a restart, a counter
// that went backwards) the rate samples are absent and, when nothing else
// was measured, its error wraps monitor.ErrNoBaseline.
func (r *Resources) CheckAll(ctx context.Context, ts []inventory.Target) ([]monitor.Result, []error, error) {
	snaps, errs, err := r.col.Collect(ctx, ts, r.kinds...)
	if err != nil {
		return nil, nil, err
	}
	results := make([]monitor.Result, len(ts))
	compute := func(prevs map[string]prev) {
		for i, s := range snaps {
			if errs[i] != nil {
				continue
			}
			var p *prev
			if pv, ok := prevs[s.Inspect.ID]; ok && pv.StartedAt.Equal(s.Inspect.StartedAt) {
				p = &pv
			}
			results[i], errs[i] = r.samples(s, p)
		}
	}
	if !r.needsBaseline() {
		compute(nil)
		return results, errs, nil
	}
	err = r.store.Update(r.baselineKey(), func(old []byte) ([]byte, error) {
		prevs := map[string]prev{}
		if old != nil {
			if err := json.Unmarshal(old, &prevs); err != nil {
				prevs = map[string]prev{} // a damaged baseline only costs one run
			}
		}
		compute(prevs)
		next := map[string]prev{}
		for _, s := range snaps {
			if s.Inspect.ID == "" || s.Stats.Read.IsZero() {
				continue
			}
			next[s.Inspect.ID] = prev{StartedAt: s.Inspect.StartedAt, Stats: trimForBaseline(s.Stats)}
		}
		// Keep the baselines of containers not sampled this time (another
		// selection may share the key), but drop stale ones after a day.
		for id, p := range prevs {
			if _, ok := next[id]; !ok && r.now().Sub(p.Stats.Read) < 24*time.Hour {
				next[id] = p
			}
		}
		return json.Marshal(next)
	})
	if err != nil {
		return nil, nil, err
	}
	return results, errs, nil
}

// trimForBaseline drops what rates do not need.
func trimForBaseline(s container.Stats) container.Stats {
	s.Memory = container.MemoryStats{}
	s.PreCPU = container.CPUStats{}
	return s
}

// samples computes one container's samples; p is its baseline, if any.
func (r *Resources) samples(s Snapshot, p *prev) (monitor.Result, error) {
	st := s.Stats
	res := monitor.Result{Time: st.Read, Status: monitor.OK}
	add := func(name string, v float64, u monitor.Unit, labels map[string]string) {
		res.Samples = append(res.Samples, monitor.Sample{Name: name, Value: v, Unit: u, Labels: labels, Time: st.Read, Mode: s.Mode})
	}
	var why []error
	noBaseline := func(e error) {
		why = append(why, e)
	}
	if r.store != nil && p == nil && r.needsBaseline() {
		noBaseline(fmt.Errorf("%w for key %s", monitor.ErrNoBaseline, r.key))
	}
	online := int(st.CPU.OnlineCPUs)
	if online == 0 {
		online = r.col.Info().NCPU
	}

	if r.has(CPU) {
		add("cpu_usage_seconds_total", float64(st.CPU.TotalUsage)/1e9, monitor.Seconds, nil)
		if p != nil {
			if pct, err := CPUPercent(p.Stats, st); err != nil {
				noBaseline(err)
			} else {
				add("cpu_percent", pct, monitor.Percent, nil)
				if lim := LimitCPUs(s.Inspect, online); lim > 0 {
					add("cpu_limit_percent", pct/lim, monitor.Percent, nil)
				}
				if cores, err := CPUCorePercents(p.Stats, st); err == nil {
					for i, v := range cores {
						add("cpu_core_percent", v, monitor.Percent, map[string]string{"core": strconv.Itoa(i)})
					}
				} else if !errors.Is(err, monitor.ErrNotSupported) {
					noBaseline(err)
				}
				if ratio, secs, ok, err := Throttling(p.Stats, st); err == nil && ok {
					add("cpu_throttled_percent", ratio*100, monitor.Percent, nil)
					add("cpu_throttled_seconds", secs, monitor.Seconds, nil)
				}
			}
		}
		add("cpu_limit_cpus", LimitCPUs(s.Inspect, online), monitor.None, nil)
	}
	if r.has(Memory) {
		m := st.Memory
		hostTotal := float64(r.col.Info().MemTotal)
		// The cgroup's limit as sampled (the engine reports an unlimited
		// container's limit as the host's memory, the Hinemos scripts'
		// fallback); the configured limit only when the sample has none.
		limit := float64(m.Limit)
		if limit <= 0 {
			limit = float64(s.Inspect.MemoryLimit)
		}
		if limit <= 0 {
			limit = hostTotal
		}
		add("memory_usage_bytes", float64(m.Usage), monitor.Bytes, nil)
		ws := WorkingSet(m)
		add("memory_working_set_bytes", float64(ws), monitor.Bytes, nil)
		if limit > 0 {
			add("memory_limit_bytes", limit, monitor.Bytes, nil)
			if v, ok := Percent(float64(ws), limit); ok {
				add("memory_working_set_percent", v, monitor.Percent, nil)
			}
		}
		if rss, ok := RSS(m); ok {
			add("memory_rss_bytes", float64(rss), monitor.Bytes, nil)
			if v, ok := Percent(float64(rss), hostTotal); ok {
				add("memory_host_percent", v, monitor.Percent, nil)
			}
			if v, ok := Percent(float64(rss), limit); ok {
				add("memory_limit_percent", v, monitor.Percent, nil)
			}
		}
		add("memory_failcnt_total", float64(m.Failcnt), monitor.Count, nil)
		keys := make([]string, 0, len(m.Stats))
		for k := range m.Stats {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			add("memory_stat", float64(m.Stats[k]), monitor.None, map[string]string{"key": k})
			res.Samples[len(res.Samples)-1].Exact = exactText(m.Stats[k])
		}
	}
	if r.has(BlockIO) {
		rd, wr := BlkIO(st)
		add("blkio_read_bytes_total", float64(rd), monitor.Bytes, nil)
		add("blkio_write_bytes_total", float64(wr), monitor.Bytes, nil)
		if p != nil {
			prd, pwr := BlkIO(p.Stats)
			dr, err1 := Delta(prd, rd)
			dw, err2 := Delta(pwr, wr)
			if err := errors.Join(err1, err2); err != nil {
				noBaseline(err)
			} else {
				secs := st.Read.Sub(p.Stats.Read).Seconds()
				add("disk_read_bytes", float64(dr), monitor.Bytes, nil)
				add("disk_write_bytes", float64(dw), monitor.Bytes, nil)
				if secs > 0 {
					add("disk_read_bytes_per_second", float64(dr)/secs, monitor.None, nil)  // a rate: the name carries the unit
					add("disk_write_bytes_per_second", float64(dw)/secs, monitor.None, nil) // a rate: the name carries the unit
				}
			}
		}
	}
	if r.has(Network) {
		if n, ok := NetTotals(st); ok {
			add("network_rx_bytes_total", float64(n.RxBytes), monitor.Bytes, nil)
			add("network_tx_bytes_total", float64(n.TxBytes), monitor.Bytes, nil)
			add("network_rx_packets_total", float64(n.RxPackets), monitor.Count, nil)
			add("network_tx_packets_total", float64(n.TxPackets), monitor.Count, nil)
			if pn, pok := NetTotals(p.statsOrZero()); p != nil && pok {
				d := make([]uint64, 4)
				var errs []error
				for i, pair := range [][2]uint64{{pn.RxBytes, n.RxBytes}, {pn.TxBytes, n.TxBytes}, {pn.RxPackets, n.RxPackets}, {pn.TxPackets, n.TxPackets}} {
					var err error
					d[i], err = Delta(pair[0], pair[1])
					errs = append(errs, err)
				}
				if err := errors.Join(errs...); err != nil {
					noBaseline(err)
				} else {
					add("network_rx_bytes", float64(d[0]), monitor.Bytes, nil)
					add("network_tx_bytes", float64(d[1]), monitor.Bytes, nil)
					add("network_rx_packets", float64(d[2]), monitor.None, nil)
					add("network_tx_packets", float64(d[3]), monitor.None, nil)
					if secs := st.Read.Sub(p.Stats.Read).Seconds(); secs > 0 {
						add("network_rx_bytes_per_second", float64(d[0])/secs, monitor.None, nil) // a rate: the name carries the unit
						add("network_tx_bytes_per_second", float64(d[1])/secs, monitor.None, nil) // a rate: the name carries the unit
					}
				}
			}
		}
	}
	if r.has(PIDs) {
		add("pids_current", float64(st.PIDs.Current), monitor.None, nil)
		if st.PIDs.Limit > 0 && st.PIDs.Limit < 1<<62 {
			add("pids_limit", float64(st.PIDs.Limit), monitor.None, nil)
			add("pids_limit_percent", float64(st.PIDs.Current)/float64(st.PIDs.Limit)*100, monitor.Percent, nil)
		}
	}
	if len(why) > 0 {
		res.Message = errors.Join(why...).Error()
	}
	if !r.hasRequested(res) && len(why) > 0 {
		return res, why[0]
	}
	return res, nil
}

// exactText returns n in decimal when a float64 cannot hold it exactly
// (a memory.stat value of 9223372036854775807 becomes ...808 as a
// float64), and "" when it can.
func exactText(n uint64) string {
	f := float64(n)
	if f < 1<<64 && uint64(f) == n {
		return ""
	}
	return strconv.FormatUint(n, 10)
}

func (p *prev) statsOrZero() container.Stats {
	if p == nil {
		return container.Stats{}
	}
	return p.Stats
}

// hasRequested reports whether the Result holds at least one sample that
// is not a raw counter, i.e. something the caller asked to see.
func (r *Resources) hasRequested(res monitor.Result) bool {
	for _, s := range res.Samples {
		switch s.Name {
		case "cpu_usage_seconds_total", "cpu_limit_cpus", "blkio_read_bytes_total", "blkio_write_bytes_total",
			"network_rx_bytes_total", "network_tx_bytes_total", "network_rx_packets_total", "network_tx_packets_total":
			continue
		}
		return true
	}
	return false
}

// Describe lists the samples Resources can produce for its kinds.
func (r *Resources) Describe() []monitor.SampleDesc {
	var out []monitor.SampleDesc
	add := func(k Kind, name string, u monitor.Unit, kind monitor.Kind, help string, labels ...string) {
		if r.has(k) {
			out = append(out, monitor.SampleDesc{Name: name, Unit: u, Kind: kind, Help: help, Labels: labels})
		}
	}
	add(CPU, "cpu_usage_seconds_total", monitor.Seconds, monitor.Counter, "CPU time the container used since it started.")
	add(CPU, "cpu_percent", monitor.Percent, monitor.Gauge, "CPU used between two samples, 100 = one core (Hinemos cpu_usage).")
	add(CPU, "cpu_core_percent", monitor.Percent, monitor.Gauge, "CPU used per core between two samples (cgroup v1 only).", "core")
	add(CPU, "cpu_limit_percent", monitor.Percent, monitor.Gauge, "CPU used as a share of the CPUs the container may use.")
	add(CPU, "cpu_limit_cpus", monitor.None, monitor.Gauge, "CPUs the container may use (limit, quota, cpuset or all online).")
	add(CPU, "cpu_throttled_percent", monitor.Percent, monitor.Gauge, "Share of CFS periods in which the container was throttled.")
	add(CPU, "cpu_throttled_seconds", monitor.Seconds, monitor.Gauge, "Time the container was throttled between two samples.")
	add(Memory, "memory_usage_bytes", monitor.Bytes, monitor.Gauge, "Memory charged to the container, page cache included.")
	add(Memory, "memory_working_set_bytes", monitor.Bytes, monitor.Gauge, "Usage minus inactive file cache (docker stats, cAdvisor, kubelet).")
	add(Memory, "memory_working_set_percent", monitor.Percent, monitor.Gauge, "Working set as a share of the limit (host memory when unlimited).")
	add(Memory, "memory_rss_bytes", monitor.Bytes, monitor.Gauge, "Anonymous memory (v1 total_rss, v2 anon), the numerator of Hinemos host_mem_usage.")
	add(Memory, "memory_host_percent", monitor.Percent, monitor.Gauge, "RSS as a share of the host's memory (Hinemos host_mem_usage).")
	add(Memory, "memory_limit_percent", monitor.Percent, monitor.Gauge, "RSS as a share of the limit, host memory when unlimited (Hinemos host_mem_usage with --container).")
	add(Memory, "memory_limit_bytes", monitor.Bytes, monitor.Gauge, "The container's memory limit, host memory when unlimited.")
	add(Memory, "memory_failcnt_total", monitor.Count, monitor.Counter, "Times the memory limit was hit.")
	add(Memory, "memory_stat", monitor.None, monitor.Gauge, "Every key of the cgroup memory.stat file.", "key")
	add(BlockIO, "blkio_read_bytes_total", monitor.Bytes, monitor.Counter, "Bytes read from block devices since the container started.")
	add(BlockIO, "blkio_write_bytes_total", monitor.Bytes, monitor.Counter, "Bytes written to block devices since the container started.")
	add(BlockIO, "disk_read_bytes", monitor.Bytes, monitor.Gauge, "Bytes read between two samples (Hinemos disk_read, bytes per interval).")
	add(BlockIO, "disk_write_bytes", monitor.Bytes, monitor.Gauge, "Bytes written between two samples (Hinemos disk_write, bytes per interval).")
	add(BlockIO, "disk_read_bytes_per_second", monitor.None, monitor.Gauge, "Read rate between two samples.")
	add(BlockIO, "disk_write_bytes_per_second", monitor.None, monitor.Gauge, "Write rate between two samples.")
	add(Network, "network_rx_bytes_total", monitor.Bytes, monitor.Counter, "Bytes received on all interfaces since the container started.")
	add(Network, "network_tx_bytes_total", monitor.Bytes, monitor.Counter, "Bytes sent on all interfaces since the container started.")
	add(Network, "network_rx_packets_total", monitor.Count, monitor.Counter, "Packets received since the container started.")
	add(Network, "network_tx_packets_total", monitor.Count, monitor.Counter, "Packets sent since the container started.")
	add(Network, "network_rx_bytes", monitor.Bytes, monitor.Gauge, "Bytes received between two samples (Hinemos nw_rxkb).")
	add(Network, "network_tx_bytes", monitor.Bytes, monitor.Gauge, "Bytes sent between two samples (Hinemos nw_txkb).")
	add(Network, "network_rx_packets", monitor.None, monitor.Gauge, "Packets received between two samples (Hinemos nw_rxpck).")
	add(Network, "network_tx_packets", monitor.None, monitor.Gauge, "Packets sent between two samples (Hinemos nw_txpck).")
	add(Network, "network_rx_bytes_per_second", monitor.None, monitor.Gauge, "Receive rate between two samples.")
	add(Network, "network_tx_bytes_per_second", monitor.None, monitor.Gauge, "Send rate between two samples.")
	add(PIDs, "pids_current", monitor.None, monitor.Gauge, "Tasks in the container's pids cgroup.")
	add(PIDs, "pids_limit", monitor.None, monitor.Gauge, "The container's pids.max, when set.")
	add(PIDs, "pids_limit_percent", monitor.Percent, monitor.Gauge, "Tasks as a share of pids.max.")
	return out
}
