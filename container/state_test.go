package container_test

import (
	"testing"

	"github.com/minato-ops/minato/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseStatus(t *testing.T) {
	cases := map[string]container.State{
		"":                             container.Exited,
		"Exited (0) 2 hours ago":       container.Exited,
		"Exited (137) 5 seconds ago":   container.Exited,
		"Restarting (1) 3 seconds ago": container.Restarting,
		"Up 35 minutes":                container.Running,
		"Up 2 hours (healthy)":         container.Running,
		"Up 35 minutes (Paused)":       container.Paused,
		"Up Less than a second":        container.Running,
		"Up":                           container.Running,
		"Created":                      container.Created,
		"Dead":                         container.Dead,
		"Removal In Progress":          container.Removing,
	}
	for in, want := range cases {
		got, err := container.ParseStatus(in)
		require.NoError(t, err, "%q", in)
		assert.Equal(t, want, got, "%q", in)
	}
	for _, bad := range []string{"up 3 minutes", " Up", "Paused", "Removal", "Restart", "unknown"} {
		_, err := container.ParseStatus(bad)
		assert.ErrorIs(t, err, container.ErrUnknownState, "%q", bad)
		assert.ErrorContains(t, err, "\""+bad+"\"")
	}
}

func TestParseState(t *testing.T) {
	for _, s := range container.States {
		got, err := container.ParseState(string(s))
		require.NoError(t, err)
		assert.Equal(t, s, got)
	}
	got, err := container.ParseState("Running")
	require.NoError(t, err)
	assert.Equal(t, container.Running, got)
	_, err = container.ParseState("stopped")
	assert.ErrorIs(t, err, container.ErrUnknownState)
}

func FuzzParseStatus(f *testing.F) {
	for _, s := range []string{"", "Up 3 minutes (Paused)", "Exited (0) 1 second ago", "Removal In Progress", "Up", " ", "(Paused)"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		st, err := container.ParseStatus(s)
		if err != nil {
			assert.ErrorIs(t, err, container.ErrUnknownState)
			return
		}
		if _, err := container.ParseState(string(st)); err != nil {
			t.Fatalf("ParseStatus(%q) = %q, not a valid State", s, st)
		}
	})
}
