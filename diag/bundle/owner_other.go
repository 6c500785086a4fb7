//go:build !unix

package bundle

import "io/fs"

// owner is unknown off Unix.
func owner(fs.FileInfo) (uid, gid string) { return "?", "?" }
