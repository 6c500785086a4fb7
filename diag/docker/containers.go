package docker

import (
	"context"
	"fmt"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/diag"
)

const (
	refRun       = "Docker documentation: docker run"
	refJobCenter = "JobCenter container guide: init process (--init is mandatory)"
	refLogging   = "Docker documentation: JSON File logging driver"
)

// initPrograms are PID-1 programs that reap orphaned processes and pass
// signals on, as --init's docker-init (tini) does.
var initPrograms = []string{"tini", "tini-static", "docker-init", "dumb-init", "catatonit", "s6-svscan", "runsvdir", "supervisord", "systemd", "init"}

// hasInit says whether the container runs an init as PID 1: --init, or an
// entrypoint (else command) that is one.
func hasInit(ins container.InspectResult, set container.Settings) bool {
	if set.Init != nil && *set.Init {
		return true
	}
	argv := ins.Entrypoint
	if len(argv) == 0 {
		argv = ins.Cmd
	}
	return len(argv) > 0 && slices.Contains(initPrograms, path.Base(argv[0]))
}

// isJobCenter says whether the container runs JobCenter, which assumes an
// init process: its diagnostic collector requires the label
// com.nec.name=JobCenter MG/SV.
func isJobCenter(ins container.InspectResult) bool {
	return strings.HasPrefix(ins.Labels["com.nec.name"], "JobCenter") || strings.Contains(strings.ToLower(ins.Image), "jobcenter")
}

// dockerSockets are the engine socket paths a mount exposes the engine by.
func (e *checker) dockerSockets() []string {
	s := []string{"/var/run/docker.sock", "/run/docker.sock"}
	if p, ok := strings.CutPrefix(e.c.Host(), "unix://"); ok && !slices.Contains(s, p) {
		s = append(s, p)
	}
	return s
}

// hygiene judges how each live selected container is configured for
// operation.
func (e *checker) hygiene(ctx context.Context) ([]diag.Finding, error) {
	snap, err := e.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	sockets := e.dockerSockets()
	var out []diag.Finding
	for _, x := range snap.selected {
		ins, set := x.ins, x.set
		if !live(ins.State) {
			continue
		}
		subj := e.containerSubject(ins.ID, ins.Name)
		add := func(f diag.Finding) {
			f.Subject = subj
			out = append(out, f)
		}
		if (set.RestartPolicy == "" || set.RestartPolicy == "no") && !set.AutoRemove {
			add(diag.Finding{
				Code: CodeNoRestartPolicy, Severity: diag.Warning,
				Title: "No restart policy",
				Detail: "When it exits, or the daemon or host restarts, it stays stopped until someone starts it: after a move of " +
					"Docker's data disk, for example, every container without a restart policy must be started by hand.",
				Remedy:    fmt.Sprintf("`docker update --restart unless-stopped %s` (or --restart always; set it in the run or compose file too)", ins.Name),
				Evidence:  []string{"restart policy: " + orNone(set.RestartPolicy)},
				Reference: refRun,
			})
		}
		if ins.MemoryLimit == 0 {
			add(diag.Finding{
				Code: CodeNoMemoryLimit, Severity: diag.Warning,
				Title: "No memory limit",
				Detail: "It can take all of the host's memory; the kernel's OOM killer then kills processes of other containers or of " +
					"the host itself, and an overloaded node stops answering its management.",
				Remedy:    fmt.Sprintf("Set a limit from its real use (`docker stats %s`): `docker update --memory 512m --memory-swap 512m %s`, and in the run or compose file", ins.Name, ins.Name),
				Evidence:  []string{"memory limit: none"},
				Reference: refRun,
			})
		}
		if len(set.Healthcheck) == 0 || set.Healthcheck[0] == "NONE" {
			add(diag.Finding{
				Code: CodeNoHealthcheck, Severity: diag.Info,
				Title: "No health check",
				Detail: "The engine knows only that its process runs, not that it answers: a hung service stays \"running\", and " +
					"troubleshooting a connection cannot start from the container's health.",
				Remedy:    "Add a HEALTHCHECK to the image, or --health-cmd (with --health-interval) when creating the container, that checks what the service does (an HTTP request that must return 200)",
				Evidence:  []string{"health check: " + healthText(set.Healthcheck)},
				Reference: refRun,
			})
		}
		if !hasInit(ins, set) {
			f := diag.Finding{
				Code: CodeNoInit, Severity: diag.Info,
				Title: "No init process",
				Detail: "Its first process must reap the orphaned processes of the container and pass signals on; most programs " +
					"do neither, so zombies pile up and stopping is not clean.",
				Remedy:    "Recreate it with `docker run --init` (docker update cannot add it), or make tini its entrypoint",
				Evidence:  []string{"init: " + initText(set.Init), "first process: " + firstProcess(ins)},
				Reference: refRun,
			}
			if isJobCenter(ins) {
				f.Severity = diag.Warning
				f.Detail = "JobCenter assumes an init process: without --init the processes it runs are not reaped and it does not shut down cleanly."
				f.Remedy = "Recreate the container with --init (Docker releases before 1.13.1-86 on RHEL lack it: `exec -- failed: No such file or directory`), initProcessEnabled: true on ECS, or tini as the entrypoint on EKS"
				f.Reference = refJobCenter
			}
			if set.Init == nil {
				f.Detail += " (--init was left to the daemon's default, daemon.json \"init\", which is false unless set.)"
			}
			add(f)
		}
		if set.Privileged {
			add(diag.Finding{
				Code: CodePrivileged, Severity: diag.Warning,
				Title:     "Runs privileged",
				Detail:    "A privileged container has every capability and every device of the host: a compromise of it is a compromise of the host.",
				Remedy:    "Recreate it with only what it needs: --cap-add for the capabilities, --device for the devices, instead of --privileged",
				Evidence:  []string{"privileged: true"},
				Reference: refRun,
			})
		}
		for _, m := range set.Mounts {
			if m.Type == "bind" && slices.Contains(sockets, m.Source) {
				add(diag.Finding{
					Code: CodeDockerSocket, Severity: diag.Warning,
					Title: "The Docker socket is mounted",
					Detail: "With the engine's socket it can create a privileged container that mounts the host's root: full control " +
						"of the host. A read-only mount does not help; the API stays writable.",
					Remedy:    "Remove the mount if it is not needed; otherwise put a socket proxy in front that allows only the API calls it uses",
					Evidence:  []string{"mount " + m.Source + ":" + m.Destination},
					Reference: "Docker documentation: Docker daemon attack surface",
				})
				break
			}
		}
		if set.LogDriver == "json-file" && (set.LogOptions["max-size"] == "" || set.LogOptions["max-size"] == "-1") {
			add(diag.Finding{
				Code: CodeUnboundedLog, Severity: diag.Warning,
				Title: "Logs to json-file without a size limit",
				Detail: "Its log grows without end in the engine's data root (/var/lib/docker/containers), until the disk is full " +
					"and the engine fails with \"no space left on device\".",
				Remedy: "Recreate it with `--log-opt max-size=10m --log-opt max-file=3`; for all new containers set \"log-opts\": " +
					"{\"max-size\": \"10m\", \"max-file\": \"3\"} in /etc/docker/daemon.json and restart the daemon (existing containers keep their settings)",
				Evidence:  []string{"log driver json-file, max-size not set"},
				Reference: refLogging,
			})
		}
	}
	return out, snap.err
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func healthText(h []string) string {
	if len(h) == 0 {
		return "none"
	}
	if h[0] == "NONE" {
		return "disabled (NONE)"
	}
	return strings.Join(h, " ")
}

func initText(b *bool) string {
	switch {
	case b == nil:
		return "daemon default"
	case *b:
		return "true"
	}
	return "false"
}

func firstProcess(ins container.InspectResult) string {
	argv := ins.Entrypoint
	if len(argv) == 0 {
		argv = ins.Cmd
	}
	if len(argv) == 0 {
		return "unknown"
	}
	return argv[0]
}

// crashes reports OOM kills and restart loops of the selected containers,
// whatever their state.
func (e *checker) crashes(ctx context.Context) ([]diag.Finding, error) {
	snap, err := e.snapshot(ctx)
	if err != nil {
		return nil, err
	}
	now := e.o.Now()
	var out []diag.Finding
	for _, x := range snap.selected {
		ins, set := x.ins, x.set
		subj := e.containerSubject(ins.ID, ins.Name)
		if ins.OOMKilled {
			f := diag.Finding{
				Code: CodeOOMKilled, Severity: diag.Critical, Subject: subj,
				Title:  "Killed by the kernel's OOM killer",
				Detail: "It used more memory than its limit (or the host had none left), and the kernel killed it; it is down.",
				Remedy: fmt.Sprintf("Raise its memory limit if the workload needs more (`docker update --memory ... %s`), or find what grows: `docker stats %s` while it runs, its logs before the kill", ins.Name, ins.Name),
				Evidence: []string{
					fmt.Sprintf("state %s, exit code %d", ins.State, ins.ExitCode),
					"memory limit: " + memText(ins.MemoryLimit),
				},
				Reference: refRun,
			}
			if !ins.FinishedAt.IsZero() {
				f.Evidence = append(f.Evidence, "killed at "+ins.FinishedAt.UTC().Format(time.RFC3339))
			}
			if ins.State == container.Running {
				f.Severity = diag.Warning
				f.Detail = "It used more memory than its limit (or the host had none left) before its last start, and the kernel killed it; it has been started again and may be killed again."
			}
			out = append(out, f)
		}
		if f, ok := e.restartLoop(ins, set, now); ok {
			f.Subject = subj
			out = append(out, f)
		}
	}
	return out, snap.err
}

func (e *checker) restartLoop(ins container.InspectResult, set container.Settings, now time.Time) (diag.Finding, bool) {
	rl := e.o.RestartLoop
	ev := []string{
		fmt.Sprintf("state %s, restarted %d times by the engine, last exit code %d", ins.State, ins.RestartCount, ins.ExitCode),
		"restart policy: " + orNone(set.RestartPolicy),
	}
	if !ins.StartedAt.IsZero() {
		ev = append(ev, fmt.Sprintf("last started %s (%s ago)", ins.StartedAt.UTC().Format(time.RFC3339), now.Sub(ins.StartedAt).Round(time.Second)))
	}
	const remedy = "Find out why it exits: `docker logs --tail 50 %s` and its exit code (137: killed, often by the OOM killer; 126/127: command not executable or not found; 1: the application's own error); fix that, then `docker restart %s`"
	recent := !ins.StartedAt.IsZero() && now.Sub(ins.StartedAt) < rl.Within
	switch {
	case ins.State == container.Restarting || (ins.RestartCount >= rl.Restarts && recent && ins.State == container.Running):
		return diag.Finding{
			Code: CodeRestartLoop, Severity: diag.Critical,
			Title:     "In a restart loop",
			Detail:    "It keeps exiting and the engine keeps restarting it under its restart policy, waiting longer each time: the service it provides is down most of the time.",
			Remedy:    fmt.Sprintf(remedy, ins.Name, ins.Name),
			Evidence:  ev,
			Reference: refRun,
		}, true
	case ins.State == container.Exited && set.RestartPolicy == "on-failure" && set.MaxRetries > 0 && ins.RestartCount >= set.MaxRetries && ins.ExitCode != 0:
		return diag.Finding{
			Code: CodeRestartGaveUp, Severity: diag.Critical,
			Title:     fmt.Sprintf("Failed %d times; the engine stopped restarting it", ins.RestartCount+1),
			Detail:    fmt.Sprintf("Its restart policy on-failure:%d is used up: it stays down.", set.MaxRetries),
			Remedy:    fmt.Sprintf(remedy, ins.Name, ins.Name),
			Evidence:  ev,
			Reference: refRun,
		}, true
	}
	return diag.Finding{}, false
}

func memText(n int64) string {
	if n == 0 {
		return "none"
	}
	return formatBytes(n)
}

// formatBytes renders n in binary units ("1.5 GiB").
func formatBytes(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
