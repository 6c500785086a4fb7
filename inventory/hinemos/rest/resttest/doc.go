// Package resttest is a fake Hinemos 7 manager for tests: an [httptest]
// server that answers the REST API calls package rest makes, with the
// request and answer shapes the manager publishes, and keeps a repository
// of nodes, scopes and assignments in memory so that behaviour can be
// tested, not only request shapes.
//
// It is test-only code and implements only what package rest uses:
//
//	POST   /HinemosWeb/api/AccessRestEndpoints/access/login     {"userId","password"} -> {"token":{"tokenId",...},"managerInfo":{...}}
//	GET    /HinemosWeb/api/AccessRestEndpoints/access/logout
//	GET    /HinemosWeb/api/RepositoryRestEndpoints/repository/facility_tree
//	GET    .../repository/node/{facilityId}                      NodeInfoResponse
//	GET    .../repository/node_withoutNodeConfigInfo              {"nodeInfoList":[...],"total":n}
//	POST   .../repository/node                                   AddNodeRequest
//	PUT    .../repository/node/{facilityId}                      ModifyNodeRequest
//	DELETE .../repository/node?facilityIds=a,b
//	GET    .../repository/scope/{facilityId}                     ScopeInfoResponseP1
//	POST   .../repository/scope                                  {"parentFacilityId","scopeInfo":{...}}
//	PUT    .../repository/scope/{facilityId}                     {"facilityName","description","iconImage"}
//	DELETE .../repository/scope?facilityIds=a,b
//	PUT    .../repository/facilityRelation/{parentFacilityId}          {"facilityIdList":[...]}
//	PUT    .../repository/facilityRelation_release/{parentFacilityId}  {"facilityIdList":[...]}
//
// Every other path answers 404, a known path with another method 405, as
// the manager does. Requests other than the login need "Authorization:
// Bearer <tokenId>" (or the manager's own X-HinemosToken header); a
// missing, unknown or expired token gets 401.
//
// # Behaviour copied from the manager
//
// The manager's rules that matter to a client are reproduced: facility IDs
// are unique across nodes and scopes (409 FacilityDuplicate); a node needs
// a facility name, an existing platform, an IP version with its address, a
// node name and an existing owner role; node variables need a name and a
// non-empty value (400 InvalidSetting); a modify request replaces every
// property, those it leaves out falling back to their defaults; deleting a
// scope deletes the scopes below it; assigning or releasing with an
// unknown scope or node is a 400 InvalidSetting, releasing a node that is
// not in the scope a 500 HinemosUnknown; built-in scopes (REGISTERED,
// UNREGISTERED, INTERNAL, OWNER and its role scopes, OS and its platform
// scopes) exist from the start, hold their nodes automatically and cannot
// be changed (500 HinemosUnknown). Error answers carry the manager's body,
// {"status":N,"message":"...","exception":"com.clustercontrol.fault.X","stack":[]}.
//
// Privileges and object privileges are not modelled: every user may do
// everything. [Server.Fail] makes a route answer an error instead.
package resttest
