package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/container/app"
	"github.com/minato-ops/minato/container/swarm"
)

// Exit codes of "minato app": the Hinemos scripts' (and minato job's)
// convention, plus terraform's --detailed-exitcode for plan.
const (
	appExitOK      = 0 // converged (apply, scale), done (delete), shown (plan, status, ls)
	appExitInput   = 1 // usage, a declaration that does not parse or validate, no engine
	appExitPending = 2 // plan --detailed-exitcode: changes are pending
	appExitPartial = 9 // some replica (or application) failed: the rest was done
)

const appUsage = `Usage: minato app COMMAND [options]

Keep applications running as declared, the way the WebOTX operator keeps
an application server as its custom resource says: a declaration file
(YAML or JSON) names each application's image, replicas, environment and
env files (NAME=value lines), ports, mounts, networks, resources, restart
policy, health check and labels. Containers are named <app>-<replica> and
labelled minato.app, minato.app.replica and minato.app.spec.

Commands:
  apply   -f FILE [--prune]        deploy and update: create what is missing, recreate
                                   what changed (a batch at a time, health-gated, rolled
                                   back when the gate fails), remove extra replicas
  plan    -f FILE                  what apply would do, field by field; changes nothing
  status  [-f FILE] [NAME...]      desired, running and healthy replicas per application
  scale   NAME N -f FILE           run N replicas of NAME (until the next apply of FILE)
  delete  NAME... [--dry-run]      remove an application and all it owns (containers,
                                   and the networks and volumes it created); asks nothing
  ls                               the applications on the engine (from their labels)

Instead of -f FILE, --compose FILE [--project NAME] reads a Compose file
(what does not map is listed on stderr as warnings).

Exit codes (as the Hinemos job scripts and minato job): 0 converged or
done; 9 when some replica failed (the others were applied); 1 for bad
input (usage, or a declaration error naming the file and key path) or an
engine that does not answer. plan --detailed-exitcode exits 2 when
changes are pending (as terraform plan), for CI pipelines.

The update flow: push the new tag, edit image: in the file, run
"minato app plan -f FILE" to see what changes, then "minato app apply -f
FILE". Run "minato app COMMAND -h" for the options of a command.
`

// runApp dispatches "minato app".
func runApp(ctx context.Context, args []string, env Env) int {
	if code, done := groupHelp(args, env, appUsage); done {
		return code
	}
	switch args[0] {
	case "apply":
		return runAppApply(ctx, args[1:], env)
	case "plan":
		return runAppPlan(ctx, args[1:], env)
	case "status":
		return runAppStatus(ctx, args[1:], env)
	case "scale":
		return runAppScale(ctx, args[1:], env)
	case "delete", "rm":
		return runAppDelete(ctx, args[1:], env)
	case "ls", "list":
		return runAppList(ctx, args[1:], env)
	}
	return report(env, usagef("unknown app command %q: want apply, plan, status, scale, delete or ls", args[0]))
}

// appFlags are the flags every app command takes.
type appFlags struct {
	file    string
	compose string
	project string
	jsonOut bool
	labels  listFlag
	engine  engineFlags
}

// register adds the engine flags, --json and --label, and, with decl, the
// declaration flags.
func (f *appFlags) register(fs *flag.FlagSet, decl bool) {
	fs.StringVar(&f.engine.address, "i", "", "Docker Engine `ADDRESS`: the engine is then tcp://ADDRESS:PORT (default: DOCKER_HOST, or the local socket)")
	fs.IntVar(&f.engine.port, "p", container.DefaultPort, "Docker Engine API `PORT`, used with -i")
	durationVar(fs, &f.engine.timeout, "api-timeout", container.DefaultTimeout, true, "bound on each engine call that should return promptly")
	fs.BoolVar(&f.jsonOut, "json", false, "print the result as JSON on stdout")
	fs.Var(&f.labels, "label", "`KEY=VALUE` set on everything created, and the only applications seen (ls, status, --prune, delete): independent sets on one engine (repeatable)")
	if decl {
		fs.StringVar(&f.file, "f", "", "the declaration `FILE` (YAML or JSON): one application, or several under apps:")
		fs.StringVar(&f.compose, "compose", "", "a Compose `FILE` instead of -f (the services that map; the rest is listed on stderr)")
		fs.StringVar(&f.project, "project", "", "with --compose: name the applications `NAME`-<service> (default: the service names)")
	}
}

// scope parses --label.
func (f *appFlags) scope() (map[string]string, error) {
	if len(f.labels) == 0 {
		return nil, nil
	}
	m := map[string]string{}
	for _, l := range f.labels {
		k, v, ok := strings.Cut(l, "=")
		if !ok || k == "" || v == "" {
			return nil, usagef("--label %q: want KEY=VALUE, both not empty", l)
		}
		if strings.HasPrefix(k, app.LabelApp) {
			return nil, usagef("--label %q: keys starting with %s are minato's own", l, app.LabelApp)
		}
		m[k] = v
	}
	return m, nil
}

// connect validates the engine flags and connects; the engine must
// answer (exit 1 otherwise, before anything is attempted).
func (f *appFlags) connect(ctx context.Context, fs *flag.FlagSet, env Env) (*container.Client, error) {
	cfg, err := f.engine.config(fs, env.Getenv)
	if err != nil {
		return nil, err
	}
	c, err := container.New(cfg)
	if err != nil {
		return nil, err
	}
	if _, err := c.Ping(ctx); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// declaration reads -f or --compose; required says one must be given.
// Compose warnings go to stderr.
func (f *appFlags) declaration(ctx context.Context, env Env, required bool) ([]app.Spec, error) {
	switch {
	case f.file != "" && f.compose != "":
		return nil, usagef("-f and --compose: give one declaration, not both")
	case f.project != "" && f.compose == "":
		return nil, usagef("--project %q needs --compose FILE", f.project)
	case f.file != "":
		return app.ParseFile(f.file)
	case f.compose != "":
		data, err := os.ReadFile(f.compose)
		if err != nil {
			return nil, err
		}
		specs, warns, err := app.ParseCompose(ctx, app.ComposeInput{Path: f.compose, Data: data, Env: composeEnv(f.compose, data, env)}, f.project)
		for _, w := range warns {
			fmt.Fprintf(env.Stderr, "minato: warning: %s: %s\n", f.compose, w)
		}
		return specs, err
	case required:
		return nil, usagef("give the declaration: -f FILE (or --compose FILE)")
	}
	return nil, nil
}

var composeVar = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)`)

// composeEnv is the environment a Compose file's ${VAR}s are interpolated
// from, as docker compose does it: the .env file beside it, overridden by
// the variables of the process environment that the file names.
func composeEnv(path string, data []byte, env Env) map[string]string {
	out := map[string]string{}
	if fh, err := os.Open(filepath.Join(filepath.Dir(path), ".env")); err == nil {
		if m, err := app.ParseEnvFile(fh); err == nil {
			maps.Copy(out, m)
		}
		fh.Close()
	}
	for _, m := range composeVar.FindAllSubmatch(data, -1) {
		if v := env.Getenv(string(m[1])); v != "" {
			out[string(m[1])] = v
		}
	}
	return out
}

// reconciler makes the Reconciler, scoped by --label.
func (f *appFlags) reconciler(c *container.Client, opts ...app.Option) (*app.Reconciler, error) {
	scope, err := f.scope()
	if err != nil {
		return nil, err
	}
	if scope != nil {
		opts = append(opts, app.WithLabels(scope))
	}
	return app.New(c, opts...)
}

// appFail prints err and returns exit 1 (help: 0).
func appFail(env Env, err error) int {
	return report(env, err)
}

// appOutcome is one application's line of apply, scale and --prune.
type appOutcome struct {
	App     string      `json:"app"`
	Outcome string      `json:"outcome"` // unchanged, converged, failed, deleted, would-delete
	Plan    app.AppPlan `json:"plan"`
	// Result lists what was done.
	Result app.ApplyResult `json:"result"`
	Error  string          `json:"error,omitempty"`
}

func runAppApply(ctx context.Context, args []string, env Env) int {
	fs := newFlagSet("minato app apply", "minato app apply -f FILE [--prune] [options]",
		"Deploy and update the declared applications (the operator guide's deploy and\n"+
			"update flows): missing replicas are created and started, stopped ones\n"+
			"started, changed ones recreated Update.batch at a time behind a health gate\n"+
			"(healthy, or running for update.stable_for) and rolled back to the old\n"+
			"container when the gate fails, extra replicas removed. An application that\n"+
			"is already as declared is not touched (\"unchanged\"). The plan's steps are\n"+
			"printed as each application is applied, then a final line per application.\n"+
			"--prune also deletes, in cascade, the applications on the engine that the\n"+
			"file does not declare. Applications with backend: swarm become Swarm\n"+
			"services (the engine must be a Swarm manager): created, updated with a\n"+
			"rolling update that Swarm rolls back when the new tasks fail, or left\n"+
			"unchanged, and waited for until converged.\n\n"+
			"Exit 0 when every application converged, 9 when some replica failed (the\n"+
			"others were applied), 1 on bad input or an engine that does not answer.")
	var f appFlags
	f.register(fs, true)
	prune := fs.Bool("prune", false, "delete (in cascade) the applications on the engine that are not declared")
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return appFail(env, err)
	}
	if len(pos) > 0 {
		return appFail(env, usagef("minato app apply takes no arguments (got %q): the applications are those of -f FILE", pos[0]))
	}
	specs, err := f.declaration(ctx, env, true)
	if err != nil {
		return appFail(env, err)
	}
	c, err := f.connect(ctx, fs, env)
	if err != nil {
		return appFail(env, err)
	}
	defer c.Close()
	var opts []app.Option
	if !f.jsonOut {
		opts = append(opts, app.WithTransitions(func(e app.Event) {
			if e.Kind == app.EventRolledBack {
				fmt.Fprintf(env.Stdout, "  %-24s rolled back: %s\n", e.Container, e.Reason)
			}
		}))
	}
	r, err := f.reconciler(c, opts...)
	if err != nil {
		return appFail(env, err)
	}
	// Applications with backend swarm run as Swarm services on the
	// engine, which must be a Swarm manager; the others are the
	// reconciler's.
	var engineSpecs, swarmSpecs []app.Spec
	for _, s := range specs {
		if s.Backend == "swarm" {
			swarmSpecs = append(swarmSpecs, s)
		} else {
			engineSpecs = append(engineSpecs, s)
		}
	}
	outs, code := []appOutcome(nil), appExitOK
	if len(engineSpecs) > 0 || *prune || len(swarmSpecs) == 0 {
		outs, code = applySpecs(ctx, r, engineSpecs, *prune, env, f.jsonOut)
	}
	var services []swarm.ApplyResult
	if len(swarmSpecs) > 0 {
		sc, err := swarm.New(c)
		if err != nil {
			return appFail(env, err)
		}
		dir := ""
		if f.file != "" {
			dir = filepath.Dir(f.file)
		}
		services, err = app.ApplySwarm(ctx, sc, swarmSpecs, dir)
		if !f.jsonOut {
			for i, res := range services {
				fmt.Fprintf(env.Stdout, "%s: %s (Swarm service %.12s)\n", swarmSpecs[i].Name, res.Action, res.ServiceID)
			}
		}
		if err != nil {
			report(env, err)
			code = appExitPartial
			if errors.Is(err, swarm.ErrNotManager) {
				code = appExitInput
			}
		}
	}
	if f.jsonOut {
		if err := writeJSONOut(env.Stdout, map[string]any{"apps": outs, "services": services, "exit_code": code}); err != nil {
			return appFail(env, err)
		}
	}
	return code
}

// applySpecs applies each application in turn (its steps printed first,
// its final line after) and, with prune, deletes the undeclared ones.
func applySpecs(ctx context.Context, r *app.Reconciler, specs []app.Spec, prune bool, env Env, quiet bool) ([]appOutcome, int) {
	dry, err := r.Apply(ctx, specs, app.ApplyOptions{DryRun: true, Prune: prune})
	if err != nil {
		report(env, err)
		return nil, appExitInput
	}
	code := appExitOK
	var outs []appOutcome
	byName := map[string]app.Spec{}
	for _, s := range specs {
		byName[s.Name] = s
	}
	// The steps first; then the changed applications in one Apply, which
	// carries them out concurrently; then a line per application.
	var changed []app.Spec
	owner := map[string]string{} // container name -> application
	for _, ap := range dry.Plan.Apps {
		for _, st := range ap.Steps {
			owner[st.Container] = ap.App
			if !quiet && st.Action != app.ActionKeep {
				printStep(env, st)
			}
		}
		if ap.Declared && ap.Changed() {
			changed = append(changed, byName[ap.App])
		}
	}
	var applied app.ApplyResult
	appErrs := map[string][]string{}
	if len(changed) > 0 {
		var err error
		applied, err = r.Apply(ctx, changed, app.ApplyOptions{})
		for _, e := range splitErrors(err) {
			name := ""
			for _, s := range changed {
				if strings.HasPrefix(e.Error(), "app "+s.Name+":") && len(s.Name) > len(name) {
					name = s.Name
				}
			}
			appErrs[name] = append(appErrs[name], e.Error())
		}
	}
	mine := func(names []string, a string) []string {
		var out []string
		for _, n := range names {
			if owner[n] == a || strings.TrimSuffix(owner[n], app.PrevSuffix) == a {
				out = append(out, n)
			}
		}
		return out
	}
	for _, ap := range dry.Plan.Apps {
		o := appOutcome{App: ap.App, Plan: ap}
		switch {
		case !ap.Declared:
			del, err := r.Delete(ctx, ap.App)
			o.Result.Removed = del.Containers
			o.Outcome = "deleted"
			if err != nil {
				o.Outcome, o.Error, code = "failed", err.Error(), appExitPartial
			}
		case !ap.Changed():
			o.Outcome = "unchanged"
		default:
			o.Outcome = "converged"
			o.Result = app.ApplyResult{Created: mine(applied.Created, ap.App), Recreated: mine(applied.Recreated, ap.App),
				Started: mine(applied.Started, ap.App), Removed: mine(applied.Removed, ap.App), RolledBack: mine(applied.RolledBack, ap.App)}
			if msgs := appErrs[ap.App]; len(msgs) > 0 {
				o.Outcome, o.Error, code = "failed", strings.Join(msgs, "; "), appExitPartial
			}
		}
		if !quiet {
			fmt.Fprintln(env.Stdout, outcomeLine(o))
		}
		outs = append(outs, o)
	}
	if msgs := appErrs[""]; len(msgs) > 0 {
		// Errors that name no application (the engine, a cancelled run).
		report(env, errors.New(strings.Join(msgs, "; ")))
		code = appExitPartial
	}
	if len(dry.Plan.Apps) == 0 && !quiet {
		fmt.Fprintln(env.Stdout, "no applications")
	}
	return outs, code
}

// printStep prints one planned step and its changes.
func printStep(env Env, st app.Step) {
	line := fmt.Sprintf("  %-24s %-8s %s", st.Container, st.Action, st.Reason)
	fmt.Fprintln(env.Stdout, strings.TrimRight(line, " "))
	for _, ch := range st.Changes {
		fmt.Fprintln(env.Stdout, "      "+ch.String())
	}
}

// outcomeLine is the final line of one application.
func outcomeLine(o appOutcome) string {
	var did []string
	add := func(verb string, names []string) {
		if len(names) > 0 {
			did = append(did, fmt.Sprintf("%s %s", verb, strings.Join(names, ", ")))
		}
	}
	add("created", o.Result.Created)
	add("recreated", o.Result.Recreated)
	add("started", o.Result.Started)
	add("removed", o.Result.Removed)
	add("rolled back", o.Result.RolledBack)
	line := o.App + ": " + o.Outcome
	switch o.Outcome {
	case "unchanged":
		line += fmt.Sprintf(" (%d replica(s) as declared)", o.Plan.Replicas)
	case "converged":
		line += fmt.Sprintf(" (%d replica(s))", o.Plan.Replicas)
	}
	if len(did) > 0 {
		line += ": " + strings.Join(did, "; ")
	}
	if o.Error != "" {
		line += ": " + strings.ReplaceAll(o.Error, "\n", "; ")
	}
	return line
}

func runAppPlan(ctx context.Context, args []string, env Env) int {
	fs := newFlagSet("minato app plan", "minato app plan -f FILE [--prune] [--detailed-exitcode] [options]",
		"Show what minato app apply would do, per application and replica, field by\n"+
			"field for a replica to recreate (\"image: shop/web:1.4 -> shop/web:1.5\";\n"+
			"environment values are never shown, only \"changed\"). Changes nothing.\n\n"+
			"Exit 0 (also with changes pending, unless --detailed-exitcode), 1 on bad\n"+
			"input; with --detailed-exitcode 0 = nothing to do, 2 = changes pending.")
	var f appFlags
	f.register(fs, true)
	prune := fs.Bool("prune", false, "also plan the deletion of the applications that are not declared")
	detailed := fs.Bool("detailed-exitcode", false, "exit 2 when changes are pending, 0 when none (for CI pipelines)")
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return appFail(env, err)
	}
	if len(pos) > 0 {
		return appFail(env, usagef("minato app plan takes no arguments (got %q)", pos[0]))
	}
	specs, err := f.declaration(ctx, env, true)
	if err != nil {
		return appFail(env, err)
	}
	c, err := f.connect(ctx, fs, env)
	if err != nil {
		return appFail(env, err)
	}
	defer c.Close()
	r, err := f.reconciler(c)
	if err != nil {
		return appFail(env, err)
	}
	res, err := r.Apply(ctx, specs, app.ApplyOptions{DryRun: true, Prune: *prune})
	if err != nil {
		return appFail(env, err)
	}
	if f.jsonOut {
		err = writeJSONOut(env.Stdout, res.Plan)
	} else {
		err = res.Plan.WriteText(env.Stdout)
		if err == nil && res.Plan.Converged() {
			fmt.Fprintln(env.Stdout, "no changes: every application is as declared")
		}
	}
	if err != nil {
		return appFail(env, err)
	}
	if *detailed && !res.Plan.Converged() {
		return appExitPending
	}
	return appExitOK
}

// appStatusView is one application in minato app status.
type appStatusView struct {
	app.AppStatus
	// Converged says every declared replica runs the declared spec,
	// healthy.
	Converged bool `json:"converged"`
	// Drift are the plan's steps that are not "keep" (with -f).
	Drift []app.Step `json:"drift,omitempty"`
}

func runAppStatus(ctx context.Context, args []string, env Env) int {
	fs := newFlagSet("minato app status", "minato app status [-f FILE] [NAME...] [options]",
		"Show, per application and replica, the desired, running and healthy\n"+
			"replicas (healthy: running with a passing health check, or without one).\n"+
			"With -f the declared replica count and spec are compared (\"current\" says\n"+
			"a replica runs the declared spec; drift lists what apply would do);\n"+
			"without it, every application on the engine is shown as found.\n"+
			"Exit 0, or 1 on bad input or an engine that does not answer.")
	var f appFlags
	f.register(fs, true)
	names, err := parse(fs, args, env.Stdout)
	if err != nil {
		return appFail(env, err)
	}
	specs, err := f.declaration(ctx, env, false)
	if err != nil {
		return appFail(env, err)
	}
	c, err := f.connect(ctx, fs, env)
	if err != nil {
		return appFail(env, err)
	}
	defer c.Close()
	r, err := f.reconciler(c)
	if err != nil {
		return appFail(env, err)
	}
	views, err := appStatus(ctx, r, specs)
	if err != nil {
		return appFail(env, err)
	}
	if len(names) > 0 {
		views = slices.DeleteFunc(views, func(v appStatusView) bool { return !slices.Contains(names, v.App) })
		for _, n := range names {
			if !slices.ContainsFunc(views, func(v appStatusView) bool { return v.App == n }) {
				fmt.Fprintf(env.Stderr, "minato: %s: no such application declared or on the engine\n", n)
			}
		}
	}
	if f.jsonOut {
		if err := writeJSONOut(env.Stdout, views); err != nil {
			return appFail(env, err)
		}
		return appExitOK
	}
	if len(views) == 0 {
		fmt.Fprintln(env.Stdout, "no applications")
		return appExitOK
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "APP\tDESIRED\tRUNNING\tHEALTHY\tSTATE")
	for _, v := range views {
		desired := strconv.Itoa(v.Desired)
		state := "converged"
		switch {
		case !v.Declared:
			desired, state = "-", "found (not declared here)"
		case !v.Converged:
			state = "not converged"
			if len(v.Drift) > 0 {
				var d []string
				for _, st := range v.Drift {
					d = append(d, st.Container+" "+string(st.Action))
				}
				state += ": " + strings.Join(d, ", ")
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\n", v.App, desired, v.Running, v.Healthy, state)
		for _, rs := range v.Replicas {
			cur := "-"
			if v.Declared {
				cur = "old spec"
				if rs.Current {
					cur = "current"
				}
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", rs.Container, rs.State, orDash(rs.Health), cur, rs.Status)
		}
	}
	tw.Flush()
	return appExitOK
}

// appStatus is the engine's applications, with the declared ones (specs)
// compared by a dry-run plan.
func appStatus(ctx context.Context, r *app.Reconciler, specs []app.Spec) ([]appStatusView, error) {
	st, err := r.Status(ctx)
	if err != nil {
		return nil, err
	}
	byApp := map[string]*appStatusView{}
	var order []string
	if len(specs) > 0 {
		dry, err := r.Apply(ctx, specs, app.ApplyOptions{DryRun: true})
		if err != nil {
			return nil, err
		}
		for _, ap := range dry.Plan.Apps {
			v := &appStatusView{AppStatus: app.AppStatus{App: ap.App, Declared: true, Desired: ap.Replicas}}
			keep := map[string]bool{}
			for _, s := range ap.Steps {
				if s.Action == app.ActionKeep || s.Action == app.ActionStart {
					keep[s.ID] = true
				}
				if s.Action != app.ActionKeep {
					v.Drift = append(v.Drift, s)
				}
			}
			for _, a := range st {
				if a.App == ap.App {
					v.Running, v.Healthy, v.Replicas, v.LastError = a.Running, a.Healthy, a.Replicas, a.LastError
				}
			}
			for i := range v.Replicas {
				v.Replicas[i].Current = keep[v.Replicas[i].ID]
			}
			byApp[ap.App] = v
			order = append(order, ap.App)
		}
	}
	for _, a := range st {
		if byApp[a.App] == nil {
			byApp[a.App] = &appStatusView{AppStatus: a}
			order = append(order, a.App)
		}
	}
	out := make([]appStatusView, 0, len(order))
	for _, n := range order {
		v := byApp[n]
		if v.Replicas == nil {
			v.Replicas = []app.ReplicaStatus{}
		}
		v.Converged = v.AppStatus.Converged()
		out = append(out, *v)
	}
	return out, nil
}

func runAppScale(ctx context.Context, args []string, env Env) int {
	fs := newFlagSet("minato app scale", "minato app scale NAME N -f FILE [options]",
		"Run N replicas of the application NAME declared in FILE (the declaration\n"+
			"gives the image and the environment values the new replicas need). Scaling\n"+
			"down removes the highest replicas first. The file is not changed: the next\n"+
			"apply of FILE (or an agent reconciling it) brings the count back to the\n"+
			"file's replicas: edit the file to keep N.\n\n"+
			"Exit 0 when NAME converged, 9 when a replica failed, 1 on bad input.")
	var f appFlags
	f.register(fs, true)
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return appFail(env, err)
	}
	if len(pos) != 2 {
		return appFail(env, usagef("minato app scale takes NAME and N (replicas), got %d argument(s)", len(pos)))
	}
	n, err := strconv.Atoi(pos[1])
	if err != nil || n < 0 || n > 9999 {
		return appFail(env, usagef("replicas %q: want a whole number from 0 to 9999", pos[1]))
	}
	specs, err := f.declaration(ctx, env, true)
	if err != nil {
		return appFail(env, err)
	}
	i := slices.IndexFunc(specs, func(s app.Spec) bool { return s.Name == pos[0] })
	if i < 0 {
		var names []string
		for _, s := range specs {
			names = append(names, s.Name)
		}
		return appFail(env, usagef("%s: no application %q declared (declared: %s)", cmpOr(f.file, f.compose), pos[0], strings.Join(names, ", ")))
	}
	s := specs[i]
	s.Replicas = &n
	c, err := f.connect(ctx, fs, env)
	if err != nil {
		return appFail(env, err)
	}
	defer c.Close()
	r, err := f.reconciler(c)
	if err != nil {
		return appFail(env, err)
	}
	outs, code := applySpecs(ctx, r, []app.Spec{s}, false, env, f.jsonOut)
	if f.jsonOut {
		if err := writeJSONOut(env.Stdout, map[string]any{"apps": outs, "exit_code": code}); err != nil {
			return appFail(env, err)
		}
	}
	return code
}

func cmpOr(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

func runAppDelete(ctx context.Context, args []string, env Env) int {
	fs := newFlagSet("minato app delete", "minato app delete NAME... [--dry-run] [options]",
		"Delete applications in cascade (the operator guide's delete flow): every\n"+
			"container labelled minato.app=NAME (forced, with its anonymous volumes),\n"+
			"then the networks and volumes minato created for it. Asks nothing; with\n"+
			"--dry-run lists what would be removed. An application with nothing on the\n"+
			"engine is not an error. If it is declared in a file an agent reconciles,\n"+
			"remove it from that file first, or the agent puts it back.\n\n"+
			"Exit 0 when done, 9 when something could not be removed, 1 on bad input.")
	var f appFlags
	f.register(fs, false)
	dry := fs.Bool("dry-run", false, "list what would be removed; remove nothing")
	names, err := parse(fs, args, env.Stdout)
	if err != nil {
		return appFail(env, err)
	}
	if len(names) == 0 {
		return appFail(env, usagef("minato app delete takes one or more application NAMEs"))
	}
	for _, n := range names {
		if err := app.ValidateName(n); err != nil {
			return appFail(env, usagef("application name %v", err))
		}
	}
	scope, err := f.scope()
	if err != nil {
		return appFail(env, err)
	}
	c, err := f.connect(ctx, fs, env)
	if err != nil {
		return appFail(env, err)
	}
	defer c.Close()
	r, err := f.reconciler(c)
	if err != nil {
		return appFail(env, err)
	}
	code := appExitOK
	var results []map[string]any
	for _, n := range names {
		var res app.DeleteResult
		var err error
		if *dry {
			res, err = deletePreview(ctx, c, n, scope)
		} else {
			res, err = r.Delete(ctx, n)
		}
		view := map[string]any{"app": n, "dry_run": *dry, "removed": res}
		verb := "deleted"
		if *dry {
			verb = "would delete"
		}
		line := fmt.Sprintf("%s: %s", n, verb)
		switch {
		case len(res.Containers)+len(res.Networks)+len(res.Volumes) == 0 && err == nil:
			line = n + ": nothing on the engine"
		default:
			var parts []string
			if len(res.Containers) > 0 {
				parts = append(parts, "containers "+strings.Join(res.Containers, ", "))
			}
			if len(res.Networks) > 0 {
				parts = append(parts, "networks "+strings.Join(res.Networks, ", "))
			}
			if len(res.Volumes) > 0 {
				parts = append(parts, "volumes "+strings.Join(res.Volumes, ", "))
			}
			if len(parts) > 0 {
				line += " " + strings.Join(parts, "; ")
			}
		}
		if err != nil {
			code = appExitPartial
			view["error"] = err.Error()
			line += ": " + err.Error()
		}
		results = append(results, view)
		if !f.jsonOut {
			fmt.Fprintln(env.Stdout, line)
		}
	}
	if f.jsonOut {
		if err := writeJSONOut(env.Stdout, results); err != nil {
			return appFail(env, err)
		}
	}
	return code
}

// deletePreview lists what Reconciler.Delete would remove.
func deletePreview(ctx context.Context, c *container.Client, name string, scope map[string]string) (app.DeleteResult, error) {
	labels := maps.Clone(scope)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[app.LabelApp] = name
	var res app.DeleteResult
	list, err := c.List(ctx, container.ListOptions{All: true, Labels: labels})
	if err != nil {
		return res, err
	}
	for _, s := range list.Containers {
		res.Containers = append(res.Containers, s.Name)
	}
	slices.Sort(res.Containers)
	nets, err := c.Networks(ctx, labels)
	if err != nil {
		return res, err
	}
	for _, n := range nets {
		res.Networks = append(res.Networks, n.Name)
	}
	vols, err := c.Volumes(ctx, labels)
	if err != nil {
		return res, err
	}
	for _, v := range vols {
		res.Volumes = append(res.Volumes, v.Name)
	}
	return res, nil
}

// appListView is one application in minato app ls.
type appListView struct {
	App        string   `json:"app"`
	Containers int      `json:"containers"`
	Running    int      `json:"running"`
	Images     []string `json:"images"`
	Specs      []string `json:"specs"`
}

func runAppList(ctx context.Context, args []string, env Env) int {
	fs := newFlagSet("minato app ls", "minato app ls [options]",
		"List the applications on the engine, found by their minato.app labels:\n"+
			"containers, how many run, their images and spec hashes (two hashes: an\n"+
			"update in progress, or replicas left on an old spec).")
	var f appFlags
	f.register(fs, false)
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return appFail(env, err)
	}
	if len(pos) > 0 {
		return appFail(env, usagef("minato app ls takes no arguments (got %q)", pos[0]))
	}
	scope, err := f.scope()
	if err != nil {
		return appFail(env, err)
	}
	c, err := f.connect(ctx, fs, env)
	if err != nil {
		return appFail(env, err)
	}
	defer c.Close()
	labels := maps.Clone(scope)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[app.LabelApp] = ""
	list, err := c.List(ctx, container.ListOptions{All: true, Labels: labels})
	if err != nil {
		return appFail(env, err)
	}
	byApp := map[string]*appListView{}
	for _, s := range list.Containers {
		name := s.Labels[app.LabelApp]
		v := byApp[name]
		if v == nil {
			v = &appListView{App: name, Images: []string{}, Specs: []string{}}
			byApp[name] = v
		}
		v.Containers++
		if s.State == container.Running {
			v.Running++
		}
		if !slices.Contains(v.Images, s.Image) {
			v.Images = append(v.Images, s.Image)
		}
		if h := s.Labels[app.LabelSpec]; h != "" && !slices.Contains(v.Specs, h) {
			v.Specs = append(v.Specs, h)
		}
	}
	views := []appListView{}
	for _, n := range slices.Sorted(maps.Keys(byApp)) {
		v := byApp[n]
		slices.Sort(v.Images)
		slices.Sort(v.Specs)
		views = append(views, *v)
	}
	if f.jsonOut {
		if err := writeJSONOut(env.Stdout, views); err != nil {
			return appFail(env, err)
		}
		return appExitOK
	}
	if len(views) == 0 {
		fmt.Fprintf(env.Stdout, "no applications on %s\n", c.Host())
		return appExitOK
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "APP\tCONTAINERS\tRUNNING\tIMAGE\tSPEC")
	for _, v := range views {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\n", v.App, v.Containers, v.Running, strings.Join(v.Images, ","), strings.Join(v.Specs, ","))
	}
	tw.Flush()
	return appExitOK
}

// splitErrors returns the errors err joins (errors.Join), or err alone.
func splitErrors(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, splitErrors(e)...)
		}
		return out
	}
	return []error{err}
}
