// Package rest keeps an [inventory.Repository] in a Hinemos manager's
// repository through the REST API Hinemos 7 publishes, so that the
// Hinemos Docker repository sync (package inventory/hinemos) can register
// containers as Hinemos nodes the way the kit's RepositoryDockerNodeAdd,
// Delete and Update scripts do, without the SOAP web service those
// scripts used.
//
//	cfg := rest.DefaultConfig()
//	cfg.URL = "https://hinemos.example.com:8443"
//	cfg.PasswordFile = "/etc/minato/hinemos.password"
//	cfg.CAFile = "/etc/minato/hinemos-ca.pem"
//	repo, err := rest.New(cfg, rest.WithLogger(logger))
//	if err != nil {
//		return err
//	}
//	defer repo.Logout(context.Background())
//	syncer, err := hinemos.New(scfg, repo)
//
// docs/hinemos-rest.md lists the sources of the API shapes used here.
//
// # Requests
//
// The manager answers below URL/HinemosWeb/api. The client logs in with
// POST /AccessRestEndpoints/access/login {"userId","password"} and sends
// the token it gets as "Authorization: Bearer <tokenId>" on every other
// request; a 401 answer makes it log in again and repeat the request once.
// The repository calls are under /RepositoryRestEndpoints/repository:
//
//	Node       GET  /node/{id}
//	Nodes      GET  /node_withoutNodeConfigInfo, then GET /node/{id} for each node
//	PutNode    GET  /node/{id}, then POST /node or PUT /node/{id}
//	DeleteNode DELETE /node?facilityIds={id}
//	Scope, Scopes, Members                  GET /facility_tree
//	PutScope   GET  /facility_tree, then POST /scope, or GET and PUT /scope/{id}
//	DeleteScope GET /facility_tree, then DELETE /scope?facilityIds={id}
//	Assign     GET  /facility_tree and /node_withoutNodeConfigInfo, then PUT /facilityRelation/{scope}
//	Unassign   GET  /facility_tree, then PUT /facilityRelation_release/{scope}
//
// Calls that would change nothing send no write. Each method is a few
// requests, not a transaction; Client does not implement
// [inventory.Batcher].
//
// # Mapping
//
// A [inventory.Node] is a Hinemos node: FacilityID, FacilityName and
// Description are the node's; Managed is its valid flag (管理対象);
// Platform its platformFamily; IPVersion is ipAddressVersion (IPV4, IPV6)
// with ipAddressV4 and ipAddressV6; NodeName is nodeName; HostName is the
// node's first host name (nodeHostnameInfo); Variables are its node
// variables (nodeVariableInfo). Nodes are created with the owner role
// [Config.OwnerRoleID]. PutNode keeps every Hinemos property minato does
// not manage (SNMP, SSH, WinRM and IPMI settings, node configuration
// information, icon, owner role) by modifying the node as read, since
// Hinemos resets the properties a modify request leaves out.
//
// Hinemos stores less than the inventory types can hold: it requires a
// facility name, a platform, a node name and an address of the node's IP
// version (PutNode fails with [inventory.ErrInvalid] without them), stores
// an IP version of 0 as 4 (6 when only an IPv6 address is set), cannot
// store a node variable with an empty value (it is left out), and has one
// parent per scope that its API cannot change (PutScope moving a scope
// fails with [errors.ErrUnsupported]).
//
// A [inventory.Scope] is a Hinemos scope; Parent is the enclosing scope,
// empty for a scope at the top of the facility tree. The scopes built into
// Hinemos (REGISTERED, UNREGISTERED, INTERNAL, OWNER and the role scopes,
// OS and the platform scopes, and the like) hold nodes by Hinemos's own
// rules and cannot be changed: they are not part of minato's view (Scope
// and Members do not find them, Scopes does not list them, PutScope and
// DeleteScope refuse them with [inventory.ErrConflict]).
//
// # Errors
//
// An answer other than 200 is an [*APIError] carrying the manager's
// exception class and message. FacilityNotFound is
// [inventory.ErrNotFound]; FacilityDuplicate (409) and UsedFacility (the
// node or scope is still named by monitor or job settings) are
// [inventory.ErrConflict]; InvalidSetting is [inventory.ErrInvalid]; 401
// and 403 are [ErrUnauthorized] and [ErrForbidden]. A 404 without
// FacilityNotFound (a wrong URL) is none of them, so that a misconfigured
// client never reports a facility as absent.
//
// # Security
//
// The password is read from [Config.PasswordFile] at each login and is
// never logged nor put in an error, nor is the session token. Request and
// answer bodies are never logged: Hinemos returns a node's SSH, SNMP and
// WinRM passwords with the node, and the client sends them back unchanged
// when it modifies the node. https is verified against the system's roots
// or [Config.CAFile]; [Config.InsecureSkipVerify] exists for test beds
// only. Redirects are not followed, so the token never reaches another
// host.
package rest
