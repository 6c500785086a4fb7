package main

import (
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestSplitSteps(t *testing.T) {
	cases := []struct {
		args []string
		want [][]string
		bad  bool
	}{
		{args: []string{"sleep", "1s"}, want: [][]string{{"sleep", "1s"}}},
		{args: []string{"spawn", "3", "--", "sleep", "forever"}, want: [][]string{{"spawn", "3"}, {"sleep", "forever"}}},
		{args: []string{"print", "a", "b", "--", "eprint", "--", "exit", "3"}, want: [][]string{{"print", "a", "b"}, {"eprint"}, {"exit", "3"}}},
		{args: nil, bad: true},
		{args: []string{"--"}, bad: true},
		{args: []string{"pid", "--"}, bad: true},
		{args: []string{"--", "pid"}, bad: true},
		{args: []string{"pid", "--", "--", "env"}, bad: true},
	}
	for _, c := range cases {
		got, err := splitSteps(c.args)
		if c.bad {
			var ue *usageError
			if !errors.As(err, &ue) {
				t.Errorf("splitSteps(%q) err = %v, want usage error", c.args, err)
			}
			continue
		}
		if err != nil || !reflect.DeepEqual(got, c.want) {
			t.Errorf("splitSteps(%q) = %q, %v; want %q", c.args, got, err, c.want)
		}
	}
}

func TestParseValidation(t *testing.T) {
	good := [][]string{
		{"sleep", "1.5s"},
		{"sleep", "forever"},
		{"sleep", "0s", "--ignore-term"},
		{"burn", "2", "100ms"},
		{"alloc", "16", "--", "sleep", "forever"},
		{"write", "/tmp/x", "4"},
		{"emit", "0"},
		{"emit", "50"},
		{"listen", ":9000"},
		{"listen", "127.0.0.1:0"},
		{"send", "peer:9000", "1"},
		{"spawn", "3", "--", "sleep", "forever"},
		{"print"},
		{"print", "hello", "world"},
		{"eprint", "oops"},
		{"tree", "/data"},
		{"exit", "0"},
		{"exit", "255"},
		{"env"},
		{"pid"},
	}
	for _, args := range good {
		if _, err := parse(args); err != nil {
			t.Errorf("parse(%q) = %v, want ok", args, err)
		}
	}
	bad := [][]string{
		{"nope"},
		{"sleep"},
		{"sleep", "soon"},
		{"sleep", "-1s"},
		{"sleep", "1s", "--ignore-int"},
		{"sleep", "1s", "--ignore-term", "x"},
		{"burn", "0", "1s"},
		{"burn", "2"},
		{"alloc", "-1"},
		{"alloc", "x"},
		{"write", "/tmp/x"},
		{"write", "", "1"},
		{"emit"},
		{"emit", "-1"},
		{"emit", "1", "2"},
		{"listen", "9000"},
		{"send", "host:1"},
		{"send", "nohost", "1"},
		{"spawn", "-2"},
		{"tree"},
		{"exit", "256"},
		{"exit"},
		{"env", "x"},
		{"pid", "x"},
		{"print", "ok", "--", "bogus"},
	}
	for _, args := range bad {
		var ue *usageError
		if _, err := parse(args); !errors.As(err, &ue) {
			t.Errorf("parse(%q) = %v, want usage error", args, err)
		}
	}
	steps, err := parse([]string{"sleep", "forever", "--ignore-term"})
	if err != nil || !steps[0].ignoreTerm {
		t.Errorf("--ignore-term not recorded: %+v, %v", steps, err)
	}
}

func runProgram(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var o, e bytes.Buffer
	code = program(args, &o, &e)
	return code, o.String(), e.String()
}

func TestProgramUsageExit2(t *testing.T) {
	code, out, errOut := runProgram(t, "print", "never", "--", "frobnicate")
	if code != exitUsage {
		t.Errorf("code = %d, want %d", code, exitUsage)
	}
	if out != "" {
		t.Errorf("a step ran before validation finished: stdout %q", out)
	}
	if !strings.Contains(errOut, `unknown step "frobnicate"`) || !strings.Contains(errOut, "usage:") {
		t.Errorf("stderr = %q", errOut)
	}
}

func TestProgramSequence(t *testing.T) {
	code, out, errOut := runProgram(t, "print", "hello", "world", "--", "eprint", "oops", "--", "pid", "--", "exit", "3", "--", "print", "unreached")
	if code != 3 {
		t.Errorf("code = %d, want 3", code)
	}
	want := "hello world\n" + strconv.Itoa(os.Getpid()) + "\n"
	if out != want {
		t.Errorf("stdout = %q, want %q", out, want)
	}
	if errOut != "oops\n" {
		t.Errorf("stderr = %q", errOut)
	}
}

func TestProgramRuntimeFailureExit1(t *testing.T) {
	code, _, errOut := runProgram(t, "write", filepath.Join(t.TempDir(), "missing", "f"), "1")
	if code != exitFailure || !strings.Contains(errOut, "testbox: write:") {
		t.Errorf("code = %d stderr = %q", code, errOut)
	}
}

func TestPrintEnvSorted(t *testing.T) {
	var b bytes.Buffer
	if err := printEnv(&b, []string{"B=2", "A=1", "C=3"}); err != nil {
		t.Fatal(err)
	}
	if b.String() != "A=1\nB=2\nC=3\n" {
		t.Errorf("got %q", b.String())
	}
}

func TestWriteAndAlloc(t *testing.T) {
	p := filepath.Join(t.TempDir(), "f")
	code, _, errOut := runProgram(t, "write", p, "2", "--", "alloc", "4", "--", "burn", "2", "20ms", "--", "sleep", "10ms")
	if code != 0 {
		t.Fatalf("code = %d stderr %q", code, errOut)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Size() != 2*mib {
		t.Errorf("stat = %v, %v; want %d bytes", fi, err, 2*mib)
	}
}

func TestEmit(t *testing.T) {
	code, out, errOut := runProgram(t, "emit", "3", "--", "print", "end")
	if code != 0 {
		t.Fatalf("code = %d stderr %q", code, errOut)
	}
	if want := strings.Repeat("x", 3*mib) + "end\n"; out != want {
		t.Errorf("stdout has %d bytes, want %d", len(out), len(want))
	}
}

func TestListenSend(t *testing.T) {
	// Pick a free port, then let listen bind it.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	steps, err := parse([]string{"listen", addr})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var out bytes.Buffer
	done := make(chan int, 1)
	go func() { done <- execute(ctx, steps, &env{stdout: &out, stderr: &out}) }()

	// send retries while the listener is starting.
	if code, _, errOut := runProgram(t, "send", addr, "3"); code != 0 {
		t.Fatalf("send: code %d stderr %q", code, errOut)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("listen exit = %d, want 0 on cancel", code)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("listen did not stop on cancel")
	}
	if !strings.HasPrefix(out.String(), "listening "+addr) {
		t.Errorf("listen output = %q", out.String())
	}
}

func TestSleepCancelledExits0(t *testing.T) {
	steps, err := parse([]string{"sleep", "forever", "--", "exit", "9"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(20*time.Millisecond, cancel)
	if code := execute(ctx, steps, &env{}); code != 0 {
		t.Errorf("code = %d, want 0 (signal ends the run)", code)
	}
}

func TestTree(t *testing.T) {
	old := syscall.Umask(0o077) // must not matter
	defer syscall.Umask(old)
	dir := filepath.Join(t.TempDir(), "data")
	if err := tree(dir); err != nil {
		t.Fatal(err)
	}
	want := map[string]struct {
		mode    fs.FileMode
		content string
	}{
		".":         {fs.ModeDir | 0o755, ""},
		"a.txt":     {0o644, "alpha\n"},
		"sub":       {fs.ModeDir | 0o750, ""},
		"sub/b.txt": {0o600, "bravo\n"},
		"exec.sh":   {0o755, "#!/bin/sh\n"},
	}
	seen := 0
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		w, ok := want[filepath.ToSlash(rel)]
		if !ok {
			t.Errorf("unexpected entry %s", rel)
			return nil
		}
		seen++
		fi, err := d.Info()
		if err != nil {
			return err
		}
		if fi.Mode() != w.mode {
			t.Errorf("%s mode = %v, want %v", rel, fi.Mode(), w.mode)
		}
		if !d.IsDir() {
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if string(b) != w.content {
				t.Errorf("%s content = %q, want %q", rel, b, w.content)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen != len(want) {
		t.Errorf("saw %d entries, want %d", seen, len(want))
	}
	if os.Geteuid() == 0 {
		fi, err := os.Stat(filepath.Join(dir, "sub", "b.txt"))
		if err != nil {
			t.Fatal(err)
		}
		if st := fi.Sys().(*syscall.Stat_t); st.Uid != 1000 || st.Gid != 1000 {
			t.Errorf("b.txt owner = %d:%d, want 1000:1000", st.Uid, st.Gid)
		}
	}
	// Idempotent: running it again over an existing tree works.
	if err := tree(dir); err != nil {
		t.Errorf("second tree: %v", err)
	}
}
