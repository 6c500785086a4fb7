package bundle

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
)

// Names of the files the bundle writes itself.
const (
	fileEngine     = "engine.info"
	fileDaemon     = "daemon.json"
	fileDockerCfg  = "config.json"
	fileNet        = "net.info"
	fileSystem     = "system.info"
	fileMount      = "mount.info"
	fileLog        = "collect.log"
	fileRedactions = "REDACTIONS.txt"
)

// containerFiles are copied out of every container: what decides how it
// resolves names (JobCenter's "Site names do not match." and the FAQ's
// DNS questions turn on them).
var containerFiles = []string{"/etc/hosts", "/etc/resolv.conf", "/etc/hostname"}

// eventsTimeout bounds the event replay: an engine whose clock is behind
// this machine's would otherwise stream until its clock reaches "now".
const eventsTimeout = 10 * time.Second

// inspectDoc is the part of the engine's inspect document the bundle
// reads beyond container.InspectResult.
type inspectDoc struct {
	Config struct {
		Env []string `json:"Env"`
		Tty bool     `json:"Tty"`
	} `json:"Config"`
	Mounts []struct {
		Type        string `json:"Type"`
		Name        string `json:"Name"`
		Source      string `json:"Source"`
		Destination string `json:"Destination"`
	} `json:"Mounts"`
	NetworkSettings struct {
		Networks map[string]*endpoint `json:"Networks"`
	} `json:"NetworkSettings"`
}

// endpoint is a container's attachment to one network.
type endpoint struct {
	NetworkID         string   `json:"NetworkID"`
	EndpointID        string   `json:"EndpointID"`
	IPAddress         string   `json:"IPAddress"`
	IPPrefixLen       int      `json:"IPPrefixLen"`
	Gateway           string   `json:"Gateway"`
	GlobalIPv6Address string   `json:"GlobalIPv6Address"`
	MacAddress        string   `json:"MacAddress"`
	Aliases           []string `json:"Aliases"`
	DNSNames          []string `json:"DNSNames"`
}

// ctr is one selected container and what was read about it.
type ctr struct {
	sum  container.Summary
	insp container.InspectResult
	doc  inspectDoc
	err  error // inspect failed: nothing else is read
	// events are the most recent maxEvents; eventsCut counts the older
	// ones left out.
	events    []container.Event
	eventsCut int

	// start is closed when the container may be read (the writer is
	// close enough); done when fetch has filled the fields below.
	start     chan struct{}
	done      chan struct{}
	statsDone chan struct{}
	logs      []byte
	logsCut   bool
	logsErr   error
	top       *container.TopResult
	topErr    error
	stats     *container.Stats
	statsErr  error
	files     []copied
}

type copied struct {
	path string
	data []byte
	cut  bool
	err  error
}

func (x *ctr) shortID() string {
	return inventory.Target{Kind: inventory.KindContainer, ID: x.sum.ID}.ShortID()
}

func (x *ctr) name() string {
	if x.insp.Name != "" {
		return x.insp.Name
	}
	if x.sum.Name != "" {
		return x.sum.Name
	}
	return x.shortID()
}

// collector is one run of Collect.
type collector struct {
	c   *container.Client
	o   Options
	red *redactor

	dir       string
	res       Result
	log       strings.Builder
	written   map[string]bool
	listedSrc map[string]bool

	version  container.VersionResult
	info     container.SystemInfoResult
	networks []container.Network
	netErr   error
	ctrs     []*ctr
	// system files read before anything is written, so that their
	// secrets are learnt first.
	daemonCfg, dockerCfg fileRead
}

type fileRead struct {
	path string
	data []byte
	err  error
	skip string // why it was not read, when it was not
}

func (col *collector) progress(msg string) {
	col.log.WriteString(msg + "\n")
	col.o.progress(msg)
}

// fail records a partial failure.
func (col *collector) fail(format string, args ...any) {
	msg := col.red.text(fileLog, fmt.Sprintf(format, args...))
	col.res.Errors = append(col.res.Errors, msg)
	col.progress("Error: " + msg)
}

func (col *collector) run(ctx context.Context) (Result, error) {
	o := col.o
	base := o.Prefix + "_" + o.Now().Format("01021504") + "_" + o.Host
	if err := os.MkdirAll(o.Dir, 0o755); err != nil {
		return Result{}, fmt.Errorf("bundle: output directory: %w", err)
	}
	col.dir = filepath.Join(o.Dir, base)
	if _, err := os.Lstat(col.dir); err == nil {
		return Result{}, fmt.Errorf("bundle: %s already exists (a bundle of the same minute?): remove it or write into another directory", col.dir)
	}

	if err := ctx.Err(); err != nil {
		return Result{}, fmt.Errorf("bundle: %w", err)
	}
	col.progress("Start to get docker info.")
	var err error
	if col.version, err = col.c.Version(ctx); err != nil {
		if ctx.Err() != nil {
			return Result{}, fmt.Errorf("bundle: %w", ctx.Err())
		}
		col.progress("docker version error. Get docker info error! Stop.")
		return Result{}, fmt.Errorf("bundle: docker version error: %w (check DOCKER_HOST and that the Docker daemon is running)", err)
	}
	if col.info, err = col.c.SystemInfo(ctx); err != nil {
		if ctx.Err() != nil {
			return Result{}, fmt.Errorf("bundle: %w", ctx.Err())
		}
		col.progress("docker info error. Get docker info error! Stop.")
		return Result{}, fmt.Errorf("bundle: docker info error: %w (check DOCKER_HOST and that the Docker daemon is running)", err)
	}
	if err := os.Mkdir(col.dir, 0o700); err != nil {
		return Result{}, fmt.Errorf("bundle: create the bundle directory: %w", err)
	}
	col.res.Dir = col.dir // until the archive is written

	col.prepare(ctx)
	// The containers' logs, processes and files are read in the
	// background while the engine and host files are written; nothing
	// read outlives Collect.
	fctx, cancel := context.WithCancel(ctx)
	var readers sync.WaitGroup
	readers.Go(func() { col.fetchAll(fctx) })
	readers.Go(func() { col.fetchStats(fctx) })
	defer func() {
		cancel()
		readers.Wait()
	}()

	steps := []func(context.Context) error{col.writeEngine, col.writeSystemFiles, col.writeNet, col.writeSystem}
	for _, st := range steps {
		if err := st(ctx); err != nil {
			return col.stopped(err)
		}
	}
	for i, x := range col.ctrs {
		if i == 0 {
			for _, y := range col.ctrs[:min(ahead, len(col.ctrs))] {
				close(y.start)
			}
		}
		if i+ahead < len(col.ctrs) {
			close(col.ctrs[i+ahead].start)
		}
		if err := col.writeContainer(ctx, x); err != nil {
			return col.stopped(err)
		}
		x.release()
	}
	if err := ctx.Err(); err != nil {
		return col.stopped(err)
	}
	if err := col.writeText(fileLog, col.log.String()); err != nil {
		return col.stopped(err)
	}
	col.res.Redactions = col.red.redactions()
	if err := col.writeRaw(fileRedactions, col.redactionsText()); err != nil {
		return col.stopped(err)
	}

	col.progress("Start to compress.")
	archive := col.dir + ".tar.gz"
	if stage, err := compress(archive, o.Dir, base, col.res.Files); err != nil {
		col.progress(stage + " error. Failed to compress the files! Stop.")
		col.progress(fmt.Sprintf("The files are kept in the directory %q.", col.dir))
		return col.res, fmt.Errorf("%w: %s: %w; the files are kept in %s (check disk space and quota)", ErrCompress, archive, err, col.dir)
	}
	if err := os.RemoveAll(col.dir); err != nil {
		col.fail("remove the bundle directory %s after compressing it: %v", col.dir, err)
	} else {
		col.res.Dir = ""
	}
	col.res.Path = archive
	col.progress(fmt.Sprintf("The Info file %q was created successfully.", archive))
	return col.res, nil
}

// stopped ends a run that could not finish writing the directory.
func (col *collector) stopped(err error) (Result, error) {
	col.res.Redactions = col.red.redactions()
	return col.res, fmt.Errorf("bundle: collection stopped: %w; what was collected is in %s", err, col.dir)
}

// prepare selects and inspects the containers, reads their events and
// the configuration files, and learns every secret before anything is
// written.
func (col *collector) prepare(ctx context.Context) {
	o := col.o
	nets, err := col.c.ListNetworks(ctx, container.ListNetworksOptions{})
	col.networks, col.netErr = nets.Networks, err

	sel, err := col.c.Select(ctx, o.Selector)
	if err != nil {
		col.fail("list containers (%s): %v", o.Selector, err)
	}
	for _, s := range sel {
		col.ctrs = append(col.ctrs, &ctr{sum: s, start: make(chan struct{}), done: make(chan struct{}), statsDone: make(chan struct{})})
	}
	col.unmatched(sel)
	parallel(fetchers, len(col.ctrs), func(i int) {
		x := col.ctrs[i]
		x.insp, x.err = col.c.Inspect(ctx, x.sum.ID, container.InspectOptions{})
		if x.err == nil {
			if err := json.Unmarshal(x.insp.Raw, &x.doc); err != nil {
				x.err = fmt.Errorf("decoding the inspect document: %w", err)
			}
		}
	})
	for _, x := range col.ctrs {
		if x.err == nil {
			col.red.learnEnv(x.doc.Config.Env)
		}
	}
	col.readEvents(ctx)

	if o.DaemonConfig != "" || col.c.Local() {
		path := o.DaemonConfig
		if path == "" {
			path = DefaultDaemonConfig
		}
		col.daemonCfg = readFile(path, maxCopiedFile)
		if o.DaemonConfig == "" && errors.Is(col.daemonCfg.err, os.ErrNotExist) {
			col.daemonCfg = fileRead{path: path, skip: "not present: the engine runs on its defaults"}
		}
	} else {
		col.daemonCfg = fileRead{path: DefaultDaemonConfig, skip: "not read: the engine runs on another machine (" + col.c.Host() + ")"}
	}
	if o.DockerConfig != "" {
		col.dockerCfg = readFile(o.DockerConfig, maxCopiedFile)
	}
	for _, f := range []fileRead{col.daemonCfg, col.dockerCfg} {
		if f.err == nil && f.data != nil {
			col.red.learnJSON(f.data)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(o.Extra)) {
		if strings.HasSuffix(name, ".json") {
			col.red.learnJSON(o.Extra[name])
		} else {
			col.red.learnText(string(o.Extra[name]))
		}
	}
}

// unmatched reports exact names and IDs of the Selector that matched no
// container.
func (col *collector) unmatched(sel []container.Summary) {
	s := col.o.Selector
	for _, p := range s.Names {
		if !strings.HasSuffix(p, "*") && !slices.ContainsFunc(sel, func(x container.Summary) bool { return inventory.MatchName(p, x.Name) }) {
			col.fail("No such container: %s (no container of that name matches %s)", inventory.TrimName(p), s)
		}
	}
	for _, p := range s.IDs {
		if !strings.HasSuffix(p, "*") && !slices.ContainsFunc(sel, func(x container.Summary) bool { return inventory.MatchID(p, x.ID) }) {
			col.fail("No such container: %s (no container of that ID matches %s)", p, s)
		}
	}
	if len(sel) == 0 && len(s.Names) == 0 && len(s.IDs) == 0 {
		col.progress(fmt.Sprintf("No container matches %s: only the engine and this machine are collected.", s))
	}
}

// readEvents replays the events of every selected container, from the
// oldest one's creation up to now, in one call.
func (col *collector) readEvents(ctx context.Context) {
	var ids []string
	var since time.Time
	byID := map[string]*ctr{}
	for _, x := range col.ctrs {
		if x.err != nil {
			continue
		}
		ids = append(ids, x.sum.ID)
		byID[x.sum.ID] = x
		if t := x.insp.Created; !t.IsZero() && (since.IsZero() || t.Before(since)) {
			since = t
		}
	}
	if len(ids) == 0 {
		return
	}
	if since.IsZero() {
		since = time.Unix(0, 0)
	}
	ectx, cancel := context.WithTimeout(ctx, eventsTimeout)
	defer cancel()
	keep := func(x *ctr, e container.Event) {
		if len(x.events) == maxEvents {
			x.events = x.events[1:] // the most recent ones matter
			x.eventsCut++
		}
		x.events = append(x.events, e)
	}
	until := time.Now()
	// The engine's container filter leaves out the network events of a
	// container (connect, disconnect): they are read apart and merged.
	var errs []error
	var netEvents []container.Event
	for _, q := range []container.EventsOptions{
		{Filters: map[string][]string{"container": ids}},
		{Filters: map[string][]string{"type": {"network"}}},
	} {
		q.Since, q.Until = since.Add(-time.Second), until
		network := q.Filters["type"] != nil
		err := col.c.Events(ectx, q, func(e container.Event) error {
			if network {
				if byID[e.Attributes["container"]] != nil && len(netEvents) < maxEvents*len(ids) {
					netEvents = append(netEvents, e)
				}
				return nil
			}
			if x := byID[e.ActorID]; x != nil {
				keep(x, e)
			}
			return nil
		})
		if err != nil {
			errs = append(errs, err)
		}
	}
	for _, e := range netEvents {
		x := byID[e.Attributes["container"]]
		i, _ := slices.BinarySearchFunc(x.events, e.Time, func(a container.Event, t time.Time) int { return a.Time.Compare(t) })
		x.events = slices.Insert(x.events, i, e)
		if len(x.events) > maxEvents {
			x.events = x.events[1:]
			x.eventsCut++
		}
	}
	if err := errors.Join(errs...); err != nil {
		col.fail("read the containers' events: %v", err)
	} else if ectx.Err() != nil && ctx.Err() == nil {
		col.fail("read the containers' events: stopped after %s (is the engine's clock behind this machine's?)", eventsTimeout)
	}
}

// fetchAll reads the logs, processes, stats and files of every container,
// a few at a time and at most ahead containers ahead of the writer,
// closing each one's done channel when it is read.
func (col *collector) fetchAll(ctx context.Context) {
	parallel(fetchers, len(col.ctrs), func(i int) {
		x := col.ctrs[i]
		defer close(x.done)
		if x.err != nil {
			return
		}
		select {
		case <-x.start:
			col.fetch(ctx, x)
		case <-ctx.Done():
		}
	})
}

// release drops what was read about x once it is written.
func (x *ctr) release() {
	x.logs, x.top, x.stats, x.files, x.events, x.insp.Raw = nil, nil, nil, nil, nil, nil
}

func (col *collector) fetch(ctx context.Context, x *ctr) {
	id := x.sum.ID
	var wg sync.WaitGroup
	wg.Go(func() {
		w := &capWriter{max: maxLogBytes}
		x.logsErr = col.c.Logs(ctx, id, container.LogsOptions{
			Stdout: w, Stderr: w, Tail: strconv.Itoa(col.o.LogTail), Timestamps: true, Tty: x.doc.Config.Tty,
		})
		x.logs, x.logsCut = w.buf.Bytes(), w.cut
	})
	if running(x.insp.State) {
		wg.Go(func() {
			if t, err := col.c.Top(ctx, id, container.TopOptions{}); err == nil {
				x.top = &t
			} else {
				x.topErr = err
			}
		})
	}
	x.files = make([]copied, len(containerFiles))
	for i, p := range containerFiles {
		wg.Go(func() { x.files[i] = copyOut(ctx, col.c, id, p) })
	}
	wg.Wait()
}

// fetchStats takes one stats sample of every running container, all at
// once: the engine answers a one-shot sample at its next collection tick
// (about a second), so samples taken together cost one tick, not one each.
func (col *collector) fetchStats(ctx context.Context) {
	parallel(statsAtOnce, len(col.ctrs), func(i int) {
		x := col.ctrs[i]
		defer close(x.statsDone)
		if x.err != nil || !running(x.insp.State) || ctx.Err() != nil {
			return
		}
		if s, err := col.c.Stats(ctx, x.sum.ID, container.StatsOptions{}); err == nil {
			x.stats = &s.Stats
		} else {
			x.statsErr = err
		}
	})
}

func running(s container.State) bool {
	return s == container.Running || s == container.Paused || s == container.Restarting
}

// copyOut reads one file out of a container, up to maxCopiedFile bytes.
func copyOut(ctx context.Context, c *container.Client, id, path string) copied {
	out := copied{path: path}
	res, err := c.CopyFrom(ctx, id, path, container.CopyFromOptions{})
	if err != nil {
		out.err = err
		return out
	}
	defer res.Archive.Close()
	tr := tar.NewReader(res.Archive)
	for {
		h, err := tr.Next()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = errors.New("no regular file at that path")
			}
			out.err = err
			return out
		}
		if h.Typeflag != tar.TypeReg {
			continue
		}
		out.data, err = io.ReadAll(io.LimitReader(tr, maxCopiedFile+1))
		if len(out.data) > maxCopiedFile {
			out.data, out.cut = out.data[:maxCopiedFile], true
		}
		out.err = err
		return out
	}
}

// writeEngine writes engine.info: docker version, docker info, system df,
// images and volumes.
func (col *collector) writeEngine(ctx context.Context) error {
	var b strings.Builder
	section(&b, "docker version")
	v := col.version
	fmt.Fprintf(&b, "Engine:         %s (local: %t)\n", col.c.Host(), col.c.Local())
	fmt.Fprintf(&b, "Server:         %s\n", v.Version)
	if v.Platform != "" {
		fmt.Fprintf(&b, "Platform:       %s\n", v.Platform)
	}
	fmt.Fprintf(&b, "API version:    %s (minimum %s, in use %s)\n", v.APIVersion, v.MinAPIVersion, col.c.APIVersion())
	fmt.Fprintf(&b, "OS/Arch:        %s/%s\n", v.Os, v.Arch)
	fmt.Fprintf(&b, "Kernel version: %s\n", v.KernelVersion)
	section(&b, "docker info")
	if len(col.info.Warnings) > 0 {
		b.WriteString(strings.Join(col.info.Warnings, "\n") + "\n")
	}
	b.WriteString(col.jsonSection(fileEngine, col.info))

	section(&b, "docker system df")
	if du, err := col.c.DiskUsage(ctx); err != nil {
		col.fail("docker system df: %v", err)
		fmt.Fprintf(&b, "not available: %v\n", err)
	} else {
		var rw int64
		for _, c := range du.Containers {
			rw += c.SizeRw
		}
		fmt.Fprintf(&b, "TYPE            TOTAL     SIZE\n")
		fmt.Fprintf(&b, "Images          %-9d %s\n", len(du.Images), bytesText(du.LayersSize))
		fmt.Fprintf(&b, "Containers      %-9d %s\n", len(du.Containers), bytesText(rw))
		fmt.Fprintf(&b, "Local Volumes   %-9s %s\n", "-", bytesText(du.VolumesSize))
	}

	section(&b, "docker image ls --digests")
	if im, err := col.c.ListImages(ctx, container.ListImagesOptions{}); err != nil {
		col.fail("docker image ls: %v", err)
		fmt.Fprintf(&b, "not available: %v\n", err)
	} else {
		b.WriteString(col.jsonSection(fileEngine, im.Images))
	}
	section(&b, "docker volume ls")
	if vs, err := col.c.ListVolumes(ctx, container.ListVolumesOptions{}); err != nil {
		col.fail("docker volume ls: %v", err)
		fmt.Fprintf(&b, "not available: %v\n", err)
	} else {
		b.WriteString(col.jsonSection(fileEngine, vs))
	}
	return col.writeText(fileEngine, b.String())
}

// writeSystemFiles copies daemon.json, the docker CLI's config.json and
// the Extra files.
func (col *collector) writeSystemFiles(context.Context) error {
	col.progress("Start to copy system files.")
	for _, f := range []struct {
		name string
		fr   fileRead
	}{{fileDaemon, col.daemonCfg}, {fileDockerCfg, col.dockerCfg}} {
		switch {
		case f.fr.path == "":
		case f.fr.skip != "":
			col.log.WriteString(f.fr.path + ": " + f.fr.skip + "\n")
		case f.fr.err != nil:
			col.fail("copy %s: %v", f.fr.path, f.fr.err)
		default:
			if err := col.writeRaw(f.name, col.red.json(f.name, f.fr.data)); err != nil {
				return err
			}
		}
	}
	for _, name := range slices.Sorted(maps.Keys(col.o.Extra)) {
		data := col.o.Extra[name]
		if strings.HasSuffix(name, ".json") {
			data = col.red.json(name, data)
		} else {
			data = []byte(col.red.text(name, string(data)))
		}
		if err := col.writeRaw(name, data); err != nil {
			return err
		}
	}
	return nil
}

func (col *collector) writeNet(context.Context) error {
	col.progress("Start to get net info.")
	var b strings.Builder
	hostNet(&b, col.c.Local())
	section(&b, "docker network ls")
	if col.netErr != nil {
		col.fail("docker network ls: %v", col.netErr)
		fmt.Fprintf(&b, "not available: %v\n", col.netErr)
	} else {
		fmt.Fprintf(&b, "%-64s  %-24s %-10s %-6s %s\n", "NETWORK ID", "NAME", "DRIVER", "SCOPE", "INTERNAL")
		for _, n := range col.networks {
			fmt.Fprintf(&b, "%-64s  %-24s %-10s %-6s %t\n", n.ID, n.Name, n.Driver, n.Scope, n.Internal)
		}
	}
	return col.writeText(fileNet, b.String())
}

func (col *collector) writeSystem(context.Context) error {
	col.progress("Start to get system info.")
	var b strings.Builder
	section(&b, "collection")
	fmt.Fprintf(&b, "Collected at:  %s\n", col.o.Now().Format(time.RFC3339))
	fmt.Fprintf(&b, "Host:          %s\n", col.o.Host)
	fmt.Fprintf(&b, "Engine:        %s (local: %t)\n", col.c.Host(), col.c.Local())
	fmt.Fprintf(&b, "Selection:     %s (%d containers)\n", col.o.Selector, len(col.ctrs))
	hostSystem(&b, col.c.Local(), col.info.DockerRootDir)
	return col.writeText(fileSystem, b.String())
}

// writeContainer writes the container's own file, its networks and its
// mounts, with JobCenter's four messages.
func (col *collector) writeContainer(ctx context.Context, x *ctr) error {
	id := x.shortID()
	col.progress(fmt.Sprintf("Start to get container(%s) info.", id))
	if x.err != nil {
		if container.IsNotFound(x.err) {
			col.fail("container(%s) %s: removed while collecting: %v", id, x.name(), x.err)
		} else {
			col.fail("container(%s) %s: inspect: %v", id, x.name(), x.err)
		}
		return nil
	}
	for _, ch := range []chan struct{}{x.done, x.statsDone} {
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	file := "container_" + safeName(x.name()) + ".info"
	var b strings.Builder
	section(&b, "docker container inspect "+x.name())
	b.WriteString(string(col.red.json(file, x.insp.Raw)))

	section(&b, fmt.Sprintf("docker container logs --timestamps --tail %d %s", col.o.LogTail, x.name()))
	if x.logsErr != nil {
		col.fail("container(%s) logs: %v", id, x.logsErr)
		fmt.Fprintf(&b, "not available: %v\n", x.logsErr)
	}
	b.WriteString(col.red.text(file, string(x.logs)))
	if x.logsCut {
		fmt.Fprintf(&b, "\n... cut at %s\n", bytesText(maxLogBytes))
	}

	section(&b, "docker container top "+x.name())
	switch {
	case x.top != nil:
		b.WriteString(col.red.text(file, topText(*x.top)))
	case x.topErr != nil:
		fmt.Fprintf(&b, "not available: %v\n", x.topErr)
	default:
		fmt.Fprintf(&b, "not running (%s): no processes\n", x.insp.State)
	}
	section(&b, "docker container stats --no-stream "+x.name())
	switch {
	case x.stats != nil:
		b.WriteString(col.jsonSection(file, x.stats))
	case x.statsErr != nil:
		fmt.Fprintf(&b, "not available: %v\n", x.statsErr)
	default:
		fmt.Fprintf(&b, "not running (%s): no sample\n", x.insp.State)
	}
	section(&b, fmt.Sprintf("docker events --filter container=%s --since %s --until now", x.name(), x.insp.Created.UTC().Format(time.RFC3339)))
	var ev strings.Builder
	if x.eventsCut > 0 {
		fmt.Fprintf(&ev, "... %d older events left out: the last %d follow\n", x.eventsCut, maxEvents)
	}
	for _, e := range x.events {
		ev.WriteString(eventLine(e))
	}
	b.WriteString(col.red.text(file, ev.String()))

	col.progress(fmt.Sprintf("Start to copy files from container(%s).", id))
	for _, f := range x.files {
		section(&b, "docker container cp "+x.name()+":"+f.path+" -")
		if f.err != nil {
			fmt.Fprintf(&b, "not available: %v\n", f.err)
			continue
		}
		b.WriteString(col.red.text(file, string(f.data)))
		if f.cut {
			fmt.Fprintf(&b, "\n... cut at %s\n", bytesText(maxCopiedFile))
		}
	}
	if err := col.writeRaw(file, []byte(b.String())); err != nil {
		return err
	}

	col.progress(fmt.Sprintf("Start to get container(%s) network info.", id))
	if err := col.writeNetworks(x); err != nil {
		return err
	}
	col.progress(fmt.Sprintf("Start to get container(%s) mount info.", id))
	return col.writeMounts(x)
}

// networkDoc is what network_<id>.info holds: the engine's network list
// entry and the endpoints of the collected containers, in the shape of
// docker network inspect.
type networkDoc struct {
	Name       string                  `json:"Name"`
	ID         string                  `json:"Id"`
	Created    time.Time               `json:"Created"`
	Scope      string                  `json:"Scope"`
	Driver     string                  `json:"Driver"`
	Internal   bool                    `json:"Internal"`
	Labels     map[string]string       `json:"Labels"`
	Containers map[string]endpointView `json:"Containers"`
}

type endpointView struct {
	Name        string   `json:"Name"`
	EndpointID  string   `json:"EndpointID"`
	MacAddress  string   `json:"MacAddress"`
	IPv4Address string   `json:"IPv4Address"`
	IPv6Address string   `json:"IPv6Address"`
	Gateway     string   `json:"Gateway,omitempty"`
	Aliases     []string `json:"Aliases,omitempty"`
	DNSNames    []string `json:"DNSNames,omitempty"`
}

// writeNetworks writes network_<id>.info for each network of x not yet
// written, with the endpoints of every collected container on it.
func (col *collector) writeNetworks(x *ctr) error {
	for _, name := range slices.Sorted(maps.Keys(x.doc.NetworkSettings.Networks)) {
		ep := x.doc.NetworkSettings.Networks[name]
		if ep == nil {
			continue
		}
		nid := ep.NetworkID
		i := slices.IndexFunc(col.networks, func(n container.Network) bool { return n.ID == nid || (nid == "" && n.Name == name) })
		doc := networkDoc{Name: name, ID: nid, Containers: map[string]endpointView{}}
		if i >= 0 {
			n := col.networks[i]
			doc.ID, doc.Created, doc.Scope, doc.Driver, doc.Internal, doc.Labels = n.ID, n.Created, n.Scope, n.Driver, n.Internal, n.Labels
		}
		if doc.ID == "" {
			continue // not attached yet (a created container on "none"?)
		}
		file := "network_" + safeName(doc.ID) + ".info"
		if col.written[file] {
			continue
		}
		for _, y := range col.ctrs {
			if y.err != nil {
				continue
			}
			for yn, e := range y.doc.NetworkSettings.Networks {
				if e == nil || !(e.NetworkID == doc.ID || (e.NetworkID == "" && yn == name)) {
					continue
				}
				v := endpointView{Name: y.name(), EndpointID: e.EndpointID, MacAddress: e.MacAddress, Gateway: e.Gateway, Aliases: e.Aliases, DNSNames: e.DNSNames}
				if e.IPAddress != "" {
					v.IPv4Address = e.IPAddress + "/" + strconv.Itoa(e.IPPrefixLen)
				}
				v.IPv6Address = e.GlobalIPv6Address
				doc.Containers[y.sum.ID] = v
			}
		}
		var b strings.Builder
		section(&b, "docker network inspect "+doc.ID)
		b.WriteString("# the engine's network list entry and the endpoints of the collected containers\n")
		b.WriteString(col.jsonSection(file, doc))
		if err := col.writeRaw(file, []byte(b.String())); err != nil {
			return err
		}
	}
	return nil
}

// writeMounts appends x's mounts to mount.info and lists its directory
// sources into ls_<path>.info.
func (col *collector) writeMounts(x *ctr) error {
	var b strings.Builder
	if !col.written[fileMount] {
		b.WriteString("# <source>:<destination> of every mount, per container\n")
		if !col.c.Local() {
			b.WriteString("# the sources are on the engine's machine " + col.c.Host() + ": not listed from here\n")
		}
	}
	fmt.Fprintf(&b, "# container %s (%s)\n", x.name(), x.shortID())
	var lists []string
	for _, m := range x.doc.Mounts {
		src := m.Source
		if src == "" {
			src = m.Type
		}
		b.WriteString(src + ":" + m.Destination + "\n")
		if (m.Type == "bind" || m.Type == "volume") && m.Source != "" && col.c.Local() {
			lists = append(lists, m.Source)
		}
	}
	if len(x.doc.Mounts) == 0 {
		b.WriteString("# (no mounts)\n")
	}
	if err := col.appendText(fileMount, b.String()); err != nil {
		return err
	}
	for _, src := range lists {
		fi, err := os.Stat(src)
		if err != nil {
			col.fail("container(%s) mount source %s: %v", x.shortID(), src, err)
			continue
		}
		if !fi.IsDir() {
			continue
		}
		file := col.listingName(src)
		if file == "" {
			continue // listed for another container already
		}
		var lb strings.Builder
		fmt.Fprintf(&lb, "# ls -alR %s (at most %d levels, %d entries)\n", src, col.o.ListDepth, col.o.ListEntries)
		if errs := listTree(&lb, src, col.o.ListDepth, col.o.ListEntries); len(errs) > 0 {
			for _, e := range errs {
				col.fail("container(%s) list %s: %v", x.shortID(), src, e)
			}
		}
		if err := col.writeText(file, lb.String()); err != nil {
			return err
		}
	}
	return nil
}

// listingName returns the unused file name for the listing of src, or ""
// when src was listed already.
func (col *collector) listingName(src string) string {
	if col.listedSrc[src] {
		return ""
	}
	col.listedSrc[src] = true
	base := "ls_" + escapePath(src)
	name := base + ".info"
	for i := 2; col.written[name]; i++ {
		name = base + "_" + strconv.Itoa(i) + ".info"
	}
	return name
}

// redactionsText renders REDACTIONS.txt.
func (col *collector) redactionsText() []byte {
	var b strings.Builder
	b.WriteString("# Values replaced by " + Redacted + " in this bundle: file, key, kind, count.\n")
	b.WriteString("# The values themselves are not in the bundle.\n")
	for _, r := range col.res.Redactions {
		// Keys come from the collected text: make sure none carries a value.
		key := r.Key
		for _, s := range col.red.secrets {
			key, _ = replaceBounded(key, s.value)
		}
		fmt.Fprintf(&b, "%s\t%s\t%s\t%d\n", r.File, key, r.Kind, r.Count)
	}
	if len(col.res.Redactions) == 0 {
		b.WriteString("# (nothing was redacted)\n")
	}
	return []byte(b.String())
}

// jsonSection renders v as indented JSON, redacted for file.
func (col *collector) jsonSection(file string, v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprintf("not available: %v\n", err)
	}
	return string(col.red.json(file, b))
}

// writeText writes text, redacted, as the bundle file name.
func (col *collector) writeText(name, text string) error {
	return col.writeRaw(name, []byte(col.red.text(name, text)))
}

// appendText appends text, redacted, to the bundle file name.
func (col *collector) appendText(name, text string) error {
	data := []byte(col.red.text(name, text))
	if !col.written[name] {
		return col.writeRaw(name, data)
	}
	f, err := os.OpenFile(filepath.Join(col.dir, name), os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", name, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	return nil
}

// writeRaw writes data, already redacted, as the bundle file name.
func (col *collector) writeRaw(name string, data []byte) error {
	if err := os.WriteFile(filepath.Join(col.dir, name), data, 0o600); err != nil {
		return fmt.Errorf("write %s: %w", name, err)
	}
	if !col.written[name] {
		col.written[name] = true
		col.res.Files = append(col.res.Files, name)
	}
	return nil
}

func section(b *strings.Builder, title string) {
	if b.Len() > 0 {
		b.WriteString("\n")
	}
	b.WriteString("### " + title + "\n")
}

// topText renders docker top's table, tab-separated.
func topText(t container.TopResult) string {
	var b strings.Builder
	b.WriteString(strings.Join(t.Titles, "\t") + "\n")
	for _, p := range t.Processes {
		b.WriteString(strings.Join(p, "\t") + "\n")
	}
	return b.String()
}

// eventLine renders an event as docker events prints it.
func eventLine(e container.Event) string {
	var attrs []string
	for _, k := range slices.Sorted(maps.Keys(e.Attributes)) {
		attrs = append(attrs, k+"="+e.Attributes[k])
	}
	return fmt.Sprintf("%s %s %s %s (%s)\n", e.Time.UTC().Format(time.RFC3339Nano), e.Type, e.Action, e.ActorID, strings.Join(attrs, ", "))
}

func bytesText(n int64) string {
	const unit = 1024
	if n < unit {
		return strconv.FormatInt(n, 10) + "B"
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f%ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// readFile reads path, at most max bytes (more is an error: a
// configuration file is never that large).
func readFile(path string, max int) fileRead {
	out := fileRead{path: path}
	f, err := os.Open(path)
	if err != nil {
		out.err = err
		return out
	}
	defer f.Close()
	out.data, out.err = io.ReadAll(io.LimitReader(f, int64(max)+1))
	if out.err == nil && len(out.data) > max {
		out.data, out.err = nil, fmt.Errorf("larger than %s: not copied", bytesText(int64(max)))
	}
	if out.data == nil && out.err == nil {
		out.data = []byte{}
	}
	return out
}

// capWriter keeps the first max bytes written to it and drops the rest
// without failing the copy.
type capWriter struct {
	buf bytes.Buffer
	max int
	cut bool
}

func (w *capWriter) Write(p []byte) (int, error) {
	if room := w.max - w.buf.Len(); room < len(p) {
		w.cut = true
		if room > 0 {
			w.buf.Write(p[:room])
		}
		return len(p), nil
	}
	return w.buf.Write(p)
}

// parallel runs f(0..n-1) on at most workers goroutines and waits.
func parallel(workers, n int, f func(i int)) {
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(workers, n) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				f(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}
