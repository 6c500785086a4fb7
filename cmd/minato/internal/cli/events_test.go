package cli

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/clienttest"
	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEventsUsageErrors(t *testing.T) {
	host := dockertest.Unreachable(t)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"monitor", "events", "-f", "x"}, "needs -k KEY_ID"},
		{[]string{"monitor", "events", "-k", "a/b", "-f", "x"}, `-k: bad key "a/b"`},
		{[]string{"monitor", "events", "-k", "e"}, "give -s HOST:PORT or -f FILE"},
		{[]string{"monitor", "events", "-k", "e", "-f", "x", "-s", "127.0.0.1:514"}, "not both"},
		{[]string{"monitor", "events", "-k", "e", "-s", "nohost"}, `-s "nohost": want HOST:PORT`},
		{[]string{"monitor", "events", "-k", "e", "-s", "127.0.0.1:514", "--syslog-format", "json"}, `--syslog-format "json"`},
		{[]string{"monitor", "events", "-k", "e", "-f", "x", "-c", "xyz"}, `container ID "xyz"`},
		{[]string{"monitor", "events", "-k", "e", "-f", "x", "extra"}, "takes no arguments"},
		{[]string{"monitor", "events", "-k", "e", "-f", "x", "-p", "2375"}, "-p 2375 given without -i"},
	}
	for _, c := range cases {
		code, out, errs := run(t, host, c.args...)
		assert.Equal(t, 1, code, "%v", c.args)
		assert.Empty(t, out, "%v", c.args)
		assert.Contains(t, errs, c.want, "%v", c.args)
	}
}

func TestEventText(t *testing.T) {
	tm := time.Date(2015, 9, 6, 8, 18, 44, 123456789, time.UTC)
	id := "d7ee4d6ee44cd4fc60127765408f5384f215dcd18a62545a36b42e3f91104482"
	cases := []struct {
		e    container.Event
		want string
	}{
		{container.Event{Time: tm, Type: "container", Action: "restart", ActorID: id, Attributes: map[string]string{"image": "httpd:2.4", "name": "web", "com.example": "x"}},
			"time=2015-09-06T08:18:44.123456789Z type=container action=restart id=" + id + " image=httpd:2.4 name=web"},
		{container.Event{Time: tm, Type: "container", Action: "die", ActorID: id, Attributes: map[string]string{"image": "httpd:2.4", "name": "web", "exitCode": "137"}},
			"time=2015-09-06T08:18:44.123456789Z type=container action=die id=" + id + " image=httpd:2.4 name=web exitCode=137"},
		{container.Event{Time: tm, Type: "container", Action: "health_status: unhealthy", ActorID: id},
			`time=2015-09-06T08:18:44.123456789Z type=container action="health_status: unhealthy" id=` + id},
		{container.Event{Time: tm, Type: "network", Action: "connect", ActorID: "n1", Attributes: map[string]string{"name": "bridge", "container": id}},
			"time=2015-09-06T08:18:44.123456789Z type=network action=connect id=n1 name=bridge"},
		{container.Event{Time: tm, Type: "minato", Action: "gap", ActorID: "ENG:ID", Attributes: map[string]string{"since": "2015-09-06T08:00:00Z", "reason": "engine ID changed"}},
			`time=2015-09-06T08:18:44.123456789Z type=minato action=gap id=ENG:ID reason="engine ID changed" since=2015-09-06T08:00:00Z`},
		{container.Event{Time: tm, Type: "minato", Action: "reconcile", ActorID: id, Attributes: map[string]string{"name": "web", "image": "httpd", "state": "exited", "status": "Exited (0) 2 hours ago"}},
			`time=2015-09-06T08:18:44.123456789Z type=minato action=reconcile id=` + id + ` image=httpd name=web state=exited status="Exited (0) 2 hours ago"`},
	}
	for _, c := range cases {
		assert.Equal(t, c.want, eventText(c.e))
	}
}

// engineEvents is the engine's own list of the harness's container events
// since t0.
func engineEvents(t *testing.T, h *dockertest.Harness, t0 time.Time) []string {
	t.Helper()
	c := clienttest.New(t, h)
	var out []string
	err := c.Events(context.Background(), container.EventsOptions{Since: t0, Until: time.Now(),
		Filters: map[string][]string{"type": {"container"}, "label": {dockertest.LabelKey + "=" + h.RunID()}}}, func(e container.Event) error {
		out = append(out, e.Action+" "+e.ActorID)
		return nil
	})
	require.NoError(t, err)
	return out
}

// stopNow runs a container and stops it, waiting for the engine's stop
// event (logged after the API call returns).
func stopNow(t *testing.T, h *dockertest.Harness) {
	t.Helper()
	c := clienttest.New(t, h)
	ctr := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}})
	zero := time.Duration(0)
	_, err := c.Stop(context.Background(), ctr.ID, container.StopOptions{Grace: &zero})
	require.NoError(t, err)
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		evs := engineEvents(t, h, time.Now().Add(-time.Minute))
		if len(evs) > 0 && evs[len(evs)-1] == "stop "+ctr.ID {
			return
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no stop event for %.12s", ctr.ID)
}

var eventLineRE = regexp.MustCompile(`^\[(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:Z|[+-]\d\d:\d\d)) docker_host1\] time=\S+ type=container action=(\S+) id=([0-9a-f]{64}) image=\S+ name=\S+( exitCode=\d+)?$`)

func TestEventsToFile(t *testing.T) {
	h := dockertest.New(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "events.log")
	args := []string{"monitor", "events", "-k", "host1_event", "--state-dir", dir, "-f", file,
		"--syslog-hostname", "docker_host1", "--type", "container", "--label", dockertest.LabelKey + "=" + h.RunID()}

	code, out, errs := run(t, h.Host, args...)
	require.Equal(t, 0, code, errs)
	assert.Empty(t, out)
	assert.Empty(t, errs)
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Empty(t, b, "the first run of a key only sets the checkpoint")

	t0 := time.Now()
	stopNow(t, h)
	code, out, errs = run(t, h.Host, args...)
	require.Equal(t, 0, code, errs)
	assert.Empty(t, out, "nothing on stdout (seed)")
	stopNow(t, h)
	code, _, errs = run(t, h.Host, args...)
	require.Equal(t, 0, code, errs)

	b, err = os.ReadFile(file)
	require.NoError(t, err)
	var got []string
	for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
		m := eventLineRE.FindStringSubmatch(l)
		require.NotNil(t, m, "line %q", l)
		got = append(got, m[2]+" "+m[3])
	}
	assert.Equal(t, engineEvents(t, h, t0), got, "each event of the window once, in order")
}

func TestEventsToSyslog(t *testing.T) {
	h := dockertest.New(t)
	dir := t.TempDir()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	defer pc.Close()
	args := []string{"monitor", "events", "-k", "host1_event", "--state-dir", dir, "-s", pc.LocalAddr().String(),
		"--syslog-hostname", "docker_host1", "--type", "container", "--label", dockertest.LabelKey + "=" + h.RunID()}

	code, _, errs := run(t, h.Host, args...)
	require.Equal(t, 0, code, errs)
	t0 := time.Now()
	stopNow(t, h)
	code, out, errs := run(t, h.Host, args...)
	require.Equal(t, 0, code, errs)
	assert.Empty(t, out)
	want := engineEvents(t, h, t0)
	require.NotEmpty(t, want)

	var got []string
	buf := make([]byte, 4096)
	for range want {
		require.NoError(t, pc.SetReadDeadline(time.Now().Add(5*time.Second)))
		n, _, err := pc.ReadFrom(buf)
		require.NoError(t, err)
		m := rfc3164RE.FindStringSubmatch(string(buf[:n]))
		require.NotNil(t, m, "%q", buf[:n])
		assert.Equal(t, "docker_host1", m[2], "HOSTNAME")
		f := regexp.MustCompile(`^time=\S+ type=container action=(\S+) id=([0-9a-f]{64}) `).FindStringSubmatch(m[3])
		require.NotNil(t, f, "%q", m[3])
		got = append(got, f[1]+" "+f[2])
	}
	assert.Equal(t, want, got)
	require.NoError(t, pc.SetReadDeadline(time.Now().Add(200*time.Millisecond)))
	_, _, err = pc.ReadFrom(buf)
	assert.Error(t, err, "no more messages than events")

	// A third run with nothing new sends nothing.
	code, _, errs = run(t, h.Host, args...)
	require.Equal(t, 0, code, errs)
	require.NoError(t, pc.SetReadDeadline(time.Now().Add(200*time.Millisecond)))
	_, _, err = pc.ReadFrom(buf)
	assert.Error(t, err, "nothing sent twice")
}

func TestEventsFollow(t *testing.T) {
	h := dockertest.New(t)
	dir := t.TempDir()
	file := filepath.Join(dir, "events.log")
	args := []string{"monitor", "events", "-k", "follow", "--state-dir", dir, "-f", file, "--follow",
		"--syslog-hostname", "docker_host1", "--type", "container", "--label", dockertest.LabelKey + "=" + h.RunID()}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var out, errb strings.Builder
	done := make(chan int, 1)
	getenv := func(k string) string {
		if k == "DOCKER_HOST" {
			return h.Host
		}
		return ""
	}
	go func() {
		done <- Main(ctx, args, Env{Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb, Getenv: getenv})
	}()
	time.Sleep(300 * time.Millisecond)
	t0 := time.Now().Add(-300 * time.Millisecond)
	stopNow(t, h)
	want := engineEvents(t, h, t0)
	var got []string
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		b, _ := os.ReadFile(file)
		got = nil
		for _, l := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
			if m := eventLineRE.FindStringSubmatch(l); m != nil {
				got = append(got, m[2]+" "+m[3])
			}
		}
		if len(got) >= len(want) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel() // SIGTERM
	select {
	case code := <-done:
		assert.Equal(t, 0, code, errb.String())
	case <-time.After(5 * time.Second):
		t.Fatal("--follow did not stop within 5 s of the signal")
	}
	assert.Empty(t, out.String())
	assert.Equal(t, want, got)

	// A cron run afterwards finds nothing new.
	args = slicesWithout(args, "--follow")
	code, _, errs := run(t, h.Host, args...)
	require.Equal(t, 0, code, errs)
	b, err := os.ReadFile(file)
	require.NoError(t, err)
	assert.Equal(t, len(want), strings.Count(string(b), "\n"))
}

func slicesWithout(ss []string, drop string) []string {
	var out []string
	for _, s := range ss {
		if s != drop {
			out = append(out, s)
		}
	}
	return out
}
