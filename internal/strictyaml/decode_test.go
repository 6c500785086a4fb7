package strictyaml_test

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/internal/strictyaml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type level string

func (l *level) UnmarshalText(b []byte) error {
	switch string(b) {
	case "low", "high":
		*l = level(b)
		return nil
	}
	return assert.AnError
}

type inner struct {
	Sample  string            `json:"sample"`
	Warning *string           `json:"warning,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
}

type config struct {
	Listen   string        `json:"listen"`
	Interval time.Duration `json:"interval"`
	Count    int           `json:"count"`
	Ratio    float64       `json:"ratio"`
	On       bool          `json:"on"`
	Level    level         `json:"level"`
	Items    []inner       `json:"items"`
	Sub      *inner        `json:"sub"`
	skipped  int
}

func TestUnmarshal(t *testing.T) {
	c := config{Listen: "default", Count: 7}
	require.NoError(t, strictyaml.Unmarshal([]byte(`
interval: 2s
ratio: 0.5
on: true
level: high
items:
  - {sample: cpu_percent, warning: "50", labels: {core: "0"}}
sub: {sample: x}
`), &c))
	assert.Equal(t, "default", c.Listen, "absent keys keep defaults")
	assert.Equal(t, 7, c.Count)
	assert.Equal(t, 2*time.Second, c.Interval)
	assert.Equal(t, level("high"), c.Level)
	require.Len(t, c.Items, 1)
	assert.Equal(t, "50", *c.Items[0].Warning)
	assert.Equal(t, map[string]string{"core": "0"}, c.Items[0].Labels)
	assert.Equal(t, "x", c.Sub.Sample)
	_ = c.skipped

	require.NoError(t, strictyaml.Unmarshal([]byte(`{"listen": "127.0.0.1:1", "items": [], "sub": null}`), &c), "JSON works too")
	assert.Equal(t, "127.0.0.1:1", c.Listen)
	assert.NotNil(t, c.Items, "an empty list is an empty slice, not nil")
	assert.Empty(t, c.Items)
	assert.Nil(t, c.Sub, "null clears a pointer")
	require.NoError(t, strictyaml.Unmarshal([]byte("# nothing\n"), &c), "an empty document changes nothing")
	assert.Equal(t, "127.0.0.1:1", c.Listen)
}

func TestUnmarshalErrors(t *testing.T) {
	var c config
	err := strictyaml.Unmarshal([]byte(`
listen: [a]
interval: soon
count: many
ratio: .nan
on: maybe
level: medium
colour: red
items:
  - {sample: x, warnig: "1"}
  - 5
  - {sample: y, labels: {a: "1", a: "2"}}
sub: []
listen: again
`), &c)
	require.Error(t, err)
	for _, want := range []string{
		"listen: want a string, got a list",
		`interval: "soon": want a duration`,
		`count: want a whole number, got "many"`,
		"ratio: want a number",
		`on: want true or false, got "maybe"`,
		`level: "medium": ` + assert.AnError.Error(),
		"colour: unknown key (allowed: count, interval, items, level, listen, on, ratio, sub)",
		"items[0].warnig: unknown key (allowed: labels, sample, warning)",
		`items[1]: want a mapping with keys sample, warning, labels, got "5"`,
		"items[2].labels.a: given twice",
		"sub: want a mapping",
		"listen: given twice",
	} {
		assert.Contains(t, err.Error(), want)
	}
	assert.ErrorContains(t, strictyaml.Unmarshal([]byte("interval: -1s"), &c), `interval: "-1s": want a duration of 0 or more`)
	assert.ErrorContains(t, strictyaml.Unmarshal([]byte("on: 1"), &c), `on: want true or false, got "1"`, "YAML's booleans are true and false")
	assert.ErrorContains(t, strictyaml.Unmarshal([]byte("a: [b"), &c), "not valid YAML or JSON")
	assert.Error(t, strictyaml.Unmarshal([]byte("x: 1"), c), "needs a pointer")
}

// schedule is written as a plain cron string or as a mapping; it checks
// itself.
type schedule struct {
	Cron string `json:"cron"`
	Zone string `json:"zone,omitempty"`
}

func (s *schedule) UnmarshalText(b []byte) error {
	*s = schedule{Cron: string(b)}
	return nil
}

func (s *schedule) Validate() error {
	var errs []error
	if s.Cron == "" {
		errs = append(errs, errors.New("cron: required"))
	}
	if s.Zone == "Mars" {
		errs = append(errs, fmt.Errorf("zone: %s: no such zone", strictyaml.Quote(s.Zone)))
	}
	if strings.HasPrefix(s.Cron, "@every") && s.Zone != "" {
		errs = append(errs, errors.New("an @every schedule has no zone"))
	}
	return errors.Join(errs...)
}

// retry checks itself with a value receiver, naming fields the way
// job.RetryPolicy does.
type retry struct {
	Limit  int               `json:"limit"`
	OnExit map[int]string    `json:"on_exit"`
	Env    map[string]string `json:"env"`
	Codes  []int             `json:"codes"`
}

func (r retry) Validate() error {
	var errs []error
	seen := map[int]bool{}
	for _, c := range r.Codes {
		if seen[c] {
			errs = append(errs, fmt.Errorf("codes: %d listed twice", c))
		}
		seen[c] = true
	}
	if r.Limit < 0 {
		errs = append(errs, fmt.Errorf("limit: must not be negative, got %d", r.Limit))
	}
	for code, d := range r.OnExit {
		if d != "retry" && d != "fail" {
			errs = append(errs, fmt.Errorf("on_exit[%d]: unknown decision %q", code, d))
		}
	}
	return errors.Join(errs...)
}

type job struct {
	Name     string    `json:"name"`
	Schedule *schedule `json:"schedule"`
	Retries  []retry   `json:"retries"`
}

// Validate is the top-level check: not called by Unmarshal itself.
func (j *job) Validate() error {
	if j.Name == "" {
		return errors.New("name: required")
	}
	return nil
}

func TestTextOrMapping(t *testing.T) {
	var j job
	require.NoError(t, strictyaml.Unmarshal([]byte(`{name: a, schedule: "0 2 * * *"}`), &j))
	assert.Equal(t, &schedule{Cron: "0 2 * * *"}, j.Schedule)
	require.NoError(t, strictyaml.Unmarshal([]byte(`{name: a, schedule: {cron: "@daily", zone: UTC}}`), &j))
	assert.Equal(t, &schedule{Cron: "@daily", Zone: "UTC"}, j.Schedule)

	err := strictyaml.Unmarshal([]byte(`{schedule: [x]}`), &j)
	assert.EqualError(t, err, "schedule: want a string or a mapping with keys cron, zone, got a list")
	err = strictyaml.Unmarshal([]byte(`{schedule: null}`), &j)
	assert.NoError(t, err)
	assert.Nil(t, j.Schedule)

	// A type with a complete text form (a TextMarshaler too) takes text only.
	var d struct {
		At time.Time `json:"at"`
	}
	require.NoError(t, strictyaml.Unmarshal([]byte(`at: 2026-01-02T03:04:05Z`), &d))
	assert.Equal(t, time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), d.At)
	assert.EqualError(t, strictyaml.Unmarshal([]byte(`at: {}`), &d), "at: want a string, got a mapping")
	err = strictyaml.Unmarshal([]byte(`at: tomorrow`), &d)
	assert.EqualError(t, err, `at: parsing time "tomorrow" as "2006-01-02T15:04:05Z07:00": cannot parse "tomorrow" as "2006"`,
		"an error that quotes the value is not prefixed with it")
}

func TestValidateHook(t *testing.T) {
	var j job
	err := strictyaml.Unmarshal([]byte(`
schedule: {zone: Mars}
retries:
  - {limit: -1, on_exit: {"3": maybe, "4": fail}}
  - {limit: 2, on_exit: {"x": fail, "5": [retry]}, codes: [1, x, y]}
  - {codes: [1, 1], colour: red}
`), &j)
	assert.EqualError(t, err, strings.Join([]string{
		"schedule.cron: required",
		`schedule.zone: "Mars": no such zone`,
		"retries[0].limit: must not be negative, got -1",
		`retries[0].on_exit[3]: unknown decision "maybe"`,
		`retries[1].on_exit[x]: want a whole number as the key, got "x"`,
		"retries[1].on_exit[5]: want a string, got a list",
		`retries[1].codes[1]: want a whole number, got "x"`,
		`retries[1].codes[2]: want a whole number, got "y"`,
		"retries[2].colour: unknown key (allowed: codes, env, limit, on_exit)",
		"retries[2].codes: 1 listed twice",
	}, "\n"), "sub-paths join the value's path; a problem where decoding left a value zero is dropped (codes 0 twice); the top level is not validated")

	err = strictyaml.Unmarshal([]byte(`schedule: {cron: "@every 1m", zone: UTC}`), &j)
	assert.EqualError(t, err, "schedule: an @every schedule has no zone", "a problem without a sub-path is the value's")
	err = strictyaml.Unmarshal([]byte(`schedule: ""`), &j)
	assert.EqualError(t, err, "schedule.cron: required", "a value decoded from text is validated too")

	j = job{}
	err = strictyaml.Options{Validate: j.Validate}.Unmarshal([]byte(`schedule: "@daily"`), &j)
	assert.EqualError(t, err, "name: required", "Options.Validate checks the whole")
	err = strictyaml.Options{Validate: func() error { return errors.New("nothing to do") }}.Unmarshal([]byte(`name: x`), &j)
	assert.EqualError(t, err, "(top level): nothing to do")
	called := false
	err = strictyaml.Options{Validate: func() error { called = true; return nil }}.Unmarshal([]byte(`name: [x`), &j)
	assert.ErrorContains(t, err, "not valid YAML or JSON")
	assert.False(t, called, "not called for a document that could not be read")
	err = strictyaml.Options{Validate: func() error { called = true; return nil }}.Unmarshal([]byte(`[name]`), &j)
	assert.EqualError(t, err, "(top level): want a mapping with keys name, schedule, retries, got a list")
	assert.False(t, called, "nor for one that is not a mapping")
}

func TestQuote(t *testing.T) {
	assert.Equal(t, `"a\nb"`, strictyaml.Quote("a\nb"))
	s := strings.Repeat("é", strictyaml.MaxQuoted)
	assert.Equal(t, `"`+s+`"`, strictyaml.Quote(s))
	assert.Equal(t, `"`+s+`…" (61 characters)`, strictyaml.Quote(s+"x"))
}

// passwd is a file that is neither YAML configuration nor short: a job
// file path mistyped as /etc/passwd.
var passwd = strings.Repeat("daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n", 200)

func TestLimits(t *testing.T) {
	var c config
	err := strictyaml.Unmarshal([]byte(passwd), &c)
	require.Error(t, err)
	assert.Less(t, len(err.Error()), 300, "a whole file is never echoed: %s", err)
	assert.Contains(t, err.Error(), `(top level): want a mapping with keys listen, interval, count, ratio, on, level, items, sub, got "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin daemon:x:1:1…" (9599 characters)`)

	err = strictyaml.Unmarshal([]byte("level: "+strings.Repeat("x", 1<<20)), &c)
	require.Error(t, err)
	assert.Equal(t, `level: "`+strings.Repeat("x", 60)+`…" (1048576 characters): `+assert.AnError.Error(), err.Error())
	err = strictyaml.Unmarshal([]byte(strings.Repeat("k", 1000)+": 1"), &c)
	require.Error(t, err)
	assert.Less(t, len(err.Error()), 200, "a long key is cut in the key path: %s", err)

	err = strictyaml.Unmarshal([]byte("listen: x\n"+strings.Repeat("#", strictyaml.MaxBytes)), &c)
	assert.EqualError(t, err, "document of 4194314 bytes: more than the 4 MiB a document may have")

	var lists struct {
		L [][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][][]string `json:"l"`
	}
	err = strictyaml.Unmarshal([]byte("l: "+strings.Repeat("[", 80)+strings.Repeat("]", 80)), &lists)
	assert.EqualError(t, err, "l"+strings.Repeat("[0]", 64)+": nested more than 64 deep")

	err = strictyaml.Unmarshal([]byte("items:\n"+strings.Repeat("  - {sample: x, bad: 1}\n", 150)), &c)
	require.Error(t, err)
	lines := strings.Split(err.Error(), "\n")
	require.Len(t, lines, strictyaml.MaxProblems+1)
	assert.Equal(t, "items[99].bad: unknown key (allowed: labels, sample, warning)", lines[99])
	assert.Equal(t, "... and 50 more problems", lines[100])

	var many struct {
		L []int `json:"l"`
	}
	err = strictyaml.Unmarshal([]byte("l: ["+strings.Repeat("1,", strictyaml.MaxValues)+"1]"), &many)
	assert.EqualError(t, err, "document of more than 100000 values (it has 100002 of the ',', ':', '-', '?', '[' and '{' that start or separate them)",
		"refused before the YAML parser builds a tree of them")
}

// fanOut is a configuration whose aliases expand each level fortyfold: a
// check with 320 labels, 40 of them in a check, 40 of those in the next,
// five levels: about 7 KB that expand to billions of values.
func fanOut() string {
	var b strings.Builder
	b.WriteString("checks:\n  - &c0 {name: a, thresholds: [{sample: s, labels: {")
	for i := range 320 {
		fmt.Fprintf(&b, "label_%03d: v%03d, ", i, i)
	}
	b.WriteString("z: z}}]}\n")
	for lvl := 1; lvl <= 5; lvl++ {
		fmt.Fprintf(&b, "  - &c%d {name: l%d, children: [", lvl, lvl)
		for i := range 40 {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*c%d", lvl-1)
		}
		b.WriteString("]}\n")
	}
	b.WriteString("  - {name: top, children: [")
	for i := range 40 {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("*c5")
	}
	b.WriteString("]}\n")
	return b.String()
}

type check struct {
	Name       string      `json:"name"`
	Thresholds []threshold `json:"thresholds"`
	Children   []check     `json:"children"`
}

type threshold struct {
	Sample string            `json:"sample"`
	Labels map[string]string `json:"labels"`
}

// TestAliasBomb: a 7 KB document whose aliases fan out to 40^6 checks
// fails in milliseconds with little memory: at most MaxValues values are
// decoded (the bound asserted: 64 MiB allocated, 250 ms; it takes about
// 30 ms and 16 MiB).
func TestAliasBomb(t *testing.T) {
	doc := []byte(fanOut())
	require.InDelta(t, 7<<10, len(doc), 1<<10)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	start := time.Now()
	var cfg struct {
		Checks []check `json:"checks"`
	}
	err := strictyaml.Unmarshal(doc, &cfg)
	elapsed := time.Since(start)
	runtime.ReadMemStats(&after)
	assert.EqualError(t, err, "(top level): aliases expand to more than 100000 values")
	assert.Less(t, elapsed, 250*time.Millisecond)
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(64<<20), "bytes allocated")
	t.Logf("%d bytes, %s, %d KiB allocated", len(doc), elapsed, (after.TotalAlloc-before.TotalAlloc)>>10)
}

// all has a field of every supported kind, in groups, recursive so that
// aliases can nest it.
type all struct {
	Scalars scalars `json:"s"`
	Texts   texts   `json:"t"`
	Lists   lists   `json:"l"`
}

type scalars struct {
	S string        `json:"s"`
	B bool          `json:"b"`
	I int8          `json:"i"`
	U uint16        `json:"u"`
	F float32       `json:"f"`
	D time.Duration `json:"d"`
}

type texts struct {
	T  time.Time `json:"t"`
	L  level     `json:"l"`
	Sc *schedule `json:"sc"`
	R  retry     `json:"r"`
}

type lists struct {
	SS  []string          `json:"ss"`
	M   map[string]int    `json:"m"`
	MI  map[int]string    `json:"mi"`
	P   *all              `json:"p"`
	K   []all             `json:"k"`
	Map map[string][]*all `json:"map"`
}

// everyKind is a document with a value of every kind, and an alias.
const everyKind = `
s: {s: x, b: true, i: -8, u: 9, f: 1.5, d: 1m}
t: {t: 2026-01-01T00:00:00Z, l: low, sc: '@daily', r: {limit: 1, on_exit: {3: retry}, codes: [1]}}
l:
  p: &p {l: {ss: [b]}}
  ss: [a]
  m: {a: 1}
  mi: {1: a}
  k: [{s: {s: y}}, *p]
  map: {a: [{t: {sc: {cron: x}}}, null]}
`

func TestEveryKind(t *testing.T) {
	var a all
	require.NoError(t, strictyaml.Unmarshal([]byte(everyKind), &a))
	assert.Equal(t, scalars{S: "x", B: true, I: -8, U: 9, F: 1.5, D: time.Minute}, a.Scalars)
	assert.Equal(t, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), a.Texts.T)
	assert.Equal(t, level("low"), a.Texts.L)
	assert.Equal(t, &schedule{Cron: "@daily"}, a.Texts.Sc)
	assert.Equal(t, retry{Limit: 1, OnExit: map[int]string{3: "retry"}, Codes: []int{1}}, a.Texts.R)
	assert.Equal(t, []string{"b"}, a.Lists.P.Lists.SS)
	assert.Equal(t, []string{"a"}, a.Lists.SS)
	assert.Equal(t, map[string]int{"a": 1}, a.Lists.M)
	assert.Equal(t, map[int]string{1: "a"}, a.Lists.MI)
	require.Len(t, a.Lists.K, 2)
	assert.Equal(t, "y", a.Lists.K[0].Scalars.S)
	assert.Equal(t, []string{"b"}, a.Lists.K[1].Lists.SS, "through the alias")
	assert.Equal(t, []*all{{Texts: texts{Sc: &schedule{Cron: "x"}}}, nil}, a.Lists.Map["a"])
}

func FuzzUnmarshal(f *testing.F) {
	f.Add("listen: x\nitems: [{sample: a}]\n")
	f.Add(`{"sub": null, "count": 99999999999999999999}`)
	f.Add("items: &a [*a]")
	f.Add("l: &a {p: {l: *a}, ss: [x]}")
	f.Add(everyKind)
	f.Add(fanOut())
	f.Add(passwd)
	f.Add("l: {k: " + strings.Repeat("[", 100) + strings.Repeat("]", 100) + "}")
	f.Add("s: {s: " + strings.Repeat("x", 5000) + "}")
	f.Fuzz(func(t *testing.T, s string) {
		var c config
		if err := strictyaml.Unmarshal([]byte(s), &c); err != nil {
			checkError(t, s, err)
		}
		var a all
		if err := strictyaml.Unmarshal([]byte(s), &a); err != nil {
			checkError(t, s, err)
		}
	})
}

// checkError checks the bounds every error keeps.
func checkError(t *testing.T, doc string, err error) {
	t.Helper()
	lines := strings.Split(err.Error(), "\n")
	if len(lines) > strictyaml.MaxProblems+2 {
		t.Fatalf("%d lines for %q", len(lines), doc)
	}
	for _, l := range lines {
		if l == "" || len(l) > strictyaml.MaxMessage+len("…") {
			t.Fatalf("line %q for %q", l, doc)
		}
	}
}
