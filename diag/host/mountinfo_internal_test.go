package host

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseMountinfo(t *testing.T) {
	text := "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n" +
		"garbage line\n" +
		"45 27 254:0 /var/lib/docker /var/lib/docker rw,relatime shared:1 master:2 - ext4 /dev/vda rw\n" +
		"46 27 8:17 / /mnt/data\\040disk rw - xfs /dev/sdb1 rw\n" +
		"47 27 8:17 / /no-fstype rw -\n"
	ms := parseMountinfo(text)
	assert.Equal(t, []mountEntry{
		{Device: "254:0", Root: "/", MountPoint: "/", FSType: "ext4", Source: "/dev/vda"},
		{Device: "254:0", Root: "/var/lib/docker", MountPoint: "/var/lib/docker", FSType: "ext4", Source: "/dev/vda"},
		{Device: "8:17", Root: "/", MountPoint: "/mnt/data disk", FSType: "xfs", Source: "/dev/sdb1"},
	}, ms)

	m, ok := mountFor(ms, "/var/lib/docker/overlay2")
	assert.True(t, ok)
	assert.Equal(t, "/var/lib/docker", m.MountPoint)
	m, _ = mountFor(ms, "/var/lib/dockerx")
	assert.Equal(t, "/", m.MountPoint, "a prefix that is not a path component does not count")
	m, _ = mountFor(ms, "/mnt/data disk/docker")
	assert.Equal(t, "8:17", m.Device)
	_, ok = mountFor(nil, "/")
	assert.False(t, ok)

	// The last mount on a point hides the earlier ones.
	m, _ = mountFor(parseMountinfo("1 0 1:1 / /x rw - ext4 a rw\n2 0 1:2 / /x rw - ext4 b rw\n"), "/x/y")
	assert.Equal(t, "b", m.Source)
}

func TestFormatBytes(t *testing.T) {
	assert.Equal(t, "512 B", formatBytes(512))
	assert.Equal(t, "1.5 KiB", formatBytes(1536))
	assert.Equal(t, "20.0 GiB", formatBytes(20<<30))
	assert.Equal(t, "16.0 EiB", formatBytes(1<<64-1))
}

func FuzzParseMountinfo(f *testing.F) {
	f.Add("27 1 254:0 / / rw,relatime - ext4 /dev/vda rw\n")
	f.Add("46 27 8:17 / /mnt/data\\040disk rw - xfs /dev/sdb1 rw\n")
	f.Add("1 2 3 4 5 6 - \\7\\77\\777 x\n")
	f.Fuzz(func(t *testing.T, text string) {
		ms := parseMountinfo(text)
		for _, m := range ms {
			mountFor(ms, m.MountPoint)
		}
		mountFor(ms, "/var/lib/docker")
	})
}
