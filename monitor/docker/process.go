package docker

import (
	"context"
	"fmt"
	"regexp"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
)

// DefaultProcessPattern is the Hinemos Docker scripts' default process
// pattern: every process.
const DefaultProcessPattern = ".*"

// Processes is the process monitor of the Hinemos Docker scripts: it counts
// the processes in a running container whose command line (the CMD column
// of top) matches a regular expression. The match is unanchored (like Python's re.search),
// so "httpd" matches "httpd -D FOREGROUND"; anchor with ^ and $ when needed.
type Processes struct {
	c       *container.Client
	re      *regexp.Regexp
	pattern string
}

var _ monitor.Monitor = (*Processes)(nil)

// NewProcesses compiles pattern (Go RE2 syntax; empty means
// DefaultProcessPattern) and returns the monitor.
func NewProcesses(c *container.Client, pattern string) (*Processes, error) {
	if pattern == "" {
		pattern = DefaultProcessPattern
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		return nil, fmt.Errorf("process pattern %q: %w", pattern, err)
	}
	return &Processes{c: c, re: re, pattern: pattern}, nil
}

// Pattern returns the pattern text, which the Hinemos scripts print as the
// key's prefix.
func (p *Processes) Pattern() string { return p.pattern }

// Check lists the container's processes and counts the matches in the
// "processes" sample (label pattern). A container that is not running is
// an error (the engine cannot list its processes).
func (p *Processes) Check(ctx context.Context, t inventory.Target) (monitor.Result, error) {
	top, err := p.c.Top(ctx, t.ID, container.TopOptions{})
	if err != nil {
		return monitor.Result{}, err
	}
	col := top.Column("CMD")
	if col < 0 {
		col = top.Column("COMMAND")
	}
	if col < 0 {
		return monitor.Result{}, fmt.Errorf("top of %s has no CMD column (titles %v)", t.ShortID(), top.Titles)
	}
	n := 0
	for _, proc := range top.Processes {
		if col < len(proc) && p.re.MatchString(proc[col]) {
			n++
		}
	}
	now := time.Now()
	return monitor.Result{Time: now, Message: fmt.Sprintf("%d of %d processes match %q", n, len(top.Processes), p.pattern), Samples: []monitor.Sample{
		{Name: "processes", Value: float64(n), Labels: map[string]string{"pattern": p.pattern}, Time: now, Mode: monitor.ModeAPI},
		{Name: "processes_all", Value: float64(len(top.Processes)), Time: now, Mode: monitor.ModeAPI},
	}}, nil
}

// Describe lists the processes samples.
func (p *Processes) Describe() []monitor.SampleDesc {
	return []monitor.SampleDesc{
		{Name: "processes", Kind: monitor.Gauge, Help: "Processes whose command line matches the pattern.", Labels: []string{"pattern"}},
		{Name: "processes_all", Kind: monitor.Gauge, Help: "All processes in the container."},
	}
}
