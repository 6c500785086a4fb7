package diag_test

import (
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/minato-ops/minato/diag"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewClassifierJoinsProblemsWithRuleNames(t *testing.T) {
	_, err := diag.NewClassifier([]diag.Rule{
		{ID: "ok", Pattern: "fine", Title: "fine"},
		{ID: "bad.pattern", Pattern: "(unclosed", Title: "x"},
		{ID: "", Pattern: "x", Title: "no id"},
		{ID: "ok", Pattern: "again", Title: "dup"},
		{ID: "untitled", Pattern: "y"},
		{ID: "empty", Pattern: "a*", Title: "matches nothing at all"},
		{ID: "sev", Pattern: "z", Title: "z", Severity: 5},
	})
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{
		"rules[1] (bad.pattern): pattern: error parsing regexp: missing closing ): `(unclosed`",
		"rules[2]: no ID",
		"rules[3] (ok): ID used twice",
		"rules[4] (untitled): no title",
		`rules[5] (empty): pattern "a*" matches empty text: it would explain anything`,
		"rules[6] (sev): severity 5 out of range: want ok, info, warning or critical",
	} {
		assert.Contains(t, msg, want)
	}
	assert.NotContains(t, msg, "rules[0]")
	assert.Len(t, strings.Split(msg, "\n"), 6, "one line per problem")
}

func TestClassifierEmptyPatternRefused(t *testing.T) {
	for _, p := range []string{"", "x?", "(?m)^", "(?:)", ".*"} {
		_, err := diag.NewClassifier([]diag.Rule{{ID: "r", Pattern: p, Title: "t"}})
		assert.ErrorContains(t, err, "matches empty text", p)
	}
}

func mustClassifier(t testing.TB, rules ...diag.Rule) *diag.Classifier {
	t.Helper()
	c, err := diag.NewClassifier(rules)
	require.NoError(t, err)
	return c
}

func TestExplainNamedGroups(t *testing.T) {
	c := mustClassifier(t, diag.Rule{
		ID:       "faq.cluster",
		Pattern:  `Config cs (?P<step>\w+) failed : Aliyun API Error: RequestId : (?P<request_id>[0-9A-F-]+) Status Code: (?P<status>\d+) Code: (?P<code>[\w.]+)(?: Message: (?P<message>[^\n]*))?`,
		Title:    "cluster creation failed",
		Severity: diag.Critical,
		Steps:    []string{"a", "b"},
	})
	text := "Config cs ClusterNetwork failed : Aliyun API Error: RequestId : 264E5ADC-0571-44C0-8508-C037096856C7 Status Code: 403 Code: QuotaExceed.SecurityGroup"
	es := c.Explain(text)
	require.Len(t, es, 1)
	e := es[0]
	assert.Equal(t, map[string]string{"step": "ClusterNetwork", "request_id": "264E5ADC-0571-44C0-8508-C037096856C7",
		"status": "403", "code": "QuotaExceed.SecurityGroup"}, e.Fields, "a group that did not take part is absent")
	assert.Equal(t, text, e.Evidence)
	assert.Equal(t, diag.Critical, e.Severity)
	assert.Equal(t, "faq.cluster", e.Rule)
	assert.Equal(t, []string{"a", "b"}, e.Steps)
	e.Steps[0] = "changed"
	assert.Equal(t, "a", c.Explain(text)[0].Steps[0], "an explanation's steps are its own")

	e2 := c.Explain(text + " Message: The security group quota exceeds.")[0]
	assert.Equal(t, "The security group quota exceeds.", e2.Fields["message"])
}

func TestExplainRefineVetoPicksNextMatch(t *testing.T) {
	c := mustClassifier(t, diag.Rule{
		ID: "kernel", Pattern: `kernel (?P<major>\d+)\.(?P<minor>\d+)`, Title: "kernel too old", Severity: diag.Warning,
		Refine: func(e *diag.Explanation) bool {
			major, _ := strconv.Atoi(e.Fields["major"])
			if major >= 4 {
				return false
			}
			e.Remedy = "upgrade kernel " + e.Fields["major"] + "." + e.Fields["minor"]
			e.Evidence, e.Offset, e.Rule = "tampered", -5, "other" // restored
			return true
		},
	})
	text := "host a: kernel 5.15\nhost b: kernel 4.4\nhost c: kernel 3.13\nhost d: kernel 3.10\n"
	es := c.Explain(text)
	require.Len(t, es, 1, "each rule explains once")
	e := es[0]
	assert.Equal(t, "kernel 3.13", e.Evidence)
	assert.Equal(t, "upgrade kernel 3.13", e.Remedy)
	assert.Equal(t, "kernel", e.Rule)
	assert.Equal(t, strings.Index(text, "kernel 3.13"), e.Offset)
	assert.Equal(t, 3, e.Line)

	assert.Empty(t, c.Explain("kernel 6.1 and kernel 4.19"), "every match vetoed: unclassified")
}

func TestExplainRefinePanicIsVeto(t *testing.T) {
	c := mustClassifier(t,
		diag.Rule{ID: "boom", Pattern: "busy", Title: "t", Refine: func(e *diag.Explanation) bool { panic("bug") }},
		diag.Rule{ID: "fine", Pattern: "busy", Title: "t"},
	)
	es := c.Explain("device or resource busy")
	require.Len(t, es, 1)
	assert.Equal(t, "fine", es[0].Rule)
}

func TestExplainOrderByOffsetTiesInRuleOrder(t *testing.T) {
	c := mustClassifier(t,
		diag.Rule{ID: "space", Pattern: `no space left on device`, Title: "disk full"},
		diag.Rule{ID: "port", Pattern: `port is already allocated`, Title: "port in use"},
		diag.Rule{ID: "port2", Pattern: `port is already allocated`, Title: "port in use (2)"},
		diag.Rule{ID: "never", Pattern: `manifest unknown`, Title: "no such tag"},
	)
	text := "line 1: Bind for 0.0.0.0:80 failed: port is already allocated\nline 2: write /var/lib/docker/x: no space left on device\nline 3: port is already allocated again\n"
	es := c.Explain(text)
	var got []string
	for _, e := range es {
		got = append(got, e.Rule+"@"+strconv.Itoa(e.Line))
	}
	assert.Equal(t, []string{"port@1", "port2@1", "space@2"}, got)
	assert.Empty(t, c.Explain("context deadline exceeded"), "unknown text is unclassified")
	assert.Empty(t, c.Explain(""))
	assert.Empty(t, (&diag.Classifier{}).Explain("anything"), "the zero Classifier explains nothing")
}

func TestExplainTrimsEvidenceAndPointsAtIt(t *testing.T) {
	c := mustClassifier(t,
		diag.Rule{ID: "padded", Pattern: `\s+error: (?P<what>\w+)\s+`, Title: "t"},
		diag.Rule{ID: "blank", Pattern: `\n\n+`, Title: "only white space"},
		diag.Rule{ID: "boundary", Pattern: `\bzzz|\b`, Title: "can match empty inside a text"},
	)
	text := "first line\n\n   error: disk   \nlast"
	es := c.Explain(text)
	require.Len(t, es, 1, "blank and empty matches explain nothing")
	e := es[0]
	assert.Equal(t, "error: disk", e.Evidence)
	assert.Equal(t, e.Evidence, text[e.Offset:e.Offset+len(e.Evidence)])
	assert.Equal(t, 3, e.Line)
	assert.Equal(t, "disk", e.Fields["what"])
}

func TestExplainReadsAtMostMaxExplainBytes(t *testing.T) {
	c := mustClassifier(t, diag.Rule{ID: "oom", Pattern: `OOMKilled`, Title: "t"})
	pad := strings.Repeat("x", diag.MaxExplainBytes-len("OOMKilled"))
	assert.Len(t, c.Explain(pad+"OOMKilled"), 1, "a match ending at the limit is read")
	assert.Empty(t, c.Explain(pad+"xOOMKilled"), "a match past the limit is not")

	// A cut in the middle of a rune backs off to the rune's start.
	r := mustClassifier(t, diag.Rule{ID: "tail", Pattern: `x+[^x]*$`, Title: "t"})
	text := strings.Repeat("x", diag.MaxExplainBytes-1) + "é"
	es := r.Explain(text)
	require.Len(t, es, 1)
	assert.Equal(t, diag.MaxExplainBytes-1, len(es[0].Evidence))
}

func TestExplainManyVetoedMatchesStayBounded(t *testing.T) {
	calls := 0
	c := mustClassifier(t, diag.Rule{ID: "digits", Pattern: `\d`, Title: "t", Refine: func(*diag.Explanation) bool { calls++; return false }})
	assert.Empty(t, c.Explain(strings.Repeat("1", 100000)))
	assert.LessOrEqual(t, calls, 100, "Refine is offered a bounded number of matches")
}

func TestClassifierRulesIsACopy(t *testing.T) {
	c := mustClassifier(t, diag.Rule{ID: "a", Pattern: "a", Title: "A"}, diag.Rule{ID: "b", Pattern: "b", Title: "B"})
	rs := c.Rules()
	require.Len(t, rs, 2)
	assert.Equal(t, "a", rs[0].ID)
	rs[0].Title = "changed"
	assert.Equal(t, "A", c.Rules()[0].Title)
}

func fuzzRules() []diag.Rule {
	return []diag.Rule{
		{ID: "port", Pattern: `Bind for (?P<addr>[^ ]+) failed: port is already allocated`, Title: "port in use", Severity: diag.Critical},
		{ID: "space", Pattern: `(?i)no space left on device`, Title: "disk full", Severity: diag.Critical},
		{ID: "busy", Pattern: `failed to remove root filesystem for (?P<id>[0-9a-f]+): device or resource busy`, Title: "busy", Severity: diag.Warning,
			Refine: func(e *diag.Explanation) bool { return len(e.Fields["id"])%2 == 0 }},
		{ID: "padded", Pattern: `\s*Error:\s+(?P<msg>[^\n]*)\s*`, Title: "error line"},
		{ID: "site", Pattern: `Site names do not match\.`, Title: "site"},
		{ID: "word", Pattern: `\bzz\b|\b`, Title: "may match empty"},
		{ID: "multi", Pattern: `(?s)BEGIN.*?END`, Title: "spans lines"},
	}
}

func FuzzExplain(f *testing.F) {
	for _, s := range []string{
		"",
		"Bind for 0.0.0.0:8080 failed: port is already allocated",
		"write /var/lib/docker/tmp: No Space Left On Device\nError: boom  \n",
		"failed to remove root filesystem for 3c1440fd114c: device or resource busy",
		"failed to remove root filesystem for 3c1: device or resource busy failed to remove root filesystem for 3c14: device or resource busy",
		"Site names do not match.\r\nSite names do not match.",
		"BEGIN\nmiddle\nEND zz \xff\xfe Error:\t\t\n",
		"\n\n\n   \t Error:  x\n",
	} {
		f.Add(s)
	}
	c := mustClassifier(f, fuzzRules()...)
	f.Fuzz(func(t *testing.T, text string) {
		es := c.Explain(text)
		read := text
		if len(read) > diag.MaxExplainBytes {
			read = read[:diag.MaxExplainBytes]
		}
		seen := map[string]bool{}
		prev := -1
		for _, e := range es {
			if seen[e.Rule] {
				t.Fatalf("rule %s explained twice", e.Rule)
			}
			seen[e.Rule] = true
			if e.Offset < prev {
				t.Fatalf("offsets out of order: %d after %d", e.Offset, prev)
			}
			prev = e.Offset
			if e.Evidence == "" || e.Offset < 0 || e.Offset+len(e.Evidence) > len(read) || read[e.Offset:e.Offset+len(e.Evidence)] != e.Evidence {
				t.Fatalf("evidence %q at %d is not the text's", e.Evidence, e.Offset)
			}
			if strings.TrimFunc(e.Evidence, unicode.IsSpace) != e.Evidence {
				t.Fatalf("evidence %q is not trimmed", e.Evidence)
			}
			if want := 1 + strings.Count(read[:e.Offset], "\n"); e.Line != want {
				t.Fatalf("line %d, want %d", e.Line, want)
			}
			for k, v := range e.Fields {
				if !strings.Contains(read, v) {
					t.Fatalf("field %s=%q not in the text", k, v)
				}
			}
		}
	})
}
