package cli

import (
	"bufio"
	"io"
	"net"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// rfc3164RE reads what minato sends by default: <PRI>Mmm dd hh:mm:ss HOSTNAME minato: MSG.
var rfc3164RE = regexp.MustCompile(`^<(\d+)>[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d (\S+) minato: (.*)$`)

// rfc5424RE reads minato's RFC 5424 container-status messages.
var rfc5424RE = regexp.MustCompile(`^<(\d+)>1 \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}(?:Z|[+-]\d\d:\d\d) (\S+) minato - - - (.*)$`)

type syslogMsg struct {
	pri  int
	text string
}

// byHost parses messages with re and indexes them by HOSTNAME.
func byHost(t *testing.T, re *regexp.Regexp, msgs []string) map[string]syslogMsg {
	t.Helper()
	out := map[string]syslogMsg{}
	for _, m := range msgs {
		f := re.FindStringSubmatch(m)
		require.NotNil(t, f, "not a minato syslog message: %q", m)
		pri, _ := strconv.Atoi(f[1])
		out[f[2]] = syslogMsg{pri, f[3]}
	}
	return out
}

func statusLines(t *testing.T, out string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, l := range strings.Split(strings.TrimSuffix(out, "\n"), "\n") {
		require.Regexp(t, `^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [0-9a-f]{12} \w+$`, l)
		f := strings.Fields(l)
		m[f[2]] = f[3]
	}
	return m
}

func TestContainerStatusToSyslog(t *testing.T) {
	h := dockertest.New(t)
	running := h.Run(t, dockertest.RunOptions{Args: []string{"sleep", "forever"}})
	exited := h.Run(t, dockertest.RunOptions{Args: []string{"exit", "0"}})
	h.WaitState(t, running.ID, "running", 10*time.Second)
	h.WaitState(t, exited.ID, "exited", 10*time.Second)
	r12, e12 := running.ID[:12], exited.ID[:12]
	wantLines := map[string]string{r12: "running", e12: "exited"}

	t.Run("udp rfc3164 (default)", func(t *testing.T) {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		require.NoError(t, err)
		defer pc.Close()

		code, out, errs := run(t, h.Host, "monitor", "container-status", "-c", r12, "-c", e12, "-s", pc.LocalAddr().String())
		require.Equal(t, 0, code, errs)
		assert.Empty(t, errs)
		assert.Equal(t, wantLines, statusLines(t, out), "stdout keeps the seed's lines")

		var got []string
		buf := make([]byte, 2048)
		for range 2 {
			require.NoError(t, pc.SetReadDeadline(time.Now().Add(5*time.Second)))
			n, _, err := pc.ReadFrom(buf)
			require.NoError(t, err, "one datagram per container")
			got = append(got, string(buf[:n]))
		}
		assert.Equal(t, map[string]syslogMsg{
			r12: {14, "running"}, // user.info
			e12: {10, "exited"},  // user.crit
		}, byHost(t, rfc3164RE, got))
		require.NoError(t, pc.SetReadDeadline(time.Now().Add(200*time.Millisecond)))
		_, _, err = pc.ReadFrom(buf)
		assert.Error(t, err, "no third message")
	})

	t.Run("tcp rfc5424", func(t *testing.T) {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		defer ln.Close()
		frames := make(chan []string, 1)
		go func() {
			c, err := ln.Accept()
			if err != nil {
				frames <- nil
				return
			}
			defer c.Close()
			var got []string
			br := bufio.NewReader(c)
			for { // RFC 6587 octet counting: "LEN SP MSG"
				l, err := br.ReadString(' ')
				if err != nil {
					break
				}
				n, _ := strconv.Atoi(strings.TrimSpace(l))
				b := make([]byte, n)
				if _, err := io.ReadFull(br, b); err != nil {
					break
				}
				got = append(got, string(b))
			}
			frames <- got
		}()

		code, out, errs := run(t, h.Host, "monitor", "container-status", "-c", e12, "-c", r12, "-s", ln.Addr().String(),
			"--syslog-protocol", "tcp", "--syslog-format", "rfc5424")
		require.Equal(t, 0, code, errs)
		assert.Equal(t, wantLines, statusLines(t, out))
		select {
		case got := <-frames: // the CLI closed the connection after flushing
			require.Len(t, got, 2)
			assert.Equal(t, map[string]syslogMsg{r12: {14, "running"}, e12: {10, "exited"}}, byHost(t, rfc5424RE, got))
		case <-time.After(10 * time.Second):
			t.Fatal("the receiver got nothing")
		}
	})
}

func TestSyslogFlagErrors(t *testing.T) {
	host := dockertest.Unreachable(t) // all found before any engine call

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln.Addr().String()
	ln.Close()

	cases := []struct {
		args []string
		want []string
	}{
		{[]string{"-s", "127.0.0.1"}, []string{`-s "127.0.0.1": want HOST:PORT, such as 127.0.0.1:514`, `Run "minato help"`}},
		{[]string{"-s", "127.0.0.1:0"}, []string{`-s "127.0.0.1:0": port "0": want a number from 1 to 65535`}},
		{[]string{"-s", "localhost:syslog"}, []string{`port "syslog": want a number from 1 to 65535`}},
		{[]string{"-s", ":514"}, []string{`-s ":514": the host is empty`}},
		{[]string{"-s", "127.0.0.1:514", "--syslog-protocol", "sctp"}, []string{`--syslog-protocol "sctp": want udp or tcp`}},
		{[]string{"-s", "127.0.0.1:514", "--syslog-format", "json"}, []string{`--syslog-format "json": want rfc3164 or rfc5424`}},
		{[]string{"--syslog-protocol", "tcp"}, []string{"apply to -s HOST:PORT, which is not given"}},
		{[]string{"-s", closed, "--syslog-protocol", "tcp"}, []string{"-s " + closed + ": cannot reach the syslog receiver over tcp: dial tcp " + closed + ": ", "connection refused"}},
	}
	for _, c := range cases {
		args := append([]string{"monitor", "container-status"}, c.args...)
		code, out, errs := run(t, host, args...)
		assert.Equal(t, 1, code, "%v", c.args)
		assert.Empty(t, out, "%v", c.args)
		for _, w := range c.want {
			assert.Contains(t, errs, w, "%v", c.args)
		}
		assert.NotContains(t, errs, "cannot connect to the Docker daemon", "%v: checked before the engine", c.args)
	}

	code, _, errs := run(t, host, "monitor", "cpu", "-k", "x", "-s", "127.0.0.1:514")
	assert.Equal(t, 1, code)
	assert.Contains(t, errs, "flag provided but not defined: -s", "-s belongs to container-status only")
}
