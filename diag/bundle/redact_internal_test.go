package bundle

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRedactText(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
		hits           []Redaction
	}{
		{"env line", "DB_PASSWORD=hunter2 PATH=/bin", "DB_PASSWORD=[REDACTED] PATH=/bin",
			[]Redaction{{File: "f", Key: "DB_PASSWORD", Kind: KindNameValue, Count: 1}}},
		{"case and fragments", "mysql_pwd=x1 Api-Key=k2 GITHUB_TOKEN=t3 aws_secret_access_key=s4 credential=c5 X_AUTH=a6 PRIVATE_DATA=p7",
			"mysql_pwd=[REDACTED] Api-Key=[REDACTED] GITHUB_TOKEN=[REDACTED] aws_secret_access_key=[REDACTED] credential=[REDACTED] X_AUTH=[REDACTED] PRIVATE_DATA=[REDACTED]", nil},
		{"value stops at quotes and ampersand", `url?token=abc123&page=2 "PASS=p@ss"`, `url?token=[REDACTED]&page=2 "PASS=[REDACTED]"`, nil},
		{"path under a path name is kept", "JOBCENTER_NSUMSMGR_PASS_FILE=/run/secrets/pw PWD=/root SSH_AUTH_SOCK=/tmp/agent.1",
			"JOBCENTER_NSUMSMGR_PASS_FILE=/run/secrets/pw PWD=/root SSH_AUTH_SOCK=/tmp/agent.1", nil},
		{"path under a secret name is not", "DB_PASSWORD=/looks/like/a/path", "DB_PASSWORD=[REDACTED]", nil},
		{"authors are no secret", "org.opencontainers.image.authors=ops@example.com", "org.opencontainers.image.authors=ops@example.com", nil},
		{"header", "GET / HTTP/1.1\r\nAuthorization: Bearer abc.def\r\nHost: x\r\n", "GET / HTTP/1.1\r\nAuthorization: [REDACTED]\r\nHost: x\r\n",
			[]Redaction{{File: "f", Key: "Authorization header", Kind: KindHeader, Count: 1}}},
		{"proxy header in a command", `curl -H 'Proxy-Authorization: Basic dXNlcg==' http://x`, `curl -H 'Proxy-Authorization: [REDACTED]' http://x`,
			[]Redaction{{File: "f", Key: "Proxy-Authorization header", Kind: KindHeader, Count: 1}}},
		{"header as JSON in a log line", `{"headers":{"authorization":"Basic Zm9v","accept":"*/*"}}`, `{"headers":{"authorization":"[REDACTED]","accept":"*/*"}}`, nil},
		{"word authorization alone", "Authorization failed for user bob", "Authorization failed for user bob", nil},
		{"url password", "proxy http://bob:pw1234@proxy:3128 and redis://:pw9@r:6379/0 and https://host/x", "proxy http://bob:[REDACTED]@proxy:3128 and redis://:[REDACTED]@r:6379/0 and https://host/x",
			[]Redaction{{File: "f", Key: "URL password", Kind: KindURLPassword, Count: 2}}},
		{"json member in text", `{"password": "p\"w", "user": "bob"}`, `{"password": "[REDACTED]", "user": "bob"}`,
			[]Redaction{{File: "f", Key: "password", Kind: KindJSONKey, Count: 1}}},
		{"flag and value", "mysqld --password hunter2 --user=mysql --api-key\tk9", "mysqld --password [REDACTED] --user=mysql --api-key\t[REDACTED]",
			[]Redaction{{File: "f", Key: "--api-key", Kind: KindFlag, Count: 1}, {File: "f", Key: "--password", Kind: KindFlag, Count: 1}}},
		{"flag followed by a flag", "run --token --verbose", "run --token --verbose", nil},
		{"private key", "key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEow\nAAAA==\n-----END RSA PRIVATE KEY-----\nafter", "key:\n-----BEGIN RSA PRIVATE KEY-----\n[REDACTED]\n-----END RSA PRIVATE KEY-----\nafter",
			[]Redaction{{File: "f", Key: "PEM private key", Kind: KindPrivateKey, Count: 1}}},
		{"private key cut short", "-----BEGIN PRIVATE KEY-----\nMIIEow\nAAAA", "-----BEGIN PRIVATE KEY-----\n[REDACTED]", nil},
		{"nothing", "hello world", "hello world", []Redaction{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRedactor()
			got := r.text("f", tc.in)
			assert.Equal(t, tc.want, got)
			if tc.hits != nil {
				assert.Equal(t, tc.hits, r.redactions())
			}
			assert.Equal(t, got, newRedactor().text("f", got), "redacting twice changes nothing")
		})
	}
}

func TestRedactLearntValues(t *testing.T) {
	r := newRedactor()
	r.learnEnv([]string{"DB_PASSWORD=hunter2", "API_TOKEN=abc", "SHORT_KEY=ab", "FLAG_SECRET=true", "PATH=/usr/bin", "CERT_KEY=/etc/k.pem", "PLAIN=visible", "NOVALUE"})
	r.learnJSON([]byte(`{"auths": {"r.example": {"auth": "dXNlcjpw"}}, "other": "x"}`))
	r.learnText("log: --password flagpw1 SESSION_TOKEN=sess77")
	var values []string
	for _, s := range r.secrets {
		values = append(values, s.value)
	}
	assert.ElementsMatch(t, []string{"hunter2", "abc", "dXNlcjpw", "flagpw1", "sess77"}, values, "short, boolean and path values are not hunted for")
	assert.Empty(t, r.redactions(), "learning counts nothing")

	got := r.text("log", "user typed hunter2; abc. abcdef xabc hunter2x dXNlcjpw flagpw1 visible true")
	assert.Equal(t, "user typed [REDACTED]; [REDACTED]. abcdef xabc hunter2x [REDACTED] [REDACTED] visible true", got)
	assert.Equal(t, []Redaction{
		{File: "log", Key: "--password", Kind: KindValue, Count: 1},
		{File: "log", Key: "API_TOKEN", Kind: KindValue, Count: 1},
		{File: "log", Key: "DB_PASSWORD", Kind: KindValue, Count: 1},
		{File: "log", Key: "auth", Kind: KindValue, Count: 1},
	}, r.redactions())
}

func TestRedactJSON(t *testing.T) {
	r := newRedactor()
	in := `{"Config": {"Env": ["A_TOKEN=t0k\"en", "PATH=/bin"], "Cmd": ["app", "--secret", "s1", "--name", "n"], "Labels": {"com.x.api-key": "lk", "tier": "db"}},
		"NetworkSettings": {"SandboxKey": "/var/run/docker/netns/1"}, "Size": 12345678901234567890, "Privileged": false, "auths": {"r": {"auth": "YQ==", "email": "a@b"}}}`
	out := r.json("f", []byte(in))
	var v map[string]any
	require.NoError(t, json.Unmarshal(out, &v), "the output is JSON")
	s := string(out)
	for _, want := range []string{`"A_TOKEN=[REDACTED]"`, `"PATH=/bin"`, `"--secret",`, `"[REDACTED]",`, `"--name",`, `"n"`, `"com.x.api-key": "[REDACTED]"`,
		`"tier": "db"`, `"SandboxKey": "/var/run/docker/netns/1"`, `12345678901234567890`, `"auth": "[REDACTED]"`, `"email": "a@b"`} {
		assert.Contains(t, s, want)
	}
	assert.NotContains(t, s, "t0k")
	assert.NotContains(t, s, `"s1"`)
	assert.Equal(t, "not json PASSWORD=[REDACTED]", string(r.json("f", []byte("not json PASSWORD=x1"))))
}

func TestReplaceBounded(t *testing.T) {
	for _, tc := range []struct{ s, v, want string }{
		{"abc", "abc", "[REDACTED]"},
		{"xabc abcx abc_ (abc)", "abc", "xabc abcx abc_ ([REDACTED])"},
		{"p@ss! p@ss!!", "p@ss!", "[REDACTED] [REDACTED]!"},
		{"aaaa", "aa", "aaaa"},
		{"", "x", ""},
	} {
		got, _ := replaceBounded(tc.s, tc.v)
		assert.Equal(t, tc.want, got, "%q in %q", tc.v, tc.s)
	}
}

// FuzzRedactText checks, for any text and a learnt secret, that the
// redaction never panics, is idempotent and leaves no learnt secret that
// stands as its own word.
func FuzzRedactText(f *testing.F) {
	for _, s := range []string{"DB_PASSWORD=hunter2", "Authorization: Bearer x", "http://u:p@h", `{"token":"v"}`, "--password x",
		"-----BEGIN PRIVATE KEY-----\nAA\n-----END PRIVATE KEY-----", "hunter2 said hi", "\xff\xfe=", ""} {
		f.Add(s, "hunter2")
	}
	f.Fuzz(func(t *testing.T, text, secret string) {
		r := newRedactor()
		r.learnEnv([]string{"X_SECRET=" + secret})
		out := r.text("f", text)
		assert.Equal(t, out, r.text("f", out), "idempotent")
		learnt := len(r.secrets) > 0
		if learnt {
			if rest, n := replaceBounded(out, r.secrets[0].value); n > 0 {
				t.Fatalf("secret %q left in %q (%q)", secret, out, rest)
			}
		}
	})
}

// FuzzRedactJSON checks that JSON in gives JSON out.
func FuzzRedactJSON(f *testing.F) {
	for _, s := range []string{`{"a":1}`, `{"password":"x","list":["--token","t"]}`, `["A_KEY=v"]`, `"x"`, `{"auths":{"r":{"auth":"YQ=="}}}`, `{`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		r := newRedactor()
		r.learnEnv([]string{"DB_PASSWORD=hunter2"})
		out := r.json("f", []byte(in))
		if json.Valid([]byte(in)) && !strings.Contains(in, "\x00") {
			assert.True(t, json.Valid(out), "in %q out %q", in, out)
		}
	})
}
