// Package inventory holds the nouns every other minato package shares and
// the estate as data: a [Target] (one thing minato observes or acts on), a
// [Selector] (which Targets an operation applies to), a [Resolver] (turns
// a Selector into the Targets that exist now), an [Inventory] (what the
// engines hold now, as a [Snapshot] that [Diff] compares), and a
// [Repository] of nodes and scopes, the Hinemos repository's model, that
// monitors and jobs select Targets by.
//
// The package imports only the standard library, so the monitor, job and ha
// cores can depend on it without pulling in Docker, AWS or SNMP code. The
// implementations backed by Docker, by a file or by a Hinemos manager live
// in leaf packages (see below).
//
// # Selection rules
//
// Selectors follow the container selection of the Hinemos Docker monitoring
// and job scripts (their -c and -n options):
//
//   - select by ID or by name, never both: [Selector.Validate] returns
//     [ErrIDAndName], a usage error;
//   - a pattern ending in "*" matches by prefix ("web*" matches "web-1");
//     a lone "*" matches everything;
//   - any other pattern is exact; for IDs the 12-character short ID that
//     docker ps prints counts as exact;
//   - Docker's leading "/" on container names is ignored on both sides;
//   - labels must all be present ("key" alone means present with any value)
//     and, when States is set, the state must be one of them;
//   - Scopes keep the Targets that are nodes of those repository scopes
//     (or of scopes below them). A Target does not know its scopes, so
//     [Selector.Match] and [Snapshot.Select] ignore them; only a resolver
//     backed by a Repository applies them, and the others ([Static], the
//     Docker inventories and resolvers) refuse such a Selector with
//     [ErrScopes]. Scopes must be valid facility IDs.
//
// A Resolver returns the matching Targets sorted by [Target.Key]; an empty
// result is not an error (whether it is one is the caller's decision:
// container jobs treat it as [ErrNoMatch]).
//
// # Snapshots and differences
//
// An [Inventory] lists what exists now as a [Snapshot]: the [Engine]s asked
// (each with its identity, or the error that kept it from answering) and
// the [Item]s found on those that answered (containers, images, networks
// and volumes, each a Target with its State and its properties flattened
// to strings under the Attr keys). A Snapshot is plain data that marshals
// to JSON and back, so one saved to a file can be compared later.
//
// An engine's identity is its configured Name together with its Endpoint:
// engines cloned from one machine image report the same docker info ID.
// An engine that did not answer is listed with its Error and none of its
// Items; [Snapshot.Down] returns one [*EngineError] per such engine, and
// [Snapshot.AllDown] an error only when none answered. [AsResolver] turns
// an Inventory into a Resolver.
//
// [Diff] compares two Snapshots item by item, keyed by [Target.Key], and
// returns the [Changes]: Items added, removed, and changed with the
// [FieldChange]s that differ. It ignores the status text's age ("Up 5
// minutes" becoming "Up 6 minutes" is the clock), and never reports as
// removed the Items of an engine that is down in the newer Snapshot: an
// engine that cannot be asked says nothing about what runs on it, so they
// are counted in Changes.Unknown. [DiffOptions] compares the status always
// or ignores further fields.
//
// # Repositories
//
// A [Repository] holds [Node]s (a Docker host or a container, with the
// properties of a Hinemos node: facility ID and name, the managed flag,
// platform, addresses, host and node name, node variables), [Scope]s (a
// tree through Parent) and the assignment of nodes to scopes. Facility IDs
// are unique across nodes and scopes and follow the Hinemos rules
// ([ValidFacilityID]). Every method is idempotent and safe for concurrent
// use, and reports the caller's mistakes as [ErrNotFound], [ErrConflict]
// or [ErrInvalid]. [ScopeNodes] returns the nodes of a scope and of every
// scope below it.
//
// A repository that can apply many changes at once is a [Batcher]: [Batch]
// runs a function in one batch (one transaction for a persistent one, all
// or nothing) when the repository offers it, and call by call otherwise.
// A sync of hundreds of containers goes through it.
//
// [MemRepository] is the reference implementation, in memory, for tests
// and for programs that keep no repository between runs. [Export] reads a
// whole repository as a [RepositoryExport] (in one batch, so one
// consistent state), which [WriteJSON] writes as one JSON document (nodes
// with their scopes, scopes with their members) and [WriteCSV] as one row
// per node, with cells a spreadsheet would run as formulas guarded.
//
// # Implementations
//
//   - inventory/docker: one Docker engine (Engine) or a Fleet of named
//     engines asked concurrently, each within its timeout, an engine that
//     is down reported while the others answer; an Inventory and a
//     Resolver.
//   - inventory/hinemos: the Hinemos Docker kit's repository scripts
//     (RepositoryDockerNodeAdd, Delete and Update) over any Repository, with
//     their log lines, and the Resolver that applies Selector.Scopes.
//   - inventory/boltrepo: minato's embedded Repository, one file shared by
//     the agent and the command line.
//   - inventory/hinemos/rest: a Hinemos 7 manager's repository over its
//     REST API.
//   - inventory/repotest: the conformance suite for any Repository.
//
// # Usage
//
//	sel := inventory.Selector{Kind: inventory.KindContainer, Names: []string{"web*"}}
//	if err := sel.Validate(); err != nil {
//		return err // names the conflicting or malformed pattern
//	}
//	targets, err := resolver.Resolve(ctx, sel)
//
// Comparing the estate with a saved snapshot:
//
//	var old inventory.Snapshot
//	if err := json.Unmarshal(saved, &old); err != nil {
//		return err
//	}
//	now, err := inv.Snapshot(ctx, inventory.Selector{Kind: inventory.KindContainer})
//	if err != nil {
//		return err // an invalid selector, or nothing could be asked
//	}
//	for _, it := range inventory.Diff(old, now).Removed {
//		fmt.Println("gone:", it.Target)
//	}
package inventory
