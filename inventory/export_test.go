package inventory_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/minato-ops/minato/inventory"
)

// exportSample fills a repository as a sync of one Docker host would, plus a
// container whose name and variables try formula injection.
func exportSample(t *testing.T, r inventory.Repository) {
	t.Helper()
	ctx := t.Context()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(r.PutScope(ctx, inventory.Scope{FacilityID: "DOCKER", FacilityName: "Docker hosts"}))
	must(r.PutScope(ctx, inventory.Scope{FacilityID: "dockerhost01_scope", FacilityName: "dockerhost01", Parent: "DOCKER"}))
	must(r.PutScope(ctx, inventory.Scope{FacilityID: "web_scope", Parent: "DOCKER"}))
	must(r.PutNode(ctx, inventory.Node{FacilityID: "dockerhost01", FacilityName: "dockerhost01", Managed: true, Platform: "LINUX", IPVersion: 4, IPv4: "192.0.2.10"}))
	must(r.PutNode(ctx, inventory.Node{
		FacilityID: "dockerhost01-web", FacilityName: "web", Managed: true, Platform: "LINUX", IPVersion: 4,
		IPv4: "172.17.0.2", HostName: "0e0d8cdf3a57", NodeName: "0e0d8cdf3a57",
		Variables: map[string]string{"DOCKER_CONTAINER_ID": "0e0d8cdf3a57", "DOCKER_STATUS": "running", "DOCKER_PORTS": "0.0.0.0:8080->80/tcp, :::8080->80/tcp", "DOCKER_COMMAND": `"nginx -g 'daemon off;'"`},
	}))
	must(r.PutNode(ctx, inventory.Node{
		FacilityID: "-evil", FacilityName: "=HYPERLINK(\"http://attacker.example/\",\"click\")", Platform: "LINUX",
		Variables: map[string]string{"DOCKER_STATUS": "exited", "DOCKER_COMMAND": "@SUM(1+1)", "+PLUS": "\tx", "NOTE": "line1\nline2"},
	}))
	must(r.Assign(ctx, "dockerhost01_scope", "dockerhost01-web", "-evil"))
	must(r.Assign(ctx, "web_scope", "dockerhost01-web"))
	must(r.Assign(ctx, "DOCKER", "dockerhost01"))
}

func TestExport(t *testing.T) {
	for _, tc := range []struct {
		name string
		repo inventory.Repository
	}{
		{"batcher", inventory.NewMemRepository()},
		{"not a batcher", struct{ inventory.Repository }{inventory.NewMemRepository()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			exportSample(t, tc.repo)
			e, err := inventory.Export(t.Context(), tc.repo)
			if err != nil {
				t.Fatal(err)
			}
			var ids, scopes []string
			for _, n := range e.Nodes {
				ids = append(ids, n.FacilityID)
				scopes = append(scopes, strings.Join(n.Scopes, ";"))
			}
			if want := []string{"-evil", "dockerhost01", "dockerhost01-web"}; !slices.Equal(ids, want) {
				t.Errorf("nodes %q, want %q", ids, want)
			}
			if want := []string{"dockerhost01_scope", "DOCKER", "dockerhost01_scope;web_scope"}; !slices.Equal(scopes, want) {
				t.Errorf("node scopes %q, want %q", scopes, want)
			}
			var got []string
			for _, s := range e.Scopes {
				got = append(got, s.FacilityID+"<"+s.Parent+":"+strings.Join(s.Members, ","))
			}
			if want := []string{"DOCKER<:dockerhost01", "dockerhost01_scope<DOCKER:-evil,dockerhost01-web", "web_scope<DOCKER:dockerhost01-web"}; !slices.Equal(got, want) {
				t.Errorf("scopes %q, want %q", got, want)
			}
		})
	}
}

func TestExportError(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	m := inventory.NewMemRepository()
	exportSample(t, m)
	if e, err := inventory.Export(ctx, m); !errors.Is(err, context.Canceled) || e.Nodes != nil {
		t.Errorf("Export with a cancelled context = %d nodes, %v", len(e.Nodes), err)
	}
}

func TestWriteJSON(t *testing.T) {
	var empty bytes.Buffer
	if err := inventory.WriteJSON(&empty, inventory.RepositoryExport{}); err != nil {
		t.Fatal(err)
	}
	if empty.String() != "{\n  \"nodes\": [],\n  \"scopes\": []\n}\n" {
		t.Errorf("WriteJSON of an empty export = %q", empty.String())
	}

	m := inventory.NewMemRepository()
	exportSample(t, m)
	e, err := inventory.Export(t.Context(), m)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := inventory.WriteJSON(&buf, e); err != nil {
		t.Fatal(err)
	}
	var back inventory.RepositoryExport
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, e) {
		t.Errorf("the JSON does not decode back to the export:\n%s", buf.String())
	}
	// The node's fields and its scopes sit side by side.
	var raw struct {
		Nodes  []map[string]any `json:"nodes"`
		Scopes []map[string]any `json:"scopes"`
	}
	if err := json.Unmarshal(buf.Bytes(), &raw); err != nil {
		t.Fatal(err)
	}
	if n := raw.Nodes[2]; n["facility_id"] != "dockerhost01-web" || n["ip_version"] != 4.0 || len(n["scopes"].([]any)) != 2 {
		t.Errorf("node in JSON = %v", n)
	}
	if s := raw.Scopes[1]; s["parent"] != "DOCKER" || len(s["members"].([]any)) != 2 {
		t.Errorf("scope in JSON = %v", s)
	}
}

func TestWriteCSV(t *testing.T) {
	m := inventory.NewMemRepository()
	exportSample(t, m)
	e, err := inventory.Export(t.Context(), m)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := inventory.WriteCSV(&buf, e); err != nil {
		t.Fatal(err)
	}
	want := `facility_id,facility_name,managed,platform,ip_version,ipv4,host_name,node_name,scopes,'+PLUS,DOCKER_COMMAND,DOCKER_CONTAINER_ID,DOCKER_PORTS,DOCKER_STATUS,NOTE
'-evil,"'=HYPERLINK(""http://attacker.example/"",""click"")",false,LINUX,,,,,dockerhost01_scope,'	x,'@SUM(1+1),,,exited,"line1
line2"
dockerhost01,dockerhost01,true,LINUX,4,192.0.2.10,,,DOCKER,,,,,,
dockerhost01-web,web,true,LINUX,4,172.17.0.2,0e0d8cdf3a57,0e0d8cdf3a57,dockerhost01_scope;web_scope,,"""nginx -g 'daemon off;'""",0e0d8cdf3a57,"0.0.0.0:8080->80/tcp, :::8080->80/tcp",running,
`
	if buf.String() != want {
		t.Errorf("WriteCSV:\n%s\nwant\n%s", buf.String(), want)
	}
	// It is valid RFC 4180: every row has every column.
	rows, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 4 || len(rows[0]) != 15 {
		t.Errorf("read back %d rows of %d columns, want 4 of 15", len(rows), len(rows[0]))
	}

	var empty bytes.Buffer
	if err := inventory.WriteCSV(&empty, inventory.RepositoryExport{}); err != nil || empty.String() != "facility_id,facility_name,managed,platform,ip_version,ipv4,host_name,node_name,scopes\n" {
		t.Errorf("WriteCSV of an empty export = %q, %v", empty.String(), err)
	}
	if err := inventory.WriteCSV(exportFailWriter{}, e); err == nil {
		t.Error("WriteCSV to a failing writer succeeded")
	}
	if err := inventory.WriteJSON(exportFailWriter{}, e); err == nil {
		t.Error("WriteJSON to a failing writer succeeded")
	}
}

type exportFailWriter struct{}

func (exportFailWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// FuzzWriteCSV: whatever the names and variables, the CSV reads back with
// one row per node and every column, and no cell starts a formula.
func FuzzWriteCSV(f *testing.F) {
	f.Add("web", "=1+2", "DOCKER_PORTS", "+cmd|' /C calc'!A0")
	f.Add("-x", "@x", "-k", "\r\n")
	f.Add("a", "\"quoted\"", "K", "tab\tin")
	f.Fuzz(func(t *testing.T, id, name, key, value string) {
		e := inventory.RepositoryExport{Nodes: []inventory.NodeExport{
			{Node: inventory.Node{FacilityID: id, FacilityName: name, Variables: map[string]string{key: value}}, Scopes: []string{name}},
			{Node: inventory.Node{FacilityID: "other"}},
		}}
		var buf bytes.Buffer
		if err := inventory.WriteCSV(&buf, e); err != nil {
			t.Fatal(err)
		}
		r := csv.NewReader(&buf)
		rows, err := r.ReadAll()
		if err != nil {
			if strings.ContainsAny(name+id+key+value, "\r\x00") || !exportUTF8Valid(name+id+key+value) {
				return // encoding/csv does not round-trip every byte string
			}
			t.Fatalf("the CSV does not read back: %v", err)
		}
		if len(rows) != 3 {
			t.Fatalf("%d rows, want 3", len(rows))
		}
		for _, row := range rows {
			if len(row) != 10 {
				t.Fatalf("a row of %d cells, want 10: %q", len(row), row)
			}
			for _, c := range row {
				if c != "" && strings.ContainsRune("=+-@\t", rune(c[0])) {
					t.Errorf("cell %q starts a formula", c)
				}
			}
		}
	})
}

func exportUTF8Valid(s string) bool { return strings.ToValidUTF8(s, "\uFFFD") == s }

// The CSV export of a repository: a container named to inject a formula
// into a spreadsheet gets a "'" before it.
func ExampleWriteCSV() {
	ctx := context.Background()
	repo := inventory.NewMemRepository()
	_ = repo.PutScope(ctx, inventory.Scope{FacilityID: "dockerhost01_scope"})
	_ = repo.PutNode(ctx, inventory.Node{
		FacilityID: "dockerhost01-web", FacilityName: "web", Managed: true, Platform: "LINUX", IPVersion: 4, IPv4: "172.17.0.2",
		Variables: map[string]string{"DOCKER_STATUS": "running", "DOCKER_IMAGE": "nginx:1.27"},
	})
	_ = repo.PutNode(ctx, inventory.Node{
		FacilityID: "dockerhost01-x", FacilityName: "=1+2", Platform: "LINUX",
		Variables: map[string]string{"DOCKER_STATUS": "exited"},
	})
	_ = repo.Assign(ctx, "dockerhost01_scope", "dockerhost01-web", "dockerhost01-x")

	e, _ := inventory.Export(ctx, repo)
	_ = inventory.WriteCSV(os.Stdout, e)
	// Output:
	// facility_id,facility_name,managed,platform,ip_version,ipv4,host_name,node_name,scopes,DOCKER_IMAGE,DOCKER_STATUS
	// dockerhost01-web,web,true,LINUX,4,172.17.0.2,,,dockerhost01_scope,nginx:1.27,running
	// dockerhost01-x,'=1+2,false,LINUX,,,,,dockerhost01_scope,,exited
}

func ExampleWriteJSON() {
	ctx := context.Background()
	repo := inventory.NewMemRepository()
	_ = repo.PutScope(ctx, inventory.Scope{FacilityID: "dockerhost01_scope", FacilityName: "dockerhost01"})
	_ = repo.PutNode(ctx, inventory.Node{FacilityID: "dockerhost01-web", FacilityName: "web", Managed: true, Platform: "LINUX", IPVersion: 4,
		Variables: map[string]string{"DOCKER_STATUS": "running"}})
	_ = repo.Assign(ctx, "dockerhost01_scope", "dockerhost01-web")

	e, _ := inventory.Export(ctx, repo)
	_ = inventory.WriteJSON(os.Stdout, e)
	// Output:
	// {
	//   "nodes": [
	//     {
	//       "facility_id": "dockerhost01-web",
	//       "facility_name": "web",
	//       "managed": true,
	//       "platform": "LINUX",
	//       "ip_version": 4,
	//       "variables": {
	//         "DOCKER_STATUS": "running"
	//       },
	//       "scopes": [
	//         "dockerhost01_scope"
	//       ]
	//     }
	//   ],
	//   "scopes": [
	//     {
	//       "facility_id": "dockerhost01_scope",
	//       "facility_name": "dockerhost01",
	//       "members": [
	//         "dockerhost01-web"
	//       ]
	//     }
	//   ]
	// }
}
