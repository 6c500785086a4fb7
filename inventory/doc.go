// Package inventory holds the nouns every other minato package shares: a
// [Target] (one thing minato observes or acts on), a [Selector] (which
// Targets an operation applies to) and a [Resolver] (turns a Selector into
// the Targets that exist now).
//
// The package imports only the standard library, so the monitor, job and ha
// cores can depend on it without pulling in Docker, AWS or SNMP code. The
// Docker-backed resolver lives in a leaf adapter package.
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
//     and, when States is set, the state must be one of them.
//
// # Usage
//
//	sel := inventory.Selector{Kind: inventory.KindContainer, Names: []string{"web*"}}
//	if err := sel.Validate(); err != nil {
//		return err // names the conflicting or malformed pattern
//	}
//	targets, err := resolver.Resolve(ctx, sel)
package inventory
