package agent

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func write(t testing.TB, dir, name, text string) string {
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
		return "jobnets[" + string(rune('0'+i)) + "]: " + filepath.Join(dir, name) + ": "
	}
	for _, want := range []string{
		`queues[1].name: "batch" is defined twice`,
		`queues[2].name: "x y": want letters, digits, '.', '_' or '-'`,
		`queues[3].concurrency: must not be negative, got -1`,
		`calendars[1].weekdays[0]: weekday "funday": want a name`,
		`calendars[1].weekdays[2]: Monday listed twice`,
		`calendars[1].holidays[0]: date "2026-13-01": month 13 out of range 01-12`,
		`calendars[1].holidays[1]: date "2026-02-29": day 29 out of range 01-28`,
		`calendars[2].name: "business" is also the name of calendars[0]`,
		`calendars[3].workdays[0]: 2027-01-02 is both a holiday and a workday`,
		j(1, "dup.yaml") + `name: network "nightly" is also defined by jobnets[0] (` + filepath.Join(dir, "ok.yaml") + `)`,
		j(2, "bad.yaml") + `units[0].timeout: "forever": want a duration`,
		"jobnets[3]: open " + filepath.Join(dir, "missing.yaml") + ": no such file or directory",
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

func TestConfigNonLoopbackRules(t *testing.T) {
	for _, c := range []struct {
		listen, token string
		tls, insecure bool
		jobs          bool
		want          []string
	}{
		{"127.0.0.1:9464", "", false, false, true, nil},
		{"[::1]:9464", "", false, false, true, nil},
		{"localhost:9464", "", false, false, true, nil},
		{"0.0.0.0:9464", "", false, false, true, []string{"api.token_file: required when listen (0.0.0.0:9464)", "tls: required when listen (0.0.0.0:9464)"}},
		{":9464", "t", false, false, true, []string{"tls: required"}},
		{"192.0.2.1:9464", "t", true, false, true, nil},
		{"example.com:9464", "t", false, true, true, nil}, // insecure: the operator's choice, on an isolated network
		{"0.0.0.0:9464", "", false, false, false, nil},    // metrics and health only: the API answers loopback only
	} {
		cfg := Config{Listen: c.listen, API: APIConfig{TokenFile: c.token}, Insecure: c.insecure, Events: EventsConfig{Enabled: true}, Jobs: JobsConfig{Enabled: c.jobs}}
		if c.tls {
			cfg.TLS = &TLSConfig{CertFile: "c.pem", KeyFile: "k.pem"}
		}
		err := cfg.Validate()
		if c.want == nil {
			assert.NoError(t, err, "%+v", c)
			continue
		}
		if assert.Error(t, err, "%+v", c) {
			for _, w := range c.want {
				assert.Contains(t, err.Error(), w)
			}
		}
	}
}

func TestConfigTokenFile(t *testing.T) {
	dir := t.TempDir()
	tok := write(t, dir, "token", "s3cret\n")
	cfg := write(t, dir, "agent.yaml", "api: {token_file: token}\nevents: {enabled: true}\n")
	c, err := Load(cfg)
	require.NoError(t, err)
	assert.Equal(t, "s3cret", c.token)
	require.NoError(t, os.Chmod(tok, 0o644))
	_, err = Load(cfg)
	require.Error(t, err, "a token others can read is refused, as ssh refuses such keys")
	assert.Contains(t, err.Error(), "mode 0644 lets others read the token: chmod 600 "+tok)
	require.NoError(t, os.Chmod(tok, 0o600))
	write(t, dir, "token", "two words\n")
	_, err = Load(cfg)
	require.ErrorContains(t, err, "want one line holding the token, with no spaces")
}

func TestConfigJobnetFileNotEchoed(t *testing.T) {
	dir := t.TempDir()
	secret := strings.Repeat("root:x:0:0:root:/root:/bin/bash\n", 50)
	write(t, dir, "passwd", secret)
	cfg := write(t, dir, "agent.yaml", "jobnets: [passwd]\n")
	_, err := Load(cfg)
	require.Error(t, err)
	assert.Less(t, len(err.Error()), 600, "the error names the problem, it does not echo the file: %s", err)
	assert.NotContains(t, err.Error(), strings.Repeat("root:x:0:0:root:/root:/bin/bash", 3))
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
	assert.Equal(t, "checks: nothing to do: give checks, enable events, the job scheduler, the inventory sync, diag, images, metering or apps, or list jobnets", err.Error())
}

func TestDefault(t *testing.T) {
	d := Default("")
	assert.Equal(t, DefaultListen, d.Listen)
	assert.True(t, d.jobsEnabled(), "minato agent, then minato jobnet submit, works out of the box")
	require.NoError(t, d.Validate())
	d = Default("0.0.0.0:9464")
	assert.False(t, d.jobsEnabled(), "off loopback without a file: a Prometheus exporter, its API on loopback only")
	require.NoError(t, d.Validate(), "it starts: no token or TLS needed without the job scheduler")
}
