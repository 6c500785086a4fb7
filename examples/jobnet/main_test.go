package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestExampleRuns builds the example and runs it on the real engine with
// the testbox image and a running worker container.
func TestExampleRuns(t *testing.T) {
	h := dockertest.New(t)
	img := h.Image(t)
	w := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}})
	h.WaitState(t, w.ID, "running", 10*time.Second)
	bin := filepath.Join(t.TempDir(), "jobnet")
	build := exec.Command("go", "build", "-o", bin, ".")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "%s", out)

	cmd := exec.Command(bin, "-image", img, "-container", w.Name)
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+h.Host)
	out, err = cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	text := string(out)
	for _, want := range []string{"ok prepare in ", "ok check in ", "ok cleanup in ",
		"prepare succeeded exit=0 attempts=1", "check succeeded exit=0 attempts=1", "cleanup succeeded", "alert skipped"} {
		assert.True(t, strings.Contains(text, want), "%q missing from:\n%s", want, text)
	}

	// A missing image makes prepare fail: the alert branch runs, exit 9.
	cmd = exec.Command(bin, "-image", "minato-no-such-image:0")
	cmd.Env = append(os.Environ(), "DOCKER_HOST="+h.Host)
	out, err = cmd.CombinedOutput()
	var ee *exec.ExitError
	require.ErrorAs(t, err, &ee, "%s", out)
	assert.Equal(t, 9, ee.ExitCode())
	assert.Contains(t, string(out), "!! prepare failed")
	assert.Contains(t, string(out), "alert succeeded")
}
