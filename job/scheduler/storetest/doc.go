// Package storetest is the conformance suite for [scheduler.Store]
// implementations: [TestStore] checks, on fresh stores, everything the
// interface promises that a test can observe.
//
// It covers the round trip of every [scheduler.RunRecord] field (times compared
// with time.Equal, since a persistent store drops the monotonic clock and
// may change the location), [job.ErrNotFound] for missing runs, CreateRun's
// create-once semantics and its atomicity under concurrent callers,
// ListRuns' order (newest Created first, then ID descending) and its
// Network, Unfinished and Limit filters, DeleteRun, DeleteRuns' cutoff (finished runs
// only), the values (missing key, round trip, nil deletes), that stores
// return and keep copies, that methods fail after Close, and concurrent use
// (run the suite with -race).
//
// [TestDamaged] checks that a persistent store fails loudly once its
// storage is damaged beneath it: the store's test gives it a function
// that damages the storage (random bytes over a file's pages), and the
// suite checks that reads return errors (never a panic, never a partial
// list), that every later write is refused, and that Close still returns.
//
// What it cannot observe it does not check: that a persistent store's
// writes reach stable storage before they return needs a crash test of the
// implementation's own, and that Close released a damaged file needs the
// file opened again (see job/boltstore for both).
//
// # Usage
//
// In the store package's tests, give TestStore a function that opens a
// fresh, empty store; the suite closes every store it opens:
//
//	func TestConformance(t *testing.T) {
//		storetest.TestStore(t, func(t *testing.T) scheduler.Store {
//			st, err := mystore.Open(filepath.Join(t.TempDir(), "jobs.db"))
//			if err != nil {
//				t.Fatal(err)
//			}
//			return st
//		})
//	}
package storetest
