package inventory

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// ErrIDAndName is returned by [Selector.Validate] when a Selector names
// both IDs and Names, as the Hinemos Docker scripts' -c and -n are
// mutually exclusive; callers treat it as a usage error.
var ErrIDAndName = errors.New("inventory: select by ID or by name, not both")

// ErrBadPattern is wrapped by [Selector.Validate] for a malformed ID or name
// pattern; the message names the pattern and what is allowed.
var ErrBadPattern = errors.New("inventory: bad pattern")

// Selector picks Targets. Every field that is set must match (AND); the
// values inside one field are alternatives (OR). The zero Selector matches
// every Target.
type Selector struct {
	// Kind, when set, must equal Target.Kind.
	Kind Kind `json:"kind,omitempty"`
	// IDs are full IDs, 12-character short IDs, or prefixes ending in "*".
	IDs []string `json:"ids,omitempty"`
	// Names are exact names or prefixes ending in "*"; a leading "/" is ignored.
	Names []string `json:"names,omitempty"`
	// Labels must all be present on the Target; an empty value means
	// "present with any value".
	Labels map[string]string `json:"labels,omitempty"`
	// States, when set, lists the acceptable states ("running", "exited", ...).
	// A Target carries no state, so [Selector.Match] ignores this field;
	// resolvers apply it with [Selector.MatchState].
	States []string `json:"states,omitempty"`
	// Scopes, when set, keeps Targets that are nodes of one of these
	// repository scopes (or of a scope below one). A Target does not know
	// its scopes, so [Selector.Match] ignores this field; only a resolver
	// backed by a [Repository] can apply it, and others refuse a Selector
	// that sets it ([ErrScopes]).
	Scopes []string `json:"scopes,omitempty"`
}

// ErrScopes is returned (wrapped) by resolvers that have no repository
// when a Selector names scopes.
var ErrScopes = errors.New("inventory: selecting by scope needs a repository")

// Validate reports whether the Selector is usable: not both IDs and Names
// ([ErrIDAndName]), and no empty pattern or "*" anywhere but at the end
// ([ErrBadPattern]), and scopes that are valid facility IDs. All problems
// are joined into one error.
func (s Selector) Validate() error {
	var errs []error
	if len(s.IDs) > 0 && len(s.Names) > 0 {
		errs = append(errs, ErrIDAndName)
	}
	for _, p := range s.IDs {
		if err := checkPattern("container ID", p); err != nil {
			errs = append(errs, err)
		} else if q := strings.TrimSuffix(p, "*"); !isHex(q) {
			errs = append(errs, fmt.Errorf("%w: container ID %q: want hexadecimal digits, optionally ending in * for a prefix", ErrBadPattern, p))
		}
	}
	for _, p := range s.Names {
		if err := checkPattern("container name", p); err != nil {
			errs = append(errs, err)
		}
	}
	for _, sc := range s.Scopes {
		if err := ValidFacilityID(sc); err != nil {
			errs = append(errs, fmt.Errorf("%w: scope %s", ErrBadPattern, strings.TrimPrefix(err.Error(), ErrInvalid.Error()+": ")))
		}
	}
	return errors.Join(errs...)
}

func checkPattern(what, p string) error {
	switch {
	case p == "":
		return fmt.Errorf("%w: empty %s: give a %s, or a prefix ending in *", ErrBadPattern, what, what)
	case strings.Contains(strings.TrimSuffix(p, "*"), "*"):
		return fmt.Errorf("%w: %s %q: * is allowed only at the end (prefix match)", ErrBadPattern, what, p)
	}
	return nil
}

func isHex(s string) bool {
	for _, r := range s {
		if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
			return false
		}
	}
	return true
}

// Match reports whether t satisfies Kind, IDs, Names and Labels. It does not
// look at States (see [Selector.MatchState]) and does not validate the
// Selector; call [Selector.Validate] first for user input.
func (s Selector) Match(t Target) bool {
	if s.Kind != "" && s.Kind != t.Kind {
		return false
	}
	if len(s.IDs) > 0 && !slices.ContainsFunc(s.IDs, func(p string) bool { return MatchID(p, t.ID) }) {
		return false
	}
	if len(s.Names) > 0 && !slices.ContainsFunc(s.Names, func(p string) bool { return MatchName(p, t.Name) }) {
		return false
	}
	for k, v := range s.Labels {
		got, ok := t.Labels[k]
		if !ok || (v != "" && got != v) {
			return false
		}
	}
	return true
}

// MatchState reports whether state is acceptable: true when States is empty
// or contains state.
func (s Selector) MatchState(state string) bool {
	return len(s.States) == 0 || slices.Contains(s.States, state)
}

// MatchID reports whether the ID pattern matches the full ID id. A pattern
// ending in "*" matches by prefix; otherwise it must equal the full ID or
// its 12-character short form. Comparison is case-insensitive, as IDs are hex.
func MatchID(pattern, id string) bool {
	pattern, id = strings.ToLower(pattern), strings.ToLower(id)
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(id, p)
	}
	if pattern == id {
		return true
	}
	return len(pattern) == ShortIDLen && len(id) > ShortIDLen && id[:ShortIDLen] == pattern
}

// MatchName reports whether the name pattern matches name. Docker's leading
// "/" is stripped from both; a pattern ending in "*" matches by prefix,
// otherwise the names must be equal.
func MatchName(pattern, name string) bool {
	pattern, name = TrimName(pattern), TrimName(name)
	if p, ok := strings.CutSuffix(pattern, "*"); ok {
		return strings.HasPrefix(name, p)
	}
	return pattern == name
}

// Empty reports whether the Selector names no IDs, names, labels, states or scopes,
// so that it matches every Target of its Kind.
func (s Selector) Empty() bool {
	return len(s.IDs) == 0 && len(s.Names) == 0 && len(s.Labels) == 0 && len(s.States) == 0 && len(s.Scopes) == 0
}

// String renders the Selector the way the CLI would take it, for messages:
// `-n "web*"`, `-c "0e0d8cdf3a57"`, `label app=db`.
func (s Selector) String() string {
	var parts []string
	for _, p := range s.IDs {
		parts = append(parts, fmt.Sprintf("-c %q", p))
	}
	for _, p := range s.Names {
		parts = append(parts, fmt.Sprintf("-n %q", p))
	}
	keys := make([]string, 0, len(s.Labels))
	for k := range s.Labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if s.Labels[k] == "" {
			parts = append(parts, "label "+k)
		} else {
			parts = append(parts, "label "+k+"="+s.Labels[k])
		}
	}
	if len(s.States) > 0 {
		parts = append(parts, "state "+strings.Join(s.States, "|"))
	}
	for _, sc := range s.Scopes {
		parts = append(parts, fmt.Sprintf("--scope %q", sc))
	}
	if len(parts) == 0 {
		return "all"
	}
	return strings.Join(parts, " ")
}
