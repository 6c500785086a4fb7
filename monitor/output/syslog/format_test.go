package syslog_test

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/minato-ops/minato/monitor/output/syslog"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	t0  = time.Date(2015, 9, 6, 7, 15, 16, 123456789, time.UTC)
	jst = time.FixedZone("JST", 9*3600)
)

// cfg is a Config whose every header default is explicit.
func cfg() syslog.Config {
	c := syslog.DefaultConfig()
	c.Hostname = "manager_server"
	return c
}

func TestFormat5424(t *testing.T) {
	long := strings.Repeat("h", 300)
	cases := []struct {
		name string
		cfg  func(*syslog.Config)
		m    syslog.Message
		want string
	}{
		{"all fields", nil, syslog.Message{
			Time: t0, Severity: syslog.Info, Hostname: "90b56eb899e7", AppName: "minato", ProcID: "4242", MsgID: "container_status",
			StructuredData: map[string]map[string]string{"origin": {"ip": "192.0.2.1"}, "container@32473": {"name": "web-1", "image": "httpd:2.4"}},
			Text:           "running",
		}, `<14>1 2015-09-06T07:15:16.123456Z 90b56eb899e7 minato 4242 container_status [container@32473 image="httpd:2.4" name="web-1"][origin ip="192.0.2.1"] running`},
		{"config hostname and app name", nil, syslog.Message{Time: t0, Severity: syslog.Warning, Text: "x"},
			`<12>1 2015-09-06T07:15:16.123456Z manager_server minato - - - x`},
		{"nil values", func(c *syslog.Config) { c.Hostname, c.AppName = "", "" }, syslog.Message{},
			`<8>1 - - - - - -`}, // the zero Severity is Emergency
		{"own location, microseconds", nil, syslog.Message{Time: time.Date(2015, 9, 6, 16, 15, 16, 1000, jst), Severity: syslog.Debug},
			`<15>1 2015-09-06T16:15:16.000001+09:00 manager_server minato - - -`},
		{"highest PRI", func(c *syslog.Config) { c.Facility = 23 }, syslog.Message{Time: t0, Severity: syslog.Debug},
			`<191>1 2015-09-06T07:15:16.123456Z manager_server minato - - -`},
		{"facility 0 is user, as in syslog(3)", func(c *syslog.Config) { c.Facility = 0 }, syslog.Message{Time: t0, Severity: syslog.Emergency},
			`<8>1 2015-09-06T07:15:16.123456Z manager_server minato - - -`},
		{"bad facility is user, bad severity debug", func(c *syslog.Config) { c.Facility = 99 }, syslog.Message{Time: t0, Severity: 42},
			`<15>1 2015-09-06T07:15:16.123456Z manager_server minato - - -`},
		{"header characters replaced", nil, syslog.Message{Time: t0, Hostname: "docker host 1", AppName: "app\tname", ProcID: "p id", MsgID: "hôte"},
			`<8>1 2015-09-06T07:15:16.123456Z docker_host_1 app_name p_id h_te -`},
		{"header lengths", nil, syslog.Message{Time: t0, Hostname: long, AppName: strings.Repeat("a", 60), ProcID: strings.Repeat("p", 200), MsgID: strings.Repeat("m", 40)},
			"<8>1 2015-09-06T07:15:16.123456Z " + long[:255] + " " + strings.Repeat("a", 48) + " " + strings.Repeat("p", 128) + " " + strings.Repeat("m", 32) + " -"},
		{"SD escaping", nil, syslog.Message{Time: t0, StructuredData: map[string]map[string]string{
			"x@1": {"v": `a"b\c]d`, "empty": "", "utf8": "日本", "bad": "a\xffb"},
		}}, `<8>1 2015-09-06T07:15:16.123456Z manager_server minato - - [x@1 bad="a` + "\uFFFD" + `b" empty="" utf8="日本" v="a\"b\\c\]d"]`},
		{"SD names made valid, empty and duplicate IDs left out", nil, syslog.Message{Time: t0, StructuredData: map[string]map[string]string{
			"a b":                   {"k=1": "v", "": "dropped", strings.Repeat("n", 40): "cut"},
			"a_b":                   {"dup": "dropped"},
			"":                      {"k": "dropped"},
			`q"]`:                   nil,
			strings.Repeat("i", 40): {},
		}}, `<8>1 2015-09-06T07:15:16.123456Z manager_server minato - - [a_b k_1="v" ` + strings.Repeat("n", 32) + `="cut"][` + strings.Repeat("i", 32) + `][q__]`},
		{"empty SD is nil", nil, syslog.Message{Time: t0, StructuredData: map[string]map[string]string{"": {"k": "v"}}, Text: "t"},
			`<8>1 2015-09-06T07:15:16.123456Z manager_server minato - - - t`},
		{"text as given, no BOM", nil, syslog.Message{Time: t0, Severity: syslog.Notice, Text: "line 1\nline 2 ü ] \""},
			"<13>1 2015-09-06T07:15:16.123456Z manager_server minato - - - line 1\nline 2 ü ] \""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cf := cfg()
			if c.cfg != nil {
				c.cfg(&cf)
			}
			assert.Equal(t, c.want, string(syslog.Format5424(c.m, cf)))
		})
	}
}

func TestFormat3164(t *testing.T) {
	cases := []struct {
		name string
		cfg  func(*syslog.Config)
		m    syslog.Message
		want string
	}{
		{"seed 002 container status", nil, syslog.Message{Time: t0, Severity: syslog.Info, Hostname: "90b56eb899e7", Text: "running"},
			`<14>Sep  6 07:15:16 90b56eb899e7 minato: running`},
		{"two-digit day, own location", nil, syslog.Message{Time: time.Date(2015, 12, 16, 1, 2, 3, 0, jst), Severity: syslog.Critical, Text: "exited"},
			`<10>Dec 16 01:02:03 manager_server minato: exited`},
		{"PROCID, MSGID and SD left out", func(c *syslog.Config) { c.Facility = syslog.FacilityLocal7 }, syslog.Message{Time: t0, ProcID: "42", MsgID: "m", StructuredData: map[string]map[string]string{"a@1": {"b": "c"}}, Text: "t"},
			`<184>Sep  6 07:15:16 manager_server minato[42]: t`},
		{"tag replaced and cut", nil, syslog.Message{Time: t0, AppName: "my app:" + strings.Repeat("x", 40), Text: "t"},
			`<8>Sep  6 07:15:16 manager_server my_app_` + strings.Repeat("x", 25) + `: t`},
		{"no tag", func(c *syslog.Config) { c.AppName = "" }, syslog.Message{Time: t0, Hostname: "docker host1", Text: "{status: die}"},
			`<8>Sep  6 07:15:16 docker_host1 {status: die}`},
		{"no hostname", func(c *syslog.Config) { c.Hostname = "" }, syslog.Message{Time: t0, Text: "t"},
			`<8>Sep  6 07:15:16 - minato: t`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cf := cfg()
			if c.cfg != nil {
				c.cfg(&cf)
			}
			assert.Equal(t, c.want, string(syslog.Format3164(c.m, cf)))
		})
	}
}

func TestFormat3164ZeroTimeIsNow(t *testing.T) {
	before := time.Now().Truncate(time.Second)
	out := string(syslog.Format3164(syslog.Message{Text: "t"}, cfg()))
	after := time.Now()
	stamp, err := time.ParseInLocation(time.Stamp, out[len("<8>"):len("<8>")+len(time.Stamp)], time.Local)
	require.NoError(t, err, out)
	stamp = stamp.AddDate(before.Year(), 0, 0)
	assert.False(t, stamp.Before(before) || stamp.After(after), "%s not within [%s, %s]", stamp, before, after)
}

func TestSeverity(t *testing.T) {
	want := []string{"emerg", "alert", "crit", "err", "warning", "notice", "info", "debug"}
	for i, w := range want {
		assert.Equal(t, w, syslog.Severity(i).String())
	}
	assert.Equal(t, "Severity(8)", syslog.Severity(8).String())
	assert.EqualValues(t, 2, syslog.Critical)
	assert.EqualValues(t, 6, syslog.Info)
}

func TestConfigValidate(t *testing.T) {
	c := syslog.DefaultConfig()
	c.Address = "127.0.0.1:514"
	require.NoError(t, c.Validate())
	require.NoError(t, syslog.Config{Address: "[::1]:6514"}.Validate(), "zero fields mean their defaults")
	assert.Equal(t, syslog.Config{Protocol: "udp", Format: "rfc5424", Facility: 1, AppName: "minato", Timeout: 5 * time.Second, BufferSize: 1024}, syslog.DefaultConfig())

	bad := syslog.Config{Protocol: "sctp", Format: "json", Facility: 24, Timeout: -time.Second, BufferSize: -1}
	err := bad.Validate()
	require.Error(t, err)
	for _, want := range []string{
		`address: empty; want "host:port"`,
		`protocol "sctp": want "udp" or "tcp"`,
		`format "json": want "rfc3164" or "rfc5424"`,
		`facility 24: want 1 to 23`,
		`timeout -1s: want a positive duration`,
		`buffer_size -1: want 1 or more`,
	} {
		assert.Contains(t, err.Error(), want)
	}
	for addr, want := range map[string]string{
		"127.0.0.1":        `address "127.0.0.1": want "host:port"`,
		":514":             `address ":514": the host is empty`,
		"localhost:0":      `address "localhost:0": port "0": want a number from 1 to 65535`,
		"localhost:70000":  `port "70000": want a number from 1 to 65535`,
		"localhost:syslog": `port "syslog": want a number`,
	} {
		err := syslog.Config{Address: addr}.Validate()
		if assert.Error(t, err, addr) {
			assert.Contains(t, err.Error(), want)
		}
	}
	assert.ErrorContains(t, syslog.Config{Address: "h:1", Facility: -1}.Validate(), "facility -1")
}

// parsed is an RFC 5424 message read back by parse5424.
type parsed struct {
	pri                                 int
	version                             string
	timestamp, host, app, procid, msgid string
	sd                                  map[string]map[string]string
	sdOrder                             []string
	msg                                 string
	hasMsg                              bool
}

// parse5424 is an independent reader of RFC 5424 §6's grammar, strict
// where minato's output must be.
func parse5424(s string) (p parsed, err error) {
	if !strings.HasPrefix(s, "<") {
		return p, fmt.Errorf("no <")
	}
	end := strings.IndexByte(s, '>')
	if end < 2 || end > 4 {
		return p, fmt.Errorf("PRI: %q", s)
	}
	if p.pri, err = strconv.Atoi(s[1:end]); err != nil || p.pri > 191 || (s[1] == '0' && end > 2) {
		return p, fmt.Errorf("PRI %q", s[1:end])
	}
	rest := s[end+1:]
	fields := strings.SplitN(rest, " ", 7)
	if len(fields) < 7 {
		return p, fmt.Errorf("header: %q", rest)
	}
	p.version, p.timestamp, p.host, p.app, p.procid, p.msgid = fields[0], fields[1], fields[2], fields[3], fields[4], fields[5]
	for i, lim := range []int{1, 32, 255, 48, 128, 32} {
		f := fields[i]
		if f == "" || len(f) > lim {
			return p, fmt.Errorf("field %d %q: length", i, f)
		}
		for _, c := range []byte(f) {
			if c < 33 || c > 126 {
				return p, fmt.Errorf("field %d %q: character %q", i, f, c)
			}
		}
	}
	if p.version != "1" {
		return p, fmt.Errorf("version %q", p.version)
	}
	if p.timestamp != "-" {
		if _, err := time.Parse(time.RFC3339Nano, p.timestamp); err != nil {
			return p, err
		}
	}
	rest = fields[6]
	if strings.HasPrefix(rest, "-") {
		rest = rest[1:]
	} else {
		p.sd = map[string]map[string]string{}
		for strings.HasPrefix(rest, "[") {
			rest = rest[1:]
			id, r, err := sdName(rest)
			if err != nil {
				return p, err
			}
			if _, dup := p.sd[id]; dup {
				return p, fmt.Errorf("SD-ID %q twice", id)
			}
			params := map[string]string{}
			p.sd[id], p.sdOrder = params, append(p.sdOrder, id)
			rest = r
			for strings.HasPrefix(rest, " ") {
				name, r, err := sdName(rest[1:])
				if err != nil {
					return p, err
				}
				if !strings.HasPrefix(r, `="`) {
					return p, fmt.Errorf("param %q: no =\"", name)
				}
				r = r[2:]
				var v strings.Builder
				closed := false
				for i := 0; i < len(r); i++ {
					c := r[i]
					if c == '\\' && i+1 < len(r) && strings.IndexByte(`"\]`, r[i+1]) >= 0 {
						v.WriteByte(r[i+1])
						i++
						continue
					}
					if c == ']' {
						return p, fmt.Errorf("param %q: unescaped ]", name)
					}
					if c == '"' {
						r, closed = r[i+1:], true
						break
					}
					v.WriteByte(c)
				}
				if !closed {
					return p, fmt.Errorf("param %q: unterminated", name)
				}
				if !utf8.ValidString(v.String()) {
					return p, fmt.Errorf("param %q: not UTF-8", name)
				}
				params[name] = v.String()
				rest = r
			}
			if !strings.HasPrefix(rest, "]") {
				return p, fmt.Errorf("SD element %q: no ]", id)
			}
			rest = rest[1:]
		}
		if len(p.sd) == 0 {
			return p, fmt.Errorf("SD: neither - nor [")
		}
	}
	if rest != "" {
		if !strings.HasPrefix(rest, " ") {
			return p, fmt.Errorf("after SD: %q", rest)
		}
		p.msg, p.hasMsg = rest[1:], true
	}
	return p, nil
}

func sdName(s string) (string, string, error) {
	i := 0
	for i < len(s) && s[i] >= 33 && s[i] <= 126 && strings.IndexByte(`="] `, s[i]) < 0 {
		i++
	}
	if i == 0 || i > 32 {
		return "", "", fmt.Errorf("SD-NAME in %q", s)
	}
	return s[:i], s[i:], nil
}

func TestParse5424Reference(t *testing.T) {
	// RFC 5424 §6.5 example 3, as a check of the test's own reader.
	p, err := parse5424(`<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog - ID47 [exampleSDID@32473 iut="3" eventSource="Application" eventID="1011"] An application event log entry...`)
	require.NoError(t, err)
	assert.Equal(t, 165, p.pri)
	assert.Equal(t, map[string]string{"iut": "3", "eventSource": "Application", "eventID": "1011"}, p.sd["exampleSDID@32473"])
	assert.Equal(t, "An application event log entry...", p.msg)
	_, err = parse5424(`<14>1 - - - - - [a b="]"]`)
	assert.Error(t, err)
}

func FuzzFormat5424(f *testing.F) {
	f.Add("host", "app", "1", "msg", "id@1", "name", `va"l\u]e`, "text", uint8(1), uint8(6), int64(1441523716))
	f.Add("", "", "", "", "", "", "", "", uint8(0), uint8(0), int64(0))
	f.Add("a b", "日本", " ", "\x00", "a=b", "]", "\xff", "\n", uint8(200), uint8(9), int64(-1))
	f.Fuzz(func(t *testing.T, host, app, procid, msgid, sdid, pname, pval, text string, fac, sev uint8, unix int64) {
		c := cfg()
		c.Facility = int(fac % 30) // some out of range
		m := syslog.Message{
			Hostname: host, AppName: app, ProcID: procid, MsgID: msgid, Severity: syslog.Severity(sev), Text: text,
			StructuredData: map[string]map[string]string{sdid: {pname: pval, "fixed": pval}},
		}
		if unix != 0 {
			m.Time = time.Unix(unix%(1<<34), unix%1e9).UTC()
		}
		out := string(syslog.Format5424(m, c))
		p, err := parse5424(out)
		require.NoError(t, err, "%q", out)
		wantFac := c.Facility
		if wantFac > 23 || wantFac == 0 {
			wantFac = 1
		}
		assert.Equal(t, wantFac*8+int(min(sev, 7)), p.pri)
		assert.Equal(t, "1", p.version)
		if text != "" {
			assert.Equal(t, text, p.msg)
		} else {
			assert.False(t, p.hasMsg)
		}
		// The element survives (unless its ID is empty) with the value
		// read back exactly (made valid UTF-8).
		if sdid == "" {
			assert.Nil(t, p.sd)
			return
		}
		require.Len(t, p.sdOrder, 1, "%q", out)
		params := p.sd[p.sdOrder[0]]
		assert.Equal(t, strings.ToValidUTF8(pval, "\uFFFD"), params["fixed"])
	})
}
