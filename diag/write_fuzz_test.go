package diag_test

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"unicode"

	"github.com/minato-ops/minato/diag"
)

// FuzzWriters feeds arbitrary texts (an engine's error, a container's
// name, a pasted log) to every writer: none may fail or panic, the text
// and Markdown outputs carry no control character but line breaks, and
// the JSON is valid.
func FuzzWriters(f *testing.F) {
	for _, s := range []string{"", "plain", "a\x1b[2Jb", "|*_`[x](y)<b>", "line\r\nbreak\u202e", "\xff\xfe", "```\n~~~", strings.Repeat("long ", 50)} {
		f.Add(s, s, 1)
	}
	f.Fuzz(func(t *testing.T, a, b string, sev int) {
		fd := diag.Finding{Code: a, Severity: diag.Severity(((sev % 4) + 4) % 4), Subject: diag.Subject{Kind: diag.SubjectContainer, Name: b, Engine: a},
			Title: a, Detail: b, Remedy: a + b, Evidence: []string{a, b}, Reference: b}
		rep := diag.Report{Scope: a, Results: []diag.CheckResult{
			{Check: diag.CheckInfo{ID: a, Title: b}, Findings: []diag.Finding{fd, fd}},
			{Check: diag.CheckInfo{ID: b, Title: a}, Err: b},
		}}
		rb := diag.RunbookResult{Runbook: a, Title: b, Reference: a, FailedAt: 1, Advice: b, NotRun: []string{a},
			Steps: []diag.StepResult{{Step: 1, Title: a, Findings: []diag.Finding{fd}, Err: b, Advice: b}}}
		es := []diag.Explanation{{Rule: a, Title: b, Cause: a, Remedy: b, Steps: []string{a, b}, Reference: a, Evidence: b, Fields: map[string]string{a: b}, Line: 1}}
		for _, color := range []bool{false, true} {
			var out bytes.Buffer
			if err := diag.WriteText(&out, rep, diag.TextOptions{Verbose: true, Color: color}); err != nil {
				t.Fatal(err)
			}
			text := out.String()
			if color {
				text = ansiRE.ReplaceAllString(text, "")
			}
			noControls(t, text)
		}
		for _, write := range []func(*bytes.Buffer) error{
			func(w *bytes.Buffer) error { return diag.WriteMarkdown(w, rep) },
			func(w *bytes.Buffer) error { return diag.WriteRunbookText(w, rb) },
			func(w *bytes.Buffer) error { return diag.WriteRunbookMarkdown(w, rb) },
			func(w *bytes.Buffer) error { return diag.WriteExplanations(w, a+b, es, diag.FormatText) },
			func(w *bytes.Buffer) error { return diag.WriteExplanations(w, a+b, es, diag.FormatMarkdown) },
		} {
			var out bytes.Buffer
			if err := write(&out); err != nil {
				t.Fatal(err)
			}
			noControls(t, out.String())
		}
		for _, write := range []func(*bytes.Buffer) error{
			func(w *bytes.Buffer) error { return diag.WriteJSON(w, rep) },
			func(w *bytes.Buffer) error { return diag.WriteRunbookJSON(w, rb) },
			func(w *bytes.Buffer) error { return diag.WriteExplanations(w, a+b, es, diag.FormatJSON) },
		} {
			var out bytes.Buffer
			if err := write(&out); err != nil {
				t.Fatal(err)
			}
			if !json.Valid(out.Bytes()) {
				t.Fatalf("invalid JSON: %q", out.String())
			}
		}
	})
}

func noControls(t *testing.T, s string) {
	t.Helper()
	for _, r := range s {
		if r != '\n' && (unicode.IsControl(r) && r != '\t' || r == '\u202e') {
			t.Fatalf("control character %U in output %q", r, s)
		}
	}
}
