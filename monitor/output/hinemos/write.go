package hinemos

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
)

// Key says how the samples of one name become "key,value" lines: which
// samples, how the key is spelled and how many decimals the value has.
// It is plain data with json tags, so key sets can come from a
// configuration file; the functions named after what they monitor
// ([CPUKeys], [MemoryKeys], ...) return the Hinemos Docker monitoring
// scripts' sets.
type Key struct {
	// Sample is the Sample.Name the Key prints. Required.
	Sample string `json:"sample"`
	// Labels, when set, restrict the Key to samples carrying all of these
	// label values.
	Labels map[string]string `json:"labels,omitempty"`
	// Format is the key's template (see the package documentation):
	// "cpu_usage:{name}", "host_mem_usage:{id8}", "{label:state}".
	// Required.
	Format string `json:"format"`
	// Decimals is the number of digits after the point, as for [Line]:
	// 2 for percentages and per-interval figures, 0 for counts and bytes.
	// With 0 or less a sample's Exact text is printed when it has one.
	Decimals int `json:"decimals,omitempty"`
	// QualifyWhenMany is a template appended to the key when more than
	// one Evaluation has a sample for this Key, so that the keys stay
	// unique: memory --all prints "cache,N" for one container and
	// "cache:<id8>,N" for several. Empty means never.
	QualifyWhenMany string `json:"qualify_when_many,omitempty"`
}

// Validate reports whether k can be used: Sample and Format are set and
// both templates parse. Problems are joined; each names its field.
func (k Key) Validate() error {
	_, _, err := k.parse()
	return err
}

func (k Key) parse() (format, qualify template, err error) {
	var errs []error
	if k.Sample == "" {
		errs = append(errs, errors.New("sample: empty: name the Sample the key prints"))
	}
	if k.Format == "" {
		errs = append(errs, errors.New("format: empty: a line needs a key"))
	}
	format, ferr := parseTemplate(k.Format)
	if ferr != nil {
		errs = append(errs, fmt.Errorf("format: %w", ferr))
	}
	qualify, qerr := parseTemplate(k.QualifyWhenMany)
	if qerr != nil {
		errs = append(errs, fmt.Errorf("qualify_when_many: %w", qerr))
	}
	return format, qualify, errors.Join(errs...)
}

// matches reports whether s is one of k's samples.
func (k Key) matches(s monitor.Sample) bool {
	if s.Name != k.Sample {
		return false
	}
	for lk, lv := range k.Labels {
		if v, ok := s.Labels[lk]; !ok || v != lv {
			return false
		}
	}
	return true
}

// Write prints evs as Hinemos custom monitor lines, "key,value" each:
// for each Evaluation in order that has no Err, for each Key in order,
// one line per sample the Key matches, in the Result's order. The key is
// the Key's Format filled in for the Evaluation's Target and the sample,
// followed by QualifyWhenMany when more than one Evaluation without Err
// has a sample the Key matches. The value is [Value] with the Key's
// Decimals, or the sample's Exact text when Decimals is 0 or less and
// Exact is set.
//
// Nothing is printed for an Evaluation with Err, for a sample lacking a
// label the templates name, nor for a NaN or infinite value: the
// Hinemos Docker monitoring scripts print no line for a value they could
// not get, which Hinemos reports as unknown. Say why on standard error
// instead ([Problems]).
//
// Every Key is validated first; an invalid one is an error and nothing
// is written. Otherwise the lines are written to w in one Write call and
// the only error is w's.
func Write(w io.Writer, evs []monitor.Evaluation, keys []Key) error {
	type parsed struct {
		Key
		format, qualify template
		many            bool
	}
	ps := make([]parsed, len(keys))
	var errs []error
	for i, k := range keys {
		f, q, err := k.parse()
		if err != nil {
			errs = append(errs, fmt.Errorf("key %d (%s): %w", i, k.Sample, err))
		}
		ps[i] = parsed{Key: k, format: f, qualify: q}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("hinemos: %w", err)
	}
	for i := range ps {
		n := 0
		for _, ev := range evs {
			if ev.Err == nil && hasSample(ev.Result, ps[i].Key) {
				n++
			}
		}
		ps[i].many = n > 1 && len(ps[i].qualify) > 0
	}
	var b bytes.Buffer
	for _, ev := range evs {
		if ev.Err != nil {
			continue
		}
		for _, k := range ps {
			for _, s := range ev.Result.Samples {
				if !k.matches(s) || math.IsNaN(s.Value) || math.IsInf(s.Value, 0) {
					continue
				}
				mark := b.Len()
				ok := k.format.render(&b, ev.Target, s)
				if ok && k.many {
					ok = k.qualify.render(&b, ev.Target, s)
				}
				if !ok {
					b.Truncate(mark)
					continue
				}
				b.WriteByte(',')
				if s.Exact != "" && k.Decimals <= 0 {
					b.WriteString(s.Exact)
				} else {
					b.WriteString(Value(s.Value, k.Decimals))
				}
				b.WriteByte('\n')
			}
		}
	}
	if b.Len() == 0 {
		return nil
	}
	_, err := w.Write(b.Bytes())
	return err
}

func hasSample(r monitor.Result, k Key) bool {
	for _, s := range r.Samples {
		if k.matches(s) {
			return true
		}
	}
	return false
}

// WriteStates prints the container-status lines of the Hinemos Docker
// monitoring scripts, one per Evaluation without Err:
//
//	2015-09-05 21:59:08 0e0d8cdf3a57 running
//
// that is Result.Time in the local time zone as "2006-01-02 15:04:05",
// the container's 12-character ID and Result.Message, which the
// container state monitor sets to the engine's state word. The lines are
// written in one Write call; the only error is w's.
func WriteStates(w io.Writer, evs []monitor.Evaluation) error {
	var b strings.Builder
	for _, ev := range evs {
		if ev.Err != nil {
			continue
		}
		b.WriteString(ev.Result.Time.Local().Format(time.DateTime))
		b.WriteString(" " + ev.Target.ShortID() + " " + lineBreaks.Replace(ev.Result.Message) + "\n")
	}
	if b.Len() == 0 {
		return nil
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// Problems returns one line, without a trailing newline, for each
// Evaluation with Err, saying why it printed no value: "<id12> <name>:
// <message>" for a container ("0e0d8cdf3a57 web-1: no baseline yet"),
// "<name>: <message>" for a host Target, and the message alone for an
// Evaluation without a Target (the containers could not be listed). The
// message is the Evaluation's Message, else Err's text, on one line.
// Hinemos reads only standard output, so these lines belong on standard
// error; nil when every Evaluation has a value.
func Problems(evs []monitor.Evaluation) []string {
	var out []string
	for _, ev := range evs {
		if ev.Err == nil {
			continue
		}
		msg := ev.Message
		if msg == "" {
			msg = ev.Err.Error()
		}
		msg = strings.Join(strings.Fields(msg), " ")
		if who := describe(ev.Target); who != "" {
			msg = who + ": " + msg
		}
		out = append(out, msg)
	}
	return out
}

func describe(t inventory.Target) string {
	name := inventory.TrimName(t.Name)
	switch {
	case t.Kind == inventory.KindHost:
		return shortID(t, 0)
	case t.ID == "":
		return name
	case name == "":
		return t.ShortID()
	}
	return t.ShortID() + " " + name
}
