package diag_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/diag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden")

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		require.NoError(t, os.WriteFile(path, []byte(got), 0o644))
	}
	want, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, string(want), got)
}

var taken = time.Date(2025, 6, 2, 9, 30, 0, 0, time.UTC)

func ms(n int) time.Duration { return time.Duration(n) * time.Millisecond }

func healthyReport() diag.Report {
	return diag.Report{Scope: "engine local", Taken: taken, Duration: ms(412), Results: []diag.CheckResult{
		{Check: diag.CheckInfo{ID: "engine.reachable", Title: "Engine reachable", Subject: diag.SubjectEngine}, Duration: ms(3),
			Findings: []diag.Finding{{Code: "engine.version", Severity: diag.OK, Subject: diag.Subject{Kind: diag.SubjectEngine, Name: "local"},
				Title: "Docker Engine 28.5.2, API 1.51"}}},
		{Check: diag.CheckInfo{ID: "container.healthcheck", Title: "Containers have a health check", Subject: diag.SubjectContainer}, Duration: ms(12),
			Findings: []diag.Finding{{Code: "container.no_healthcheck", Severity: diag.Info, Subject: diag.Subject{Kind: diag.SubjectContainer, ID: "4cd2236e6c2c", Name: "web", Engine: "local"},
				Title: "No health check", Detail: "The engine cannot tell a hung process from a working one.", Remedy: "Add a HEALTHCHECK."}}},
		{Check: diag.CheckInfo{ID: "host.disk", Title: "Disk of the Docker data root", Subject: diag.SubjectHost, Reference: "Container Service FAQ D21"}, Duration: ms(1),
			Findings: []diag.Finding{{Code: "D21", Severity: diag.Info, Subject: diag.Subject{Kind: diag.SubjectHost, Name: "web1"},
				Title: "The Docker data root shares the root filesystem"}}},
		{Check: diag.CheckInfo{ID: "host.rp_filter", Title: "Reverse-path filter", Subject: diag.SubjectHost, Reference: "Container Service FAQ D10"}, Duration: ms(1)},
	}}
}

func problemReport() diag.Report {
	return diag.Report{Scope: "engine local", Taken: taken, Duration: 30*time.Second + ms(210), Results: []diag.CheckResult{
		{Check: diag.CheckInfo{ID: "engine.reachable", Title: "Engine reachable", Subject: diag.SubjectEngine}, Duration: ms(3)},
		{Check: diag.CheckInfo{ID: "host.disk", Title: "Disk of the Docker data root", Subject: diag.SubjectHost, Reference: "Container Service FAQ D21"}, Duration: ms(2),
			Findings: []diag.Finding{{
				Code: "D21", Severity: diag.Critical, Subject: diag.Subject{Kind: diag.SubjectHost, Name: "web1"},
				Title:     "The Docker data root is 96 % full",
				Detail:    "/var/lib/docker holds the images, containers, volumes and json-file logs; when it is full the engine can neither create containers nor write their logs, and running containers fail with \"no space left on device\".",
				Remedy:    "Remove what is unused (docker image prune -a, docker volume prune: volumes' data is lost), or move /var/lib/docker to a larger data disk: stop the engine, move the directory, mount the disk, move the data back, start the engine.",
				Evidence:  []string{"/var/lib/docker: 96 % of 20 GiB used (19.2 GiB)", "inodes: 12 % used"},
				Reference: "Container Service FAQ D21 (§2.14)",
			}}},
		{Check: diag.CheckInfo{ID: "container.hygiene", Title: "Container settings", Subject: diag.SubjectContainer}, Duration: ms(40),
			Findings: []diag.Finding{
				{Code: "container.no_restart_policy", Severity: diag.Warning, Subject: diag.Subject{Kind: diag.SubjectContainer, ID: "4cd2236e6c2c", Name: "web", Engine: "local"},
					Title: "No restart policy", Detail: "The engine will not start it again after it exits or the host reboots.",
					Remedy: "docker update --restart unless-stopped web", Evidence: []string{`HostConfig.RestartPolicy.Name: "no"`}},
				{Code: "container.no_init", Severity: diag.Info, Subject: diag.Subject{Kind: diag.SubjectContainer, ID: "b3bb4c74b776", Name: "jcag", Engine: "local"},
					Title: "No init process", Detail: "JobCenter's agent container must run with --init so that the jobs' child processes are reaped.",
					Remedy: "Recreate the container with --init.", Reference: "JobCenter container guide: mandatory --init"},
				{Code: "container.no_memory_limit", Severity: diag.Warning, Subject: diag.Subject{Kind: diag.SubjectContainer, ID: "4cd2236e6c2c", Name: "web", Engine: "local"},
					Title: "No memory limit | unbounded", Remedy: "docker update --memory 512m --memory-swap 512m web"},
				{Code: "engine.version", Severity: diag.OK, Subject: diag.Subject{Kind: diag.SubjectEngine, Name: "local"}, Title: "28.5.2"},
			}},
		{Check: diag.CheckInfo{ID: "engine.dns", Title: "DNS from a container", Subject: diag.SubjectNetwork, Reference: "Container Service FAQ D20"}, Duration: 30 * time.Second, Err: "timed out after 30s"},
		{Check: diag.CheckInfo{ID: "host.clock", Title: "Clock synchronised", Subject: diag.SubjectHost}, Duration: ms(1), Err: "open /run/systemd/timesync/synchronized: permission denied"},
	}}
}

func render(t *testing.T, write func(*bytes.Buffer) error) string {
	t.Helper()
	var b bytes.Buffer
	require.NoError(t, write(&b))
	return b.String()
}

var ansiRE = regexp.MustCompile("\x1b\\[[0-9;]*m")

func TestWriteTextGolden(t *testing.T) {
	for name, c := range map[string]struct {
		rep diag.Report
		o   diag.TextOptions
	}{
		"report_healthy":          {healthyReport(), diag.TextOptions{}},
		"report_healthy_verbose":  {healthyReport(), diag.TextOptions{Verbose: true}},
		"report_problems":         {problemReport(), diag.TextOptions{}},
		"report_problems_verbose": {problemReport(), diag.TextOptions{Verbose: true}},
		"report_problems_color":   {problemReport(), diag.TextOptions{Color: true}},
	} {
		t.Run(name, func(t *testing.T) {
			golden(t, name+".txt", render(t, func(b *bytes.Buffer) error { return diag.WriteText(b, c.rep, c.o) }))
		})
	}
}

func TestWriteTextHealthyFitsOneScreen(t *testing.T) {
	out := render(t, func(b *bytes.Buffer) error { return diag.WriteText(b, healthyReport(), diag.TextOptions{}) })
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	assert.Equal(t, "engine local: 4 checks, no problem found", lines[0])
	assert.Len(t, lines, 3, "the first line and one line per info finding")
	assert.NotContains(t, out, "Docker Engine 28.5.2", "OK findings only in verbose mode")

	out = render(t, func(b *bytes.Buffer) error {
		return diag.WriteText(b, diag.Report{Scope: "engine x"}, diag.TextOptions{})
	})
	assert.Equal(t, "engine x: no checks were run\n", out)
}

func TestWriteTextSeverityNotByColourAlone(t *testing.T) {
	plain := render(t, func(b *bytes.Buffer) error { return diag.WriteText(b, problemReport(), diag.TextOptions{}) })
	color := render(t, func(b *bytes.Buffer) error { return diag.WriteText(b, problemReport(), diag.TextOptions{Color: true}) })
	assert.NotEqual(t, plain, color)
	assert.Equal(t, plain, ansiRE.ReplaceAllString(color, ""), "colour adds nothing but colour")
	for _, word := range []string{"CRITICAL (1)", "WARNING (2)", "INFO (1)", "[critical] host web1: The Docker data root is 96 % full (D21)", "[warning] container web: No restart policy (container.no_restart_policy)", "result: critical, exit 2"} {
		assert.Contains(t, plain, word)
	}
	assert.NotContains(t, plain, "\x1b")
}

func TestWriteTextEscapesControlCharacters(t *testing.T) {
	rep := diag.Report{Results: []diag.CheckResult{{Check: diag.CheckInfo{ID: "x\x1b[2J"}, Err: "bad\x07 answer\r\n",
		Findings: []diag.Finding{{Code: "c", Severity: diag.Warning, Subject: diag.Subject{Kind: diag.SubjectContainer, Name: "evil\x1b]0;title\x07"},
			Title: "line\nbreak", Detail: "a\u202eb\xff", Evidence: []string{"\x1b[31mred"}}}}}}
	out := render(t, func(b *bytes.Buffer) error { return diag.WriteText(b, rep, diag.TextOptions{Color: false}) })
	assert.NotContains(t, out, "\x1b")
	assert.NotContains(t, out, "\x07")
	assert.NotContains(t, out, "\u202e")
	assert.NotContains(t, out, "\r")
	assert.Contains(t, out, `container evil\x1b]0;title\a: line break (c)`)
	assert.Contains(t, out, `a\u202eb`+"\uFFFD")
	assert.Contains(t, out, "  x\\x1b[2J: bad\\a answer\n")
}

func TestWriteJSONGoldenAndRoundTrip(t *testing.T) {
	out := render(t, func(b *bytes.Buffer) error { return diag.WriteJSON(b, problemReport()) })
	golden(t, "report.json", out)
	var back diag.Report
	require.NoError(t, json.Unmarshal([]byte(out), &back))
	assert.Equal(t, problemReport(), back)

	var doc map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &doc))
	assert.Equal(t, map[string]any{"checks": 5.0, "critical": 1.0, "warning": 2.0, "info": 1.0, "ok": 1.0, "errors": 2.0, "worst": "critical", "exit_code": 2.0}, doc["summary"])

	empty := render(t, func(b *bytes.Buffer) error { return diag.WriteJSON(b, diag.Report{Taken: taken}) })
	assert.Contains(t, empty, `"results": []`)

	bad := diag.Report{Results: []diag.CheckResult{{Findings: []diag.Finding{{Severity: 9}}}}}
	var b bytes.Buffer
	assert.ErrorContains(t, diag.WriteJSON(&b, bad), "severity 9 out of range")
	assert.Zero(t, b.Len(), "nothing is written on an encoding error")
}

func TestWriteMarkdownGolden(t *testing.T) {
	golden(t, "report_problems.md", render(t, func(b *bytes.Buffer) error { return diag.WriteMarkdown(b, problemReport()) }))
	golden(t, "report_healthy.md", render(t, func(b *bytes.Buffer) error { return diag.WriteMarkdown(b, healthyReport()) }))
	out := render(t, func(b *bytes.Buffer) error { return diag.WriteMarkdown(b, problemReport()) })
	assert.Contains(t, out, `No memory limit \| unbounded`, "a pipe cannot break a table")
}

func TestWriteReportFormats(t *testing.T) {
	for _, f := range []diag.Format{diag.FormatText, diag.FormatJSON, diag.FormatMarkdown} {
		var want bytes.Buffer
		switch f {
		case diag.FormatText:
			require.NoError(t, diag.WriteText(&want, problemReport(), diag.TextOptions{}))
		case diag.FormatJSON:
			require.NoError(t, diag.WriteJSON(&want, problemReport()))
		case diag.FormatMarkdown:
			require.NoError(t, diag.WriteMarkdown(&want, problemReport()))
		}
		assert.Equal(t, want.String(), render(t, func(b *bytes.Buffer) error { return diag.WriteReport(b, problemReport(), f, diag.TextOptions{}) }))
	}
	assert.EqualError(t, diag.WriteReport(&bytes.Buffer{}, problemReport(), "yaml", diag.TextOptions{}), `diag: format "yaml": want text, json or markdown`)
}

func TestParseFormat(t *testing.T) {
	for in, want := range map[string]diag.Format{"text": diag.FormatText, "JSON": diag.FormatJSON, "markdown": diag.FormatMarkdown, "md": diag.FormatMarkdown} {
		got, err := diag.ParseFormat(in)
		require.NoError(t, err)
		assert.Equal(t, want, got)
	}
	_, err := diag.ParseFormat("html")
	assert.EqualError(t, err, `diag: format "html": want text, json or markdown`)
}

type failWriter struct{ after int }

func (w *failWriter) Write(p []byte) (int, error) {
	if w.after <= 0 {
		return 0, errors.New("disk full")
	}
	w.after--
	return len(p), nil
}

func TestWritersReturnWriteErrors(t *testing.T) {
	rb := runbookFailed()
	for name, write := range map[string]func(*failWriter) error{
		"text":             func(w *failWriter) error { return diag.WriteText(w, problemReport(), diag.TextOptions{}) },
		"json":             func(w *failWriter) error { return diag.WriteJSON(w, problemReport()) },
		"markdown":         func(w *failWriter) error { return diag.WriteMarkdown(w, problemReport()) },
		"runbook text":     func(w *failWriter) error { return diag.WriteRunbookText(w, rb) },
		"runbook json":     func(w *failWriter) error { return diag.WriteRunbookJSON(w, rb) },
		"runbook markdown": func(w *failWriter) error { return diag.WriteRunbookMarkdown(w, rb) },
		"explain text":     func(w *failWriter) error { return diag.WriteExplanations(w, "x", explanations(), diag.FormatText) },
		"explain markdown": func(w *failWriter) error { return diag.WriteExplanations(w, "x", explanations(), diag.FormatMarkdown) },
		"explain json":     func(w *failWriter) error { return diag.WriteExplanations(w, "x", nil, diag.FormatJSON) },
	} {
		assert.EqualError(t, write(&failWriter{}), "disk full", name)
		if !strings.Contains(name, "json") { // one write per JSON document
			assert.EqualError(t, write(&failWriter{after: 3}), "disk full", "%s after 3 writes", name)
		}
	}
}

func runbookFailed() diag.RunbookResult {
	return diag.RunbookResult{
		Runbook: diag.RunbookConnectivity, Title: "Link (connectivity) check: client > DNS > load balancer > routing > web container",
		Reference: "Container Service FAQ §2.8",
		Steps: []diag.StepResult{
			{Step: 1, Title: "Is the container running?", Passed: true, Duration: ms(4)},
			{Step: 2, Title: "Check the service that provides the web container", Passed: true, Duration: ms(2),
				Findings: []diag.Finding{{Code: "service.replicas", Severity: diag.Info, Subject: diag.Subject{Kind: diag.SubjectContainer, Name: "web"}, Title: "3 of 3 containers running"}}},
			{Step: 3, Title: "Check the health-check status of the containers that provide the web service", Passed: false, Duration: ms(9),
				Findings: []diag.Finding{{Code: "container.unhealthy", Severity: diag.Critical, Subject: diag.Subject{Kind: diag.SubjectContainer, ID: "448546e4272b", Name: "w_web_2"},
					Title: "Health check failing", Detail: "The last 3 probes failed.", Evidence: []string{"exit 1: curl: (7) Failed to connect to localhost port 80"},
					Remedy: "Read the container's logs."}},
				Advice: diag.Connectivity(nil, nil, nil, nil, nil, nil, nil).Steps[2].Advice},
		},
		FailedAt: 3,
		Advice:   diag.Connectivity(nil, nil, nil, nil, nil, nil, nil).Steps[2].Advice,
		NotRun: []string{"Check that the web container's page responds (bypassing the routing)", "Verify the routing service",
			"Check that the load balancer VIP forwards correctly and its health check is normal", "Check that the domain resolves to the load balancer VIP"},
	}
}

func runbookAllRun() diag.RunbookResult {
	lc := diag.LogCollection(nil, nil, nil, nil, nil, nil)
	res := diag.RunbookResult{Runbook: lc.Name, Title: lc.Title, Reference: lc.Reference, FailedAt: 2, Advice: lc.Steps[1].Advice}
	for i, s := range lc.Steps {
		sr := diag.StepResult{Step: i + 1, Title: s.Title, Passed: true}
		switch i {
		case 0, 3, 4:
			sr.NotApplicable = true
		case 1:
			sr.Passed, sr.Advice = false, s.Advice
			sr.Findings = []diag.Finding{{Code: "logging.agent_version", Severity: diag.Warning, Subject: diag.Subject{Kind: diag.SubjectContainer, Name: "acslogging_logtail_1"},
				Title: "ilogtail 0.11.6 is too old", Evidence: []string{"image registry.aliyuncs.com/acs/ilogtail:0.11.6"}}}
		case 2:
			sr.Passed, sr.Advice, sr.Err = false, s.Advice, "exec in acslogging_logtail_1: container is not running"
		}
		res.Steps = append(res.Steps, sr)
	}
	return res
}

func TestWriteRunbookGolden(t *testing.T) {
	passed := diag.RunbookResult{Runbook: "connectivity", Title: "Link check", Steps: []diag.StepResult{
		{Step: 1, Title: "a", Passed: true}, {Step: 2, Title: "b", Passed: true, NotApplicable: true}}}
	interrupted := diag.RunbookResult{Runbook: "connectivity", Title: "Link check", Steps: []diag.StepResult{{Step: 1, Title: "a", Passed: true}},
		NotRun: []string{"b", "c"}, Interrupted: "context canceled"}
	for name, r := range map[string]diag.RunbookResult{"failed": runbookFailed(), "all_run": runbookAllRun(), "passed": passed, "interrupted": interrupted} {
		t.Run(name, func(t *testing.T) {
			golden(t, "runbook_"+name+".txt", render(t, func(b *bytes.Buffer) error { return diag.WriteRunbookText(b, r) }))
			golden(t, "runbook_"+name+".md", render(t, func(b *bytes.Buffer) error { return diag.WriteRunbookMarkdown(b, r) }))
			js := render(t, func(b *bytes.Buffer) error { return diag.WriteRunbookJSON(b, r) })
			golden(t, "runbook_"+name+".json", js)
			var back diag.RunbookResult
			require.NoError(t, json.Unmarshal([]byte(js), &back))
			assert.Equal(t, r, back)
			for _, f := range []diag.Format{diag.FormatText, diag.FormatJSON, diag.FormatMarkdown} {
				assert.NoError(t, diag.WriteRunbook(&bytes.Buffer{}, r, f))
			}
		})
	}
	assert.Error(t, diag.WriteRunbook(&bytes.Buffer{}, passed, "xml"))
}

func TestWriteRunbookTextResultLines(t *testing.T) {
	out := render(t, func(b *bytes.Buffer) error { return diag.WriteRunbookText(b, runbookFailed()) })
	assert.Contains(t, out, "\nresult: failed at step 3 of 7\nadvice (step 3):\n  Every container must show Normal")
	assert.Contains(t, out, "  7. not run Check that the domain resolves to the load balancer VIP\n")
}

const pasted = "Jun  2 09:12:01 web1 dockerd[812]: level=error msg=\"Handler for POST /containers/create returned error: write /var/lib/docker/tmp/x: no space left on device\"\n" +
	"Config cs ClusterNetwork failed : Aliyun API Error: RequestId : 264E5ADC-0571-44C0-8508-C037096856C7 Status Code: 403 Code: QuotaExceed.SecurityGroup Message: The security group quota exceeds.\n"

func explanations() []diag.Explanation {
	c, err := diag.NewClassifier([]diag.Rule{
		{ID: "docker.no_space", Pattern: `no space left on device`, Title: "the disk is full", Severity: diag.Critical,
			Cause: "The filesystem that holds the Docker data root has no free space (or no free inodes).", Remedy: "Free space in the Docker data root, or move it to a larger disk.",
			Reference: "Container Service FAQ §2.14"},
		{ID: "faq.cluster.quota_security_group", Pattern: `Config cs (?P<step>\w+) failed : Aliyun API Error: RequestId : (?P<request_id>[0-9A-F-]+) Status Code: (?P<status>\d+) Code: QuotaExceed\.SecurityGroup Message: [^\n]*`,
			Title: "security group quota exceeded", Severity: diag.Critical, Cause: "The account has as many security groups as its quota allows.",
			Remedy: "Delete unused security groups, or ask for a larger quota.", Steps: []string{"Delete the security groups nothing uses.", "Create the cluster again."},
			Reference: "Container Service FAQ §2.12"},
	})
	if err != nil {
		panic(err)
	}
	return c.Explain(pasted)
}

func TestWriteExplanationsGolden(t *testing.T) {
	es := explanations()
	require.Len(t, es, 2)
	for _, f := range []diag.Format{diag.FormatText, diag.FormatJSON, diag.FormatMarkdown} {
		ext := map[diag.Format]string{diag.FormatText: "txt", diag.FormatJSON: "json", diag.FormatMarkdown: "md"}[f]
		golden(t, "explain."+ext, render(t, func(b *bytes.Buffer) error { return diag.WriteExplanations(b, pasted, es, f) }))
		golden(t, "explain_unclassified."+ext, render(t, func(b *bytes.Buffer) error {
			return diag.WriteExplanations(b, "context deadline exceeded\n", nil, f)
		}))
	}
	assert.Error(t, diag.WriteExplanations(&bytes.Buffer{}, "", nil, "pdf"))
}

func TestWriteExplanationsSaysWhenTextWasCut(t *testing.T) {
	long := strings.Repeat("a", diag.MaxExplainBytes+10)
	out := render(t, func(b *bytes.Buffer) error { return diag.WriteExplanations(b, long, nil, diag.FormatText) })
	assert.Equal(t, "note: the text is 1048586 bytes long; only its first 1048576 bytes were read.\n"+
		"unclassified: no known error was recognised in this text (1048576 bytes read); nothing is guessed.\n", out)
	js := render(t, func(b *bytes.Buffer) error { return diag.WriteExplanations(b, long, nil, diag.FormatJSON) })
	assert.JSONEq(t, `{"result":"unclassified","bytes_read":1048576,"truncated":true,"explanations":[]}`, js)
}
