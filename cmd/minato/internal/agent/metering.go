package agent

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"strings"
	"time"

	"github.com/minato-ops/minato/container/app/metering"
	"github.com/minato-ops/minato/internal/httpguard"
)

// MeteringConfig is the metering: section: the agent scrapes the metrics
// endpoint of every replica of every metered application (containers
// labelled minato.app and minato.metering.port, which the application
// reconciler sets when an application's metering is enabled) on every
// engine, and serves what it kept at /metrics/apps and
// /metrics/apps/{name} (the WebOTX operator's metering API).
type MeteringConfig struct {
	// Enabled turns metering on (the operator-level METERING_ENABLED of
	// the metering API); an application is scraped only when this and its own
	// metering are enabled.
	Enabled bool `json:"enabled"`
	// Interval is the time between two scrapes of a replica whose
	// application sets no interval of its own, and between two
	// discoveries of the engines' containers (default 30s, at least 1s).
	Interval time.Duration `json:"interval,omitempty"`
	// Timeout bounds one scrape (default 10s, or the interval when
	// shorter; at most the interval).
	Timeout time.Duration `json:"timeout,omitempty"`
	// MaxConcurrent bounds the scrapes in flight (default 8).
	MaxConcurrent int `json:"max_concurrent,omitempty"`
	// Published scrapes the host port each replica's metering port is
	// published on instead of the container's IP address: for an agent
	// that cannot reach the containers' networks (in a container on
	// another network, or on another host than the engine).
	Published bool `json:"published,omitempty"`
	// HostAddress is the host used with Published for ports published on
	// every address (default: the engine's address, else 127.0.0.1).
	HostAddress string `json:"host_address,omitempty"`
	// InsecureSkipVerify accepts any certificate from https endpoints.
	InsecureSkipVerify bool `json:"insecure_skip_verify,omitempty"`
}

// Validate checks the section's fields (errors start with the field's
// key).
func (m MeteringConfig) Validate() error {
	var errs []error
	errs = append(errs, flatten(m.scraperConfig().Validate())...)
	if m.HostAddress != "" {
		if _, err := netip.ParseAddr(m.HostAddress); err != nil {
			errs = append(errs, fmt.Errorf("host_address: %q: want an IP address such as 192.0.2.10", m.HostAddress))
		} else if !m.Published {
			errs = append(errs, fmt.Errorf("host_address: %q: only with published: true", m.HostAddress))
		}
	}
	return errors.Join(errs...)
}

// scraperConfig is the library configuration of the section.
func (m MeteringConfig) scraperConfig() metering.Config {
	return metering.Config{Interval: m.Interval, Timeout: m.Timeout, MaxConcurrent: m.MaxConcurrent, InsecureSkipVerify: m.InsecureSkipVerify}
}

// meter is the agent's metering: the scraper and how it finds its
// targets.
type meter struct {
	scraper  *metering.Scraper
	discover func(context.Context) ([]metering.Target, error)
}

// newMeter builds the metering of engines; nothing is contacted yet.
func newMeter(cfg MeteringConfig, engines []engine, log *slog.Logger) (*meter, error) {
	s, err := metering.New(cfg.scraperConfig(), metering.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("metering: %w", err)
	}
	m := &meter{scraper: s}
	m.discover = func(ctx context.Context) ([]metering.Target, error) {
		var (
			all  []metering.Target
			errs []error
		)
		for _, e := range engines {
			o := metering.DiscoverOptions{Published: cfg.Published, HostAddress: cmp.Or(cfg.HostAddress, e.address), Engine: e.name}
			ts, err := metering.Discover(ctx, e.client, o)
			all = append(all, ts...)
			if err != nil {
				if e.name != "" {
					err = fmt.Errorf("engine %s: %w", e.name, err)
				}
				errs = append(errs, err)
			}
		}
		return all, errors.Join(errs...)
	}
	return m, nil
}

// run discovers and scrapes until ctx ends.
func (m *meter) run(ctx context.Context) {
	_ = m.scraper.Run(ctx, m.discover)
}

// meteringRoutes adds GET /metrics/apps and /metrics/apps/{name} to mux,
// guarded by guard.Read as /api/v1/* is: the Prometheus text format, or
// the metering API's JSON for Accept: application/json; 404 naming the application
// when it is not metered, or saying that metering is off when m is nil.
func meteringRoutes(mux *http.ServeMux, guard *httpguard.Guard, m *meter) {
	serve := func(w http.ResponseWriter, r *http.Request, app string) {
		if rf := guard.Read(r); rf != nil {
			httpguard.WriteRefusal(w, rf)
			return
		}
		if m == nil {
			httpguard.WriteRefusal(w, &httpguard.Refusal{Status: http.StatusNotFound,
				Msg: "metering is not enabled on this agent: set metering.enabled: true in its configuration (or MINATO_METERING_ENABLED=true)"})
			return
		}
		f := metering.Negotiate(r.Header.Get("Accept"))
		var buf bytes.Buffer
		if err := m.scraper.Write(&buf, app, f); err != nil {
			status := http.StatusInternalServerError
			if errors.Is(err, metering.ErrUnknownApp) {
				status = http.StatusNotFound
			}
			httpguard.WriteRefusal(w, &httpguard.Refusal{Status: status, Msg: strings.TrimPrefix(err.Error(), "metering: ")})
			return
		}
		w.Header().Set("Content-Type", f.ContentType())
		w.Header().Set("Cache-Control", "no-store")
		_, _ = w.Write(buf.Bytes())
	}
	mux.HandleFunc("GET /metrics/apps", func(w http.ResponseWriter, r *http.Request) { serve(w, r, "") })
	mux.HandleFunc("GET /metrics/apps/{name}", func(w http.ResponseWriter, r *http.Request) { serve(w, r, r.PathValue("name")) })
}

// applyMeteringEnv applies the MINATO_METERING_* variables to m.
func applyMeteringEnv(m *MeteringConfig, e *envVars) {
	e.boolean("MINATO_METERING_ENABLED", &m.Enabled)
	e.duration("MINATO_METERING_INTERVAL", metering.MinInterval, &m.Interval)
	timeoutSet := e.duration("MINATO_METERING_TIMEOUT", time.Millisecond, &m.Timeout)
	e.integer("MINATO_METERING_MAX_CONCURRENT", 1, 1000, &m.MaxConcurrent)
	e.boolean("MINATO_METERING_PUBLISHED", &m.Published)
	if v, ok := e.lookup("MINATO_METERING_HOST_ADDRESS"); ok {
		if _, err := netip.ParseAddr(v); err != nil {
			e.fail("MINATO_METERING_HOST_ADDRESS", v, "want an IP address such as 192.0.2.10")
		} else {
			m.HostAddress = v
		}
	}
	if iv := cmp.Or(m.Interval, metering.DefaultInterval); timeoutSet && m.Timeout > iv {
		e.fail("MINATO_METERING_TIMEOUT", e.getenv("MINATO_METERING_TIMEOUT"), fmt.Sprintf("want at most the metering interval (%s)", iv))
	}
}
