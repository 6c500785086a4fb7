// Package hinemos keeps a repository of nodes and scopes in step with the
// containers of Docker hosts, as the Hinemos Docker kit's repository
// scripts (RepositoryDockerNodeAdd.py, RepositoryDockerNodeDelete.py and
// RepositoryDockerNodeUpdate.py) keep the Hinemos repository, and lets
// monitors and jobs select containers by repository scope.
//
// It works over any [inventory.Repository]: a Hinemos manager, minato's
// embedded repository or a CMDB. It imports only the standard library and
// package inventory; the containers come in as [inventory.Item]s from any
// inventory source (see [EngineItems]).
//
// # The sync
//
// A [Syncer] serves one Docker host: Config.HostFacilityID is the host
// node's facility ID (the scripts' -f, and the engine's name in minato's
// configuration), Config.HostAddress the IPv4 address recorded on the host
// node and its container nodes (the scripts' -i).
//
//   - [Syncer.Add] creates the scopes docker_container, docker_host,
//     docker_map and "<host>_scope" (under docker_map) and the host node
//     (managed, LINUX, host and node name = the facility ID) when missing,
//     and assigns the host node to docker_host. Each container without a
//     node gets one: facility ID "<host>-<container name>", facility name
//     the container name, managed when running, LINUX, IPv4 the host's,
//     host and node name the 12-character container ID, node variables
//     DOCKER_CONTAINER_ID, DOCKER_COMMAND, DOCKER_PORTS, DOCKER_IMAGE,
//     DOCKER_STATUS and DOCKER_HOST. New nodes are assigned to
//     docker_container, "<host>_scope" and the existing scopes their
//     hinemosAssignScopeId label names.
//   - [Syncer.Delete] deletes this host's container nodes whose container
//     is gone.
//   - [Syncer.Update] makes DOCKER_STATUS and the managed flag follow the
//     container state, refreshes the other properties and applies labels
//     again.
//   - [Syncer.Sync] runs the three in that order, as the scripts' cron
//     wrapper does, in one batch.
//
// Each run goes through [inventory.Batch]: against a repository that is an
// [inventory.Batcher] a run is one transaction and writes nothing when it
// fails. A [Report] lists what was created, updated, deleted, assigned and
// skipped. With [WithLog] a run writes the scripts' log lines, in English
// or, with Config.Lang "ja", in the scripts' own Japanese, so that log
// watchers set up for the scripts keep matching:
//
//	開始しました。
//	Hinemos マネージャにログインしています。
//	  endpoint: http://127.0.0.1:8080/HinemosWS/RepositoryEndpoint?wsdl
//	  username: hinemos
//	Docker コンテナの情報を取得します。
//	  Id:0e0d8cdf3a57 Name:conteiner_C Status:'Exited (0) 16 seconds ago':exited
//	Docker コンテナノードを更新します。
//	  docker_host1-conteiner_C
//	   running -> exited
//	docker_host1-conteiner_C のラベル設定の確認 hinemosAssignScopeId: [u'web1', u'web3']
//	[skip] 既にスコープ web1 に割当てられています
//	[skip] スコープ web3 が存在していないため、割当てをスキップします
//	完了しました。
//
// # Decisions where the scripts are silent or inconsistent
//
//   - Facility ID separator: "<host>-<name>" with a hyphen, as every
//     execution log shows ([ContainerSeparator]); the manual's table says
//     an underscore.
//   - Managed flag: on for running only. Restarting, exited and paused are
//     off as the manual says; created, dead and removing (states the
//     manual does not list) are off too, since nothing runs in them.
//   - Add skips an existing node whole: its properties are not changed and
//     its labels are not applied (the execution log shows label lines for
//     the nodes Add created; Update, which the cron wrapper runs right
//     after, applies labels to every node). One exception makes an
//     interrupted run repairable: a node of this host that is missing from
//     docker_container or its host scope is put back. Existing scopes are
//     skipped whatever their parent. An existing host node is kept as it
//     is and assigned to docker_host.
//   - Labels: hinemosAssignScopeId is split on ",", entries trimmed of
//     white space, empty entries dropped, repeated ones kept once. A scope
//     that does not exist is skipped with the scripts' message and never
//     created; an entry that is not a valid facility ID gets a message of
//     its own. No run ever unassigns a node from a label scope.
//   - Ownership: a node belongs to this host when its DOCKER_HOST variable
//     is the host's facility ID and its facility ID begins with "<host>-".
//     Delete considers only those nodes (scope membership is not used: a
//     node put into the host scope by hand is never deleted, a node of
//     this host taken out of it still is); Update changes only those. A
//     facility ID already used by another host's node or by a node made
//     by hand (host "h" with container "a-b" and host "h-a" with container
//     "b" both make "h-a-b") is skipped by all three with a message. The
//     host node is never updated or deleted.
//   - Delete prints its container lines without Status, as the script
//     does, and its node lines in facility ID order (the script follows
//     the repository's order).
//   - Update: the old state is the node's DOCKER_STATUS; the arrow is
//     always "->" (the one "→" in the report is the PDF extraction's).
//     "[skip]" on that line means the state did not change, and then the
//     managed flag is left as it is, so a flag turned by hand lasts until
//     the next state change. DOCKER_CONTAINER_ID, DOCKER_IMAGE,
//     DOCKER_COMMAND, DOCKER_PORTS, the host and node name and the IPv4
//     address are refreshed, one "name: old -> new" line each: a container
//     re-created under its name gets its new ID. An attribute the
//     inventory source did not report leaves its variable alone.
//   - Update does not create nodes for containers that appeared since Add
//     (the scripts' Update only updates); it says so and Add, which the
//     next Sync runs first, creates them.
//   - A rename is a delete and an add: the old node goes with its
//     assignments and whatever Hinemos held for it (settings made on the
//     node itself); the new node is assigned from the labels.
//   - Log lines: "port not bind" precedes an Add container line when the
//     container publishes no port; DOCKER_PORTS holds the published
//     mappings only and is absent without any. Every run ends with
//     "完了しました。" ("Completed."; the Add and Delete examples are cut
//     before it), or, on error, "失敗しました。" ("Failed.") and whether
//     nothing was written. The login lines come from an [Endpointer]
//     repository, never with a password; other repositories get
//     "リポジトリを開いています。" and a line naming the repository (its
//     String method, or its Go type). Japanese lines the scripts' logs do
//     not show are written in their style. Label lists print as Python
//     printed them, [u'web1', u'web3'], in Japanese and as [web1, web3] in
//     English. Indentation follows the Update log; it is not significant.
//   - A container whose facility ID would not be valid (longer than 512
//     characters) is skipped and listed in Report.Invalid. An Item without
//     State gets the state its status text gives, as the scripts'
//     conv_docker_status derives it.
//
// # Scopes as targets
//
// A [Resolver] applies [inventory.Selector] Scopes: it finds the container
// nodes in the scopes (and the scopes below them), asks the engine each
// node's DOCKER_HOST names for containers with the rest of the Selector,
// and keeps those whose name the node carries. Unlike Hinemos it includes
// nodes whose managed flag is off: select by state with Selector.States.
//
//	r, err := hinemos.NewResolver(repo, fleetLookup, hinemos.WithUnscoped(fleet))
//	targets, err := r.Resolve(ctx, inventory.Selector{Scopes: []string{"web1"}})
package hinemos
