package imagetest_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"slices"
	"testing"
	"time"

	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/internal/imagetest"
)

func TestDockerfile(t *testing.T) {
	df, err := imagetest.Dockerfile("base:1", imagetest.Options{
		Env: []string{"A=b c"}, Cmd: []string{"sleep", "1h"}, Healthcheck: []string{"/testbox", "exit", "0"},
		Filler: 10, StopSignal: "SIGUSR1", ExposedPorts: []string{"80/tcp"},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "FROM base:1\nCOPY filler /filler\nENV A=\"b c\"\nCMD [\"sleep\",\"1h\"]\n" +
		"HEALTHCHECK --interval=1s --timeout=5s --retries=3 CMD [\"/testbox\",\"exit\",\"0\"]\nSTOPSIGNAL SIGUSR1\nEXPOSE 80/tcp\n"
	if df != want {
		t.Errorf("Dockerfile:\n%s\nwant:\n%s", df, want)
	}
	if _, err := imagetest.Dockerfile("b", imagetest.Options{Env: []string{"NOEQUALS"}}); err == nil {
		t.Error("env without = accepted")
	}
}

func TestBuild(t *testing.T) {
	t.Parallel()
	h := dockertest.New(t)
	var b [4]byte
	_, _ = rand.Read(b[:])
	ref := "minato-imagetest:" + hex.EncodeToString(b[:])
	id := imagetest.Build(t, h, ref, imagetest.Options{
		Env: []string{"GREETING=hello"}, Cmd: []string{"sleep", "1h"}, Labels: map[string]string{"x": "y"},
		Healthcheck: []string{"/testbox", "exit", "0"}, StopSignal: "SIGUSR1", ExposedPorts: []string{"8080/tcp"}, Filler: 1 << 20,
	})
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	in, err := h.Client.ImageInspect(ctx, ref)
	if err != nil {
		t.Fatal(err)
	}
	if in.ID != id {
		t.Errorf("ID %s, inspect says %s", id, in.ID)
	}
	c := in.Config
	if !slices.Contains(c.Env, "GREETING=hello") || !slices.Equal(c.Cmd, []string{"sleep", "1h"}) ||
		c.Labels[dockertest.LabelKey] != imagetest.LabelValue || c.Labels["x"] != "y" || c.StopSignal != "SIGUSR1" ||
		c.Healthcheck == nil || c.Healthcheck.Interval != time.Second || !slices.Equal(c.Entrypoint, []string{"/testbox"}) {
		t.Errorf("config: %+v", c)
	}
	if _, ok := c.ExposedPorts["8080/tcp"]; !ok {
		t.Errorf("exposed ports: %v", c.ExposedPorts)
	}
	if in.Size < 1<<20 {
		t.Errorf("size %d, want at least the 1 MiB filler", in.Size)
	}
}
