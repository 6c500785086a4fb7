package docker_test

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/container/enginetest"
	"github.com/minato-ops/minato/diag"
	"github.com/minato-ops/minato/diag/docker"
	"github.com/minato-ops/minato/diag/host"
	"github.com/minato-ops/minato/inventory"
)

var engineIDs = []string{docker.CheckEngine, docker.CheckWarnings, docker.CheckStorage, docker.CheckCgroup, docker.CheckClock,
	docker.CheckDNS, docker.CheckPorts, docker.CheckHygiene, docker.CheckCrashes, docker.CheckReclaimable}

func ids(checks []diag.Check) []string {
	var out []string
	for _, c := range checks {
		out = append(out, c.Info().ID)
	}
	return out
}

func TestChecksList(t *testing.T) {
	fe := newFakeEngine(t, nil, nil)
	assert.Equal(t, engineIDs, ids(fe.checks(docker.Options{})), "a TCP engine: no host checks")
	withHost := ids(fe.checks(docker.Options{Host: &host.Options{Root: t.TempDir()}}))
	assert.Equal(t, engineIDs, withHost[:len(engineIDs)])
	assert.Equal(t, []string{host.CheckRPFilter, host.CheckARPAnnounce, host.CheckIPForward, host.CheckDataRoot, host.CheckClock, host.CheckKernel}, withHost[len(engineIDs):])
	assert.Equal(t, engineIDs, ids(fe.checks(docker.Options{Host: &host.Options{}, SkipHost: true})))

	sock := enginetest.NewServer(t, "", enginetest.WithUnixSocket(filepath.Join(t.TempDir(), "d.sock")))
	c, err := container.New(container.Config{Host: sock.URL})
	require.NoError(t, err)
	defer c.Close()
	assert.Len(t, docker.Checks(c, docker.Options{}), len(engineIDs)+6, "a local engine gets the host checks")
	for _, ch := range docker.Checks(c, docker.Options{}) {
		assert.NotEmpty(t, ch.Info().Title)
	}
}

func TestHealthyEngine(t *testing.T) {
	fe := newFakeEngine(t, nil, []fakeCtr{{Name: "web", Ports: map[string][]binding{"80/tcp": {{"", "8080"}}}}, {Name: "db"}})
	rep := diag.Run(context.Background(), fe.checks(docker.Options{}), diag.RunOptions{})
	assert.Empty(t, rep.Errors())
	assert.Equal(t, []string{"engine " + docker.CodeDNSNotChecked}, codes(rep.Findings()), "only the honest note that DNS was not checked")
	assert.Equal(t, diag.Info, rep.Worst())
	assert.Equal(t, 0, rep.ExitCode())
	// One listing and one inspection per container for all checks.
	assert.Equal(t, 1, fe.requests("GET", "/containers/json"))
	assert.Equal(t, 1, fe.requests("GET", "/containers/"+idOf("web")+"/json"))
	assert.Equal(t, 1, fe.requests("GET", "/containers/"+idOf("db")+"/json"))
}

func TestUnreachable(t *testing.T) {
	c, err := container.New(container.Config{Host: "tcp://127.0.0.1:1"})
	require.NoError(t, err)
	defer c.Close()
	rep := diag.Run(context.Background(), docker.Checks(c, docker.Options{}), diag.RunOptions{Timeout: 10 * time.Second})
	assert.Equal(t, []string{"engine " + docker.CodeDNSNotChecked, "engine " + docker.CodeUnreachable}, codes(rep.Findings()))
	f := rep.Findings()[0]
	assert.Equal(t, docker.CodeUnreachable, f.Code)
	assert.Equal(t, diag.Critical, f.Severity)
	assert.Equal(t, diag.Subject{Kind: diag.SubjectEngine, Name: "tcp://127.0.0.1:1"}, f.Subject)
	assert.Contains(t, f.Remedy, "systemctl status docker")
	assert.Contains(t, f.Evidence[0], "cannot connect to the Docker daemon at tcp://127.0.0.1:1")
	t.Log(f.Evidence)
	assert.Contains(t, f.Remedy, "does not listen there")
	assert.Len(t, rep.Errors(), len(engineIDs)-2, "every other check but DNS (no probe image) cannot answer")
	for _, r := range rep.Errors() {
		assert.Contains(t, r.Err, "cannot connect to the Docker daemon at tcp://127.0.0.1:1", r.Check.ID)
	}
	assert.Equal(t, 2, rep.ExitCode())
}

func TestAPITooOld(t *testing.T) {
	fe := newFakeEngine(t, nil, nil, enginetest.WithAPIVersion("1.23"))
	fs, err := runCheck(t, fe.checks(docker.Options{}), docker.CheckEngine)
	require.NoError(t, err)
	require.Len(t, fs, 1)
	assert.Equal(t, docker.CodeAPITooOld, fs[0].Code)
	assert.Equal(t, diag.Critical, fs[0].Severity)
	assert.Equal(t, []string{"API version 1.23"}, fs[0].Evidence)

	fe = newFakeEngine(t, nil, nil, enginetest.WithAPIVersion("1.41"))
	fs, err = runCheck(t, fe.checks(docker.Options{}), docker.CheckEngine)
	require.NoError(t, err)
	assert.Empty(t, fs)
}

func TestEngineWarnings(t *testing.T) {
	info := healthyInfo()
	info["Warnings"] = []string{
		"WARNING: No swap limit support",
		"WARNING: bridge-nf-call-iptables is disabled",
		"WARNING: API is accessible on http://0.0.0.0:2375 without encryption.\n         Access to the remote API is equivalent to root access on the host. Refer\n         to the 'Docker daemon attack surface' section in the documentation for\n         more information: https://docs.docker.com/go/attack-surface/",
		"WARNING: the devicemapper storage-driver is deprecated, and will be removed in a future release.",
		"WARNING: No cpu cfs quota support",
		"WARNING: Something new the engine says",
		"",
	}
	fe := newFakeEngine(t, info, nil)
	fs, err := runCheck(t, fe.checks(docker.Options{}), docker.CheckWarnings)
	require.NoError(t, err)
	type row struct {
		title string
		sev   diag.Severity
		fix   string
	}
	var got []row
	for _, f := range fs {
		assert.Equal(t, docker.CodeEngineWarning, f.Code)
		assert.Len(t, f.Evidence, 1)
		got = append(got, row{f.Title, f.Severity, f.Remedy})
	}
	require.Len(t, got, 5, "the storage-driver warning is engine.storage's")
	assert.Equal(t, "Engine warning: No swap limit support", got[0].title)
	assert.Equal(t, diag.Info, got[0].sev)
	assert.Contains(t, got[0].fix, "swapaccount=1")
	assert.Equal(t, diag.Warning, got[1].sev)
	assert.Contains(t, got[1].fix, "modprobe br_netfilter")
	assert.Equal(t, "Engine warning: API is accessible on http://0.0.0.0:2375 without encryption", got[2].title)
	assert.Equal(t, diag.Critical, got[2].sev)
	assert.Contains(t, got[2].fix, "TLS")
	assert.Equal(t, diag.Warning, got[3].sev)
	assert.Contains(t, got[3].fix, "CFS")
	assert.Equal(t, "Engine warning: Something new the engine says", got[4].title)
	assert.Equal(t, diag.Warning, got[4].sev, "unknown warnings are warnings")
	assert.Contains(t, fs[2].Evidence[0], "Access to the remote API is equivalent to root access on the host. Refer to the")
}

func TestStorage(t *testing.T) {
	cases := []struct {
		driver string
		status [][2]string
		want   []diag.Severity
		title  string
	}{
		{"overlay2", [][2]string{{"Supports d_type", "true"}}, nil, ""},
		{"btrfs", nil, nil, ""},
		{"fuse-overlayfs", nil, nil, ""},
		{"devicemapper", [][2]string{{"Pool Name", "docker-thinpool"}}, []diag.Severity{diag.Warning}, "Storage driver devicemapper is deprecated"},
		{"devicemapper", [][2]string{{"Data loop file", "/var/lib/docker/devicemapper/devicemapper/data"}}, []diag.Severity{diag.Warning}, "Storage driver devicemapper in loop-lvm mode: for testing only"},
		{"aufs", nil, []diag.Severity{diag.Warning}, "Storage driver aufs is deprecated"},
		{"overlay", [][2]string{{"Supports d_type", "false"}}, []diag.Severity{diag.Warning, diag.Critical}, "Storage driver overlay is deprecated"},
		{"vfs", nil, []diag.Severity{diag.Warning}, "Storage driver vfs: no copy-on-write"},
		{"overlay2", [][2]string{{"Backing Filesystem", "xfs"}, {"Supports d_type", "false"}}, []diag.Severity{diag.Critical}, "The data root's file system lacks d_type: overlay storage misbehaves"},
	}
	for _, tc := range cases {
		t.Run(tc.driver, func(t *testing.T) {
			info := healthyInfo()
			info["Driver"], info["DriverStatus"] = tc.driver, tc.status
			fe := newFakeEngine(t, info, nil)
			fs, err := runCheck(t, fe.checks(docker.Options{}), docker.CheckStorage)
			require.NoError(t, err)
			var sev []diag.Severity
			for _, f := range fs {
				assert.Equal(t, docker.CodeStorageDriver, f.Code)
				assert.Contains(t, f.Evidence, "storage driver: "+tc.driver)
				assert.NotEmpty(t, f.Remedy)
				sev = append(sev, f.Severity)
			}
			assert.Equal(t, tc.want, sev)
			if tc.title != "" {
				assert.Equal(t, tc.title, fs[0].Title)
			}
		})
	}
}

func TestCgroupDriver(t *testing.T) {
	info := healthyInfo()
	info["CgroupDriver"], info["CgroupVersion"] = "cgroupfs", "1"
	fe := newFakeEngine(t, info, nil, enginetest.WithUnixSocket(filepath.Join(t.TempDir(), "d.sock")))
	root := t.TempDir()
	o := docker.Options{Host: &host.Options{Root: root}}
	fs, err := runCheck(t, fe.checks(o), docker.CheckCgroup)
	require.NoError(t, err)
	assert.Empty(t, fs, "not booted with systemd")

	require.NoError(t, os.MkdirAll(filepath.Join(root, "run/systemd/system"), 0o755))
	fs, err = runCheck(t, fe.checks(o), docker.CheckCgroup)
	require.NoError(t, err)
	require.Len(t, fs, 1)
	assert.Equal(t, docker.CodeCgroupDriver, fs[0].Code)
	assert.Equal(t, diag.Info, fs[0].Severity)
	assert.Contains(t, fs[0].Remedy, "native.cgroupdriver=systemd")

	info["CgroupDriver"] = "systemd"
	fe.writeJSON("info.json", info)
	fs, err = runCheck(t, fe.checks(o), docker.CheckCgroup)
	require.NoError(t, err)
	assert.Empty(t, fs)
}

func TestClockSkew(t *testing.T) {
	cases := []struct {
		engineAhead time.Duration
		want        diag.Severity
	}{
		{0, diag.OK},
		{800 * time.Millisecond, diag.OK},
		{-5 * time.Second, diag.Warning},
		{5 * time.Second, diag.Warning},
		{40 * time.Second, diag.Critical},
		{-10 * time.Minute, diag.Critical},
	}
	for _, tc := range cases {
		t.Run(tc.engineAhead.String(), func(t *testing.T) {
			info := healthyInfo()
			info["SystemTime"] = now.Add(tc.engineAhead).Format(time.RFC3339Nano)
			fe := newFakeEngine(t, info, nil)
			fs, err := runCheck(t, fe.checks(docker.Options{}), docker.CheckClock)
			require.NoError(t, err)
			if tc.want == diag.OK {
				assert.Empty(t, fs)
				return
			}
			require.Len(t, fs, 1)
			f := fs[0]
			assert.Equal(t, "D30", f.Code)
			assert.Equal(t, tc.want, f.Severity)
			assert.Contains(t, f.Title, "differs from this machine's by")
			assert.Contains(t, f.Evidence[0], "engine time "+now.Add(tc.engineAhead).Format("2006-01-02T15:04"))
			assert.Contains(t, f.Remedy, "NTP")
		})
	}
	t.Run("thresholds", func(t *testing.T) {
		info := healthyInfo()
		info["SystemTime"] = now.Add(3 * time.Second).Format(time.RFC3339Nano)
		fe := newFakeEngine(t, info, nil)
		fs, err := runCheck(t, fe.checks(docker.Options{ClockWarn: 5 * time.Second}), docker.CheckClock)
		require.NoError(t, err)
		assert.Empty(t, fs)
		fs, err = runCheck(t, fe.checks(docker.Options{ClockCritical: 2 * time.Second}), docker.CheckClock)
		require.NoError(t, err)
		require.Len(t, fs, 1)
		assert.Equal(t, diag.Critical, fs[0].Severity)
	})
	t.Run("engine without time", func(t *testing.T) {
		info := healthyInfo()
		delete(info, "SystemTime")
		fe := newFakeEngine(t, info, nil)
		_, err := runCheck(t, fe.checks(docker.Options{}), docker.CheckClock)
		assert.ErrorContains(t, err, "does not report its time")
	})
}

func TestHygiene(t *testing.T) {
	ctrs := []fakeCtr{
		{Name: "good"},
		{Name: "norestart", Restart: "no"},
		{Name: "emptyrestart", Restart: "-"},
		{Name: "oneshot", Restart: "no", AutoRemove: true},
		{Name: "nomem", Memory: -1},
		{Name: "nohealth", NoHealth: true},
		{Name: "healthoff", Health: []string{"NONE"}},
		{Name: "noinit", Init: ptr(false), Entrypoint: []string{"/usr/bin/app"}},
		{Name: "defaultinit", InitUnset: true, Cmd: []string{"nginx"}},
		{Name: "tini", Init: ptr(false), Entrypoint: []string{"/usr/bin/tini", "--", "/entrypoint.sh"}},
		{Name: "jobcenter-mg", Init: ptr(false), Labels: map[string]string{"com.nec.name": "JobCenter MG/SV"}, Entrypoint: []string{"/entrypoint.sh"}},
		{Name: "priv", Privileged: true},
		{Name: "sock", Mounts: []container.Mount{{Type: "bind", Source: "/var/run/docker.sock", Destination: "/var/run/docker.sock"}}},
		{Name: "volsock", Mounts: []container.Mount{{Type: "volume", Name: "x", Source: "/var/lib/docker/volumes/x/_data", Destination: "/var/run/docker.sock"}}},
		{Name: "biglog", LogOpts: map[string]string{"max-file": "3"}},
		{Name: "unlimitedlog", LogOpts: map[string]string{"max-size": "-1"}},
		{Name: "locallog", LogType: "local", LogOpts: map[string]string{}},
		{Name: "stopped", State: "exited", Restart: "no", Memory: -1, Privileged: true, NoHealth: true},
		{Name: "fresh", State: "created", Restart: "no", Memory: -1},
		{Name: "paused", State: "paused", Memory: -1},
	}
	fe := newFakeEngine(t, nil, ctrs)
	fs, err := runCheck(t, fe.checks(docker.Options{}), docker.CheckHygiene)
	require.NoError(t, err)
	assert.Equal(t, []string{
		"biglog " + docker.CodeUnboundedLog,
		"defaultinit " + docker.CodeNoInit,
		"emptyrestart " + docker.CodeNoRestartPolicy,
		"healthoff " + docker.CodeNoHealthcheck,
		"jobcenter-mg " + docker.CodeNoInit,
		"nohealth " + docker.CodeNoHealthcheck,
		"noinit " + docker.CodeNoInit,
		"nomem " + docker.CodeNoMemoryLimit,
		"norestart " + docker.CodeNoRestartPolicy,
		"paused " + docker.CodeNoMemoryLimit,
		"priv " + docker.CodePrivileged,
		"sock " + docker.CodeDockerSocket,
		"unlimitedlog " + docker.CodeUnboundedLog,
	}, codes(fs), "only running, restarting and paused containers are judged")
	for _, f := range fs {
		assert.Equal(t, diag.SubjectContainer, f.Subject.Kind)
		assert.Equal(t, idOf(f.Subject.Name), f.Subject.ID)
		assert.Equal(t, fe.srv.URL, f.Subject.Engine)
		assert.NotEmpty(t, f.Remedy, f.Code)
		assert.NotEmpty(t, f.Evidence, f.Code)
		for _, s := range append([]string{f.Title, f.Detail, f.Remedy}, f.Evidence...) {
			assert.NotContains(t, s, "hunter2", "no secrets in findings")
		}
	}
	sev := map[string]diag.Severity{}
	for _, f := range fs {
		sev[f.Subject.Name+" "+f.Code] = f.Severity
	}
	assert.Equal(t, diag.Warning, sev["norestart "+docker.CodeNoRestartPolicy])
	assert.Equal(t, diag.Warning, sev["nomem "+docker.CodeNoMemoryLimit])
	assert.Equal(t, diag.Info, sev["nohealth "+docker.CodeNoHealthcheck])
	assert.Equal(t, diag.Info, sev["noinit "+docker.CodeNoInit])
	assert.Equal(t, diag.Warning, sev["jobcenter-mg "+docker.CodeNoInit], "JobCenter requires --init")
	assert.Equal(t, diag.Warning, sev["priv "+docker.CodePrivileged])
	assert.Equal(t, diag.Warning, sev["sock "+docker.CodeDockerSocket])
	assert.Equal(t, diag.Warning, sev["biglog "+docker.CodeUnboundedLog])

	f, _ := findCode(fs, "norestart", docker.CodeNoRestartPolicy)
	assert.Contains(t, f.Remedy, "docker update --restart unless-stopped norestart")
	f, _ = findCode(fs, "jobcenter-mg", docker.CodeNoInit)
	assert.Contains(t, f.Reference, "JobCenter")
	assert.Contains(t, f.Remedy, "--init")
	f, _ = findCode(fs, "defaultinit", docker.CodeNoInit)
	assert.Contains(t, f.Detail, "daemon's default")
	assert.Equal(t, []string{"init: daemon default", "first process: nginx"}, f.Evidence)
	f, _ = findCode(fs, "biglog", docker.CodeUnboundedLog)
	assert.Contains(t, f.Remedy, "max-size")
	assert.Contains(t, f.Remedy, "daemon.json")
	assert.Contains(t, f.Detail, "no space left on device")
	f, _ = findCode(fs, "sock", docker.CodeDockerSocket)
	assert.Equal(t, []string{"mount /var/run/docker.sock:/var/run/docker.sock"}, f.Evidence)
}

func TestCrashes(t *testing.T) {
	ctrs := []fakeCtr{
		{Name: "good"},
		{Name: "oom-down", State: "exited", OOM: true, Exit: 137, Memory: 32 << 20, FinishedAt: now.Add(-time.Minute)},
		{Name: "oom-back", OOM: true, Restarts: 1},
		{Name: "looping", State: "restarting", Exit: 1, Restarts: 3, StartedAt: now.Add(-2 * time.Second)},
		{Name: "flapping", Exit: 1, Restarts: 6, StartedAt: now.Add(-10 * time.Second)},
		{Name: "recovered", Restarts: 6, StartedAt: now.Add(-5 * time.Minute)},
		{Name: "few", Restarts: 4, StartedAt: now.Add(-10 * time.Second)},
		{Name: "gaveup", State: "exited", Restart: "on-failure", MaxRetries: 3, Restarts: 3, Exit: 2},
		{Name: "stopped-ok", State: "exited", Restart: "on-failure", MaxRetries: 3, Restarts: 3, Exit: 0},
	}
	fe := newFakeEngine(t, nil, ctrs)
	fs, err := runCheck(t, fe.checks(docker.Options{}), docker.CheckCrashes)
	require.NoError(t, err)
	assert.Equal(t, []string{
		"flapping " + docker.CodeRestartLoop,
		"gaveup " + docker.CodeRestartGaveUp,
		"looping " + docker.CodeRestartLoop,
		"oom-back " + docker.CodeOOMKilled,
		"oom-down " + docker.CodeOOMKilled,
	}, codes(fs))
	f, _ := findCode(fs, "oom-down", docker.CodeOOMKilled)
	assert.Equal(t, diag.Critical, f.Severity)
	assert.Equal(t, "Killed by the kernel's OOM killer", f.Title)
	assert.Equal(t, []string{"state exited, exit code 137", "memory limit: 32.0 MiB", "killed at 2026-05-07T11:59:00Z"}, f.Evidence)
	assert.Contains(t, f.Remedy, "docker update --memory")
	f, _ = findCode(fs, "oom-back", docker.CodeOOMKilled)
	assert.Equal(t, diag.Warning, f.Severity, "running again")
	f, _ = findCode(fs, "flapping", docker.CodeRestartLoop)
	assert.Equal(t, diag.Critical, f.Severity)
	assert.Contains(t, f.Evidence[0], "restarted 6 times")
	assert.Contains(t, f.Evidence[2], "(10s ago)")
	assert.Contains(t, f.Remedy, "docker logs --tail 50 flapping")
	f, _ = findCode(fs, "gaveup", docker.CodeRestartGaveUp)
	assert.Equal(t, "Failed 4 times; the engine stopped restarting it", f.Title)

	// Thresholds are options.
	fs, err = runCheck(t, fe.checks(docker.Options{RestartLoop: docker.RestartLoop{Restarts: 3, Within: 10 * time.Minute}}), docker.CheckCrashes)
	require.NoError(t, err)
	assert.Contains(t, codes(fs), "recovered "+docker.CodeRestartLoop)
	assert.Contains(t, codes(fs), "few "+docker.CodeRestartLoop)
}

func TestPorts(t *testing.T) {
	p := func(key string, bs ...binding) map[string][]binding { return map[string][]binding{key: bs} }
	ctrs := []fakeCtr{
		{Name: "web", Ports: p("80/tcp", binding{"", "8080"})},
		{Name: "web-new", State: "created", Ports: p("80/tcp", binding{"", "8080"})},
		{Name: "a-old", State: "exited", Ports: p("9000/tcp", binding{"0.0.0.0", "9090"})},
		{Name: "b-old", State: "created", Ports: p("9000/tcp", binding{"", "9090"})},
		{Name: "local", State: "created", Ports: p("80/tcp", binding{"127.0.0.1", "7070"})},
		{Name: "other-ip", Ports: p("80/tcp", binding{"10.0.0.5", "7070"})},
		{Name: "dns-udp", State: "created", Ports: p("53/udp", binding{"", "8080"})},
		{Name: "ranged", State: "created", Ports: p("80/tcp", binding{"", "8080-8090"})},
		{Name: "random", State: "created", Ports: p("80/tcp", binding{"", ""})},
		{Name: "hostnet", State: "created", NetworkMode: "host", Ports: p("80/tcp", binding{"", "8080"})},
		{Name: "router", Ports: p("80/tcp", binding{"", "9080"})},
	}
	fe := newFakeEngine(t, nil, ctrs)
	fs, err := runCheck(t, fe.checks(docker.Options{ReservedPorts: []int{9080, 2376, 3376}}), docker.CheckPorts)
	require.NoError(t, err)
	assert.Equal(t, []string{"a-old D04", "b-old D04", "router D03", "web-new D04"}, codes(fs))

	f, _ := findCode(fs, "web-new", "D04")
	assert.Equal(t, diag.Warning, f.Severity)
	assert.Equal(t, "Claims host port 8080/tcp, which web also claims", f.Title)
	assert.Contains(t, f.Detail, `web holds it now, so starting web-new fails with "port is already allocated"`)
	assert.Equal(t, []string{"web-new (created): 0.0.0.0:8080->80/tcp", "web (running): 0.0.0.0:8080->80/tcp"}, f.Evidence)
	f, _ = findCode(fs, "a-old", "D04")
	assert.Contains(t, f.Detail, "whichever starts second fails")
	f, _ = findCode(fs, "router", "D03")
	assert.Equal(t, "Publishes reserved host port 9080/tcp", f.Title)
	assert.Contains(t, f.Detail, "The host port cannot be set to 9080,2376,3376")
	assert.Equal(t, []string{"port binding 0.0.0.0:9080->80/tcp", "reserved ports: 9080, 2376, 3376"}, f.Evidence)

	t.Run("no reserved ports by default", func(t *testing.T) {
		fs, err := runCheck(t, fe.checks(docker.Options{}), docker.CheckPorts)
		require.NoError(t, err)
		assert.NotContains(t, codes(fs), "router D03")
	})
	t.Run("unselected containers count, only selected ones are reported", func(t *testing.T) {
		fs, err := runCheck(t, fe.checks(docker.Options{Selector: inventory.Selector{Names: []string{"web-new", "a-old"}}}), docker.CheckPorts)
		require.NoError(t, err)
		assert.Equal(t, []string{"a-old D04", "web-new D04"}, codes(fs), "b-old, unselected and created, was inspected for its claim")
	})
}

func TestSelector(t *testing.T) {
	fe := newFakeEngine(t, nil, []fakeCtr{
		{Name: "web-1", Memory: -1, Labels: map[string]string{"app": "web"}},
		{Name: "web-2", Memory: -1, Labels: map[string]string{"app": "web"}, State: "exited", OOM: true},
		{Name: "db", Memory: -1},
	})
	checks := fe.checks(docker.Options{Selector: inventory.Selector{Labels: map[string]string{"app": "web"}}})
	fs, err := runCheck(t, checks, docker.CheckHygiene)
	require.NoError(t, err)
	assert.Equal(t, []string{"web-1 " + docker.CodeNoMemoryLimit}, codes(fs))
	fs, err = runCheck(t, checks, docker.CheckCrashes)
	require.NoError(t, err)
	assert.Equal(t, []string{"web-2 " + docker.CodeOOMKilled}, codes(fs))

	checks = fe.checks(docker.Options{Selector: inventory.Selector{States: []string{"exited"}}})
	fs, err = runCheck(t, checks, docker.CheckCrashes)
	require.NoError(t, err)
	assert.Equal(t, []string{"web-2 " + docker.CodeOOMKilled}, codes(fs))

	_, err = runCheck(t, fe.checks(docker.Options{Selector: inventory.Selector{IDs: []string{"zz"}}}), docker.CheckHygiene)
	assert.ErrorIs(t, err, inventory.ErrBadPattern)
	_, err = runCheck(t, fe.checks(docker.Options{Selector: inventory.Selector{Scopes: []string{"prod"}}}), docker.CheckHygiene)
	assert.ErrorIs(t, err, inventory.ErrScopes)
	_, err = runCheck(t, fe.checks(docker.Options{Selector: inventory.Selector{Kind: "image"}}), docker.CheckHygiene)
	assert.ErrorContains(t, err, "select containers only")
}

// A container removed between the listing and its inspection is skipped;
// other inspect failures are the check's error, with what worked.
func TestSnapshotPartial(t *testing.T) {
	fe := newFakeEngine(t, nil, []fakeCtr{{Name: "gone", Memory: -1}, {Name: "broken", Memory: -1}, {Name: "fine", Memory: -1}})
	require.NoError(t, os.Remove(filepath.Join(fe.dir, "inspect_"+idOf("gone")+".json")))
	require.NoError(t, os.WriteFile(filepath.Join(fe.dir, "errors.json"),
		[]byte(`{"GET /containers/`+idOf("broken")+`/json": {"status": 500, "message": "engine hiccup"}}`), 0o644))
	fs, err := runCheck(t, fe.checks(docker.Options{}), docker.CheckHygiene)
	assert.ErrorContains(t, err, "engine hiccup")
	assert.Equal(t, []string{"fine " + docker.CodeNoMemoryLimit}, codes(fs))
}

func TestSnapshotShared(t *testing.T) {
	var ctrs []fakeCtr
	for i := range 20 {
		ctrs = append(ctrs, fakeCtr{Name: "c" + strings.Repeat("x", i)})
	}
	fe := newFakeEngine(t, nil, ctrs)
	checks := fe.checks(docker.Options{})
	for range 3 { // within SnapshotReuse of each other: one listing
		_, err := runCheck(t, checks, docker.CheckHygiene)
		require.NoError(t, err)
		_, err = runCheck(t, checks, docker.CheckCrashes)
		require.NoError(t, err)
	}
	assert.Equal(t, 1, fe.requests("GET", "/containers/json"))
	// New checks list afresh.
	_, err := runCheck(t, fe.checks(docker.Options{}), docker.CheckPorts)
	require.NoError(t, err)
	assert.Equal(t, 2, fe.requests("GET", "/containers/json"))
}

func TestReclaimable(t *testing.T) {
	fe := newFakeEngine(t, nil, nil)
	checks := fe.checks(docker.Options{})
	fs, err := runCheck(t, checks, docker.CheckReclaimable)
	require.NoError(t, err)
	assert.Empty(t, fs)

	anon := idOf("anon")
	fe.mu.Lock()
	fe.df = map[string]any{
		"Images": []map[string]any{
			{"Id": "sha256:" + idOf("i1"), "RepoTags": []string{}, "Size": 3 << 30, "SharedSize": 1 << 30, "Containers": 0},
			{"Id": "sha256:" + idOf("i2"), "RepoTags": []string{"<none>:<none>"}, "Size": 1 << 30, "SharedSize": -1, "Containers": 0},
			{"Id": "sha256:" + idOf("i3"), "RepoTags": []string{"app:1.0"}, "Size": 9 << 30, "Containers": 0},
		},
		"Volumes": []map[string]any{
			{"Name": anon, "Driver": "local", "UsageData": map[string]any{"Size": 2 << 30, "RefCount": 0}},
			{"Name": "pgdata-old", "Driver": "local", "UsageData": map[string]any{"Size": 4 << 30, "RefCount": 0}},
			{"Name": "pgdata", "Driver": "local", "UsageData": map[string]any{"Size": 40 << 30, "RefCount": 1}},
			{"Name": "nfs", "Driver": "nfs", "UsageData": map[string]any{"Size": -1, "RefCount": 0}},
		},
	}
	fe.mu.Unlock()
	fs, err = runCheck(t, checks, docker.CheckReclaimable)
	require.NoError(t, err)
	require.Len(t, fs, 2)
	im, vol := fs[0], fs[1]
	assert.Equal(t, docker.CodeDanglingImages, im.Code)
	assert.Equal(t, diag.Info, im.Severity)
	assert.Equal(t, "2 dangling images hold 3.0 GiB", im.Title)
	assert.Equal(t, []string{"3.0 GiB in 2 images", shortID(idOf("i1")) + ": 2.0 GiB", shortID(idOf("i2")) + ": 1.0 GiB"}, im.Evidence)
	assert.Contains(t, im.Remedy, "docker image prune")
	assert.Equal(t, docker.CodeUnusedVolumes, vol.Code)
	assert.Equal(t, diag.Warning, vol.Severity, "6 GiB ≥ the 5 GiB default")
	assert.Equal(t, "3 volumes no container uses hold 6.0 GiB", vol.Title)
	assert.Equal(t, []string{
		"6.0 GiB in 3 volumes (1 anonymous, 2 named), 1 of unknown size",
		"pgdata-old (named, local): 4.0 GiB",
		shortID(anon) + " (anonymous, local): 2.0 GiB",
		"nfs (named, nfs): size unknown",
	}, vol.Evidence)
	assert.Contains(t, vol.Remedy, "docker volume prune")
	assert.Contains(t, vol.Remedy, "data is lost")

	fs, err = runCheck(t, fe.checks(docker.Options{ReclaimWarnBytes: 1 << 30}), docker.CheckReclaimable)
	require.NoError(t, err)
	assert.Equal(t, diag.Warning, fs[0].Severity)
}

func shortID(id string) string { return id[:12] }

func TestDNSNotChecked(t *testing.T) {
	fe := newFakeEngine(t, nil, nil)
	fs, err := runCheck(t, fe.checks(docker.Options{}), docker.CheckDNS)
	require.NoError(t, err)
	require.Len(t, fs, 1)
	assert.Equal(t, docker.CodeDNSNotChecked, fs[0].Code)
	assert.Equal(t, diag.Info, fs[0].Severity)
	assert.Contains(t, fs[0].Remedy, "getent")
	assert.Zero(t, fe.requests("POST", "/networks"), "nothing created")
}

// The host checks learn the engine's data root and bridge networks from
// the engine.
func TestHostChecksAskTheEngine(t *testing.T) {
	info := healthyInfo()
	info["DockerRootDir"] = "/data/docker"
	fe := newFakeEngine(t, info, nil)
	root := t.TempDir()
	for p, v := range map[string]string{"proc/sys/net/ipv4/ip_forward": "0\n", "proc/sys/kernel/hostname": "node1\n"} {
		require.NoError(t, os.MkdirAll(filepath.Dir(filepath.Join(root, p)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(root, p), []byte(v), 0o644))
	}
	require.NoError(t, os.MkdirAll(filepath.Join(root, "data/docker"), 0o755))
	var statfsPath string
	o := docker.Options{Host: &host.Options{Root: root, Statfs: func(p string) (host.FSUsage, error) {
		statfsPath = p
		return host.FSUsage{Used: 97, Avail: 3, Size: 100}, nil
	}}}
	checks := fe.checks(o)
	fs, err := runCheck(t, checks, host.CheckIPForward)
	require.NoError(t, err)
	require.Len(t, fs, 1)
	assert.Equal(t, diag.Critical, fs[0].Severity)
	assert.Contains(t, fs[0].Evidence, "bridge networks: bridge")
	fs, err = runCheck(t, checks, host.CheckDataRoot)
	require.NoError(t, err)
	assert.Equal(t, filepath.Join(root, "data/docker"), statfsPath)
	require.NotEmpty(t, fs)
	assert.Equal(t, "D21", fs[0].Code)
	assert.Equal(t, diag.Critical, fs[0].Severity)
	assert.Contains(t, fs[0].Title, "/data/docker")
}

// Docker 20.10 refuses a disk-usage request while another runs: the check
// waits and asks again.
func TestReclaimableBusyEngine(t *testing.T) {
	var calls atomic.Int32
	busy := int32(2)
	fe := newFakeEngine(t, nil, nil)
	fe.dfHook = func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if calls.Add(1) <= atomic.LoadInt32(&busy) {
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, `{"message":"a disk usage operation is already running"}`)
			return
		}
		fmt.Fprint(w, `{"Images": [{"Id": "sha256:0123456789abcdef", "RepoTags": [], "Size": 1048576, "SharedSize": 0, "Containers": 0}]}`)
	}
	fs, err := runCheck(t, fe.checks(docker.Options{}), docker.CheckReclaimable)
	require.NoError(t, err)
	assert.Equal(t, int32(3), calls.Load())
	assert.Equal(t, []string{"engine " + docker.CodeDanglingImages}, codes(fs))

	calls.Store(0)
	atomic.StoreInt32(&busy, 100)
	_, err = runCheck(t, fe.checks(docker.Options{}), docker.CheckReclaimable)
	assert.ErrorContains(t, err, "a disk usage operation is already running")
	assert.ErrorContains(t, err, "tried 5 times")
	assert.Equal(t, int32(5), calls.Load())
}
