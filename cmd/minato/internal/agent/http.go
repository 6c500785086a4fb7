package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minato-ops/minato/cmd/minato/internal/console"
	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/ha/cluster"
	"github.com/minato-ops/minato/internal/httpguard"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job/jobapi"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/jsonout"
	"github.com/minato-ops/minato/monitor/output/prom"
)

// handler routes the agent's HTTP API:
//
//	GET /healthz         open: "ok", or 503 and what is unhealthy (no paths, no engine errors)
//	GET /metrics         open: Prometheus text or OpenMetrics; JSON (Accept: application/json) is guarded
//	GET /metrics/apps    guarded: the metered applications' samples, Prometheus text or JSON (Accept: application/json)
//	GET /metrics/apps/{name} guarded: one application's; 404 naming it when it is not metered
//	GET /api/v1/status   guarded: the latest evaluation of every check and target, as JSON
//	GET /api/v1/inventory guarded: a snapshot of every engine (?kind=container|image|network|volume, ?name=PATTERN)
//	GET /api/v1/diag     guarded: the last diagnostics report of every engine (?format=json|text|markdown)
//	GET /api/v1/images   guarded: the last image update check of every engine's containers
//	GET /api/v1/apps     guarded: declared applications, desired vs actual per engine, drift, last transitions
//	POST /api/v1/apps    guarded, JSON or YAML: a declaration, applied, kept converged and kept across restarts
//	GET /api/v1/ha       guarded: the cluster and groups as this node sees them, and the latest HA events
//	POST /api/v1/ha/groups/{group}/{move|suspend|resume}  guarded, JSON: {"node": "..."} for move
//	/api/v1/...          guarded: the job API (job/jobapi), when the scheduler runs
//	GET / and /console/{view}   the operator console (docs/console.md): data only for a guarded caller
//	GET /api/v1/console/{view}  guarded: each console view as JSON (?format=html: the view's HTML)
//
// Guarded routes need the token (api.token_file), or, without one, a
// loopback connection with a loopback Host.
func (a *Agent) handler() http.Handler {
	guard := &httpguard.Guard{Token: a.cfg.token, Log: a.log}
	metrics := prom.HandlerFor(a.registry(), prom.WithLogger(a.log))
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.Header.Get("Accept"), "application/json") {
			metrics.ServeHTTP(w, r)
			return
		}
		if rf := guard.Read(r); rf != nil {
			httpguard.WriteRefusal(w, rf)
			return
		}
		a.writeStatus(w)
	})
	meteringRoutes(mux, guard, a.meter)
	mux.HandleFunc("GET /api/v1/status", func(w http.ResponseWriter, r *http.Request) {
		if rf := guard.Read(r); rf != nil {
			httpguard.WriteRefusal(w, rf)
			return
		}
		a.writeStatus(w)
	})
	mux.HandleFunc("GET /api/v1/inventory", func(w http.ResponseWriter, r *http.Request) {
		if rf := guard.Read(r); rf != nil {
			httpguard.WriteRefusal(w, rf)
			return
		}
		a.writeInventory(w, r)
	})
	mux.HandleFunc("GET /api/v1/diag", func(w http.ResponseWriter, r *http.Request) {
		if rf := guard.Read(r); rf != nil {
			httpguard.WriteRefusal(w, rf)
			return
		}
		a.writeDiag(w, r)
	})
	mux.HandleFunc("GET /api/v1/images", func(w http.ResponseWriter, r *http.Request) {
		if rf := guard.Read(r); rf != nil {
			httpguard.WriteRefusal(w, rf)
			return
		}
		a.writeImages(w)
	})
	mux.HandleFunc("GET /api/v1/apps", func(w http.ResponseWriter, r *http.Request) {
		if rf := guard.Read(r); rf != nil {
			httpguard.WriteRefusal(w, rf)
			return
		}
		a.writeApps(w, r)
	})
	mux.HandleFunc("POST /api/v1/apps", func(w http.ResponseWriter, r *http.Request) { a.postApps(w, r, guard) })
	mux.HandleFunc("GET /api/v1/ha", func(w http.ResponseWriter, r *http.Request) {
		if rf := guard.Read(r); rf != nil {
			httpguard.WriteRefusal(w, rf)
			return
		}
		if a.ha == nil {
			httpguard.WriteRefusal(w, &httpguard.Refusal{Status: http.StatusNotFound, Msg: "this agent is not an HA node: give it an ha: section"})
			return
		}
		writeJSON(w, http.StatusOK, a.haReport())
	})
	mux.HandleFunc("POST /api/v1/ha/groups/{group}/{action}", func(w http.ResponseWriter, r *http.Request) {
		if rf := guard.Write(r); rf != nil {
			httpguard.WriteRefusal(w, rf)
			return
		}
		if a.ha == nil {
			httpguard.WriteRefusal(w, &httpguard.Refusal{Status: http.StatusNotFound, Msg: "this agent is not an HA node: give it an ha: section"})
			return
		}
		var body struct {
			Node string `json:"node"`
		}
		dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&body); err != nil && !errors.Is(err, io.EOF) {
			httpguard.WriteRefusal(w, &httpguard.Refusal{Status: http.StatusBadRequest, Msg: "body: want {\"node\": \"NAME\"} (move) or {}: " + err.Error()})
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), 5*time.Minute)
		defer cancel()
		if err := a.haGroupAction(ctx, r.PathValue("group"), r.PathValue("action"), body.Node); err != nil {
			status := http.StatusConflict
			switch {
			case errors.Is(err, errBadRequest):
				status = http.StatusBadRequest
			case errors.Is(err, ha.ErrUnknownGroup):
				status = http.StatusNotFound
			}
			httpguard.WriteRefusal(w, &httpguard.Refusal{Status: status, Msg: err.Error()})
			return
		}
		writeJSON(w, http.StatusOK, a.haReport())
	})
	if a.jobs != nil {
		mux.Handle(jobapi.Prefix+"/", a.jobs.api)
	} else {
		mux.HandleFunc(jobapi.Prefix+"/", func(w http.ResponseWriter, r *http.Request) {
			if rf := guard.Read(r); rf != nil {
				httpguard.WriteRefusal(w, rf)
				return
			}
			httpguard.WriteRefusal(w, &httpguard.Refusal{Status: http.StatusNotFound,
				Msg: "this agent runs no job scheduler: list jobnets, or set jobs.enabled: true, in its configuration"})
		})
	}
	con, err := console.New(console.Config{}, mux, guard, console.WithRecorder(a.consoleRec), console.WithGraph(a.consoleGraph),
		console.WithChecks(a.consoleChecks), console.WithScopes(a.consoleScopes), console.WithLogger(a.log), console.WithChanges(a.consoleChg))
	if err != nil {
		a.log.Error("console: not served", "err", err) // only a broken build fails here
		return mux
	}
	con.Register(mux)
	return mux
}

// consoleGraph gives the console a job network's units and needs: a run's
// from the definition it was built from, a network's from its file.
func (a *Agent) consoleGraph(ctx context.Context, network, runID string) ([]console.GraphUnit, error) {
	if a.jobs == nil {
		return nil, errors.ErrUnsupported
	}
	if runID != "" {
		rec, err := a.jobs.sched.Get(ctx, runID)
		if err != nil {
			return nil, err
		}
		if len(rec.Definition) > 0 {
			_, units, err := a.consoleDefs.Graph(rec.Definition)
			return units, err
		}
	}
	for _, def := range a.cfg.jobnetData {
		if name, units, err := a.consoleDefs.Graph(def); err == nil && name == network {
			return units, nil
		}
	}
	return nil, errors.ErrUnsupported
}

// consoleChecks gives the console the configured checks.
func (a *Agent) consoleChecks() []console.CheckDef {
	out := make([]console.CheckDef, 0, len(a.cfg.Checks))
	for _, ch := range a.cfg.Checks {
		d := console.CheckDef{Name: ch.Name, Monitor: ch.Monitor, Interval: ch.Interval}
		for _, th := range ch.Thresholds {
			d.Thresholds = append(d.Thresholds, monitor.Threshold(th))
		}
		out = append(out, d)
	}
	return out
}

// consoleScopes gives the console each container's scopes, from the
// inventory repository when the agent keeps one.
func (a *Agent) consoleScopes(ctx context.Context) (map[string][]string, error) {
	if a.repo == nil {
		return nil, nil
	}
	scopes, err := a.repo.Scopes(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, s := range scopes {
		ids, err := a.repo.Members(ctx, s.FacilityID)
		if err != nil {
			return nil, err
		}
		for _, id := range ids {
			n, err := a.repo.Node(ctx, id)
			if err != nil {
				continue
			}
			out[n.FacilityName] = append(out[n.FacilityName], s.FacilityName)
		}
	}
	return out, nil
}

// statusReport is /api/v1/status: the evaluations, and what the agent
// checks when it has nothing to show yet.
type statusReport struct {
	jsonout.Report
	// Message says why there are no evaluations yet.
	Message string `json:"message,omitempty"`
}

func (a *Agent) writeStatus(w http.ResponseWriter) {
	evs := a.runner.Evaluations()
	rep := statusReport{Report: jsonout.NewReport(evs)}
	if len(evs) == 0 {
		rep.Status, rep.ExitCode = monitor.OK, 0
		rep.Message = fmt.Sprintf("nothing to check yet: %d checks, no target matched their selection so far (checks run every interval; containers are found as they start)", len(a.cfg.Checks))
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(rep)
}

// writeJSON writes v as indented JSON.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// writeInventory answers /api/v1/inventory with a fresh snapshot.
func (a *Agent) writeInventory(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	sel := inventory.Selector{Kind: inventory.Kind(q.Get("kind")), Names: q["name"]}
	switch sel.Kind {
	case "", inventory.KindContainer, inventory.KindImage, inventory.KindNetwork, inventory.KindVolume:
	default:
		httpguard.WriteRefusal(w, &httpguard.Refusal{Status: http.StatusBadRequest, Msg: fmt.Sprintf("kind %q: want container, image, network or volume", sel.Kind)})
		return
	}
	if len(sel.Names) > 0 && sel.Kind == "" {
		sel.Kind = inventory.KindContainer
	}
	if err := sel.Validate(); err != nil {
		httpguard.WriteRefusal(w, &httpguard.Refusal{Status: http.StatusBadRequest, Msg: strings.ReplaceAll(err.Error(), "inventory: ", "")})
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 30*time.Second)
	defer cancel()
	snap, err := a.inv.Snapshot(ctx, sel)
	if err != nil {
		httpguard.WriteRefusal(w, &httpguard.Refusal{Status: http.StatusServiceUnavailable, Msg: "inventory: " + err.Error()})
		return
	}
	w.Header().Set("Content-Type", "application/json")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	_ = enc.Encode(snap)
}

// healthz answers 200 "ok ..." when an engine answers (saying how many of
// several do not) and the job store takes writes, else 503 naming what is
// wrong, without error texts or engine names (unauthenticated clients
// read it).
func (a *Agent) healthz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	var problems []string
	down := a.enginesDown(ctx)
	switch {
	case down == len(a.engines) && down == 1:
		problems = append(problems, "the Docker engine does not answer")
	case down == len(a.engines):
		problems = append(problems, "no Docker engine answers")
	}
	if a.ha != nil && a.ha.cluster.Status().Counters.Isolations > 0 {
		for _, n := range a.ha.cluster.Status().Nodes {
			if n.Self && n.State == cluster.NodeIsolated {
				problems = append(problems, "this HA node is isolated: it hears no peer and reaches no witness, and has stopped its groups")
			}
		}
	}
	if a.jobs != nil && a.jobs.sched.Health() != nil {
		problems = append(problems, "the job store fails to write: runs are not admitted")
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if len(problems) > 0 {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "unhealthy: %s (see the agent's log)\n", strings.Join(problems, "; "))
		return
	}
	note := ""
	if down > 0 {
		note = fmt.Sprintf("; %d of %d Docker engines do not answer", down, len(a.engines))
	}
	fmt.Fprintf(w, "ok: up %s%s\n", time.Since(a.started).Round(time.Second), note)
}

// enginesDown pings every engine at once and counts those that fail.
func (a *Agent) enginesDown(ctx context.Context) int {
	var down atomic.Int32
	var wg sync.WaitGroup
	for _, e := range a.engines {
		wg.Go(func() {
			if _, err := e.client.Ping(ctx); err != nil {
				down.Add(1)
			}
		})
	}
	wg.Wait()
	return int(down.Load())
}
