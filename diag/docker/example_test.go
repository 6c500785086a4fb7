package docker_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/container/enginetest"
	"github.com/minato-ops/minato/diag"
	"github.com/minato-ops/minato/diag/docker"
)

// Check an engine and its containers. The engine here is a fake one
// serving the fixtures in testdata/broken: a devicemapper loop-lvm engine
// whose web container has no restart policy or memory limit, a nightly
// job that was OOM-killed, and a new web container created on the port the
// running one holds.
func Example() {
	srv, err := enginetest.Start("testdata/broken", enginetest.WithHandler("GET", "/system/df", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"Images": [], "Volumes": []}`)
	}))
	if err != nil {
		log.Fatal(err)
	}
	defer srv.Close()
	c, err := container.New(container.Config{Host: srv.URL})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	checks := docker.Checks(c, docker.Options{
		Engine: "node1",
		Now:    func() time.Time { return time.Date(2026, 5, 7, 12, 0, 0, 0, time.UTC) },
	})
	rep := diag.Run(context.Background(), checks, diag.RunOptions{})
	for _, f := range rep.Findings() {
		fmt.Printf("%-8s %-28s %-21s %s\n", f.Severity, f.Code, f.Subject, f.Title)
	}
	fmt.Println("errors:", len(rep.Errors()), "exit code:", rep.ExitCode())
	// Output:
	// critical container.oom_killed         container nightly-job Killed by the kernel's OOM killer
	// warning  D04                          container web-next    Claims host port 8080/tcp, which web also claims
	// warning  container.no_memory_limit    container web         No memory limit
	// warning  container.no_restart_policy  container web         No restart policy
	// warning  engine.storage_driver        engine node1          Storage driver devicemapper in loop-lvm mode: for testing only
	// warning  engine.warning               engine node1          Engine warning: bridge-nf-call-iptables is disabled
	// info     engine.dns_not_checked       engine node1          DNS inside containers not checked: no probe image given
	// errors: 0 exit code: 2
}
