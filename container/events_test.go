package container_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func collect(t *testing.T, c *container.Client, o container.EventsOptions) []container.Event {
	t.Helper()
	var got []container.Event
	err := c.Events(context.Background(), o, func(e container.Event) error {
		got = append(got, e)
		return nil
	})
	require.NoError(t, err, "the end of the stream is not an error")
	return got
}

func actions(es []container.Event) []string {
	out := make([]string, len(es))
	for i, e := range es {
		out[i] = e.Action
	}
	return out
}

func TestEventsAll(t *testing.T) {
	c, srv := newFake(t, basicDir)
	got := collect(t, c, container.EventsOptions{})
	assert.Equal(t, []string{"create", "start", "connect", "oom", "die", "health_status: healthy"}, actions(got))
	r := only(t, srv, "GET", "/events")
	assert.Empty(t, r.Query, "no since, until or filters")

	assert.Equal(t, container.Event{
		Time:    time.Unix(0, 1735732801500000123),
		Type:    "container",
		Action:  "start",
		ActorID: idWeb1,
		Attributes: map[string]string{
			"app": "web", "image": "nginx:1.27", "name": "web-1", "tier": "front",
		},
		Scope: "local",
	}, got[1])
	assert.Equal(t, "network", got[2].Type)
	assert.Equal(t, "137", got[4].Attributes["exitCode"])
}

func TestEventsSinceUntilFilters(t *testing.T) {
	c, srv := newFake(t, basicDir)
	since := time.Unix(1735732801, 500000123) // exactly the start event: included
	until := time.Unix(1735737600, 750000000) // exactly the die event: included
	got := collect(t, c, container.EventsOptions{
		Since:   since.In(time.FixedZone("JST", 9*3600)),
		Until:   until,
		Filters: map[string][]string{"type": {"container"}},
	})
	assert.Equal(t, []string{"start", "oom", "die"}, actions(got))
	q := only(t, srv, "GET", "/events").Query
	assert.Equal(t, "1735732801.500000123", q.Get("since"))
	assert.Equal(t, "1735737600.750000000", q.Get("until"))
	assert.Equal(t, map[string]map[string]bool{"type": {"container": true}}, filtersOf(t, q))
}

func TestEventsFilterValuesAreORedKeysANDed(t *testing.T) {
	c, srv := newFake(t, basicDir)
	got := collect(t, c, container.EventsOptions{
		Filters: map[string][]string{"event": {"die", "health_status"}, "container": {"web-1", "web-2"}},
	})
	assert.Equal(t, []string{"die", "health_status: healthy"}, actions(got))
	assert.Equal(t, map[string]map[string]bool{
		"event":     {"die": true, "health_status": true},
		"container": {"web-1": true, "web-2": true},
	}, filtersOf(t, only(t, srv, "GET", "/events").Query))
}

func TestEventsCallbackError(t *testing.T) {
	c, _ := newFake(t, basicDir)
	stop := errors.New("stop here")
	n := 0
	err := c.Events(context.Background(), container.EventsOptions{}, func(container.Event) error {
		n++
		if n == 2 {
			return stop
		}
		return nil
	})
	assert.ErrorIs(t, err, stop)
	assert.Equal(t, 2, n)
}

func TestEventsBadFilterFromEngine(t *testing.T) {
	c, _ := newFake(t, basicDir)
	err := c.Events(context.Background(), container.EventsOptions{Filters: map[string][]string{"colour": {"red"}}}, func(container.Event) error { return nil })
	require.Error(t, err)
	assert.ErrorContains(t, err, "events: ")
	assert.ErrorContains(t, err, "invalid filter 'colour'")
	assert.NotErrorIs(t, err, container.ErrUnreachable)
}

func TestEventsCancelled(t *testing.T) {
	c, _ := newFake(t, basicDir)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	err := c.Events(ctx, container.EventsOptions{}, func(container.Event) error { return nil })
	assert.NoError(t, err, "a done context ends the stream without error")
}
