package container_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/internal/dockertest"
)

func TestRealCreateSpecRenameVolumes(t *testing.T) {
	t.Parallel()
	h, c := realClient(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	suffix := hex.EncodeToString(b)
	labels := map[string]string{dockertest.LabelKey: h.RunID()}
	vol, net1, net2 := "minato-test-vol-"+suffix, "minato-test-na-"+suffix, "minato-test-nb-"+suffix
	if err := c.CreateVolume(ctx, vol, labels); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.RemoveVolume(context.Background(), vol) })
	for _, n := range []string{net1, net2} {
		if _, err := c.CreateNetwork(ctx, container.CreateNetworkOptions{Name: n, Labels: labels}); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = c.RemoveNetwork(context.Background(), n) })
	}
	res, err := c.CreateSpec(ctx, container.CreateSpecOptions{
		CreateOptions: container.CreateOptions{Name: "minato-test-spec-" + suffix, Image: h.Image(t), Cmd: []string{"sleep", "forever"}, Labels: labels},
		Ports:         []container.PortSpec{{HostIP: "127.0.0.1", ContainerPort: 80}},
		Mounts:        []container.MountSpec{{Type: "volume", Source: vol, Target: "/data"}, {Type: "tmpfs", Target: "/tmp"}},
		Networks:      []string{net1, net2},
		RestartPolicy: "on-failure", MaxRetries: 2,
		Health: &container.HealthSpec{Test: []string{"CMD", "/testbox", "exit", "0"}, Interval: time.Second},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = c.Remove(context.Background(), res.ID, container.RemoveOptions{Force: true, Volumes: true})
	})
	if _, err := c.Start(ctx, res.ID, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := c.Rename(ctx, res.ID, "minato-test-renamed-"+suffix); err != nil {
		t.Fatal(err)
	}
	sel, err := c.List(ctx, container.ListOptions{All: true, Labels: labels})
	if err != nil || len(sel.Containers) != 1 {
		t.Fatalf("list: %v %+v", err, sel)
	}
	s := sel.Containers[0]
	if s.Name != "minato-test-renamed-"+suffix || len(s.Networks) != 2 || len(s.Ports) != 1 || s.Ports[0].PublicPort == 0 || len(s.Mounts) != 2 {
		t.Fatalf("summary %+v", s)
	}
	vs, err := c.Volumes(ctx, labels)
	if err != nil || len(vs) != 1 || vs[0].Name != vol {
		t.Fatalf("volumes %v %+v", err, vs)
	}
	ns, err := c.Networks(ctx, labels)
	if err != nil || len(ns) != 2 {
		t.Fatalf("networks %v %+v", err, ns)
	}
	if _, err := c.CreateSpec(ctx, container.CreateSpecOptions{CreateOptions: container.CreateOptions{Image: h.Image(t)}, RestartPolicy: "sometimes"}); err == nil {
		t.Fatal("bad restart policy accepted")
	}
}
