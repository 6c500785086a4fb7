package container

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/container/enginetest"
)

func diagClient(t *testing.T, dir string, opts ...enginetest.Option) (*Client, *enginetest.Server) {
	t.Helper()
	srv := enginetest.NewServer(t, dir, opts...)
	c, err := New(Config{Host: srv.URL})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c, srv
}

func writeJSON(t *testing.T, dir, name string, v any) {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
}

func TestSystemInfo(t *testing.T) {
	dir := t.TempDir()
	writeJSON(t, dir, "info.json", map[string]any{
		"ID": "OTT6:EWF7", "Name": "node1", "ServerVersion": "20.10.24", "CgroupDriver": "cgroupfs", "CgroupVersion": "",
		"DockerRootDir": "/var/lib/docker", "Driver": "devicemapper",
		"DriverStatus":  [][2]string{{"Pool Name", "docker-pool"}, {"Data loop file", "/var/lib/docker/devicemapper/data"}},
		"LoggingDriver": "json-file", "InitBinary": "docker-init", "SecurityOptions": []string{"name=seccomp,profile=default"},
		"SystemTime": "2026-05-07T21:09:36.123456789Z",
		"Warnings":   []string{"WARNING: No swap limit support", "WARNING: bridge-nf-call-iptables is disabled"},
	})
	c, _ := diagClient(t, dir)
	before := time.Now()
	r, err := c.SystemInfo(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "node1", r.Name)
	assert.Equal(t, "1", r.CgroupVersion, "engines that do not say are cgroup v1, as for Info")
	assert.Equal(t, "/var/lib/docker", r.DockerRootDir)
	assert.Equal(t, "devicemapper", r.Driver)
	assert.Equal(t, [][2]string{{"Pool Name", "docker-pool"}, {"Data loop file", "/var/lib/docker/devicemapper/data"}}, r.DriverStatus)
	assert.Equal(t, "json-file", r.LoggingDriver)
	assert.Equal(t, "docker-init", r.InitBinary)
	assert.Equal(t, []string{"name=seccomp,profile=default"}, r.SecurityOptions)
	assert.Equal(t, []string{"WARNING: No swap limit support", "WARNING: bridge-nf-call-iptables is disabled"}, r.Warnings)
	assert.Equal(t, time.Date(2026, 5, 7, 21, 9, 36, 123456789, time.UTC), r.SystemTime.UTC())
	assert.False(t, r.Sent.Before(before))
	assert.False(t, r.Received.Before(r.Sent))

	down, err := New(Config{Host: "tcp://127.0.0.1:1"})
	require.NoError(t, err)
	defer down.Close()
	_, err = down.SystemInfo(context.Background())
	assert.ErrorIs(t, err, ErrUnreachable)
}

func TestVersion(t *testing.T) {
	dir := t.TempDir()
	writeJSON(t, dir, "version.json", map[string]any{
		"Platform": map[string]string{"Name": "Docker Engine - Community"}, "Version": "28.2.2", "MinAPIVersion": "1.24",
		"Os": "linux", "Arch": "amd64", "KernelVersion": "6.8.0-45-generic",
	})
	c, _ := diagClient(t, dir, enginetest.WithAPIVersion("1.50"))
	v, err := c.Version(context.Background())
	require.NoError(t, err)
	assert.Equal(t, VersionResult{Version: "28.2.2", APIVersion: "1.50", MinAPIVersion: "1.24", Os: "linux", Arch: "amd64",
		KernelVersion: "6.8.0-45-generic", Platform: "Docker Engine - Community"}, v)
}

func TestInspectSettings(t *testing.T) {
	dir := t.TempDir()
	id := "aa11bb22cc33dd44ee55ff6600112233445566778899aabbccddeeff00112233"
	writeJSON(t, dir, "inspect_"+id+".json", map[string]any{
		"Id": id, "Name": "/web", "State": map[string]any{"Status": "created"},
		"HostConfig": map[string]any{
			"RestartPolicy": map[string]any{"Name": "on-failure", "MaximumRetryCount": 3},
			"AutoRemove":    false, "Init": true, "Privileged": true, "PublishAllPorts": false, "NetworkMode": "web-net",
			"LogConfig": map[string]any{"Type": "json-file", "Config": map[string]string{"max-file": "3"}},
			"PortBindings": map[string]any{
				"80/tcp":   []map[string]string{{"HostIp": "", "HostPort": "8080"}, {"HostIp": "::", "HostPort": "8080"}},
				"53/udp":   []map[string]string{{"HostIp": "127.0.0.1", "HostPort": "5353"}},
				"9000/tcp": []map[string]string{{"HostIp": "", "HostPort": "9000-9010"}},
				"443":      []map[string]string{{"HostIp": "", "HostPort": ""}},
			},
		},
		"Config": map[string]any{"Image": "nginx", "Healthcheck": map[string]any{"Test": []string{"CMD-SHELL", "curl -f http://localhost/"}}},
		"Mounts": []map[string]any{{"Type": "bind", "Source": "/var/run/docker.sock", "Destination": "/var/run/docker.sock", "RW": false}},
	})
	c, _ := diagClient(t, dir)
	ins, err := c.Inspect(context.Background(), "web", InspectOptions{})
	require.NoError(t, err)
	s, err := ins.Settings()
	require.NoError(t, err)
	yes := true
	assert.Equal(t, Settings{
		RestartPolicy: "on-failure", MaxRetries: 3, Init: &yes, Privileged: true, NetworkMode: "web-net",
		LogDriver: "json-file", LogOptions: map[string]string{"max-file": "3"},
		PortBindings: []PortBinding{
			{ContainerPort: 443, Proto: "tcp"},
			{ContainerPort: 80, Proto: "tcp", HostPort: "8080"},
			{ContainerPort: 80, Proto: "tcp", HostIP: "::", HostPort: "8080"},
			{ContainerPort: 9000, Proto: "tcp", HostPort: "9000-9010"},
			{ContainerPort: 53, Proto: "udp", HostIP: "127.0.0.1", HostPort: "5353"},
		},
		Mounts:      []Mount{{Type: "bind", Source: "/var/run/docker.sock", Destination: "/var/run/docker.sock"}},
		Healthcheck: []string{"CMD-SHELL", "curl -f http://localhost/"},
	}, s)

	_, err = InspectResult{ID: id}.Settings()
	assert.ErrorContains(t, err, "no inspect document")
	_, err = InspectResult{ID: id, Raw: []byte(`{"HostConfig": {"PortBindings": {"http/tcp": []}}}`)}.Settings()
	assert.ErrorContains(t, err, `port binding "http/tcp": want PORT/PROTO with a port from 1 to 65535`)
	_, err = InspectResult{ID: id, Raw: []byte(`{`)}.Settings()
	assert.ErrorContains(t, err, "decode inspect document")
	s, err = InspectResult{ID: id, Raw: []byte(`{}`)}.Settings()
	require.NoError(t, err)
	assert.Equal(t, Settings{}, s, "an engine that stored no host config")
}

func TestReclaimable(t *testing.T) {
	anon := "3f1c2a9b8e7d6c5b4a39281706f5e4d3c2b1a09f8e7d6c5b4a3928170615243a"
	df := map[string]any{
		"LayersSize": 1 << 30,
		"Images": []map[string]any{
			{"Id": "sha256:aaa", "RepoTags": []string{"nginx:1.27"}, "Size": 200, "SharedSize": 0, "Containers": 0},
			{"Id": "sha256:bbb", "RepoTags": []string{}, "Size": 300, "SharedSize": 100, "Containers": 0},
			{"Id": "sha256:ccc", "RepoTags": []string{"<none>:<none>"}, "Size": 900, "SharedSize": -1, "Containers": 0},
			{"Id": "sha256:ddd", "RepoTags": nil, "Size": 50, "SharedSize": 0, "Containers": 1},
		},
		"Volumes": []map[string]any{
			{"Name": "pgdata", "Driver": "local", "UsageData": map[string]any{"Size": 5000, "RefCount": 1}},
			{"Name": anon, "Driver": "local", "UsageData": map[string]any{"Size": 700, "RefCount": 0}},
			{"Name": "old-cache", "Driver": "local", "UsageData": map[string]any{"Size": 100, "RefCount": 0}},
			{"Name": "remote", "Driver": "nfs", "UsageData": map[string]any{"Size": -1, "RefCount": 0}},
		},
	}
	var query string
	c, _ := diagClient(t, "", enginetest.WithHandler("GET", "/system/df", func(w http.ResponseWriter, r *http.Request) {
		query = r.URL.RawQuery
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(df)
	}))
	r, err := c.Reclaimable(context.Background())
	require.NoError(t, err)
	assert.Contains(t, query, "type=image")
	assert.Contains(t, query, "type=volume")
	assert.Equal(t, []ImageUsage{
		{ID: "sha256:ccc", Size: 900, SharedSize: -1},
		{ID: "sha256:bbb", Size: 300, SharedSize: 100},
	}, r.DanglingImages, "untagged and unused, largest first")
	assert.Equal(t, []VolumeUsage{
		{Name: anon, Driver: "local", Size: 700, Anonymous: true},
		{Name: "old-cache", Driver: "local", Size: 100},
		{Name: "remote", Driver: "nfs", Size: -1},
	}, r.UnusedVolumes)
}

func TestNetworks(t *testing.T) {
	var created map[string]any
	var removed string
	c, _ := diagClient(t, "",
		enginetest.WithHandler("POST", "/networks/create", func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			_ = json.Unmarshal(b, &created)
			if created["Name"] == "taken" {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusConflict)
				_, _ = io.WriteString(w, `{"message":"network with name taken already exists"}`)
				return
			}
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			_, _ = io.WriteString(w, `{"Id":"n123","Warning":""}`)
		}),
		enginetest.WithHandler("DELETE", "/networks/{id}", func(w http.ResponseWriter, r *http.Request) {
			removed = r.PathValue("id")
			if removed == "gone" {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(http.StatusNotFound)
				_, _ = io.WriteString(w, `{"message":"network gone not found"}`)
				return
			}
			w.WriteHeader(http.StatusNoContent)
		}),
	)
	ctx := context.Background()
	res, err := c.CreateNetwork(ctx, CreateNetworkOptions{Name: "probe", Labels: map[string]string{"minato.diag": "dns-probe"}})
	require.NoError(t, err)
	assert.Equal(t, "n123", res.ID)
	assert.Equal(t, "probe", created["Name"])
	assert.Equal(t, "bridge", created["Driver"])
	assert.Equal(t, map[string]any{"minato.diag": "dns-probe"}, created["Labels"])

	_, err = c.CreateNetwork(ctx, CreateNetworkOptions{Name: "taken"})
	assert.True(t, IsConflict(err), "%v", err)
	_, err = c.CreateNetwork(ctx, CreateNetworkOptions{})
	assert.EqualError(t, err, "create network: no name given")

	require.NoError(t, c.RemoveNetwork(ctx, "n123"))
	assert.Equal(t, "n123", removed)
	err = c.RemoveNetwork(ctx, "gone")
	assert.True(t, IsNotFound(err), "%v", err)
}

// noNetworkAPI is an engineAPI test double without the network calls; its
// methods are unimplemented (nil interface) and panic if called.
type noNetworkAPI struct{ engineAPI }

// An engine client without network calls (a narrow test double) makes
// the calls fail with errors.ErrUnsupported instead of panicking.
func TestNetworksUnsupported(t *testing.T) {
	c, err := New(Config{Host: "tcp://127.0.0.1:1"}, withEngineAPI(noNetworkAPI{}))
	require.NoError(t, err)
	_, err = c.CreateNetwork(context.Background(), CreateNetworkOptions{Name: "x"})
	assert.True(t, errors.Is(err, errors.ErrUnsupported), "%v", err)
	assert.True(t, errors.Is(c.RemoveNetwork(context.Background(), "x"), errors.ErrUnsupported))
}

func FuzzInspectSettings(f *testing.F) {
	f.Add([]byte(`{"HostConfig": {"RestartPolicy": {"Name": "always"}, "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]}}}`))
	f.Add([]byte(`{"HostConfig": {"PortBindings": {"53": [{"HostPort": "5353-5360"}], "0/udp": []}}, "Config": {"Healthcheck": {"Test": ["NONE"]}}}`))
	f.Add([]byte(`{"HostConfig": null, "Config": null, "Mounts": [{"Type": "bind"}]}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		s, err := InspectResult{ID: "abc", Raw: raw}.Settings()
		if err != nil {
			return
		}
		for _, b := range s.PortBindings {
			if b.ContainerPort == 0 || b.Proto == "" {
				t.Fatalf("binding %+v from %q", b, raw)
			}
		}
	})
}
