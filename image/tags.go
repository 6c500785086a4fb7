package image

import (
	"cmp"
	"fmt"
	"slices"
	"strings"

	"github.com/Masterminds/semver/v3"
)

// TagsNewer is the [CheckOptions.Tags] value (and [NewerTags] constraint)
// that asks for any higher version spelt like the current tag: the same
// "v" prefix (or none) and the same number of numeric parts.
const TagsNewer = "newer"

// tagMatcher is a parsed tag constraint: "newer" (constraint nil) or a
// semver constraint.
type tagMatcher struct {
	anyNewer   bool
	constraint *semver.Constraints
}

// parseTagConstraint parses a CheckOptions.Tags / NewerTags constraint.
// "" gives nil: no tag search.
func parseTagConstraint(s string) (*tagMatcher, error) {
	s = strings.TrimSpace(s)
	switch {
	case s == "":
		return nil, nil
	case strings.EqualFold(s, TagsNewer):
		return &tagMatcher{anyNewer: true}, nil
	}
	c, err := semver.NewConstraint(s)
	if err != nil {
		return nil, fmt.Errorf("tag constraint %q: %v; want %q (any higher version spelt like the current tag) or a semver constraint such as \"^1\", \"~1.4\", \">=1.4 <2\", \"1.x\" or \"^1 || ^2\"", s, err, TagsNewer)
	}
	return &tagMatcher{constraint: c}, nil
}

// tagShape is how a version tag is spelt: "v" prefix or not, and how many
// numeric parts it has ("1.2" has 2, "v1.2.3-rc.1" has 3).
type tagShape struct {
	v     bool
	parts int
}

func shapeOf(tag string) tagShape {
	s, v := strings.CutPrefix(tag, "v")
	if i := strings.IndexAny(s, "-+"); i >= 0 {
		s = s[:i]
	}
	return tagShape{v: v, parts: strings.Count(s, ".") + 1}
}

// parseTagVersion parses a tag as a version, or returns nil when it is not
// one ("latest", "V1", "1.2.3.4"). Parsing is lenient: "1.2" is 1.2.0, and
// "2024-01-02" is 2024.0.0 with the prerelease "01-02".
func parseTagVersion(tag string) *semver.Version {
	if tag == "" || strings.HasPrefix(tag, "V") {
		return nil
	}
	v, err := semver.NewVersion(tag)
	if err != nil {
		return nil
	}
	return v
}

// newer returns the tags newer than current that m accepts, sorted
// descending (equal versions by tag, ascending).
func (m *tagMatcher) newer(current string, tags []string) []string {
	if m == nil {
		return nil
	}
	cur := parseTagVersion(current)
	if cur == nil {
		return nil
	}
	shape := shapeOf(current)
	type cand struct {
		tag string
		v   *semver.Version
	}
	var cs []cand
	seen := map[string]bool{}
	for _, t := range tags {
		if seen[t] {
			continue
		}
		seen[t] = true
		v := parseTagVersion(t)
		if v == nil || !v.GreaterThan(cur) {
			continue
		}
		if m.anyNewer {
			if shapeOf(t) != shape || (v.Prerelease() != "" && cur.Prerelease() == "") {
				continue
			}
		} else if !m.constraint.Check(v) {
			continue
		}
		cs = append(cs, cand{t, v})
	}
	slices.SortFunc(cs, func(a, b cand) int {
		return cmp.Or(b.v.Compare(a.v), strings.Compare(a.tag, b.tag))
	})
	out := make([]string, len(cs))
	for i, c := range cs {
		out[i] = c.tag
	}
	return out
}

// NewerTags returns the tags of tags that are higher versions than
// current and match constraint, sorted from the highest down, spelt as in
// tags ("v1.2.3" stays "v1.2.3"; duplicates are dropped). It is pure.
//
// constraint is "" (no tag search: nil), [TagsNewer] ("newer": any higher
// version spelt like current: the same "v" prefix or none, the same number
// of numeric parts, and no prerelease unless current is one), or a semver
// constraint in the syntax of github.com/Masterminds/semver ("^1", "~1.4",
// ">=1.4 <2", "1.x", "^1 || ^2"), which excludes prereleases unless it
// names one. A constraint that does not parse is an error naming it and
// saying what is allowed.
//
// Tags that are not versions ("latest", "stable", "V1", "1.2.3.4") are
// ignored, and so is everything when current is not a version (nothing
// orders it). Versions are read leniently: "1", "1.2" and "v1.2.3" are
// 1.0.0, 1.2.0 and 1.2.3. A variant suffix such as "-alpine" reads as a
// semver prerelease: "1.2-alpine" is below "1.2", and with "newer" it sees
// "1.3-alpine" and "1.3" alike; use a constraint for finer choices.
func NewerTags(current string, tags []string, constraint string) ([]string, error) {
	m, err := parseTagConstraint(constraint)
	if err != nil {
		return nil, err
	}
	return m.newer(current, tags), nil
}
