package host

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/minato-ops/minato/diag"
)

// timeDaemons are the process names (as /proc/PID/comm shows them,
// truncated to 15 bytes) of programs that keep the clock synchronised.
var timeDaemons = []string{"chronyd", "ntpd", "systemd-timesyn", "openntpd", "ptp4l", "phc2sys", "vmtoolsd"}

// clock is D30: containers take their time from the host's kernel, so NTP
// is a host concern, and nothing needs configuring inside containers.
func (h *hostChecks) clock(ctx context.Context) ([]diag.Finding, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	synced, known, kerr := h.kernelSynced()
	if known && synced {
		return nil, nil
	}
	if !known {
		if _, err := os.Stat(h.path("/run/systemd/timesync/synchronized")); err == nil {
			return nil, nil // systemd-timesyncd has synchronised the clock
		}
	}
	daemons, canSee := h.timeDaemonsRunning()
	subj := h.subject()
	var ev []string
	if cs := h.clockSource(); cs != "" {
		ev = append(ev, "clock source: "+cs)
	}
	const remedy = "Configure NTP on the host (chrony, ntpd or systemd-timesyncd with a reachable server) and check it with `chronyc tracking` or `timedatectl`; nothing needs configuring inside containers"
	switch {
	case known:
		f := diag.Finding{
			Code: "D30", Severity: diag.Warning, Subject: subj,
			Title: "The host clock is not synchronised",
			Detail: "The kernel reports its clock as unsynchronised. Containers take their time from the host's kernel, so every " +
				"container's clock drifts with it: timestamps in logs and job results disagree with other hosts, and TLS " +
				"certificates and cloud API signatures fail once the drift is large.",
			Remedy:    remedy,
			Evidence:  append(ev, "adjtimex: clock unsynchronised"),
			Reference: refNTP,
		}
		switch {
		case len(daemons) > 0:
			f.Detail += fmt.Sprintf(" %s is running but has not synchronised the clock (no reachable server yet?).", strings.Join(daemons, ", "))
			f.Evidence = append(f.Evidence, "running: "+strings.Join(daemons, ", "))
		case canSee:
			f.Title = "The host clock is not synchronised: no NTP daemon found"
			f.Evidence = append(f.Evidence, "no chronyd, ntpd or systemd-timesyncd process on the host")
		}
		return []diag.Finding{f}, nil
	case len(daemons) > 0:
		return nil, nil // a daemon runs; its state cannot be read from here
	case canSee:
		return []diag.Finding{{
			Code: "D30", Severity: diag.Warning, Subject: subj,
			Title:     "No NTP daemon found on the host",
			Detail:    "No chronyd, ntpd or systemd-timesyncd runs on the host, so nothing keeps its clock, which every container shares, right.",
			Remedy:    remedy,
			Evidence:  append(ev, "no chronyd, ntpd or systemd-timesyncd process on the host"),
			Reference: refNTP,
		}}, nil
	}
	detail := "Neither the kernel's synchronisation state nor the host's processes can be read from here (minato runs in its own PID namespace?)."
	if kerr != nil {
		detail += " " + kerr.Error() + "."
	}
	return []diag.Finding{{
		Code: CodeClockUnverified, Severity: diag.Info, Subject: subj,
		Title:     "Clock synchronisation not verified",
		Detail:    detail,
		Remedy:    "Run the host checks on the host itself, or check with `timedatectl` or `chronyc tracking` there",
		Evidence:  ev,
		Reference: refNTP,
	}}, nil
}

// kernelSynced returns the kernel's clock state; known is false when it
// cannot be had.
func (h *hostChecks) kernelSynced() (synced, known bool, err error) {
	f := h.o.ClockSynced
	if f == nil {
		if h.o.Root != DefaultRoot {
			return false, false, nil
		}
		f = kernelClockSynced
	}
	synced, err = f()
	if err != nil {
		return false, false, err
	}
	return synced, true, nil
}

// timeDaemonsRunning lists the time daemons among the host's processes;
// canSee says the process list is the host's (PID 2 is the kernel's
// kthreadd, or PID 1 is an init system), so an empty list means none
// runs.
func (h *hostChecks) timeDaemonsRunning() (found []string, canSee bool) {
	comm := func(pid string) string {
		b, err := os.ReadFile(h.path("/proc/" + pid + "/comm"))
		if err != nil {
			return ""
		}
		return strings.TrimSpace(string(b))
	}
	switch comm("1") {
	case "systemd", "init", "openrc-init", "runit", "s6-svscan", "busybox":
		canSee = true
	}
	if comm("2") == "kthreadd" {
		canSee = true
	}
	ents, err := os.ReadDir(h.path("/proc"))
	if err != nil {
		return nil, false
	}
	for _, e := range ents {
		if !isDigits(e.Name()) {
			continue
		}
		if c := comm(e.Name()); slices.Contains(timeDaemons, c) && !slices.Contains(found, c) {
			found = append(found, c)
		}
	}
	for i, d := range found {
		if d == "systemd-timesyn" {
			found[i] = "systemd-timesyncd"
		}
	}
	slices.Sort(found)
	return found, canSee
}

func (h *hostChecks) clockSource() string {
	b, err := os.ReadFile(h.path("/sys/devices/system/clocksource/clocksource0/current_clocksource"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
