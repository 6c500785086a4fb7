package docker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/docker/internal/cgroupfs"
)

// The collection modes a Collector can use; see [CollectorConfig.Mode].
const (
	ModeAuto      = "auto"
	ModeOneShot   = "oneshot"
	ModeStream    = "stream"
	ModeTwoSample = "twosample"
	ModeDirect    = "direct"
)

// CollectorConfig says how a [Collector] takes resource samples.
type CollectorConfig struct {
	// Mode is one of:
	//   - "auto" (default): "direct" when the engine is local and its
	//     cgroups are readable here, else "oneshot" on API ≥ 1.41, else
	//     "twosample";
	//   - "oneshot": the engine's one-shot stats call, in parallel;
	//   - "stream": one streamed stats connection per container, kept open
	//     by the Collector (for long-running agents; Close releases them);
	//   - "twosample": the engine's classic call (about 2 s each), only for
	//     engines older than API 1.41;
	//   - "direct": read cgroupfs and /proc on the engine's host.
	Mode string `json:"mode,omitempty"`
	// Concurrency bounds the containers sampled at once. 0 (the default)
	// means every container at once in the API modes, where each call
	// mostly waits for the engine's once-a-second stats collector (engines
	// before 23.0.8/24.0.7/25.0 make a one-shot call wait for the next
	// cycle, so calls beyond the bound would wait for later cycles), and 16
	// in the direct mode, which only reads files.
	Concurrency int `json:"concurrency,omitempty"`
	// CgroupRoot and ProcRoot are where the direct mode reads; defaults
	// /sys/fs/cgroup and /proc.
	CgroupRoot string `json:"cgroup_root,omitempty"`
	ProcRoot   string `json:"proc_root,omitempty"`
}

// DefaultCollectorConfig returns mode auto with the default concurrency.
func DefaultCollectorConfig() CollectorConfig {
	return CollectorConfig{Mode: ModeAuto, CgroupRoot: "/sys/fs/cgroup", ProcRoot: "/proc"}
}

// maxAPIConcurrency caps "every container at once" in the API modes.
const maxAPIConcurrency = 512

// directConcurrency is the default bound of the direct mode.
const directConcurrency = 16

// Validate checks the Mode and Concurrency.
func (c CollectorConfig) Validate() error {
	var errs []error
	switch c.Mode {
	case "", ModeAuto, ModeOneShot, ModeStream, ModeTwoSample, ModeDirect:
	default:
		errs = append(errs, fmt.Errorf("mode %q: want auto, oneshot, stream, twosample or direct", c.Mode))
	}
	if c.Concurrency < 0 {
		errs = append(errs, fmt.Errorf("concurrency %d: want 0 (the default) or more", c.Concurrency))
	}
	return errors.Join(errs...)
}

// Snapshot is one container's state and resource sample.
type Snapshot struct {
	// Target is the container.
	Target inventory.Target
	// Inspect holds its state, start time, main PID and limits at the time
	// of the sample.
	Inspect container.InspectResult
	// Stats is the resource sample; Stats.Read is when it was taken.
	Stats container.Stats
	// Mode says how Stats was collected.
	Mode monitor.Mode
}

// directReader reads one container's counters from the host.
type directReader interface {
	StatsOf(id string, pid int, want cgroupfs.Want) (container.Stats, error)
}

// Collector takes resource samples of many containers at once. It is safe
// for concurrent use. Create it with [NewCollector]; Close it when the mode
// is "stream".
type Collector struct {
	c   *container.Client
	cfg CollectorConfig
	log *slog.Logger

	once     sync.Once
	mode     string
	direct   directReader
	info     container.InfoResult
	setupErr error

	streams *streamCache

	// inspected caches each container's inspect result in the direct
	// mode, where the inspect call would cost more than the sample: a
	// cached entry is used while its PID is still the container's (a
	// restart gives a new PID, and the entry is looked up again).
	mu        sync.Mutex
	inspected map[string]container.InspectResult
}

// CollectorOption configures optional collaborators of a Collector.
type CollectorOption func(*Collector)

// WithCollectorLogger sets the logger for debug traces (default: discard).
func WithCollectorLogger(l *slog.Logger) CollectorOption {
	return func(c *Collector) { c.log = l }
}

// NewCollector returns a Collector on the engine c talks to. It does not
// contact the engine; the first Collect resolves "auto".
func NewCollector(c *container.Client, cfg CollectorConfig, opts ...CollectorOption) (*Collector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("docker collector: %w", err)
	}
	d := DefaultCollectorConfig()
	if cfg.Mode == "" {
		cfg.Mode = d.Mode
	}
	if cfg.CgroupRoot == "" {
		cfg.CgroupRoot = d.CgroupRoot
	}
	if cfg.ProcRoot == "" {
		cfg.ProcRoot = d.ProcRoot
	}
	col := &Collector{c: c, cfg: cfg, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(col)
	}
	return col, nil
}

// Mode returns the mode in use ("auto" resolved), after the first Collect.
func (col *Collector) Mode() string { return col.mode }

// Info returns the engine information read by the first Collect.
func (col *Collector) Info() container.InfoResult { return col.info }

// setup resolves the mode once: it reads the engine's info (cgroup driver
// and version, host memory) and decides between direct and API modes.
func (col *Collector) setup(ctx context.Context) error {
	col.once.Do(func() {
		info, err := col.c.Info(ctx)
		if err != nil {
			col.setupErr = err
			return
		}
		col.info = info
		mode := col.cfg.Mode
		if mode == ModeDirect || mode == ModeAuto {
			r, err := newDirectReader(col.cfg.CgroupRoot, col.cfg.ProcRoot, info.CgroupDriver, info.CgroupVersion)
			switch {
			case err == nil && (mode == ModeDirect || col.c.Local()):
				col.direct, mode = r, ModeDirect
			case mode == ModeDirect:
				col.setupErr = fmt.Errorf("direct mode: %w", err)
				return
			default:
				col.log.DebugContext(ctx, "direct mode unavailable", "err", err)
			}
		}
		if mode == ModeAuto {
			mode = ModeOneShot
			if versionLess(col.c.APIVersion(), "1.41") {
				mode = ModeTwoSample
			}
		}
		if mode == ModeStream {
			col.streams = newStreamCache(col.c)
		}
		col.mode = mode
	})
	return col.setupErr
}

// versionLess compares "1.40" < "1.41" numerically.
func versionLess(a, b string) bool {
	am, an, _ := strings.Cut(a, ".")
	bm, bn, _ := strings.Cut(b, ".")
	x, _ := strconv.Atoi(am)
	y, _ := strconv.Atoi(bm)
	if x != y {
		return x < y
	}
	x, _ = strconv.Atoi(an)
	y, _ = strconv.Atoi(bn)
	return x < y
}

// Collect samples every Target in parallel and returns one Snapshot and
// one error per Target, in order. The returned error is for the sweep as a
// whole (engine unreachable, direct mode impossible). kinds limits what the
// direct mode reads (none means everything); the API modes always return
// the engine's whole sample.
func (col *Collector) Collect(ctx context.Context, ts []inventory.Target, kinds ...Kind) ([]Snapshot, []error, error) {
	if err := col.setup(ctx); err != nil {
		return nil, nil, err
	}
	want := wantFor(kinds)
	snaps := make([]Snapshot, len(ts))
	errs := make([]error, len(ts))
	n := col.cfg.Concurrency
	if n == 0 {
		n = min(max(len(ts), 1), maxAPIConcurrency)
		if col.mode == ModeDirect {
			n = directConcurrency
		}
	}
	sem := make(chan struct{}, n)
	var wg sync.WaitGroup
	for i, t := range ts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				errs[i] = ctx.Err()
				return
			}
			defer func() { <-sem }()
			snaps[i], errs[i] = col.one(ctx, t, want)
		}()
	}
	wg.Wait()
	col.forgetOthers(ts)
	if col.mode != ModeDirect && allUnreachable(errs) {
		return nil, nil, errs[0]
	}
	return snaps, errs, nil
}

func allUnreachable(errs []error) bool {
	if len(errs) == 0 {
		return false
	}
	for _, e := range errs {
		if !errors.Is(e, container.ErrUnreachable) {
			return false
		}
	}
	return true
}

// wantFor maps resource kinds to what the direct reader must read.
func wantFor(kinds []Kind) cgroupfs.Want {
	if len(kinds) == 0 {
		return cgroupfs.WantAll
	}
	w := cgroupfs.WantHost
	for _, k := range kinds {
		switch k {
		case CPU:
			w |= cgroupfs.WantCPU
		case Memory:
			w |= cgroupfs.WantMemory
		case BlockIO:
			w |= cgroupfs.WantBlkIO
		case Network:
			w |= cgroupfs.WantNetwork
		case PIDs:
			w |= cgroupfs.WantPIDs
		}
	}
	return w
}

// inspect returns the container's inspect result: in the direct mode from
// the cache when there is one, else from the engine.
func (col *Collector) inspect(ctx context.Context, id string, cached bool) (container.InspectResult, error) {
	if cached && col.mode == ModeDirect {
		col.mu.Lock()
		ins, ok := col.inspected[id]
		col.mu.Unlock()
		if ok {
			return ins, nil
		}
	}
	ins, err := col.c.Inspect(ctx, id, container.InspectOptions{})
	if err == nil && col.mode == ModeDirect && ins.State == container.Running && ins.Pid > 0 {
		col.mu.Lock()
		if col.inspected == nil {
			col.inspected = map[string]container.InspectResult{}
		}
		col.inspected[id] = ins
		col.mu.Unlock()
	}
	return ins, err
}

// forgetOthers drops cached inspect results of containers not in ts.
func (col *Collector) forgetOthers(ts []inventory.Target) {
	col.mu.Lock()
	defer col.mu.Unlock()
	if len(col.inspected) == 0 {
		return
	}
	keep := make(map[string]bool, len(ts))
	for _, t := range ts {
		keep[t.ID] = true
	}
	for id := range col.inspected {
		if !keep[id] {
			delete(col.inspected, id)
		}
	}
}

func (col *Collector) one(ctx context.Context, t inventory.Target, want cgroupfs.Want) (Snapshot, error) {
	ins, err := col.inspect(ctx, t.ID, true)
	if err != nil {
		return Snapshot{}, err
	}
	s := Snapshot{Target: t, Inspect: ins}
	if ins.State != container.Running && ins.State != container.Paused {
		return s, fmt.Errorf("container is %s: no resource usage to sample", ins.State)
	}
	switch col.mode {
	case ModeDirect:
		s.Stats, err = col.direct.StatsOf(ins.ID, ins.Pid, want|cgroupfs.RequirePID)
		if errors.Is(err, cgroupfs.ErrStalePID) {
			// Restarted, paused-and-changed or stopped: ask the engine again.
			col.mu.Lock()
			delete(col.inspected, t.ID)
			col.mu.Unlock()
			if ins, err = col.inspect(ctx, t.ID, false); err != nil {
				return Snapshot{}, err
			}
			s.Inspect = ins
			if ins.State != container.Running && ins.State != container.Paused {
				return s, fmt.Errorf("container is %s: no resource usage to sample", ins.State)
			}
			s.Stats, err = col.direct.StatsOf(ins.ID, ins.Pid, want)
		}
		s.Mode = monitor.ModeDirect
	case ModeStream:
		s.Stats, err = col.streams.latest(ctx, ins.ID)
		s.Mode = monitor.ModeStream
	case ModeTwoSample:
		var r container.StatsResult
		r, err = col.c.Stats(ctx, ins.ID, container.StatsOptions{TwoSample: true})
		s.Stats, s.Mode = r.Stats, monitor.ModeTwoSample
	default:
		var r container.StatsResult
		r, err = col.c.Stats(ctx, ins.ID, container.StatsOptions{})
		s.Stats, s.Mode = r.Stats, monitor.ModeOneShot
	}
	if err != nil {
		return s, err
	}
	if s.Stats.Read.IsZero() {
		s.Stats.Read = time.Now()
	}
	if s.Stats.ID == "" {
		s.Stats.ID = ins.ID
	}
	return s, nil
}

// Close stops the streams of the "stream" mode; other modes hold nothing.
func (col *Collector) Close() error {
	if col.streams != nil {
		col.streams.close()
	}
	return nil
}

// streamCache keeps one streamed stats connection per container and the
// latest sample of each.
type streamCache struct {
	c      *container.Client
	mu     sync.Mutex
	ctx    context.Context
	cancel context.CancelFunc
	subs   map[string]*streamSub
}

type streamSub struct {
	ready  chan struct{}
	once   sync.Once
	mu     sync.Mutex
	latest container.Stats
	err    error
}

func newStreamCache(c *container.Client) *streamCache {
	ctx, cancel := context.WithCancel(context.Background())
	return &streamCache{c: c, ctx: ctx, cancel: cancel, subs: map[string]*streamSub{}}
}

// latest returns the newest streamed sample of id, opening the stream (and
// waiting for its first sample) on first use.
func (sc *streamCache) latest(ctx context.Context, id string) (container.Stats, error) {
	sc.mu.Lock()
	sub, ok := sc.subs[id]
	if !ok {
		sub = &streamSub{ready: make(chan struct{})}
		sc.subs[id] = sub
		go func() {
			err := sc.c.StatsStream(sc.ctx, id, func(s container.Stats) error {
				sub.mu.Lock()
				sub.latest = s
				sub.mu.Unlock()
				sub.once.Do(func() { close(sub.ready) })
				return nil
			})
			sub.mu.Lock()
			sub.err = err
			if err == nil {
				sub.err = errors.New("stats stream closed")
			}
			sub.mu.Unlock()
			sub.once.Do(func() { close(sub.ready) })
			sc.mu.Lock()
			delete(sc.subs, id) // a later call reopens it
			sc.mu.Unlock()
		}()
	}
	sc.mu.Unlock()
	select {
	case <-sub.ready:
	case <-ctx.Done():
		return container.Stats{}, ctx.Err()
	}
	sub.mu.Lock()
	defer sub.mu.Unlock()
	if sub.latest.Read.IsZero() && sub.err != nil {
		return container.Stats{}, sub.err
	}
	return sub.latest, nil
}

func (sc *streamCache) close() { sc.cancel() }
