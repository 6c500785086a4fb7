package jobfile_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/job/jobfile"
	"github.com/minato-ops/minato/job/schedule"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// bomb is a job file of 4 KB whose aliases expand to 400 units of 400
// command arguments.
func bomb() string {
	return "name: n\nunits:\n  - &u {name: a, host: {command: [" + strings.Repeat("x, ", 400) + "x]}}\n" +
		strings.Repeat("  - *u\n", 400)
}

func TestParseHostileInput(t *testing.T) {
	start := time.Now()
	_, err := jobfile.Parse([]byte(bomb()))
	assert.Less(t, time.Since(start), time.Second)
	require.Error(t, err)
	assert.Equal(t, "(top level): aliases expand to more than 100000 values", strings.Split(err.Error(), "\n")[0])

	passwd := strings.Repeat("root:x:0:0:root:/root:/bin/bash\n", 100)
	_, err = jobfile.Parse([]byte(passwd))
	require.Error(t, err)
	assert.Less(t, len(err.Error()), 300, "a whole file is never echoed: %s", err)
	assert.NotContains(t, err.Error(), "name: required", "a document that is not a mapping has no keys to require")

	_, err = jobfile.Parse([]byte(scheduled("schedule: {cron: \"" + strings.Repeat("1 ", 1<<20) + "\"}")))
	require.Error(t, err)
	assert.Less(t, len(err.Error()), 300, "a whole cron is never echoed: %s", err)

	units := strings.Repeat("  - {name: a, host: {command: [x]}}\n", 300)
	_, err = jobfile.Parse([]byte("name: n\nunits:\n" + units))
	require.Error(t, err)
	lines := strings.Split(err.Error(), "\n")
	assert.Len(t, lines, 101)
	assert.Equal(t, "... and 199 more problems", lines[100])

	path := filepath.Join(t.TempDir(), "big.yaml")
	require.NoError(t, os.WriteFile(path, []byte("name: n\n"+strings.Repeat("#", 4<<20)), 0o600))
	_, err = jobfile.ParseFile(path)
	assert.EqualError(t, err, path+": more than the 4 MiB a definition may have")
}

func FuzzParse(f *testing.F) {
	f.Add(issueExample)
	f.Add(bomb())
	f.Add(strings.Repeat("root:x:0:0:root:/root:/bin/bash\n", 100))
	f.Add(scheduled("schedule: {cron: \"" + strings.Repeat("1 ", 3000) + "\"}"))
	f.Add("name: n\nunits: " + strings.Repeat("[", 200) + strings.Repeat("]", 200))
	f.Add(scheduled("schedule: \"0 2 * * *\""))
	f.Add(`{"name":"n","units":[{"name":"a","host":{"command":["x"]}}]}`)
	f.Add("name: &a x\nunits: *a")
	f.Add("units:\n  - needs: [a, a]\n    name: a\n")
	f.Add(scheduled("queue: q\nschedule: {cron: \"TZ=Asia/Tokyo 0 2 * * *\", calendar: {weekdays: [mon], holidays: [2026-01-01]}, shift: next, overlap: queue, catch_up: 1h}"))
	f.Add(scheduled("schedule: {cron: \"@every 10m\", calendar: jp}"))
	f.Fuzz(func(t *testing.T, s string) {
		def, err := jobfile.Parse([]byte(s))
		if err == nil && (def.Name == "" || len(def.Units) == 0) {
			t.Fatalf("accepted a definition without name or units: %q", s)
		}
		if err != nil {
			lines := strings.Split(err.Error(), "\n")
			if len(lines) > 102 {
				t.Fatalf("error of %d lines for %q", len(lines), s)
			}
			for _, l := range lines {
				if strings.TrimSpace(l) == "" || len(l) > 520 {
					t.Fatalf("error line %q for %q", l, s)
				}
			}
		}
		if err == nil && def.Schedule != nil {
			// Parse checked everything Schedule needs but the named
			// calendar, which the agent has.
			var cals map[string]*schedule.Calendar
			if c := def.Schedule.Calendar; c != nil && c.Name != "" {
				cals = map[string]*schedule.Calendar{c.Name: {Name: c.Name}}
			}
			if _, err := def.Schedule.Schedule(cals); err != nil {
				t.Fatalf("accepted a schedule that does not build: %q: %v", s, err)
			}
		}
	})
}
