package container_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/docker/docker/pkg/stdcopy"
	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/container/enginetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hijackAttach answers an attach the way the engine does: 101, then the
// multiplexed output, then (unless hold) the end of the stream.
func hijackAttach(hold bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		conn, rw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = fmt.Fprintf(rw, "HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.multiplexed-stream\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n")
		_, _ = stdcopy.NewStdWriter(rw, stdcopy.Stdout).Write([]byte("out\n"))
		_, _ = stdcopy.NewStdWriter(rw, stdcopy.Stderr).Write([]byte("err\n"))
		_ = rw.Flush()
		if hold {
			_, _ = rw.ReadByte() // until the client closes
		}
	}
}

func TestAttachFake(t *testing.T) {
	c, srv := newFake(t, "", enginetest.WithHandler("POST", "/containers/{ref}/attach", hijackAttach(false)))
	var out, errOut bytes.Buffer
	a, err := c.Attach(context.Background(), "web", container.AttachOptions{Stdout: &out, Stderr: &errOut})
	require.NoError(t, err)
	require.NoError(t, a.Wait())
	assert.Equal(t, "out\n", out.String())
	assert.Equal(t, "err\n", errOut.String())
	assert.Equal(t, url.Values{"stream": {"1"}, "stdout": {"1"}, "stderr": {"1"}}, only(t, srv, "POST", "/containers/web/attach").Query)
	a.Close() // after the end: harmless
}

func TestAttachCloseEndsCopy(t *testing.T) {
	c, _ := newFake(t, "", enginetest.WithHandler("POST", "/containers/{ref}/attach", hijackAttach(true)))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := c.Attach(ctx, "web", container.AttachOptions{})
	require.NoError(t, err)
	select {
	case <-a.Done():
		t.Fatal("ended before Close")
	case <-time.After(100 * time.Millisecond):
	}
	cancel()
	select {
	case <-a.Done():
		assert.NoError(t, a.Wait(), "ending by ctx is not an error")
	case <-time.After(5 * time.Second):
		t.Fatal("ctx did not end the attachment")
	}
}

func TestAttachMissingContainer(t *testing.T) {
	c, _ := newFake(t, basicDir)
	_, err := c.Attach(context.Background(), "nosuch", container.AttachOptions{})
	require.Error(t, err)
}

func TestRealAttachBeforeStartGetsEverything(t *testing.T) {
	t.Parallel()
	h, c := realClient(t)
	ctx := context.Background()
	id := createLabelled(t, h, c, container.CreateOptions{Cmd: []string{"print", "first", "--", "emit", "20", "--", "eprint", "last"}})
	var out, errOut countingBuffer
	a, err := c.Attach(ctx, id, container.AttachOptions{Stdout: &out, Stderr: &errOut})
	require.NoError(t, err)
	_, err = c.Start(ctx, id, container.StartOptions{})
	require.NoError(t, err)
	require.NoError(t, a.Wait())
	assert.Equal(t, int64(len("first\n")+20<<20), out.n)
	assert.Equal(t, "last\n", errOut.b.String())
	res, err := c.Wait(ctx, id, container.WaitOptions{})
	require.NoError(t, err)
	assert.Equal(t, 0, res.ExitCode)
}

// countingBuffer counts bytes and keeps the first KiB.
type countingBuffer struct {
	n int64
	b bytes.Buffer
}

func (c *countingBuffer) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	if room := 1024 - c.b.Len(); room > 0 {
		c.b.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}
