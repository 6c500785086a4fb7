package jsonout

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
)

// Report is the JSON document for a set of Evaluations.
type Report struct {
	// Status is the worst Status of the Evaluations ([monitor.Worst]);
	// UNKNOWN when there are none.
	Status monitor.Status `json:"status"`
	// ExitCode is Status's Monitoring Plugins exit code.
	ExitCode int `json:"exit_code"`
	// Evaluations are in the order given.
	Evaluations []Evaluation `json:"evaluations"`
}

// Evaluation is the JSON form of a [monitor.Evaluation].
type Evaluation struct {
	// Check is the check's name.
	Check string `json:"check"`
	// Target is what was measured (kind, id, name, engine, labels).
	Target inventory.Target `json:"target"`
	// Status is the reported status, after damping.
	Status monitor.Status `json:"status"`
	// ExitCode is Status's exit code, 0 to 3.
	ExitCode int `json:"exit_code"`
	// Observed is the status before damping.
	Observed monitor.Status `json:"observed"`
	// Code is the monitor-specific Result.Code, when not 0.
	Code int `json:"code,omitempty"`
	// Message is the Evaluation's operator-facing line.
	Message string `json:"message,omitempty"`
	// Error is the error text, when the value could not be obtained.
	Error string `json:"error,omitempty"`
	// Time is Result.Time; absent when there is no Result.
	Time time.Time `json:"time,omitzero"`
	// TookSeconds is how long the measurement took.
	TookSeconds float64 `json:"took_seconds"`
	// Samples are the Result's samples; always an array.
	Samples []Sample `json:"samples"`
}

// Sample is the JSON form of a [monitor.Sample].
type Sample struct {
	// Name is the sample name.
	Name string `json:"name"`
	// Value is null when the value is NaN or infinite.
	Value *float64 `json:"value"`
	// Exact is [monitor.Sample.Exact]: the exact decimal text of an
	// integer Value cannot hold (beyond 2^53); omitted otherwise.
	Exact string `json:"exact,omitempty"`
	// Unit is "", "%", "B", "s" or "c"; omitted when empty.
	Unit monitor.Unit `json:"unit,omitempty"`
	// Labels are the sample's labels, omitted when none.
	Labels map[string]string `json:"labels,omitempty"`
	// Time is when the value was sampled: Sample.Time, else Result.Time;
	// absent when neither is known.
	Time time.Time `json:"time,omitzero"`
	// Mode is the collection mode, omitted when unknown.
	Mode monitor.Mode `json:"mode,omitempty"`
}

// NewEvaluation converts ev to its JSON form.
func NewEvaluation(ev monitor.Evaluation) Evaluation {
	out := Evaluation{
		Check:       ev.Check,
		Target:      ev.Target,
		Status:      ev.Status,
		ExitCode:    ev.Status.ExitCode(),
		Observed:    ev.Observed,
		Code:        ev.Result.Code,
		Message:     ev.Message,
		Time:        ev.Result.Time,
		TookSeconds: ev.Took.Seconds(),
		Samples:     make([]Sample, len(ev.Result.Samples)),
	}
	if ev.Err != nil {
		out.Error = ev.Err.Error()
	}
	for i, s := range ev.Result.Samples {
		js := Sample{Name: s.Name, Exact: s.Exact, Unit: s.Unit, Labels: s.Labels, Time: s.Time, Mode: s.Mode}
		if !math.IsNaN(s.Value) && !math.IsInf(s.Value, 0) {
			v := s.Value
			js.Value = &v
		}
		if js.Time.IsZero() {
			js.Time = ev.Result.Time
		}
		out.Samples[i] = js
	}
	return out
}

// NewReport converts evs to a Report.
func NewReport(evs []monitor.Evaluation) Report {
	r := Report{Status: monitor.Unknown, Evaluations: make([]Evaluation, len(evs))}
	if len(evs) > 0 {
		sts := make([]monitor.Status, len(evs))
		for i, ev := range evs {
			sts[i] = ev.Status
			r.Evaluations[i] = NewEvaluation(ev)
		}
		r.Status = monitor.Worst(sts...)
	}
	r.ExitCode = r.Status.ExitCode()
	return r
}

// Write writes the Report of evs to w as indented JSON followed by a
// newline.
func Write(w io.Writer, evs []monitor.Evaluation) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(NewReport(evs))
}

// LineSink is a [monitor.Sink] writing one compact JSON [Evaluation] per
// line (JSON lines). It relies on the Runner never calling Write
// concurrently.
type LineSink struct {
	enc *json.Encoder
}

var _ monitor.Sink = (*LineSink)(nil)

// NewLineSink returns a LineSink writing to w.
func NewLineSink(w io.Writer) *LineSink {
	return &LineSink{enc: json.NewEncoder(w)}
}

// Write writes each Evaluation as one line; it stops at the first write
// error.
func (s *LineSink) Write(_ context.Context, evs []monitor.Evaluation) error {
	for _, ev := range evs {
		if err := s.enc.Encode(NewEvaluation(ev)); err != nil {
			return err
		}
	}
	return nil
}
