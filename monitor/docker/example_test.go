package docker_test

import (
	"fmt"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/monitor/docker"
)

// Seed 002's CPU formula on its own sample of conteiner_B and a second
// sample a minute later.
func ExampleCPUPercent() {
	t0 := time.Date(2015, 9, 5, 21, 59, 8, 0, time.UTC)
	prev := container.Stats{Read: t0, CPU: container.CPUStats{TotalUsage: 19377187586}}
	cur := container.Stats{Read: t0.Add(time.Minute), CPU: container.CPUStats{TotalUsage: 19425187586}}
	pct, _ := docker.CPUPercent(prev, cur)
	fmt.Printf("cpu_usage:conteiner_B,%.2f\n", pct)
	// Output: cpu_usage:conteiner_B,0.08
}

// The working set is usage minus inactive file cache, on cgroup v1 and v2.
func ExampleWorkingSet() {
	v1 := container.MemoryStats{Usage: 14479360, Stats: map[string]uint64{"total_inactive_file": 5312512}}
	fmt.Println(docker.WorkingSet(v1))
	// Output: 9166848
}
