package jobtest

import (
	"context"

	"github.com/minato-ops/minato/job"
)

// RunNetwork starts n with an Observer (nil for none) and waits for its
// final report, as a foreground run does. The error is Start's: the network
// is invalid and nothing ran; the report then holds only the name.
func RunNetwork(ctx context.Context, n *job.Network, obs job.Observer) (job.NetworkReport, error) {
	e, err := n.Start(ctx, job.StartOptions{Observer: obs})
	if err != nil {
		rep := job.NetworkReport{}
		if n != nil {
			rep.Name = n.Name
		}
		return rep, err
	}
	return e.Wait(), nil
}
