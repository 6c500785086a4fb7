package boltstore_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/boltstore"
	"github.com/minato-ops/minato/job/scheduler"
)

// A run written before the store is closed is there when it is opened
// again, as after an agent restart; meanwhile nobody else can open it.
func ExampleOpen() {
	dir, _ := os.MkdirTemp("", "boltstore")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "minato", "jobs.db") // boltstore.DefaultPath() in an agent
	ctx := context.Background()

	st, err := boltstore.Open(path, boltstore.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	created, _ := st.CreateRun(ctx, scheduler.RunRecord{
		ID: "backup@2025-03-14T01:00:00Z", Network: "backup", Trigger: scheduler.TriggerSchedule,
		Created: time.Date(2025, 3, 14, 1, 0, 0, 0, time.UTC),
		Report:  job.NetworkReport{Name: "backup", State: job.Running},
	})
	fmt.Println("created:", created)
	if _, err := boltstore.Open(path, boltstore.Options{LockTimeout: 100 * time.Millisecond}); err != nil {
		fmt.Println("second open fails")
	}
	_ = st.Close()

	st, _ = boltstore.Open(path, boltstore.Options{})
	defer st.Close()
	runs, _ := st.ListRuns(ctx, scheduler.RunFilter{Unfinished: true})
	for _, r := range runs {
		fmt.Println("resume", r.ID, r.Report.State)
	}
	// Output:
	// created: true
	// second open fails
	// resume backup@2025-03-14T01:00:00Z running
}

// A store file that was truncated to nothing is refused, never silently
// opened as an empty store: the error names the file and says what to do,
// and the file is left as it was.
func ExampleOpen_damaged() {
	dir, _ := os.MkdirTemp("", "boltstore")
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "jobs.db")
	_ = os.WriteFile(path, nil, 0o600) // the history, lost to a truncation

	_, err := boltstore.Open(path, boltstore.Options{})
	fmt.Println("damaged:", errors.Is(err, boltstore.ErrCorrupt))
	fmt.Println(strings.ReplaceAll(err.Error(), dir, "/var/lib/minato"))
	fi, _ := os.Stat(path)
	fmt.Println("size after:", fi.Size())
	// Output:
	// damaged: true
	// boltstore: store file damaged: /var/lib/minato/jobs.db: the file is empty (0 bytes): it was truncated, or it is not a job store; nothing was changed in it; move the file aside (or restore it from a backup) and start again, or point the job store elsewhere (the agent's jobs.store)
	// size after: 0
}
