package docker

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/diag"
)

// shownItems is how many images or volumes a finding lists by name.
const shownItems = 5

// Engines before Docker 23 refuse a disk-usage request while another one
// runs (docker system df elsewhere); the check then tries again.
const (
	diskUsageBusy     = "disk usage operation is already running"
	diskUsageAttempts = 5
	diskUsageBackoff  = 250 * time.Millisecond
)

// diskUsage asks for the reclaimable space, waiting out another client's
// disk-usage request.
func (e *checker) diskUsage(ctx context.Context) (container.ReclaimableResult, error) {
	for attempt := 1; ; attempt++ {
		r, err := e.c.Reclaimable(ctx)
		if err == nil || !strings.Contains(err.Error(), diskUsageBusy) {
			return r, err
		}
		if attempt == diskUsageAttempts {
			return r, fmt.Errorf("%w (another client kept the engine busy computing disk usage; tried %d times)", err, attempt)
		}
		select {
		case <-time.After(time.Duration(attempt) * diskUsageBackoff):
		case <-ctx.Done():
			return r, fmt.Errorf("%w (waiting for another client's disk-usage request: %w)", err, ctx.Err())
		}
	}
}

// reclaimable reports the space held by dangling images and by volumes no
// container uses.
func (e *checker) reclaimable(ctx context.Context) ([]diag.Finding, error) {
	r, err := e.diskUsage(ctx)
	if err != nil {
		return nil, err
	}
	var out []diag.Finding
	if n := len(r.DanglingImages); n > 0 {
		var total int64
		var ev []string
		for i, im := range r.DanglingImages {
			own := im.Size
			if im.SharedSize > 0 && im.SharedSize <= im.Size {
				own = im.Size - im.SharedSize
			}
			total += own
			if i < shownItems {
				ev = append(ev, fmt.Sprintf("%s: %s", shortImageID(im.ID), formatBytes(own)))
			}
		}
		if n > shownItems {
			ev = append(ev, fmt.Sprintf("and %d more", n-shownItems))
		}
		f := diag.Finding{
			Code: CodeDanglingImages, Severity: diag.Info, Subject: e.engineSubject(),
			Title: fmt.Sprintf("%d dangling %s %s %s", n, plural(n, "image", "images"), plural(n, "holds", "hold"), formatBytes(total)),
			Detail: "Dangling images have no tag and no container uses them: they are left over from builds and from pulls of " +
				"a tag that moved. They fill the engine's data root.",
			Remedy:    "`docker image prune` removes them; nothing is lost that a pull or build cannot bring back",
			Evidence:  append([]string{fmt.Sprintf("%s in %d %s", formatBytes(total), n, plural(n, "image", "images"))}, ev...),
			Reference: "Docker documentation: prune unused Docker objects",
		}
		if total >= e.o.ReclaimWarnBytes {
			f.Severity = diag.Warning
		}
		out = append(out, f)
	}
	if n := len(r.UnusedVolumes); n > 0 {
		var total int64
		anon, unknown := 0, 0
		var ev []string
		for i, v := range r.UnusedVolumes {
			if v.Size > 0 {
				total += v.Size
			}
			if v.Size < 0 {
				unknown++
			}
			if v.Anonymous {
				anon++
			}
			if i < shownItems {
				size := "size unknown"
				if v.Size >= 0 {
					size = formatBytes(v.Size)
				}
				kind := "named"
				if v.Anonymous {
					kind = "anonymous"
				}
				ev = append(ev, fmt.Sprintf("%s (%s, %s): %s", shortVolume(v.Name), kind, v.Driver, size))
			}
		}
		if n > shownItems {
			ev = append(ev, fmt.Sprintf("and %d more", n-shownItems))
		}
		summary := fmt.Sprintf("%s in %d %s (%d anonymous, %d named)", formatBytes(total), n, plural(n, "volume", "volumes"), anon, n-anon)
		if unknown > 0 {
			summary += fmt.Sprintf(", %d of unknown size", unknown)
		}
		f := diag.Finding{
			Code: CodeUnusedVolumes, Severity: diag.Info, Subject: e.engineSubject(),
			Title: fmt.Sprintf("%d %s no container uses %s %s", n, plural(n, "volume", "volumes"), plural(n, "holds", "hold"), formatBytes(total)),
			Detail: "No container, running or stopped, mounts them. Anonymous ones are usually left over from removed containers " +
				"(docker rm without -v); named ones may hold data someone still needs.",
			Remedy: "Check what they hold (`docker volume inspect`, or mount one in a throwaway container) and back up what is needed; " +
				"then `docker volume prune` removes the unused anonymous volumes (add --all for named ones; engines before Docker 23 remove both). Their data is lost",
			Evidence:  append([]string{summary}, ev...),
			Reference: "Docker documentation: prune unused Docker objects",
		}
		if total >= e.o.ReclaimWarnBytes {
			f.Severity = diag.Warning
		}
		out = append(out, f)
	}
	return out, nil
}

func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func shortImageID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		id = id[:12]
	}
	return id
}

func shortVolume(name string) string {
	if len(name) == 64 {
		return name[:12]
	}
	return name
}
