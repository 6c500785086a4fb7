package agent

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"mime"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/container/app"
	"github.com/minato-ops/minato/internal/httpguard"
	"github.com/minato-ops/minato/internal/strictyaml"
	"github.com/minato-ops/minato/inventory"
	dockerinv "github.com/minato-ops/minato/inventory/docker"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/baseline"
	"go.yaml.in/yaml/v3"
)

// Defaults of the apps: section.
const (
	// DefaultAppsResync is AppsConfig.Resync's default: a full reconcile
	// pass besides the engine's events.
	DefaultAppsResync = 30 * time.Second
	// AppsCheck is the check name application transitions carry in
	// notifications.
	AppsCheck = "app"
	// appsEventsKept is how many transitions GET /api/v1/apps shows.
	appsEventsKept = 50
)

// AppsConfig is the apps: section: declared applications the agent keeps
// converged on its engines, as the WebOTX operator keeps its custom
// resources (see container/app). Every engine of the agent (or those
// named in Engines) runs every declared application: a declaration has no
// engine of its own.
type AppsConfig struct {
	// Enabled runs the reconciler without Files, for applications posted
	// to POST /api/v1/apps only; Files imply it.
	Enabled bool `json:"enabled,omitempty"`
	// Files are declaration files (YAML or JSON, as minato app apply -f
	// reads them), relative to the config file's directory. Load reads
	// them (and their env files) and reports their errors with the file
	// and key path.
	Files []string `json:"files,omitempty"`
	// Resync is the period of a full pass besides the engine's events
	// (default 30s).
	Resync time.Duration `json:"resync,omitempty"`
	// Prune deletes, in cascade, the applications found on the engines
	// that neither Files nor a POST declares, at start and after every
	// POST. Off by default: other tools' applications are left alone.
	Prune bool `json:"prune,omitempty"`
	// Engines are the names (of engines:) the applications run on;
	// empty means every engine.
	Engines []string `json:"engines,omitempty"`

	// What Load read: the specs of Files, and which file declares each.
	specs  []app.Spec
	fileOf map[string]int
	loaded bool
}

// on reports whether the reconciler runs.
func (c AppsConfig) on() bool { return c.Enabled || len(c.Files) > 0 }

// load parses Files (absolute by now); errors carry "apps.files[i]: " and
// the file's own "path: key: ..." lines.
func (c *AppsConfig) load() []error {
	var errs []error
	c.specs, c.fileOf, c.loaded = nil, map[string]int{}, true
	for i, p := range c.Files {
		if p == "" {
			continue // validate reports it
		}
		specs, err := app.ParseFile(p)
		for _, e := range flatten(err) {
			errs = append(errs, fmt.Errorf("apps.files[%d]: %w", i, e))
		}
		for _, s := range specs {
			if j, dup := c.fileOf[s.Name]; dup {
				errs = append(errs, fmt.Errorf("apps.files[%d]: %s: application %s is also declared by apps.files[%d] (%s)", i, p, s.Name, j, c.Files[j]))
				continue
			}
			c.fileOf[s.Name] = i
			c.specs = append(c.specs, s)
		}
	}
	return errs
}

// validate checks the section against the rest of cfg (reads no file).
func (c AppsConfig) validate(cfg Config) []error {
	var errs []error
	for i, p := range c.Files {
		if p == "" {
			errs = append(errs, fmt.Errorf("apps.files[%d]: empty: want the path of a declaration file", i))
		}
	}
	if c.Resync < 0 || (c.Resync > 0 && c.Resync < time.Second) {
		errs = append(errs, fmt.Errorf("apps.resync: %s: want 1s or more (default %s)", c.Resync, DefaultAppsResync))
	}
	for i, n := range c.Engines {
		if !slices.ContainsFunc(cfg.Engines, func(e dockerinv.EngineConfig) bool { return e.Name == n }) {
			errs = append(errs, fmt.Errorf("apps.engines[%d]: %q is not the name of one of the engines (engines: section)", i, n))
		}
	}
	if c.on() && !httpguard.LoopbackListen(cfg.Listen) && cfg.API.TokenFile == "" {
		errs = append(errs, fmt.Errorf("api.token_file: required when listen (%s) is not loopback and apps: runs: POST /api/v1/apps creates containers", cfg.Listen))
	}
	return errs
}

// appsEngine is one engine's reconciler.
type appsEngine struct {
	name     string
	endpoint string
	rec      *app.Reconciler
	client   *container.Client
	reload   chan struct{} // restart Run with the current declarations
}

// appEventView is a transition in GET /api/v1/apps.
type appEventView struct {
	Engine string `json:"engine"`
	app.Event
}

// appsRunner keeps the declared applications converged on its engines.
type appsRunner struct {
	log     *slog.Logger
	prune   bool
	resync  time.Duration
	dir     string // where posted declarations are kept
	engines []*appsEngine
	notes   chan monitor.Evaluation
	notify  func(context.Context, []monitor.Evaluation) error

	postMu sync.Mutex // one POST at a time
	mu     sync.Mutex
	files  []string
	fileOf map[string]int
	specs  []app.Spec // from files, in order
	posted map[string]app.Spec
	events []appEventView
}

// buildApps prepares the reconcilers when the apps: section runs.
func (a *Agent) buildApps() error {
	c := a.cfg.Apps
	if !c.on() {
		return nil
	}
	if !c.loaded {
		if errs := c.load(); len(errs) > 0 {
			return errors.Join(errs...)
		}
	}
	dir := a.cfg.StateDir
	if dir == "" {
		d, err := baseline.DefaultDir()
		if err != nil {
			return fmt.Errorf("apps: %w", err)
		}
		dir = filepath.Dir(d)
	}
	r := &appsRunner{log: a.log, prune: c.Prune, resync: cmp.Or(c.Resync, DefaultAppsResync), dir: filepath.Join(dir, "apps"),
		notes: make(chan monitor.Evaluation, 256), notify: a.fan.Write,
		files: c.Files, fileOf: c.fileOf, specs: c.specs, posted: map[string]app.Spec{}}
	if err := r.loadPosted(); err != nil {
		return err
	}
	for _, e := range a.engines {
		name := cmp.Or(e.name, dockerinv.LocalName)
		if len(c.Engines) > 0 && !slices.Contains(c.Engines, e.name) {
			continue
		}
		ae := &appsEngine{name: name, endpoint: e.client.Host(), client: e.client, reload: make(chan struct{}, 1)}
		rec, err := app.New(e.client, app.WithLogger(a.log), app.WithResyncInterval(r.resync),
			app.WithTransitions(func(ev app.Event) { r.transition(ae, ev) }))
		if err != nil {
			return fmt.Errorf("apps: engine %s: %w", name, err)
		}
		ae.rec = rec
		r.engines = append(r.engines, ae)
	}
	a.apps = r
	return nil
}

// loadPosted reads the declarations kept by earlier POSTs.
func (r *appsRunner) loadPosted() error {
	ents, err := os.ReadDir(r.dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("apps: posted declarations: %w", err)
	}
	var errs []error
	for _, e := range ents {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".yaml") {
			continue
		}
		specs, err := app.ParseFile(filepath.Join(r.dir, e.Name()))
		if err != nil {
			errs = append(errs, fmt.Errorf("apps: posted declaration: %w", err))
			continue
		}
		for _, s := range specs {
			if _, inFile := r.fileOf[s.Name]; inFile {
				r.log.Warn("apps: a posted declaration is now declared by a file too: the file's is used", "app", s.Name, "file", r.files[r.fileOf[s.Name]])
				continue
			}
			r.posted[s.Name] = s
		}
	}
	return errors.Join(errs...)
}

// declared returns every declared application: the files', then the
// posted ones by name.
func (r *appsRunner) declared() []app.Spec {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := slices.Clone(r.specs)
	for _, n := range slices.Sorted(maps.Keys(r.posted)) {
		out = append(out, r.posted[n])
	}
	return out
}

// run keeps every engine converged until ctx ends.
func (r *appsRunner) run(ctx context.Context) {
	var wg sync.WaitGroup
	wg.Go(func() { r.deliver(ctx) })
	for _, e := range r.engines {
		wg.Go(func() { r.runEngine(ctx, e) })
	}
	wg.Wait()
}

// runEngine runs the engine's Reconciler.Run with the current
// declarations, restarting it when they change.
func (r *appsRunner) runEngine(ctx context.Context, e *appsEngine) {
	for ctx.Err() == nil {
		specs := r.declared()
		if r.prune {
			if _, err := e.rec.Apply(ctx, specs, app.ApplyOptions{Prune: true}); err != nil && ctx.Err() == nil {
				r.log.Warn("apps: apply failed; retried on the next pass", "engine", e.name, "err", err)
			}
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() { done <- e.rec.Run(rctx, specs) }()
		select {
		case <-ctx.Done():
		case <-e.reload:
		case err := <-done:
			// Only invalid declarations end Run, and they were validated.
			r.log.Error("apps: reconciler stopped", "engine", e.name, "err", err)
			cancel()
			return
		}
		cancel()
		<-done
	}
}

// transition keeps ev and queues its notification; it never blocks.
func (r *appsRunner) transition(e *appsEngine, ev app.Event) {
	r.mu.Lock()
	r.events = append(r.events, appEventView{Engine: e.name, Event: ev})
	if n := len(r.events) - appsEventsKept; n > 0 {
		r.events = slices.Delete(r.events, 0, n)
	}
	r.mu.Unlock()
	st := monitor.Warning
	switch ev.Kind {
	case app.EventRecovered:
		st = monitor.OK
	case app.EventFailed:
		st = monitor.Critical
	}
	msg := fmt.Sprintf("application %s %s", ev.App, strings.ReplaceAll(string(ev.Kind), "_", " "))
	if ev.Container != "" {
		msg += ": " + ev.Container
	}
	if ev.Reason != "" {
		msg += ": " + ev.Reason
	}
	t := inventory.Target{Kind: inventory.KindContainer, Name: cmp.Or(ev.Container, ev.App), Engine: e.endpoint,
		Labels: map[string]string{app.LabelApp: ev.App, "minato.app.event": string(ev.Kind)}}
	evn := monitor.Evaluation{Check: AppsCheck, Target: t, Result: monitor.Result{Time: ev.Time, Status: st, Message: msg},
		Status: st, Observed: st, Message: msg}
	select {
	case r.notes <- evn:
	default:
		r.log.Warn("apps: notification queue full: transition not notified", "app", ev.App, "kind", string(ev.Kind))
	}
}

// deliver sends queued transitions to the notifiers until ctx ends.
func (r *appsRunner) deliver(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case ev := <-r.notes:
			batch := []monitor.Evaluation{ev}
			for more := true; more; {
				select {
				case ev := <-r.notes:
					batch = append(batch, ev)
				default:
					more = false
				}
			}
			for _, ev := range batch {
				r.log.Info("apps: "+strings.ToLower(ev.Status.String()), "target", ev.Target.Name, "message", ev.Message)
			}
			if err := r.notify(ctx, batch); err != nil {
				r.log.Warn("apps: notification failed", "err", err)
			}
		}
	}
}

// appsView is GET /api/v1/apps.
type appsView struct {
	Resync   string             `json:"resync"`
	Prune    bool               `json:"prune"`
	Declared []appDeclaredView  `json:"declared"`
	Engines  []appsEngineStatus `json:"engines"`
	Events   []appEventView     `json:"events"`
}

// appDeclaredView is one declared application and where it comes from.
type appDeclaredView struct {
	App      string `json:"app"`
	Source   string `json:"source"` // "apps.files[0]: PATH" or "posted"
	Replicas int    `json:"replicas"`
	Hash     string `json:"hash"`
}

// appsEngineStatus is one engine's applications: desired against actual.
type appsEngineStatus struct {
	Engine   string        `json:"engine"`
	Endpoint string        `json:"endpoint"`
	Error    string        `json:"error,omitempty"`
	Apps     []appStatusJS `json:"apps"`
}

// appStatusJS is one application on one engine: the reconciler's status,
// whether it converged, and what a pass would do now (drift).
type appStatusJS struct {
	app.AppStatus
	Converged bool       `json:"converged"`
	Drift     []app.Step `json:"drift,omitempty"`
}

// status reports every engine.
func (r *appsRunner) status(ctx context.Context) appsView {
	specs := r.declared()
	v := appsView{Resync: r.resync.String(), Prune: r.prune, Declared: []appDeclaredView{}, Engines: []appsEngineStatus{}}
	r.mu.Lock()
	for _, s := range specs {
		src := "posted"
		if i, ok := r.fileOf[s.Name]; ok {
			src = fmt.Sprintf("apps.files[%d]: %s", i, r.files[i])
		}
		v.Declared = append(v.Declared, appDeclaredView{App: s.Name, Source: src, Replicas: s.ReplicaCount(), Hash: s.Hash()})
	}
	v.Events = slices.Clone(r.events)
	r.mu.Unlock()
	if v.Events == nil {
		v.Events = []appEventView{}
	}
	out := make([]appsEngineStatus, len(r.engines))
	var wg sync.WaitGroup
	for i, e := range r.engines {
		wg.Go(func() { out[i] = e.status(ctx, specs, r.prune) })
	}
	wg.Wait()
	v.Engines = append(v.Engines, out...)
	return v
}

// status is one engine's part of GET /api/v1/apps.
func (e *appsEngine) status(ctx context.Context, specs []app.Spec, prune bool) appsEngineStatus {
	es := appsEngineStatus{Engine: e.name, Endpoint: e.endpoint, Apps: []appStatusJS{}}
	st, err := e.rec.Status(ctx)
	if err != nil {
		es.Error = err.Error()
		return es
	}
	// The plan is made here rather than by a dry-run Apply, which would
	// wait for an update in progress (its gate may take minutes).
	list, err := e.client.List(ctx, container.ListOptions{All: true, Labels: map[string]string{app.LabelApp: ""}})
	if err != nil {
		es.Error = err.Error()
	}
	plan := app.NewPlan(specs, list.Containers, app.PlanOptions{Prune: prune})
	drift := map[string][]app.Step{}
	for _, ap := range plan.Apps {
		for _, s := range ap.Steps {
			if s.Action != app.ActionKeep {
				drift[ap.App] = append(drift[ap.App], s)
			}
		}
	}
	for _, a := range st {
		if a.Replicas == nil {
			a.Replicas = []app.ReplicaStatus{}
		}
		es.Apps = append(es.Apps, appStatusJS{AppStatus: a, Converged: a.Converged(), Drift: drift[a.App]})
	}
	return es
}

// writeApps answers GET /api/v1/apps.
func (a *Agent) writeApps(w http.ResponseWriter, r *http.Request) {
	if a.apps == nil {
		httpguard.WriteRefusal(w, &httpguard.Refusal{Status: http.StatusNotFound, Msg: "this agent reconciles no applications: give apps: {files: [...]} (or apps: {enabled: true}) in its configuration"})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	writeJSON(w, http.StatusOK, a.apps.status(ctx))
}

// appsPostResult is the answer to POST /api/v1/apps.
type appsPostResult struct {
	Apps      []string          `json:"apps"`
	Converged bool              `json:"converged"`
	Engines   []appsPostOutcome `json:"engines"`
}

// appsPostOutcome is one engine's apply of a POST.
type appsPostOutcome struct {
	Engine string          `json:"engine"`
	Result app.ApplyResult `json:"result"`
	Error  string          `json:"error,omitempty"`
}

// postApps answers POST /api/v1/apps: a declaration (YAML or JSON, one
// application or several under apps:) is validated (400 naming the key
// path), kept under the state directory (so that a restart keeps it),
// applied on every engine at once and kept converged from then on. 200
// when every engine converged, 202 when the declaration was kept but some
// replica failed (the reconciler retries; the body says what failed), 409
// for an application a configured file declares.
func (a *Agent) postApps(w http.ResponseWriter, r *http.Request, guard *httpguard.Guard) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !slices.Contains([]string{"application/json", "application/yaml", "application/x-yaml", "text/yaml"}, mt) {
		httpguard.WriteRefusal(w, &httpguard.Refusal{Status: http.StatusUnsupportedMediaType, Msg: "a declaration needs Content-Type: application/json or application/yaml"})
		return
	}
	if rf := guard.Read(r); rf != nil {
		httpguard.WriteRefusal(w, rf)
		return
	}
	if a.apps == nil {
		httpguard.WriteRefusal(w, &httpguard.Refusal{Status: http.StatusNotFound, Msg: "this agent reconciles no applications: set apps: {enabled: true} in its configuration"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, strictyaml.MaxBytes))
	if err != nil {
		httpguard.WriteRefusal(w, &httpguard.Refusal{Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("body: %v (a declaration has at most %d MiB)", err, strictyaml.MaxBytes>>20)})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 10*time.Minute)
	defer cancel()
	res, status, err := a.apps.post(ctx, body)
	if err != nil {
		httpguard.WriteRefusal(w, &httpguard.Refusal{Status: status, Msg: err.Error()})
		return
	}
	writeJSON(w, status, res)
}

// post parses, keeps and applies a posted declaration.
func (r *appsRunner) post(ctx context.Context, body []byte) (appsPostResult, int, error) {
	if err := os.MkdirAll(r.dir, 0o700); err != nil {
		return appsPostResult{}, http.StatusInternalServerError, fmt.Errorf("apps: state directory: %w", err)
	}
	specs, err := app.Parse(body, r.dir)
	if err != nil {
		return appsPostResult{}, http.StatusBadRequest, err
	}
	docs, err := splitDeclaration(body, len(specs))
	if err != nil {
		return appsPostResult{}, http.StatusBadRequest, err
	}
	r.postMu.Lock()
	defer r.postMu.Unlock()
	res := appsPostResult{Converged: true}
	r.mu.Lock()
	for _, s := range specs {
		if i, ok := r.fileOf[s.Name]; ok {
			r.mu.Unlock()
			return appsPostResult{}, http.StatusConflict, fmt.Errorf("application %s is declared by apps.files[%d] (%s): change it there", s.Name, i, r.files[i])
		}
	}
	r.mu.Unlock()
	for i, s := range specs {
		p := filepath.Join(r.dir, s.Name+".yaml")
		if err := writeFileAtomic(p, docs[i]); err != nil {
			return appsPostResult{}, http.StatusInternalServerError, fmt.Errorf("apps: keep %s: %w", s.Name, err)
		}
		res.Apps = append(res.Apps, s.Name)
	}
	r.mu.Lock()
	for _, s := range specs {
		r.posted[s.Name] = s
	}
	r.mu.Unlock()
	outs := make([]appsPostOutcome, len(r.engines))
	var wg sync.WaitGroup
	for i, e := range r.engines {
		wg.Go(func() {
			ar, err := e.rec.Apply(ctx, specs, app.ApplyOptions{})
			outs[i] = appsPostOutcome{Engine: e.name, Result: ar}
			if err != nil {
				outs[i].Error = err.Error()
			}
			select {
			case e.reload <- struct{}{}:
			default:
			}
		})
	}
	wg.Wait()
	res.Engines = outs
	for _, o := range outs {
		if o.Error != "" {
			res.Converged = false
		}
	}
	if !res.Converged {
		return res, http.StatusAccepted, nil
	}
	return res, http.StatusOK, nil
}

// splitDeclaration returns one YAML document per application of a
// declaration (n of them), so that each is kept in its own file.
func splitDeclaration(body []byte, n int) ([][]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(body, &doc); err != nil || len(doc.Content) == 0 {
		return nil, fmt.Errorf("body: not a YAML or JSON document")
	}
	top := doc.Content[0]
	var items []*yaml.Node
	for i := 0; top.Kind == yaml.MappingNode && i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value == "apps" {
			items = top.Content[i+1].Content
		}
	}
	if items == nil {
		items = []*yaml.Node{top}
	}
	if len(items) != n {
		return nil, fmt.Errorf("body: %d applications decoded, %d found", n, len(items))
	}
	out := make([][]byte, n)
	for i, it := range items {
		b, err := yaml.Marshal(it)
		if err != nil {
			return nil, fmt.Errorf("body: apps[%d]: %w", i, err)
		}
		out[i] = b
	}
	return out, nil
}

// writeFileAtomic writes data to path (mode 0600: declarations may hold
// secrets) through a temporary file and a rename.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".post-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
