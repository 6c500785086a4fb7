// Command testbox is the single, static workload program baked into the
// minato test image (FROM scratch: no shell, no libc). It is installed as
// /testbox and is the image ENTRYPOINT, so
//
//	docker run IMAGE sleep 30s       runs  /testbox sleep 30s
//	docker exec CTR /testbox print hi
//
// It uses the standard library only and must stay buildable with
// CGO_ENABLED=0.
//
// # Grammar
//
//	testbox STEP [ARGS...] [-- STEP [ARGS...]]...
//
// Steps run in sequence; a literal "--" argument separates them. Every step
// is validated before the first one runs: bad usage prints a message to
// stderr and exits with status 2. A runtime failure of a step prints the
// error to stderr and exits with status 1. When all steps complete the
// program exits 0.
//
// # Steps
//
//	sleep DURATION [--ignore-term]
//	    Sleep for a Go duration (time.ParseDuration) or "forever".
//	burn N DURATION
//	    Spin N goroutines, each locked to its own OS thread, for DURATION.
//	    GOMAXPROCS is raised to at least N for the duration of the step.
//	alloc MIB
//	    Allocate MIB MiB and write every page; the memory stays referenced
//	    for the life of the process. Continues with the next step, so use
//	    "alloc 64 -- sleep forever" to hold it.
//	write PATH MIB
//	    Write MIB MiB to PATH (created/truncated, mode 0644) and fsync it.
//	emit MIB
//	    Write MIB MiB of 'x' (no newline) to stdout, for output-volume tests.
//	listen ADDR
//	    Listen on TCP ADDR, print "listening ADDR" (the resolved address)
//	    on stdout, accept connections and discard everything read, until a
//	    signal arrives.
//	send ADDR MIB
//	    Connect to TCP ADDR (retrying for up to 10 s while the peer is not
//	    yet accepting), send MIB MiB, then close.
//	spawn N
//	    Start N child processes "/proc/self/exe sleep forever" and continue
//	    with the next step ("spawn 3 -- sleep forever" gives 4 processes).
//	    The children are killed when testbox itself finishes.
//	print TEXT...
//	    Print the words joined by single spaces plus a newline on stdout.
//	eprint TEXT...
//	    The same on stderr.
//	tree DIR
//	    Create a known file tree (modes are set with explicit chmod, so the
//	    umask does not matter):
//	        DIR/            0755
//	        DIR/a.txt       0644 "alpha\n"
//	        DIR/sub/        0750
//	        DIR/sub/b.txt   0600 "bravo\n", owned by 1000:1000 (only if root)
//	        DIR/exec.sh     0755 "#!/bin/sh\n"
//	exit N
//	    Exit with status N (0..255) immediately.
//	env
//	    Print the environment, one VAR=value per line, sorted.
//	pid
//	    Print the process ID on stdout.
//
// # Signals
//
// A container's PID 1 gets no default signal dispositions from the kernel,
// so testbox installs a SIGTERM/SIGINT handler: on either signal the current
// step is abandoned and the program exits 0 promptly. If any step is
// "sleep ... --ignore-term", SIGTERM is ignored for the whole run instead
// (SIGINT is still handled), which lets tests exercise the stop grace period:
// the engine has to SIGKILL the container, giving exit code 137.
package main
