package console

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"unicode/utf8"
)

// view is one of the console's views.
type view string

const (
	viewEstate view = "estate"
	viewChecks view = "checks"
	viewJobs   view = "jobs"
	viewHA     view = "ha"
	viewImages view = "images"
	viewApps   view = "apps"
	viewDiag   view = "diag"
)

var views = []view{viewEstate, viewChecks, viewJobs, viewHA, viewImages, viewApps, viewDiag}

func viewNames() []string {
	out := make([]string, len(views))
	for i, v := range views {
		out[i] = string(v)
	}
	return out
}

func parseView(s string) (view, bool) {
	for _, v := range views {
		if string(v) == s {
			return v, true
		}
	}
	return "", false
}

// query is what a view's URL selects: the language, the estate filter,
// the run shown in detail.
type query struct {
	lang string
	// Q is the filter text as entered; Filter its parsed form.
	Q      string `json:"q,omitempty"`
	Filter Filter `json:"-"`
	// FilterErr says why Q does not parse (the filter is then empty).
	FilterErr string `json:"filter_error,omitempty"`
	// Run is the run shown in detail in the jobs view.
	Run string `json:"run,omitempty"`
}

// parseQuery reads ?lang, ?q and ?run. Unknown languages fall back to
// English; a bad filter is reported on the page.
func parseQuery(r *http.Request) query {
	v := r.URL.Query()
	q := query{lang: "en", Q: v.Get("q"), Run: v.Get("run")}
	if v.Get("lang") == "ja" {
		q.lang = "ja"
	}
	if len(q.Run) > 200 || !validID(q.Run) {
		q.Run = ""
	}
	f, err := ParseFilter(q.Q)
	if err != nil {
		q.FilterErr = err.Error()
	}
	q.Filter = f
	return q
}

// validID accepts run IDs as the job API does: letters, digits and
// . _ - @ : +.
func validID(s string) bool {
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("._-@:+", c)) {
			return false
		}
	}
	return true
}

// Filter selects containers in the estate view. Every non-empty part must
// match.
type Filter struct {
	// Names are substrings of the container's name (any may match).
	Names []string `json:"names,omitempty"`
	// Labels must all be on the container: a key alone matches any value.
	Labels map[string]string `json:"labels,omitempty"`
	// Scopes are scopes the container must be in (any may match).
	Scopes []string `json:"scopes,omitempty"`
	// States are container states ("running", "exited", ...; any may
	// match).
	States []string `json:"states,omitempty"`
}

// MaxFilter is the longest filter text ParseFilter takes, in bytes.
const MaxFilter = 1024

// ParseFilter parses the estate filter: space-separated terms, each
// "name:SUBSTRING", "label:KEY" or "label:KEY=VALUE", "scope:NAME",
// "state:STATE", or a bare word (a name substring). Terms may be quoted
// with double quotes to hold spaces. Matching is case-insensitive for
// names and exact for the rest. An empty text selects everything.
func ParseFilter(s string) (Filter, error) {
	var f Filter
	if len(s) > MaxFilter {
		return f, fmt.Errorf("filter: %d bytes: want at most %d", len(s), MaxFilter)
	}
	if !utf8.ValidString(s) {
		return f, errors.New("filter: not valid UTF-8")
	}
	terms, err := splitTerms(s)
	if err != nil {
		return f, err
	}
	for _, t := range terms {
		key, val, ok := strings.Cut(t, ":")
		if !ok {
			f.Names = append(f.Names, strings.ToLower(t))
			continue
		}
		if val == "" {
			return Filter{}, fmt.Errorf("filter: %q: %s: needs a value (name:web, label:tier=db, scope:prod, state:running)", t, key)
		}
		switch key {
		case "name":
			f.Names = append(f.Names, strings.ToLower(val))
		case "label":
			k, v, _ := strings.Cut(val, "=")
			if k == "" {
				return Filter{}, fmt.Errorf("filter: %q: label: want KEY or KEY=VALUE", t)
			}
			if f.Labels == nil {
				f.Labels = map[string]string{}
			}
			f.Labels[k] = v
		case "scope":
			f.Scopes = append(f.Scopes, val)
		case "state":
			f.States = append(f.States, strings.ToLower(val))
		default:
			return Filter{}, fmt.Errorf("filter: %q: unknown key %q: want name, label, scope or state", t, key)
		}
	}
	return f, nil
}

// splitTerms splits on spaces, keeping double-quoted runs together.
func splitTerms(s string) ([]string, error) {
	var (
		out    []string
		cur    strings.Builder
		quoted bool
		has    bool
	)
	for _, r := range s {
		switch {
		case r == '"':
			quoted, has = !quoted, true
		case !quoted && (r == ' ' || r == '\t' || r == '\n' || r == '\r'):
			if has {
				out = append(out, cur.String())
				cur.Reset()
				has = false
			}
		default:
			cur.WriteRune(r)
			has = true
		}
	}
	if quoted {
		return nil, errors.New("filter: a double quote is not closed")
	}
	if has && cur.Len() > 0 {
		out = append(out, cur.String())
	}
	return out, nil
}

// Empty reports whether f selects everything.
func (f Filter) Empty() bool {
	return len(f.Names) == 0 && len(f.Labels) == 0 && len(f.Scopes) == 0 && len(f.States) == 0
}

// Match reports whether a container with these properties is selected.
func (f Filter) Match(name, state string, labels map[string]string, scopes []string) bool {
	if len(f.Names) > 0 {
		ln, ok := strings.ToLower(name), false
		for _, n := range f.Names {
			if strings.Contains(ln, n) {
				ok = true
				break
			}
		}
		if !ok {
			return false
		}
	}
	for k, v := range f.Labels {
		have, ok := labels[k]
		if !ok || (v != "" && have != v) {
			return false
		}
	}
	if len(f.Scopes) > 0 && !anyIn(f.Scopes, scopes) {
		return false
	}
	if len(f.States) > 0 && !anyIn(f.States, []string{strings.ToLower(state)}) {
		return false
	}
	return true
}

func anyIn(want, have []string) bool {
	for _, w := range want {
		for _, h := range have {
			if w == h {
				return true
			}
		}
	}
	return false
}
