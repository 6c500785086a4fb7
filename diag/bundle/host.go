package bundle

import (
	"fmt"
	"net"
	"os"
	"runtime"
	"strings"
)

// hostFiles are the name resolution files of this machine.
var hostFiles = []string{"/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf"}

// hostSysctls are the kernel settings container networking depends on:
// forwarding (containers reach nothing without it), the reverse path
// filter and ARP announcements (the Container Service FAQ's layer-4 load
// balancer questions) and the bridge netfilter hooks (published ports).
var hostSysctls = []string{
	"net/ipv4/ip_forward",
	"net/ipv4/conf/all/rp_filter",
	"net/ipv4/conf/default/rp_filter",
	"net/ipv4/conf/all/arp_announce",
	"net/ipv4/conf/default/arp_announce",
	"net/bridge/bridge-nf-call-iptables",
	"net/bridge/bridge-nf-call-ip6tables",
}

// remoteNote says whose machine the host sections describe.
func remoteNote(b *strings.Builder, local bool) {
	if !local {
		b.WriteString("# The engine runs on another machine: this section describes the machine minato ran on.\n")
	}
}

// hostNet writes this machine's interfaces, routes, networking sysctls
// and name resolution files.
func hostNet(b *strings.Builder, local bool) {
	section(b, "ip address")
	remoteNote(b, local)
	ifs, err := net.Interfaces()
	if err != nil {
		fmt.Fprintf(b, "not available: %v\n", err)
	}
	for _, ifc := range ifs {
		fmt.Fprintf(b, "%d: %s: <%s> mtu %d", ifc.Index, ifc.Name, strings.ToUpper(strings.ReplaceAll(ifc.Flags.String(), "|", ",")), ifc.MTU)
		if len(ifc.HardwareAddr) > 0 {
			fmt.Fprintf(b, " link %s", ifc.HardwareAddr)
		}
		b.WriteByte('\n')
		addrs, err := ifc.Addrs()
		if err != nil {
			fmt.Fprintf(b, "    addresses not available: %v\n", err)
		}
		for _, a := range addrs {
			fmt.Fprintf(b, "    inet %s\n", a)
		}
	}
	procFile(b, "ip route (/proc/net/route)", "/proc/net/route")
	procFile(b, "ip -6 route (/proc/net/ipv6_route)", "/proc/net/ipv6_route")
	section(b, "sysctl")
	for _, k := range hostSysctls {
		v, err := os.ReadFile("/proc/sys/" + k)
		key := strings.ReplaceAll(k, "/", ".")
		if err != nil {
			fmt.Fprintf(b, "%s: not available (%v)\n", key, errText(err))
			continue
		}
		fmt.Fprintf(b, "%s = %s\n", key, strings.TrimSpace(string(v)))
	}
	for _, f := range hostFiles {
		procFile(b, f, f)
	}
}

// hostSystem writes this machine's OS, kernel, uptime, load, memory and
// the file systems of / and of the Docker data root.
func hostSystem(b *strings.Builder, local bool, dataRoot string) {
	section(b, "runtime")
	remoteNote(b, local)
	fmt.Fprintf(b, "OS/arch:       %s/%s\n", runtime.GOOS, runtime.GOARCH)
	fmt.Fprintf(b, "CPUs:          %d\n", runtime.NumCPU())
	procFile(b, "/etc/os-release", "/etc/os-release")
	procFile(b, "uname -r (/proc/sys/kernel/osrelease)", "/proc/sys/kernel/osrelease")
	procFile(b, "/proc/version", "/proc/version")
	procFile(b, "uptime (/proc/uptime: seconds up, seconds idle)", "/proc/uptime")
	procFile(b, "load average (/proc/loadavg)", "/proc/loadavg")
	procFile(b, "free (/proc/meminfo)", "/proc/meminfo")
	section(b, "df")
	b.WriteString(fsUsage("/") + "\n")
	if dataRoot != "" && local {
		b.WriteString(fsUsage(dataRoot) + "\n")
	}
}

// procFile writes a section holding a small file of this machine.
func procFile(b *strings.Builder, title, path string) {
	section(b, title)
	r := readFile(path, maxCopiedFile)
	if r.err != nil {
		fmt.Fprintf(b, "not available: %v\n", errText(r.err))
		return
	}
	b.Write(r.data)
	if len(r.data) > 0 && r.data[len(r.data)-1] != '\n' {
		b.WriteByte('\n')
	}
}

// errText is err's message without the path os errors repeat.
func errText(err error) string {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}
