// Package boltrepo is minato's embedded [inventory.Repository]: nodes,
// scopes and assignments in one bbolt (go.etcd.io/bbolt) file beside
// minato's other state, by default $XDG_STATE_HOME/minato/inventory.db
// ([DefaultPath]).
//
// # Shared between processes
//
// The CLI (minato inventory sync) and a running agent use the file in
// turn, so a [Repo] never holds it open. [Open] checks (or creates) the
// file once; then every call opens the file, takes its lock (bbolt's
// flock: shared for reads, exclusive for changes), runs one bbolt
// transaction and closes the file. A call that finds the lock held waits
// up to Options.LockTimeout (5 s by default) and then fails with an error
// wrapping [ErrLocked] that names the file and says another process holds
// it. Within one process, the calls of one Repo are ordered before they
// take the file lock: reads together, each change alone, and a waiting
// change ahead of later reads, so a stream of reads cannot starve a sync.
// Between processes the file lock grants no such order.
//
// Every change commits with bbolt's two fsyncs (the data pages, then the
// header page) before its call returns nil; a crash, or a power loss,
// leaves the file as it was before the call or after it. A call that
// changes nothing (putting a node identical to the stored one, deleting
// an absent one, assigning a node already assigned) commits nothing. A
// sync of hundreds of containers uses [Repo.Batch] (through
// [inventory.Batch]): one transaction, one commit, and all or nothing.
// [Repo.Stats] counts the opens, commits and fsyncs.
//
// Opening the file for each call costs a few system calls and a memory
// map of the file: a read call takes about 0.05 ms, whatever the
// repository's size. A change costs its fsyncs besides, from a tenth of a
// millisecond to several milliseconds each, depending on the disk. When
// the file changed since the Repo last read or wrote it (another process
// wrote it), the call first checks its pages (below): under a millisecond
// for 500 containers, a few for 5,000.
//
// # Layout
//
// The file has five buckets. "nodes" and "scopes" map a facility ID to
// the JSON encoding of its [inventory.Node] or [inventory.Scope]; an
// assignment is recorded both ways, as "<scope>\x00<node>" in "members"
// and "<node>\x00<scope>" in "memberof", so that a scope's members and a
// node's scopes are each one prefix scan, already sorted. "meta" holds the
// format marker: "format" is "minato-inventory" and "version" is "1".
//
// # Damaged files: failing loudly
//
// Before bbolt reads the file, its pages are checked (the header pages,
// the data's end against the file size, the freelist, and every page of
// every tree: in range, of the right kind, elements inside their page,
// keys in order, no page reached twice), since bbolt panics, faults,
// loops or recurses without end on some damaged files: at Open, and at
// every call that finds the file changed since the Repo last checked or
// wrote it (on Linux, its size, inode and change time tell; elsewhere
// every call checks). A panic or a fault of bbolt all the same is caught,
// and iterations stop at keys out of order. [Open] also decodes every
// record and checks that every assignment is recorded both ways between a
// node and a scope that exist; later calls decode the records they read.
// Nothing is ever reinitialised or repaired.
//
// An empty (0-byte) file, a file that is not a bbolt database, a
// truncated or damaged one, and records that do not decode are refused
// with errors wrapping [ErrCorrupt]; a sound bbolt database that is not a
// repository (another program's, minato's job store, an empty one) with
// [ErrNotStore]; a repository of another format version with its own
// error. Each error names the file, says what is wrong and what to do:
// nothing was changed in it; move it aside (or restore it from a backup)
// and sync the inventory again, or give minato another repository file. A
// file removed since Open is not created again behind the caller's back:
// calls fail, saying so.
//
// # Usage
//
//	path, err := boltrepo.DefaultPath()
//	repo, err := boltrepo.Open(path, boltrepo.Options{})
//	if errors.Is(err, boltrepo.ErrCorrupt) || errors.Is(err, boltrepo.ErrNotStore) {
//		// the error says which file and what to do: tell the operator
//	}
//	err = inventory.Batch(ctx, repo, func(tx inventory.Repository) error {
//		// PutNode, Assign, ... for every container: one commit
//		return nil
//	})
package boltrepo
