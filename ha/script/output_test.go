package script

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestCaptureKeepsHeadAndTail(t *testing.T) {
	for _, tc := range []struct {
		name   string
		max    int
		writes []string
		want   string
	}{
		{"fits", 10, []string{"abc", "de"}, "abcde"},
		{"exactly", 4, []string{"ab", "cd"}, "abcd"},
		{"one big write", 4, []string{"abcdefgh"}, "ab\n[... 4 bytes omitted ...]\ngh"},
		{"many small writes", 4, []string{"a", "b", "c", "d", "e", "f"}, "ab\n[... 2 bytes omitted ...]\nef"},
		{"tail slides", 6, []string{"abc", "defg", "hi", "jk"}, "abc\n[... 5 bytes omitted ...]\nijk"},
		{"zero keeps nothing", 0, []string{"abc"}, "\n[... 3 bytes omitted ...]\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newCapture(tc.max)
			for _, w := range tc.writes {
				n, err := c.Write([]byte(w))
				if n != len(w) || err != nil {
					t.Fatalf("Write(%q) = %d, %v", w, n, err)
				}
			}
			if got := c.String(); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestMessages(t *testing.T) {
	for _, tc := range []struct{ out, check, last string }{
		{"", "", ""},
		{"OK - fine | a=1;2;3\nlong text | b=2\n", "OK - fine", "long text | b=2"},
		{"\n\n  only line  \n\n", "only line", "only line"},
		{"| perf only\nsecond\n", "second", "second"},
		{"tab\there\r\n", "tab here", "tab here"},
		{strings.Repeat("é", 200), strings.Repeat("é", 150), strings.Repeat("é", 150)},
	} {
		if got := checkMessage(tc.out); got != tc.check && !(len(tc.check) == maxLine && got == tc.check+"…") {
			t.Errorf("checkMessage(%q) = %q, want %q", tc.out, got, tc.check)
		}
		if got := lastLine(tc.out); got != tc.last && !(len(tc.last) == maxLine && got == tc.last+"…") {
			t.Errorf("lastLine(%q) = %q, want %q", tc.out, got, tc.last)
		}
	}
}

// FuzzOutput checks that whatever a command writes, in whatever pieces,
// the kept output is bounded and says how much was dropped, and the
// message lines are single, bounded, valid UTF-8 lines.
func FuzzOutput(f *testing.F) {
	f.Add([]byte("OK - fine | a=1\n"), 64, 3)
	f.Add([]byte("\xff\xfe broken \xe3\x81"), 5, 1)
	f.Add(bytes.Repeat([]byte("x\n"), 1000), 16, 7)
	f.Add([]byte("|||\n\r\n\x00\x7f"), 0, 2)
	f.Add([]byte(strings.Repeat("日本語", 200)), 33, 5)
	f.Fuzz(func(t *testing.T, data []byte, max, chunk int) {
		if max < 0 || max > 1<<16 || chunk <= 0 {
			return
		}
		c := newCapture(max)
		for p := data; len(p) > 0; {
			n := min(chunk, len(p))
			if w, err := c.Write(p[:n]); w != n || err != nil {
				t.Fatalf("Write = %d, %v", w, err)
			}
			p = p[n:]
		}
		s := c.String()
		if !utf8.ValidString(s) {
			t.Fatalf("String not UTF-8: %q", s)
		}
		if c.total != int64(len(data)) {
			t.Fatalf("total %d, wrote %d", c.total, len(data))
		}
		if kept := len(c.head) + len(c.tail); kept > max || kept > len(data) {
			t.Fatalf("kept %d bytes of %d with max %d", kept, len(data), max)
		}
		if len(data) <= max/2*2 && s != strings.ToValidUTF8(string(data), "\uFFFD") {
			t.Fatalf("output that fits changed: %q → %q", data, s)
		}
		if !bytes.HasPrefix(data, c.head) || !bytes.HasSuffix(data, c.tail) {
			t.Fatalf("head %q / tail %q are not the ends of %q", c.head, c.tail, data)
		}
		for _, m := range []string{checkMessage(string(data)), lastLine(string(data))} {
			if strings.ContainsAny(m, "\n\r") || len(m) > maxLine+len("…") {
				t.Fatalf("message %q is not one bounded line", m)
			}
			if utf8.ValidString(string(data)) && !utf8.ValidString(m) {
				t.Fatalf("message %q of valid text is not UTF-8", m)
			}
		}
		if m := checkMessage(string(data)); strings.Contains(m, "|") {
			t.Fatalf("check message %q keeps performance data", m)
		}
	})
}
