package jobtest

import (
	"context"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
)

// Sleeper is a [job.Action] that writes "working\n" to the unit's output,
// then takes D (or until ctx ends, then exit 143 with ctx's cause as the
// error) and exits with Code. It counts its calls; safe for concurrent use.
type Sleeper struct {
	D     time.Duration
	Code  int
	Calls atomic.Int32
}

// Do implements [job.Action].
func (s *Sleeper) Do(ctx context.Context, _ inventory.Target) (job.Outcome, error) {
	s.Calls.Add(1)
	_, _ = io.WriteString(job.Output(ctx), "working\n")
	select {
	case <-time.After(s.D):
		return job.Outcome{ExitCode: s.Code}, nil
	case <-ctx.Done():
		return job.Outcome{ExitCode: 143}, context.Cause(ctx)
	}
}

// Work is where Adopters keep their running work, shared between the
// Adopters of a "process" and those of the one that resumes it, as a
// container outlives the process that started it. NewWork makes one.
type Work struct {
	mu   sync.Mutex
	ends map[string]time.Time // when each key's work ends
}

// NewWork returns an empty Work.
func NewWork() *Work { return &Work{ends: map[string]time.Time{}} }

// Running reports whether key's work is under way.
func (w *Work) Running(key string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.ends[key]
	return ok
}

// Adopter is a [job.Adopter] whose work, kept in Work under Key, lasts D
// and exits with Code. Do starts it, Adopt waits for one already under
// way, Release forgets it. Both write "output of <Key>" to the unit's
// output unless Quiet. When ctx ends by detachment (see job.Detached)
// the work goes on; otherwise it is ended with exit 143. It counts its
// calls; safe for concurrent use.
type Adopter struct {
	Work                  *Work
	Key                   string
	D                     time.Duration
	Code                  int
	Quiet                 bool
	Dos, Adopts, Releases atomic.Int32
}

func (f *Adopter) wait(ctx context.Context, end time.Time) (job.Outcome, error) {
	if !f.Quiet {
		_, _ = io.WriteString(job.Output(ctx), "output of "+f.Key+"\n")
	}
	select {
	case <-time.After(time.Until(end)):
		return job.Outcome{ExitCode: f.Code}, nil
	case <-ctx.Done():
		if job.Detached(ctx) {
			return job.Outcome{}, context.Cause(ctx)
		}
		f.Work.mu.Lock()
		delete(f.Work.ends, f.Key)
		f.Work.mu.Unlock()
		return job.Outcome{ExitCode: 143}, context.Cause(ctx)
	}
}

// Do implements [job.Action].
func (f *Adopter) Do(ctx context.Context, _ inventory.Target) (job.Outcome, error) {
	f.Dos.Add(1)
	end := time.Now().Add(f.D)
	f.Work.mu.Lock()
	f.Work.ends[f.Key] = end
	f.Work.mu.Unlock()
	return f.wait(ctx, end)
}

// Adopt implements [job.Adopter].
func (f *Adopter) Adopt(ctx context.Context, _ inventory.Target) (job.Outcome, bool, error) {
	f.Adopts.Add(1)
	f.Work.mu.Lock()
	end, ok := f.Work.ends[f.Key]
	f.Work.mu.Unlock()
	if !ok {
		return job.Outcome{}, false, nil
	}
	out, err := f.wait(ctx, end)
	return out, true, err
}

// Release implements [job.Adopter].
func (f *Adopter) Release(context.Context, inventory.Target) error {
	f.Releases.Add(1)
	f.Work.mu.Lock()
	delete(f.Work.ends, f.Key)
	f.Work.mu.Unlock()
	return nil
}
