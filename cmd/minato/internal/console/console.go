package console

import (
	"bytes"
	"compress/gzip"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/minato-ops/minato/internal/httpguard"
	"github.com/minato-ops/minato/monitor"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Defaults and bounds of [Config].
const (
	// DefaultPoll is Config.Poll's default: how often an open page
	// refreshes the view it shows.
	DefaultPoll = time.Second
	// MinPoll is the shortest Config.Poll.
	MinPoll = 500 * time.Millisecond
	// DefaultPoints is Config.Points' default: values per sparkline.
	DefaultPoints = 30
	// DefaultTimeline is Config.Timeline's default: entries of the checks'
	// events timeline.
	DefaultTimeline = 200
)

// Paths the console serves.
const (
	// APIPrefix is where the JSON twins of the views are served:
	// GET /api/v1/console/{view} (JSON), ?format=html for the view's HTML
	// fragment, which the page polls.
	APIPrefix = "/api/v1/console/"
	// PagePrefix is where the full pages are: /console/{view}; "/" is the
	// estate view.
	PagePrefix = "/console/"
	// StaticPrefix is where the embedded CSS and JavaScript are.
	StaticPrefix = "/console/static/"
)

// Config is the data part of a [Console]'s settings.
type Config struct {
	// Poll is how often an open page refreshes its view (default 1s, at
	// least 500ms). Each refresh is one guarded GET of the view's twin,
	// which reads the public API in-process.
	Poll time.Duration `json:"poll,omitempty"`
	// Points is how many values each CPU and memory sparkline keeps
	// (default 30, at most 1000).
	Points int `json:"points,omitempty"`
	// Timeline is how many entries the checks' events timeline keeps
	// (default 200, at most 10000).
	Timeline int `json:"timeline,omitempty"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Poll: DefaultPoll, Points: DefaultPoints, Timeline: DefaultTimeline}
}

// Validate reports every invalid field, joined.
func (c Config) Validate() error {
	var errs []error
	if c.Poll != 0 && c.Poll < MinPoll {
		errs = append(errs, fmt.Errorf("console.poll: %s: want %s or more (default %s)", c.Poll, MinPoll, DefaultPoll))
	}
	if c.Points < 0 || c.Points > 1000 {
		errs = append(errs, fmt.Errorf("console.points: %d: want 0 (default %d) to 1000", c.Points, DefaultPoints))
	}
	if c.Timeline < 0 || c.Timeline > 10000 {
		errs = append(errs, fmt.Errorf("console.timeline: %d: want 0 (default %d) to 10000", c.Timeline, DefaultTimeline))
	}
	return errors.Join(errs...)
}

func (c Config) withDefaults() Config {
	d := DefaultConfig()
	if c.Poll == 0 {
		c.Poll = d.Poll
	}
	if c.Points == 0 {
		c.Points = d.Points
	}
	if c.Timeline == 0 {
		c.Timeline = d.Timeline
	}
	return c
}

// GraphUnit is one unit of a job network's graph: its name and the units
// it needs (its edges). When is the condition on its needs ("success",
// "failure", "always", "exit"), shown on the drawing; "" means success.
type GraphUnit struct {
	Name  string   `json:"name"`
	Needs []string `json:"needs,omitempty"`
	When  string   `json:"when,omitempty"`
}

// GraphFunc returns the graph of a run of a network (runID set) or of the
// network as configured (runID ""). It is called on every refresh of the
// job networks view, once per network shown; it must be safe for
// concurrent use and should not block. An error wrapping
// errors.ErrUnsupported, or a nil func, draws the units in one column
// without edges.
type GraphFunc func(ctx context.Context, network, runID string) ([]GraphUnit, error)

// ScopesFunc returns, by container name, the scopes (the inventory
// repository's, Hinemos facility scopes) a container is assigned to. It
// is called on every refresh of the estate view; safe for concurrent use.
type ScopesFunc func(ctx context.Context) (map[string][]string, error)

// CheckDef is a configured check as the checks view shows it.
type CheckDef struct {
	// Name is the check's name as evaluations carry it.
	Name string `json:"name"`
	// Monitor is the catalogue monitor it runs.
	Monitor string `json:"monitor,omitempty"`
	// Interval is the time between two runs.
	Interval time.Duration `json:"interval,omitempty"`
	// Thresholds judge its samples.
	Thresholds []monitor.Threshold `json:"thresholds,omitempty"`
}

// Option configures optional collaborators of a [Console].
type Option func(*Console)

// WithGraph draws job networks with the units' dependencies from f.
func WithGraph(f GraphFunc) Option { return func(c *Console) { c.graph = f } }

// WithScopes groups and filters containers by the scopes f returns.
func WithScopes(f ScopesFunc) Option { return func(c *Console) { c.scopes = f } }

// WithChecks shows the configured checks' monitors, intervals and
// thresholds; f is called on every refresh of the checks view.
func WithChecks(f func() []CheckDef) Option { return func(c *Console) { c.checks = f } }

// WithRecorder keeps sparkline values and the events timeline in r, which
// the caller also gives the monitor Runner as a Sink (so that history
// exists before a page is opened). Without it the Console records what it
// reads from /api/v1/status when pages refresh.
func WithRecorder(r *Recorder) Option { return func(c *Console) { c.rec = r } }

// WithLogger logs failures to render a view (at warn). Default: silent.
// Nothing the operator enters (the token) is ever logged.
func WithLogger(l *slog.Logger) Option {
	return func(c *Console) {
		if l != nil {
			c.log = l
		}
	}
}

// Console is the operator console: full pages at / and /console/{view},
// the JSON twins (and HTML fragments) of the views at
// /api/v1/console/{view}, and the embedded static assets. It reads every
// datum through the public API handler it is given, in-process, with the
// request's own credentials, so that what the page shows is exactly what
// the API gives that caller; its own routes are guarded the same way
// (the Guard's Read). Controls are not served here: the page calls the
// job and HA APIs directly, with the token the operator entered. Safe for
// concurrent use.
type Console struct {
	cfg    Config
	api    http.Handler
	guard  *httpguard.Guard
	graph  GraphFunc
	scopes ScopesFunc
	checks func() []CheckDef
	rec    *Recorder
	log    *slog.Logger
	tmpl   *template.Template
	static http.Handler
}

// New returns the Console over api (the agent's handler, serving
// /api/v1/...) guarded by guard (the API's own Guard). It fails when api
// or guard is nil, or cfg is invalid.
func New(cfg Config, api http.Handler, guard *httpguard.Guard, opts ...Option) (*Console, error) {
	if api == nil {
		return nil, errors.New("console: nil API handler")
	}
	if guard == nil {
		return nil, errors.New("console: nil guard")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	c := &Console{cfg: cfg, api: api, guard: guard, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(c)
	}
	if c.rec == nil {
		c.rec = NewRecorder(cfg.Points, cfg.Timeline)
	}
	t, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	c.tmpl = t
	sub, err := fs.Sub(staticFS, "static")
	if err != nil {
		return nil, fmt.Errorf("console: static assets: %w", err)
	}
	c.static = http.StripPrefix(StaticPrefix, http.FileServerFS(sub))
	return c, nil
}

// Register adds the console's routes to mux: GET / (the estate page),
// GET /console/{view}, GET /console/static/..., GET
// /api/v1/console/{view}. They are more specific than a "/api/v1/"
// catch-all, which keeps the other API routes.
func (c *Console) Register(mux *http.ServeMux) {
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) { c.page(w, r, viewEstate) })
	mux.HandleFunc("GET "+PagePrefix+"{view}", func(w http.ResponseWriter, r *http.Request) {
		v, ok := parseView(r.PathValue("view"))
		if !ok {
			http.Error(w, fmt.Sprintf("no console view %q: want one of %s", r.PathValue("view"), strings.Join(viewNames(), ", ")), http.StatusNotFound)
			return
		}
		c.page(w, r, v)
	})
	mux.HandleFunc("GET "+StaticPrefix, c.serveStatic)
	mux.HandleFunc("GET "+APIPrefix+"{view}", c.twin)
}

// serveStatic serves the embedded assets with a day of caching: their
// names change with their content only across releases, so a revalidation
// (ETag-less, Last-Modified of the embed) is cheap.
func (c *Console) serveStatic(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "public, max-age=86400")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	c.static.ServeHTTP(w, r)
}

// securityHeaders are set on every page and fragment: no inline script
// runs (the CSP allows only the console's own files), no framing, no
// referrer leaves the page.
func securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cache-Control", "no-store")
}

// page renders a full page. A caller the Guard admits gets the view with
// its data; any other gets the page without data and the token form (a
// browser's navigation cannot carry the Authorization header), and the
// page's script fetches the view with the token the operator enters.
func (c *Console) page(w http.ResponseWriter, r *http.Request, v view) {
	q := parseQuery(r)
	pd := &pageData{View: v, Lang: q.lang, Query: q, PollMS: c.cfg.Poll.Milliseconds()}
	if rf := c.guard.Read(r); rf != nil {
		pd.Locked = true
		pd.Refusal = rf.Msg
	} else {
		data, err := c.build(r, v, q)
		if err != nil {
			pd.Error = err.Error()
		}
		pd.Data = data
	}
	var b bytes.Buffer
	if err := c.tmpl.ExecuteTemplate(&b, "page", pd); err != nil {
		c.log.Warn("console: rendering a page failed", "view", v, "err", err)
		http.Error(w, "the console could not render this view (see the agent's log)", http.StatusInternalServerError)
		return
	}
	securityHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	writeBody(w, r, b.Bytes())
}

// writeBody writes an HTML answer, gzipped (fastest level) when the
// client takes it and it is large enough to gain: a 200-container estate
// is about 200 KB of repetitive markup and 20 KB gzipped.
func writeBody(w http.ResponseWriter, r *http.Request, b []byte) {
	w.Header().Add("Vary", "Accept-Encoding")
	if len(b) < 4096 || !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		_, _ = w.Write(b)
		return
	}
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestSpeed)
	_, _ = zw.Write(b)
	_ = zw.Close()
	w.Header().Set("Content-Encoding", "gzip")
	w.Header().Set("Content-Length", strconv.Itoa(z.Len()))
	_, _ = w.Write(z.Bytes())
}

// twin answers GET /api/v1/console/{view}: the view's data as JSON, or
// with ?format=html the HTML of the view's main section (what the page
// swaps in when it refreshes).
func (c *Console) twin(w http.ResponseWriter, r *http.Request) {
	if rf := c.guard.Read(r); rf != nil {
		httpguard.WriteRefusal(w, rf)
		return
	}
	v, ok := parseView(r.PathValue("view"))
	if !ok {
		httpguard.WriteRefusal(w, &httpguard.Refusal{Status: http.StatusNotFound, Msg: fmt.Sprintf("no console view %q: want one of %s", r.PathValue("view"), strings.Join(viewNames(), ", "))})
		return
	}
	format := r.URL.Query().Get("format")
	if format != "" && format != "json" && format != "html" {
		httpguard.WriteRefusal(w, &httpguard.Refusal{Status: http.StatusBadRequest, Msg: fmt.Sprintf("format %q: want json (default) or html", format)})
		return
	}
	q := parseQuery(r)
	data, err := c.build(r, v, q)
	if err != nil {
		var ae *apiError
		if errors.As(err, &ae) {
			httpguard.WriteRefusal(w, &httpguard.Refusal{Status: ae.Status, Msg: ae.Msg})
			return
		}
		httpguard.WriteRefusal(w, &httpguard.Refusal{Status: http.StatusServiceUnavailable, Msg: "console: " + err.Error()})
		return
	}
	if format != "html" {
		b, err := json.MarshalIndent(data, "", "  ")
		if err != nil {
			httpguard.WriteRefusal(w, &httpguard.Refusal{Status: http.StatusInternalServerError, Msg: "console: cannot encode the view"})
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(append(b, '\n'))
		return
	}
	pd := &pageData{View: v, Lang: q.lang, Query: q, Data: data, PollMS: c.cfg.Poll.Milliseconds()}
	var b bytes.Buffer
	if err := c.tmpl.ExecuteTemplate(&b, "main", pd); err != nil {
		c.log.Warn("console: rendering a fragment failed", "view", v, "err", err)
		httpguard.WriteRefusal(w, &httpguard.Refusal{Status: http.StatusInternalServerError, Msg: "console: could not render the view (see the agent's log)"})
		return
	}
	securityHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	writeBody(w, r, b.Bytes())
}

// build collects a view's data. Sections whose API is off or refuses are
// data (their message shown); only a refusal of the whole caller (401,
// 403) is an error.
func (c *Console) build(r *http.Request, v view, q query) (any, error) {
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	f := &fetcher{api: c.api, orig: r, ctx: ctx}
	switch v {
	case viewEstate:
		return c.estate(ctx, f, q)
	case viewChecks:
		return c.checksView(f)
	case viewJobs:
		return c.jobs(ctx, f, q)
	case viewHA:
		return c.haView(f)
	case viewImages:
		return c.imagesView(f)
	case viewApps:
		return c.appsView(f)
	case viewDiag:
		return c.diagView(f)
	}
	return nil, fmt.Errorf("console: unknown view %q", v)
}
