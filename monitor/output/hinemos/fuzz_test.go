package hinemos_test

import (
	"bytes"
	"strings"
	"testing"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/hinemos"
)

// FuzzKeyFormat checks the key template parser through Write: Validate
// and Write agree, a valid template prints exactly one line whose key has
// no line break, printing is idempotent through Escape, and Escape makes
// any one-line text print as itself.
func FuzzKeyFormat(f *testing.F) {
	for _, s := range []string{
		"cpu_usage:{name}", "cpu_usage#{label:core}:{name}", "host_mem_usage:{id8}", "{label:key}", ":{id8}",
		".*:{id12}", "Status", "{{", "}}", "{{{name}}}", "{", "}", "{name", "{label:}", "{label:a:b}", "{label:{}",
		"{}", "{ID8}", "a\nb", "\r", "{label:k\n}", "é{name}ü", "\xff{id8}", "",
	} {
		f.Add(s)
	}
	tg := inventory.Target{Kind: inventory.KindContainer, ID: "0e0d8cdf3a57aaaabbbbccccddddeeee", Name: "/web-1"}
	s := monitor.Sample{Name: "s", Value: 1, Labels: map[string]string{"core": "0", "key": "cache", "a:b": "x", "k\n": "y", "{": "z"}}
	evs := []monitor.Evaluation{{Target: tg, Result: monitor.Result{Samples: []monitor.Sample{s}}}}
	write := func(format string) (string, error) {
		var buf bytes.Buffer
		err := hinemos.Write(&buf, evs, []hinemos.Key{{Sample: "s", Format: format}})
		return buf.String(), err
	}
	f.Fuzz(func(t *testing.T, format string) {
		verr := hinemos.Key{Sample: "s", Format: format}.Validate()
		out, werr := write(format)
		if (verr == nil) != (werr == nil) {
			t.Fatalf("%q: Validate says %v, Write says %v", format, verr, werr)
		}
		if werr != nil {
			if out != "" {
				t.Fatalf("%q: an invalid key wrote %q", format, out)
			}
		} else if format != "" && out != "" {
			key, ok := strings.CutSuffix(out, ",1\n")
			if !ok || strings.ContainsAny(key, "\r\n") {
				t.Fatalf("%q: not one key,value line: %q", format, out)
			}
			again, err := write(hinemos.Escape(key))
			if err != nil || again != out {
				t.Fatalf("%q: the escaped key %q prints %q (%v), want %q", format, hinemos.Escape(key), again, err, out)
			}
		}
		// Escape: any one-line text prints as itself.
		text := strings.NewReplacer("\r", "", "\n", "").Replace(format)
		if text == "" {
			return
		}
		got, err := write(hinemos.Escape(text))
		if err != nil || got != text+",1\n" {
			t.Fatalf("Escape(%q) = %q prints %q (%v)", text, hinemos.Escape(text), got, err)
		}
	})
}
