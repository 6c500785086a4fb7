package inventory

import (
	"slices"
	"strings"
)

// SortTargets sorts ts in place by [Target.Key], the order resolvers return.
func SortTargets(ts []Target) {
	slices.SortFunc(ts, func(a, b Target) int { return strings.Compare(a.Key(), b.Key()) })
}
