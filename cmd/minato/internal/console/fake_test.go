package console

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/minato-ops/minato/internal/httpguard"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/scheduler"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/jsonout"
)

// fakeAPI is an agent API with fixed data: containers, job networks
// (each a diamond a -> b, c -> d), HA and diagnostics, behind a Guard.
type fakeAPI struct {
	containers, networks int
	// name returns container i's name; labels its labels.
	name   func(i int) string
	labels func(i int) map[string]string
	guard  *httpguard.Guard
	now    time.Time
}

func newFakeAPI(containers, networks int) *fakeAPI {
	return &fakeAPI{containers: containers, networks: networks, guard: &httpguard.Guard{},
		name:   func(i int) string { return fmt.Sprintf("app-%03d", i) },
		labels: func(i int) map[string]string { return map[string]string{"tier": []string{"web", "db", "batch"}[i%3]} },
		now:    time.Date(2026, 5, 1, 9, 30, 0, 0, time.UTC)}
}

func (f *fakeAPI) write(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func (f *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if rf := f.guard.Read(r); rf != nil {
		httpguard.WriteRefusal(w, rf)
		return
	}
	p := r.URL.Path
	switch {
	case p == "/api/v1/inventory":
		snap := inventory.Snapshot{Taken: f.now, Engines: []inventory.Engine{{Name: "local", Endpoint: "unix:///var/run/docker.sock", Version: "28.5.2"}}}
		for i := range f.containers {
			st := "running"
			if i%17 == 5 {
				st = "exited"
			}
			snap.Items = append(snap.Items, inventory.Item{Target: inventory.Target{Kind: inventory.KindContainer, ID: fmt.Sprintf("%064d", i), Name: f.name(i),
				Engine: "unix:///var/run/docker.sock", Labels: f.labels(i)}, State: st, Attrs: map[string]string{"image": "registry.example/app:1.4", "health": []string{"", "healthy", "unhealthy"}[i%3]}})
		}
		f.write(w, snap)
	case p == "/api/v1/status":
		var evs []monitor.Evaluation
		for i := range f.containers {
			st := monitor.OK
			if i%23 == 7 {
				st = monitor.Critical
			}
			tg := inventory.Target{Kind: inventory.KindContainer, ID: fmt.Sprintf("%064d", i), Name: f.name(i), Engine: "unix:///var/run/docker.sock"}
			evs = append(evs, monitor.Evaluation{Check: "cpu", Target: tg, Status: st, Observed: st, Message: "cpu_percent=" + fmt.Sprint(i%90),
				Result: monitor.Result{Time: f.now, Samples: []monitor.Sample{{Name: "cpu_percent", Value: float64(i % 90), Unit: "%", Time: f.now}}}})
			evs = append(evs, monitor.Evaluation{Check: "memory", Target: tg, Status: monitor.OK, Observed: monitor.OK,
				Result: monitor.Result{Time: f.now, Samples: []monitor.Sample{{Name: "memory_working_set_bytes", Value: float64((i + 1) * 3 << 20), Unit: "B", Time: f.now}}}})
		}
		f.write(w, jsonout.NewReport(evs))
	case p == "/api/v1/jobnets":
		var out []scheduler.EntryStatus
		for i := range f.networks {
			out = append(out, scheduler.EntryStatus{Name: fmt.Sprintf("net-%02d", i), Queue: "default", Schedule: "0 2 * * *", Next: f.now.Add(time.Duration(i) * time.Hour)})
		}
		f.write(w, out)
	case p == "/api/v1/queues":
		f.write(w, []scheduler.QueueStatus{{Name: "default", Concurrency: 4, Running: 1}, {Name: "batch", Stopped: true}})
	case p == "/api/v1/runs":
		var out []scheduler.RunRecord
		for i := range f.networks {
			out = append(out, f.run(i))
		}
		f.write(w, out)
	case strings.HasPrefix(p, "/api/v1/runs/"):
		var i int
		if _, err := fmt.Sscanf(strings.TrimPrefix(p, "/api/v1/runs/"), "net-%02d@1", &i); err != nil || i >= f.networks {
			w.WriteHeader(http.StatusNotFound)
			f.write(w, map[string]string{"error": "run not found", "code": "not_found"})
			return
		}
		f.write(w, f.run(i))
	case p == "/api/v1/ha":
		f.write(w, map[string]any{
			"cluster": map[string]any{"cluster": "shop", "node": "node1", "running": true,
				"nodes":    []map[string]any{{"name": "node1", "self": true, "state": "up"}, {"name": "node2", "state": "up", "networks": []map[string]any{{"address": "10.0.0.2:7946", "last_heard": f.now}}}},
				"groups":   []map[string]any{{"name": "web", "holder": "node1", "epoch": 7, "state": "online", "local": "online"}},
				"counters": map[string]any{"failovers": 2, "takeovers": 1}},
			"groups": []map[string]any{{"group": "web", "state": "online", "members": []map[string]any{{"name": "web-ctr", "active": true}, {"name": "vip", "active": true}},
				"monitors": []map[string]any{{"name": "web-ctr", "status": "OK"}}}},
			"events": []map[string]any{{"time": f.now, "kind": "failover", "group": "web", "node": "node1", "epoch": 7, "message": "failed over from node2: web-ctr stopped"}},
		})
	case p == "/api/v1/diag":
		f.write(w, map[string]any{"interval": "1h0m0s", "worst": "warning", "engines": []map[string]any{{"engine": "local", "report": map[string]any{
			"results": []map[string]any{{"check": map[string]any{"name": "disk"}, "findings": []map[string]any{{"code": "D07", "severity": "warning",
				"subject": map[string]any{"kind": "engine", "name": "local"}, "title": "Docker root is 91% full", "remedy": "docker system prune --filter until=168h"}}}}}}}})
	case p == "/api/v1/images":
		f.write(w, map[string]any{"interval": "6h0m0s", "runs": 1, "summary": map[string]int{"current": 1, "outdated": 1}, "engines": []map[string]any{{"engine": "local", "endpoint": "unix:///var/run/docker.sock",
			"containers": []map[string]any{{"container": "app-000", "id": "x", "reference": "registry.example/app:1.4", "status": "outdated", "running_digest": "sha256:aaaa", "latest_digest": "sha256:bbbb"},
				{"container": "app-001", "id": "y", "reference": "registry.example/db:2", "status": "current"}}}}})
	default:
		w.WriteHeader(http.StatusNotFound)
		f.write(w, map[string]string{"error": "this agent does not serve " + p, "code": "not_found"})
	}
}

// run is network i's run: a succeeded, b failed (odd i) or running, c
// held, d pending.
func (f *fakeAPI) run(i int) scheduler.RunRecord {
	b := job.Running
	if i%2 == 1 {
		b = job.StateFailed
	}
	return scheduler.RunRecord{ID: fmt.Sprintf("net-%02d@1", i), Network: fmt.Sprintf("net-%02d", i), Trigger: "schedule", Created: f.now, Queue: "default",
		Report: job.NetworkReport{State: job.Running, Units: []job.UnitReport{
			{Name: "a", State: job.Succeeded, Attempts: 1, Started: f.now, Ended: f.now.Add(3 * time.Second), Output: "extract ok\n"},
			{Name: "b", State: b, Attempts: 2, Started: f.now.Add(3 * time.Second), ExitCode: 1},
			{Name: "c", State: job.Held}, {Name: "d", State: job.Pending}}}}
}

// fakeGraph is the diamond of every fake network.
func fakeGraph(context.Context, string, string) ([]GraphUnit, error) {
	return []GraphUnit{{Name: "a"}, {Name: "b", Needs: []string{"a"}}, {Name: "c", Needs: []string{"a"}}, {Name: "d", Needs: []string{"b", "c"}, When: "always"}}, nil
}
