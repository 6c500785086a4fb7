package dockerinv

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
)

// listSep joins list attributes, as inventory.Item documents.
const listSep = ", "

// rfc3339 renders t in UTC at second precision, "" for the zero time.
func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// rfc3339Nano renders t in UTC with the engine's sub-second precision, ""
// for the zero time.
func rfc3339Nano(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339Nano)
}

// containerItem is a container as the list call reports it. Every list
// attribute is set, empty when the container has none (no published
// ports, no address).
func containerItem(s container.Summary, engine string) inventory.Item {
	mounts := make([]string, len(s.Mounts))
	for i, m := range s.Mounts {
		mounts[i] = m.String()
	}
	slices.Sort(mounts)
	it := inventory.Item{
		Target: s.Target(engine),
		State:  string(s.State),
		Attrs: map[string]string{
			inventory.AttrImage:    s.Image,
			inventory.AttrImageID:  s.ImageID,
			inventory.AttrCommand:  s.Command,
			inventory.AttrCreated:  rfc3339(s.Created),
			inventory.AttrStatus:   s.Status,
			inventory.AttrNetworks: strings.Join(s.Networks, listSep),
			inventory.AttrMounts:   strings.Join(mounts, listSep),
		},
	}
	// The engine reports published ports and addresses only while the
	// container runs: for a stopped one they are unknown, not empty (a
	// repository keeps what it last saw, and a stop is no port change).
	if s.State == container.Running || s.State == container.Paused || s.State == container.Restarting {
		it.Attrs[inventory.AttrPorts] = container.FormatPorts(s.Ports)
		it.Attrs[inventory.AttrIPAddress] = s.IPAddress
	}
	return it
}

// addInspect adds the inspect attributes of r to attrs.
func addInspect(attrs map[string]string, r container.InspectResult) {
	attrs[inventory.AttrExitCode] = strconv.Itoa(r.ExitCode)
	attrs[inventory.AttrStartedAt] = rfc3339Nano(r.StartedAt)
	attrs[inventory.AttrFinishedAt] = rfc3339Nano(r.FinishedAt)
	attrs[inventory.AttrOOMKilled] = strconv.FormatBool(r.OOMKilled)
	attrs[inventory.AttrRestartCount] = strconv.Itoa(r.RestartCount)
	attrs[inventory.AttrHealth] = r.Health
	attrs[inventory.AttrPID] = strconv.Itoa(r.Pid)
}

// imageItem is an image; its Target name is its first tag in sorted order,
// empty for an untagged image.
func imageItem(im container.Image, engine string) inventory.Item {
	t := inventory.Target{Kind: inventory.KindImage, ID: im.ID, Engine: engine, Labels: im.Labels}
	if len(im.Tags) > 0 {
		t.Name = im.Tags[0]
	}
	attrs := map[string]string{
		inventory.AttrTags: strings.Join(im.Tags, listSep),
		inventory.AttrSize: strconv.FormatInt(im.Size, 10),
	}
	if !im.Created.IsZero() {
		attrs[inventory.AttrCreated] = rfc3339(im.Created)
	}
	return inventory.Item{Target: t, Attrs: attrs}
}

// networkItem is a network; its Target ID is the network ID.
func networkItem(n container.Network, engine string) inventory.Item {
	attrs := map[string]string{inventory.AttrDriver: n.Driver, inventory.AttrScope: n.Scope}
	if !n.Created.IsZero() {
		attrs[inventory.AttrCreated] = rfc3339(n.Created)
	}
	return inventory.Item{Target: inventory.Target{Kind: inventory.KindNetwork, ID: n.ID, Name: n.Name, Engine: engine, Labels: n.Labels}, Attrs: attrs}
}

// volumeItem is a volume; its Target ID and name are the volume name.
func volumeItem(v container.Volume, engine string) inventory.Item {
	attrs := map[string]string{inventory.AttrDriver: v.Driver, inventory.AttrMountpoint: v.Mountpoint}
	if !v.Created.IsZero() {
		attrs[inventory.AttrCreated] = rfc3339(v.Created)
	}
	return inventory.Item{Target: inventory.Target{Kind: inventory.KindVolume, ID: v.Name, Name: v.Name, Engine: engine, Labels: v.Labels}, Attrs: attrs}
}
