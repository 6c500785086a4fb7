package script

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// maxLine bounds a line taken from the output into a message, in bytes.
const maxLine = 300

// capture keeps the first and the last half of at most max bytes written
// to it, and counts the rest. It is not safe for concurrent use; os/exec
// writes to it from one goroutine when it is both Stdout and Stderr.
type capture struct {
	half  int
	head  []byte
	tail  []byte // the last bytes written after head filled, at most half
	total int64
}

func newCapture(max int) *capture {
	return &capture{half: max / 2}
}

// Write keeps what fits and never fails.
func (c *capture) Write(p []byte) (int, error) {
	c.total += int64(len(p))
	q := p
	if room := c.half - len(c.head); room > 0 {
		n := min(room, len(q))
		c.head = append(c.head, q[:n]...)
		q = q[n:]
	}
	if len(q) == 0 || c.half == 0 {
		return len(p), nil
	}
	if len(q) >= c.half {
		c.tail = append(c.tail[:0], q[len(q)-c.half:]...)
		return len(p), nil
	}
	if drop := len(c.tail) + len(q) - c.half; drop > 0 {
		c.tail = append(c.tail[:0], c.tail[drop:]...)
	}
	c.tail = append(c.tail, q...)
	return len(p), nil
}

// String returns the kept output, valid UTF-8, with a marker where bytes
// were dropped.
func (c *capture) String() string {
	kept := int64(len(c.head) + len(c.tail))
	if kept == c.total {
		return strings.ToValidUTF8(string(c.head)+string(c.tail), "\uFFFD")
	}
	return strings.ToValidUTF8(string(c.head), "\uFFFD") +
		fmt.Sprintf("\n[... %d bytes omitted ...]\n", c.total-kept) +
		strings.ToValidUTF8(string(c.tail), "\uFFFD")
}

// checkMessage is the status text of a check's output, as Monitoring
// Plugins print it: the first non-empty line, without its performance data
// (from the first "|"), trimmed and bounded.
func checkMessage(out string) string {
	for line := range strings.Lines(out) {
		text, _, _ := strings.Cut(line, "|")
		if text = strings.TrimSpace(text); text != "" {
			return clip(text)
		}
	}
	return ""
}

// lastLine is the last non-empty line of out, trimmed and bounded: where
// a failing script usually says why.
func lastLine(out string) string {
	lines := strings.Split(out, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if t := strings.TrimSpace(lines[i]); t != "" {
			return clip(t)
		}
	}
	return ""
}

// clip bounds s to maxLine bytes on a rune boundary, marking a cut with
// "…", and replaces control characters so that the result stays one line.
func clip(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f {
			return ' '
		}
		return r
	}, s)
	if len(s) <= maxLine {
		return s
	}
	cut := maxLine
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}
