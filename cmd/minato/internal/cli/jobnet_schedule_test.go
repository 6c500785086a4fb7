package cli

import (
	"context"
	"encoding/json"
	"fmt"
	jobdocker "github.com/minato-ops/minato/job/docker"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/clienttest"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/scheduler"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestJobnetScheduledOnRealEngine runs scheduled networks in the agent on
// the real engine: one due every 2 s on a calendar of every weekday, one
// whose 3 s unit overlaps its next due time (overlap skip), and one whose
// calendar has no business day today. Runs get the due time's ID, their
// containers start within a second of it, overlapping due times are
// recorded as skipped, the calendar keeps the third from running today,
// and nothing is left on the engine.
func TestJobnetScheduledOnRealEngine(t *testing.T) {
	h := dockertest.New(t)
	f := newJobnetFiles(t, h)
	local := clienttest.New(t, h)
	today := time.Now().UTC().Weekday()
	var others []string
	for d := time.Sunday; d <= time.Saturday; d++ {
		if d != today && d != (today+1)%7 { // tomorrow too: the test may cross midnight
			others = append(others, strings.ToLower(d.String()[:3]))
		}
	}
	f.file(t, "every", `name: NAME
schedule: {cron: "*/2 * * * * *", timezone: UTC, calendar: {weekdays: [sun, mon, tue, wed, thu, fri, sat]}}
units:
  - name: u
    run: {image: IMG, command: [print, tick], labels: LABELS}
`)
	f.file(t, "slow", `name: NAME
schedule: {cron: "*/2 * * * * *", overlap: skip}
units:
  - name: u
    run: {image: IMG, command: [sleep, 3s], labels: LABELS}
`)
	f.file(t, "failing", `name: NAME
schedule: {cron: "*/2 * * * * *"}
units:
  - name: u
    run: {image: IMG, command: [exit, "3"], labels: LABELS}
`)
	f.file(t, "offday", fmt.Sprintf(`name: NAME
schedule: {cron: "* * * * * *", timezone: UTC, calendar: {weekdays: [%s]}}
units:
  - name: u
    run: {image: IMG, command: [print, never], labels: LABELS}
`, strings.Join(others, ", ")))
	cfgPath := filepath.Join(f.dir, "agent.yaml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(strings.ReplaceAll(`
listen: 127.0.0.1:0
events: {enabled: false}
jobnets: [every.yaml, slow.yaml, offday.yaml, failing.yaml]
jobs: {store: DIR/jobs.db}
notify: [{jsonl: {path: DIR/notify.jsonl}}]
`, "DIR", f.dir)), 0o600))

	// The engine's start events of the networks' containers.
	var (
		mu     sync.Mutex
		starts = map[string]time.Time{} // run ID -> start event time
	)
	ectx, ecancel := context.WithCancel(context.Background())
	evDone := make(chan struct{})
	go func() {
		defer close(evDone)
		_ = local.Events(ectx, container.EventsOptions{Since: time.Now(), Filters: map[string][]string{
			"type": {"container"}, "event": {"start"}, "label": {dockertest.LabelKey + "=" + h.RunID()}}},
			func(e container.Event) error {
				mu.Lock()
				starts[e.Attributes[jobdocker.LabelRun]] = e.Time
				mu.Unlock()
				return nil
			})
	}()
	defer func() { ecancel(); <-evDone }()

	ta := startAgent(t, h, cfgPath, "")
	time.Sleep(9 * time.Second)
	ta.stop()
	notified, err := os.ReadFile(filepath.Join(f.dir, "notify.jsonl"))
	require.NoError(t, err)
	// The second agent, which reads the history, notifies nowhere.
	require.NoError(t, os.WriteFile(cfgPath, []byte(strings.ReplaceAll(`
listen: 127.0.0.1:0
events: {enabled: false}
jobnets: [every.yaml, slow.yaml, offday.yaml, failing.yaml]
jobs: {store: DIR/jobs.db}
`, "DIR", f.dir)), 0o600))

	history := func(network string) []scheduler.RunRecord {
		code, out, errs := ta.jn(t, "history", f.prefix+network, "--json", "--limit", "100")
		require.Equal(t, 0, code, errs)
		var recs []scheduler.RunRecord
		require.NoError(t, json.Unmarshal([]byte(out), &recs), out)
		return recs
	}
	// The agent is stopped: read the store through a second one.
	ta = startAgent(t, h, cfgPath, "")
	defer ta.stop()

	every := history("every")
	require.GreaterOrEqual(t, len(every), 3, "runs every 2 s for 9 s")
	mu.Lock()
	defer mu.Unlock()
	for _, r := range every {
		if !r.Finished() {
			continue // the last one may have been detached at the stop, and adopted since
		}
		assert.Equal(t, scheduler.TriggerSchedule, r.Trigger, r.ID)
		assert.Equal(t, job.Succeeded, r.Report.State, r.ID)
		assert.Equal(t, scheduler.ScheduledRunID(f.prefix+"every", r.Due), r.ID)
		assert.Zero(t, r.Due.UTC().Second()%2, "due on even seconds: %s", r.Due)
		started, ok := starts[r.ID]
		if assert.True(t, ok, "%s: its container started", r.ID) {
			assert.Less(t, started.Sub(r.Due), time.Second, "%s started %s after its due time", r.ID, started.Sub(r.Due))
			assert.False(t, started.Before(r.Due), "%s started before its due time", r.ID)
		}
		code, out, errs := ta.jn(t, "status", r.ID, "--json")
		require.Equal(t, 0, code, errs)
		var rep job.NetworkReport
		require.NoError(t, json.Unmarshal([]byte(out), &rep))
		u, _ := rep.Unit("u")
		assert.Equal(t, "tick\n", u.Output, r.ID)
	}

	var skipped, ran int
	for _, r := range history("slow") {
		switch {
		case r.Report.State == job.Skipped:
			skipped++
			assert.Contains(t, r.Message, "had not finished (overlap: skip)")
			assert.NotContains(t, starts, r.ID, "a skipped run starts no container")
		case r.Finished():
			ran++
		}
	}
	assert.Positive(t, skipped, "due times during the 3 s unit are skipped")
	assert.Positive(t, ran)

	assert.Empty(t, history("offday"), "no business day today")

	// The failing network failed several times and was notified once.
	failures := 0
	for _, r := range history("failing") {
		if r.Report.State == job.StateFailed {
			failures++
		}
	}
	assert.GreaterOrEqual(t, failures, 2)
	b := notified
	var notes []map[string]any
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var n map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &n), l)
		if n["check"] == "jobnet" {
			notes = append(notes, n)
		}
	}
	require.Len(t, notes, 1, "one notification for a network that keeps failing: %s", b)
	assert.Equal(t, f.prefix+"failing", notes[0]["target"].(map[string]any)["name"])
	assert.Regexp(t, `^run \S+ failed; u failed exit=3`, notes[0]["message"])
	code, out, _ := ta.jn(t, "list")
	require.Equal(t, 0, code)
	assert.Regexp(t, f.prefix+`offday\s.*`+time.Now().UTC().AddDate(0, 0, 2).Format("2006-01-02")+`T00:00:00Z`, out,
		"next due: the first second of the next business day")
	ta.stop()
	time.Sleep(4 * time.Second) // a detached 3 s unit ends
	res, err := local.List(context.Background(), container.ListOptions{All: true, Labels: map[string]string{dockertest.LabelKey: h.RunID(), jobdocker.LabelUnit: "u"}})
	require.NoError(t, err)
	for _, c := range res.Containers {
		assert.NotEqual(t, container.Running, c.State, "%s still running", c.Name)
	}
}
