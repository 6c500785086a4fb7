package host

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/minato-ops/minato/diag"
)

// dataRoot is D21: the file system holding the engine's data root fills
// up with images, writable layers, volumes and logs; past a point the
// engine fails with "no space left on device".
func (h *hostChecks) dataRoot(ctx context.Context) ([]diag.Finding, error) {
	facts, err := h.engine(ctx)
	if err != nil {
		return nil, fmt.Errorf("cannot ask the engine for its data root: %w", err)
	}
	dir := facts.DataRoot
	if dir == "" {
		dir = DefaultDataRoot
	}
	full := h.path(dir)
	if h.o.Root == DefaultRoot {
		if r, err := filepath.EvalSymlinks(full); err == nil {
			full = r
		}
	}
	if _, err := os.Stat(full); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("the engine's data root %s is not visible from here: run the host checks on the engine's host, outside a container or with the data root mounted", dir)
		}
		return nil, hostErr(dir, err)
	}
	statfs := h.o.Statfs
	if statfs == nil {
		statfs = statfsUsage
	}
	u, err := statfs(full)
	if err != nil {
		return nil, fmt.Errorf("statfs %s: %w", dir, err)
	}
	subj := h.subject()
	var out []diag.Finding
	const why = "Images, container writable layers, volumes and json-file logs all live there. "
	const remedy = "Free space: remove stopped containers and unused images (`docker container prune`, `docker image prune -a` removes every image no container uses), " +
		"cap container logs (log-opts max-size and max-file), or move the data root to a larger data disk as the Container Service FAQ describes"
	if p := u.UsedPercent(); p >= h.o.DiskWarnPercent {
		f := diag.Finding{
			Code: "D21", Severity: diag.Warning, Subject: subj,
			Title: fmt.Sprintf("Docker data root %s is %.0f %% full", dir, p),
			Detail: why + fmt.Sprintf("From %.0f %% one large image pull, build or burst of log output can fill the disk; the engine then fails with "+
				"\"no space left on device\": containers cannot start, write or log.", h.o.DiskCriticalPercent),
			Remedy:    remedy,
			Evidence:  []string{fmt.Sprintf("%s: %.1f %% of %s used, %s available", dir, p, formatBytes(u.Size), formatBytes(u.Avail))},
			Reference: refDataDisk,
		}
		if p >= h.o.DiskCriticalPercent {
			f.Severity = diag.Critical
			f.Detail = why + "So little is left that one image pull, build or burst of log output fills it; the engine then fails with " +
				"\"no space left on device\": containers cannot start, write or log."
		}
		out = append(out, f)
	}
	if p := u.InodesUsedPercent(); p >= h.o.DiskWarnPercent {
		f := diag.Finding{
			Code: "D21", Severity: diag.Warning, Subject: subj,
			Title: fmt.Sprintf("Docker data root %s has used %.0f %% of its inodes", dir, p),
			Detail: "Every file of every image layer and container takes an inode; when they run out the engine fails with " +
				"\"no space left on device\" although space is free.",
			Remedy:    "Remove unused images, stopped containers and build cache (`docker image prune -a`, `docker container prune`, `docker builder prune`), or move the data root to a file system with more inodes",
			Evidence:  []string{fmt.Sprintf("%s: %.1f %% of %d inodes used", dir, p, u.Inodes)},
			Reference: refDataDisk,
		}
		if p >= h.o.DiskCriticalPercent {
			f.Severity = diag.Critical
		}
		out = append(out, f)
	}
	if f, ok := h.onRootFS(dir, full, subj); ok {
		out = append(out, f)
	}
	return out, nil
}

// onRootFS reports the Info finding for a data root on the root file
// system, when the mount table can tell.
func (h *hostChecks) onRootFS(dir, full string, subj diag.Subject) (diag.Finding, bool) {
	data, err := os.ReadFile(h.path("/proc/self/mountinfo"))
	if err != nil {
		return diag.Finding{}, false
	}
	mounts := parseMountinfo(string(data))
	rel := full
	if h.o.Root != DefaultRoot {
		r, err := filepath.Rel(h.o.Root, full)
		if err != nil || strings.HasPrefix(r, "..") {
			return diag.Finding{}, false
		}
		rel = "/" + filepath.ToSlash(r)
	}
	dm, ok1 := mountFor(mounts, rel)
	rm, ok2 := mountFor(mounts, "/")
	if !ok1 || !ok2 || dm.Device != rm.Device {
		return diag.Finding{}, false
	}
	return diag.Finding{
		Code: "D21", Severity: diag.Info, Subject: subj,
		Title: fmt.Sprintf("Docker data root %s is on the root file system", dir),
		Detail: "Images and containers grow with use, and many images are large: a few can fill the disk, and a full root " +
			"file system also stops the operating system's own logging and updates. A separate data disk keeps the two apart.",
		Remedy: "Give Docker a data disk: attach and format it (for example /dev/vdb1 with mkfs.ext4); `service docker stop`; " +
			"`mv /var/lib/docker /var/lib/docker_data`; `echo \"/dev/vdb1 /var/lib/docker ext4 defaults 0 0\" >> /etc/fstab && mkdir /var/lib/docker && mount -a`; " +
			"`mv /var/lib/docker_data/* /var/lib/docker/`; `service docker start`; check with `df -h` that /var/lib/docker is on the new disk and with `docker ps` that no container is missing; " +
			"start the containers that have no restart policy",
		Evidence:  []string{fmt.Sprintf("%s is on %s (%s, device %s), the same device as /", dir, dm.Source, dm.FSType, dm.Device)},
		Reference: refDataDisk,
	}, true
}

// mountEntry is one line of /proc/self/mountinfo.
type mountEntry struct {
	// Device is "major:minor"; Root the mounted directory of that file
	// system; MountPoint where it is mounted.
	Device, Root, MountPoint string
	FSType, Source           string
}

// parseMountinfo reads /proc/self/mountinfo text (proc(5)); malformed lines
// are skipped.
func parseMountinfo(text string) []mountEntry {
	var out []mountEntry
	for line := range strings.SplitSeq(text, "\n") {
		f := strings.Fields(line)
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+2 >= len(f) {
			continue
		}
		out = append(out, mountEntry{
			Device: f[2], Root: unescapeMount(f[3]), MountPoint: unescapeMount(f[4]),
			FSType: f[sep+1], Source: unescapeMount(f[sep+2]),
		})
	}
	return out
}

// unescapeMount undoes the kernel's octal escapes ("\040" for a space).
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) && isOctal(s[i+1]) && isOctal(s[i+2]) && isOctal(s[i+3]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(c byte) bool { return c >= '0' && c <= '7' }

// mountFor returns the mount that holds path: the longest mount point
// that contains it, the last mounted among equals.
func mountFor(mounts []mountEntry, path string) (mountEntry, bool) {
	var best mountEntry
	found := false
	for _, m := range mounts {
		mp := m.MountPoint
		if mp != "/" && path != mp && !strings.HasPrefix(path, mp+"/") {
			continue
		}
		if !found || len(mp) >= len(best.MountPoint) {
			best, found = m, true
		}
	}
	return best, found
}

// formatBytes renders n in binary units ("20.0 GiB").
func formatBytes(n uint64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := uint64(unit), 0
	for m := n / unit; m >= unit && exp < 5; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}
