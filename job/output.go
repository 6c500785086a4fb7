package job

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
)

type outputKey struct{}

// WithOutput returns a copy of ctx that carries w as the place actions
// write their output to (see [Output]). A nil w means io.Discard. The
// caller keeps ownership of w; whether w is safe for concurrent writes is
// up to the caller (the writer a [Network] installs is).
func WithOutput(ctx context.Context, w io.Writer) context.Context {
	if w == nil {
		w = io.Discard
	}
	return context.WithValue(ctx, outputKey{}, w)
}

// Output returns the writer an action should write its output (a
// process's stdout and stderr, a download's progress) to: the one installed
// by [WithOutput], or io.Discard when there is none. It never returns nil.
//
// An action that runs pieces of work in parallel may write to it from
// several goroutines only when the installer says the writer is safe for
// concurrent use; the writer a [Network] installs for each unit is. Actions
// must not write to it after Do returned.
func Output(ctx context.Context) io.Writer {
	if w, ok := ctx.Value(outputKey{}).(io.Writer); ok && w != nil {
		return w
	}
	return io.Discard
}

// DefaultOutputLimit is the bytes of output a [Network] keeps in memory per
// unit when Network.OutputLimit is 0: 1 MiB, as dagu's max_output_size.
const DefaultOutputLimit = 1 << 20

// capture is a unit's output writer: it keeps the first limit bytes in
// memory and, once they are exceeded, writes everything (the kept prefix
// included) to a spill file. It is safe for concurrent use.
type capture struct {
	mu       sync.Mutex
	limit    int64
	buf      []byte // at most limit bytes
	total    int64  // bytes written, kept or not
	dir      string
	pattern  string
	f        *os.File
	spillErr error
	closed   bool
}

func newCapture(limit int64, dir, network, unit string) *capture {
	return &capture{
		limit:   limit,
		dir:     dir,
		pattern: fileSafe(network) + "-" + fileSafe(unit) + "-*.log",
	}
}

// fileSafe makes s usable inside an os.CreateTemp pattern.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == '\\' || r == os.PathSeparator || r == '*' || r == 0 {
			return '_'
		}
		return r
	}, s)
}

// Write keeps p, or spills it; it never fails, so a full disk cannot fail
// the action: a spill error is reported in the unit's output note.
func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return len(p), nil
	}
	c.total += int64(len(p))
	if c.f == nil && c.spillErr == nil && int64(len(c.buf))+int64(len(p)) > c.limit {
		c.spill()
	}
	if c.f != nil {
		if _, err := c.f.Write(p); err != nil {
			c.spillErr = err
			c.drop()
		}
	}
	if room := c.limit - int64(len(c.buf)); room > 0 {
		c.buf = append(c.buf, p[:min(int64(len(p)), room)]...)
	}
	return len(p), nil
}

// spill creates the spill file and writes the kept prefix to it.
func (c *capture) spill() {
	dir := c.dir
	if dir == "" {
		dir = os.TempDir()
	}
	f, err := os.CreateTemp(dir, c.pattern)
	if err != nil {
		c.spillErr = err
		return
	}
	c.f = f
	if _, err := f.Write(c.buf); err != nil {
		c.spillErr = err
		c.drop()
	}
}

// drop closes and removes a spill file that could not be written whole.
func (c *capture) drop() {
	_ = c.f.Close()
	_ = os.Remove(c.f.Name())
	c.f = nil
}

// finish closes the capture (later writes are dropped) and returns the
// report's Output and OutputFile.
func (c *capture) finish() (output, file string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.closed = true
	if c.f != nil {
		if err := c.f.Close(); err != nil {
			c.spillErr = err
			_ = os.Remove(c.f.Name())
		} else {
			file = c.f.Name()
		}
		c.f = nil
	}
	output = string(c.buf)
	if c.total <= c.limit {
		return output, file
	}
	if c.spillErr != nil {
		return output + fmt.Sprintf("\n[output truncated: %d of %d bytes kept; spilling to a file failed: %v]\n", len(c.buf), c.total, c.spillErr), file
	}
	return output + fmt.Sprintf("\n[output truncated: %d of %d bytes kept; the whole output is in %s]\n", len(c.buf), c.total, file), file
}
