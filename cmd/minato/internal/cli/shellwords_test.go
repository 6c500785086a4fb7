package cli

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSplitCommand(t *testing.T) {
	cases := map[string][]string{
		"find /root":                      {"find", "/root"},
		"  ls   -l\t/tmp  ":               {"ls", "-l", "/tmp"},
		`echo 'a b' "c d"`:                {"echo", "a b", "c d"},
		`echo "it's" 'say "hi"'`:          {"echo", "it's", `say "hi"`},
		`echo a\ b`:                       {"echo", "a b"},
		`echo "a\"b" "\$x" "\q"`:          {"echo", `a"b`, "$x", `\q`},
		`echo '' ""`:                      {"echo", "", ""},
		`echo ab'cd'"ef"`:                 {"echo", "abcdef"},
		"echo $HOME | grep x > /dev/null": {"echo", "$HOME", "|", "grep", "x", ">", "/dev/null"},
		"":                                nil,
		"a\\\nb":                          {"ab"},
	}
	for in, want := range cases {
		got, err := SplitCommand(in)
		require.NoError(t, err, "%q", in)
		assert.Equal(t, want, got, "%q", in)
	}
	for _, bad := range []string{`echo 'x`, `echo "x`, `echo x\`, `"`} {
		_, err := SplitCommand(bad)
		assert.ErrorIs(t, err, ErrUnterminated, "%q", bad)
	}
}

func FuzzSplitCommand(f *testing.F) {
	for _, s := range []string{"find /root", `a "b c" 'd'`, `\`, `"\`, "'", `a\ b`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		words, err := SplitCommand(s)
		if err != nil {
			return
		}
		// Re-quoting every word in single quotes must split back to the same words.
		var b strings.Builder
		for _, w := range words {
			b.WriteString("'" + strings.ReplaceAll(w, "'", `'\''`) + "' ")
		}
		again, err := SplitCommand(b.String())
		if err != nil {
			t.Fatalf("requoted %q: %v", b.String(), err)
		}
		if len(words) == 0 {
			words = nil
		}
		if len(again) == 0 {
			again = nil
		}
		assert.Equal(t, words, again)
	})
}
