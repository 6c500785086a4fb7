package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func write(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o700))
	require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
	return p
}

const hostUnit = "units:\n  - {name: a, host: {command: [/bin/true]}}\n"

// TestConfigJobErrors lists every problem of the scheduler's keys, each
// with its key path (and, for a jobnet file, the file).
func TestConfigJobErrors(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "ok.yaml", "name: nightly\nqueue: batch\nschedule: {cron: \"0 2 * * *\", calendar: business}\n"+hostUnit)
	write(t, dir, "dup.yaml", "name: nightly\n"+hostUnit)
	write(t, dir, "bad.yaml", "name: broken\nunits:\n  - {name: a, host: {command: [x]}, timeout: forever}\n")
	write(t, dir, "queue.yaml", "name: q\nqueue: nope\n"+hostUnit)
	write(t, dir, "cal.yaml", "name: c\nschedule: {cron: \"@daily\", calendar: holidays-jp}\n"+hostUnit)
	write(t, dir, "badcal.yaml", "name: bc\nschedule: {cron: \"@daily\", calendar: broken}\n"+hostUnit)
	write(t, dir, "name.yaml", "name: \"has space\"\n"+hostUnit)
	cfg := write(t, dir, "agent.yaml", `
listen: 127.0.0.1:0
jobnets: [ok.yaml, dup.yaml, bad.yaml, missing.yaml, queue.yaml, cal.yaml, badcal.yaml, name.yaml]
queues:
  - {name: batch, concurrency: 2}
  - {name: batch}
  - {name: "x y"}
  - {name: neg, concurrency: -1}
calendars:
  - {name: business, weekdays: [mon, tue, wed, thu, fri], holidays: ["2026-12-31"]}
  - {name: broken, weekdays: [funday, mon, Monday], holidays: ["2026-13-01", "2026-02-29"], workdays: ["2027-01-02"]}
  - {name: business}
  - {name: both, holidays: ["2027-01-02"], workdays: ["2027-01-02"]}
`)
	_, err := Load(cfg)
	require.Error(t, err)
	got := err.Error()
	j := func(i int, name string) string {
		return "jobnets[" + string(rune('0'+i)) + "] (" + filepath.Join(dir, name) + "): "
	}
	for _, want := range []string{
		`queues[1].name: "batch" is defined twice`,
		`queues[2].name: "x y": want letters, digits, '.', '_' or '-'`,
		`queues[3].concurrency: must not be negative, got -1`,
		`calendars[1].weekdays[0]: weekday "funday": want a name`,
		`calendars[1]: calendar "broken": weekdays: Monday listed twice`,
		`calendars[1].holidays[0]: date "2026-13-01": month 13 out of range 01-12`,
		`calendars[1].holidays[1]: date "2026-02-29": day 29 out of range 01-28`,
		`calendars[2].name: "business" is also the name of calendars[0]`,
		`calendars[3]: calendar "both": 2027-01-02 is both a holiday and a workday`,
		j(1, "dup.yaml") + `name: network "nightly" is also defined by jobnets[0] (` + filepath.Join(dir, "ok.yaml") + `)`,
		j(2, "bad.yaml") + `units[0].timeout: "forever": want a duration`,
		j(3, "missing.yaml") + "open " + filepath.Join(dir, "missing.yaml") + ": no such file or directory",
		j(4, "queue.yaml") + `queue: "nope" is not defined in queues (have default, batch, neg)`,
		j(5, "cal.yaml") + `schedule: calendar "holidays-jp": no such calendar (known: both, broken, business)`,
		j(7, "name.yaml") + `name: "has space": want letters, digits, '.', '_' or '-'`,
	} {
		assert.Contains(t, got, want)
	}
	assert.NotContains(t, got, "jobnets[6]", "a schedule on a broken calendar reports the calendar's problems only")
	assert.NotContains(t, got, "\njobnets[0]", "ok.yaml is fine: batch and business are defined")
	for _, l := range strings.Split(got, "\n") {
		assert.Regexp(t, `^(queues|calendars|jobnets)\[\d\]`, l, "every problem has its key path")
	}
}

func TestConfigTokenRule(t *testing.T) {
	dir := t.TempDir()
	net := write(t, dir, "n.yaml", "name: n\n"+hostUnit)
	for _, c := range []struct {
		listen, token string
		jobnets       bool
		ok            bool
	}{
		{"127.0.0.1:9464", "", true, true},
		{"[::1]:9464", "", true, true},
		{"localhost:9464", "", true, true},
		{"0.0.0.0:9464", "", true, false},
		{":9464", "", true, false},
		{"192.0.2.1:9464", "", true, false},
		{"example.com:9464", "", true, false},
		{"0.0.0.0:9464", "/etc/minato/token", true, true},
		{"0.0.0.0:9464", "", false, true}, // no jobnets: the controls are disabled instead
	} {
		cfg := Config{Listen: c.listen, API: APIConfig{TokenFile: c.token}, Events: EventsConfig{Enabled: true}}
		if c.jobnets {
			cfg.Jobnets = []string{net}
		}
		err := cfg.Validate()
		if c.ok {
			assert.NoError(t, err, "%+v", c)
			continue
		}
		if assert.Error(t, err, "%+v", c) {
			assert.Equal(t, "api.token_file: required when listen ("+c.listen+") is not loopback: the job controls would be open to the network", err.Error())
		}
	}
}

func TestConfigJobnetPaths(t *testing.T) {
	dir := t.TempDir()
	write(t, dir, "nets/nightly.yaml", "name: nightly\n"+hostUnit)
	abs := write(t, t.TempDir(), "backup.yaml", "name: backup\n"+hostUnit)
	cfg := write(t, dir, "conf/agent.yaml", "jobnets: [../nets/nightly.yaml, "+abs+"]\n")
	c, err := Load(cfg)
	require.NoError(t, err, "jobnets alone are something to do")
	assert.Equal(t, []string{filepath.Join(dir, "nets", "nightly.yaml"), abs}, c.Jobnets, "relative to the config file's directory")

	// Nothing to do: no checks, no events, no jobnets.
	empty := write(t, dir, "empty.yaml", "checks: []\n")
	_, err = Load(empty)
	require.Error(t, err)
	assert.Equal(t, "checks: nothing to do: give checks, enable events or list jobnets", err.Error())
}
