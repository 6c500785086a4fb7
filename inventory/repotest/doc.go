// Package repotest is the conformance suite for [inventory.Repository]
// implementations: [Run] checks, on fresh repositories, everything the
// Repository contract promises that a test can observe, each sentence of
// it in a subtest of its own.
//
// It covers the round trip of every field of [inventory.Node] and
// [inventory.Scope] (text that is not ASCII, empty variable values, zero
// values kept zero); that PutNode and PutScope replace every property and
// keep assignments; that Nodes, Scopes and Members are sorted by facility
// ID (byte order); that every call is idempotent (a second identical call
// succeeds and changes nothing); the errors, wrapping
// [inventory.ErrNotFound], [inventory.ErrConflict] and
// [inventory.ErrInvalid] and naming the facility ID, with nothing changed
// by a call that failed; that a node and a scope never share a facility
// ID; that scope cycles are refused; that Assign is all or nothing; that
// DeleteNode removes the node's assignments and DeleteScope refuses a
// scope with child scopes; [inventory.ScopeNodes] over nested scopes;
// that slices and maps passed in or returned stay the caller's; commit,
// rollback and failed calls inside a batch when the repository is an
// [inventory.Batcher]; and concurrent calls and batches from several
// goroutines (run the suite with -race).
//
// Where the contract leaves a choice, the suite accepts either answer: a
// lookup of a malformed facility ID may fail with ErrInvalid or
// ErrNotFound, a deletion of one may succeed or fail with ErrInvalid.
//
// What it cannot observe it does not check: that a change is durable
// when its call returns (a persistent repository tests that by opening
// its storage again; see inventory/boltrepo), and how it behaves when its
// storage is damaged.
//
// # Usage
//
// In the repository package's tests, give Run a function that opens a
// fresh, empty repository; the suite closes it (when it is an io.Closer)
// at the end of each subtest:
//
//	func TestConformance(t *testing.T) {
//		repotest.Run(t, func(t *testing.T) inventory.Repository {
//			r, err := myrepo.Open(filepath.Join(t.TempDir(), "inventory.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			return r
//		})
//	}
package repotest
