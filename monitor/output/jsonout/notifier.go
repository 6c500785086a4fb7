package jsonout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/notify"
)

// LineNotifier is a [notify.Notifier] appending one compact JSON
// [Evaluation] per line (JSON lines), the same lines as [LineSink], to a
// writer or a file. Unlike a LineSink it is safe for concurrent use (a
// Runner reports the transitions of different checks concurrently), and
// it counts what it writes: a line that cannot be written is a drop,
// returned by Notify and counted in [LineNotifier.Stats].
//
// Each line is written with one Write call before Notify returns, so
// Stats.Pending is always 0 and a file holds whole lines; what the
// operating system has not yet put on disk is forced there by
// [LineNotifier.Flush] (fsync) for a file of [NewFileNotifier].
type LineNotifier struct {
	name string   // for errors: the file's path, or "writer"
	file *os.File // owned, synced by Flush, closed by Close; nil for NewLineNotifier
	cnt  notify.Counter

	mu     sync.Mutex // one line at a time; guards w and closed
	w      io.Writer
	closed bool
}

var _ notify.Notifier = (*LineNotifier)(nil)

// NewLineNotifier returns a LineNotifier writing to w, such as os.Stdout.
// Flush and Close do not sync nor close w.
func NewLineNotifier(w io.Writer) *LineNotifier {
	return &LineNotifier{name: "writer", w: w}
}

// NewFileNotifier opens the file at path for appending, creating it with
// mode 0600 (notifications may name hosts and containers) when it does
// not exist, and returns a LineNotifier writing to it. Flush syncs the
// file to disk; Close syncs and closes it.
func NewFileNotifier(path string) (*LineNotifier, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, fmt.Errorf("jsonout: %w", err)
	}
	return &LineNotifier{name: path, w: f, file: f}, nil
}

// Notify writes ev as one line. ctx is only checked first. An error means
// the line was not written, or only in part (a full disk, a closed pipe),
// or the LineNotifier is closed ([notify.ErrClosed]); it is counted as
// dropped.
func (n *LineNotifier) Notify(ctx context.Context, ev monitor.Evaluation) error {
	return n.cnt.Count(n.write(ctx, ev))
}

func (n *LineNotifier) write(ctx context.Context, ev monitor.Evaluation) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	b, err := json.Marshal(NewEvaluation(ev))
	if err != nil {
		return fmt.Errorf("jsonout: %w", err)
	}
	b = append(b, '\n')
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return notify.ErrClosed
	}
	if _, err := n.w.Write(b); err != nil {
		return fmt.Errorf("jsonout: write to %s: %w", n.name, err)
	}
	return nil
}

// Stats returns the lines written (Sent) and those that could not be
// (Dropped); Pending is 0.
func (n *LineNotifier) Stats() notify.Stats { return n.cnt.Stats() }

// Flush syncs a file of NewFileNotifier to disk (fsync), so that every
// line written before is on it; for a writer of NewLineNotifier it
// returns nil, as every line was handed to the writer before Notify
// returned. An fsync cannot be canceled: ctx is only checked first.
func (n *LineNotifier) Flush(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.file == nil || n.closed {
		return nil
	}
	if err := n.file.Sync(); err != nil {
		return fmt.Errorf("jsonout: sync %s: %w", n.name, err)
	}
	return nil
}

// Close stops accepting lines and, for a file of NewFileNotifier, syncs
// and closes it. There is nothing queued to deliver, so ctx is not
// needed. Close is idempotent: later calls return nil.
func (n *LineNotifier) Close(context.Context) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil
	}
	n.closed = true
	if n.file == nil {
		return nil
	}
	serr := n.file.Sync()
	if err := errors.Join(serr, n.file.Close()); err != nil {
		return fmt.Errorf("jsonout: close %s: %w", n.name, err)
	}
	return nil
}
