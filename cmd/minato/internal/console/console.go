package console

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
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
	// refreshes the view it shows (without [WithChanges], or for a view
	// the changes do not cover), and the least time between two
	// refreshes of a page that waits for changes.
	DefaultPoll = time.Second
	// MinPoll is the shortest Config.Poll.
	MinPoll = 500 * time.Millisecond
	// DefaultWait is Config.Wait's default: the longest a page's refresh
	// waits for a change before its view is read again anyway.
	DefaultWait = 10 * time.Second
	// MaxWait is the longest Config.Wait (below the agent's HTTP write
	// timeout of 60s).
	MaxWait = 50 * time.Second
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
	// fragment, which the page swaps in (waiting for a change with
	// ?since=, see [WithChanges]).
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
	// which reads the public API in-process. With [WithChanges] the
	// estate and checks views instead wait for a change, and Poll is the
	// least time between two of their refreshes (coalescing bursts).
	Poll time.Duration `json:"poll,omitempty"`
	// Wait is, with [WithChanges], the longest a refresh of the estate or
	// checks view waits for a change; the view is then read again anyway,
	// a safety net for changes nobody bumped (a job run starting). Also
	// how long a rendered view is reused while nothing changed. Default
	// 10s, from Poll to 50s.
	Wait time.Duration `json:"wait,omitempty"`
	// Points is how many values each CPU and memory sparkline keeps
	// (default 30, at most 1000).
	Points int `json:"points,omitempty"`
	// Timeline is how many entries the checks' events timeline keeps
	// (default 200, at most 10000).
	Timeline int `json:"timeline,omitempty"`
}

// DefaultConfig returns the defaults.
func DefaultConfig() Config {
	return Config{Poll: DefaultPoll, Wait: DefaultWait, Points: DefaultPoints, Timeline: DefaultTimeline}
}

// Validate reports every invalid field, joined.
func (c Config) Validate() error {
	var errs []error
	if c.Poll != 0 && c.Poll < MinPoll {
		errs = append(errs, fmt.Errorf("console.poll: %s: want %s or more (default %s)", c.Poll, MinPoll, DefaultPoll))
	}
	if c.Wait != 0 && (c.Wait < max(c.Poll, MinPoll) || c.Wait > MaxWait) {
		errs = append(errs, fmt.Errorf("console.wait: %s: want %s (or poll, when longer) to %s (default %s)", c.Wait, MinPoll, MaxWait, DefaultWait))
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
	if c.Wait == 0 {
		c.Wait = max(d.Wait, c.Poll)
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

// WithChanges makes open pages of the estate and checks views wait for
// ch to be bumped (long-polling their twin with ?since=VERSION, answered
// at the next bump or after Config.Wait) instead of re-reading the API
// every Config.Poll, and lets the console reuse a rendered view across
// refreshes and clients while ch's version stays the same (for at most
// Config.Wait). The caller bumps ch when engines, evaluations or job runs
// change, and closes it when its HTTP server shuts down.
func WithChanges(ch *Changes) Option { return func(c *Console) { c.changes = ch } }

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
	// changes is nil without WithChanges.
	changes *Changes
	// css is the stylesheet inlined into every page, csp the policy
	// allowing it by its hash.
	css template.CSS
	csp string

	mu    sync.Mutex
	cache map[string]*rendered
}

// rendered is a view's main section as HTML, built at a version of the
// changes.
type rendered struct {
	version uint64
	at      time.Time
	html    []byte
	gz      []byte // html gzipped, nil when too small to gain
	etag    string
}

// maxCached bounds the rendered views kept (one per view, language,
// filter, run and credentials).
const maxCached = 16

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
	css, err := fs.ReadFile(sub, "console.css")
	if err != nil {
		return nil, fmt.Errorf("console: static assets: %w", err)
	}
	// The stylesheet is inlined (no render-blocking request before the
	// first paint); the policy allows exactly it, by its hash.
	sum := sha256.Sum256(css)
	c.css = template.CSS(css)
	c.csp = "default-src 'none'; script-src 'self'; style-src 'self' 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) +
		"'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	c.cache = map[string]*rendered{}
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
// runs (the CSP allows only the console's own script, and its own
// stylesheet, inlined, by hash), no framing, no referrer leaves the page.
func (c *Console) securityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", c.csp)
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
	pd := &pageData{View: v, Lang: q.lang, Query: q, PollMS: c.cfg.Poll.Milliseconds(), CSS: c.css}
	if rf := c.guard.Read(r); rf != nil {
		pd.Locked = true
		pd.Refusal = rf.Msg
	} else if rd, err := c.render(r, v, q); err != nil {
		pd.Error = err.Error()
		var b bytes.Buffer
		if err := c.tmpl.ExecuteTemplate(&b, "main", pd); err != nil {
			c.log.Warn("console: rendering a page failed", "view", v, "err", err)
			http.Error(w, "the console could not render this view (see the agent's log)", http.StatusInternalServerError)
			return
		}
		pd.Main = template.HTML(b.String()) // #nosec G203 -- html/template's own output
	} else {
		pd.Main = template.HTML(rd.html) // #nosec G203 -- html/template's own output
		pd.Version, pd.ETag = c.versionHeader(v, rd), rd.etag
	}
	var b bytes.Buffer
	if err := c.tmpl.ExecuteTemplate(&b, "page", pd); err != nil {
		c.log.Warn("console: rendering a page failed", "view", v, "err", err)
		http.Error(w, "the console could not render this view (see the agent's log)", http.StatusInternalServerError)
		return
	}
	c.securityHeaders(w.Header())
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	writeBody(w, r, b.Bytes(), nil)
}

// gzipMin is the size below which an answer is not gzipped.
const gzipMin = 4096

// gzipped returns b gzipped (fastest level), or nil when b is too small
// to gain: a 200-container estate is about 200 KB of repetitive markup
// and 20 KB gzipped.
func gzipped(b []byte) []byte {
	if len(b) < gzipMin {
		return nil
	}
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestSpeed)
	_, _ = zw.Write(b)
	_ = zw.Close()
	return z.Bytes()
}

// writeBody writes an HTML answer, gzipped when the client takes it and
// it is large enough to gain; gz is b gzipped when already at hand.
func writeBody(w http.ResponseWriter, r *http.Request, b, gz []byte) {
	w.Header().Add("Vary", "Accept-Encoding")
	if len(b) < gzipMin || !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
		w.Header().Set("Content-Length", strconv.Itoa(len(b)))
		_, _ = w.Write(b)
		return
	}
	if gz == nil {
		gz = gzipped(b)
	}
	w.Header().Set("Content-Encoding", "gzip")
	w.Header().Set("Content-Length", strconv.Itoa(len(gz)))
	_, _ = w.Write(gz)
}

// covered reports whether the changes cover every source of view v, so
// that its refreshes may wait for a bump and its rendering be reused
// while the version stays the same.
func covered(v view) bool { return v == viewEstate || v == viewChecks }

// versionHeader is what the page sends back as ?since= to wait for the
// next change: the version the view was built at, "" when the view does
// not wait (no changes, or a view they do not cover).
func (c *Console) versionHeader(v view, rd *rendered) string {
	if c.changes == nil || rd == nil || !covered(v) {
		return ""
	}
	return strconv.FormatUint(rd.version, 10)
}

// cacheKey identifies a rendering: the view, what the URL selects, and
// the caller's credentials (what the API gives depends on them).
func cacheKey(r *http.Request, v view, q query) string {
	auth := sha256.Sum256([]byte(r.Header.Get("Authorization")))
	return string(v) + "\x00" + q.lang + "\x00" + q.Q + "\x00" + q.Run + "\x00" + hex.EncodeToString(auth[:8])
}

// render returns view v's main section as HTML: the one rendered at the
// current version of the changes when there is one (and it is younger
// than Config.Wait), else a new one. An error is the build's (the view's
// data could not be read).
func (c *Console) render(r *http.Request, v view, q query) (*rendered, error) {
	var version uint64
	key := ""
	if c.changes != nil && covered(v) {
		// The version is read before building: a change during the build
		// makes the page's next refresh answer at once.
		version = c.changes.Version()
		key = cacheKey(r, v, q)
		c.mu.Lock()
		rd := c.cache[key]
		c.mu.Unlock()
		if rd != nil && rd.version == version && time.Since(rd.at) < c.cfg.Wait {
			return rd, nil
		}
	}
	data, err := c.build(r, v, q)
	if err != nil {
		return nil, err
	}
	pd := &pageData{View: v, Lang: q.lang, Query: q, Data: data, PollMS: c.cfg.Poll.Milliseconds()}
	var b bytes.Buffer
	if err := c.tmpl.ExecuteTemplate(&b, "main", pd); err != nil {
		c.log.Warn("console: rendering a view failed", "view", v, "err", err)
		return nil, errRender
	}
	sum := sha256.Sum256(b.Bytes())
	rd := &rendered{version: version, at: time.Now(), html: b.Bytes(), gz: gzipped(b.Bytes()), etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
	if key != "" {
		c.mu.Lock()
		if len(c.cache) >= maxCached {
			for k, old := range c.cache {
				if old.version != version || len(c.cache) >= maxCached {
					delete(c.cache, k)
				}
			}
		}
		c.cache[key] = rd
		c.mu.Unlock()
	}
	return rd, nil
}

// errRender is a template failure (logged where it happens).
var errRender = errors.New("could not render the view (see the agent's log)")

// etagMatch reports whether an If-None-Match header names etag.
func etagMatch(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		if t = strings.TrimSpace(t); t == etag || t == "W/"+etag || t == "*" {
			return true
		}
	}
	return false
}

// twin answers GET /api/v1/console/{view}: the view's data as JSON, or
// with ?format=html the HTML of the view's main section (what the page
// swaps in when it refreshes). With ?format=html, ?since=VERSION (the
// X-Console-Version of the previous answer) waits until the data may
// have changed, and If-None-Match with the previous ETag gets 304 Not
// Modified when the HTML is the same.
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
	var since uint64
	if s := r.URL.Query().Get("since"); s != "" {
		n, err := strconv.ParseUint(s, 10, 64)
		if err != nil || format != "html" {
			httpguard.WriteRefusal(w, &httpguard.Refusal{Status: http.StatusBadRequest, Msg: fmt.Sprintf("since %q: want the X-Console-Version of a previous answer (a decimal number), with format=html", s)})
			return
		}
		since = n
		if c.changes != nil && covered(v) {
			ctx, cancel := context.WithTimeout(r.Context(), c.cfg.Wait)
			_, _ = c.changes.Wait(ctx, since)
			cancel()
			if r.Context().Err() != nil {
				return // the page went away
			}
		}
	}
	q := parseQuery(r)
	if format != "html" {
		data, err := c.build(r, v, q)
		if err != nil {
			c.refuseBuild(w, err)
			return
		}
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
	rd, err := c.render(r, v, q)
	if err != nil {
		c.refuseBuild(w, err)
		return
	}
	c.securityHeaders(w.Header())
	if ver := c.versionHeader(v, rd); ver != "" {
		w.Header().Set("X-Console-Version", ver)
	}
	w.Header().Set("ETag", rd.etag)
	if etagMatch(r.Header.Get("If-None-Match"), rd.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	writeBody(w, r, rd.html, rd.gz)
}

// refuseBuild answers a view that could not be built: the API's refusal
// of the caller as it is, anything else 503 (500 for a template failure).
func (c *Console) refuseBuild(w http.ResponseWriter, err error) {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		httpguard.WriteRefusal(w, &httpguard.Refusal{Status: ae.Status, Msg: ae.Msg})
	case errors.Is(err, errRender):
		httpguard.WriteRefusal(w, &httpguard.Refusal{Status: http.StatusInternalServerError, Msg: "console: " + err.Error()})
	default:
		httpguard.WriteRefusal(w, &httpguard.Refusal{Status: http.StatusServiceUnavailable, Msg: "console: " + err.Error()})
	}
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
