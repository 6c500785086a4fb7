package registrytest_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/minato-ops/minato/internal/registrytest"
)

func TestStart(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		o    registrytest.Options
	}{
		{"http", registrytest.Options{}},
		{"http+auth", registrytest.Options{Auth: true}},
		{"tls", registrytest.Options{TLS: true}},
		{"tls+auth", registrytest.Options{TLS: true, Auth: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := registrytest.Start(t, tc.o)
			get := func(user, pass string) int {
				t.Helper()
				req, err := http.NewRequest(http.MethodGet, r.URL()+"/v2/_catalog", nil)
				if err != nil {
					t.Fatal(err)
				}
				if user != "" {
					req.SetBasicAuth(user, pass)
				}
				resp, err := r.HTTPClient().Do(req)
				if err != nil {
					t.Fatalf("GET /v2/_catalog: %v", err)
				}
				defer resp.Body.Close()
				_, _ = io.Copy(io.Discard, resp.Body)
				return resp.StatusCode
			}
			if tc.o.Auth {
				if r.User == "" || r.Password == "" {
					t.Fatalf("auth registry without credentials: %+v", r)
				}
				if got := get("", ""); got != http.StatusUnauthorized {
					t.Errorf("anonymous GET = %d, want 401", got)
				}
				if got := get(r.User, "wrong"); got != http.StatusUnauthorized {
					t.Errorf("wrong password GET = %d, want 401", got)
				}
			}
			if got := get(r.User, r.Password); got != http.StatusOK {
				t.Errorf("GET with credentials = %d, want 200", got)
			}
			if r.BytesServed() <= 0 || r.Requests() <= 0 {
				t.Errorf("proxy counted %d bytes, %d connections; want > 0", r.BytesServed(), r.Requests())
			}

			// certs.d layout and the CA.
			ca, err := os.ReadFile(filepath.Join(r.CertsDir, r.Addr, "ca.crt"))
			if tc.o.TLS {
				if err != nil || string(ca) != string(r.CAPEM) || len(ca) == 0 {
					t.Errorf("certs.d ca.crt: %v (len %d), want CAPEM", err, len(ca))
				}
				// A client without the CA must fail.
				if _, err := http.Get(r.URL() + "/v2/"); err == nil {
					t.Errorf("GET without the CA succeeded, want a certificate error")
				}
			} else if err == nil || r.CAPEM != nil {
				t.Errorf("plain registry has a CA: %v", err)
			}

			// config.json.
			b, err := os.ReadFile(filepath.Join(r.DockerConfig(t), "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			var cfg struct {
				Auths map[string]struct{ Auth string } `json:"auths"`
			}
			if err := json.Unmarshal(b, &cfg); err != nil {
				t.Fatalf("config.json: %v", err)
			}
			if tc.o.Auth {
				want := base64.StdEncoding.EncodeToString([]byte(r.User + ":" + r.Password))
				if cfg.Auths[r.Addr].Auth != want {
					t.Errorf("config.json auths[%s] = %q, want %q", r.Addr, cfg.Auths[r.Addr].Auth, want)
				}
			} else if len(cfg.Auths) != 0 {
				t.Errorf("config.json auths = %v, want none", cfg.Auths)
			}
		})
	}
}
