package host_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/minato-ops/minato/diag"
	"github.com/minato-ops/minato/diag/host"
)

// The D29 rule on its own, as an explanation of "device or resource busy"
// uses it.
func ExampleKernelTooOld() {
	for _, k := range [][2]string{
		{"Ubuntu 14.04.5 LTS", "3.13.0-24-generic"},
		{"CentOS Linux 7 (Core)", "3.10.0-514.el7"},
		{"CentOS Linux 7 (Core)", "3.10.0-693.el7"},
	} {
		old, fix := host.KernelTooOld(k[0], k[1])
		fmt.Printf("%s / %s: too old %v %s\n", k[0], k[1], old, fix)
	}
	// Output:
	// Ubuntu 14.04.5 LTS / 3.13.0-24-generic: too old true apt-get update && apt-get install -y linux-generic-lts-xenial
	// CentOS Linux 7 (Core) / 3.10.0-514.el7: too old true yum update -y kernel
	// CentOS Linux 7 (Core) / 3.10.0-693.el7: too old false
}

// Check a host behind a layer-4 load balancer. Root points at a copy of
// the host's /proc here; on the host itself leave it empty.
func ExampleChecks() {
	root, err := os.MkdirTemp("", "host")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(root)
	for file, value := range map[string]string{
		"proc/sys/kernel/hostname":                    "node1",
		"proc/sys/net/ipv4/conf/default/rp_filter":    "0",
		"proc/sys/net/ipv4/conf/all/rp_filter":        "0",
		"proc/sys/net/ipv4/conf/eth0/rp_filter":       "1",
		"proc/sys/net/ipv4/conf/default/arp_announce": "2",
		"proc/sys/net/ipv4/conf/all/arp_announce":     "2",
	} {
		p := filepath.Join(root, file)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			log.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(value+"\n"), 0o644); err != nil {
			log.Fatal(err)
		}
	}
	var checks []diag.Check
	for _, c := range host.Checks(host.Options{Root: root, LoadBalanced: true}) {
		if id := c.Info().ID; id == host.CheckRPFilter || id == host.CheckARPAnnounce {
			checks = append(checks, c)
		}
	}
	rep := diag.Run(context.Background(), checks, diag.RunOptions{})
	for _, f := range rep.Findings() {
		fmt.Println(f.Severity, f.Code, f.Subject, "-", f.Title)
		fmt.Println("seen:", f.Evidence)
		fmt.Println("do:", f.Remedy)
	}
	fmt.Println("exit code", rep.ExitCode())
	// Output:
	// warning D10 host node1 - Reverse-path filtering is on: a layer-4 load balancer may not reach this host
	// seen: [net.ipv4.conf.eth0.rp_filter = 1]
	// do: Put these lines in /etc/sysctl.conf and apply them with `sysctl -p`: net.ipv4.conf.default.rp_filter = 0; net.ipv4.conf.all.rp_filter = 0; net.ipv4.conf.eth0.rp_filter = 0
	// exit code 1
}
