// Package boltstore is the persistent [scheduler.Store]: runs and scheduler
// values in one bbolt (go.etcd.io/bbolt) file, by default
// $XDG_STATE_HOME/minato/jobs.db ([DefaultPath]).
//
// # Why bbolt
//
// bbolt is a pure Go B+tree key/value store: no cgo, one file, ACID
// transactions whose commit fsyncs the file before it returns, and an
// exclusive file lock (flock) taken when the file is opened, so two agents
// can never share, and corrupt, one store. It is maintained by the etcd
// project and is etcd's storage engine; containerd and diun keep their
// state in it. SQLite would need cgo (mattn/go-sqlite3) or a large pure-Go
// port (modernc.org/sqlite) for what is a few keyed records; BadgerDB is an
// LSM tree with background compaction goroutines and a directory of files,
// tuned for write volumes a job scheduler does not have.
//
// # Layout and durability
//
// The file has three buckets: "runs", keyed by run ID, each value the JSON
// encoding of a [scheduler.RunRecord]; "values", the scheduler's values by
// key; and "meta", the format marker: "format" is "minato-jobs" and
// "version" is "1". A new store is created whole under a temporary name
// and linked into place, so a crash never leaves an empty store file.
// Stores written by earlier versions of minato ("runs" and "values"
// without the marker) are accepted and marked. Every write (PutRun, CreateRun, DeleteRuns, PutValue) is one bbolt
// read-write transaction, committed with an fsync: when it returns nil the
// data is on disk, as scheduler.Store requires, and a crash (or a power loss)
// leaves either the old state or the new one. CreateRun's check and put
// happen in one transaction, so it is atomic across goroutines. bbolt
// serialises writers: each write waits for the previous one's fsync, a few
// milliseconds on an SSD, which suits a scheduler that writes on every
// unit state change but not a bulk loader. Options.NoSync skips the fsync;
// it is for benchmarks only.
//
// Reads (GetRun, ListRuns, GetValue) are read-only transactions that run
// concurrently with each other and with a writer. There is no index but
// the run ID: ListRuns and DeleteRuns read and decode every run, whatever
// the filter, so their cost is linear in the runs kept (about 40 ms for
// 1,000 runs of five units with 1 KiB of output each, nearly all of it
// JSON decoding); retention (DeleteRuns) bounds it. Deleted runs' pages are
// reused, but the file does not shrink. bbolt transactions cannot be
// interrupted, so the store checks ctx before each call starts one.
//
// # Damaged files: failing loudly
//
// [Open] never reinitialises a file it did not create. Before bbolt reads
// the file, Open checks its pages (both header pages, the data end against
// the file size, the freelist, and every page of every tree: in range, of
// the right kind, elements inside their page, keys in order, no page
// reached twice), then reads every key through bbolt; so damage is found at
// start, not in the middle of a run. It refuses an empty (0-byte) file, a
// file that is not a bbolt database, and a truncated or damaged one with
// an error wrapping [ErrCorrupt]; a sound bbolt database of another
// program (no minato marker, no minato buckets), or an empty one, with an
// error wrapping [ErrNotStore]; and a store of another format version.
// Each error names the file, says what is wrong and what to do: nothing
// was changed in the file; move it aside (or restore it from a backup)
// and start again, or point the job store elsewhere (the agent's
// jobs.store).
//
// A file damaged while the store is open (a failing disk) makes bbolt
// panic on the damaged page, or iterate out of order: every call recovers
// that and returns an error wrapping ErrCorrupt, and from then on the
// store refuses every write with ErrCorrupt, so that nothing more is
// written over the damage; reads go on where they can. [Store.Close]
// releases the file lock whatever happened, so a restored file can be
// opened at once. Reads of a file truncated under an open store fault;
// the store turns those faults into errors too. One kind of damage is
// beyond it while the store is open: pages rewritten into a loop that a
// lookup of one run descends for ever (that takes a hostile writer, not a
// failing disk); Open's page check finds it at the next start.
//
// # Locking
//
// [Open] takes bbolt's exclusive lock on the file. A second Open of the
// same file, from this process or another, waits up to
// Options.LockTimeout and then fails with an error that names the path and
// says another minato agent holds the store. The lock is released by
// [Store.Close], or by the kernel when the process exits.
//
// # Usage
//
//	path, err := boltstore.DefaultPath()
//	st, err := boltstore.Open(path, boltstore.Options{})
//	if errors.Is(err, boltstore.ErrCorrupt) || errors.Is(err, boltstore.ErrNotStore) {
//		// the error says which file and what to do: tell the operator
//	}
//	defer st.Close()
//	// hand st to the job scheduler as its scheduler.Store
package boltstore
