package container

import (
	"context"
	"errors"
	"io"
	"testing"

	"github.com/docker/docker/api/types/events"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// eventsStub is an engineAPI whose Events returns prepared channels; every
// other method is unimplemented (nil interface) and panics if called.
type eventsStub struct {
	engineAPI
	msgs chan events.Message
	errs chan error
}

func (s eventsStub) Events(context.Context, events.ListOptions) (<-chan events.Message, <-chan error) {
	return s.msgs, s.errs
}

// newEventsStub has n messages and the error already waiting, so that
// Events sees both channels ready at once.
func newEventsStub(n int, err error) eventsStub {
	s := eventsStub{msgs: make(chan events.Message, n), errs: make(chan error, 1)}
	for i := range n {
		s.msgs <- events.Message{Type: "container", Action: "start", Actor: events.Actor{ID: string(rune('a' + i))}, TimeNano: int64(i + 1)}
	}
	s.errs <- err
	return s
}

// The engine closes the stream right after the last event before Until, so
// the error can be ready while events are still buffered: Events must
// deliver them all, in order, before returning.
func TestEventsDrainsBeforeReturning(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"EOF", io.EOF, ""},
		{"nil", nil, ""},
		{"failure", errors.New("unexpected EOF"), "events: unexpected EOF"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for range 20 { // select picks a ready case at random
				c, err := New(Config{Host: "tcp://192.0.2.1:2375"}, withEngineAPI(newEventsStub(5, tc.err)))
				require.NoError(t, err)
				var got []string
				err = c.Events(context.Background(), EventsOptions{}, func(e Event) error {
					got = append(got, e.ActorID)
					return nil
				})
				assert.Equal(t, []string{"a", "b", "c", "d", "e"}, got)
				if tc.want == "" {
					assert.NoError(t, err)
				} else {
					assert.EqualError(t, err, tc.want)
				}
			}
		})
	}
}
