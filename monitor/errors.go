package monitor

import "errors"

// ErrNoBaseline is wrapped by monitors that compute a rate or delta and have
// no previous sample yet (the first run of a key, or a counter reset). It is
// not a failure of the target; a [Runner] reports Unknown with the
// message "no value yet: a rate needs the previous sample (the next run
// has one)".
var ErrNoBaseline = errors.New("monitor: no baseline sample yet")

// ErrNotSupported is wrapped when a value cannot be had on this engine or
// platform (per-core CPU on cgroup v2). Outputs report it as unsupported,
// never as 0: a [Runner]'s message is "unsupported: " followed by what the
// error says besides this sentinel's text.
var ErrNotSupported = errors.New("monitor: not supported here")
