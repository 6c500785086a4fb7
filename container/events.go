package container

import (
	"context"
	"strconv"
	"time"

	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
)

// Event is one engine event (docker events).
type Event struct {
	// Time is when the engine recorded the event, to the nanosecond.
	Time time.Time `json:"time"`
	// Type is the object type: "container", "image", "network", "volume",
	// "daemon", ...
	Type string `json:"type"`
	// Action is what happened: "start", "die", "oom", "health_status:
	// healthy", "exec_start: sh", ...
	Action string `json:"action"`
	// ActorID is the object's ID (full container ID for containers).
	ActorID string `json:"actor_id"`
	// Attributes are the event's attributes: for containers "name",
	// "image", "exitCode" and the labels.
	Attributes map[string]string `json:"attributes,omitempty"`
	// Scope is "local" or "swarm".
	Scope string `json:"scope,omitempty"`
}

// EventsOptions selects the events [Client.Events] delivers.
type EventsOptions struct {
	// Since replays stored events from this time (the engine keeps only the
	// most recent 256, and includes events at exactly Since). Zero means
	// "from now".
	Since time.Time
	// Until ends the stream at this time; zero means "keep streaming".
	// With Since and Until both in the past the call returns the stored
	// events between them and ends.
	Until time.Time
	// Filters are the engine's event filters: "type", "event", "container",
	// "image", "label", ... Values of one key are ORed, keys ANDed.
	Filters map[string][]string
}

// Events streams engine events to fn in order until ctx is done (nil is
// returned), Until is reached (nil), fn returns an error (that error), or
// the connection fails (an error; [ErrUnreachable] when the engine went
// away). fn runs on the calling goroutine and must not block for long: the
// engine drops slow readers.
func (c *Client) Events(ctx context.Context, o EventsOptions, fn func(Event) error) error {
	c.ready(ctx)
	f := filters.NewArgs()
	for k, vs := range o.Filters {
		for _, v := range vs {
			f.Add(k, v)
		}
	}
	lo := events.ListOptions{Filters: f}
	if !o.Since.IsZero() {
		lo.Since = unixNanoString(o.Since)
	}
	if !o.Until.IsZero() {
		lo.Until = unixNanoString(o.Until)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	msgs, errs := c.api.Events(ctx, lo)
	for {
		select {
		case m := <-msgs:
			if err := fn(eventFrom(m)); err != nil {
				return err
			}
		case err := <-errs:
			// Drain what already arrived: the engine closes the stream right
			// after the last event before Until.
		drain:
			for {
				select {
				case m := <-msgs:
					if e := fn(eventFrom(m)); e != nil {
						return e
					}
				default:
					break drain
				}
			}
			if err == nil || ctx.Err() != nil || isEOF(err) {
				return nil
			}
			return c.wrap("events", "", err)
		case <-ctx.Done():
			return nil
		}
	}
}

func eventFrom(m events.Message) Event {
	t := time.Unix(0, m.TimeNano)
	if m.TimeNano == 0 {
		t = time.Unix(m.Time, 0)
	}
	return Event{Time: t, Type: string(m.Type), Action: string(m.Action), ActorID: m.Actor.ID, Attributes: m.Actor.Attributes, Scope: m.Scope}
}

// unixNanoString renders t as the engine's "seconds.nanoseconds" form.
func unixNanoString(t time.Time) string {
	ns := t.UnixNano()
	sec, frac := ns/1e9, ns%1e9
	if frac < 0 {
		sec, frac = sec-1, frac+1e9
	}
	s := strconv.FormatInt(frac, 10)
	for len(s) < 9 {
		s = "0" + s
	}
	return strconv.FormatInt(sec, 10) + "." + s
}
