package container

import (
	"context"
	"strings"
)

// TopOptions tunes [Client.Top].
type TopOptions struct {
	// PSArgs are the ps options the engine runs on its host; empty means
	// the engine default ("-ef").
	PSArgs string
}

// TopResult is the process table of a running container, as ps prints it on
// the engine's host (so PIDs are host PIDs).
type TopResult struct {
	// Titles are the column headings ("UID", "PID", "PPID", "C", "STIME",
	// "TTY", "TIME", "CMD" by default).
	Titles []string `json:"titles"`
	// Processes has one row per process, one cell per title.
	Processes [][]string `json:"processes"`
}

// Column returns the index of the title (case-insensitive), or -1.
func (r TopResult) Column(title string) int {
	for i, t := range r.Titles {
		if strings.EqualFold(t, title) {
			return i
		}
	}
	return -1
}

// Top lists the processes in a running container. A container that is not
// running gives an error for which [IsConflict] is true.
func (c *Client) Top(ctx context.Context, id string, o TopOptions) (TopResult, error) {
	ctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	var args []string
	if o.PSArgs != "" {
		args = []string{o.PSArgs}
	}
	t, err := c.api.ContainerTop(ctx, id, args)
	if err != nil {
		return TopResult{}, c.wrap("top", id, err)
	}
	return TopResult{Titles: t.Titles, Processes: t.Processes}, nil
}
