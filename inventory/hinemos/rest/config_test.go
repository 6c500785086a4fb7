package rest

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	ok := DefaultConfig()
	ok.URL = "https://hinemos.example.com:8443"
	ok.PasswordFile = "/etc/minato/hinemos.password"
	if err := ok.Validate(); err != nil {
		t.Fatalf("Validate of a good config: %v", err)
	}
	if err := (Config{URL: "http://h:8080", PasswordFile: "p"}).Validate(); err != nil {
		t.Errorf("Validate with zero defaults: %v", err)
	}
	for _, tc := range []struct {
		name string
		edit func(*Config)
		want []string // substrings of the error, each naming the field
	}{
		{"no url", func(c *Config) { c.URL = "" }, []string{"url: empty"}},
		{"scheme", func(c *Config) { c.URL = "ftp://h" }, []string{`url scheme "ftp"`}},
		{"no host", func(c *Config) { c.URL = "https://:8443" }, []string{"host is empty"}},
		{"unparsable", func(c *Config) { c.URL = "http://h:port" }, []string{"url: cannot be parsed"}},
		{"password in url", func(c *Config) { c.URL = "https://hinemos:s3cret@h" }, []string{"user or password"}},
		{"query", func(c *Config) { c.URL = "https://h/?x=1" }, []string{"query or fragment"}},
		{"no password file", func(c *Config) { c.PasswordFile = "" }, []string{"password_file: empty"}},
		{"user", func(c *Config) { c.User = "a\nb" }, []string{"user: contains a line break"}},
		{"timeout", func(c *Config) { c.Timeout = -time.Second }, []string{"timeout -1s"}},
		{"owner", func(c *Config) { c.OwnerRoleID = "ALL USERS" }, []string{`owner_role_id "ALL USERS"`}},
		{"several", func(c *Config) { c.URL, c.PasswordFile = "", "" }, []string{"url: empty", "password_file: empty"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			err := c.Validate()
			if err == nil {
				t.Fatal("Validate succeeded, want an error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("Validate: %v; want it to say %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "s3cret") {
				t.Errorf("Validate: %v: shows the password", err)
			}
		})
	}
}

func TestBaseURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://h:8080":                       "http://h:8080",
		"http://h:8080/":                      "http://h:8080",
		"http://h:8080/HinemosWeb":            "http://h:8080",
		"http://h:8080/HinemosWeb/":           "http://h:8080",
		"http://h:8080/HinemosWeb/api":        "http://h:8080",
		"http://h:8080/HinemosWeb/api/":       "http://h:8080",
		"https://proxy/hinemos/HinemosWeb/":   "https://proxy/hinemos",
		"https://proxy/api":                   "https://proxy/api",
		"https://[fd00::1]:8443/HinemosWeb/":  "https://[fd00::1]:8443",
		"HTTPS://H.example.com:8443/Hinemos/": "https://H.example.com:8443/Hinemos",
	} {
		u, err := baseURL(in)
		if err != nil {
			t.Errorf("baseURL(%q): %v", in, err)
			continue
		}
		if u.String() != want {
			t.Errorf("baseURL(%q) = %q, want %q", in, u, want)
		}
	}
}

func TestNewChecksFiles(t *testing.T) {
	dir := t.TempDir()
	cfg := DefaultConfig()
	cfg.URL = "http://127.0.0.1:1"
	cfg.PasswordFile = dir + "/missing"
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "password_file") {
		t.Errorf("New with a missing password file: %v, want an error naming password_file", err)
	}
	cfg.PasswordFile = writeFile(t, dir, "empty", "\nsecond line\n")
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "first line is empty") || strings.Contains(err.Error(), "second line") {
		t.Errorf("New with an empty first line: %v, want an error saying so without the file's content", err)
	}
	cfg.PasswordFile = writeFile(t, dir, "pw", "s3cret\r\n")
	cfg.CAFile = writeFile(t, dir, "ca", "not a certificate")
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("New with a CA file without certificates: %v", err)
	}
	cfg.CAFile = ""
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if pw, err := readPassword(cfg.PasswordFile); err != nil || pw != "s3cret" {
		t.Errorf("readPassword = %q, %v; want the first line without CR LF", pw, err)
	}
	if u, user := c.Endpoint(); u != "http://127.0.0.1:1/HinemosWeb/api/RepositoryRestEndpoints" || user != "hinemos" {
		t.Errorf("Endpoint() = %q, %q", u, user)
	}
}

// writeFile writes a file in dir and returns its path.
func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := dir + "/" + name
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
