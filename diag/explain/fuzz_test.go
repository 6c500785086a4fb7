package explain

import (
	"fmt"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/minato-ops/minato/diag"
)

// FuzzExplainDefault: the catalogue never panics, and what it returns is
// well formed: evidence found at its offset, on its line, in text order,
// each rule once.
func FuzzExplainDefault(f *testing.F) {
	for _, b := range loadBlocks(f) {
		f.Add(b.text)
	}
	f.Add("")
	f.Add("Activating x resource has failed.(6 : Timeout occurred.(((((")
	f.Add("Site names do not match." + strings.Repeat("\"StartedAt\": \"", 50))
	f.Add("failed to remove root filesystem for :device or resource busy 9.99.999-9")
	f.Add("Hostname is invalid. [\xff\xfe]")
	f.Add("Bind for [:::80 failed: port is already allocated")
	c := Default()
	f.Fuzz(func(t *testing.T, text string) {
		// Big texts only make the fuzzer slow (the benchmark covers
		// them); what it looks for is in the patterns' corners.
		if len(text) > 1<<14 {
			text = text[:1<<14]
		}
		got := c.Explain(text)
		checkExplanations(t, text, got)
	})
}

func checkExplanations(t *testing.T, text string, got []diag.Explanation) {
	t.Helper()
	if len(text) > diag.MaxExplainBytes {
		text = text[:diag.MaxExplainBytes]
	}
	seen := map[string]bool{}
	last := -1
	for _, e := range got {
		if e.Offset < last {
			t.Fatalf("offsets out of order: %+v", got)
		}
		last = e.Offset
		if seen[e.Rule] {
			t.Fatalf("rule %s twice", e.Rule)
		}
		seen[e.Rule] = true
		if e.Evidence == "" || e.Offset < 0 || e.Offset+len(e.Evidence) > len(text) || text[e.Offset:e.Offset+len(e.Evidence)] != e.Evidence {
			t.Fatalf("%s: evidence %q not at offset %d", e.Rule, e.Evidence, e.Offset)
		}
		if e.Line != 1+strings.Count(text[:e.Offset], "\n") {
			t.Fatalf("%s: line %d wrong", e.Rule, e.Line)
		}
		if e.Title == "" || e.Remedy == "" {
			t.Fatalf("%s: no title or remedy: %+v", e.Rule, e)
		}
		for k, v := range e.Fields {
			if utf8.ValidString(text) && !utf8.ValidString(v) {
				t.Fatalf("%s: field %s = %q is not valid UTF-8", e.Rule, k, v)
			}
		}
	}
}

// pastedLog returns about size bytes of what an operator pastes: the
// daemon's log, container output with time stamps, failover lines, and
// every so often one of the catalogue's errors.
func pastedLog(size int) string {
	errorsEvery := []string{
		"Error response from daemon: Bind for 0.0.0.0:8080 failed: port is already allocated",
		"Activating vip1 resource has failed.(6 : Timeout occurred.)",
		"Config cs ClusterNetwork failed : Aliyun API Error: RequestId : 264E5ADC-0571-44C0-8508-C037096856C7 Status Code: 403 Code: QuotaExceed.SecurityGroup Message: The security group quota exceeds.",
		"2025-05-27T05:05:11.000000000Z Site names do not match.",
		"write /var/lib/docker/tmp/GetImageBlob1234: no space left on device",
	}
	var b strings.Builder
	for i := 0; b.Len() < size; i++ {
		switch i % 8 {
		case 0, 1, 2:
			fmt.Fprintf(&b, "time=\"2025-05-27T05:%02d:%02d.%09dZ\" level=info msg=\"ignoring event\" container=%012x module=libcontainerd namespace=moby topic=/tasks/delete type=\"*events.TaskDelete\"\n", i/60%60, i%60, i, i*7919)
		case 3, 4:
			fmt.Fprintf(&b, "2025-05-27T05:%02d:%02d.%09dZ 10.0.%d.%d - - [27/May/2025:05:03:09 +0000] \"GET /api/v1/items/%d HTTP/1.1\" 200 %d \"-\" \"curl/8.5.0\"\n", i/60%60, i%60, i, i%250, i%200, i, 512+i%4096)
		case 5:
			fmt.Fprintf(&b, "2025/05/27 05:03:09.123 INFO ha Activating group shop on node node%d (epoch %d): resource web started in 1.2s\n", i%3, i)
		case 6:
			fmt.Fprintf(&b, "[%d] (ready) listening on :%d, pid %d, worker %d of 8 (load %.2f)\n", i, 8000+i%1000, 1000+i%30000, i%8, float64(i%400)/100)
		default:
			if i%(8*200) == 7 {
				b.WriteString(errorsEvery[(i/1600)%len(errorsEvery)])
				b.WriteByte('\n')
			} else {
				fmt.Fprintf(&b, "level=warning msg=\"health check for container %012x exceeded threshold; retrying\" attempt=%d\n", i*31, i%5)
			}
		}
	}
	return b.String()[:size]
}

// BenchmarkExplainPastedLog: the whole catalogue over a 1 MiB pasted log
// (MB/s is the figure to read).
func BenchmarkExplainPastedLog(b *testing.B) {
	text := pastedLog(diag.MaxExplainBytes)
	c := Default()
	if n := len(c.Explain(text)); n == 0 {
		b.Fatal("the log's errors were not found")
	}
	b.SetBytes(int64(len(text)))
	b.ResetTimer()
	for b.Loop() {
		c.Explain(text)
	}
}

// BenchmarkExplainOneError: a single pasted error line, the common case.
func BenchmarkExplainOneError(b *testing.B) {
	text := "docker: Error response from daemon: Conflict. The container name \"/web\" is already in use by container \"4cd2236e6c2c\". You have to remove (or rename) that container to be able to reuse that name."
	c := Default()
	b.SetBytes(int64(len(text)))
	for b.Loop() {
		c.Explain(text)
	}
}
