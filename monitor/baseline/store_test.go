package baseline_test

import (
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"testing"

	"github.com/minato-ops/minato/monitor/baseline"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestUpdateRoundTrip(t *testing.T) {
	st, err := baseline.Open(t.TempDir() + "/b")
	require.NoError(t, err)
	var seen []string
	for i := 0; i < 3; i++ {
		require.NoError(t, st.Update("k", func(prev []byte) ([]byte, error) {
			seen = append(seen, string(prev))
			return []byte(strconv.Itoa(i)), nil
		}))
	}
	assert.Equal(t, []string{"", "0", "1"}, seen)
	got, err := st.Get("k")
	require.NoError(t, err)
	assert.Equal(t, "2", string(got))
	fi, err := os.Stat(st.Path("k"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())

	// An error from fn writes nothing; nil bytes delete.
	assert.EqualError(t, st.Update("k", func([]byte) ([]byte, error) { return []byte("x"), fmt.Errorf("boom") }), "boom")
	got, _ = st.Get("k")
	assert.Equal(t, "2", string(got))
	require.NoError(t, st.Update("k", func([]byte) ([]byte, error) { return nil, nil }))
	got, err = st.Get("k")
	require.NoError(t, err)
	assert.Nil(t, got)
}

func TestCheckKey(t *testing.T) {
	for _, ok := range []string{"hoge", "docker_host1_CONTAINER_CPU", "a.b-c"} {
		assert.NoError(t, baseline.CheckKey(ok))
	}
	for _, bad := range []string{"", ".hidden", "../etc/passwd", "a/b", "sp ace", string(make([]byte, 201))} {
		assert.ErrorIs(t, baseline.CheckKey(bad), baseline.ErrBadKey, "%q", bad)
	}
	st, _ := baseline.Open(t.TempDir())
	assert.ErrorIs(t, st.Update("../x", func(p []byte) ([]byte, error) { return p, nil }), baseline.ErrBadKey)
}

// TestConcurrentUpdatesAcrossProcesses proves the lock works between
// processes: 4 processes × 50 increments each lose no update.
func TestConcurrentUpdatesAcrossProcesses(t *testing.T) {
	if os.Getenv("BASELINE_CHILD") != "" {
		st, err := baseline.Open(os.Getenv("BASELINE_DIR"))
		require.NoError(t, err)
		for i := 0; i < 50; i++ {
			require.NoError(t, st.Update("counter", increment))
		}
		return
	}
	dir := t.TempDir()
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(os.Args[0], "-test.run=^TestConcurrentUpdatesAcrossProcesses$")
			cmd.Env = append(os.Environ(), "BASELINE_CHILD=1", "BASELINE_DIR="+dir)
			out, err := cmd.CombinedOutput()
			assert.NoError(t, err, "%s", out)
		}()
	}
	// And goroutines in this process at the same time.
	st, err := baseline.Open(dir)
	require.NoError(t, err)
	for i := 0; i < 4; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				assert.NoError(t, st.Update("counter", increment))
			}
		}()
	}
	wg.Wait()
	got, err := st.Get("counter")
	require.NoError(t, err)
	assert.Equal(t, "400", string(got))
}

func increment(prev []byte) ([]byte, error) {
	n := 0
	if prev != nil {
		var err error
		if n, err = strconv.Atoi(string(prev)); err != nil {
			return nil, err
		}
	}
	return []byte(strconv.Itoa(n + 1)), nil
}

func TestDefaultDir(t *testing.T) {
	t.Setenv("XDG_STATE_HOME", "/var/tmp/xdg")
	d, err := baseline.DefaultDir()
	require.NoError(t, err)
	assert.Equal(t, "/var/tmp/xdg/minato/baseline", d)
	t.Setenv("XDG_STATE_HOME", "")
	t.Setenv("HOME", "/home/op")
	d, err = baseline.DefaultDir()
	require.NoError(t, err)
	assert.Equal(t, "/home/op/.local/state/minato/baseline", d)
}
