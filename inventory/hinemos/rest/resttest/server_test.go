package resttest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/minato-ops/minato/inventory/hinemos/rest/resttest"
)

// api is a raw HTTP client of the fake manager.
type api struct {
	t     *testing.T
	srv   *resttest.Server
	token string
}

// call sends a request and returns the status and the decoded answer.
func (a *api) call(method, path, body string) (int, map[string]any) {
	a.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(a.t.Context(), method, a.srv.URL+resttest.APIPath+path, rd)
	if err != nil {
		a.t.Fatal(err)
	}
	if a.token != "" {
		req.Header.Set("Authorization", "Bearer "+a.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if bytes.HasPrefix(b, []byte("{")) {
		if err := json.Unmarshal(b, &m); err != nil {
			a.t.Fatalf("%s %s: answer %q: %v", method, path, b, err)
		}
	} else {
		m = map[string]any{"list": string(b)}
	}
	return resp.StatusCode, m
}

// must sends a request that must succeed.
func (a *api) must(method, path, body string) map[string]any {
	a.t.Helper()
	status, m := a.call(method, path, body)
	if status != 200 {
		a.t.Fatalf("%s %s: %d %v", method, path, status, m)
	}
	return m
}

// fails sends a request that must fail with that status and exception.
func (a *api) fails(method, path, body string, status int, exception string) {
	a.t.Helper()
	got, m := a.call(method, path, body)
	if got != status || m["exception"] != "com.clustercontrol.fault."+exception || m["status"] != float64(status) {
		a.t.Errorf("%s %s: %d %v; want %d %s", method, path, got, m, status, exception)
	}
}

func login(t *testing.T, srv *resttest.Server) *api {
	a := &api{t: t, srv: srv}
	m := a.must("POST", "/AccessRestEndpoints/access/login", `{"userId":"hinemos","password":"hinemos"}`)
	a.token = m["token"].(map[string]any)["tokenId"].(string)
	return a
}

const (
	repo = "/RepositoryRestEndpoints/repository"
	node = `{"facilityId":"n1","facilityName":"n1","ownerRoleId":"ALL_USERS","platformFamily":"LINUX",
		"ipAddressVersion":"IPV4","ipAddressV4":"10.0.0.1","nodeName":"n1","snmpCommunity":"private",
		"nodeVariableInfo":[{"nodeVariableName":"A","nodeVariableValue":"1"},{"nodeVariableName":"","nodeVariableValue":""}]}`
)

func TestAuth(t *testing.T) {
	srv := resttest.NewServer(t)
	anon := &api{t: t, srv: srv}
	anon.fails("GET", repo+"/facility_tree", "", 401, "InvalidUserPass")
	anon.fails("POST", "/AccessRestEndpoints/access/login", `{"userId":"hinemos","password":"nope"}`, 401, "InvalidUserPass")
	a := login(t, srv)
	a.must("GET", repo+"/facility_tree", "")
	if reqs := srv.Requests(); len(reqs) != 4 || reqs[1].Body != nil || reqs[2].Body != nil || !strings.Contains(reqs[2].String(), "login") || reqs[3].Body == nil {
		t.Errorf("the login's body is recorded: %v", reqs)
	}
	srv.ExpireTokens()
	a.fails("GET", repo+"/facility_tree", "", 401, "InvalidUserPass")
	a = login(t, srv)
	a.must("GET", "/AccessRestEndpoints/access/logout", "")
	a.fails("GET", repo+"/facility_tree", "", 401, "InvalidUserPass")

	a = login(t, srv)
	a.fails("GET", repo+"/nothing", "", 404, "HinemosUnknown")
	a.fails("PATCH", repo+"/node/x", "", 405, "HinemosUnknown")
	a.fails("POST", repo+"/node", "{not json", 400, "InvalidSetting")
	srv.Fail("GET", repo+"/facility_tree", 403, "InvalidRole", "no")
	a.fails("GET", repo+"/facility_tree", "", 403, "InvalidRole")
}

func TestNodes(t *testing.T) {
	srv := resttest.NewServer(t)
	a := login(t, srv)
	n := a.must("POST", repo+"/node", node)
	if n["facilityId"] != "n1" || n["valid"] != true || n["snmpPort"] != float64(161) {
		t.Errorf("added node %v: want the defaults filled", n)
	}
	if v := n["nodeVariableInfo"].([]any); len(v) != 1 {
		t.Errorf("variables %v: want the empty one dropped", v)
	}
	a.fails("POST", repo+"/node", node, 409, "FacilityDuplicate")
	a.fails("POST", repo+"/node", strings.Replace(node, `"n1","facilityName"`, `"n2","facilityName"`, 1)+"x", 400, "InvalidSetting")
	for _, bad := range []string{`"nodeName":""`, `"platformFamily":"BEOS"`, `"ipAddressV4":"300.1.1.1"`, `"ownerRoleId":"NOBODY"`, `"ipAddressVersion":"IPV5"`} {
		key := strings.SplitN(bad, ":", 2)[0]
		body := strings.Replace(node, `"n1","facilityName"`, `"n2","facilityName"`, 1)
		start := strings.Index(body, key)
		end := start + strings.IndexAny(body[start:], ",}")
		a.fails("POST", repo+"/node", body[:start]+bad+body[end:], 400, "InvalidSetting")
	}
	// A modify replaces every property: snmpCommunity left out is reset.
	a.must("PUT", repo+"/node/n1", `{"facilityName":"n1","valid":false,"platformFamily":"LINUX","ipAddressVersion":"IPV4","ipAddressV4":"10.0.0.1","nodeName":"n1"}`)
	if got := string(srv.NodeProperty("n1", "snmpCommunity")); got != `""` {
		t.Errorf("snmpCommunity after a modify that left it out = %s, want \"\"", got)
	}
	a.fails("PUT", repo+"/node/n1", `{"facilityName":"n1","platformFamily":"LINUX","ipAddressVersion":"IPV4","ipAddressV4":"10.0.0.1","nodeName":"n1"}`, 500, "HinemosUnknown")
	a.fails("PUT", repo+"/node/nope", `{"valid":true}`, 404, "FacilityNotFound")
	if l := a.must("GET", repo+"/node_withoutNodeConfigInfo", ""); l["total"] != float64(1) {
		t.Errorf("node list %v", l)
	}
	a.fails("DELETE", repo+"/node?facilityIds=n1,nope", "", 404, "FacilityNotFound")
	a.must("GET", repo+"/node/n1", "")
	srv.MarkUsed("n1")
	a.fails("DELETE", repo+"/node?facilityIds=n1", "", 400, "UsedFacility")
}

func TestScopesAndRelations(t *testing.T) {
	srv := resttest.NewServer(t)
	a := login(t, srv)
	a.must("POST", repo+"/node", node)
	a.must("POST", repo+"/scope", `{"scopeInfo":{"facilityId":"top","facilityName":"top","ownerRoleId":"ALL_USERS"}}`)
	a.must("POST", repo+"/scope", `{"parentFacilityId":"top","scopeInfo":{"facilityId":"sub","facilityName":"sub","ownerRoleId":"ALL_USERS"}}`)
	a.fails("POST", repo+"/scope", `{"parentFacilityId":"REGISTERED","scopeInfo":{"facilityId":"x","facilityName":"x","ownerRoleId":"ALL_USERS"}}`, 400, "InvalidSetting")
	a.fails("POST", repo+"/scope", `{"parentFacilityId":"gone","scopeInfo":{"facilityId":"x","facilityName":"x","ownerRoleId":"ALL_USERS"}}`, 400, "InvalidSetting")
	a.fails("POST", repo+"/scope", `{"scopeInfo":{"facilityId":"n1","facilityName":"x","ownerRoleId":"ALL_USERS"}}`, 409, "FacilityDuplicate")
	a.fails("PUT", repo+"/scope/REGISTERED", `{"facilityName":"x"}`, 500, "HinemosUnknown")
	if s := a.must("GET", repo+"/scope/n1", ""); s["facilityId"] != "n1" {
		t.Errorf("GET scope of a node = %v; the manager answers for any facility", s)
	}

	a.must("PUT", repo+"/facilityRelation/sub", `{"facilityIdList":["n1"]}`)
	a.must("PUT", repo+"/facilityRelation/sub", `{"facilityIdList":["n1"]}`) // already there: skipped
	a.fails("PUT", repo+"/facilityRelation/sub", `{"facilityIdList":["gone"]}`, 400, "InvalidSetting")
	a.fails("PUT", repo+"/facilityRelation/gone", `{"facilityIdList":["n1"]}`, 400, "InvalidSetting")
	a.fails("PUT", repo+"/facilityRelation/sub", `{"facilityIdList":[]}`, 400, "InvalidSetting")
	a.fails("PUT", repo+"/facilityRelation/REGISTERED", `{"facilityIdList":["n1"]}`, 500, "HinemosUnknown")
	a.fails("PUT", repo+"/facilityRelation_release/top", `{"facilityIdList":["n1"]}`, 500, "HinemosUnknown")

	tree := a.must("GET", repo+"/facility_tree", "")
	b, _ := json.Marshal(tree)
	for _, want := range []string{
		`"facilityId":"_ROOT_"`, `"facilityId":"REGISTERED"`, `"builtInFlg":true`, `"facilityId":"LINUX"`,
		`"data":{"builtInFlg":false,"description":"","displaySortOrder":100,"facilityId":"n1"`,
	} {
		if !bytes.Contains(b, []byte(want)) {
			t.Errorf("facility tree %s: want %s", b, want)
		}
	}
	if bytes.Count(b, []byte(`"facilityId":"n1"`)) != 4 {
		t.Errorf("facility tree %s: want n1 in REGISTERED, ALL_USERS, LINUX and sub", b)
	}

	// Deleting a scope deletes the scopes below it.
	a.must("DELETE", repo+"/scope?facilityIds=top", "")
	a.fails("GET", repo+"/scope/sub", "", 404, "FacilityNotFound")
	a.must("GET", repo+"/node/n1", "")
	a.fails("DELETE", repo+"/scope?facilityIds=n1", "", 500, "HinemosUnknown")
	a.fails("DELETE", repo+"/scope?facilityIds=OS", "", 500, "HinemosUnknown")
}
