package jobfile_test

import (
	"testing"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/job"
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

func TestBuildAdoptable(t *testing.T) {
	def, err := jobfile.Parse([]byte(issueExample))
	require.NoError(t, err)
	c, err := container.New(container.DefaultConfig())
	require.NoError(t, err)
	defer c.Close()
	n, err := jobfile.Build(def, c, jobfile.BuildOptions{RunID: "nightly-1", Adoptable: true})
	require.NoError(t, err)
	_, ok := n.Units[0].Action.(job.Adopter)
	assert.True(t, ok, "a run unit is adoptable")
	_, ok = n.Units[1].Action.(job.Adopter)
	assert.False(t, ok, "an exec unit is not")

	n, err = jobfile.Build(def, c, jobfile.BuildOptions{RunID: "nightly-1"})
	require.NoError(t, err)
	_, ok = n.Units[0].Action.(job.Adopter)
	assert.False(t, ok, "not without Adoptable")

	_, err = jobfile.Build(def, c, jobfile.BuildOptions{Adoptable: true})
	assert.ErrorContains(t, err, "adoptable units need a run ID")
}
