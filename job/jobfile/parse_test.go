package jobfile_test

import (
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/jobfile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// issueExample is the schema example of the job-network issue, verbatim.
const issueExample = `
name: nightly
concurrency: 2
units:
  - name: extract
    run: {image: "app:1", command: ["extract", "--day", "today"], env: {A: "1"}}
    timeout: 30s
  - name: transform
    exec: {container: "worker", command: ["transform"]}
    needs: [extract]
    retry: {limit: 2, delay: 1s}
  - name: report-failure
    needs: [transform]
    when: failure
    run: {image: "app:1", command: ["notify"]}
`

func TestParseIssueExample(t *testing.T) {
	def, err := jobfile.Parse([]byte(issueExample))
	require.NoError(t, err)
	assert.Equal(t, "nightly", def.Name)
	assert.Equal(t, 2, def.Concurrency)
	require.Len(t, def.Units, 3)
	ex := def.Units[0]
	assert.Equal(t, "app:1", ex.Run.Image)
	assert.Equal(t, []string{"extract", "--day", "today"}, ex.Run.Command)
	assert.Equal(t, map[string]string{"A": "1"}, ex.Run.Env)
	assert.Equal(t, 30*time.Second, ex.Timeout)
	tr := def.Units[1]
	assert.Equal(t, "worker", tr.Exec.Container)
	assert.Equal(t, []string{"extract"}, tr.Needs)
	assert.Equal(t, &job.RetryPolicy{Limit: 2, Delay: time.Second}, tr.Retry)
	assert.Equal(t, job.When{On: "failure"}, def.Units[2].When)
}

func TestParseJSON(t *testing.T) {
	def, err := jobfile.Parse([]byte(`{"name": "n", "units": [
		{"name": "a", "host": {"command": ["/bin/true"]}},
		{"name": "b", "needs": ["a"], "when": {"codes": [0, 3]}, "container": {"action": "restart", "names": ["web*"], "grace": "5s"},
		 "retry": {"limit": 3, "delay": "1s", "backoff": 2, "max_delay": "10s", "on_exit": {"3": "fail", "4": "ignore"}, "default": "retry", "retry_errors": true}}]}`))
	require.NoError(t, err)
	assert.Equal(t, []int{0, 3}, def.Units[1].When.Codes)
	assert.Equal(t, 5*time.Second, def.Units[1].Container.Grace)
	assert.Equal(t, map[int]job.Decision{3: job.DecideFail, 4: job.DecideIgnore}, def.Units[1].Retry.OnExit)
	assert.True(t, def.Units[1].Retry.RetryErrors)
	assert.Equal(t, 2.0, def.Units[1].Retry.Backoff)
}

func TestParseErrorsNameEveryProblem(t *testing.T) {
	cases := []struct {
		yaml string
		want []string
	}{
		{`units: []`, []string{"name: required", "units: required: at least one unit"}},
		{`name: x
colour: red
units: [{name: a, host: {command: [x]}}]`, []string{"colour: unknown key (allowed: name, concurrency, output_limit, units)"}},
		{`name: x
concurrency: -1
units: [{name: a, host: {command: [x]}, timeout: 1x, retry: {delay: soon, limit: two, backoff: 0.5, on_exit: {"300": retry, "2": maybe}}}]`, []string{
			"concurrency: -1: want 0 or more",
			`units[0].timeout: "1x": want a duration such as 30s`,
			`units[0].retry.delay: "soon": want a duration`,
			`units[0].retry.limit: want a whole number, got "two"`,
			"units[0].retry.backoff: 0.5: want 1 or more",
			"units[0].retry.on_exit.300: want an exit code from 0 to 255",
			`units[0].retry.on_exit.2: "maybe": want retry, fail or ignore`,
		}},
		{`name: x
units:
  - {name: a, host: {command: [x]}, needs: [b]}
  - {name: b, host: {command: [x]}, needs: [c]}
  - {name: c, host: {command: [x]}, needs: [a]}
  - {name: d, host: {command: [x]}, needs: [d, zz]}
  - {name: a, host: {command: [x]}}`, []string{
			"units: cycle in needs: a -> b -> c -> a",
			`units[3].needs[0]: unit "d" needs itself`,
			`units[3].needs[1]: no unit is named "zz"`,
			`units[4].name: "a" is also the name of units[0]`,
		}},
		{`name: x
units:
  - {name: a}
  - {name: b, host: {command: [x]}, run: {image: i}}
  - {name: c, run: {command: [x]}, when: sometimes}
  - {name: d, exec: {container: "web*"}}
  - {name: e, container: {action: explode}}
  - {name: f, run: {image: i, mounts: ["data"], memory: 100, cpus: 0}}
  - {name: g, host: {command: [x]}, when: failure}`, []string{
			"units[0]: give exactly one of run, exec, host or container (found 0)",
			"units[1]: give exactly one of run, exec, host or container (found 2)",
			"units[2].run.image: required",
			`units[2].when: "sometimes": want success, failure, always or {codes: [...]}`,
			`units[3].exec.container: "web*": exec takes one container`,
			"units[3].exec.command: required",
			`units[4].container.action: "explode": want start, stop, restart or remove`,
			"units[4].container: give names or ids",
			`units[5].run.mounts[0]: "data": want HOST:CONTAINER[:ro|rw]`,
			"units[5].run.memory: 100: want 6291456 or more",
			"units[5].run.cpus: 0: want a number of CPUs greater than 0",
			"units[6].when: a condition needs units to look at: add needs",
		}},
		{`name: [x]
units: {a: 1}`, []string{"name: want a string, got a list", "units: want a list of units, got a mapping"}},
	}
	for _, c := range cases {
		_, err := jobfile.Parse([]byte(c.yaml))
		require.Error(t, err, c.yaml)
		for _, w := range c.want {
			assert.Contains(t, err.Error(), w, c.yaml)
		}
	}
	_, err := jobfile.Parse([]byte("name: [unterminated"))
	assert.ErrorContains(t, err, "not valid YAML or JSON")
	_, err = jobfile.Parse(nil)
	assert.ErrorContains(t, err, "empty definition")
}

func FuzzParse(f *testing.F) {
	f.Add(issueExample)
	f.Add(`{"name":"n","units":[{"name":"a","host":{"command":["x"]}}]}`)
	f.Add("name: &a x\nunits: *a")
	f.Add("units:\n  - needs: [a, a]\n    name: a\n")
	f.Fuzz(func(t *testing.T, s string) {
		def, err := jobfile.Parse([]byte(s))
		if err == nil && (def.Name == "" || len(def.Units) == 0) {
			t.Fatalf("accepted a definition without name or units: %q", s)
		}
		if err != nil && strings.TrimSpace(err.Error()) == "" {
			t.Fatalf("empty error for %q", s)
		}
	})
}
