package docker

import (
	"regexp"
	"testing"
)

// engineName is the engine's own rule for container names (moby's
// RestrictedNamePattern), with the optional leading "/".
var engineName = regexp.MustCompile(`^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$`)

// FuzzValidName checks that Config.Validate accepts exactly the names the
// engine accepts.
func FuzzValidName(f *testing.F) {
	for _, s := range []string{"web", "/web", "w", "_web", "web-1.a_b", "-w", "日本", "", "//web", "web/x", "a\x00b", "ab\n"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, name string) {
		got := validName(name) == nil
		if want := engineName.MatchString(name); got != want {
			t.Fatalf("validName(%q) accepts: %v, the engine: %v", name, got, want)
		}
	})
}
