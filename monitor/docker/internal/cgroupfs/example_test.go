package cgroupfs_test

import (
	"fmt"

	"github.com/minato-ops/minato/monitor/docker/internal/cgroupfs"
)

// Read one container of a cgroup v2 fixture tree, locating its cgroup
// through its process's /proc/<pid>/cgroup. On a real host the roots are
// "/sys/fs/cgroup" and "/proc", and the driver and version come from the
// engine's Info.
func Example() {
	r, err := cgroupfs.New("testdata/v2/sys/fs/cgroup", "testdata/v2/proc", "systemd", "")
	if err != nil {
		fmt.Println(err)
		return
	}
	s, err := r.Stats("d00dfeedd00dfeedd00dfeedd00dfeedd00dfeedd00dfeedd00dfeedd00dfeed", 5151)
	if err != nil {
		fmt.Println(err)
		return
	}
	used := s.Memory.Usage - s.Memory.Stats["inactive_file"]
	fmt.Println("cgroup version:", r.Version())
	fmt.Printf("cpu: %d ns (user %d, kernel %d), %d online CPUs\n", s.CPU.TotalUsage, s.CPU.User, s.CPU.Kernel, s.CPU.OnlineCPUs)
	fmt.Printf("memory: %d MiB used of %d MiB\n", used>>20, s.Memory.Limit>>20)
	fmt.Printf("pids: %d of %d\n", s.PIDs.Current, s.PIDs.Limit)
	fmt.Printf("eth0: rx %d B, tx %d B\n", s.Networks["eth0"].RxBytes, s.Networks["eth0"].TxBytes)

	_, err = r.Stats("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", 0)
	fmt.Println(err != nil)
	// Output:
	// cgroup version: 2
	// cpu: 2500000000 ns (user 2000000000, kernel 500000000), 2 online CPUs
	// memory: 67 MiB used of 128 MiB
	// pids: 4 of 512
	// eth0: rx 1234567 B, tx 65432 B
	// true
}
