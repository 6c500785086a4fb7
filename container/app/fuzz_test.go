package app

import (
	"strings"
	"testing"
)

func FuzzParse(f *testing.F) {
	for _, s := range []string{
		"name: web\nimage: img:1\n",
		"apps:\n  - name: web\n    image: i\n    replicas: 3\n    ports: ['8080-8082:80']\n",
		`{"apps":[{"name":"a","image":"i","resources":{"memory":"1g","cpus":0.5},"healthcheck":{"test":["CMD","x"]}}]}`,
		"apps: []\n",
		"apps:\n  - &a {name: x, image: y}\n  - *a\n",
		"name: web\nimage: i\nupdate: {order: start-first, batch: 2, timeout: 10s}\nmetering: {enabled: true, port: 9100}\n",
		"[1, 2]",
		"",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		specs, err := Parse(data, "")
		if err != nil {
			if err.Error() == "" {
				t.Fatal("empty error")
			}
			return
		}
		for _, s := range specs {
			if err := s.Validate(); err != nil {
				t.Fatalf("Parse returned an invalid spec: %v", err)
			}
			if h := s.Hash(); h != s.Hash() || len(h) != 20 {
				t.Fatal("hash unstable")
			}
			_ = NewPlan([]Spec{s}, nil, PlanOptions{}).String()
		}
	})
}

func FuzzParseEnvFile(f *testing.F) {
	for _, s := range []string{"A=1\n", "# c\n\nB=\"x\\n\"\n", "C='y'\nexport D=1", "E", "=", "F=\"\\", "G=\"a\"b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseEnvFile(strings.NewReader(s))
		if err != nil {
			return
		}
		for k := range m {
			if validEnvName(k) != nil {
				t.Fatalf("invalid name %q accepted", k)
			}
		}
	})
}

func FuzzParsePort(f *testing.F) {
	for _, s := range []string{"80", "8080:80/udp", "127.0.0.1::80", "[::1]:1-2:3", "1-65535:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParsePort(s)
		if err != nil {
			return
		}
		back, err := ParsePort(m.String())
		if err != nil || back != m {
			t.Fatalf("%q -> %q -> %+v, %v", s, m.String(), back, err)
		}
	})
}
