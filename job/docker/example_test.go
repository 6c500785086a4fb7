package docker_test

import (
	"archive/tar"
	"context"
	"fmt"
	"os"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/job"
	jobdocker "github.com/minato-ops/minato/job/docker"
)

// Restart every container whose name starts with "web", five seconds of
// grace each, at most four at a time, and exit with seed 002's code.
func ExampleRestart() {
	ctx := context.Background()
	eng, err := container.New(container.ConfigFromEnv(nil))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer eng.Close()
	targets, err := eng.Resolve(ctx, inventory.Selector{Names: []string{"web*"}})
	if err != nil {
		os.Exit(job.Failed(err).ExitCode())
	}
	grace := 5 * time.Second
	rep := job.Run(ctx, jobdocker.Restart(eng, jobdocker.StopOptions{Grace: &grace}), targets, job.RunOptions{Concurrency: 4})
	for _, r := range rep.Results {
		fmt.Println(r.Target.ShortID(), r.Target.Name, r.Verdict())
	}
}

func ExampleArchiveName() {
	fmt.Println(jobdocker.ArchiveName("/web-1", "/root/"))
	fmt.Println(jobdocker.ArchiveName("web-1", "/etc/nginx/nginx.conf"))
	// Output:
	// web-1_root.tar
	// web-1_etc_nginx_nginx.conf.tar
}

func ExampleFormatEntry() {
	h := &tar.Header{Typeflag: tar.TypeReg, Name: "root/.bashrc", Mode: 0o644, Size: 570,
		ModTime: time.Date(2010, 1, 31, 11, 52, 26, 0, time.UTC)}
	fmt.Println(jobdocker.FormatEntry(h, time.UTC))
	// Output: -rw-r--r-- 0/0 570 2010-01-31 11:52:26 root/.bashrc
}
