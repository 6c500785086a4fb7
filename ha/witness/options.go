package witness

import (
	"errors"
	"log/slog"
)

// Option configures optional collaborators of a witness built by [HTTP]
// or [Ping].
type Option func(*options)

type options struct {
	log *slog.Logger
}

func buildOptions(opts []Option) options {
	o := options{log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	return o
}

// WithLogger sets the logger: each probe's outcome at debug (the target
// without user info, how long it took, for ping the kind of ICMP socket),
// and at warn, once, a witness built with certificate verification off.
// An error a probe returns is not logged. The default discards
// everything.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.log = l
		}
	}
}

// Errors a probe wraps when the witness answered, but not as healthy.
// Other errors (a name that does not resolve, a refused connection, a
// certificate not trusted, no answer in time) are returned as they come,
// with the target named; an answer that did not come in time also wraps
// [context.DeadlineExceeded].
var (
	// ErrStatus: the HTTP target answered with a status other than 200
	// (a redirect included: redirects are not followed).
	ErrStatus = errors.New("witness: the answer is not 200 OK")
	// ErrNoReply: no ICMP echo reply came back before the timeout.
	ErrNoReply = errors.New("witness: no echo reply")
)
