package resttest

import (
	"encoding/json"
	"maps"
	"net"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode/utf16"
)

// The manager's exception classes the server answers with.
const (
	faultPkg           = "com.clustercontrol.fault."
	exFacilityNotFound = faultPkg + "FacilityNotFound"
	exFacilityDup      = faultPkg + "FacilityDuplicate"
	exUsedFacility     = faultPkg + "UsedFacility"
	exInvalidSetting   = faultPkg + "InvalidSetting"
	exInvalidUserPass  = faultPkg + "InvalidUserPass"
	exHinemosUnknown   = faultPkg + "HinemosUnknown"
)

// Facility types, as FacilityTypeEnum names them.
const (
	typeScope     = "TYPE_SCOPE"
	typeNode      = "TYPE_NODE"
	typeComposite = "TYPE_COMPOSITE"
)

// Paths below APIPath.
const (
	loginPath = "/AccessRestEndpoints/access/login"
	repoPath  = "/RepositoryRestEndpoints/repository"
)

// The manager's role IDs that may own facilities (each has its scope
// under OWNER) and the platforms that exist from the start.
var (
	roles     = []string{"ADMINISTRATORS", "ALL_USERS"}
	platforms = []string{"LINUX", "WINDOWS", "NW_EQUIPMENT", "OTHER"}
)

// idPattern is the manager's HINEMOS_ID_PATTERN.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9-_.@]+$`)

// dateLayout renders the manager's datetimes (rest.datetime.format).
const dateLayout = "2006-01-02 15:04:05"

// nodeKeys are the properties of AddNodeRequest kept in facility.props,
// that is all but facilityId, facilityName, description, iconImage, valid
// and ownerRoleId, which the facility holds itself.
var nodeKeys = []string{
	"autoDeviceSearch", "administrator", "cloudService", "cloudScope", "cloudResourceType", "cloudResourceId",
	"cloudResourceName", "cloudLocation", "cloudLogPriority", "contact", "hardwareType", "ipAddressV4", "ipAddressV6",
	"ipAddressVersion", "ipmiIpAddress", "ipmiLevel", "ipmiPort", "ipmiProtocol", "ipmiRetries", "ipmiTimeout",
	"ipmiUser", "ipmiUserPassword", "jobPriority", "jobMultiplicity", "nodeName", "platformFamily", "snmpCommunity",
	"snmpPort", "snmpRetryCount", "snmpTimeout", "snmpVersion", "snmpSecurityLevel", "snmpUser", "snmpAuthPassword",
	"snmpPrivPassword", "snmpAuthProtocol", "snmpPrivProtocol", "sshUser", "sshUserPassword", "sshPrivateKeyFilepath",
	"sshPrivateKeyPassphrase", "sshPort", "sshTimeout", "subPlatformFamily", "wbemPort", "wbemProtocol",
	"wbemRetryCount", "wbemTimeout", "wbemUser", "wbemUserPassword", "winrmPort", "winrmProtocol", "winrmRetries",
	"winrmTimeout", "winrmUser", "winrmUserPassword", "winrmVersion", "rpaLogDir", "rpaManagementToolType",
	"rpaResourceId", "rpaUser", "rpaExecEnvId", "agentAwakePort", "nodeOsInfo", "nodeCpuInfo", "nodeDeviceInfo",
	"nodeDiskInfo", "nodeFilesystemInfo", "nodeHostnameInfo", "nodeMemoryInfo", "nodeNetworkInterfaceInfo",
	"nodeNoteInfo", "nodeVariableInfo", "nodeNetstatInfo", "nodeProcessInfo", "nodePackageInfo", "nodeProductInfo",
	"nodeLicenseInfo", "nodeCustomInfo",
}

// nodeDefaults are the values NodeInfo.setDefaultInfo gives properties a
// request leaves out (lists default to empty, other strings to "").
var nodeDefaults = map[string]string{
	"snmpPort": "161", "snmpVersion": `"TYPE_V2"`, "snmpTimeout": "5000", "snmpRetryCount": "3", "sshPort": "22",
	"sshTimeout": "50000", "wbemPort": "5988", "wbemTimeout": "5000", "wbemRetryCount": "3", "winrmPort": "5985",
	"winrmTimeout": "5000", "winrmRetries": "3", "ipmiPort": "623", "ipmiTimeout": "5000", "ipmiRetries": "3",
	"agentAwakePort": "24005", "jobPriority": "16", "jobMultiplicity": "0", "autoDeviceSearch": "true",
	"cloudLogPriority": "16", "nodeOsInfo": "null",
}

// builtIns creates the scopes a new manager has.
func (s *Server) builtIns() {
	add := func(id, name, parent string) {
		s.seq++
		s.facilities[id] = &facility{id: id, name: name, typ: typeScope, builtIn: true, parent: parent,
			owner: "ADMINISTRATORS", valid: true, created: time.Now(), modified: time.Now(),
			createUser: DefaultUser, modifyUser: DefaultUser, seq: s.seq}
	}
	add("REGISTERED", "Registered_Nodes", "")
	add("UNREGISTERED", "Unregistered_Node", "")
	add("INTERNAL", "Hinemos_Internal", "")
	add("OWNER", "Owner role", "")
	for _, r := range roles {
		add(r, r, "OWNER")
	}
	add("OS", "OS", "")
	for _, p := range platforms {
		add(p, p, "OS")
	}
}

// builtInMembers returns the nodes a built-in scope holds: every node for
// REGISTERED, the nodes of a platform or owner role for their scopes.
func (s *Server) builtInMembers(id string) []string {
	var out []string
	for _, f := range s.facilities {
		if f.typ != typeNode {
			continue
		}
		switch {
		case id == "REGISTERED",
			slices.Contains(roles, id) && f.owner == id,
			slices.Contains(platforms, id) && jsonString(f.props["platformFamily"]) == id:
			out = append(out, f.id)
		}
	}
	return out
}

// children returns the IDs directly below a scope (or below the root for
// ""), scopes first, each group sorted.
func (s *Server) children(id string) []string {
	var scopes, nodes []string
	for _, f := range s.facilities {
		if f.typ == typeScope && f.parent == id {
			scopes = append(scopes, f.id)
		}
	}
	if f := s.facilities[id]; f != nil {
		if f.builtIn {
			nodes = s.builtInMembers(id)
		} else {
			nodes = slices.Collect(maps.Keys(s.relations[id]))
		}
	}
	slices.Sort(scopes)
	slices.Sort(nodes)
	return append(scopes, nodes...)
}

// routes registers the handlers.
func (s *Server) routes() {
	s.handle("POST "+APIPath+loginPath, s.login)
	s.handle("GET "+APIPath+"/AccessRestEndpoints/access/logout", s.logout)
	s.handle("GET "+APIPath+repoPath+"/facility_tree", s.facilityTree)
	s.handle("GET "+APIPath+repoPath+"/node/{facilityId}", s.getNode)
	s.handle("GET "+APIPath+repoPath+"/node_withoutNodeConfigInfo", s.nodeList)
	s.handle("POST "+APIPath+repoPath+"/node", s.addNode)
	s.handle("PUT "+APIPath+repoPath+"/node/{facilityId}", s.modifyNode)
	s.handle("DELETE "+APIPath+repoPath+"/node", s.deleteNode)
	s.handle("GET "+APIPath+repoPath+"/scope/{facilityId}", s.getScope)
	s.handle("POST "+APIPath+repoPath+"/scope", s.addScope)
	s.handle("PUT "+APIPath+repoPath+"/scope/{facilityId}", s.modifyScope)
	s.handle("DELETE "+APIPath+repoPath+"/scope", s.deleteScope)
	s.handle("PUT "+APIPath+repoPath+"/facilityRelation/{parentFacilityId}", s.assign)
	s.handle("PUT "+APIPath+repoPath+"/facilityRelation_release/{parentFacilityId}", s.release)
}

// login is AccessRestEndpoints#login.
func (s *Server) login(r *http.Request) (any, *apiError) {
	var req struct {
		UserID   *string `json:"userId"`
		Password *string `json:"password"`
	}
	if e := decode(r, &req); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if req.UserID == nil || req.Password == nil || s.users[*req.UserID] != *req.Password || *req.Password == "" {
		return nil, &apiError{http.StatusUnauthorized, exInvalidUserPass, "User ID or password is wrong."}
	}
	tok := newToken()
	s.tokens[tok] = *req.UserID
	return map[string]any{
		"token":       map[string]any{"tokenId": tok, "expirationDate": time.Now().Add(24 * time.Hour).Format(dateLayout), "validTermMinites": 1440},
		"managerInfo": map[string]any{"timeZoneOffset": 32400000, "timeOffsetMillis": 0, "options": []string{}},
	}, nil
}

// logout is AccessRestEndpoints#logout.
func (s *Server) logout(r *http.Request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	tok := bearer(r)
	_, ok := s.tokens[tok]
	delete(s.tokens, tok)
	return map[string]any{"result": ok, "message": "logout success."}, nil
}

// user is the user the request's token belongs to.
func (s *Server) user(r *http.Request) string { return s.tokens[bearer(r)] }

// facilityTree is RepositoryRestEndpoints#getFacilityTree (without its
// ownerRoleId and size parameters).
func (s *Server) facilityTree(*http.Request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var item func(id string) map[string]any
	item = func(id string) map[string]any {
		f := s.facilities[id]
		kids := []map[string]any{}
		if f.typ == typeScope {
			for _, c := range s.children(id) {
				kids = append(kids, item(c))
			}
		}
		return map[string]any{"data": f.infoP2(), "children": kids}
	}
	top := []map[string]any{}
	for _, id := range s.children("") {
		top = append(top, item(id))
	}
	root := map[string]any{"facilityId": "_ROOT_", "facilityName": "Root", "facilityType": typeComposite,
		"description": nil, "displaySortOrder": nil, "iconImage": nil, "valid": nil, "builtInFlg": false,
		"notReferFlg": false, "ownerRoleId": nil}
	return map[string]any{"data": root, "children": top, "childrenTotal": len(top)}, nil
}

// infoP2 is the facility as FacilityInfoResponseP2.
func (f *facility) infoP2() map[string]any {
	return map[string]any{
		"facilityId": f.id, "facilityName": f.name, "facilityType": f.typ, "description": f.desc,
		"displaySortOrder": f.sortOrder(), "iconImage": nullable(f.icon), "valid": f.valid, "builtInFlg": f.builtIn,
		"notReferFlg": false, "ownerRoleId": f.owner,
	}
}

func (f *facility) sortOrder() int {
	if f.typ == typeNode {
		return 100
	}
	return f.seq
}

func nullable(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// getNode is RepositoryRestEndpoints#getNodeFull.
func (s *Server) getNode(r *http.Request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f, e := s.node(r.PathValue("facilityId"))
	if e != nil {
		return nil, e
	}
	return f.nodeInfo(), nil
}

// node returns the node with that ID, or FacilityNotFound.
func (s *Server) node(id string) (*facility, *apiError) {
	f := s.facilities[id]
	if f == nil || f.typ != typeNode {
		return nil, notFound("Facility not found. FacilityId = %s", id)
	}
	return f, nil
}

// nodeInfo is the node as NodeInfoResponse.
func (f *facility) nodeInfo() map[string]any {
	out := map[string]any{}
	for _, k := range nodeKeys {
		if v, ok := f.props[k]; ok {
			out[k] = v
		} else if strings.HasPrefix(k, "node") && k != "nodeName" && k != "nodeOsInfo" {
			out[k] = []any{}
		} else {
			out[k] = nil
		}
	}
	var hosts []map[string]any
	_ = json.Unmarshal(f.props["nodeHostnameInfo"], &hosts)
	for _, h := range hosts {
		h["regDate"], h["regUser"], h["searchTarget"] = f.modified.Format(dateLayout), f.modifyUser, false
	}
	if hosts != nil {
		out["nodeHostnameInfo"] = hosts
	}
	var vars []map[string]any
	_ = json.Unmarshal(f.props["nodeVariableInfo"], &vars)
	for _, v := range vars {
		v["regDate"], v["regUser"], v["updateDate"], v["updateUser"], v["searchTarget"] = f.created.Format(dateLayout), f.createUser, f.modified.Format(dateLayout), f.modifyUser, false
	}
	if vars != nil {
		out["nodeVariableInfo"] = vars
	}
	maps.Copy(out, map[string]any{
		"facilityId": f.id, "facilityName": f.name, "description": f.desc, "iconImage": nullable(f.icon),
		"valid": f.valid, "ownerRoleId": f.owner, "displaySortOrder": 100, "builtInFlg": false, "notReferFlg": false,
		"createUserId": f.createUser, "createDatetime": f.created.Format(dateLayout),
		"modifyUserId": f.modifyUser, "modifyDatetime": f.modified.Format(dateLayout),
	})
	return out
}

// nodeList is RepositoryRestEndpoints#getNodeList without parameters.
func (s *Server) nodeList(*http.Request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := []map[string]any{}
	for _, id := range slices.Sorted(maps.Keys(s.facilities)) {
		f := s.facilities[id]
		if f.typ != typeNode {
			continue
		}
		list = append(list, map[string]any{
			"facilityId": f.id, "facilityName": f.name, "ipAddressVersion": f.props["ipAddressVersion"],
			"ipAddressV4": f.props["ipAddressV4"], "ipAddressV6": f.props["ipAddressV6"],
			"platformFamily": f.props["platformFamily"], "description": f.desc, "ownerRoleId": f.owner,
			"createDatetime": f.created.Format(dateLayout), "modifyDatetime": f.modified.Format(dateLayout),
		})
	}
	return map[string]any{"nodeInfoList": list, "total": len(list)}, nil
}

// nodeRequest is the part of AddNodeRequest/ModifyNodeRequest the server
// interprets; the other properties are kept as sent.
type nodeRequest struct {
	FacilityID       *string `json:"facilityId"`
	FacilityName     *string `json:"facilityName"`
	Description      *string `json:"description"`
	IconImage        *string `json:"iconImage"`
	Valid            *bool   `json:"valid"`
	OwnerRoleID      *string `json:"ownerRoleId"`
	PlatformFamily   *string `json:"platformFamily"`
	IPAddressVersion *string `json:"ipAddressVersion"`
	IPAddressV4      *string `json:"ipAddressV4"`
	IPAddressV6      *string `json:"ipAddressV6"`
	NodeName         *string `json:"nodeName"`
	Hostnames        []struct {
		Hostname *string `json:"hostname"`
	} `json:"nodeHostnameInfo"`
	Variables []struct {
		Name  *string `json:"nodeVariableName"`
		Value *string `json:"nodeVariableValue"`
	} `json:"nodeVariableInfo"`
}

// readNode decodes a node request into the request's interpreted fields
// and the properties to store, with setDefaultInfo's defaults for those
// left out; host names and variables that are entirely empty are dropped,
// as the manager does.
func readNode(r *http.Request) (nodeRequest, map[string]json.RawMessage, *apiError) {
	var raw map[string]json.RawMessage
	if e := decode(r, &raw); e != nil {
		return nodeRequest{}, nil, e
	}
	b, _ := json.Marshal(raw)
	var req nodeRequest
	if err := json.Unmarshal(b, &req); err != nil {
		return nodeRequest{}, nil, invalid("%s", err.Error())
	}
	props := map[string]json.RawMessage{}
	for _, k := range nodeKeys {
		if v, ok := raw[k]; ok && string(v) != "null" {
			props[k] = v
		} else if d, ok := nodeDefaults[k]; ok {
			props[k] = json.RawMessage(d)
		} else if strings.HasPrefix(k, "node") && k != "nodeName" {
			props[k] = json.RawMessage("[]")
		} else {
			props[k] = json.RawMessage(`""`)
		}
	}
	var hosts []map[string]string
	for _, h := range req.Hostnames {
		if h.Hostname != nil && *h.Hostname != "" {
			hosts = append(hosts, map[string]string{"hostname": *h.Hostname})
		}
	}
	props["nodeHostnameInfo"] = mustJSON(orEmpty(hosts))
	var vars []map[string]string
	for _, v := range req.Variables {
		if deref(v.Name) == "" && deref(v.Value) == "" {
			continue
		}
		vars = append(vars, map[string]string{"nodeVariableName": deref(v.Name), "nodeVariableValue": deref(v.Value)})
	}
	props["nodeVariableInfo"] = mustJSON(orEmpty(vars))
	return req, props, nil
}

func orEmpty(l []map[string]string) []map[string]string {
	if l == nil {
		return []map[string]string{}
	}
	return l
}

func mustJSON(v any) json.RawMessage {
	b, _ := json.Marshal(v)
	return b
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func jsonString(raw json.RawMessage) string {
	var s string
	_ = json.Unmarshal(raw, &s)
	return s
}

// javaLen is a string's length as Java counts it.
func javaLen(s string) int {
	n := 0
	for _, r := range s {
		n += utf16.RuneLen(r)
	}
	return n
}

// checkString is CommonValidator.validateString.
func checkString(name, s string, min, max int) *apiError {
	switch l := javaLen(s); {
	case l == 0 && min > 0:
		return invalid("Please input %s.", name)
	case l < min:
		return invalid("Please input %s with %d or more characters.", name, min)
	case l > max:
		return invalid("%s exceeds the limit of %d characters.", name, max)
	}
	return nil
}

// checkFacility is RepositoryValidator.validateFacilityInfo.
func checkFacility(id, name, desc, icon, owner string) *apiError {
	if id == "" {
		return invalid("Please input Facility ID.")
	}
	if e := checkString("Facility ID", id, 1, 512); e != nil {
		return e
	}
	if !idPattern.MatchString(id) {
		return invalid("Facility ID %s contains characters that cannot be used.", id)
	}
	if id == "_ROOT_" {
		return invalid("_ROOT_ cannot be registered in the repository.")
	}
	if e := checkString("Facility Name", name, 1, 256); e != nil {
		return e
	}
	if e := checkString("Description", desc, 0, 256); e != nil {
		return e
	}
	if owner == "" {
		return invalid("Please input Owner Role ID.")
	}
	if !slices.Contains(roles, owner) {
		return invalid("Owner Role ID %s does not exist.", owner)
	}
	return checkString("Icon Image", icon, 0, 256)
}

// checkNode is RepositoryValidator.validateNodeInfo for the properties the
// server interprets.
func checkNode(id, owner string, req nodeRequest, props map[string]json.RawMessage) *apiError {
	if e := checkFacility(id, deref(req.FacilityName), deref(req.Description), deref(req.IconImage), owner); e != nil {
		return e
	}
	platform := jsonString(props["platformFamily"])
	if e := checkString("Platform", platform, 1, 128); e != nil {
		return e
	}
	if !slices.Contains(platforms, platform) {
		return invalid("platform %s does not exist!", platform)
	}
	switch deref(req.IPAddressVersion) {
	case "":
		return invalid("IpAddressVersion is null.")
	case "IPV4":
		ip := net.ParseIP(deref(req.IPAddressV4))
		if ip == nil || ip.To4() == nil {
			return invalid("Please set the IP address (IPv4) in the correct format. (%s)", deref(req.IPAddressV4))
		}
	case "IPV6":
		ip := net.ParseIP(deref(req.IPAddressV6))
		if ip == nil || ip.To4() != nil {
			return invalid("Please set the IP address (IPv6) in the correct format. (%s)", deref(req.IPAddressV6))
		}
	default:
		return invalid("Cannot deserialize value of type IpaddressVersionEnum from String %q", deref(req.IPAddressVersion))
	}
	if e := checkString("Node Name", deref(req.NodeName), 1, 256); e != nil {
		return e
	}
	var hosts []map[string]string
	_ = json.Unmarshal(props["nodeHostnameInfo"], &hosts)
	seen := map[string]bool{}
	for _, h := range hosts {
		if e := checkString("Host Name", h["hostname"], 1, 1024); e != nil {
			return e
		}
		if seen[h["hostname"]] {
			return invalid("Host Name %s is duplicated.", h["hostname"])
		}
		seen[h["hostname"]] = true
	}
	var vars []map[string]string
	_ = json.Unmarshal(props["nodeVariableInfo"], &vars)
	clear(seen)
	for _, v := range vars {
		if e := checkString("Node Variable Name", v["nodeVariableName"], 1, 128); e != nil {
			return e
		}
		if e := checkString("Node Variable Value", v["nodeVariableValue"], 1, 1024); e != nil {
			return e
		}
		if seen[v["nodeVariableName"]] {
			return invalid("Node Variable %s is duplicated.", v["nodeVariableName"])
		}
		seen[v["nodeVariableName"]] = true
	}
	return nil
}

// addNode is RepositoryRestEndpoints#addNode.
func (s *Server) addNode(r *http.Request) (any, *apiError) {
	req, props, e := readNode(r)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := deref(req.FacilityID)
	if _, dup := s.facilities[id]; dup {
		return nil, &apiError{http.StatusConflict, exFacilityDup, "Facility ID " + id + " already exists."}
	}
	if e := checkNode(id, deref(req.OwnerRoleID), req, props); e != nil {
		return nil, e
	}
	valid := true
	if req.Valid != nil {
		valid = *req.Valid
	}
	now, user := time.Now(), s.user(r)
	s.seq++
	f := &facility{id: id, name: deref(req.FacilityName), desc: deref(req.Description), icon: deref(req.IconImage),
		owner: deref(req.OwnerRoleID), typ: typeNode, valid: valid, props: props, created: now, modified: now,
		createUser: user, modifyUser: user, seq: s.seq}
	s.facilities[id] = f
	return f.nodeInfo(), nil
}

// modifyNode is RepositoryRestEndpoints#modifyNode: every property is
// replaced, those left out by their defaults.
func (s *Server) modifyNode(r *http.Request) (any, *apiError) {
	req, props, e := readNode(r)
	if e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, e := s.node(r.PathValue("facilityId"))
	if e != nil {
		return nil, e
	}
	if req.Valid == nil {
		return nil, unknown("node's valid is invalid . (valid = null)")
	}
	if e := checkNode(f.id, f.owner, req, props); e != nil {
		return nil, e
	}
	f.name, f.desc, f.icon, f.valid, f.props = deref(req.FacilityName), deref(req.Description), deref(req.IconImage), *req.Valid, props
	f.modified, f.modifyUser = time.Now(), s.user(r)
	return f.nodeInfo(), nil
}

// ids splits the facilityIds query parameter.
func ids(r *http.Request) []string {
	v := r.URL.Query().Get("facilityIds")
	if v == "" {
		return nil
	}
	return strings.Split(v, ",")
}

// deleteNode is RepositoryRestEndpoints#deleteNode: all or nothing.
func (s *Server) deleteNode(r *http.Request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	list := ids(r)
	for _, id := range list {
		f, e := s.node(id)
		if e != nil {
			return nil, e
		}
		if s.used[id] {
			return nil, &apiError{http.StatusBadRequest, exUsedFacility, "Facility " + id + " is used by a setting."}
		}
		out = append(out, f.nodeInfo())
	}
	for _, id := range list {
		delete(s.facilities, id)
		for _, m := range s.relations {
			delete(m, id)
		}
	}
	return out, nil
}

// scopeP1 is a facility as ScopeInfoResponseP1.
func (f *facility) scopeP1() map[string]any {
	return map[string]any{"facilityId": f.id, "facilityName": f.name, "description": f.desc,
		"iconImage": nullable(f.icon), "ownerRoleId": f.owner}
}

// getScope is RepositoryRestEndpoints#getScope, which answers for a node
// too, as the manager does.
func (s *Server) getScope(r *http.Request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("facilityId")
	f := s.facilities[id]
	if f == nil {
		return nil, notFound("Facility not found. FacilityId = %s", id)
	}
	return f.scopeP1(), nil
}

// scopeRequest is ScopeInfoRequest and ModifyScopeRequest.
type scopeRequest struct {
	FacilityID   *string `json:"facilityId"`
	FacilityName *string `json:"facilityName"`
	Description  *string `json:"description"`
	IconImage    *string `json:"iconImage"`
	OwnerRoleID  *string `json:"ownerRoleId"`
}

// addScope is RepositoryRestEndpoints#addScope.
func (s *Server) addScope(r *http.Request) (any, *apiError) {
	var req struct {
		ParentFacilityID *string       `json:"parentFacilityId"`
		ScopeInfo        *scopeRequest `json:"scopeInfo"`
	}
	if e := decode(r, &req); e != nil {
		return nil, e
	}
	if req.ScopeInfo == nil {
		return nil, invalid("Please input Scope.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	parent := deref(req.ParentFacilityID)
	if parent != "" {
		p := s.facilities[parent]
		if p == nil || p.typ != typeScope {
			return nil, invalid("Scope does not exist! facilityId = %s", parent)
		}
		if p.builtIn {
			return nil, invalid("this facility is built in scope. (facilityId = %s)", parent)
		}
	}
	si := req.ScopeInfo
	id := deref(si.FacilityID)
	if e := checkFacility(id, deref(si.FacilityName), deref(si.Description), deref(si.IconImage), deref(si.OwnerRoleID)); e != nil {
		return nil, e
	}
	if _, dup := s.facilities[id]; dup {
		return nil, &apiError{http.StatusConflict, exFacilityDup, "Facility ID " + id + " already exists."}
	}
	now, user := time.Now(), s.user(r)
	s.seq++
	f := &facility{id: id, name: deref(si.FacilityName), desc: deref(si.Description), icon: deref(si.IconImage),
		owner: deref(si.OwnerRoleID), typ: typeScope, parent: parent, valid: true, created: now, modified: now,
		createUser: user, modifyUser: user, seq: s.seq}
	s.facilities[id] = f
	return f.scopeP1(), nil
}

// modifyScope is RepositoryRestEndpoints#modifyScope.
func (s *Server) modifyScope(r *http.Request) (any, *apiError) {
	var req scopeRequest
	if e := decode(r, &req); e != nil {
		return nil, e
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.PathValue("facilityId")
	f := s.facilities[id]
	switch {
	case f == nil || f.typ != typeScope:
		return nil, notFound("Facility not found. FacilityId = %s", id)
	case f.builtIn:
		return nil, unknown("this facility is built in scope. (facilityId = %s)", id)
	}
	if e := checkFacility(id, deref(req.FacilityName), deref(req.Description), deref(req.IconImage), f.owner); e != nil {
		return nil, e
	}
	f.name, f.desc, f.icon = deref(req.FacilityName), deref(req.Description), deref(req.IconImage)
	f.modified, f.modifyUser = time.Now(), s.user(r)
	return f.scopeP1(), nil
}

// subtree returns the scope and every scope below it.
func (s *Server) subtree(id string) []string {
	out := []string{id}
	for _, f := range s.facilities {
		if f.typ == typeScope && f.parent == id {
			out = append(out, s.subtree(f.id)...)
		}
	}
	return out
}

// deleteScope is RepositoryRestEndpoints#deleteScope: each scope is
// deleted with the scopes below it.
func (s *Server) deleteScope(r *http.Request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	list := ids(r)
	for _, id := range list {
		f := s.facilities[id]
		switch {
		case f == nil:
			return nil, notFound("Facility not found. FacilityId = %s", id)
		case f.typ != typeScope:
			return nil, unknown("this facility is not a scope. (facilityId = %s)", id)
		case f.builtIn:
			return nil, unknown("this facility is built in scope. (facilityId = %s)", id)
		}
		for _, sub := range s.subtree(id) {
			if s.used[sub] {
				return nil, &apiError{http.StatusBadRequest, exUsedFacility, "Facility " + sub + " is used by a setting."}
			}
		}
		out = append(out, f.scopeP1())
	}
	for _, id := range list {
		for _, sub := range s.subtree(id) {
			delete(s.facilities, sub)
			delete(s.relations, sub)
		}
	}
	return out, nil
}

// relation validates an assign or release request
// (RepositoryValidator.validateaAssignNodeScope, checkIsBuildInScope).
func (s *Server) relation(r *http.Request) (*facility, []string, *apiError) {
	var req struct {
		FacilityIDList []string `json:"facilityIdList"`
	}
	if e := decode(r, &req); e != nil {
		return nil, nil, e
	}
	id := r.PathValue("parentFacilityId")
	p := s.facilities[id]
	if p == nil {
		return nil, nil, invalid("Scope does not exist! facilityId = %s", id)
	}
	if len(req.FacilityIDList) == 0 {
		return nil, nil, invalid("Please set the node.")
	}
	for _, n := range req.FacilityIDList {
		if f := s.facilities[n]; f == nil || f.typ != typeNode {
			return nil, nil, invalid("Node does not exist! facilityId = %s", n)
		}
	}
	switch {
	case p.builtIn:
		return nil, nil, unknown("this facility is built in scope. (facilityId = %s)", id)
	case p.typ != typeScope:
		return nil, nil, unknown("parent's facility is not a scope. (facilityId = %s)", id)
	}
	return p, req.FacilityIDList, nil
}

// relationInfo lists the facilities below the scope as
// FacilityRelationInfoResponse.
func (s *Server) relationInfo(id string) []map[string]any {
	out := []map[string]any{}
	for _, c := range s.children(id) {
		f := s.facilities[c]
		out = append(out, map[string]any{"facilityId": f.id, "facilityName": f.name, "description": f.desc,
			"displaySortOrder": f.sortOrder(), "iconImage": nullable(f.icon), "valid": f.valid,
			"createUserId": f.createUser, "createDatetime": f.created.Format(dateLayout),
			"modifyUserId": f.modifyUser, "modifyDatetime": f.modified.Format(dateLayout),
			"builtInFlg": f.builtIn, "notReferFlg": false, "ownerRoleId": f.owner})
	}
	return out
}

// assign is RepositoryRestEndpoints#assignNodeScope; nodes already in the
// scope are skipped.
func (s *Server) assign(r *http.Request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, nodes, e := s.relation(r)
	if e != nil {
		return nil, e
	}
	if s.relations[p.id] == nil {
		s.relations[p.id] = map[string]bool{}
	}
	for _, n := range nodes {
		s.relations[p.id][n] = true
	}
	return s.relationInfo(p.id), nil
}

// release is RepositoryRestEndpoints#releaseNodeScope; a node not in the
// scope fails the whole request.
func (s *Server) release(r *http.Request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, nodes, e := s.relation(r)
	if e != nil {
		return nil, e
	}
	for _, n := range nodes {
		if !s.relations[p.id][n] {
			return nil, unknown("FacilityRelationEntity.findByPrimaryKey, parentFacilityId = %s, childFacilityId = %s", p.id, n)
		}
	}
	for _, n := range nodes {
		delete(s.relations[p.id], n)
	}
	return s.relationInfo(p.id), nil
}
