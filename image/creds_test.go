package image

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fakeHelper is docker-credential-minatotest: it answers `get` from stdin
// with fixed credentials for two hosts and "not found" for others.
const fakeHelper = `#!/bin/sh
[ "$1" = get ] || { echo "unsupported $1" >&2; exit 1; }
read -r server
case "$server" in
helper.example:5000) echo '{"ServerURL":"helper.example:5000","Username":"hu","Secret":"hs"}' ;;
https://index.docker.io/v1/) echo '{"ServerURL":"https://index.docker.io/v1/","Username":"hubuser","Secret":"hubpass"}' ;;
token.example) echo '{"ServerURL":"token.example","Username":"<token>","Secret":"refresh-tok"}' ;;
*) echo "credentials not found in native keychain"; exit 1 ;;
esac
`

const failingHelper = `#!/bin/sh
echo "helper exploded" >&2
exit 3
`

// helperPath puts the fake helpers first on PATH for this test.
func helperPath(t *testing.T) {
	t.Helper()
	bin := t.TempDir()
	for name, body := range map[string]string{"docker-credential-minatotest": fakeHelper, "docker-credential-minatofail": failingHelper} {
		if err := os.WriteFile(filepath.Join(bin, name), []byte(body), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	t.Setenv("PATH", bin+string(os.PathListSeparator)+os.Getenv("PATH"))
}

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return dir
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func TestCredentialsAuths(t *testing.T) {
	dir := writeConfig(t, `{"auths":{
		"registry.example:5000":{"auth":"`+b64("alice:s3cret")+`"},
		"https://index.docker.io/v1/":{"auth":"`+b64("hub:hubpw")+`"},
		"https://legacy.example/v1/":{"auth":"`+b64("old:oldpw")+`"},
		"idtok.example":{"identitytoken":"tok123"}}}`)
	s := newCredentialStore(dir)
	ctx := context.Background()
	for _, tc := range []struct {
		host string
		want Credentials
	}{
		{"registry.example:5000", Credentials{Username: "alice", Password: "s3cret"}},
		{"docker.io", Credentials{Username: "hub", Password: "hubpw"}},
		{"index.docker.io", Credentials{Username: "hub", Password: "hubpw"}},
		{"registry-1.docker.io", Credentials{Username: "hub", Password: "hubpw"}},
		{"legacy.example", Credentials{Username: "old", Password: "oldpw"}},
		{"idtok.example", Credentials{IdentityToken: "tok123"}},
		{"other.example", Credentials{}},
	} {
		got, err := s.Lookup(ctx, tc.host)
		if err != nil {
			t.Fatalf("Lookup(%s): %v", tc.host, err)
		}
		if got != tc.want {
			t.Errorf("Lookup(%s) = %+v, want %+v", tc.host, got, tc.want)
		}
	}
}

func TestCredentialsHubOtherKey(t *testing.T) {
	// Docker Hub written as "docker.io" is the same registry.
	s := newCredentialStore(writeConfig(t, `{"auths":{"docker.io":{"auth":"`+b64("u:p")+`"}}}`))
	got, err := s.Lookup(context.Background(), "docker.io")
	if err != nil || got != (Credentials{Username: "u", Password: "p"}) {
		t.Fatalf("Lookup(docker.io) = %+v, %v", got, err)
	}
}

func TestCredentialsHelpers(t *testing.T) {
	helperPath(t)
	dir := writeConfig(t, `{"auths":{"plain.example":{"auth":"`+b64("p:pw")+`"}},
		"credHelpers":{"helper.example:5000":"minatotest","token.example":"minatotest","broken.example":"minatofail"}}`)
	s := newCredentialStore(dir)
	ctx := context.Background()
	for host, want := range map[string]Credentials{
		"helper.example:5000": {Username: "hu", Password: "hs"},
		"token.example":       {IdentityToken: "refresh-tok"},
		"plain.example":       {Username: "p", Password: "pw"}, // no helper: auths
	} {
		got, err := s.Lookup(ctx, host)
		if err != nil || got != want {
			t.Errorf("Lookup(%s) = %+v, %v; want %+v", host, got, err, want)
		}
	}
	_, err := s.Lookup(ctx, "broken.example")
	if err == nil {
		t.Fatal("failing helper: no error")
	}
	for _, w := range []string{"docker-credential-minatofail", "broken.example", "config.json", "PATH"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

func TestCredentialsStore(t *testing.T) {
	helperPath(t)
	s := newCredentialStore(writeConfig(t, `{"credsStore":"minatotest","auths":{"helper.example:5000":{}}}`))
	ctx := context.Background()
	got, err := s.Lookup(ctx, "helper.example:5000")
	if err != nil || got != (Credentials{Username: "hu", Password: "hs"}) {
		t.Errorf("credsStore helper.example:5000 = %+v, %v", got, err)
	}
	got, err = s.Lookup(ctx, "docker.io")
	if err != nil || got != (Credentials{Username: "hubuser", Password: "hubpass"}) {
		t.Errorf("credsStore docker.io = %+v, %v", got, err)
	}
	// Not in the store: anonymous, not an error.
	got, err = s.Lookup(ctx, "unknown.example")
	if err != nil || got != (Credentials{}) {
		t.Errorf("credsStore unknown = %+v, %v; want anonymous", got, err)
	}
	// A store whose program is missing is an error naming it.
	s = newCredentialStore(writeConfig(t, `{"credsStore":"minato-nonexistent"}`))
	if _, err := s.Lookup(ctx, "x.example"); err == nil || !strings.Contains(err.Error(), "docker-credential-minato-nonexistent") {
		t.Errorf("missing credsStore program: err = %v", err)
	}
}

func TestCredentialsMalformed(t *testing.T) {
	for name, body := range map[string]string{
		"json":   `{"auths":`,
		"base64": `{"auths":{"r.example":{"auth":"!!notbase64"}}}`,
	} {
		t.Run(name, func(t *testing.T) {
			dir := writeConfig(t, body)
			_, err := newCredentialStore(dir).Lookup(context.Background(), "r.example")
			if err == nil {
				t.Fatal("malformed config: no error")
			}
			if !strings.Contains(err.Error(), filepath.Join(dir, "config.json")) {
				t.Errorf("error %q does not name the file", err)
			}
		})
	}
}

func TestCredentialsMissingAndEnv(t *testing.T) {
	ctx := context.Background()
	got, err := newCredentialStore(t.TempDir()).Lookup(ctx, "r.example")
	if err != nil || got != (Credentials{}) {
		t.Errorf("missing config.json = %+v, %v; want anonymous", got, err)
	}
	// "" follows $DOCKER_CONFIG, read at each Lookup.
	dir := writeConfig(t, `{"auths":{"r.example":{"auth":"`+b64("e:pw1")+`"}}}`)
	t.Setenv("DOCKER_CONFIG", dir)
	s := newCredentialStore("")
	got, err = s.Lookup(ctx, "r.example")
	if err != nil || got != (Credentials{Username: "e", Password: "pw1"}) {
		t.Errorf("$DOCKER_CONFIG = %+v, %v", got, err)
	}
	// A new docker login takes effect at the next Lookup.
	if err := os.WriteFile(filepath.Join(dir, "config.json"), []byte(`{"auths":{"r.example":{"auth":"`+b64("e:pw2")+`"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	got, _ = s.Lookup(ctx, "r.example")
	if got.Password != "pw2" {
		t.Errorf("after rewrite: password not re-read")
	}
	// An unreadable file (a directory in its place) is an error.
	bad := t.TempDir()
	if err := os.Mkdir(filepath.Join(bad, "config.json"), 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := newCredentialStore(bad).Lookup(ctx, "r.example"); err == nil || !strings.Contains(err.Error(), bad) {
		t.Errorf("unreadable config: err = %v", err)
	}
}

func TestWithCredentials(t *testing.T) {
	boom := errors.New("no token")
	c := &Client{}
	WithCredentials(func(_ context.Context, host string) (Credentials, error) {
		if host == "bad.example" {
			return Credentials{}, boom
		}
		return Credentials{Username: "AWS", Password: "tok-" + host}, nil
	})(c)
	got, err := c.creds.Lookup(context.Background(), "ecr.example")
	if err != nil || got.Password != "tok-ecr.example" {
		t.Errorf("Lookup = %+v, %v", got, err)
	}
	if _, err := c.creds.Lookup(context.Background(), "bad.example"); !errors.Is(err, boom) || !strings.Contains(err.Error(), "bad.example") {
		t.Errorf("error = %v", err)
	}
}

func TestCredentialsNotLogged(t *testing.T) {
	// Credentials marshal without secrets (they may end up in JSON output).
	c := Credentials{Username: "u", Password: "pw", IdentityToken: "it", RegistryToken: "rt"}
	b, err := jsonMarshal(c)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "pw") || strings.Contains(string(b), "it\"") || strings.Contains(string(b), "rt\"") {
		t.Errorf("JSON of Credentials has a secret: %s", b)
	}
}

func jsonMarshal(v any) ([]byte, error) { return json.Marshal(v) }
