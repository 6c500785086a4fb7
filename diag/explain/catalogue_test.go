package explain

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/minato-ops/minato/diag"
)

// block is one catalogue text of testdata/*.txt with what it must give.
type block struct {
	file   string
	line   int
	rules  []string // empty: unclassified
	checks []check
	text   string
}

// check is one assertion on the first expected explanation.
type check struct {
	key, op, value string // op: "=", "~" or "-" (field absent)
}

// loadBlocks reads every testdata/*.txt (format in testdata/faq.txt).
func loadBlocks(t testing.TB) []block {
	t.Helper()
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no testdata/*.txt: %v", err)
	}
	var out []block
	for _, f := range files {
		bs, err := parseBlocks(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, bs...)
	}
	return out
}

func parseBlocks(path string) ([]block, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var (
		out  []block
		cur  *block
		text []string
		n    int
	)
	flush := func() error {
		if cur == nil {
			return nil
		}
		if len(text) == 0 {
			return fmt.Errorf("%s:%d: block without text", path, cur.line)
		}
		cur.text = strings.Join(text, "\n")
		out = append(out, *cur)
		cur, text = nil, nil
		return nil
	}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "@ "):
			if err := flush(); err != nil {
				return nil, err
			}
			b, err := parseHeader(line[2:])
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %w", path, n, err)
			}
			b.file, b.line = filepath.Base(path), n
			cur = &b
		case cur == nil && (line == "" || strings.HasPrefix(line, "#")):
			// comment between blocks
		case cur == nil:
			return nil, fmt.Errorf("%s:%d: text outside a block: %q", path, n, line)
		case line == "":
			if err := flush(); err != nil {
				return nil, err
			}
		default:
			text = append(text, line)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if err := flush(); err != nil {
		return nil, err
	}
	return out, nil
}

// parseHeader reads "rule.a rule.b key=value .title~"x" -field".
func parseHeader(h string) (block, error) {
	var b block
	toks, err := tokens(h)
	if err != nil {
		return b, err
	}
	for _, tok := range toks {
		switch {
		case tok == "unclassified":
			b.rules = nil
		case strings.HasPrefix(tok, "-"):
			b.checks = append(b.checks, check{key: tok[1:], op: "-"})
		case strings.ContainsAny(tok, "=~"):
			i := strings.IndexAny(tok, "=~")
			v := tok[i+1:]
			if strings.HasPrefix(v, `"`) {
				u, err := strconv.Unquote(v)
				if err != nil {
					return b, fmt.Errorf("token %s: %w", tok, err)
				}
				v = u
			}
			b.checks = append(b.checks, check{key: tok[:i], op: tok[i : i+1], value: v})
		default:
			b.rules = append(b.rules, tok)
		}
	}
	return b, nil
}

// tokens splits on spaces outside double quotes (with Go escapes).
func tokens(s string) ([]string, error) {
	var out []string
	var cur strings.Builder
	inQuote, escaped := false, false
	for _, r := range s {
		switch {
		case escaped:
			escaped = false
		case inQuote && r == '\\':
			escaped = true
		case r == '"':
			inQuote = !inQuote
		case !inQuote && unicode.IsSpace(r):
			if cur.Len() > 0 {
				out = append(out, cur.String())
				cur.Reset()
			}
			continue
		}
		cur.WriteRune(r)
	}
	if inQuote {
		return nil, fmt.Errorf("unterminated quote in %q", s)
	}
	if cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out, nil
}

// TestCatalogue runs the classifier over every catalogue text and checks
// the rules it names, in order, and nothing else; then the assertions on
// the first one.
func TestCatalogue(t *testing.T) {
	c := Default()
	for _, b := range loadBlocks(t) {
		t.Run(fmt.Sprintf("%s:%d", b.file, b.line), func(t *testing.T) {
			got := c.Explain(b.text)
			var ids []string
			for _, e := range got {
				ids = append(ids, e.Rule)
			}
			if !slices.Equal(ids, b.rules) {
				t.Fatalf("rules %q, want %q\ntext:\n%s\nexplanations: %+v", ids, b.rules, b.text, got)
			}
			if len(got) == 0 {
				if len(b.checks) > 0 {
					t.Fatal("assertions on an unclassified text")
				}
				return
			}
			for _, e := range got {
				if !strings.Contains(b.text, e.Evidence) || b.text[e.Offset:e.Offset+len(e.Evidence)] != e.Evidence {
					t.Errorf("%s: evidence %q not at offset %d", e.Rule, e.Evidence, e.Offset)
				}
			}
			e := got[0]
			for _, ch := range b.checks {
				if err := ch.apply(e); err != nil {
					t.Errorf("%s: %v\nexplanation: %+v", e.Rule, err, e)
				}
			}
		})
	}
}

func (ch check) apply(e diag.Explanation) error {
	if !strings.HasPrefix(ch.key, ".") {
		v, ok := e.Fields[ch.key]
		switch {
		case ch.op == "-" && ok && v != "":
			return fmt.Errorf("field %s = %q, want none", ch.key, v)
		case ch.op == "=" && v != ch.value:
			return fmt.Errorf("field %s = %q (present %v), want %q", ch.key, v, ok, ch.value)
		case ch.op == "~" && !strings.Contains(v, ch.value):
			return fmt.Errorf("field %s = %q, want it to contain %q", ch.key, v, ch.value)
		}
		return nil
	}
	var got string
	switch key := ch.key[1:]; {
	case key == "title":
		got = e.Title
	case key == "cause":
		got = e.Cause
	case key == "remedy":
		got = e.Remedy
	case key == "reference":
		got = e.Reference
	case key == "evidence":
		got = e.Evidence
	case key == "severity":
		got = e.Severity.String()
	case key == "steps":
		got = strconv.Itoa(len(e.Steps))
	case strings.HasPrefix(key, "step"):
		i, err := strconv.Atoi(strings.TrimPrefix(key, "step"))
		if err != nil || i < 1 {
			return fmt.Errorf("bad assertion key %s", ch.key)
		}
		if i > len(e.Steps) {
			return fmt.Errorf("%s: only %d steps", ch.key, len(e.Steps))
		}
		got = e.Steps[i-1]
	default:
		return fmt.Errorf("bad assertion key %s", ch.key)
	}
	switch ch.op {
	case "=":
		if got != ch.value {
			return fmt.Errorf("%s = %q, want %q", ch.key, got, ch.value)
		}
	case "~":
		if !strings.Contains(got, ch.value) {
			return fmt.Errorf("%s = %q, want it to contain %q", ch.key, got, ch.value)
		}
	default:
		return fmt.Errorf("bad assertion %s%s", ch.op, ch.key)
	}
	return nil
}

// TestEveryRuleHasACatalogueText: no rule is untested, and every rule a
// text names exists.
func TestEveryRuleHasACatalogueText(t *testing.T) {
	named := map[string]bool{}
	for _, b := range loadBlocks(t) {
		for _, id := range b.rules {
			named[id] = true
		}
	}
	ids := map[string]bool{}
	for _, r := range Rules() {
		ids[r.ID] = true
		if !named[r.ID] {
			t.Errorf("rule %s has no catalogue text in testdata", r.ID)
		}
	}
	for id := range named {
		if !ids[id] {
			t.Errorf("testdata names rule %s, which does not exist", id)
		}
	}
}

// TestEveryCatalogueLineIsExplained: within a classified block, every
// line that is not a shell prompt, a comment of the paste or obvious
// context is covered by an explanation's evidence, so no text of the
// catalogue is left unclassified by accident.
func TestEveryCatalogueLineIsExplained(t *testing.T) {
	c := Default()
	for _, b := range loadBlocks(t) {
		if len(b.rules) == 0 || b.file == "nearmiss.txt" {
			continue
		}
		got := c.Explain(b.text)
		covered := make([]bool, len(b.text))
		for _, e := range got {
			for i := e.Offset; i < e.Offset+len(e.Evidence); i++ {
				covered[i] = true
			}
		}
		off := 0
		for _, line := range strings.SplitAfter(b.text, "\n") {
			start, end := off, off+len(strings.TrimRight(line, "\n"))
			off += len(line)
			if contextLine(line) {
				continue
			}
			if !slices.Contains(covered[start:end], true) {
				t.Errorf("%s:%d: line %q is explained by no rule", b.file, b.line, strings.TrimSpace(line))
			}
		}
	}
}

// contextLine reports lines a pasted text carries around the errors:
// shell prompts and commands, uname output, progress lines and the JSON of
// docker inspect.
func contextLine(line string) bool {
	l := strings.TrimSpace(line)
	for _, p := range []string{"$ ", "# ", "Linux ", "See 'docker", "Unable to find image", "Start to create", "Waiting for", "[{", "}}]", `"`, "3.10.0-", "Requires: "} {
		if strings.HasPrefix(l, p) {
			return true
		}
	}
	// docker logs --timestamps lines before the message, and a wrapped
	// continuation of an explained message.
	return strings.Contains(l, "Setting up JobCenter") || strings.Contains(l, "nqsdaemon starting") || l == "exists"
}
