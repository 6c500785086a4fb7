package aws

import (
	"io"
	"log/slog"
	"time"
)

// Option sets an optional collaborator of a resource, monitor or witness
// of this package.
type Option func(*options)

type options struct {
	log *slog.Logger
	now func() time.Time
}

// WithLogger sends the component's log lines to l (default: discarded).
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// withClock replaces time.Now (tests).
func withClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

func buildOptions(opts []Option) options {
	o := options{log: slog.New(slog.NewTextHandler(io.Discard, nil)), now: time.Now}
	for _, f := range opts {
		if f != nil {
			f(&o)
		}
	}
	return o
}
