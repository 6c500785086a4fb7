package jobfile_test

import (
	"testing"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/job/jobfile"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBuild(t *testing.T) {
	def, err := jobfile.Parse([]byte(issueExample))
	require.NoError(t, err)
	c, err := container.New(container.DefaultConfig()) // Build does not contact the engine
	require.NoError(t, err)
	defer c.Close()
	n, err := jobfile.Build(def, c, jobfile.BuildOptions{RunID: "nightly-1"})
	require.NoError(t, err)
	assert.Equal(t, "nightly", n.Name)
	assert.Equal(t, 2, n.Concurrency)
	require.Len(t, n.Units, 3)
	for i, u := range n.Units {
		assert.Equal(t, def.Units[i].Name, u.Name)
		assert.NotNil(t, u.Action)
		assert.Equal(t, def.Units[i].Needs, u.Needs)
		assert.Equal(t, def.Units[i].Timeout, u.Timeout)
	}
	assert.Equal(t, 2, n.Units[1].Retry.Limit)
	assert.Equal(t, "failure", n.Units[2].When.On)
	assert.NoError(t, n.Validate())
}
