package host_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/diag"
	"github.com/minato-ops/minato/diag/host"
)

// fakeHost is a directory that mimics a host's /proc, /sys, /etc and /run.
type fakeHost struct {
	t    *testing.T
	root string
}

// newFakeHost returns a healthy host: rp_filter 0, arp_announce 2,
// forwarding on, Ubuntu 22.04 with a current kernel, PID 2 kthreadd and
// chronyd running, /var/lib/docker on its own disk.
func newFakeHost(t *testing.T) *fakeHost {
	h := &fakeHost{t: t, root: t.TempDir()}
	h.write("/proc/sys/kernel/hostname", "node1\n")
	for _, ifc := range []string{"default", "all", "lo", "eth0", "docker0", "veth1a2b3c", "br-0123456789ab"} {
		h.write("/proc/sys/net/ipv4/conf/"+ifc+"/rp_filter", "0\n")
		h.write("/proc/sys/net/ipv4/conf/"+ifc+"/arp_announce", "2\n")
	}
	h.write("/proc/sys/net/ipv4/ip_forward", "1\n")
	h.write("/etc/os-release", "PRETTY_NAME=\"Ubuntu 22.04.4 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"22.04\"\nID=ubuntu\n")
	h.write("/proc/sys/kernel/osrelease", "5.15.0-105-generic\n")
	h.write("/proc/1/comm", "systemd\n")
	h.write("/proc/2/comm", "kthreadd\n")
	h.write("/proc/812/comm", "chronyd\n")
	h.write("/sys/devices/system/clocksource/clocksource0/current_clocksource", "tsc\n")
	require.NoError(t, os.MkdirAll(filepath.Join(h.root, "var/lib/docker"), 0o755))
	h.write("/proc/self/mountinfo", "27 1 254:0 / / rw,relatime - ext4 /dev/vda1 rw\n"+
		"45 27 254:16 / /var/lib/docker rw,relatime shared:1 - ext4 /dev/vdb1 rw\n")
	return h
}

func (h *fakeHost) write(p, content string) {
	h.t.Helper()
	full := filepath.Join(h.root, p)
	require.NoError(h.t, os.MkdirAll(filepath.Dir(full), 0o755))
	require.NoError(h.t, os.WriteFile(full, []byte(content), 0o644))
}

func (h *fakeHost) remove(p string) {
	h.t.Helper()
	require.NoError(h.t, os.RemoveAll(filepath.Join(h.root, p)))
}

// healthyDisk is a 100 GiB file system, 40 % used, 10 % of inodes used.
func healthyDisk(string) (host.FSUsage, error) {
	return host.FSUsage{Used: 40 << 30, Avail: 60 << 30, Size: 100 << 30, Inodes: 1000, InodesFree: 900}, nil
}

func (h *fakeHost) options() host.Options {
	return host.Options{Root: h.root, Statfs: healthyDisk}
}

// run runs the one check with the given ID.
func run(t *testing.T, o host.Options, id string) ([]diag.Finding, error) {
	t.Helper()
	for _, c := range host.Checks(o) {
		if c.Info().ID == id {
			return c.Run(context.Background())
		}
	}
	t.Fatalf("no check %s", id)
	return nil, nil
}

func TestChecksIDs(t *testing.T) {
	var ids []string
	for _, c := range host.Checks(host.Options{}) {
		info := c.Info()
		assert.Equal(t, diag.SubjectHost, info.Subject)
		assert.NotEmpty(t, info.Title)
		ids = append(ids, info.ID)
	}
	assert.Equal(t, []string{host.CheckRPFilter, host.CheckARPAnnounce, host.CheckIPForward, host.CheckDataRoot, host.CheckClock, host.CheckKernel}, ids)
}

func TestHealthyHostHasNoFindings(t *testing.T) {
	h := newFakeHost(t)
	rep := diag.Run(context.Background(), host.Checks(h.options()), diag.RunOptions{})
	assert.Empty(t, rep.Errors())
	assert.Empty(t, rep.Findings())
	assert.Equal(t, 0, rep.ExitCode())
}

func TestRPFilter(t *testing.T) {
	t.Run("eth0 strict, others 0", func(t *testing.T) {
		h := newFakeHost(t)
		h.write("/proc/sys/net/ipv4/conf/eth0/rp_filter", "1\n")
		fs, err := run(t, h.options(), host.CheckRPFilter)
		require.NoError(t, err)
		require.Len(t, fs, 1)
		f := fs[0]
		assert.Equal(t, "D10", f.Code)
		assert.Equal(t, diag.Info, f.Severity, "matters only behind a layer-4 load balancer")
		assert.Equal(t, diag.Subject{Kind: diag.SubjectHost, Name: "node1"}, f.Subject)
		assert.Equal(t, []string{"net.ipv4.conf.eth0.rp_filter = 1"}, f.Evidence)
		for _, line := range []string{"net.ipv4.conf.default.rp_filter = 0", "net.ipv4.conf.all.rp_filter = 0", "net.ipv4.conf.eth0.rp_filter = 0", "sysctl -p", "/etc/sysctl.conf"} {
			assert.Contains(t, f.Remedy, line)
		}
		assert.Contains(t, f.Detail, "layer-4")
	})
	t.Run("load balanced host warns", func(t *testing.T) {
		h := newFakeHost(t)
		h.write("/proc/sys/net/ipv4/conf/all/rp_filter", "2\n")
		h.write("/proc/sys/net/ipv4/conf/default/rp_filter", "1\n")
		o := h.options()
		o.LoadBalanced = true
		fs, err := run(t, o, host.CheckRPFilter)
		require.NoError(t, err)
		require.Len(t, fs, 1)
		assert.Equal(t, diag.Warning, fs[0].Severity)
		assert.Equal(t, []string{"net.ipv4.conf.default.rp_filter = 1", "net.ipv4.conf.all.rp_filter = 2"}, fs[0].Evidence)
	})
	t.Run("docker's interfaces and lo are not judged", func(t *testing.T) {
		h := newFakeHost(t)
		for _, ifc := range []string{"lo", "docker0", "veth1a2b3c", "br-0123456789ab"} {
			h.write("/proc/sys/net/ipv4/conf/"+ifc+"/rp_filter", "1\n")
		}
		fs, err := run(t, h.options(), host.CheckRPFilter)
		require.NoError(t, err)
		assert.Empty(t, fs)
	})
	t.Run("explicit interfaces", func(t *testing.T) {
		h := newFakeHost(t)
		h.write("/proc/sys/net/ipv4/conf/ens5/rp_filter", "1\n")
		o := h.options()
		o.Interfaces = []string{"eth0"}
		fs, err := run(t, o, host.CheckRPFilter)
		require.NoError(t, err)
		assert.Empty(t, fs, "ens5 is not in Interfaces")
		o.Interfaces = []string{"ens5"}
		fs, err = run(t, o, host.CheckRPFilter)
		require.NoError(t, err)
		require.Len(t, fs, 1)
		assert.Contains(t, fs[0].Remedy, "net.ipv4.conf.ens5.rp_filter = 0")
	})
	t.Run("unreadable value is an error naming the file", func(t *testing.T) {
		h := newFakeHost(t)
		h.write("/proc/sys/net/ipv4/conf/eth0/rp_filter", "strict\n")
		_, err := run(t, h.options(), host.CheckRPFilter)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "/proc/sys/net/ipv4/conf/eth0/rp_filter")
		assert.Contains(t, err.Error(), `"strict"`)
		h.remove("/proc/sys/net/ipv4/conf")
		_, err = run(t, h.options(), host.CheckRPFilter)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "cannot read /proc/sys/net/ipv4/conf")
	})
}

func TestARPAnnounce(t *testing.T) {
	h := newFakeHost(t)
	h.write("/proc/sys/net/ipv4/conf/all/arp_announce", "0\n")
	h.write("/proc/sys/net/ipv4/conf/eth0/arp_announce", "0\n") // not judged: the FAQ names default and all
	fs, err := run(t, h.options(), host.CheckARPAnnounce)
	require.NoError(t, err)
	require.Len(t, fs, 1)
	f := fs[0]
	assert.Equal(t, "D11", f.Code)
	assert.Equal(t, diag.Info, f.Severity)
	assert.Equal(t, []string{"net.ipv4.conf.all.arp_announce = 0"}, f.Evidence)
	assert.Contains(t, f.Remedy, "net.ipv4.conf.default.arp_announce = 2")
	assert.Contains(t, f.Remedy, "net.ipv4.conf.all.arp_announce = 2")
	assert.Contains(t, f.Remedy, "sysctl -p")
	assert.Contains(t, f.Title, "same subnet")
}

func TestIPForward(t *testing.T) {
	h := newFakeHost(t)
	h.write("/proc/sys/net/ipv4/ip_forward", "0\n")
	cases := []struct {
		name   string
		engine func(context.Context) (host.EngineFacts, error)
		want   diag.Severity
		ev     string
	}{
		{"engine unknown", nil, diag.Warning, ""},
		{"bridge networks", func(context.Context) (host.EngineFacts, error) {
			return host.EngineFacts{BridgeNetworks: []string{"bridge", "web-net"}}, nil
		}, diag.Critical, "bridge networks: bridge, web-net"},
		{"no bridge network", func(context.Context) (host.EngineFacts, error) { return host.EngineFacts{}, nil }, diag.Info, ""},
		{"engine error", func(context.Context) (host.EngineFacts, error) { return host.EngineFacts{}, errors.New("engine down") }, diag.Warning, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			o := h.options()
			o.Engine = tc.engine
			fs, err := run(t, o, host.CheckIPForward)
			require.NoError(t, err)
			require.Len(t, fs, 1)
			f := fs[0]
			assert.Equal(t, host.CodeIPForward, f.Code)
			assert.Equal(t, tc.want, f.Severity)
			assert.Contains(t, f.Evidence, "net.ipv4.ip_forward = 0")
			if tc.ev != "" {
				assert.Contains(t, f.Evidence, tc.ev)
			}
			assert.Contains(t, f.Remedy, "sysctl -w net.ipv4.ip_forward=1")
		})
	}
	h.write("/proc/sys/net/ipv4/ip_forward", "1\n")
	fs, err := run(t, h.options(), host.CheckIPForward)
	require.NoError(t, err)
	assert.Empty(t, fs)
}

func TestDataRoot(t *testing.T) {
	usage := func(usedPct, inodePct uint64) func(string) (host.FSUsage, error) {
		return func(string) (host.FSUsage, error) {
			return host.FSUsage{Used: usedPct << 30, Avail: (100 - usedPct) << 30, Size: 100 << 30, Inodes: 100, InodesFree: 100 - inodePct}, nil
		}
	}
	cases := []struct {
		name       string
		used, ino  uint64
		severities []diag.Severity
	}{
		{"84 %", 84, 10, nil},
		{"85 % warns", 85, 10, []diag.Severity{diag.Warning}},
		{"94 % warns", 94, 10, []diag.Severity{diag.Warning}},
		{"95 % is critical", 95, 10, []diag.Severity{diag.Critical}},
		{"inodes 90 %", 50, 90, []diag.Severity{diag.Warning}},
		{"both critical", 99, 97, []diag.Severity{diag.Critical, diag.Critical}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newFakeHost(t)
			o := h.options()
			var asked string
			o.Statfs = func(p string) (host.FSUsage, error) { asked = p; return usage(tc.used, tc.ino)(p) }
			fs, err := run(t, o, host.CheckDataRoot)
			require.NoError(t, err)
			assert.Equal(t, filepath.Join(h.root, "var/lib/docker"), asked)
			var got []diag.Severity
			for _, f := range fs {
				assert.Equal(t, "D21", f.Code)
				assert.NotEmpty(t, f.Remedy)
				assert.NotEmpty(t, f.Evidence)
				got = append(got, f.Severity)
			}
			assert.Equal(t, tc.severities, got)
		})
	}
	t.Run("evidence and why", func(t *testing.T) {
		h := newFakeHost(t)
		o := h.options()
		o.Statfs = usage(96, 10)
		fs, err := run(t, o, host.CheckDataRoot)
		require.NoError(t, err)
		require.Len(t, fs, 1)
		assert.Equal(t, []string{"/var/lib/docker: 96.0 % of 100.0 GiB used, 4.0 GiB available"}, fs[0].Evidence)
		assert.Contains(t, fs[0].Detail, "no space left on device")
		assert.Contains(t, fs[0].Remedy, "docker image prune")
	})
	t.Run("engine's data root and thresholds", func(t *testing.T) {
		h := newFakeHost(t)
		require.NoError(t, os.MkdirAll(filepath.Join(h.root, "data/docker"), 0o755))
		o := h.options()
		o.DiskWarnPercent, o.DiskCriticalPercent = 50, 60
		o.Engine = func(context.Context) (host.EngineFacts, error) {
			return host.EngineFacts{DataRoot: "/data/docker"}, nil
		}
		var asked string
		o.Statfs = func(p string) (host.FSUsage, error) { asked = p; return usage(55, 0)(p) }
		fs, err := run(t, o, host.CheckDataRoot)
		require.NoError(t, err)
		assert.Equal(t, filepath.Join(h.root, "data/docker"), asked)
		require.Len(t, fs, 2, "55 %% with a 50 %% threshold, and /data is on /")
		assert.Equal(t, diag.Warning, fs[0].Severity)
		assert.Contains(t, fs[0].Title, "/data/docker")
		assert.Equal(t, diag.Info, fs[1].Severity)
	})
	t.Run("on the root file system", func(t *testing.T) {
		h := newFakeHost(t)
		h.write("/proc/self/mountinfo", "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n"+
			"45 27 254:0 /var/lib/docker /var/lib/docker rw,relatime shared:1 - ext4 /dev/vda rw\n")
		fs, err := run(t, h.options(), host.CheckDataRoot)
		require.NoError(t, err)
		require.Len(t, fs, 1)
		f := fs[0]
		assert.Equal(t, "D21", f.Code)
		assert.Equal(t, diag.Info, f.Severity)
		assert.Equal(t, []string{"/var/lib/docker is on /dev/vda (ext4, device 254:0), the same device as /"}, f.Evidence)
		for _, step := range []string{"service docker stop", "mv /var/lib/docker /var/lib/docker_data", "/dev/vdb1 /var/lib/docker ext4 defaults 0 0",
			"mount -a", "mv /var/lib/docker_data/* /var/lib/docker/", "service docker start", "df -h", "docker ps", "restart policy"} {
			assert.Contains(t, f.Remedy, step)
		}
		assert.Less(t, strings.Index(f.Remedy, "service docker stop"), strings.Index(f.Remedy, "service docker start"))
	})
	t.Run("data root not visible", func(t *testing.T) {
		h := newFakeHost(t)
		h.remove("/var/lib/docker")
		_, err := run(t, h.options(), host.CheckDataRoot)
		require.Error(t, err)
		assert.Contains(t, err.Error(), "/var/lib/docker is not visible from here")
	})
	t.Run("statfs and engine errors", func(t *testing.T) {
		h := newFakeHost(t)
		o := h.options()
		o.Statfs = func(string) (host.FSUsage, error) { return host.FSUsage{}, errors.New("input/output error") }
		_, err := run(t, o, host.CheckDataRoot)
		require.EqualError(t, err, "statfs /var/lib/docker: input/output error")
		o.Engine = func(context.Context) (host.EngineFacts, error) { return host.EngineFacts{}, errors.New("engine down") }
		_, err = run(t, o, host.CheckDataRoot)
		require.EqualError(t, err, "cannot ask the engine for its data root: engine down")
	})
}

func TestFSUsagePercent(t *testing.T) {
	u := host.FSUsage{Used: 95, Avail: 5, Size: 105, Inodes: 200, InodesFree: 50}
	assert.InDelta(t, 95.0, u.UsedPercent(), 1e-9, "reserved blocks count in neither")
	assert.InDelta(t, 75.0, u.InodesUsedPercent(), 1e-9)
	assert.Zero(t, host.FSUsage{}.UsedPercent())
	assert.Zero(t, host.FSUsage{Inodes: 0, InodesFree: 0}.InodesUsedPercent(), "btrfs has no inode count")
	assert.Zero(t, host.FSUsage{Inodes: 1, InodesFree: 2}.InodesUsedPercent())
}

func TestClock(t *testing.T) {
	synced := func(v bool) func() (bool, error) { return func() (bool, error) { return v, nil } }
	t.Run("kernel synchronised", func(t *testing.T) {
		h := newFakeHost(t)
		h.remove("/proc/812")
		o := h.options()
		o.ClockSynced = synced(true)
		fs, err := run(t, o, host.CheckClock)
		require.NoError(t, err)
		assert.Empty(t, fs, "the kernel's word wins over the process list")
	})
	t.Run("kernel unsynchronised, no daemon", func(t *testing.T) {
		h := newFakeHost(t)
		h.remove("/proc/812")
		o := h.options()
		o.ClockSynced = synced(false)
		fs, err := run(t, o, host.CheckClock)
		require.NoError(t, err)
		require.Len(t, fs, 1)
		assert.Equal(t, "D30", fs[0].Code)
		assert.Equal(t, diag.Warning, fs[0].Severity)
		assert.Contains(t, fs[0].Title, "no NTP daemon found")
		assert.Equal(t, []string{"clock source: tsc", "adjtimex: clock unsynchronised", "no chronyd, ntpd or systemd-timesyncd process on the host"}, fs[0].Evidence)
		assert.Contains(t, fs[0].Remedy, "nothing needs configuring inside containers")
	})
	t.Run("kernel unsynchronised, daemon running", func(t *testing.T) {
		h := newFakeHost(t)
		h.write("/proc/900/comm", "systemd-timesyn\n")
		o := h.options()
		o.ClockSynced = synced(false)
		fs, err := run(t, o, host.CheckClock)
		require.NoError(t, err)
		require.Len(t, fs, 1)
		assert.Equal(t, "The host clock is not synchronised", fs[0].Title)
		assert.Contains(t, fs[0].Evidence, "running: chronyd, systemd-timesyncd")
	})
	t.Run("no kernel state: daemon found", func(t *testing.T) {
		h := newFakeHost(t)
		fs, err := run(t, h.options(), host.CheckClock)
		require.NoError(t, err)
		assert.Empty(t, fs)
	})
	t.Run("no kernel state: timesyncd says synchronised", func(t *testing.T) {
		h := newFakeHost(t)
		h.remove("/proc/812")
		h.write("/run/systemd/timesync/synchronized", "")
		fs, err := run(t, h.options(), host.CheckClock)
		require.NoError(t, err)
		assert.Empty(t, fs)
	})
	t.Run("no kernel state: host processes visible, no daemon", func(t *testing.T) {
		h := newFakeHost(t)
		h.remove("/proc/812")
		fs, err := run(t, h.options(), host.CheckClock)
		require.NoError(t, err)
		require.Len(t, fs, 1)
		assert.Equal(t, "No NTP daemon found on the host", fs[0].Title)
		assert.Equal(t, diag.Warning, fs[0].Severity)
	})
	t.Run("cannot tell", func(t *testing.T) {
		h := newFakeHost(t)
		h.remove("/proc/812")
		h.write("/proc/1/comm", "minato\n")
		h.remove("/proc/2")
		o := h.options()
		o.ClockSynced = func() (bool, error) { return false, errors.New("adjtimex: operation not permitted") }
		fs, err := run(t, o, host.CheckClock)
		require.NoError(t, err)
		require.Len(t, fs, 1)
		assert.Equal(t, host.CodeClockUnverified, fs[0].Code)
		assert.Equal(t, diag.Info, fs[0].Severity, "no Warning when nothing can be told")
		assert.Contains(t, fs[0].Detail, "operation not permitted")
	})
}

func TestKernelCheck(t *testing.T) {
	h := newFakeHost(t)
	h.write("/etc/os-release", "NAME=\"Ubuntu\"\nVERSION=\"14.04.5 LTS, Trusty Tahr\"\nID=ubuntu\nPRETTY_NAME=\"Ubuntu 14.04.5 LTS\"\nVERSION_ID=\"14.04\"\n")
	h.write("/proc/sys/kernel/osrelease", "3.13.0-24-generic\n")
	fs, err := run(t, h.options(), host.CheckKernel)
	require.NoError(t, err)
	require.Len(t, fs, 1)
	f := fs[0]
	assert.Equal(t, "D29", f.Code)
	assert.Equal(t, diag.Warning, f.Severity)
	assert.Contains(t, f.Title, "device or resource busy")
	assert.Equal(t, []string{"operating system: Ubuntu 14.04.5 LTS", "kernel: 3.13.0-24-generic"}, f.Evidence)
	assert.Contains(t, f.Remedy, host.FixUbuntu1404)
	assert.Regexp(t, `(?s)Move the applications off.*upgrade the kernel.*reboot.*move the applications back`, f.Remedy)

	h.write("/etc/os-release", "NAME=\"CentOS Linux\"\nVERSION=\"7 (Core)\"\nID=\"centos\"\nVERSION_ID=\"7\"\nPRETTY_NAME=\"CentOS Linux 7 (Core)\"\n")
	h.write("/proc/sys/kernel/osrelease", "3.10.0-693.el7.x86_64\n")
	fs, err = run(t, h.options(), host.CheckKernel)
	require.NoError(t, err)
	assert.Empty(t, fs)

	h.remove("/etc/os-release")
	_, err = run(t, h.options(), host.CheckKernel)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "/etc/os-release")
}

// TestThisMachine runs every host check on the machine the tests run on:
// they must answer (or say precisely why not) and their findings must be
// complete.
func TestThisMachine(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the host checks read Linux's /proc")
	}
	rep := diag.Run(context.Background(), host.Checks(host.Options{}), diag.RunOptions{})
	for _, r := range rep.Results {
		t.Logf("%s: %d findings, error %q", r.Check.ID, len(r.Findings), r.Err)
		if r.Check.ID == host.CheckDataRoot {
			if _, err := os.Stat("/var/lib/docker"); err != nil {
				assert.Contains(t, r.Err, "not visible from here")
				continue
			}
		}
		assert.Empty(t, r.Err, r.Check.ID)
		for _, f := range r.Findings {
			t.Logf("  %s %s: %s %v", f.Severity, f.Code, f.Title, f.Evidence)
			assert.NotEmpty(t, f.Remedy, f.Code)
			assert.NotEmpty(t, f.Subject.Name, "the host's name")
		}
	}
}
