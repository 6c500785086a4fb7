package diag

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Rule recognises one known error text and explains it.
type Rule struct {
	// ID is stable ("faq.cluster.quota_security_group", "docker.port_allocated").
	ID string `json:"id"`
	// Pattern is an RE2 regular expression matched against the text;
	// named groups ((?P<code>...)) become the Explanation's Fields.
	Pattern string `json:"pattern"`
	// Title names the cause in a few words ("security group quota
	// exceeded").
	Title string `json:"title"`
	// Cause says why it happens; Remedy what to do; Steps, when the fix
	// has an order, its steps in that order.
	Cause  string   `json:"cause,omitempty"`
	Remedy string   `json:"remedy,omitempty"`
	Steps  []string `json:"steps,omitempty"`
	// Reference names the document and entry the text comes from.
	Reference string   `json:"reference,omitempty"`
	Severity  Severity `json:"severity"`
	// Refine, when set, is called with a match: it may fill in the
	// explanation from its fields (a request ID into the remedy) or veto
	// the match (false: the text is not this case, as a kernel that is
	// recent enough for the "device or resource busy" rule). It may change
	// Title, Cause, Remedy, Steps, Reference, Severity and Fields; Rule,
	// Evidence, Offset and Line are restored after it. A Refine that
	// panics vetoes the match.
	Refine func(e *Explanation) bool `json:"-"`
}

// Explanation is a [Rule]'s reading of a text.
type Explanation struct {
	Rule      string   `json:"rule"`
	Title     string   `json:"title"`
	Cause     string   `json:"cause,omitempty"`
	Remedy    string   `json:"remedy,omitempty"`
	Steps     []string `json:"steps,omitempty"`
	Reference string   `json:"reference,omitempty"`
	Severity  Severity `json:"severity"`
	// Evidence is the text the rule matched, without surrounding white
	// space: text[Offset:Offset+len(Evidence)] == Evidence.
	Evidence string `json:"evidence"`
	// Fields are the pattern's named groups that matched.
	Fields map[string]string `json:"fields,omitempty"`
	// Offset is where Evidence starts in the text (in bytes).
	Offset int `json:"offset"`
	// Line is the 1-based line of the text where Evidence starts.
	Line int `json:"line"`
}

// Classifier explains error texts by a table of [Rule]s. It is safe for
// concurrent use; the zero value has no rules.
type Classifier struct {
	rules []Rule
	res   []*regexp.Regexp
	// need is, per rule without a literal prefix, a literal every match
	// contains: a text without it is skipped without running the
	// expression (Go's regexp is fast only from a literal prefix).
	need []string
}

// MaxExplainBytes bounds the text one Explain call reads (a pasted log):
// longer text is read up to this size.
const MaxExplainBytes = 1 << 20

// maxMatchesPerRule bounds the matches of one rule that Explain offers to
// the rule's Refine before giving up on that rule.
const maxMatchesPerRule = 64

// NewClassifier compiles rules: each needs a unique ID, a Title, a
// severity in range and a Pattern that compiles and does not match the
// empty string. Problems are joined, each naming its rule.
func NewClassifier(rules []Rule) (*Classifier, error) {
	c := &Classifier{}
	var errs []error
	seen := map[string]bool{}
	for i, r := range rules {
		name := fmt.Sprintf("rules[%d] (%s)", i, r.ID)
		switch {
		case r.ID == "":
			errs = append(errs, fmt.Errorf("rules[%d]: no ID", i))
		case seen[r.ID]:
			errs = append(errs, fmt.Errorf("%s: ID used twice", name))
		}
		seen[r.ID] = true
		if r.Title == "" {
			errs = append(errs, fmt.Errorf("%s: no title", name))
		}
		if r.Severity < OK || r.Severity > Critical {
			errs = append(errs, fmt.Errorf("%s: severity %d out of range: want ok, info, warning or critical", name, int(r.Severity)))
		}
		re, err := regexp.Compile(r.Pattern)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: pattern: %w", name, err))
			continue
		}
		if re.MatchString("") {
			errs = append(errs, fmt.Errorf("%s: pattern %q matches empty text: it would explain anything", name, r.Pattern))
			continue
		}
		c.rules = append(c.rules, r)
		c.res = append(c.res, re)
		c.need = append(c.need, requiredLiteral(re, r.Pattern))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return c, nil
}

// Rules returns the rules, in their order.
func (c *Classifier) Rules() []Rule { return slices.Clone(c.rules) }

// Explain returns what the rules recognise in text: each matching rule
// once (its first match that its Refine accepts), in the order the
// matches appear in text (ties in rule order). A match that is empty or
// only white space is ignored. Only the first [MaxExplainBytes] of text
// are read. None means the text is unclassified: nothing is guessed.
func (c *Classifier) Explain(text string) []Explanation {
	text = truncateText(text, MaxExplainBytes)
	var out []Explanation
	for i, r := range c.rules {
		if n := c.need[i]; n != "" && !strings.Contains(text, n) {
			continue
		}
		re := c.res[i]
		first := re.FindStringSubmatchIndex(text)
		if first == nil {
			continue
		}
		if e, ok := c.explain(r, re, text, first); ok {
			out = append(out, e)
			continue
		}
		for _, m := range re.FindAllStringSubmatchIndex(text, maxMatchesPerRule)[1:] {
			if e, ok := c.explain(r, re, text, m); ok {
				out = append(out, e)
				break
			}
		}
	}
	slices.SortStableFunc(out, func(a, b Explanation) int { return a.Offset - b.Offset })
	return out
}

// explain builds rule r's explanation of match m, or reports false when
// the match is blank or Refine vetoes it.
func (c *Classifier) explain(r Rule, re *regexp.Regexp, text string, m []int) (Explanation, bool) {
	raw := text[m[0]:m[1]]
	ev := strings.TrimLeftFunc(raw, unicode.IsSpace)
	off := m[0] + len(raw) - len(ev)
	ev = strings.TrimRightFunc(ev, unicode.IsSpace)
	if ev == "" {
		return Explanation{}, false
	}
	e := Explanation{Rule: r.ID, Title: r.Title, Cause: r.Cause, Remedy: r.Remedy, Steps: slices.Clone(r.Steps),
		Reference: r.Reference, Severity: r.Severity, Evidence: ev, Offset: off, Line: 1 + strings.Count(text[:off], "\n")}
	for g, name := range re.SubexpNames() {
		if name == "" || m[2*g] < 0 {
			continue
		}
		if e.Fields == nil {
			e.Fields = map[string]string{}
		}
		e.Fields[name] = text[m[2*g]:m[2*g+1]]
	}
	if r.Refine == nil {
		return e, true
	}
	rule, evidence, offset, line := e.Rule, e.Evidence, e.Offset, e.Line
	if !refine(r.Refine, &e) {
		return Explanation{}, false
	}
	e.Rule, e.Evidence, e.Offset, e.Line = rule, evidence, offset, line
	return e, true
}

// refine calls f, taking a panic for a veto.
func refine(f func(*Explanation) bool, e *Explanation) (ok bool) {
	defer func() {
		if recover() != nil {
			ok = false
		}
	}()
	return f(e)
}

// truncateText cuts text to at most n bytes, at a rune boundary.
func truncateText(text string, n int) string {
	if len(text) <= n {
		return text
	}
	cut := n
	for cut > 0 && cut > n-utf8.UTFMax && !utf8.RuneStart(text[cut]) {
		cut--
	}
	return text[:cut]
}

// requiredLiteral returns a literal that every match of re contains, when
// re has no literal prefix of its own ("" when it has one, or when no
// such literal can be told).
func requiredLiteral(re *regexp.Regexp, pattern string) string {
	if p, _ := re.LiteralPrefix(); p != "" {
		return ""
	}
	s, err := syntax.Parse(pattern, syntax.Perl)
	if err != nil {
		return ""
	}
	return mustContain(s.Simplify())
}

// mustContain returns the longest literal that every string matching re
// contains, as far as re's structure shows it.
func mustContain(re *syntax.Regexp) string {
	switch re.Op {
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return ""
		}
		return string(re.Rune)
	case syntax.OpCapture, syntax.OpPlus:
		return mustContain(re.Sub[0])
	case syntax.OpRepeat:
		if re.Min >= 1 {
			return mustContain(re.Sub[0])
		}
	case syntax.OpConcat:
		best := ""
		for _, sub := range re.Sub {
			if l := mustContain(sub); len(l) > len(best) {
				best = l
			}
		}
		return best
	}
	return ""
}
