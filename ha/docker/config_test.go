package docker_test

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/ha/docker"
)

var node = ha.NodeTarget("node1")

func TestValidate(t *testing.T) {
	spec := &docker.Spec{Image: "app:1"}
	for _, tc := range []struct {
		name string
		cfg  docker.Config
		want []string
	}{
		{"create", docker.Config{Name: "web", Create: spec}, nil},
		{"existing", docker.Config{Name: "/web.1_a-b", Existing: true}, nil},
		{"no name", docker.Config{Create: spec}, []string{`name: "": want a container name`}},
		{"bad name", docker.Config{Name: "-web", Create: spec}, []string{`name: "-web": want letters`}},
		{"neither", docker.Config{Name: "web"}, []string{"create: give create (how to create the container) or existing: true"}},
		{"both", docker.Config{Name: "web", Create: spec, Existing: true}, []string{"existing: give create or existing, not both"}},
		{"no image", docker.Config{Name: "web", Create: &docker.Spec{}}, []string{"create.image: required"}},
		{"restart policy", docker.Config{Name: "web", Create: &docker.Spec{Image: "a", RestartPolicy: "always"}}, []string{`create.restart_policy: "always": only "no"`}},
		{"mount", docker.Config{Name: "web", Create: &docker.Spec{Image: "a", Mounts: []string{"/data"}}}, []string{`create.mounts[0]: "/data": want source:target[:ro]`}},
		{"env", docker.Config{Name: "web", Create: &docker.Spec{Image: "a", Env: map[string]string{"A=B": "c"}}}, []string{`create.env: "A=B"`}},
		{"remove existing", docker.Config{Name: "web", Existing: true, RemoveOnDeactivate: true}, []string{"remove_on_deactivate: not with existing"}},
		{"health timeout", docker.Config{Name: "web", Existing: true, HealthTimeout: -time.Second}, []string{"health_timeout: -1s"}},
		{"joined", docker.Config{Name: "w", Create: &docker.Spec{MemoryBytes: -1}}, []string{"name:", "create.image", "create.memory_bytes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.cfg.Validate()
			if tc.want == nil {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			for _, w := range tc.want {
				assert.Contains(t, err.Error(), w)
			}
		})
	}
}

func TestConfigDecodesFromJSON(t *testing.T) {
	var cfg docker.Config
	require.NoError(t, json.Unmarshal([]byte(`{
		"name": "web", "group": "g1",
		"create": {"image": "nginx:1.27", "cmd": ["nginx", "-g", "daemon off;"], "env": {"TZ": "UTC"},
		           "mounts": ["web-data:/usr/share/nginx/html:ro"], "network": "host", "restart_policy": "no"},
		"health_timeout": 30000000000, "remove_on_deactivate": true
	}`), &cfg))
	require.NoError(t, cfg.Validate())
	assert.Equal(t, "nginx:1.27", cfg.Create.Image)
	assert.Equal(t, 30*time.Second, cfg.HealthTimeout)
	assert.True(t, cfg.RemoveOnDeactivate)
}

func TestDefaultConfig(t *testing.T) {
	d := docker.DefaultConfig()
	assert.Equal(t, docker.DefaultHealthTimeout, d.HealthTimeout)
	assert.Equal(t, docker.DefaultStopGrace, d.StopGrace)
	assert.Equal(t, docker.DefaultSettleTime, d.SettleTime)
	assert.Equal(t, 60*time.Second, docker.DefaultHealthTimeout)
	assert.Equal(t, 10*time.Second, docker.DefaultStopGrace)
}
