package job

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/minato-ops/minato/inventory"
)

// UnitState is the state of one unit of a [Network] run, and the state of
// the run as a whole in [NetworkReport].
type UnitState string

// The states of a unit. A unit starts Pending, becomes Running when the
// Network starts its action, and ends in one of the other states; a unit
// that never runs goes from Pending straight to Skipped or Cancelled.
const (
	// Pending: the unit waits for its needs (or a free slot).
	Pending UnitState = "pending"
	// Held: an operator holds the unit before it starts (see
	// [Execution.Hold]); it waits, and so do the units that need it, until
	// released.
	Held UnitState = "held"
	// Running: the unit's action is running.
	Running UnitState = "running"
	// Succeeded: the action returned exit code 0, or an exit code its
	// RetryPolicy ignores.
	Succeeded UnitState = "succeeded"
	// StateFailed: the action returned a non-zero exit code, or an error.
	// (It is not named Failed: that is the [Failed] Report constructor.)
	StateFailed UnitState = "failed"
	// Skipped: the unit's When condition did not hold, or the action
	// had nothing to do (Outcome.Skipped).
	Skipped UnitState = "skipped"
	// Cancelled: the run's ctx ended before the unit started, or
	// ended the unit's action before it succeeded.
	Cancelled UnitState = "cancelled"
	// TimedOut: the unit's Timeout ended its (last) attempt.
	TimedOut UnitState = "timed_out"
)

// Finished reports whether s is a final state: anything but pending and
// running.
func (s UnitState) Finished() bool {
	switch s {
	case Succeeded, StateFailed, Skipped, Cancelled, TimedOut:
		return true
	}
	return false
}

// The values of When.On.
const (
	// WhenSuccess runs the unit when every need succeeded (the default).
	WhenSuccess = "success"
	// WhenFailure runs the unit when at least one need failed or timed out.
	WhenFailure = "failure"
	// WhenAlways runs the unit once every need finished, whatever its state.
	WhenAlways = "always"
	// WhenExit runs the unit when every need exited with one of When.Codes.
	WhenExit = "exit"
)

// When is the condition on the outcomes of the units a unit needs, checked
// once all of them finished. A unit whose condition does not hold is
// Skipped, which its own dependents see as a skipped need.
type When struct {
	// On is "success" (the default when empty and Codes is empty: every
	// need succeeded), "failure" (at least one need failed or timed out),
	// "always" (every need finished, in any state) or "exit" (see Codes).
	On string `json:"on"`
	// Codes, with On empty or "exit", runs the unit when every need ran to
	// an exit code (succeeded or failed, not skipped, timed out, cancelled
	// or failed with an error) and that code is one of Codes.
	Codes []int `json:"codes"`
}

// UnmarshalText sets w from its short form, the condition alone:
// "success", "failure" or "always" (a job file's `when: failure`). Exit
// codes need the mapping form ({codes: [0, 3]}), which decoders that know
// both forms read into the fields.
func (w *When) UnmarshalText(text []byte) error {
	switch s := string(text); s {
	case WhenSuccess, WhenFailure, WhenAlways:
		*w = When{On: s}
		return nil
	}
	return errors.New("want success, failure, always or {codes: [...]}")
}

// UnmarshalJSON reads either form: a string, as UnmarshalText, or an
// object of the fields.
func (w *When) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		return w.UnmarshalText([]byte(s))
	}
	type fields When // without the methods
	return json.Unmarshal(b, (*fields)(w))
}

// Unit is one node of a [Network]: an Action applied to one Target once
// the units it needs finished and its condition holds.
type Unit struct {
	// Name identifies the unit within its Network; required and unique.
	Name string
	// Action is what the unit does; required.
	Action Action
	// Target is passed to Action.Do; it may be the zero Target for actions
	// that need none.
	Target inventory.Target
	// Needs names the units that must finish before this one starts.
	Needs []string
	// When is the condition on the needs' outcomes; the zero When means
	// "every need succeeded".
	When When
	// Timeout bounds each attempt (see [Timeout]); 0 means none.
	Timeout time.Duration
	// Retry, when set, retries the action (see [Retry]); the Timeout
	// applies to each attempt.
	Retry *RetryPolicy
}

// Network is a job network (JobCenter's term): units connected by their
// needs into a directed acyclic graph, run by [Network.Start]. It is data;
// Run does not modify it, and one Network may be run several times,
// concurrently too, when its Actions allow it.
type Network struct {
	// Name names the network in reports and spill file names.
	Name string
	// Units are the units, in definition order: among units ready at the
	// same time, earlier ones start first.
	Units []Unit
	// Concurrency is how many units run at once; 0 means no limit.
	Concurrency int
	// OutputLimit is how many bytes of each unit's output are kept in
	// memory; 0 means DefaultOutputLimit (1 MiB). Beyond it, the whole
	// output goes to a spill file.
	OutputLimit int64
	// SpillDir is where spill files are created; "" means os.TempDir().
	SpillDir string
}

// Validate reports every problem with the network, joined, each naming
// the unit (`unit "b"`, or `unit #3` when it has no name) and the field:
// empty or duplicate names, unknown needs, a unit needing itself, cycles
// (with their path, "a -> b -> a", where each unit needs the next), a nil
// Action, a negative Timeout, a bad When (unknown On, Codes with On
// success, failure or always, On exit without Codes, failure or exit
// conditions on a unit without needs) and an invalid RetryPolicy (as
// "retry.<field>"). Network-level problems (no units, negative
// Concurrency or OutputLimit) name the network.
func (n *Network) Validate() error {
	if n == nil {
		return errors.New("job: nil network")
	}
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if len(n.Units) == 0 {
		add("network %q: units: none", n.Name)
	}
	if n.Concurrency < 0 {
		add("network %q: concurrency: must not be negative, got %d", n.Name, n.Concurrency)
	}
	if n.OutputLimit < 0 {
		add("network %q: output_limit: must not be negative, got %d", n.Name, n.OutputLimit)
	}
	index := make(map[string]int, len(n.Units))
	for i, u := range n.Units {
		switch j, dup := index[u.Name]; {
		case u.Name == "":
			add("unit #%d: name: empty", i+1)
		case dup:
			add("unit %q (#%d): name: duplicate of unit #%d", u.Name, i+1, j+1)
		default:
			index[u.Name] = i
		}
	}
	for i, u := range n.Units {
		who := "unit #" + strconv.Itoa(i+1)
		if u.Name != "" {
			who = "unit " + strconv.Quote(u.Name)
		}
		if u.Action == nil {
			add("%s: action: nil", who)
		}
		if u.Timeout < 0 {
			add("%s: timeout: must not be negative, got %s", who, u.Timeout)
		}
		for _, need := range u.Needs {
			if need == u.Name && need != "" {
				add("%s: needs: the unit needs itself", who)
			} else if _, ok := index[need]; !ok {
				add("%s: needs: unknown unit %q", who, need)
			}
		}
		switch u.When.On {
		case "":
		case WhenExit:
			if len(u.When.Codes) == 0 {
				add("%s: when.codes: required with on %q", who, WhenExit)
			}
		case WhenSuccess, WhenFailure, WhenAlways:
			if len(u.When.Codes) > 0 {
				add("%s: when.codes: only with on %q or empty, not with on %q", who, WhenExit, u.When.On)
			}
		default:
			add("%s: when.on: unknown condition %q (want success, failure, always or exit)", who, u.When.On)
		}
		if len(u.Needs) == 0 && (u.When.On == WhenFailure || u.When.On == WhenExit || len(u.When.Codes) > 0) {
			add("%s: when: a condition on needs, but the unit needs no other unit", who)
		}
		if u.Retry != nil {
			for _, p := range u.Retry.problems() {
				add("%s: retry.%s", who, p)
			}
		}
	}
	errs = append(errs, n.cycles(index)...)
	return errors.Join(errs...)
}

// cycles finds the dependency cycles by depth-first search in definition
// order, one error per cycle found.
func (n *Network) cycles(index map[string]int) []error {
	const (
		white = iota
		grey
		black
	)
	var (
		errs  []error
		color = make([]int8, len(n.Units))
		stack []int
		visit func(i int)
	)
	visit = func(i int) {
		color[i] = grey
		stack = append(stack, i)
		for _, need := range n.Units[i].Needs {
			j, ok := index[need]
			if !ok || j == i {
				continue
			}
			switch color[j] {
			case grey:
				k := slices.Index(stack, j)
				path := make([]string, 0, len(stack)-k+1)
				for _, s := range stack[k:] {
					path = append(path, n.Units[s].Name)
				}
				path = append(path, n.Units[j].Name)
				errs = append(errs, fmt.Errorf("unit %q: needs: cycle %s", n.Units[j].Name, strings.Join(path, " -> ")))
			case white:
				visit(j)
			}
		}
		stack = stack[:len(stack)-1]
		color[i] = black
	}
	for i := range n.Units {
		if color[i] == white {
			visit(i)
		}
	}
	return errs
}

// UnitReport is the state and result of one unit of a Network run.
type UnitReport struct {
	// Name is the unit's name.
	Name string `json:"name"`
	// State is the unit's state.
	State UnitState `json:"state"`
	// ExitCode is the last attempt's exit code; -1 when the action
	// returned an error (there was no exit code); 0 for units that did not
	// run.
	ExitCode int `json:"exit_code"`
	// Attempts is how many times the action ran (more than 1 with a
	// RetryPolicy); 0 for units that did not run, and 1 while a unit runs
	// (the count of a retried unit is known when it ends).
	Attempts int `json:"attempts"`
	// Started is when the unit started running; zero if it did not run.
	Started time.Time `json:"started,omitzero"`
	// Ended is when the unit reached its final state; zero while pending
	// or running, and for units cancelled before they started.
	Ended time.Time `json:"ended,omitzero"`
	// Output is the unit's captured output, up to the Network's
	// OutputLimit, followed by a note saying where the rest is when it
	// was longer.
	Output string `json:"output"`
	// OutputFile is the file holding the whole output, when it was longer
	// than the OutputLimit. The caller owns the file and removes it.
	OutputFile string `json:"output_file,omitempty"`
	// Message is one operator-facing line: the skip reason (the condition
	// that did not hold, or the action's own reason), the error text, the
	// failure message, the timeout or cancellation note.
	Message string `json:"message,omitempty"`
}

// Duration returns how long the unit ran (Ended - Started), 0 when it did
// not run or has not ended.
func (u UnitReport) Duration() time.Duration {
	if u.Started.IsZero() || u.Ended.IsZero() || u.Ended.Before(u.Started) {
		return 0
	}
	return u.Ended.Sub(u.Started)
}

// NetworkReport is the result of a Network run.
type NetworkReport struct {
	// Name is the network's name.
	Name string `json:"name"`
	// State is Succeeded when every unit that ran succeeded (skipped
	// units allowed), StateFailed when a unit failed or timed out (even if
	// a failure branch handled it), Cancelled when ctx ended the run
	// before every unit finished. It is empty for a network that did not
	// run (invalid).
	State UnitState `json:"state"`
	// Units has one report per unit, in definition order.
	Units []UnitReport `json:"units"`
}

// Unit returns the report of the unit with the given name.
func (r NetworkReport) Unit(name string) (UnitReport, bool) {
	for _, u := range r.Units {
		if u.Name == name {
			return u, true
		}
	}
	return UnitReport{}, false
}

// ExitCode sums the run into the container jobs' codes: 0 (ExitOK) when it
// succeeded, 9 (ExitFailed) when it failed or was cancelled (some work did
// not get done), and 1 (ExitError) for a report of a network that did not
// run.
func (r NetworkReport) ExitCode() int {
	switch r.State {
	case Succeeded:
		return ExitOK
	case StateFailed, Cancelled:
		return ExitFailed
	}
	return ExitError
}

// Observer is told about every state change of a unit during a Network
// run: when it starts running and when it reaches its final state (units
// skipped or cancelled without running are reported once). Calls come from
// one goroutine, in the order of the changes, and hold up the run while
// they last, so an Observer should be quick. The UnitReport is a copy.
type Observer func(UnitReport)

// CheckUnits returns nil when every name in names is a unit of n, and
// otherwise an error wrapping [ErrInvalid] that names what (the option,
// such as "hold"), the units n does not have, and the units it has.
func (n *Network) CheckUnits(what string, names []string) error {
	var unknown []string
	for _, h := range names {
		if !slices.ContainsFunc(n.Units, func(u Unit) bool { return u.Name == h }) {
			unknown = append(unknown, quote(h))
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	have := make([]string, len(n.Units))
	for i, u := range n.Units {
		have[i] = u.Name
	}
	return Invalidf("%s: network %s has no unit %s (units: %s)", what, n.Name, strings.Join(unknown, ", "), strings.Join(have, ", "))
}
