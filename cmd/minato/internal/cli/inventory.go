package cli

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/minato-ops/minato/cmd/minato/internal/agent"
	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/inventory/boltrepo"
	dockerinv "github.com/minato-ops/minato/inventory/docker"
	"github.com/minato-ops/minato/inventory/hinemos"
	"github.com/minato-ops/minato/inventory/hinemos/rest"
)

const inventoryUsage = `Usage: minato inventory COMMAND [options]

The estate as data, and a repository of nodes and scopes kept in step with
the containers of each Docker engine, as the Hinemos Docker repository
scripts (RepositoryDockerNodeAdd.py, Delete.py, Update.py) keep the Hinemos
repository: a host node per engine, a node per container with the
DOCKER_* node variables, the scopes docker_container, docker_host,
docker_map and HOST_scope, and the scopes a container's
hinemosAssignScopeId label names. Monitors and jobs then select containers
by scope (--scope, or targets: {scopes: [...]} in the agent).

Commands:
  add      register the containers of one engine as nodes (new ones only)
  delete   delete the nodes of containers removed from one engine
  update   follow state changes (managed flag, DOCKER_STATUS) and label scopes
  sync     add, then delete, then update, for every configured engine
  show     the engines and their containers, images, networks and volumes
  diff     what changed between a saved snapshot (show --format json) and now
  export   the repository's nodes and scopes as JSON or CSV
  scope    add, rm or ls the scopes that hinemosAssignScopeId labels name

add, delete, update and sync print the scripts' log (--lang ja: their
Japanese lines) and exit 0 on success, 1 on any error. The repository is a
file beside minato's other state (--repo), shared safely by the agent and
these commands. Run "minato inventory COMMAND -h" for the options.
`

func runInventory(ctx context.Context, args []string, env Env) int {
	if code, done := groupHelp(args, env, inventoryUsage); done {
		return code
	}
	var err error
	switch args[0] {
	case "add", "delete", "update":
		err = runInventoryScript(ctx, args[0], args[1:], env)
	case "sync":
		err = runInventorySync(ctx, args[1:], env)
	case "show":
		err = runInventoryShow(ctx, args[1:], env)
	case "diff":
		err = runInventoryDiff(ctx, args[1:], env)
	case "export":
		err = runInventoryExport(ctx, args[1:], env)
	case "scope":
		err = runInventoryScope(ctx, args[1:], env)
	default:
		err = usagef("unknown inventory command %q: want add, delete, update, sync, show, diff, export or scope", args[0])
	}
	return report(env, err)
}

// repoFlags choose the repository: the embedded file by default, or a
// Hinemos manager's (-m).
type repoFlags struct {
	path         string
	manager      string
	user         string
	passwordFile string
	caFile       string
}

func (r *repoFlags) register(fs *flag.FlagSet, manager bool) {
	fs.StringVar(&r.path, "repo", "", "the repository `FILE` (default: the agent configuration's inventory.repository, else $XDG_STATE_HOME/minato/inventory.db)")
	if !manager {
		return
	}
	fs.StringVar(&r.manager, "m", "", "a Hinemos 7 manager's `URL` (http://HOST:8080 or https://HOST:8443): use its repository, over its REST API, instead of the file")
	fs.StringVar(&r.user, "user", rest.DefaultUser, "the Hinemos `USER`, with -m")
	fs.StringVar(&r.passwordFile, "password-file", "", "the `FILE` holding the Hinemos password (never given on the command line), with -m")
	fs.StringVar(&r.caFile, "ca-file", "", "the CA bundle `FILE` that signs an https manager's certificate, with -m")
}

// open opens the repository: -m, else --repo, else the configuration's
// (manager or file), else the default file. done releases it.
func (r *repoFlags) open(ctx context.Context, cfg *agent.Config) (repo inventory.Repository, done func(), err error) {
	hc := (*rest.Config)(nil)
	if cfg != nil && cfg.Inventory.Hinemos != nil && r.path == "" {
		hc = cfg.Inventory.Hinemos
	}
	if r.manager != "" {
		if strings.Contains(r.manager, "/HinemosWS") {
			return nil, nil, usagef("-m %s: the Hinemos Docker scripts' SOAP endpoint (HinemosWS) is gone from Hinemos 7; give the manager's address, such as http://127.0.0.1:8080", r.manager)
		}
		if r.passwordFile == "" {
			return nil, nil, usagef("-m needs --password-file FILE: the file holding the Hinemos password of --user %s", r.user)
		}
		c := rest.DefaultConfig()
		c.URL, c.User, c.PasswordFile, c.CAFile = r.manager, r.user, r.passwordFile, r.caFile
		hc = &c
	}
	if hc != nil {
		c, err := rest.New(*hc)
		if err != nil {
			return nil, nil, err
		}
		return c, func() {
			lctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			_ = c.Logout(lctx)
		}, nil
	}
	b, err := r.openFile(cfg)
	return b, func() {}, err
}

// openFile opens the embedded repository file.
func (r *repoFlags) openFile(cfg *agent.Config) (*boltrepo.Repo, error) {
	path := r.path
	if path == "" && cfg != nil {
		path = cfg.Inventory.Repository
	}
	if path == "" {
		var err error
		if path, err = boltrepo.DefaultPath(); err != nil {
			return nil, err
		}
	}
	return boltrepo.Open(path, boltrepo.Options{})
}

// fleetFlags choose the engines: the agent configuration's engines, or
// the one engine of -i/-p (or DOCKER_HOST) named by -f.
type fleetFlags struct {
	engine   engineFlags
	facility string
	config   string
	contexts bool
}

func (f *fleetFlags) register(fs *flag.FlagSet, withSelection bool) {
	fs.StringVar(&f.engine.address, "i", "", "Docker Engine `ADDRESS`: the engine is tcp://ADDRESS:PORT (default: DOCKER_HOST, or the local socket); also the host node's IPv4 address")
	fs.IntVar(&f.engine.port, "p", container.DefaultPort, "Docker Engine API `PORT`, used with -i")
	fs.StringVar(&f.facility, "f", "", "the host node's `HOST_FACILITY_ID`: the engine's name in the repository; with --config, picks that engine")
	fs.StringVar(&f.config, "config", "", "the agent configuration `FILE` whose engines (and inventory.repository) to use")
	fs.BoolVar(&f.contexts, "contexts", false, "use the engines of the docker CLI's contexts (docker context ls; $DOCKER_CONFIG or ~/.docker), each named by its context")
	durationVar(fs, &f.engine.timeout, "api-timeout", container.DefaultTimeout, true, "bound on each engine call")
	if withSelection {
		fs.Var(&f.engine.ids, "c", "select containers by `ID`: full or 12-character ID, or a prefix ending in * (repeatable; not with -n)")
		fs.Var(&f.engine.names, "n", "select containers by `NAME`: exact, or a prefix ending in * (repeatable; not with -c)")
	}
}

// fleetSpec is what fleetFlags resolved: the engines and, per engine, the
// IPv4 address its host node gets.
type fleetSpec struct {
	cfg       dockerinv.Config
	addresses map[string]string
	agent     *agent.Config // the configuration file, when one was given
}

// resolve builds the engine list. needName makes -f required when no
// configuration file is given.
func (f *fleetFlags) resolve(fs *flag.FlagSet, env Env, needName bool) (fleetSpec, error) {
	spec := fleetSpec{cfg: dockerinv.DefaultConfig(), addresses: map[string]string{}}
	given := map[string]bool{}
	fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	if f.contexts {
		if f.config != "" || given["i"] || given["p"] {
			return spec, usagef("--contexts names the engines: not with --config or -i/-p")
		}
		dir := env.Getenv("DOCKER_CONFIG")
		if dir == "" {
			home, err := os.UserHomeDir()
			if err != nil {
				return spec, fmt.Errorf("--contexts: %w", err)
			}
			dir = filepath.Join(home, ".docker")
		}
		engines, err := dockerinv.FromContexts(dir)
		if err != nil {
			fmt.Fprintf(env.Stderr, "minato: some docker contexts were left out: %v\n", err)
		}
		if f.facility != "" {
			engines = slices.DeleteFunc(engines, func(e dockerinv.EngineConfig) bool { return e.Name != f.facility })
		}
		if len(engines) == 0 {
			return spec, fmt.Errorf("--contexts: no usable docker context under %s (the implicit default context is DOCKER_HOST: leave out --contexts)", dir)
		}
		spec.cfg.Engines = engines
	} else if f.config != "" {
		if given["i"] || given["p"] {
			return spec, usagef("-i/-p and --config: the configuration file names the engines; give one or the other")
		}
		cfg, err := agent.Load(f.config)
		if err != nil {
			return spec, fmt.Errorf("%s: %w", f.config, err)
		}
		spec.agent = &cfg
		engines := cfg.Engines
		if len(engines) == 0 {
			// A single-engine configuration: docker:, named by -f.
			e := dockerinv.FromEnv(env.Getenv)
			if d := cfg.Docker; d != nil {
				if d.Host != "" {
					e.Host = d.Host
				}
				if d.TLS != nil {
					e.TLS = d.TLS
				}
				e.APIVersion = d.APIVersion
			}
			if f.facility == "" && needName {
				return spec, usagef("%s has no engines: list; give -f HOST_FACILITY_ID to name its engine", f.config)
			}
			if f.facility != "" {
				e.Name = f.facility
			}
			engines = []dockerinv.EngineConfig{e}
		} else if f.facility != "" {
			i := slices.IndexFunc(engines, func(e dockerinv.EngineConfig) bool { return e.Name == f.facility })
			if i < 0 {
				names := make([]string, len(engines))
				for j, e := range engines {
					names[j] = e.Name
				}
				return spec, usagef("-f %s: %s has no such engine (it has %s)", f.facility, f.config, strings.Join(names, ", "))
			}
			engines = engines[i : i+1]
		}
		spec.cfg.Engines = engines
	} else {
		cc, err := f.engine.config(fs, env.Getenv)
		if err != nil {
			return spec, err
		}
		name := f.facility
		if name == "" {
			if needName {
				return spec, usagef("-f HOST_FACILITY_ID is required: the facility ID of the engine's host node (for example docker_host1)")
			}
			name = dockerinv.LocalName
		}
		spec.cfg.Engines = []dockerinv.EngineConfig{{Name: name, Host: cc.Host, APIVersion: cc.APIVersion, TLS: cc.TLS, Timeout: cc.Timeout, Address: f.engine.address}}
	}
	if f.facility != "" {
		if err := inventory.ValidFacilityID(f.facility); err != nil {
			return spec, usagef("-f %q: %s", f.facility, strings.TrimPrefix(err.Error(), "inventory: invalid: "))
		}
	}
	for _, e := range spec.cfg.Engines {
		spec.addresses[e.Name] = hostAddress(e)
	}
	if err := spec.cfg.Validate(); err != nil {
		return spec, err
	}
	return spec, nil
}

// hostAddress is the IPv4 address of an engine's host node: its
// configured address, else its endpoint's IP, else 127.0.0.1 (the
// Hinemos scripts' default -i).
func hostAddress(e dockerinv.EngineConfig) string {
	if e.Address != "" {
		return e.Address
	}
	host := e.Host
	if host == "" {
		host = container.DefaultHost
	}
	if a, ok := hinemos.AddressFromEndpoint(host); ok {
		return a
	}
	return "127.0.0.1"
}

func runInventoryScript(ctx context.Context, op string, args []string, env Env) error {
	script := map[string]string{"add": "RepositoryDockerNodeAdd.py", "delete": "RepositoryDockerNodeDelete.py", "update": "RepositoryDockerNodeUpdate.py"}[op]
	about := map[string]string{
		"add": "Register the containers of the engine as nodes of the repository, as " + script + " does:\n" +
			"on the first run the host node, the scopes docker_container, docker_host,\n" +
			"docker_map and HOST_scope, and every container; later, only new containers.\n" +
			"A container's hinemosAssignScopeId label (a comma list) assigns its node to\n" +
			"those scopes; scopes that do not exist are skipped, never created.",
		"delete": "Delete the nodes of this engine's containers that no longer exist, as\n" + script + " does.\n" +
			"Only this host's container nodes are considered; deleting a node removes its\n" +
			"scope assignments.",
		"update": "Follow the containers' state, as " + script + " does: DOCKER_STATUS\n" +
			"\"old -> new\" (or [skip]) and the managed flag (on only while running), the\n" +
			"other node variables refreshed, and label scopes assigned again (never\n" +
			"unassigned).",
	}[op]
	fs := newFlagSet("minato inventory "+op, "minato inventory "+op+" -f HOST_FACILITY_ID [-i ADDRESS [-p PORT]] [options]", about)
	var ff fleetFlags
	ff.register(fs, false)
	var rf repoFlags
	rf.register(fs, true)
	lang := fs.String("lang", "en", "language of the log: en, or ja for the scripts' own Japanese lines")
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("minato inventory %s takes no arguments, got %q", op, strings.Join(pos, " "))
	}
	if *lang != "en" && *lang != "ja" {
		return usagef("--lang %q: want en or ja", *lang)
	}
	spec, err := ff.resolve(fs, env, true)
	if err != nil {
		return err
	}
	if len(spec.cfg.Engines) != 1 {
		return usagef("minato inventory %s works on one engine: give -f HOST_FACILITY_ID to pick one of %s (or use minato inventory sync)", op, ff.config)
	}
	return syncEngines(ctx, env, spec, rf, *lang, []string{op})
}

func runInventorySync(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet("minato inventory sync", "minato inventory sync [--config FILE | -f HOST_FACILITY_ID [-i ADDRESS [-p PORT]]] [options]",
		"Run add for every engine, then delete for every engine, then update for every\n"+
			"engine, in the order the scripts' RepositoryDockerNode.sh runs them. An engine\n"+
			"that does not answer is skipped (nothing of it is deleted), the others are\n"+
			"synced, and the exit code is 1.")
	var ff fleetFlags
	ff.register(fs, false)
	var rf repoFlags
	rf.register(fs, true)
	lang := fs.String("lang", "en", "language of the log: en, or ja for the scripts' own Japanese lines")
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("minato inventory sync takes no arguments, got %q", strings.Join(pos, " "))
	}
	if *lang != "en" && *lang != "ja" {
		return usagef("--lang %q: want en or ja", *lang)
	}
	spec, err := ff.resolve(fs, env, ff.config == "")
	if err != nil {
		return err
	}
	return syncEngines(ctx, env, spec, rf, *lang, []string{"add", "delete", "update"})
}

// syncEngines takes one snapshot of every engine, then runs each
// operation for every engine that answered, operation by operation.
func syncEngines(ctx context.Context, env Env, spec fleetSpec, rf repoFlags, lang string, ops []string) error {
	repo, done, err := rf.open(ctx, spec.agent)
	if err != nil {
		return err
	}
	defer done()
	fleet, err := dockerinv.New(spec.cfg)
	if err != nil {
		return err
	}
	defer fleet.Close()
	snap, err := fleet.Snapshot(ctx, inventory.Selector{Kind: inventory.KindContainer})
	if err != nil {
		return err
	}
	var errs []error
	syncers := map[string]*hinemos.Syncer{}
	items := map[string][]inventory.Item{}
	for _, e := range snap.Engines {
		if !e.Up() {
			errs = append(errs, fmt.Errorf("skipped, nothing of it changed in the repository: %w", &inventory.EngineError{Engine: e.Name, Endpoint: e.Endpoint, Err: e.Error}))
			continue
		}
		s, err := hinemos.New(hinemos.Config{HostFacilityID: e.Name, HostAddress: spec.addresses[e.Name], Lang: lang}, repo, hinemos.WithLog(env.Stdout))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		its, err := hinemos.EngineItems(snap, e.Name)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		syncers[e.Name], items[e.Name] = s, its
	}
	for _, op := range ops {
		for _, e := range snap.Engines {
			s := syncers[e.Name]
			if s == nil {
				continue
			}
			run := map[string]func(context.Context, []inventory.Item) (hinemos.Report, error){"add": s.Add, "delete": s.Delete, "update": s.Update}[op]
			if _, err := run(ctx, items[e.Name]); err != nil {
				errs = append(errs, fmt.Errorf("%s %s: %w", op, e.Name, err))
			}
		}
	}
	return errors.Join(errs...)
}

func runInventoryShow(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet("minato inventory show", "minato inventory show [--config FILE | -i ADDRESS [-p PORT]] [-c ID[*] | -n NAME[*]] [options]",
		"Show each engine (its identity, or why it did not answer) and its containers,\n"+
			"as a table, or the whole snapshot (containers, images, networks, volumes) as\n"+
			"JSON, which minato inventory diff compares later.")
	var ff fleetFlags
	ff.register(fs, true)
	format := fs.String("format", "table", "`FORMAT`: table, or json (the snapshot, for diff)")
	kind := fs.String("kind", "", "only this `KIND`: container, image, network or volume (default: containers in the table, everything in JSON)")
	detail := fs.Bool("detail", false, "inspect every container too (exit code, start and finish times, restarts, health)")
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("minato inventory show takes no arguments, got %q", strings.Join(pos, " "))
	}
	if *format != "table" && *format != "json" {
		return usagef("--format %q: want table or json", *format)
	}
	sel := ff.engine.selector()
	sel.Kind = ""
	switch inventory.Kind(*kind) {
	case "":
		if *format == "table" || len(sel.IDs)+len(sel.Names) > 0 {
			sel.Kind = inventory.KindContainer
		}
	case inventory.KindContainer, inventory.KindImage, inventory.KindNetwork, inventory.KindVolume:
		sel.Kind = inventory.Kind(*kind)
	default:
		return usagef("--kind %q: want container, image, network or volume", *kind)
	}
	if err := sel.Validate(); err != nil {
		return err
	}
	snap, err := takeSnapshot(ctx, fs, &ff, env, sel, *detail)
	if err != nil {
		return err
	}
	if *format == "json" {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(snap); err != nil {
			return err
		}
	} else {
		printSnapshot(env.Stdout, snap)
	}
	return downError(snap)
}

// takeSnapshot lists the engines ff names.
func takeSnapshot(ctx context.Context, fs *flag.FlagSet, ff *fleetFlags, env Env, sel inventory.Selector, detail bool) (inventory.Snapshot, error) {
	spec, err := ff.resolve(fs, env, false)
	if err != nil {
		return inventory.Snapshot{}, err
	}
	spec.cfg.Detail = detail
	fleet, err := dockerinv.New(spec.cfg)
	if err != nil {
		return inventory.Snapshot{}, err
	}
	defer fleet.Close()
	return fleet.Snapshot(ctx, sel)
}

// downError reports the engines that did not answer: exit 1 after the
// output of those that did.
func downError(snap inventory.Snapshot) error {
	down := snap.Down()
	if len(down) == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d engines did not answer: %w", len(down), len(snap.Engines), errors.Join(down...))
}

// engineNames maps endpoints to engine names, for display.
func engineNames(snap inventory.Snapshot) map[string]string {
	m := map[string]string{}
	for _, e := range snap.Engines {
		m[e.Endpoint] = e.Name
	}
	return m
}

func printSnapshot(w io.Writer, snap inventory.Snapshot) {
	count := map[string]map[inventory.Kind]int{}
	for _, it := range snap.Items {
		if count[it.Target.Engine] == nil {
			count[it.Target.Engine] = map[inventory.Kind]int{}
		}
		count[it.Target.Engine][it.Target.Kind]++
	}
	for _, e := range snap.Engines {
		if !e.Up() {
			fmt.Fprintf(w, "engine %s (%s): DOWN: %s\n", e.Name, e.Endpoint, e.Error)
			continue
		}
		fmt.Fprintf(w, "engine %s (%s): Docker %s, API %s, %s, %d containers, answered in %s\n",
			e.Name, e.Endpoint, orDash(e.Version), orDash(e.APIVersion), orDash(e.Hostname), count[e.Endpoint][inventory.KindContainer], e.Took.Round(1e6))
	}
	names := engineNames(snap)
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	printed := false
	for _, it := range snap.Items {
		if !printed {
			fmt.Fprintln(w)
			printed = true
			switch it.Target.Kind {
			case inventory.KindContainer:
				fmt.Fprintln(tw, "ENGINE\tCONTAINER ID\tNAME\tSTATE\tIMAGE\tSTATUS\tPORTS")
			default:
				fmt.Fprintln(tw, "ENGINE\tKIND\tID\tNAME\tDETAIL")
			}
		}
		a := it.Attrs
		switch it.Target.Kind {
		case inventory.KindContainer:
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", names[it.Target.Engine], it.Target.ShortID(), it.Target.Name, it.State,
				a[inventory.AttrImage], a[inventory.AttrStatus], a[inventory.AttrPorts])
		default:
			detail := a[inventory.AttrTags] + a[inventory.AttrDriver]
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", names[it.Target.Engine], it.Target.Kind, shortID(it.Target), it.Target.Name, detail)
		}
	}
	tw.Flush()
}

func shortID(t inventory.Target) string {
	id := strings.TrimPrefix(t.ID, "sha256:")
	if len(id) > inventory.ShortIDLen && t.Kind != inventory.KindVolume {
		return id[:inventory.ShortIDLen]
	}
	return id
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func runInventoryDiff(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet("minato inventory diff", "minato inventory diff OLD.json [NEW.json] [--config FILE | -i ADDRESS [-p PORT]] [options]",
		"Compare a snapshot saved by \"minato inventory show --format json\" with now\n"+
			"(or with a second saved snapshot): containers, images, networks and volumes\n"+
			"added (+), removed (-) and changed (~, with the fields that changed). The\n"+
			"status text's age (\"Up 5 minutes\") is not a change. Things on an engine that\n"+
			"does not answer now are not reported as removed.")
	var ff fleetFlags
	ff.register(fs, false)
	format := fs.String("format", "text", "`FORMAT`: text, or json")
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return err
	}
	if len(pos) < 1 || len(pos) > 2 {
		return usagef("minato inventory diff takes OLD.json and optionally NEW.json, got %d arguments", len(pos))
	}
	if *format != "text" && *format != "json" {
		return usagef("--format %q: want text or json", *format)
	}
	old, err := readSnapshot(pos[0])
	if err != nil {
		return err
	}
	var nw inventory.Snapshot
	if len(pos) == 2 {
		if nw, err = readSnapshot(pos[1]); err != nil {
			return err
		}
	} else if nw, err = takeSnapshot(ctx, fs, &ff, env, inventory.Selector{}, false); err != nil {
		return err
	}
	c := inventory.Diff(old, nw)
	if *format == "json" {
		enc := json.NewEncoder(env.Stdout)
		enc.SetIndent("", "  ")
		enc.SetEscapeHTML(false)
		if err := enc.Encode(c); err != nil {
			return err
		}
	} else {
		printChanges(env.Stdout, c, old, nw)
	}
	return downError(nw)
}

// maxSnapshotFile bounds a snapshot file read by diff.
const maxSnapshotFile = 256 << 20

func readSnapshot(path string) (inventory.Snapshot, error) {
	f, err := os.Open(path)
	if err != nil {
		return inventory.Snapshot{}, err
	}
	defer f.Close()
	var s inventory.Snapshot
	dec := json.NewDecoder(io.LimitReader(f, maxSnapshotFile))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&s); err != nil {
		return s, fmt.Errorf("%s: not a snapshot saved by \"minato inventory show --format json\": %w", path, err)
	}
	s.Sort()
	return s, nil
}

func printChanges(w io.Writer, c inventory.Changes, old, nw inventory.Snapshot) {
	names := engineNames(old)
	for k, v := range engineNames(nw) {
		names[k] = v
	}
	label := func(it inventory.Item) string {
		return fmt.Sprintf("%s %s/%s (%s)", it.Target.Kind, names[it.Target.Engine], it.Target.Name, shortID(it.Target))
	}
	for _, it := range c.Added {
		fmt.Fprintf(w, "+ %s %s\n", label(it), it.State)
	}
	for _, it := range c.Removed {
		fmt.Fprintf(w, "- %s\n", label(it))
	}
	for _, ch := range c.Changed {
		parts := make([]string, len(ch.Fields))
		for i, f := range ch.Fields {
			parts[i] = fmt.Sprintf("%s %s -> %s", f.Field, quoteEmpty(f.Old), quoteEmpty(f.New))
		}
		fmt.Fprintf(w, "~ %s: %s\n", label(ch.New), strings.Join(parts, "; "))
	}
	if c.Unknown > 0 {
		fmt.Fprintf(w, "? %d things on engines that did not answer: not compared\n", c.Unknown)
	}
	if c.Empty() {
		fmt.Fprintln(w, "no changes")
	}
}

func quoteEmpty(s string) string {
	if s == "" {
		return `""`
	}
	return s
}

func runInventoryExport(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet("minato inventory export", "minato inventory export [--repo FILE] [--format json|csv]",
		"Write the repository's nodes (properties, node variables, scopes) and scopes\n"+
			"(parent, members) as JSON, or the nodes as CSV, one row per node.")
	var rf repoFlags
	rf.register(fs, true)
	config := fs.String("config", "", "the agent configuration `FILE` whose inventory.repository to use")
	format := fs.String("format", "json", "`FORMAT`: json or csv")
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("minato inventory export takes no arguments, got %q", strings.Join(pos, " "))
	}
	if *format != "json" && *format != "csv" {
		return usagef("--format %q: want json or csv", *format)
	}
	cfg, err := loadConfigIf(*config)
	if err != nil {
		return err
	}
	repo, done, err := rf.open(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	ex, err := inventory.Export(ctx, repo)
	if err != nil {
		return err
	}
	if *format == "csv" {
		return inventory.WriteCSV(env.Stdout, ex)
	}
	return inventory.WriteJSON(env.Stdout, ex)
}

func loadConfigIf(path string) (*agent.Config, error) {
	if path == "" {
		return nil, nil
	}
	cfg, err := agent.Load(path)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &cfg, nil
}

const scopeUsage = `Usage: minato inventory scope COMMAND [options]

The scopes that containers' hinemosAssignScopeId labels name: the sync
assigns nodes to them but never creates them, as the Hinemos scripts do.

Commands:
  add ID [--name NAME] [--parent PARENT] [--description TEXT]
           create the scope, or change its name, parent or description
  rm ID    delete the scope (its nodes stay; refused while it has child scopes)
  ls [ID]  list the scopes (ID, name, parent, nodes), or the nodes of scope ID
           and of the scopes below it
`

func runInventoryScope(ctx context.Context, args []string, env Env) error {
	if code, done := groupHelp(args, env, scopeUsage); done {
		if code != 0 {
			return usagef("minato inventory scope: give add, rm or ls")
		}
		return nil
	}
	op := args[0]
	if op != "add" && op != "rm" && op != "ls" {
		return usagef("unknown scope command %q: want add, rm or ls", op)
	}
	synopsis := map[string]string{"add": "minato inventory scope add ID [options]", "rm": "minato inventory scope rm ID [options]", "ls": "minato inventory scope ls [ID] [options]"}[op]
	about := map[string]string{
		"add": "Create the scope ID, or change the name, parent or description of an existing one.",
		"rm":  "Delete the scope ID; its nodes stay. Refused while other scopes are inside it.",
		"ls":  "List every scope, or the nodes of scope ID and of the scopes below it.",
	}[op]
	fs := newFlagSet("minato inventory scope "+op, synopsis, about)
	var rf repoFlags
	rf.register(fs, true)
	config := fs.String("config", "", "the agent configuration `FILE` whose inventory.repository to use")
	var name, parent, desc string
	if op == "add" {
		fs.StringVar(&name, "name", "", "the scope's display `NAME` (default: the ID)")
		fs.StringVar(&parent, "parent", "", "the `PARENT` scope's ID (default: top level)")
		fs.StringVar(&desc, "description", "", "free `TEXT`")
	}
	pos, err := parse(fs, args[1:], env.Stdout)
	if err != nil {
		return err
	}
	switch {
	case op == "ls" && len(pos) > 1, op != "ls" && len(pos) != 1:
		return usagef("usage: %s", synopsis)
	}
	for _, id := range pos {
		if err := inventory.ValidFacilityID(id); err != nil {
			return usagef("scope %s", strings.TrimPrefix(err.Error(), "inventory: invalid: "))
		}
	}
	cfg, err := loadConfigIf(*config)
	if err != nil {
		return err
	}
	repo, done, err := rf.open(ctx, cfg)
	if err != nil {
		return err
	}
	defer done()
	switch op {
	case "add":
		s := inventory.Scope{FacilityID: pos[0], FacilityName: name, Parent: parent, Description: desc}
		if s.FacilityName == "" {
			s.FacilityName = s.FacilityID
		}
		if err := repo.PutScope(ctx, s); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "scope %s saved\n", s.FacilityID)
	case "rm":
		if _, err := repo.Scope(ctx, pos[0]); err != nil {
			return err
		}
		if err := repo.DeleteScope(ctx, pos[0]); err != nil {
			return err
		}
		fmt.Fprintf(env.Stdout, "scope %s deleted\n", pos[0])
	case "ls":
		if len(pos) == 1 {
			ids, err := inventory.ScopeNodes(ctx, repo, pos[0])
			if err != nil {
				return err
			}
			for _, id := range ids {
				fmt.Fprintln(env.Stdout, id)
			}
			return nil
		}
		scopes, err := repo.Scopes(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SCOPE\tNAME\tPARENT\tNODES")
		for _, s := range scopes {
			ms, err := repo.Members(ctx, s.FacilityID)
			if err != nil {
				return err
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\n", s.FacilityID, s.FacilityName, orDash(s.Parent), len(ms))
		}
		return tw.Flush()
	}
	return nil
}
