package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/monitor/baseline"
	mdocker "github.com/minato-ops/minato/monitor/docker"
	"github.com/minato-ops/minato/monitor/output/syslog"
)

const eventsSynopsis = "minato monitor events -k KEY_ID (-s HOST:PORT | -f FILE) [--follow] [options]"

const eventsAbout = `The Hinemos scripts' Docker event forwarding (MonitorDockerHostEvent.py): every engine
event since the previous run of -k KEY_ID, up to now, is sent to syslog (-s) or
appended to a file (-f), then the command exits (run it from cron). --follow
keeps streaming until SIGTERM or Ctrl-C. Nothing is written to stdout.

Each event is sent once: the checkpoint under -k (in --state-dir) records the
last event handled, and the events the engine replays are dropped. The first
run of a key only sets the checkpoint. When events were probably lost (the
engine keeps only its last 256 events, and none across its restart) a
"type=minato action=gap" event is sent, then one "action=reconcile" event per
container with its state.

The message is stable key=value text:
  time=<RFC 3339> type=<type> action=<action> id=<full ID> image=<image> name=<name> [exitCode=<n>]
Syslog HOSTNAME (and the file's host) is --syslog-hostname, else the -i
string, else this host's name; the file's lines are "[<time> <host>] <message>".`

// eventsFlags are the options of minato monitor events.
type eventsFlags struct {
	engineFlags
	key, stateDir, file, hostname string
	follow                        bool
	types, actions, labels        listFlag
	syslog                        syslogFlags
}

func (o *eventsFlags) register(fs *flag.FlagSet) {
	o.engineFlags.register(fs)
	fs.StringVar(&o.key, "k", "", "`KEY_ID` under which the checkpoint is kept (required; unique per monitor setting)")
	fs.StringVar(&o.stateDir, "state-dir", "", "`DIR` for the -k checkpoints (default $XDG_STATE_HOME/minato/baseline or ~/.local/state/minato/baseline)")
	fs.StringVar(&o.syslog.address, "s", "", "send each event to the syslog receiver at `HOST:PORT`, such as 127.0.0.1:514")
	fs.StringVar(&o.syslog.protocol, "syslog-protocol", syslog.UDP, "syslog transport `PROTOCOL` for -s: udp (loss cannot be detected) or tcp")
	fs.StringVar(&o.syslog.format, "syslog-format", syslog.RFC3164, "syslog message `FORMAT` for -s: rfc3164 (what the scripts' rsyslog reads) or rfc5424")
	fs.StringVar(&o.file, "f", "", "append each event to `FILE` as \"[<time> <host>] <message>\"")
	fs.StringVar(&o.hostname, "syslog-hostname", "", "`NAME` for the syslog HOSTNAME and the file's host field (default: the -i string, else this host's name)")
	fs.BoolVar(&o.follow, "follow", false, "keep streaming until SIGTERM or Ctrl-C instead of exiting at now")
	fs.Var(&o.types, "type", "forward only events of this object `TYPE`: container, image, network, volume, daemon, ... (repeatable)")
	fs.Var(&o.actions, "event", "forward only this `ACTION`: start, die, oom, health_status, ... (repeatable)")
	fs.Var(&o.labels, "label", "forward only events of objects with this `KEY[=VALUE]` label (repeatable)")
}

func (o *eventsFlags) validate() error {
	if o.key == "" {
		return usagef("minato monitor events needs -k KEY_ID: the checkpoint is kept under it (use a different key per monitor setting)")
	}
	if err := baseline.CheckKey(o.key); err != nil {
		return usagef("-k: %s", strings.TrimPrefix(err.Error(), "baseline: "))
	}
	if len(o.key)+len(".events-run") > baseline.MaxKeyLen {
		return usagef("-k: %d characters: want at most %d for an events key", len(o.key), baseline.MaxKeyLen-len(".events-run"))
	}
	switch {
	case o.syslog.address == "" && o.file == "":
		return usagef("give -s HOST:PORT or -f FILE: where the events go (nothing is written to stdout)")
	case o.syslog.address != "" && o.file != "":
		return usagef("give -s HOST:PORT or -f FILE, not both")
	}
	if err := o.syslog.validate(); err != nil {
		return err
	}
	return o.selector().Validate()
}

// filters are the engine's event filters for the options.
func (o *eventsFlags) filters() map[string][]string {
	f := map[string][]string{}
	add := func(k string, vs []string) {
		if len(vs) > 0 {
			f[k] = slices.Clone(vs)
		}
	}
	add("type", o.types)
	add("event", o.actions)
	add("label", o.labels)
	// The engine matches container IDs and names by prefix; the exact
	// selection is applied by match.
	var ctrs []string
	for _, v := range append(slices.Clone(o.ids), o.names...) {
		ctrs = append(ctrs, strings.TrimSuffix(v, "*"))
	}
	add("container", ctrs)
	return f
}

// match applies -c/-n exactly: with a selection only the selected
// containers' events (and reconcile events) pass.
func (o *eventsFlags) match() func(container.Event) bool {
	sel := o.selector()
	if len(sel.IDs) == 0 && len(sel.Names) == 0 {
		return nil
	}
	return func(e container.Event) bool {
		t := mdocker.EventTarget(e, "")
		return t.Kind == "container" && sel.Match(t)
	}
}

// host is the HOSTNAME of the messages.
func (o *eventsFlags) host() string {
	switch {
	case o.hostname != "":
		return o.hostname
	case o.address != "":
		return o.address
	}
	if h, err := os.Hostname(); err == nil && h != "" {
		return h
	}
	return "localhost"
}

func runEvents(ctx context.Context, args []string, env Env) int {
	fs := newFlagSet("minato monitor events", eventsSynopsis, eventsAbout)
	var o eventsFlags
	o.register(fs)
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return report(env, err)
	}
	if len(pos) > 0 {
		return report(env, usagef("minato monitor events takes no arguments, got %q", strings.Join(pos, " ")))
	}
	if err := o.validate(); err != nil {
		return report(env, err)
	}
	cfg, err := o.config(fs, env.Getenv)
	if err != nil {
		return report(env, err)
	}
	return report(env, forwardEvents(ctx, &o, cfg))
}

func forwardEvents(ctx context.Context, o *eventsFlags, cfg container.Config) (err error) {
	dir := o.stateDir
	if dir == "" {
		if dir, err = baseline.DefaultDir(); err != nil {
			return err
		}
	}
	store, err := baseline.Open(dir)
	if err != nil {
		return err
	}
	sink, err := openEventSink(o)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := sink.close(); cerr != nil && err == nil {
			err = cerr
		}
	}()
	c, err := container.New(cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	s, err := mdocker.NewEventStream(c, store, o.key, mdocker.EventStreamOptions{
		Filters: o.filters(), Match: o.match(), Sync: sink.sync,
	})
	if err != nil {
		return err
	}
	if o.follow {
		return s.Follow(ctx, sink.send)
	}
	err = s.Forward(ctx, time.Now(), sink.send)
	if errors.Is(err, context.Canceled) {
		return errors.New("interrupted; the events forwarded so far are checkpointed")
	}
	return err
}

// eventSink is -s or -f.
type eventSink struct {
	host string
	w    *syslog.Writer
	f    *os.File
	name string
}

func openEventSink(o *eventsFlags) (*eventSink, error) {
	s := &eventSink{host: o.host()}
	if o.file != "" {
		f, err := os.OpenFile(o.file, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return nil, fmt.Errorf("-f: %w", err)
		}
		s.f, s.name = f, o.file
		return s, nil
	}
	w, err := o.syslog.open()
	if err != nil {
		return nil, err
	}
	s.w, s.name = w, o.syslog.address
	return s, nil
}

func (s *eventSink) send(e container.Event) error {
	body := eventText(e)
	if s.f != nil {
		if _, err := fmt.Fprintf(s.f, "[%s %s] %s\n", e.Time.Local().Format(time.RFC3339), s.host, body); err != nil {
			return fmt.Errorf("-f: %w", err)
		}
		return nil
	}
	m := syslog.Message{Time: e.Time, Severity: syslog.SeverityOf(mdocker.EventStatus(e)), Hostname: s.host, MsgID: "docker_event", Text: body}
	if err := s.w.Send(context.Background(), m); err != nil {
		return fmt.Errorf("-s %s: %w", s.name, err)
	}
	return nil
}

// sync runs before each checkpoint write: over TCP it waits until the
// queued messages are written, so that the checkpoint never gets ahead
// of what reached the socket.
func (s *eventSink) sync(ctx context.Context) error {
	if s.w == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, s.w.Config().Timeout)
	defer cancel()
	if err := s.w.Flush(ctx); err != nil {
		return fmt.Errorf("-s %s: messages not written within %s: %w", s.name, s.w.Config().Timeout, err)
	}
	return nil
}

func (s *eventSink) close() error {
	if s.f != nil {
		serr := s.f.Sync()
		if err := s.f.Close(); err != nil || serr != nil {
			return fmt.Errorf("-f: %w", errors.Join(serr, err))
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), s.w.Config().Timeout)
	defer cancel()
	if err := s.w.Close(ctx); err != nil {
		return fmt.Errorf("-s %s: %w", s.name, err)
	}
	return nil
}

// eventText renders an event as stable key=value text: time (RFC 3339
// with nanoseconds, UTC), type, action, id, then image, name and exitCode
// when present, then (for minato's own gap and reconcile events) the
// other attributes sorted. Values with spaces, quotes or "=" are quoted
// as Go strings.
func eventText(e container.Event) string {
	var b strings.Builder
	kv := func(k, v string) {
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(kvValue(v))
	}
	kv("time", e.Time.UTC().Format(time.RFC3339Nano))
	kv("type", e.Type)
	kv("action", e.Action)
	kv("id", e.ActorID)
	for _, k := range []string{"image", "name", "exitCode"} {
		if v, ok := e.Attributes[k]; ok && v != "" {
			kv(k, v)
		}
	}
	if e.Type == mdocker.EventTypeMinato {
		var rest []string
		for k := range e.Attributes {
			if k != "image" && k != "name" && k != "exitCode" {
				rest = append(rest, k)
			}
		}
		slices.Sort(rest)
		for _, k := range rest {
			kv(k, e.Attributes[k])
		}
	}
	return b.String()
}

func kvValue(v string) string {
	if v == "" {
		return `""`
	}
	for _, r := range v {
		if r == ' ' || r == '"' || r == '=' || r == '\\' || !unicode.IsPrint(r) {
			return strconv.Quote(v)
		}
	}
	return v
}
