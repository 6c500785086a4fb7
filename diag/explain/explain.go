package explain

import (
	"slices"
	"sync"

	"github.com/minato-ops/minato/diag"
)

// Rules returns the whole catalogue, a fresh copy on every call (changing
// it changes nothing else): the Container Service FAQ's texts first, then
// JobCenter's, CLUSTERPRO's and minato's own failover lines, and the
// Docker Engine's. Rule IDs are stable: "faq.*", "jobcenter.*",
// "clusterpro.*", "ha.*" and "docker.*".
func Rules() []diag.Rule {
	var rules []diag.Rule
	for _, part := range [][]diag.Rule{faqRules(), jobcenterRules(), clusterproRules(), haRules(), dockerRules()} {
		rules = append(rules, part...)
	}
	for i := range rules {
		rules[i].Steps = slices.Clone(rules[i].Steps)
	}
	return rules
}

var defaultClassifier = sync.OnceValue(func() *diag.Classifier {
	c, err := diag.NewClassifier(Rules())
	if err != nil {
		// Unreachable: TestRulesCompile proves the catalogue compiles.
		// A classifier without rules explains nothing rather than
		// guessing.
		return &diag.Classifier{}
	}
	return c
})

// Default returns the classifier of [Rules], built once and shared (it is
// safe for concurrent use). It never panics.
func Default() *diag.Classifier { return defaultClassifier() }

// Explain is Default().Explain(text): what the catalogue recognises in
// text, in the order it appears; none means the text is unclassified.
func Explain(text string) []diag.Explanation { return Default().Explain(text) }

// Grammar pieces shared by several rules.
const (
	// ts is an RFC 3339 time stamp as `docker logs --timestamps` and
	// `docker inspect` print them.
	ts = `\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)`
	// detail is the text of a "(<code> : <detail>)" part: anything on
	// the line, with parentheses nested one level deep at most.
	detail = `(?:[^\n()]|\([^\n()]*\))*`
)
