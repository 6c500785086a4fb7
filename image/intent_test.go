package image

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func testImgConfig(c ocispec.ImageConfig, hc *dcontainer.HealthConfig) *dockerspec.DockerOCIImageConfig {
	return &dockerspec.DockerOCIImageConfig{ImageConfig: c, DockerOCIImageConfigExt: dockerspec.DockerOCIImageConfigExt{Healthcheck: hc}}
}

func TestDecideIntent(t *testing.T) {
	hc := &dcontainer.HealthConfig{Test: []string{"CMD", "/testbox", "exit", "0"}, Retries: 3}
	img := testImgConfig(ocispec.ImageConfig{
		Env:          []string{"PATH=/bin", "A=1", "B=1"},
		Cmd:          []string{"sleep", "forever"},
		Entrypoint:   []string{"/testbox"},
		WorkingDir:   "/app",
		User:         "1000",
		Labels:       map[string]string{"version": "v1", "vendor": "x"},
		ExposedPorts: map[string]struct{}{"80/tcp": {}},
		Volumes:      map[string]struct{}{"/data": {}},
		StopSignal:   "SIGQUIT",
	}, hc)
	// What the engine stores for `docker run IMG` with no options: the
	// image's values merged in.
	inherited := dcontainer.Config{
		Env: []string{"PATH=/bin", "A=1", "B=1"}, Cmd: []string{"sleep", "forever"}, Entrypoint: []string{"/testbox"},
		WorkingDir: "/app", User: "1000", Labels: map[string]string{"version": "v1", "vendor": "x"},
		ExposedPorts: nat.PortSet{"80/tcp": {}}, Volumes: map[string]struct{}{"/data": {}}, StopSignal: "SIGQUIT", Healthcheck: hc,
	}
	tests := []struct {
		name string
		edit func(c *dcontainer.Config)
		img  *dockerspec.DockerOCIImageConfig
		want Intent
	}{
		{name: "all inherited", edit: func(*dcontainer.Config) {}, img: img, want: Intent{}},
		{name: "env per key", edit: func(c *dcontainer.Config) {
			c.Env = []string{"PATH=/bin", "A=2", "B=1", "SECRET=hunter2"}
		}, img: img, want: Intent{Env: []string{"A", "SECRET"}}},
		{name: "labels, ports, volumes per key", edit: func(c *dcontainer.Config) {
			c.Labels = map[string]string{"version": "v1", "vendor": "me", "team": "ops", IntentLabel: "{}"}
			c.ExposedPorts = nat.PortSet{"80/tcp": {}, "9090/tcp": {}}
			c.Volumes = map[string]struct{}{"/data": {}, "/cache": {}}
		}, img: img, want: Intent{Labels: []string{"team", "vendor"}, ExposedPorts: []string{"9090/tcp"}, Volumes: []string{"/cache"}}},
		{name: "cmd only", edit: func(c *dcontainer.Config) { c.Cmd = []string{"print", "hi"} }, img: img, want: Intent{Fields: []string{FieldCmd}}},
		{name: "entrypoint makes cmd explicit", edit: func(c *dcontainer.Config) {
			c.Entrypoint = []string{"/other"}
		}, img: img, want: Intent{Fields: []string{FieldCmd, FieldEntrypoint}}},
		{name: "scalars and healthcheck", edit: func(c *dcontainer.Config) {
			c.WorkingDir, c.User, c.StopSignal = "/srv", "0", "SIGTERM"
			c.Healthcheck = &dcontainer.HealthConfig{Test: []string{"NONE"}}
		}, img: img, want: Intent{Fields: []string{FieldHealthcheck, FieldStopSignal, FieldUser, FieldWorkingDir}}},
		{name: "image gone: everything explicit", edit: func(c *dcontainer.Config) {}, img: nil, want: Intent{
			Fields: []string{FieldCmd, FieldEntrypoint, FieldHealthcheck, FieldStopSignal, FieldUser, FieldWorkingDir},
			Env:    []string{"A", "B", "PATH"}, Labels: []string{"vendor", "version"}, ExposedPorts: []string{"80/tcp"}, Volumes: []string{"/data"},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := inherited
			tt.edit(&c)
			got := decideIntent(&c, tt.img)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestIntentLabelRoundTrip(t *testing.T) {
	in := Intent{Fields: []string{FieldCmd}, Env: []string{"A", "B"}, Labels: []string{"team"}}
	s := in.label()
	assert.Equal(t, `{"fields":["Cmd"],"env":["A","B"],"labels":["team"]}`, s)
	got, err := parseIntentLabel(s)
	require.NoError(t, err)
	assert.Equal(t, in, got)
	assert.Equal(t, "{}", Intent{}.label())

	for _, bad := range []string{"", "nope", `{"fields":["Hostname"]}`, `{"env":"A"}`, `{"x":1}`, `{} {}`} {
		_, err := parseIntentLabel(bad)
		assert.Error(t, err, bad)
		if err != nil {
			assert.Contains(t, err.Error(), IntentLabel)
		}
	}
}

func FuzzParseIntentLabel(f *testing.F) {
	for _, s := range []string{`{}`, `{"fields":["Cmd","User"],"env":["A"]}`, `{"labels":["minato.intent","b","b"]}`, `{"fields":["Hostname"]}`, `[]`, `{"env":[1]}`, "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		in, err := parseIntentLabel(s)
		if err != nil {
			return
		}
		// A parsed intent is normalised and survives a round trip.
		for _, l := range [][]string{in.Fields, in.Env, in.Labels, in.ExposedPorts, in.Volumes} {
			if !slices.IsSorted(l) || len(slices.Compact(slices.Clone(l))) != len(l) {
				t.Fatalf("not normalised: %#v", in)
			}
		}
		if slices.Contains(in.Labels, IntentLabel) {
			t.Fatalf("intent lists its own label: %#v", in)
		}
		again, err := parseIntentLabel(in.label())
		if err != nil {
			t.Fatalf("round trip of %q: %v", in.label(), err)
		}
		if !json.Valid([]byte(in.label())) || again.label() != in.label() {
			t.Fatalf("round trip changed %q to %q", in.label(), again.label())
		}
	})
}

func changeOf(cs []Change, field string) (Change, bool) {
	for _, c := range cs {
		if c.Field == field {
			return c, true
		}
	}
	return Change{}, false
}

// The scenario of issue 14's update test, as pure functions: v1 ENV A=1
// B=1, container run with -e A=2, v2 ENV A=3 B=3, then v3 ENV A=2.
func TestIntentFollowsAndKeeps(t *testing.T) {
	v1 := testImgConfig(ocispec.ImageConfig{Env: []string{"A=1", "B=1"}, Entrypoint: []string{"/testbox"}, Cmd: []string{"sleep", "forever"}}, nil)
	v2 := testImgConfig(ocispec.ImageConfig{Env: []string{"A=3", "B=3"}, Entrypoint: []string{"/testbox"}, Cmd: []string{"sleep", "1h"}}, nil)
	v3 := testImgConfig(ocispec.ImageConfig{Env: []string{"A=2", "B=3"}, Entrypoint: []string{"/testbox"}, Cmd: []string{"sleep", "1h"}}, nil)
	old := dcontainer.InspectResponse{
		ContainerJSONBase: &dcontainer.ContainerJSONBase{ID: "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", Image: "sha256:v1"},
		Config: &dcontainer.Config{
			Hostname: "0123456789ab", Image: "app:v1", Env: []string{"A=2", "B=1"}, Entrypoint: []string{"/testbox"}, Cmd: []string{"sleep", "forever"},
			Labels: map[string]string{"minato.test": "x"},
		},
	}
	in := decideIntent(old.Config, v1)
	assert.Equal(t, Intent{Env: []string{"A"}, Labels: []string{"minato.test"}}, in)

	cfg, changes := intentConfig(old, in, v2, "app:v2", "sha256:v1", "sha256:v2")
	assert.Equal(t, []string{"A=2"}, cfg.Env, "only explicit entries are sent; the engine adds B=3")
	assert.Nil(t, []string(cfg.Cmd), "inherited Cmd follows the image")
	assert.Nil(t, []string(cfg.Entrypoint))
	assert.Equal(t, "", cfg.Hostname, "default hostname is left to the engine")
	assert.Equal(t, "app:v2", cfg.Image)
	assert.Equal(t, "x", cfg.Labels["minato.test"])
	assert.Equal(t, in.label(), cfg.Labels[IntentLabel])
	assert.NotContains(t, cfg.Labels[IntentLabel], "=2", "no values in the label")
	assert.Equal(t, []string{"A=2", "B=1"}, old.Config.Env, "the old config is not mutated")

	a, ok := changeOf(changes, "Env[A]")
	require.True(t, ok)
	assert.Equal(t, changeHidden, a.Old, "explicit env values are never shown")
	assert.Contains(t, a.Why, "explicit: kept")
	b, ok := changeOf(changes, "Env[B]")
	require.True(t, ok)
	assert.Equal(t, Change{Field: "Env[B]", Old: "1", New: "3", Why: "image default: follows the new image"}, b)
	cmd, ok := changeOf(changes, FieldCmd)
	require.True(t, ok)
	assert.Equal(t, `["sleep","forever"]`, cmd.Old)
	assert.Equal(t, `["sleep","1h"]`, cmd.New)
	im, _ := changeOf(changes, "Image")
	assert.Equal(t, "sha256:v1", im.Old)
	assert.Equal(t, "sha256:v2", im.New)
	_, ok = changeOf(changes, "Entrypoint")
	assert.False(t, ok, "an unchanged inherited field is not a change")

	// Second update from the container v2 made (A=2 explicit, B=3 from
	// v2) to v3 whose default A=2: guessing against v2 alone would still
	// work, but against v3's A=2 the label is what keeps A explicit.
	second := dcontainer.InspectResponse{
		ContainerJSONBase: &dcontainer.ContainerJSONBase{ID: "fedcba9876543210", Image: "sha256:v2"},
		Config: &dcontainer.Config{Image: "app:v2", Env: []string{"A=2", "B=3"}, Entrypoint: []string{"/testbox"}, Cmd: []string{"sleep", "1h"},
			Labels: map[string]string{"minato.test": "x", IntentLabel: cfg.Labels[IntentLabel]}},
	}
	fromLabel, err := parseIntentLabel(second.Config.Labels[IntentLabel])
	require.NoError(t, err)
	cfg3, _ := intentConfig(second, fromLabel, v3, "app:v3", "sha256:v2", "sha256:v3")
	assert.Equal(t, []string{"A=2"}, cfg3.Env)
	again, err := parseIntentLabel(cfg3.Labels[IntentLabel])
	require.NoError(t, err)
	assert.Equal(t, []string{"A"}, again.Env, "A stays explicit for the update after v3")
	// Without the label, a guess against v3 would lose it.
	assert.Empty(t, decideIntent(&dcontainer.Config{Env: []string{"A=2", "B=3"}}, v3).Env)
}

func TestNewConfigExplicitKept(t *testing.T) {
	newImg := testImgConfig(ocispec.ImageConfig{Entrypoint: []string{"/new"}, Cmd: []string{"serve"}, User: "2000", Labels: map[string]string{"l": "new"}}, nil)
	old := dcontainer.InspectResponse{
		ContainerJSONBase: &dcontainer.ContainerJSONBase{ID: "0123456789abcdef"},
		Config: &dcontainer.Config{Hostname: "db-1", Entrypoint: nil, Cmd: []string{"x"}, User: "0", Labels: map[string]string{"l": "old"},
			ExposedPorts: nat.PortSet{"80/tcp": {}, "81/tcp": {}}, Volumes: map[string]struct{}{"/v": {}}},
	}
	in := Intent{Fields: []string{FieldCmd, FieldEntrypoint, FieldUser}, Labels: []string{"l"}, ExposedPorts: []string{"81/tcp"}, Volumes: []string{"/v"}}
	cfg, changes := intentConfig(old, in, newImg, "r:2", "sha256:a", "sha256:b")
	assert.Equal(t, "db-1", cfg.Hostname, "an explicit hostname is kept")
	assert.Equal(t, []string{""}, []string(cfg.Entrypoint), "an explicit empty entrypoint is sent as [\"\"]")
	assert.Equal(t, []string{"x"}, []string(cfg.Cmd))
	assert.Equal(t, "0", cfg.User)
	assert.Equal(t, "old", cfg.Labels["l"])
	assert.Equal(t, nat.PortSet{"81/tcp": {}}, cfg.ExposedPorts)
	assert.Equal(t, map[string]struct{}{"/v": {}}, cfg.Volumes)
	u, _ := changeOf(changes, FieldUser)
	assert.Equal(t, "0", u.New)
	assert.True(t, strings.HasPrefix(u.Why, "explicit: kept; the new image's default is 2000"), u.Why)
	p, ok := changeOf(changes, "ExposedPorts[80/tcp]")
	require.True(t, ok)
	assert.Equal(t, changeUnset, p.New)
}
