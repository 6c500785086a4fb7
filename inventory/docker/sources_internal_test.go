package dockerinv

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseContextMeta(t *testing.T) {
	m, err := parseContextMeta([]byte(`{"Name":"prod","Metadata":{"Description":"x"},"Endpoints":{"docker":{"Host":"tcp://h:2376","SkipTLSVerify":true},"kubernetes":{"Host":"https://k","DefaultNamespace":"default"}}}`))
	require.NoError(t, err)
	assert.Equal(t, contextMeta{name: "prod", host: "tcp://h:2376", skipTLSVerify: true}, m)
	for _, bad := range []string{``, `[]`, `{"Name":""}`, `{"Name":"x"}`, `{"Name":"x","Endpoints":{"docker":null}}`, `{"Name":"x","Endpoints":{"docker":"tcp://h:1"}}`, `{"Name":7}`} {
		_, err := parseContextMeta([]byte(bad))
		assert.Error(t, err, bad)
	}
}

// FuzzParseContextMeta checks that any meta.json either parses to a named
// context whose fields round-trip through the CLI's format, or fails.
func FuzzParseContextMeta(f *testing.F) {
	for _, s := range []string{
		`{"Name":"prod","Metadata":{},"Endpoints":{"docker":{"Host":"tcp://10.0.0.5:2376","SkipTLSVerify":false}}}`,
		`{"Name":"k8s","Endpoints":{"kubernetes":{"Host":"https://k8s:6443"}}}`,
		`{"Name":"x","Endpoints":{"docker":null}}`,
		`{"Name":"\u00e9","Endpoints":{"docker":{"Host":"unix:///s"}}}`,
		`{"Name":`,
		`null`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseContextMeta(b)
		if err != nil {
			return
		}
		if m.name == "" {
			t.Fatalf("parsed without a name: %q", b)
		}
		doc := map[string]any{"Name": m.name, "Endpoints": map[string]any{"docker": map[string]any{"Host": m.host, "SkipTLSVerify": m.skipTLSVerify}}}
		again, err := json.Marshal(doc)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := parseContextMeta(again)
		if err != nil || m2 != m {
			t.Fatalf("round trip of %q: %+v, %v; want %+v", b, m2, err, m)
		}
	})
}
