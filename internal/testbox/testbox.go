package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

const (
	// exitUsage is the exit status for bad usage.
	exitUsage = 2
	// exitFailure is the exit status for a step that failed at run time.
	exitFailure = 1

	mib = 1 << 20

	// sendDialWindow is how long "send" keeps retrying the connection.
	sendDialWindow = 10 * time.Second
)

const usageText = `usage: testbox STEP [ARGS...] [-- STEP [ARGS...]]...
steps:
  sleep DURATION|forever [--ignore-term]
  burn N DURATION
  alloc MIB
  write PATH MIB
  emit MIB
  listen ADDR
  send ADDR MIB
  spawn N
  print TEXT...
  eprint TEXT...
  tree DIR
  exit N
  env
  pid
`

// usageError reports bad command-line usage (exit status 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error {
	return &usageError{msg: fmt.Sprintf(format, a...)}
}

// exitRequest is returned by the "exit" step to end the program with a code.
type exitRequest struct{ code int }

func (e *exitRequest) Error() string { return fmt.Sprintf("exit %d", e.code) }

// env is the state shared by the steps of one run.
type env struct {
	stdout, stderr io.Writer
	// exe is the program started by "spawn".
	exe string

	mu       sync.Mutex
	children []*exec.Cmd
}

// step is one parsed, validated step.
type step struct {
	name string
	args []string
	// ignoreTerm is set for "sleep ... --ignore-term".
	ignoreTerm bool
	run        func(ctx context.Context, e *env) error
}

// retained keeps "alloc" memory reachable for the life of the process.
var retained [][]byte

// splitSteps splits the argument list at literal "--" arguments.
func splitSteps(args []string) ([][]string, error) {
	if len(args) == 0 {
		return nil, usagef("no step given")
	}
	var steps [][]string
	cur := []string{}
	for _, a := range args {
		if a == "--" {
			if len(cur) == 0 {
				return nil, usagef("empty step (stray %q)", "--")
			}
			steps = append(steps, cur)
			cur = []string{}
			continue
		}
		cur = append(cur, a)
	}
	if len(cur) == 0 {
		return nil, usagef("empty step after trailing %q", "--")
	}
	return append(steps, cur), nil
}

// parse splits and validates the whole argument list.
func parse(args []string) ([]step, error) {
	groups, err := splitSteps(args)
	if err != nil {
		return nil, err
	}
	steps := make([]step, 0, len(groups))
	for _, g := range groups {
		s, err := parseStep(g[0], g[1:])
		if err != nil {
			return nil, err
		}
		steps = append(steps, s)
	}
	return steps, nil
}

func wantArgs(name string, args []string, n int, form string) error {
	if len(args) != n {
		return usagef("%s: want %s, got %d argument(s)", name, form, len(args))
	}
	return nil
}

func parseInt(name, what, s string, lo, hi int) (int, error) {
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, usagef("%s: %s must be an integer in [%d, %d], got %q", name, what, lo, hi, s)
	}
	return n, nil
}

// parseDuration accepts a non-negative Go duration or "forever" (returned as -1).
func parseDuration(name, s string) (time.Duration, error) {
	if s == "forever" {
		return -1, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, usagef("%s: bad duration %q (want a Go duration such as 1.5s, or forever)", name, s)
	}
	return d, nil
}

func parseAddr(name, s string) error {
	if _, _, err := net.SplitHostPort(s); err != nil {
		return usagef("%s: bad address %q: %v", name, s, err)
	}
	return nil
}

// parseStep validates one step and binds its arguments.
func parseStep(name string, args []string) (step, error) {
	s := step{name: name, args: args}
	switch name {
	case "sleep":
		if len(args) < 1 || len(args) > 2 {
			return s, usagef("sleep: want DURATION|forever [--ignore-term], got %d argument(s)", len(args))
		}
		d, err := parseDuration(name, args[0])
		if err != nil {
			return s, err
		}
		if len(args) == 2 {
			if args[1] != "--ignore-term" {
				return s, usagef("sleep: unknown flag %q (only --ignore-term)", args[1])
			}
			s.ignoreTerm = true
		}
		s.run = func(ctx context.Context, _ *env) error { return sleep(ctx, d) }
	case "burn":
		if err := wantArgs(name, args, 2, "N DURATION"); err != nil {
			return s, err
		}
		n, err := parseInt(name, "N", args[0], 1, 1024)
		if err != nil {
			return s, err
		}
		d, err := parseDuration(name, args[1])
		if err != nil {
			return s, err
		}
		s.run = func(ctx context.Context, _ *env) error { return burn(ctx, n, d) }
	case "alloc":
		if err := wantArgs(name, args, 1, "MIB"); err != nil {
			return s, err
		}
		n, err := parseInt(name, "MIB", args[0], 0, 1<<20)
		if err != nil {
			return s, err
		}
		s.run = func(ctx context.Context, _ *env) error { return alloc(ctx, n) }
	case "write":
		if err := wantArgs(name, args, 2, "PATH MIB"); err != nil {
			return s, err
		}
		if args[0] == "" {
			return s, usagef("write: empty PATH")
		}
		n, err := parseInt(name, "MIB", args[1], 0, 1<<20)
		if err != nil {
			return s, err
		}
		path := args[0]
		s.run = func(ctx context.Context, _ *env) error { return write(ctx, path, n) }
	case "emit":
		if err := wantArgs(name, args, 1, "MIB"); err != nil {
			return s, err
		}
		n, err := parseInt(name, "MIB", args[0], 0, 1<<20)
		if err != nil {
			return s, err
		}
		s.run = func(ctx context.Context, e *env) error { return emit(ctx, e.stdout, n) }
	case "listen":
		if err := wantArgs(name, args, 1, "ADDR"); err != nil {
			return s, err
		}
		if err := parseAddr(name, args[0]); err != nil {
			return s, err
		}
		addr := args[0]
		s.run = func(ctx context.Context, e *env) error { return listen(ctx, e, addr) }
	case "send":
		if err := wantArgs(name, args, 2, "ADDR MIB"); err != nil {
			return s, err
		}
		if err := parseAddr(name, args[0]); err != nil {
			return s, err
		}
		n, err := parseInt(name, "MIB", args[1], 0, 1<<20)
		if err != nil {
			return s, err
		}
		addr := args[0]
		s.run = func(ctx context.Context, _ *env) error { return send(ctx, addr, n) }
	case "spawn":
		if err := wantArgs(name, args, 1, "N"); err != nil {
			return s, err
		}
		n, err := parseInt(name, "N", args[0], 0, 1000)
		if err != nil {
			return s, err
		}
		s.run = func(_ context.Context, e *env) error { return spawn(e, n) }
	case "print", "eprint":
		text := strings.Join(args, " ") + "\n"
		s.run = func(_ context.Context, e *env) error {
			w := e.stdout
			if name == "eprint" {
				w = e.stderr
			}
			_, err := io.WriteString(w, text)
			return err
		}
	case "tree":
		if err := wantArgs(name, args, 1, "DIR"); err != nil {
			return s, err
		}
		if args[0] == "" {
			return s, usagef("tree: empty DIR")
		}
		dir := args[0]
		s.run = func(context.Context, *env) error { return tree(dir) }
	case "exit":
		if err := wantArgs(name, args, 1, "N"); err != nil {
			return s, err
		}
		n, err := parseInt(name, "N", args[0], 0, 255)
		if err != nil {
			return s, err
		}
		s.run = func(context.Context, *env) error { return &exitRequest{code: n} }
	case "env":
		if err := wantArgs(name, args, 0, "no arguments"); err != nil {
			return s, err
		}
		s.run = func(_ context.Context, e *env) error { return printEnv(e.stdout, os.Environ()) }
	case "pid":
		if err := wantArgs(name, args, 0, "no arguments"); err != nil {
			return s, err
		}
		s.run = func(_ context.Context, e *env) error {
			_, err := fmt.Fprintln(e.stdout, os.Getpid())
			return err
		}
	default:
		return s, usagef("unknown step %q", name)
	}
	return s, nil
}

// program is the whole command: it parses args, sets up signal handling and
// runs the steps, returning the process exit status.
func program(args []string, stdout, stderr io.Writer) int {
	steps, err := parse(args)
	if err != nil {
		fmt.Fprintf(stderr, "testbox: %v\n%s", err, usageText)
		return exitUsage
	}
	ignoreTerm := false
	for _, s := range steps {
		ignoreTerm = ignoreTerm || s.ignoreTerm
	}
	sigs := []os.Signal{syscall.SIGTERM, os.Interrupt}
	if ignoreTerm {
		signal.Ignore(syscall.SIGTERM)
		sigs = []os.Signal{os.Interrupt}
	}
	ctx, stop := signal.NotifyContext(context.Background(), sigs...)
	defer stop()
	return execute(ctx, steps, &env{stdout: stdout, stderr: stderr, exe: "/proc/self/exe"})
}

// execute runs validated steps in order. A cancelled ctx (a signal) ends
// the run with status 0. Spawned children are killed before it returns.
func execute(ctx context.Context, steps []step, e *env) int {
	defer e.killChildren()
	for _, s := range steps {
		err := s.run(ctx, e)
		if err == nil {
			continue
		}
		var ex *exitRequest
		switch {
		case errors.As(err, &ex):
			return ex.code
		case ctx.Err() != nil:
			return 0
		default:
			fmt.Fprintf(e.stderr, "testbox: %s: %v\n", s.name, err)
			return exitFailure
		}
	}
	return 0
}

func sleep(ctx context.Context, d time.Duration) error {
	if d < 0 {
		<-ctx.Done()
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func burn(ctx context.Context, n int, d time.Duration) error {
	if prev := runtime.GOMAXPROCS(0); prev < n {
		runtime.GOMAXPROCS(n)
		defer runtime.GOMAXPROCS(prev)
	}
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			x := uint64(1)
			for !stop.Load() {
				for i := range uint64(1 << 16) {
					x = x*6364136223846793005 + i
				}
			}
			_ = x
		}()
	}
	err := sleep(ctx, d)
	stop.Store(true)
	wg.Wait()
	return err
}

func alloc(ctx context.Context, n int) error {
	buf := make([]byte, n*mib)
	page := os.Getpagesize()
	for i := 0; i < len(buf); i += page {
		buf[i] = 1
		if i%(64*mib) == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
	}
	retained = append(retained, buf)
	return nil
}

func fill(b []byte) {
	for i := range b {
		b[i] = byte(i*7 + 1)
	}
}

func write(ctx context.Context, path string, n int) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	chunk := make([]byte, mib)
	fill(chunk)
	for range n {
		if err := ctx.Err(); err != nil {
			f.Close()
			return err
		}
		if _, err := f.Write(chunk); err != nil {
			f.Close()
			return err
		}
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// emit writes n MiB of 'x' to w, with no newline.
func emit(ctx context.Context, w io.Writer, n int) error {
	chunk := []byte(strings.Repeat("x", mib))
	for range n {
		if err := ctx.Err(); err != nil {
			return err
		}
		if _, err := w.Write(chunk); err != nil {
			return err
		}
	}
	return nil
}

func listen(ctx context.Context, e *env, addr string) error {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	if _, err := fmt.Fprintf(e.stdout, "listening %s\n", ln.Addr()); err != nil {
		ln.Close()
		return err
	}
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	for {
		c, err := ln.Accept()
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		go func() {
			defer c.Close()
			_, _ = io.Copy(io.Discard, c)
		}()
	}
}

func send(ctx context.Context, addr string, n int) error {
	var d net.Dialer
	deadline := time.Now().Add(sendDialWindow)
	var conn net.Conn
	for {
		c, err := d.DialContext(ctx, "tcp", addr)
		if err == nil {
			conn = c
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if time.Now().After(deadline) {
			return err
		}
		if err := sleep(ctx, 100*time.Millisecond); err != nil {
			return err
		}
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	chunk := make([]byte, mib)
	fill(chunk)
	for range n {
		if _, err := conn.Write(chunk); err != nil {
			return err
		}
	}
	// Half-close and wait for the peer to close, so the data is known to
	// have been received before we report success.
	if tc, ok := conn.(*net.TCPConn); ok {
		if err := tc.CloseWrite(); err != nil {
			return err
		}
		_ = conn.SetReadDeadline(time.Now().Add(sendDialWindow))
		_, _ = io.Copy(io.Discard, conn)
	}
	return nil
}

func spawn(e *env, n int) error {
	for range n {
		cmd := exec.Command(e.exe, "sleep", "forever")
		cmd.Args[0] = os.Args[0] // show as "/testbox sleep forever" in ps, not /proc/self/exe
		if err := cmd.Start(); err != nil {
			return err
		}
		e.mu.Lock()
		e.children = append(e.children, cmd)
		e.mu.Unlock()
	}
	return nil
}

func (e *env) killChildren() {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, c := range e.children {
		_ = c.Process.Kill()
		_ = c.Wait()
	}
	e.children = nil
}

// tree creates the known file tree documented in the package comment.
func tree(dir string) error {
	sub := filepath.Join(dir, "sub")
	type file struct {
		path    string
		content string
		mode    os.FileMode
	}
	if err := mkdir(dir, 0o755); err != nil {
		return err
	}
	if err := mkdir(sub, 0o750); err != nil {
		return err
	}
	files := []file{
		{filepath.Join(dir, "a.txt"), "alpha\n", 0o644},
		{filepath.Join(sub, "b.txt"), "bravo\n", 0o600},
		{filepath.Join(dir, "exec.sh"), "#!/bin/sh\n", 0o755},
	}
	for _, f := range files {
		if err := os.WriteFile(f.path, []byte(f.content), f.mode); err != nil {
			return err
		}
		if err := os.Chmod(f.path, f.mode); err != nil {
			return err
		}
	}
	b := filepath.Join(sub, "b.txt")
	if err := os.Lchown(b, 1000, 1000); err != nil && os.Geteuid() == 0 {
		return err
	}
	return nil
}

func mkdir(path string, mode os.FileMode) error {
	if err := os.MkdirAll(path, mode); err != nil {
		return err
	}
	return os.Chmod(path, mode)
}

func printEnv(w io.Writer, environ []string) error {
	vars := append([]string(nil), environ...)
	sort.Strings(vars)
	for _, v := range vars {
		if _, err := fmt.Fprintln(w, v); err != nil {
			return err
		}
	}
	return nil
}
