package agent

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/minato-ops/minato/image"
	"github.com/minato-ops/minato/internal/httpguard"
	"github.com/minato-ops/minato/inventory"
	dockerinv "github.com/minato-ops/minato/inventory/docker"
	"github.com/minato-ops/minato/monitor"
)

// Defaults and bounds of the images: section.
const (
	// DefaultImagesInterval is ImagesConfig.Interval's default, diun's
	// default schedule (every 6 hours).
	DefaultImagesInterval = 6 * time.Hour
	// MinImagesInterval is the shortest ImagesConfig.Interval: every run
	// costs one registry call per distinct image reference (plus one per
	// page of tags with Tags), and registries count them.
	MinImagesInterval = 5 * time.Minute
	// ImagesCheck is the check name image-update notifications carry.
	ImagesCheck = "image.update"
)

// imagesFirstDelay is how long after the agent starts the first run waits.
// A variable for tests.
var imagesFirstDelay = 20 * time.Second

// ImagesConfig is the images: section: update detection, diun's job, on a
// schedule. For each running container the digest of the image it runs is
// compared with the digest its tag points to in the registry now (a HEAD
// request, nothing is pulled); a container whose tag moved, or that still
// runs an older image although the engine already pulled the new one (a
// redeploy that did not take effect, the Container Service FAQ's D01), is
// notified, and again when it is current.
type ImagesConfig struct {
	// Enabled runs the detection; off by default.
	Enabled bool `json:"enabled,omitempty"`
	// Interval is the time between two runs (default 6h, at least 5m).
	Interval time.Duration `json:"interval,omitempty"`
	// Tags also looks for newer tags than each container's, matching this
	// semver constraint ("^1", ">=1.4 <2", or "newer" for any higher
	// version); empty: tags are not listed.
	Tags string `json:"tags,omitempty"`
	// Labels selects the containers checked (all must match); empty: all
	// running containers.
	Labels map[string]string `json:"labels,omitempty"`
	// Registry configures the registry calls: docker_config (where
	// credentials and credential helpers are found), certs_dir,
	// registry_timeout, registry_budget (calls per minute per registry).
	Registry image.Config `json:"registry"`
}

// validate checks the section; errors carry their key path.
func (c ImagesConfig) validate() []error {
	var errs []error
	if c.Interval != 0 && c.Interval < MinImagesInterval {
		errs = append(errs, fmt.Errorf("images.interval: %s: want %s or more (default %s): every run makes registry calls, which registries count", c.Interval, MinImagesInterval, DefaultImagesInterval))
	}
	if c.Tags != "" {
		if _, err := image.NewerTags("1.0.0", nil, c.Tags); err != nil {
			errs = append(errs, fmt.Errorf("images.tags: %w", err))
		}
	}
	if err := c.Registry.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("images.registry: %w", err))
	}
	return errs
}

// imagesEngine is one engine's image client and what its last run found.
type imagesEngine struct {
	name     string
	endpoint string
	client   *image.Client
	last     []image.CheckResult
	at       time.Time
	// open are the containers last notified as not current, by container
	// ID, with the message sent.
	open map[string]string
}

// imagesRunner runs update detection on every engine on a schedule.
type imagesRunner struct {
	interval time.Duration
	opts     image.CheckOptions
	log      *slog.Logger
	notify   func(context.Context, []monitor.Evaluation) error

	mu      sync.Mutex
	engines []*imagesEngine
	runs    uint64
	next    time.Time
}

// buildImages prepares update detection when the images: section enables
// it.
func (a *Agent) buildImages() error {
	c := a.cfg.Images
	if !c.Enabled {
		return nil
	}
	r := &imagesRunner{interval: cmp.Or(c.Interval, DefaultImagesInterval), log: a.log, notify: a.fan.Write,
		opts: image.CheckOptions{Tags: c.Tags, Selector: inventory.Selector{Labels: c.Labels}}}
	for _, e := range a.engines {
		ic, err := image.New(e.client, c.Registry, image.WithLogger(a.log))
		if err != nil {
			return fmt.Errorf("images: engine %s: %w", cmp.Or(e.name, dockerinv.LocalName), err)
		}
		r.engines = append(r.engines, &imagesEngine{name: cmp.Or(e.name, dockerinv.LocalName), endpoint: e.client.Host(), client: ic, open: map[string]string{}})
	}
	a.images = r
	return nil
}

// run checks shortly after start, then every interval, until ctx ends.
func (r *imagesRunner) run(ctx context.Context) {
	periodically(ctx, imagesFirstDelay, r.interval, func(next time.Time) {
		r.mu.Lock()
		r.next = next
		r.mu.Unlock()
	}, r.runOnce)
}

// runOnce checks every engine at once, keeps the results and notifies
// what changed.
func (r *imagesRunner) runOnce(ctx context.Context) {
	results := make([][]image.CheckResult, len(r.engines))
	errs := make([]error, len(r.engines))
	var wg sync.WaitGroup
	for i, e := range r.engines {
		wg.Go(func() { results[i], errs[i] = e.client.Check(ctx, r.opts) })
	}
	wg.Wait()
	if ctx.Err() != nil {
		return
	}
	var evs []monitor.Evaluation
	now := time.Now()
	r.mu.Lock()
	r.runs++
	for i, e := range r.engines {
		if errs[i] != nil {
			r.log.Warn("images: could not check the engine's containers", "engine", e.name, "err", errs[i])
			continue
		}
		e.last, e.at = results[i], now
		evs = append(evs, e.changes(results[i], now)...)
	}
	r.mu.Unlock()
	if len(evs) == 0 {
		return
	}
	for _, ev := range evs {
		r.log.Info("images: "+strings.ToLower(ev.Status.String()), "target", ev.Target.String(), "message", ev.Message)
	}
	if err := r.notify(ctx, evs); err != nil {
		r.log.Warn("images: notification failed", "err", err)
	}
}

// changes compares the results with what was notified before: a container
// newly not current (or with a new message) is notified as a warning, one
// current again as OK. A container that is gone is forgotten silently; a
// registry error is notified once as a warning with its advice.
func (e *imagesEngine) changes(res []image.CheckResult, at time.Time) []monitor.Evaluation {
	var evs []monitor.Evaluation
	seen := map[string]bool{}
	for _, r := range res {
		id := r.Container.ID
		seen[id] = true
		msg := updateMessage(r)
		old, was := e.open[id]
		switch {
		case msg == "" && was:
			delete(e.open, id)
			evs = append(evs, e.evaluation(r.Container, monitor.OK, "current: "+r.Container.Name+" runs the image "+r.Reference.Familiar()+" points to now", at))
		case msg != "" && msg != old:
			e.open[id] = msg
			evs = append(evs, e.evaluation(r.Container, monitor.Warning, msg, at))
		}
	}
	for id := range e.open {
		if !seen[id] {
			delete(e.open, id)
		}
	}
	return evs
}

// updateMessage is what a result says an operator should know, "" when
// nothing (current, local or pinned images).
func updateMessage(r image.CheckResult) string {
	name, ref := r.Container.Name, r.Reference.Familiar()
	var parts []string
	switch r.Status {
	case "outdated":
		parts = append(parts, fmt.Sprintf("update available: %s runs %s, %s is now %s; update with: minato image update %s", name, short(r.Running), ref, short(r.Latest), name))
	case "stale-local":
		parts = append(parts, fmt.Sprintf("redeploy did not take effect: %s still runs image %s, but %s on the engine is newer; recreate it: minato image update --no-pull %s", name, short(r.ImageID), ref, name))
	case "error":
		if r.Err != nil {
			parts = append(parts, fmt.Sprintf("update check failed for %s (%s): %v", name, ref, r.Err))
		}
	}
	if len(r.NewerTags) > 0 {
		parts = append(parts, fmt.Sprintf("newer tags of %s: %s", r.Reference.Familiar(), strings.Join(r.NewerTags[:min(len(r.NewerTags), 5)], ", ")))
	}
	return strings.Join(parts, "; ")
}

// short abbreviates a digest or image ID to its first 12 hex digits.
func short(d string) string {
	_, hex, ok := strings.Cut(d, ":")
	if !ok {
		hex = d
	}
	if len(hex) > 12 {
		hex = hex[:12]
	}
	return hex
}

// evaluation is the notification about container t.
func (e *imagesEngine) evaluation(t inventory.Target, st monitor.Status, msg string, at time.Time) monitor.Evaluation {
	t.Engine = cmp.Or(t.Engine, e.endpoint)
	return monitor.Evaluation{Check: ImagesCheck, Target: t, Result: monitor.Result{Time: at, Status: st, Message: msg},
		Status: st, Observed: st, Message: msg}
}

// imagesView is GET /api/v1/images: the last results of every engine.
type imagesView struct {
	Interval string             `json:"interval"`
	Runs     uint64             `json:"runs"`
	NextRun  time.Time          `json:"next_run,omitzero"`
	Message  string             `json:"message,omitempty"`
	Engines  []imagesEngineView `json:"engines"`
	Summary  map[string]int     `json:"summary"`
}

type imagesEngineView struct {
	Engine     string        `json:"engine"`
	Endpoint   string        `json:"endpoint"`
	Checked    time.Time     `json:"checked,omitzero"`
	Containers []ImageResult `json:"containers"`
}

// ImageResult is one container's image update check as GET
// /api/v1/images and "minato image check --json" give it: flat, the
// digests and the error as text.
type ImageResult struct {
	Container string   `json:"container"`
	ID        string   `json:"id"`
	Reference string   `json:"reference"`
	Status    string   `json:"status"`
	ImageID   string   `json:"image_id,omitempty"`
	Running   string   `json:"running_digest,omitempty"`
	Latest    string   `json:"latest_digest,omitempty"`
	NewerTags []string `json:"newer_tags,omitempty"`
	Error     string   `json:"error,omitempty"`
}

// NewImageResult converts a check result to its JSON form.
func NewImageResult(r image.CheckResult) ImageResult {
	v := ImageResult{Container: r.Container.Name, ID: r.Container.ID, Reference: r.Reference.String(), Status: r.Status,
		ImageID: r.ImageID, Running: r.Running, Latest: r.Latest, NewerTags: r.NewerTags}
	if r.Err != nil {
		v.Error = r.Err.Error()
	}
	return v
}

// writeImages answers GET /api/v1/images.
func (a *Agent) writeImages(w http.ResponseWriter) {
	if a.images == nil {
		httpguard.WriteRefusal(w, &httpguard.Refusal{Status: http.StatusNotFound, Msg: "image update detection is off on this agent: set images: {enabled: true} in its configuration"})
		return
	}
	r := a.images
	r.mu.Lock()
	defer r.mu.Unlock()
	v := imagesView{Interval: r.interval.String(), Runs: r.runs, NextRun: r.next, Engines: []imagesEngineView{}, Summary: map[string]int{}}
	for _, e := range r.engines {
		ev := imagesEngineView{Engine: e.name, Endpoint: e.endpoint, Checked: e.at, Containers: []ImageResult{}}
		for _, res := range e.last {
			ev.Containers = append(ev.Containers, NewImageResult(res))
			v.Summary[res.Status]++
		}
		slices.SortFunc(ev.Containers, func(a, b ImageResult) int { return strings.Compare(a.Container, b.Container) })
		v.Engines = append(v.Engines, ev)
	}
	if r.runs == 0 {
		v.Message = fmt.Sprintf("not checked yet: the first run is at %s", r.next.Format(time.RFC3339))
	}
	writeJSON(w, http.StatusOK, v)
}
