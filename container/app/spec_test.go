package app

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseErrorsHaveKeyPaths(t *testing.T) {
	doc := `
apps:
  - name: web
    image: img:1
  - name: Bad_Name
    image: img:1
    replicas: 2
    ports: ["8080:80", "9000-9001:90", "70000:1", "1:2/foo"]
    resources: {memory: "12q", cpus: 0.5}
    restart: sometimes
    update: {order: sideways}
    metering: {enabled: true}
    mounts: [{type: bind, target: rel}]
    labels: {minato.app.x: y}
    extra: 1
  - name: web
    image: img:2
`
	_, err := Parse([]byte(doc), "")
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`apps[1].resources.memory: "12q": want a size such as 512Mi or 1g`,
		`apps[1].name: "Bad_Name": want a DNS label`,
		`apps[1].ports[0]: "8080:80": fixed host port 8080 with 2 replicas`,
		`apps[1].ports[2]: "70000:1": host port: "70000" is not a port number`,
		`apps[1].ports[3]: "1:2/foo": protocol "foo"`,
		`apps[1].restart: "sometimes": want no, always`,
		`apps[1].update.order: "sideways": want stop-first or start-first`,
		`apps[1].metering.port: 0: want the container port`,
		`apps[1].mounts[0].target: "rel": want an absolute path`,
		`apps[1].labels.minato.app.x: keys starting with "minato.app" are set by minato`,
		`apps[1].extra: unknown key`,
		`apps[2].name: "web" is also the name of apps[0]`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	if strings.Contains(err.Error(), "ports[1]") {
		t.Errorf("a range with one port per replica was refused:\n%v", err)
	}
}

func TestParseSingleAppAndJSON(t *testing.T) {
	for _, doc := range []string{
		"name: web\nimage: img:1\nreplicas: 0\n",
		`{"name": "web", "image": "img:1", "replicas": 0}`,
		`{"apps": [{"name": "web", "image": "img:1", "replicas": 0}]}`,
	} {
		specs, err := Parse([]byte(doc), "")
		if err != nil {
			t.Fatalf("%s: %v", doc, err)
		}
		if len(specs) != 1 || specs[0].Name != "web" || specs[0].ReplicaCount() != 0 {
			t.Fatalf("%s: got %+v", doc, specs)
		}
	}
	specs, err := Parse([]byte("name: web\nimage: img:1\n"), "")
	if err != nil || specs[0].ReplicaCount() != 1 {
		t.Fatalf("default replicas: %v %v", specs, err)
	}
	_, err = Parse([]byte("name: web\nresources: {memory: 1x}\n"), "")
	if err == nil || !strings.Contains(err.Error(), `resources.memory: "1x": want a size`) || !strings.Contains(err.Error(), "image: required") {
		t.Fatalf("single app errors: %v", err)
	}
}

func TestEnvFilesRelativeAndHash(t *testing.T) {
	dir := t.TempDir()
	decl := filepath.Join(dir, "apps.yaml")
	write(t, decl, "apps:\n  - name: web\n    image: img:1\n    env: {B: inline}\n    env_files: [web.env]\n")
	write(t, filepath.Join(dir, "web.env"), "# comment\n\nA=1\nB=from-file\nexport C=\"x y\"\n")
	specs, err := ParseFile(decl)
	if err != nil {
		t.Fatal(err)
	}
	env := specs[0].Environment()
	if env["A"] != "1" || env["B"] != "inline" || env["C"] != "x y" {
		t.Fatalf("env = %v", env)
	}
	h1 := specs[0].Hash()
	write(t, filepath.Join(dir, "web.env"), "A=2\n")
	specs2, err := ParseFile(decl)
	if err != nil {
		t.Fatal(err)
	}
	if specs2[0].Hash() == h1 {
		t.Fatal("env file change did not change the hash")
	}
	write(t, filepath.Join(dir, "web.env"), "A\n")
	if _, err := ParseFile(decl); err == nil || !strings.Contains(err.Error(), "apps[0].env_files[0]") || !strings.Contains(err.Error(), "line 1") {
		t.Fatalf("bad env file: %v", err)
	}
}

func TestHashStable(t *testing.T) {
	a := Spec{Name: "a", Image: "i", Env: map[string]string{"X": "1", "Y": "2", "Z": "3"}, Labels: map[string]string{"p": "1", "q": "2"}}
	b := Spec{Name: "a", Image: "i", Env: map[string]string{"Z": "3", "Y": "2", "X": "1"}, Labels: map[string]string{"q": "2", "p": "1"}, Replicas: ptr(5), Update: Update{Batch: 3}}
	if a.Hash() != b.Hash() {
		t.Fatal("hash depends on map order or on replicas/update")
	}
	b.Env["X"] = "changed"
	if a.Hash() == b.Hash() {
		t.Fatal("env value change not in hash")
	}
	c := a
	c.Ports = []string{"8080:80"}
	d := a
	d.Ports = []string{"8080:80/tcp"}
	if c.Hash() != d.Hash() {
		t.Fatal("equivalent port forms hash differently")
	}
}

func TestParsePort(t *testing.T) {
	for in, want := range map[string]string{
		"80":                 "80/tcp",
		"8080:80":            "8080:80/tcp",
		"8080:80/udp":        "8080:80/udp",
		"127.0.0.1:8080:80":  "127.0.0.1:8080:80/tcp",
		"127.0.0.1::80":      "127.0.0.1::80/tcp",
		"8080-8082:80":       "8080-8082:80/tcp",
		"[::1]:8080:80/sctp": "[::1]:8080:80/sctp",
	} {
		m, err := ParsePort(in)
		if err != nil {
			t.Errorf("%s: %v", in, err)
			continue
		}
		if m.String() != want {
			t.Errorf("%s: %s, want %s", in, m, want)
		}
		back, err := ParsePort(m.String())
		if err != nil || back != m {
			t.Errorf("%s: round trip %v %v", in, back, err)
		}
	}
	for _, bad := range []string{"", "x", "0", "8080:", "a:b:c:d", "8082-8080:80", "80-81", "1.2.3.4:5", "[::1:80"} {
		if _, err := ParsePort(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	m, _ := ParsePort("8080-8081:80")
	if m.ForReplica(1) != 8080 || m.ForReplica(2) != 8081 {
		t.Error("ForReplica")
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{"512Mi": 512 << 20, "1g": 1 << 30, "1G": 1 << 30, "1024": 1024, "1.5k": 1536, "2MB": 2 << 20} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("%s: %d %v", in, got, err)
		}
	}
	for _, bad := range []string{"", "12q", "-1", "0", "m", "1.2.3g", "9999999t"} {
		if _, err := ParseSize(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestParseEnvFile(t *testing.T) {
	m, err := ParseEnvFile(strings.NewReader("\ufeffA=1\n  # c\nB = two words \nC='lit # \\n'\nD=\"esc\\n\\\"q\\\"\"\nE=\nexport F=x=y\nG=a#b\n"))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"A": "1", "B": "two words", "C": `lit # \n`, "D": "esc\n\"q\"", "E": "", "F": "x=y", "G": "a#b"}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %q, want %q", k, m[k], v)
		}
	}
	_, err = ParseEnvFile(strings.NewReader("OK=1\nSECRET=\"unclosed\nNOEQ\n=v\n"))
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{"line 2: SECRET: double quote not closed", "line 3: want NAME=value", "line 4: empty variable name"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("lacks %q: %v", want, err)
		}
	}
	if strings.Contains(err.Error(), "unclosed") {
		t.Error("error quotes a value")
	}
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func ptr[T any](v T) *T { return &v }
