package swarm

import (
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/api/types/swarm"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParsePort(t *testing.T) {
	for in, want := range map[string]Port{
		"8080:80":     {Published: 8080, Target: 80, Protocol: "tcp"},
		"8080:80/tcp": {Published: 8080, Target: 80, Protocol: "tcp"},
		"53:53/udp":   {Published: 53, Target: 53, Protocol: "udp"},
		"80":          {Target: 80, Protocol: "tcp"},
		"9000/sctp":   {Target: 9000, Protocol: "sctp"},
		"65535:1":     {Published: 65535, Target: 1, Protocol: "tcp"},
	} {
		got, err := ParsePort(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for in, msg := range map[string]string{
		"":                 "is not a port number",
		"8080:":            "target",
		":80":              "published",
		"0:80":             "1-65535",
		"80:0":             "1-65535",
		"65536:80":         "1-65535",
		"8080:80/icmp":     "protocol",
		"127.0.0.1:80:80":  "target",
		"+80":              "is not a port number",
		"8080-8081:80":     "published",
		"8080:80/tcp/udp":  "target",
		"00000000000080:1": "published",
	} {
		_, err := ParsePort(in)
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), msg, in)
		assert.Contains(t, err.Error(), "port", in)
	}
}

func TestParseMount(t *testing.T) {
	for in, want := range map[string]Mount{
		"/srv/data:/data":    {Source: "/srv/data", Target: "/data", Bind: true},
		"/srv/data:/data:ro": {Source: "/srv/data", Target: "/data", Bind: true, ReadOnly: true},
		"appdata:/var/lib":   {Source: "appdata", Target: "/var/lib"},
		"v_1.x-y:/d:rw":      {Source: "v_1.x-y", Target: "/d"},
	} {
		got, err := ParseMount(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for in, msg := range map[string]string{
		"/data":          "SOURCE:TARGET",
		":/data":         "empty SOURCE",
		"v:data":         "absolute",
		"v:/d:rx":        "option",
		"a:/b:ro:extra":  "SOURCE:TARGET",
		"bad name:/data": "volume name",
	} {
		_, err := ParseMount(in)
		require.Error(t, err, in)
		assert.Contains(t, err.Error(), msg, in)
	}
}

func TestValidate(t *testing.T) {
	ok := ServiceSpec{Name: "web", Image: "nginx:1", Replicas: 2, Ports: []string{"8080:80"}, Restart: "on-failure:3"}
	require.NoError(t, ok.Validate())
	bad := ServiceSpec{Name: "-web", Replicas: -1, Ports: []string{"x"}, PublishMode: "mesh", Mounts: []string{"a"},
		Networks: []string{""}, Resources: Resources{CPUs: -1, Memory: -1}, Restart: "sometimes",
		Healthcheck: &Healthcheck{Retries: -1, Interval: -time.Second},
		Update:      UpdatePolicy{Order: "random", Batch: -1, Timeout: -1, FailureAction: "panic"}}
	err := bad.Validate()
	require.Error(t, err)
	for _, field := range []string{"name", "image", "replicas", "ports[0]", "publish_mode", "mounts[0]", "networks[0]", "resources.cpus",
		"resources.memory", "restart", "healthcheck.test", "healthcheck:", "healthcheck.retries", "update.order", "update.batch", "update.timeout", "update.failure_action"} {
		assert.Contains(t, err.Error(), field)
	}
	for _, r := range []string{"", "always", "unless-stopped", "no", "on-failure", "on-failure:0"} {
		assert.NoError(t, ServiceSpec{Name: "a", Image: "i", Restart: r}.Validate(), r)
	}
	for _, r := range []string{"always:3", "on-failure:x", "on-failure:-1", "On-Failure"} {
		assert.Error(t, ServiceSpec{Name: "a", Image: "i", Restart: r}.Validate(), r)
	}
	assert.Error(t, ServiceSpec{Name: strings.Repeat("a", 64), Image: "i"}.Validate())
	assert.NoError(t, ServiceSpec{Name: strings.Repeat("a", 63), Image: "i"}.Validate())
}

func TestHash(t *testing.T) {
	a := ServiceSpec{Name: "web", Image: "i:1", Replicas: 2, Env: map[string]string{"A": "1", "B": "2", "C": "3"}}
	b := a
	b.Replicas = 5
	b.Env = map[string]string{"C": "3", "B": "2", "A": "1"}
	assert.Equal(t, a.Hash(), b.Hash(), "replicas and map order do not count")
	assert.Len(t, a.Hash(), 16)
	c := a
	c.Image = "i:2"
	assert.NotEqual(t, a.Hash(), c.Hash())
	d := a
	d.Update.Batch = 2
	assert.NotEqual(t, a.Hash(), d.Hash())
}

func TestEngineSpec(t *testing.T) {
	s := ServiceSpec{
		Name: "web", Image: "i:1", Replicas: 3, Command: []string{"serve"}, Env: map[string]string{"B": "2", "A": "1"},
		Ports: []string{"8080:80", "53/udp"}, PublishMode: "host", Mounts: []string{"/h:/c:ro", "vol:/v"}, Networks: []string{"net"},
		Resources: Resources{CPUs: 1.5, Memory: 1 << 20}, Restart: "no",
		Healthcheck: &Healthcheck{Test: []string{"/bin/check", "-q"}, Interval: time.Second, Retries: 2},
		Labels:      map[string]string{"team": "a", LabelApp: "spoofed"},
		Update:      UpdatePolicy{Order: "start-first", Batch: 2, Timeout: 7 * time.Second},
	}
	require.NoError(t, s.Validate())
	e := s.engineSpec()
	assert.Equal(t, "web", e.Name)
	assert.Equal(t, map[string]string{"team": "a", LabelApp: "web", LabelSpec: s.Hash()}, e.Labels)
	assert.Equal(t, e.Labels, e.TaskTemplate.ContainerSpec.Labels)
	assert.Equal(t, uint64(3), *e.Mode.Replicated.Replicas)
	assert.Equal(t, []string{"serve"}, e.TaskTemplate.ContainerSpec.Args)
	assert.Equal(t, []string{"A=1", "B=2"}, e.TaskTemplate.ContainerSpec.Env)
	assert.Equal(t, []string{"CMD", "/bin/check", "-q"}, e.TaskTemplate.ContainerSpec.Healthcheck.Test)
	assert.Equal(t, swarm.RestartPolicyConditionNone, e.TaskTemplate.RestartPolicy.Condition)
	assert.Equal(t, int64(1_500_000_000), e.TaskTemplate.Resources.Limits.NanoCPUs)
	require.Len(t, e.TaskTemplate.ContainerSpec.Mounts, 2)
	assert.Equal(t, "bind", string(e.TaskTemplate.ContainerSpec.Mounts[0].Type))
	assert.True(t, e.TaskTemplate.ContainerSpec.Mounts[0].ReadOnly)
	assert.Equal(t, "volume", string(e.TaskTemplate.ContainerSpec.Mounts[1].Type))
	assert.Equal(t, "net", e.TaskTemplate.Networks[0].Target)
	require.Len(t, e.EndpointSpec.Ports, 2)
	assert.Equal(t, swarm.PortConfig{Protocol: "tcp", TargetPort: 80, PublishedPort: 8080, PublishMode: "host"}, e.EndpointSpec.Ports[0])
	assert.Equal(t, swarm.PortConfig{Protocol: "udp", TargetPort: 53, PublishMode: "host"}, e.EndpointSpec.Ports[1])
	assert.Equal(t, &swarm.UpdateConfig{Parallelism: 2, Order: "start-first", Monitor: 7 * time.Second, FailureAction: "rollback"}, e.UpdateConfig)
	assert.Equal(t, "pause", e.RollbackConfig.FailureAction)

	min := ServiceSpec{Name: "a", Image: "i"}.engineSpec()
	assert.Nil(t, min.EndpointSpec)
	assert.Nil(t, min.TaskTemplate.Resources)
	assert.Equal(t, swarm.RestartPolicyConditionAny, min.TaskTemplate.RestartPolicy.Condition)
	assert.Equal(t, uint64(1), min.UpdateConfig.Parallelism)
	assert.Equal(t, "stop-first", min.UpdateConfig.Order)
}

func TestJobEngineSpec(t *testing.T) {
	j := JobSpec{Name: "j", Image: "i", Command: []string{"run"}, Labels: map[string]string{LabelJob: "no", "x": "y"}, StopGrace: 2 * time.Second}
	require.NoError(t, j.Validate())
	e := j.engineSpec()
	require.NotNil(t, e.Mode.ReplicatedJob)
	assert.Equal(t, uint64(1), *e.Mode.ReplicatedJob.MaxConcurrent)
	assert.Equal(t, uint64(1), *e.Mode.ReplicatedJob.TotalCompletions)
	assert.Equal(t, swarm.RestartPolicyConditionNone, e.TaskTemplate.RestartPolicy.Condition)
	assert.Equal(t, "true", e.Labels[LabelJob])
	assert.Equal(t, 2*time.Second, *e.TaskTemplate.ContainerSpec.StopGracePeriod)
	err := JobSpec{Name: "_", Timeout: -1, StopGrace: -1, Resources: Resources{Memory: -1}}.Validate()
	for _, f := range []string{"name", "image", "timeout", "stop_grace", "resources"} {
		assert.ErrorContains(t, err, f)
	}
}

func TestStatus(t *testing.T) {
	three := uint64(3)
	now := time.Now()
	spec := swarm.ServiceSpec{Annotations: swarm.Annotations{Name: "web", Labels: map[string]string{LabelSpec: "h2"}},
		TaskTemplate: swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "i:2", Labels: map[string]string{LabelSpec: "h2"}}},
		Mode:         swarm.ServiceMode{Replicated: &swarm.ReplicatedService{Replicas: &three}}}
	task := func(id, node string, desired, state swarm.TaskState, hash string, age time.Duration, errText string) swarm.Task {
		return swarm.Task{ID: id, NodeID: node, DesiredState: desired, Slot: 1,
			Spec:   swarm.TaskSpec{ContainerSpec: &swarm.ContainerSpec{Image: "i:2", Labels: map[string]string{LabelSpec: hash}}},
			Status: swarm.TaskStatus{State: state, Timestamp: now.Add(-age), Err: errText, ContainerStatus: &swarm.ContainerStatus{ContainerID: "c" + id, ExitCode: 1}}}
	}
	svc := swarm.Service{ID: "s1", Spec: spec}
	tasks := []swarm.Task{
		task("t1", "n1", "running", "running", "h2", 3*time.Second, ""),
		task("t2", "n2", "running", "running", "h2", 2*time.Second, ""),
		task("t3", "n2", "running", "running", "h2", time.Second, ""),
		task("t0", "n1", "shutdown", "failed", "h2", 5*time.Second, "older"),
		task("t4", "n1", "shutdown", "failed", "h2", 4*time.Second, "boom"),
	}
	st := status(svc, tasks, map[string]string{"n1": "host1"})
	assert.True(t, st.Converged)
	assert.Equal(t, 3, st.Desired)
	assert.Equal(t, 3, st.Running)
	assert.Equal(t, 2, st.Failed)
	assert.Equal(t, "boom", st.LastError, "the newest failure")
	assert.Equal(t, []NodeStatus{{NodeID: "n1", Hostname: "host1", Desired: 1, Running: 1, Failed: 2}, {NodeID: "n2", Desired: 2, Running: 2}}, st.Nodes)
	assert.Equal(t, "t3", st.Tasks[0].ID, "newest first")
	require.NotNil(t, st.Tasks[3].ExitCode)
	assert.Equal(t, 1, *st.Tasks[3].ExitCode)
	assert.Nil(t, st.Tasks[0].ExitCode, "running: no exit code")

	// A running task of the previous spec: not converged.
	tasks[1] = task("t2", "n2", "running", "running", "h1", 2*time.Second, "")
	assert.False(t, status(svc, tasks, nil).Converged)
	tasks[1] = task("t2", "n2", "running", "starting", "h2", 2*time.Second, "")
	st = status(svc, tasks, nil)
	assert.False(t, st.Converged)
	assert.Equal(t, 2, st.Running)
	tasks[1] = task("t2", "n2", "running", "running", "h2", 2*time.Second, "")
	for state, conv := range map[swarm.UpdateState]bool{"completed": true, "updating": false, "paused": false, "rollback_started": false, "rollback_completed": false} {
		svc.UpdateStatus = &swarm.UpdateStatus{State: state, StartedAt: &now}
		st := status(svc, tasks, nil)
		assert.Equal(t, conv, st.Converged, state)
		assert.Equal(t, string(state), st.Update.State)
		assert.Equal(t, now, st.Update.StartedAt)
	}
}

func FuzzParsePort(f *testing.F) {
	for _, s := range []string{"8080:80", "80", "53:53/udp", "9000/sctp", "0:1", ":", "/", "1:2:3", "99999", "8080:80/tcp/udp", "٣:80", "1:1/"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := ParsePort(s)
		if err != nil {
			if !strings.Contains(err.Error(), "port") {
				t.Fatalf("%q: error does not say it is about a port: %v", s, err)
			}
			return
		}
		if p.Target == 0 {
			t.Fatalf("%q: parsed with target 0", s)
		}
		back, err := ParsePort(p.String())
		if err != nil || back != p {
			t.Fatalf("%q -> %+v -> %q -> %+v, %v", s, p, p.String(), back, err)
		}
	})
}

func FuzzParseMount(f *testing.F) {
	for _, s := range []string{"/a:/b", "v:/b:ro", "v:/b:rw", ":", "a:b:c:d", "/:/", "v::ro"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseMount(s)
		if err != nil {
			if !strings.Contains(err.Error(), "mount") {
				t.Fatalf("%q: error does not say it is about a mount: %v", s, err)
			}
			return
		}
		if m.Source == "" || !strings.HasPrefix(m.Target, "/") || m.Bind != strings.HasPrefix(m.Source, "/") {
			t.Fatalf("%q: bad mount %+v", s, m)
		}
	})
}
