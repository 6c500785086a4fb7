package diag

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Format is an output format of the writers.
type Format string

// Output formats.
const (
	// FormatText is for a terminal: grouped, wrapped, optionally coloured.
	FormatText Format = "text"
	// FormatJSON is indented JSON with stable field names, for programs.
	FormatJSON Format = "json"
	// FormatMarkdown is for pasting in a ticket: tables and details.
	FormatMarkdown Format = "markdown"
)

// ParseFormat parses "text", "json" or "markdown" ("md" too), in any
// case.
func ParseFormat(name string) (Format, error) {
	switch strings.ToLower(name) {
	case "text":
		return FormatText, nil
	case "json":
		return FormatJSON, nil
	case "markdown", "md":
		return FormatMarkdown, nil
	}
	return "", fmt.Errorf("diag: format %q: want text, json or markdown", name)
}

// TextOptions tune the text writers.
type TextOptions struct {
	// Verbose also lists every check with its outcome and duration, and
	// the findings at severity OK.
	Verbose bool
	// Color marks severities with ANSI colours for a terminal. Severity
	// is always written as a word too: never told by colour alone.
	Color bool
}

// textWidth is the column the text writers wrap prose at.
const textWidth = 100

// WriteReport writes r in format f; o applies to FormatText only.
func WriteReport(w io.Writer, r Report, f Format, o TextOptions) error {
	switch f {
	case FormatText:
		return WriteText(w, r, o)
	case FormatJSON:
		return WriteJSON(w, r)
	case FormatMarkdown:
		return WriteMarkdown(w, r)
	}
	return fmt.Errorf("diag: format %q: want text, json or markdown", f)
}

// WriteText writes r for a terminal. A healthy report (nothing at Warning
// or above, every check answered) says so in its first line and lists its
// Info findings one line each. Otherwise the findings are grouped by
// severity (CRITICAL, WARNING, INFO; OK too when verbose), each with its
// severity in words, subject, title and code, then its detail, evidence,
// the remedy after "fix:" and the reference after "see:"; then the checks
// that could not answer; and a summary line last.
// Control characters in the texts are escaped. It returns w's first write
// error.
func WriteText(w io.Writer, r Report, o TextOptions) error {
	p := &printer{w: w, color: o.Color}
	s := r.Summary()
	scope := cleanLine(r.Scope)
	if scope == "" {
		scope = "diagnostics"
	}
	fs := r.Findings()
	multi := multiEngine(fs)
	healthy := s.Worst <= Info
	switch {
	case s.Checks == 0:
		p.linef("%s: no checks were run", scope)
	case healthy:
		p.linef("%s: %s, no problem found", scope, plural(s.Checks, "check"))
	default:
		head := counts(s)
		if s.Errors > 0 {
			head += fmt.Sprintf(", %d could not answer", s.Errors)
		}
		p.linef("%s: %s: %s", scope, plural(s.Checks, "check"), head)
	}
	if o.Verbose {
		p.writeChecks(r)
	}
	if healthy {
		if o.Verbose && len(fs) > 0 {
			p.line("")
		}
		for _, f := range fs {
			if f.Severity == Info || (o.Verbose && f.Severity == OK) {
				p.linef("  %s %s", p.tag(f.Severity), findingLine(f, multi))
			}
		}
		return p.err
	}
	for _, sev := range []Severity{Critical, Warning, Info, OK} {
		var group []Finding
		for _, f := range fs {
			if clampSeverity(f.Severity) == sev {
				group = append(group, f)
			}
		}
		if len(group) == 0 || (sev == OK && !o.Verbose) {
			continue
		}
		p.line("")
		p.linef("%s (%d)", p.paint(sev, strings.ToUpper(sev.String())), len(group))
		for _, f := range group {
			p.writeFinding(f, multi, "  ")
		}
	}
	if errs := r.Errors(); len(errs) > 0 {
		p.line("")
		p.linef("%s (%d)", p.paint(Warning, "COULD NOT ANSWER"), len(errs))
		for _, e := range errs {
			p.linef("  %s: %s", checkName(e.Check), cleanLine(e.Err))
		}
	}
	p.line("")
	p.linef("result: %s, exit %d (%s; %s)", p.paint(s.Worst, s.Worst.String()), s.ExitCode, counts(s), answered(s))
	return p.err
}

// writeChecks lists every check with its outcome (verbose mode).
func (p *printer) writeChecks(r Report) {
	p.line("")
	p.linef("CHECKS (%d)", len(r.Results))
	for _, res := range r.Results {
		var outcome string
		switch {
		case res.Err != "":
			outcome = "could not answer"
		case len(res.Findings) == 0:
			outcome = "ok"
		default:
			w := OK
			for _, f := range res.Findings {
				w = max(w, clampSeverity(f.Severity))
			}
			outcome = plural(len(res.Findings), "finding") + ", worst " + w.String()
		}
		ref := ""
		if res.Check.Reference != "" {
			ref = " [" + cleanLine(res.Check.Reference) + "]"
		}
		p.linef("  %-28s %s: %s (%s)%s", cleanLine(res.Check.ID), cleanLine(res.Check.Title), outcome, roundDuration(res.Duration), ref)
	}
	if !r.Taken.IsZero() {
		p.linef("  taken %s, in %s", r.Taken.Format("2006-01-02 15:04:05 MST"), roundDuration(r.Duration))
	}
}

// writeFinding writes f in full, its first line indented by indent.
func (p *printer) writeFinding(f Finding, multi bool, indent string) {
	p.linef("%s%s %s", indent, p.tag(f.Severity), findingLine(f, multi))
	in := indent + "    "
	p.wrapped(in, "", f.Detail)
	if len(f.Evidence) > 0 {
		p.linef("%sevidence:", in)
		for _, e := range f.Evidence {
			p.wrapped(in+"  - ", in+"    ", e)
		}
	}
	if f.Remedy != "" {
		p.wrapped(in+"fix: ", in+"     ", f.Remedy)
	}
	if f.Reference != "" {
		p.wrapped(in+"see: ", in+"     ", f.Reference)
	}
}

// checkName is "id (title)", or what of it is known.
func checkName(c CheckInfo) string {
	id, title := cleanLine(c.ID), cleanLine(c.Title)
	switch {
	case id == "":
		return title
	case title == "":
		return id
	}
	return id + " (" + title + ")"
}

// findingLine is "subject: title (code)", with the subject's engine when
// the report spans several.
func findingLine(f Finding, multi bool) string {
	line := subjectText(f.Subject, multi) + ": " + cleanLine(f.Title)
	if code := cleanLine(f.Code); code != "" {
		line += " (" + code + ")"
	}
	return line
}

func subjectText(s Subject, multi bool) string {
	t := cleanLine(s.String())
	if multi && s.Engine != "" && s.Kind != SubjectEngine {
		t += " (engine " + cleanLine(s.Engine) + ")"
	}
	return t
}

// multiEngine reports whether the findings name more than one engine.
func multiEngine(fs []Finding) bool {
	seen := ""
	for _, f := range fs {
		if f.Subject.Engine == "" {
			continue
		}
		if seen != "" && f.Subject.Engine != seen {
			return true
		}
		seen = f.Subject.Engine
	}
	return false
}

// counts is "1 critical, 2 warnings, 3 info" (only the non-zero ones;
// "no finding" when all are).
func counts(s Summary) string {
	var parts []string
	if s.Critical > 0 {
		parts = append(parts, fmt.Sprintf("%d critical", s.Critical))
	}
	if s.Warning > 0 {
		parts = append(parts, plural(s.Warning, "warning"))
	}
	if s.Info > 0 {
		parts = append(parts, fmt.Sprintf("%d info", s.Info))
	}
	if len(parts) == 0 {
		return "no finding"
	}
	return strings.Join(parts, ", ")
}

// answered is "all 23 checks answered" or "2 of 23 checks could not
// answer".
func answered(s Summary) string {
	if s.Errors == 0 {
		if s.Checks == 1 {
			return "the check answered"
		}
		return fmt.Sprintf("all %d checks answered", s.Checks)
	}
	return fmt.Sprintf("%d of %s could not answer", s.Errors, plural(s.Checks, "check"))
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return fmt.Sprintf("%d %ss", n, word)
}

// roundDuration keeps two or three significant figures.
func roundDuration(d time.Duration) time.Duration {
	switch {
	case d >= 10*time.Second:
		return d.Round(100 * time.Millisecond)
	case d >= time.Second:
		return d.Round(10 * time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(time.Millisecond / 10)
	}
	return d.Round(time.Microsecond)
}

// printer writes lines, keeping the first error.
type printer struct {
	w     io.Writer
	color bool
	err   error
}

func (p *printer) line(s string) {
	if p.err == nil {
		_, p.err = io.WriteString(p.w, s+"\n")
	}
}

func (p *printer) linef(format string, args ...any) { p.line(fmt.Sprintf(format, args...)) }

// wrapped writes text wrapped at textWidth: the first line after first,
// the others after rest ("" for both: first).
func (p *printer) wrapped(first, rest, text string) {
	if text == "" {
		return
	}
	if rest == "" {
		rest = first
	}
	width := max(textWidth-utf8.RuneCountInString(first), 40)
	for i, l := range wrap(clean(text), width) {
		if i == 0 {
			p.line(strings.TrimRight(first+l, " "))
		} else {
			p.line(strings.TrimRight(rest+l, " "))
		}
	}
}

var ansi = map[Severity]string{Critical: "\x1b[1;31m", Warning: "\x1b[33m", Info: "\x1b[36m", OK: "\x1b[32m"}

// paint colours s as sev when colour is on.
func (p *printer) paint(sev Severity, s string) string {
	if !p.color {
		return s
	}
	return ansi[clampSeverity(sev)] + s + "\x1b[0m"
}

// tag is "[critical]" and the like, coloured when colour is on.
func (p *printer) tag(sev Severity) string {
	return p.paint(sev, "["+clampSeverity(sev).String()+"]")
}

// wrap splits text into lines of at most width runes at spaces, keeping
// its line breaks; a word longer than width has a line of its own.
func wrap(text string, width int) []string {
	var out []string
	for _, para := range strings.Split(text, "\n") {
		words := strings.Fields(para)
		if len(words) == 0 {
			out = append(out, "")
			continue
		}
		line := words[0]
		for _, w := range words[1:] {
			if utf8.RuneCountInString(line)+1+utf8.RuneCountInString(w) > width {
				out = append(out, line)
				line = w
				continue
			}
			line += " " + w
		}
		out = append(out, line)
	}
	return out
}

// clean makes s safe to print: invalid UTF-8 becomes U+FFFD and control
// characters other than newline and tab are escaped ("\x1b"), so that a
// text from an engine cannot drive the terminal.
func clean(s string) string {
	if !needsClean(s) {
		return s
	}
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !utf8.FullRuneInString(s[i:]):
			b.WriteRune(utf8.RuneError)
		case r == '\n' || r == '\t':
			b.WriteRune(r)
		case r == '\r':
			// dropped: a CRLF line end is a line end
		case unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069'):
			q := strconv.QuoteRuneToASCII(r)
			b.WriteString(q[1 : len(q)-1])
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func needsClean(s string) bool {
	if !utf8.ValidString(s) {
		return true
	}
	for _, r := range s {
		if r != '\n' && r != '\t' && (unicode.IsControl(r) || r == '\u2028' || r == '\u2029' || (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069')) {
			return true
		}
	}
	return false
}

// cleanLine is clean with line breaks and tabs turned into spaces and
// the ends trimmed.
func cleanLine(s string) string {
	return strings.TrimSpace(strings.Map(func(r rune) rune {
		if r == '\n' || r == '\t' {
			return ' '
		}
		return r
	}, clean(s)))
}

// reportJSON is the JSON document of a report: Report's own fields (so
// it decodes back into a Report) and its summary.
type reportJSON struct {
	Scope    string        `json:"scope,omitempty"`
	Taken    time.Time     `json:"taken"`
	Duration time.Duration `json:"duration_ns"`
	Summary  Summary       `json:"summary"`
	Results  []CheckResult `json:"results"`
}

// WriteJSON writes r as one indented JSON document with stable field
// names: scope, taken, duration_ns, summary (checks, critical, warning,
// info, ok, errors, worst, exit_code) and results (check {id, title,
// subject, reference}, findings, error, duration_ns), results in the
// order of the checks. It decodes back into a [Report]. A severity out
// of range is an error and nothing is written.
func WriteJSON(w io.Writer, r Report) error {
	doc := reportJSON{Scope: r.Scope, Taken: r.Taken, Duration: r.Duration, Summary: r.Summary(), Results: r.Results}
	if doc.Results == nil {
		doc.Results = []CheckResult{}
	}
	return writeJSON(w, doc)
}

func writeJSON(w io.Writer, v any) error {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return fmt.Errorf("diag: encoding JSON: %w", err)
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// WriteMarkdown writes r as Markdown for a ticket: a title and result
// line, a table per severity (Critical, Warning, Info) followed by each
// finding's details, and a table of the checks that could not answer.
// Texts are escaped so that they render as written.
func WriteMarkdown(w io.Writer, r Report) error {
	p := &printer{w: w}
	s := r.Summary()
	scope := r.Scope
	if scope == "" {
		scope = "checks"
	}
	p.linef("# Diagnostics: %s", mdEscape(cleanLine(scope)))
	p.line("")
	result := "no problem found"
	if s.Worst > Info {
		result = s.Worst.String()
	}
	p.linef("**Result: %s** (exit %d): %s; %s.", result, s.ExitCode, counts(s), answered(s))
	if !r.Taken.IsZero() {
		p.line("")
		p.linef("Taken %s, in %s.", r.Taken.Format("2006-01-02 15:04:05 MST"), roundDuration(r.Duration))
	}
	fs := r.Findings()
	multi := multiEngine(fs)
	for _, sev := range []Severity{Critical, Warning, Info} {
		var group []Finding
		for _, f := range fs {
			if clampSeverity(f.Severity) == sev {
				group = append(group, f)
			}
		}
		if len(group) == 0 {
			continue
		}
		title := strings.ToUpper(sev.String()[:1]) + sev.String()[1:]
		p.line("")
		p.linef("## %s (%d)", title, len(group))
		p.line("")
		p.line("| Severity | Code | Subject | Finding |")
		p.line("|---|---|---|---|")
		for _, f := range group {
			p.linef("| %s | %s | %s | %s |", sev, mdCode(cleanLine(f.Code)), mdCell(subjectText(f.Subject, multi)), mdCell(f.Title))
		}
		for _, f := range group {
			p.line("")
			p.linef("### %s %s: %s", mdCode(cleanLine(f.Code)), mdEscape(subjectText(f.Subject, multi)), mdEscape(cleanLine(f.Title)))
			p.writeMDFindingBody(f)
		}
	}
	if errs := r.Errors(); len(errs) > 0 {
		p.line("")
		p.linef("## Checks that could not answer (%d)", len(errs))
		p.line("")
		p.line("| Check | Question | Error |")
		p.line("|---|---|---|")
		for _, e := range errs {
			p.linef("| %s | %s | %s |", mdCode(cleanLine(e.Check.ID)), mdCell(e.Check.Title), mdCell(e.Err))
		}
	}
	return p.err
}

func (p *printer) writeMDFindingBody(f Finding) {
	if f.Detail != "" {
		p.line("")
		p.line(mdParagraph(f.Detail))
	}
	if len(f.Evidence) > 0 {
		p.line("")
		p.line("Evidence:")
		p.line("")
		for _, e := range f.Evidence {
			p.linef("- %s", mdCode(cleanLine(e)))
		}
	}
	if f.Remedy != "" {
		p.line("")
		p.linef("**Fix:** %s", mdParagraph(f.Remedy))
	}
	if f.Reference != "" {
		p.line("")
		p.linef("Reference: %s", mdEscape(cleanLine(f.Reference)))
	}
}

// mdEscape backslash-escapes the characters Markdown would interpret
// inline.
func mdEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_[]<>|~#!&", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// mdParagraph escapes a multi-line text and keeps its line breaks (a
// backslash at a line's end).
func mdParagraph(s string) string {
	lines := strings.Split(strings.TrimSpace(clean(s)), "\n")
	for i, l := range lines {
		lines[i] = mdEscape(strings.TrimSpace(l))
	}
	return strings.Join(lines, "\\\n")
}

// mdCell escapes s for a table cell: one line.
func mdCell(s string) string {
	return mdEscape(cleanLine(s))
}

// mdCode puts s in a code span whose fence is longer than any run of
// backticks in s.
func mdCode(s string) string {
	if s == "" {
		return ""
	}
	longest, run := 0, 0
	for _, r := range s {
		if r == '`' {
			run++
			longest = max(longest, run)
		} else {
			run = 0
		}
	}
	fence := strings.Repeat("`", longest+1)
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	// a pipe ends a table cell even inside a code span
	return fence + strings.ReplaceAll(s, "|", "\\|") + fence
}

// mdFence returns a code fence longer than any run of backticks at the
// start of a line of s.
func mdFence(s string) string {
	longest := 0
	for _, l := range strings.Split(s, "\n") {
		l = strings.TrimLeft(l, " ")
		n := len(l) - len(strings.TrimLeft(l, "`"))
		longest = max(longest, n)
	}
	return strings.Repeat("`", max(3, longest+1))
}

// WriteRunbook writes r in format f.
func WriteRunbook(w io.Writer, r RunbookResult, f Format) error {
	switch f {
	case FormatText:
		return WriteRunbookText(w, r)
	case FormatJSON:
		return WriteRunbookJSON(w, r)
	case FormatMarkdown:
		return WriteRunbookMarkdown(w, r)
	}
	return fmt.Errorf("diag: format %q: want text, json or markdown", f)
}

// runbookStatus is a step's one-word outcome.
func runbookStatus(s StepResult) string {
	switch {
	case s.NotApplicable:
		return "n/a"
	case s.Passed:
		return "passed"
	}
	return "FAILED"
}

// runbookOutcome is the result line's text.
func runbookOutcome(r RunbookResult) string {
	total := len(r.Steps) + len(r.NotRun)
	switch {
	case r.Interrupted != "" && r.FailedAt == 0:
		return fmt.Sprintf("interrupted after %d of %s: %s", len(r.Steps), plural(total, "step"), cleanLine(r.Interrupted))
	case r.FailedAt > 0:
		failed := 0
		for _, s := range r.Steps {
			if !s.Passed {
				failed++
			}
		}
		out := fmt.Sprintf("failed at step %d of %d", r.FailedAt, total)
		if failed > 1 {
			out += fmt.Sprintf(" (%d steps failed)", failed)
		}
		if r.Interrupted != "" {
			out += "; interrupted: " + cleanLine(r.Interrupted)
		}
		return out
	}
	return fmt.Sprintf("passed (%s)", plural(total, "step"))
}

// WriteRunbookText writes a runbook's run for a terminal: each step with
// its outcome (passed, n/a when it has no counterpart here, FAILED with
// its findings, error and advice, "not run" for those after the failure),
// then the result and the first failed step's advice last.
func WriteRunbookText(w io.Writer, r RunbookResult) error {
	p := &printer{w: w}
	head := "runbook " + cleanLine(r.Runbook) + ": " + cleanLine(r.Title)
	if r.Reference != "" {
		head += " (" + cleanLine(r.Reference) + ")"
	}
	p.line(head)
	p.line("")
	for _, s := range r.Steps {
		if s.NotApplicable {
			p.linef("  %d. %-7s %s (not applicable here)", s.Step, runbookStatus(s), cleanLine(s.Title))
			continue
		}
		p.linef("  %d. %-7s %s", s.Step, runbookStatus(s), cleanLine(s.Title))
		for _, f := range s.Findings {
			if s.Passed {
				p.linef("       %s %s", p.tag(f.Severity), findingLine(f, false))
				continue
			}
			p.writeFinding(f, false, "       ")
		}
		if s.Err != "" {
			p.wrapped("       could not answer: ", "                         ", s.Err)
		}
		if !s.Passed && s.Advice != "" && len(r.Steps) > 1 && s.Step != r.FailedAt {
			p.wrapped("       advice: ", "               ", s.Advice)
		}
	}
	next := len(r.Steps) + 1
	for _, t := range r.NotRun {
		p.linef("  %d. %-7s %s", next, "not run", cleanLine(t))
		next++
	}
	p.line("")
	p.linef("result: %s", runbookOutcome(r))
	if r.FailedAt > 0 && r.Advice != "" {
		p.linef("advice (step %d):", r.FailedAt)
		p.wrapped("  ", "", r.Advice)
	}
	return p.err
}

type runbookJSON struct {
	RunbookResult
	Passed   bool `json:"passed"`
	ExitCode int  `json:"exit_code"`
}

// WriteRunbookJSON writes r as one indented JSON document: the
// [RunbookResult]'s fields plus passed and exit_code.
func WriteRunbookJSON(w io.Writer, r RunbookResult) error {
	if r.Steps == nil {
		r.Steps = []StepResult{}
	}
	return writeJSON(w, runbookJSON{RunbookResult: r, Passed: r.Passed(), ExitCode: r.ExitCode()})
}

// WriteRunbookMarkdown writes r as Markdown: a table of the steps and
// their outcomes, the details of the failed steps with their advice, and
// the result.
func WriteRunbookMarkdown(w io.Writer, r RunbookResult) error {
	p := &printer{w: w}
	p.linef("# Runbook %s: %s", mdEscape(cleanLine(r.Runbook)), mdEscape(cleanLine(r.Title)))
	if r.Reference != "" {
		p.line("")
		p.linef("Reference: %s", mdEscape(cleanLine(r.Reference)))
	}
	p.line("")
	p.linef("**Result: %s** (exit %d).", mdEscape(runbookOutcome(r)), r.ExitCode())
	p.line("")
	p.line("| Step | Check | Outcome |")
	p.line("|---|---|---|")
	for _, s := range r.Steps {
		outcome := runbookStatus(s)
		if s.NotApplicable {
			outcome = "not applicable here"
		} else if !s.Passed {
			outcome = "**failed**"
		}
		p.linef("| %d | %s | %s |", s.Step, mdCell(s.Title), outcome)
	}
	next := len(r.Steps) + 1
	for _, t := range r.NotRun {
		p.linef("| %d | %s | not run |", next, mdCell(t))
		next++
	}
	for _, s := range r.Steps {
		if s.Passed {
			continue
		}
		p.line("")
		p.linef("## Step %d failed: %s", s.Step, mdEscape(cleanLine(s.Title)))
		for _, f := range s.Findings {
			p.line("")
			p.linef("### [%s] %s %s: %s", clampSeverity(f.Severity), mdCode(cleanLine(f.Code)), mdEscape(subjectText(f.Subject, false)), mdEscape(cleanLine(f.Title)))
			p.writeMDFindingBody(f)
		}
		if s.Err != "" {
			p.line("")
			p.linef("The check could not answer: %s", mdEscape(cleanLine(s.Err)))
		}
		if s.Advice != "" {
			p.line("")
			p.linef("**Advice:** %s", mdParagraph(s.Advice))
		}
	}
	if r.Interrupted != "" {
		p.line("")
		p.linef("The run was interrupted: %s.", mdEscape(cleanLine(r.Interrupted)))
	}
	return p.err
}

// explainedText says how much of text Explain read.
func explainedText(text string) (read int, truncated bool) {
	t := truncateText(text, MaxExplainBytes)
	return len(t), len(t) < len(text)
}

// WriteExplanations writes what a [Classifier] found in text (es, as
// Explain returned them) in format f. With no explanation it states that
// the text is unclassified: nothing is guessed. It also says when text
// was longer than [MaxExplainBytes] and only its start was read.
func WriteExplanations(w io.Writer, text string, es []Explanation, f Format) error {
	switch f {
	case FormatText:
		return writeExplanationsText(w, text, es)
	case FormatJSON:
		read, truncated := explainedText(text)
		doc := struct {
			Result       string        `json:"result"`
			BytesRead    int           `json:"bytes_read"`
			Truncated    bool          `json:"truncated"`
			Explanations []Explanation `json:"explanations"`
		}{Result: "classified", BytesRead: read, Truncated: truncated, Explanations: es}
		if len(es) == 0 {
			doc.Result, doc.Explanations = "unclassified", []Explanation{}
		}
		return writeJSON(w, doc)
	case FormatMarkdown:
		return writeExplanationsMarkdown(w, text, es)
	}
	return fmt.Errorf("diag: format %q: want text, json or markdown", f)
}

func writeExplanationsText(w io.Writer, text string, es []Explanation) error {
	p := &printer{w: w}
	read, truncated := explainedText(text)
	if truncated {
		p.linef("note: the text is %d bytes long; only its first %d bytes were read.", len(text), read)
	}
	if len(es) == 0 {
		p.linef("unclassified: no known error was recognised in this text (%d bytes read); nothing is guessed.", read)
		return p.err
	}
	p.linef("%s in %d bytes of text:", plural(len(es), "explanation"), read)
	for i, e := range es {
		p.line("")
		p.linef("%d. %s %s (%s)", i+1, p.tag(e.Severity), cleanLine(e.Title), cleanLine(e.Rule))
		const in = "   "
		p.linef("%smatched at line %d:", in, e.Line)
		for _, l := range strings.Split(clean(e.Evidence), "\n") {
			p.line(strings.TrimRight(in+"  "+l, " "))
		}
		if len(e.Fields) > 0 {
			var kv []string
			for _, k := range slices.Sorted(maps.Keys(e.Fields)) {
				kv = append(kv, cleanLine(k)+"="+cleanLine(e.Fields[k]))
			}
			p.wrapped(in+"fields: ", in+"        ", strings.Join(kv, ", "))
		}
		p.wrapped(in+"cause: ", in+"       ", e.Cause)
		p.wrapped(in+"fix: ", in+"     ", e.Remedy)
		if len(e.Steps) > 0 {
			p.linef("%ssteps:", in)
			for j, s := range e.Steps {
				num := fmt.Sprintf("%s  %d. ", in, j+1)
				p.wrapped(num, strings.Repeat(" ", len(num)), s)
			}
		}
		p.wrapped(in+"see: ", in+"     ", e.Reference)
	}
	return p.err
}

func writeExplanationsMarkdown(w io.Writer, text string, es []Explanation) error {
	p := &printer{w: w}
	read, truncated := explainedText(text)
	p.line("# Explanation of the pasted text")
	p.line("")
	if truncated {
		p.linef("The text is %d bytes long; only its first %d bytes were read.", len(text), read)
		p.line("")
	}
	if len(es) == 0 {
		p.linef("**Unclassified**: no known error was recognised in this text (%d bytes read); nothing is guessed.", read)
		return p.err
	}
	p.linef("%s in %d bytes of text.", plural(len(es), "explanation"), read)
	for i, e := range es {
		p.line("")
		p.linef("## %d. %s", i+1, mdEscape(cleanLine(e.Title)))
		p.line("")
		p.linef("Severity **%s**, rule %s, line %d.", clampSeverity(e.Severity), mdCode(cleanLine(e.Rule)), e.Line)
		p.line("")
		ev := clean(e.Evidence)
		fence := mdFence(ev)
		p.line(fence + "text")
		p.line(ev)
		p.line(fence)
		if len(e.Fields) > 0 {
			p.line("")
			p.line("| Field | Value |")
			p.line("|---|---|")
			for _, k := range slices.Sorted(maps.Keys(e.Fields)) {
				p.linef("| %s | %s |", mdCode(cleanLine(k)), mdCode(cleanLine(e.Fields[k])))
			}
		}
		if e.Cause != "" {
			p.line("")
			p.linef("**Cause:** %s", mdParagraph(e.Cause))
		}
		if e.Remedy != "" {
			p.line("")
			p.linef("**Fix:** %s", mdParagraph(e.Remedy))
		}
		if len(e.Steps) > 0 {
			p.line("")
			for j, s := range e.Steps {
				p.linef("%d. %s", j+1, mdEscape(cleanLine(s)))
			}
		}
		if e.Reference != "" {
			p.line("")
			p.linef("Reference: %s", mdEscape(cleanLine(e.Reference)))
		}
	}
	return p.err
}
