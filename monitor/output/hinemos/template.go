package hinemos

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
)

// part is one piece of a parsed key template: literal text, or a
// placeholder (what is "name", "id8", "id12" or "label", with label the
// label's key).
type part struct {
	lit   string
	what  string
	label string
}

// template is a parsed key template.
type template []part

// parseTemplate parses the key template grammar described in the package
// documentation.
func parseTemplate(s string) (template, error) {
	var (
		out template
		lit strings.Builder
	)
	flush := func() {
		if lit.Len() > 0 {
			out = append(out, part{lit: lit.String()})
			lit.Reset()
		}
	}
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '{':
			if i+1 < len(s) && s[i+1] == '{' {
				lit.WriteByte('{')
				i++
				continue
			}
			end := strings.IndexAny(s[i+1:], "{}")
			if end < 0 || s[i+1+end] != '}' {
				return nil, fmt.Errorf("%q: unclosed { at byte %d (write {{ for a literal brace)", s, i)
			}
			p, err := placeholder(s[i+1 : i+1+end])
			if err != nil {
				return nil, fmt.Errorf("%q: %w", s, err)
			}
			flush()
			out = append(out, p)
			i += 1 + end
		case '}':
			if i+1 < len(s) && s[i+1] == '}' {
				lit.WriteByte('}')
				i++
				continue
			}
			return nil, fmt.Errorf("%q: unmatched } at byte %d (write }} for a literal brace)", s, i)
		case '\n', '\r':
			return nil, fmt.Errorf("%q: a line break at byte %d: a key is one line", s, i)
		default:
			lit.WriteByte(c)
		}
	}
	flush()
	return out, nil
}

func placeholder(body string) (part, error) {
	switch body {
	case "name", "id8", "id12":
		return part{what: body}, nil
	}
	if k, ok := strings.CutPrefix(body, "label:"); ok {
		if k == "" {
			return part{}, errors.New("{label:} names no label")
		}
		return part{what: "label", label: k}, nil
	}
	return part{}, fmt.Errorf("unknown placeholder {%s}: want {name}, {id8}, {id12} or {label:KEY}", body)
}

// lineBreaks keeps substituted text on one line.
var lineBreaks = strings.NewReplacer("\r\n", " ", "\n", " ", "\r", " ")

// render fills the template for sample s of Target t; ok is false when s
// lacks a label the template names.
func (tp template) render(b *bytes.Buffer, t inventory.Target, s monitor.Sample) (ok bool) {
	for _, p := range tp {
		var v string
		switch p.what {
		case "":
			b.WriteString(p.lit)
			continue
		case "name":
			v = inventory.TrimName(t.Name)
		case "id8":
			v = shortID(t, 8)
		case "id12":
			v = shortID(t, 12)
		case "label":
			if v, ok = s.Labels[p.label]; !ok {
				return false
			}
		}
		b.WriteString(lineBreaks.Replace(v))
	}
	return true
}

// shortID is the first n characters of a container's ID; a host Target's
// ID is an engine address, so its Name stands in ("host").
func shortID(t inventory.Target, n int) string {
	if t.Kind == inventory.KindHost {
		if name := inventory.TrimName(t.Name); name != "" {
			return name
		}
		return t.ID
	}
	if len(t.ID) > n {
		return t.ID[:n]
	}
	return t.ID
}

// Escape returns s as key template text that prints s itself: every "{"
// and "}" doubled. Use it for literal text that may hold braces, such as a
// process pattern ("a{2}" becomes "a{{2}}").
func Escape(s string) string {
	return strings.NewReplacer("{", "{{", "}", "}}").Replace(s)
}
