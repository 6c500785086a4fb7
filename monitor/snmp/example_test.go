package snmp_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/snmp"
)

// Poll a Docker host's memory and CPU the way the Hinemos Docker monitoring
// scripts' --with-host does, over SNMPv3 authPriv.
func Example() {
	cfg := snmp.DefaultConfig() // v1, "public", port 161, as in the Hinemos scripts
	cfg.Address = "docker-host1.example.net"
	cfg.Version = "3"
	cfg.V3 = &snmp.V3Config{
		User:           "minato",
		SecurityLevel:  snmp.AuthPriv,
		AuthProtocol:   "SHA256",
		AuthPassphrase: "auth passphrase from a secret store",
		PrivProtocol:   "AES",
		PrivPassphrase: "priv passphrase from a secret store",
	}
	c, err := snmp.New(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	mem, err := c.HostMemory(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("host memory used: %d of %d bytes\n", mem.UsedBytes(), mem.TotalBytes())

	prev, err := c.HostCPU(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	time.Sleep(5 * time.Second) // net-snmp refreshes the counters every 5 s
	cur, err := c.HostCPU(ctx)
	if err != nil {
		fmt.Println(err)
		return
	}
	pct, err := snmp.CPUPercent(prev, cur)
	if errors.Is(err, monitor.ErrNoBaseline) {
		fmt.Println("no baseline yet; try again at the next interval")
		return
	}
	fmt.Printf("host CPU: %.2f%%\n", pct)
}

// CPUPercent turns two samples of the raw tick counters into a percentage
// of all CPUs. Here 400 ticks passed (4 CPUs for 1 s at 100 Hz) and 100 of
// them were busy; I/O wait counts as idle.
func ExampleCPUPercent() {
	prev := snmp.CPU{User: 1000, Nice: 0, System: 500, Idle: 8000, Wait: 100, HasWait: true, Counter32: true}
	cur := snmp.CPU{User: 1070, Nice: 0, System: 530, Idle: 8290, Wait: 110, HasWait: true, Counter32: true}
	pct, err := snmp.CPUPercent(prev, cur)
	fmt.Printf("%.1f%% %v\n", pct, err)

	_, err = snmp.CPUPercent(snmp.CPU{}, cur)
	fmt.Println(errors.Is(err, monitor.ErrNoBaseline))
	// Output:
	// 25.0% <nil>
	// true
}

// UsedBytes subtracts free memory, buffers and page cache from the total.
func ExampleMemory_UsedBytes() {
	m := snmp.Memory{TotalKB: 3524852, AvailKB: 1000000, BufferKB: 200000, CachedKB: 800000, HasBuffer: true, HasCached: true}
	fmt.Println(m.TotalBytes(), m.UsedBytes())
	// Output:
	// 3609448448 1561448448
}

// The host's memory use outside its containers, as a monitor. The
// containers' side is any ContainerUsage; here a fixed 512 MiB of rss
// stands in for a Docker resources monitor.
func ExampleNewHostRemainder() {
	cfg := snmp.DefaultConfig()
	cfg.Address = "docker-host1.example.net"
	c, err := snmp.New(cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	containers := snmp.ContainerUsageFunc(func(context.Context) ([]monitor.Sample, error) {
		return []monitor.Sample{{Name: "memory_rss_bytes", Value: 512 << 20, Unit: monitor.Bytes}}, nil
	})
	m, err := snmp.NewHostRemainder(snmp.DefaultRemainderConfig(), c, nil, containers)
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := m.Check(ctx, inventory.Target{Kind: inventory.KindHost, ID: "tcp://docker-host1.example.net:2376", Name: "host"})
	if err != nil {
		fmt.Println(err)
		return
	}
	s, _ := res.Sample("memory_host_percent", nil)
	fmt.Printf("host memory outside containers: %.2f%%\n", s.Value)
}

// The formulas on their own: a 4 GiB host using 2 GiB, of which 1 GiB is
// the containers' rss; a host 40 % busy over 4 CPUs, with one container
// using one full core.
func ExampleMemoryRemainder() {
	m := snmp.Memory{TotalKB: 4 << 20, AvailKB: 1 << 20, BufferKB: 256 << 10, CachedKB: 768 << 10, HasBuffer: true, HasCached: true}
	pct, err := snmp.MemoryRemainder(m, 1<<30)
	fmt.Println(pct, err)
	fmt.Println(snmp.CPURemainder(40, 100, 4))
	// Output:
	// 25 <nil>
	// 15
}
