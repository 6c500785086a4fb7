package container

import (
	"context"
	"io"
	"os"
	"time"
)

// PathStat describes the file or directory a copy starts from.
type PathStat struct {
	// Name is the base name of the path in the container.
	Name string `json:"name"`
	// Size is the file size in bytes (for a directory, the engine's
	// directory size, not the archive size).
	Size int64 `json:"size"`
	// Mode holds the permission and type bits.
	Mode os.FileMode `json:"mode"`
	// Mtime is the modification time.
	Mtime time.Time `json:"mtime"`
	// LinkTarget is set when the path is a symbolic link.
	LinkTarget string `json:"link_target,omitempty"`
}

// CopyFromOptions tunes [Client.CopyFrom]. It has no fields yet.
type CopyFromOptions struct{}

// CopyFromResult carries the archive stream of [Client.CopyFrom].
type CopyFromResult struct {
	// Archive is an uncompressed tar stream of the path, with member
	// names relative to the path's parent ("root/.bashrc" for /root) and
	// the owners, modes and times the container has. The caller must
	// close it.
	Archive io.ReadCloser
	// Stat describes the path itself.
	Stat PathStat
}

// CopyFrom streams a file or directory out of a container (running or
// not) as a tar archive. The stream is bounded only by ctx: it may be large.
// A missing path or container gives an error for which [IsNotFound] is true.
func (c *Client) CopyFrom(ctx context.Context, id, path string, _ CopyFromOptions) (CopyFromResult, error) {
	c.ready(ctx)
	rc, st, err := c.api.CopyFromContainer(ctx, id, path)
	if err != nil {
		return CopyFromResult{}, c.wrap("copy "+path+" from", id, err)
	}
	return CopyFromResult{Archive: rc, Stat: PathStat{Name: st.Name, Size: st.Size, Mode: st.Mode, Mtime: st.Mtime, LinkTarget: st.LinkTarget}}, nil
}
