package container_test

import (
	"context"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRealInfoAndDiskUsage(t *testing.T) {
	t.Parallel()
	h, c := realClient(t)
	ctx := context.Background()
	info, err := c.Info(ctx)
	require.NoError(t, err)
	assert.NotEmpty(t, info.ID)
	assert.NotEmpty(t, info.ServerVersion)
	assert.Contains(t, []string{"cgroupfs", "systemd"}, info.CgroupDriver)
	assert.Contains(t, []string{"1", "2"}, info.CgroupVersion)
	assert.Positive(t, info.NCPU)
	assert.Positive(t, info.MemTotal)
	assert.Equal(t, "linux", info.OSType)

	x := h.Run(t, dockertest.RunOptions{Args: []string{"write", "/f", "2", "--", "sleep", "forever"}})
	h.WaitState(t, x.ID, "running", 10*time.Second)
	require.Eventually(t, func() bool {
		top, err := c.Top(ctx, x.ID, container.TopOptions{})
		return err == nil && len(top.Processes) == 1 && top.Processes[0][top.Column("CMD")] != ""
	}, 10*time.Second, 100*time.Millisecond)
	time.Sleep(500 * time.Millisecond) // the write step finishes well within this
	du, err := c.DiskUsage(ctx)
	require.NoError(t, err)
	assert.Positive(t, du.LayersSize, "the test image has a layer")
	var found bool
	for _, cu := range du.Containers {
		if cu.ID == x.ID {
			found = true
			assert.Equal(t, x.Name, cu.Name)
			assert.Equal(t, container.Running, cu.State)
			assert.GreaterOrEqual(t, cu.SizeRw, int64(2<<20))
		}
	}
	assert.True(t, found)
	assert.NotEmpty(t, du.Images)
}
