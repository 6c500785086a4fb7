package hinemos

import (
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseScopeLabel(t *testing.T) {
	for in, want := range map[string][]string{
		"web1":                 {"web1"},
		"web1,web2":            {"web1", "web2"},
		"web1, web3":           {"web1", "web3"},
		" web1 ,\tweb2\n,":     {"web1", "web2"},
		"web1,,web1, web1 ":    {"web1"},
		"":                     nil,
		" , ,":                 nil,
		"a b, c":               {"a b", "c"},
		"ウェブ,web1":             {"ウェブ", "web1"},
		"web2,web1,web2,web3 ": {"web2", "web1", "web3"},
	} {
		assert.Equal(t, want, ParseScopeLabel(in), "%q", in)
	}
}

func TestPyList(t *testing.T) {
	for _, tc := range []struct {
		in   []string
		want string
	}{
		{nil, "[]"},
		{[]string{"web1", "web3"}, "[u'web1', u'web3']"},
		{[]string{"it's"}, `[u"it's"]`},
		{[]string{`a'b"c`}, `[u'a\'b"c']`},
		{[]string{`back\slash`}, `[u'back\\slash']`},
		{[]string{"é", "日", "😀"}, `[u'\xe9', u'\u65e5', u'\U0001f600']`},
		{[]string{"\t\n\r\x01\x7f"}, `[u'\t\n\r\x01\x7f']`},
		{[]string{"\xff"}, `[u'\xff']`},
	} {
		assert.Equal(t, tc.want, pyList(tc.in), "%q", tc.in)
	}
	assert.Equal(t, "[web1, web3]", plainList([]string{"web1", "web3"}))
}

func TestPublishedPorts(t *testing.T) {
	for in, want := range map[string]string{
		"":                     "",
		"80/tcp":               "",
		"0.0.0.0:8080->80/tcp": "0.0.0.0:8080->80/tcp",
		"0.0.0.0:8080->80/tcp, :::8080->80/tcp, 443/tcp": "0.0.0.0:8080->80/tcp, :::8080->80/tcp",
		"443/tcp,0.0.0.0:53->53/udp":                     "0.0.0.0:53->53/udp",
	} {
		assert.Equal(t, want, publishedPorts(in), in)
	}
}

// FuzzParseScopeLabel checks the label parser and the scripts' list
// rendering on any input.
func FuzzParseScopeLabel(f *testing.F) {
	for _, s := range []string{"web1", "web1,web2", "web1, web3", "", ",", " , ,", "a,,a", "ウェブ, it's", "\xff,\x00", "a\u00a0,b", "\u0085x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		ids := ParseScopeLabel(in)
		for _, id := range ids {
			if id == "" || id != strings.TrimSpace(id) || strings.Contains(id, ",") || !strings.Contains(in, id) {
				t.Fatalf("ParseScopeLabel(%q): bad entry %q in %q", in, id, ids)
			}
		}
		if len(slices.Compact(slices.Sorted(slices.Values(ids)))) != len(ids) {
			t.Fatalf("ParseScopeLabel(%q) = %q: repeated entries", in, ids)
		}
		if again := ParseScopeLabel(strings.Join(ids, ",")); !slices.Equal(again, ids) {
			t.Fatalf("ParseScopeLabel(%q) = %q, but parsing it joined gives %q", in, ids, again)
		}
		l := pyList(ids)
		if !strings.HasPrefix(l, "[") || !strings.HasSuffix(l, "]") {
			t.Fatalf("pyList(%q) = %q", ids, l)
		}
		for i := 0; i < len(l); i++ {
			if l[i] < 0x20 || l[i] >= 0x7f {
				t.Fatalf("pyList(%q) = %q: byte %#x is not printable ASCII", ids, l, l[i])
			}
		}
	})
}
