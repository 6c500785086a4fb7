package container_test

import (
	"context"
	"fmt"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/minato-ops/minato/container"
	"github.com/minato-ops/minato/inventory"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func ids(ss []container.Summary) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = s.ID
	}
	return out
}

func TestListRunningOnly(t *testing.T) {
	c, srv := newFake(t, basicDir)
	res, err := c.List(context.Background(), container.ListOptions{})
	require.NoError(t, err)
	assert.Equal(t, []string{idWeb1, idDB}, ids(res.Containers), "engine order, running only")
	assert.Equal(t, url.Values{}, only(t, srv, "GET", "/containers/json").Query, "no all, size or filters")
}

func TestListAllMapsFields(t *testing.T) {
	c, srv := newFake(t, basicDir)
	res, err := c.List(context.Background(), container.ListOptions{All: true, Size: true})
	require.NoError(t, err)
	q := only(t, srv, "GET", "/containers/json").Query
	assert.Equal(t, url.Values{"all": {"1"}, "size": {"1"}}, q)
	require.Equal(t, []string{idWeb1, idWeb2, idDB}, ids(res.Containers))

	web1 := res.Containers[0]
	assert.Equal(t, container.Summary{
		ID:        idWeb1,
		Name:      "web-1",
		Image:     "nginx:1.27",
		ImageID:   "sha256:3b25b682ea82b2db3cc4fd48db818be788ee3f902ac7378090cf2624ec2442df",
		Command:   "/docker-entrypoint.sh nginx -g 'daemon off;'",
		Created:   time.Unix(1735732800, 0),
		State:     container.Running,
		Status:    "Up 2 hours (healthy)",
		Labels:    map[string]string{"app": "web", "tier": "front", "com.example.owner": "ops"},
		Ports:     []container.Port{{IP: "0.0.0.0", PrivatePort: 80, PublicPort: 8080, Type: "tcp"}},
		Networks:  []string{"bridge"},
		IPAddress: "172.17.0.3",
	}, web1)
	assert.Equal(t, container.Exited, res.Containers[1].State)
	assert.Equal(t, "web-2", res.Containers[1].Name)
	assert.Equal(t, []string{"bridge"}, res.Containers[1].Networks)
	assert.Empty(t, res.Containers[1].IPAddress, "an exited container has no address")
	db := res.Containers[2]
	assert.Equal(t, "db", db.Name, `primary name, not the link alias "/web-1/db"`)
	assert.Equal(t, []container.Mount{{Type: "volume", Name: "pgdata", Source: "/var/lib/docker/volumes/pgdata/_data", Destination: "/var/lib/postgresql/data", RW: true}}, db.Mounts)
	assert.Equal(t, "5432/tcp", container.FormatPorts(db.Ports))
}

func TestListNetworksAndAddress(t *testing.T) {
	dir := fixtureDir(t, map[string]string{"containers.json": `[
	  {"Id": "aaa", "Names": ["/multi"], "State": "running",
	   "NetworkSettings": {"Networks": {
	     "zeta": {"IPAddress": "10.0.9.2"},
	     "alpha": {"IPAddress": "", "GlobalIPv6Address": "fd00::2"},
	     "mid": {"IPAddress": "10.0.5.2"}}}},
	  {"Id": "bbb", "Names": ["/v6only"], "State": "running",
	   "NetworkSettings": {"Networks": {"v6": {"GlobalIPv6Address": "fd00::3"}}}},
	  {"Id": "ccc", "Names": ["/none"], "State": "running", "NetworkSettings": {"Networks": {"none": null}}},
	  {"Id": "ddd", "Names": ["/old"], "State": "running"}
	]`})
	c, _ := newFake(t, dir)
	res, err := c.List(context.Background(), container.ListOptions{All: true})
	require.NoError(t, err)
	require.Len(t, res.Containers, 4)
	assert.Equal(t, []string{"alpha", "mid", "zeta"}, res.Containers[0].Networks, "sorted names")
	assert.Equal(t, "10.0.5.2", res.Containers[0].IPAddress, "first IPv4 in network name order")
	assert.Equal(t, "fd00::3", res.Containers[1].IPAddress, "IPv6 when there is no IPv4")
	assert.Equal(t, []string{"none"}, res.Containers[2].Networks)
	assert.Empty(t, res.Containers[2].IPAddress)
	assert.Nil(t, res.Containers[3].Networks, "no NetworkSettings at all")
}

func TestFormatPorts(t *testing.T) {
	tcp := func(ip string, priv, pub uint16) container.Port {
		return container.Port{IP: ip, PrivatePort: priv, PublicPort: pub, Type: "tcp"}
	}
	udp := func(priv uint16) container.Port { return container.Port{PrivatePort: priv, Type: "udp"} }
	cases := []struct {
		name  string
		ports []container.Port
		want  string
	}{
		{"none", nil, ""},
		{"exposed only", []container.Port{tcp("", 443, 0)}, "443/tcp"},
		{"published elsewhere, then exposed", []container.Port{tcp("", 443, 0), tcp("0.0.0.0", 80, 8080)}, "443/tcp, 0.0.0.0:8080->80/tcp"},
		{"IPv4 and IPv6 remaps, IPv4 first", []container.Port{tcp("::", 80, 8080), tcp("0.0.0.0", 80, 8080)}, "0.0.0.0:8080->80/tcp, [::]:8080->80/tcp"},
		{"same number is grouped", []container.Port{tcp("0.0.0.0", 7001, 7001), tcp("0.0.0.0", 7000, 7000), tcp("0.0.0.0", 7002, 7002)}, "0.0.0.0:7000-7002->7000-7002/tcp"},
		{"IPv6 group is bracketed", []container.Port{tcp("::", 53, 53)}, "[::]:53->53/tcp"},
		{"exposed ranges per protocol", []container.Port{udp(5001), tcp("", 5000, 0), udp(5000), tcp("", 5001, 0)}, "5000-5001/tcp, 5000-5001/udp"},
		{"a gap splits a group", []container.Port{tcp("", 80, 0), tcp("", 81, 0), tcp("", 90, 0), tcp("", 91, 0)}, "80-81/tcp, 90-91/tcp"},
		{"a closed group comes before the open ones, as docker ps prints", []container.Port{tcp("", 80, 0), tcp("", 90, 0), udp(85)}, "80/tcp, 90/tcp, 85/udp"},
		{"sctp", []container.Port{{PrivatePort: 9, Type: "sctp"}}, "9/sctp"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := slices.Clone(tc.ports)
			assert.Equal(t, tc.want, container.FormatPorts(tc.ports))
			assert.Equal(t, in, tc.ports, "input not reordered")
		})
	}
}

func TestMountString(t *testing.T) {
	assert.Equal(t, "pgdata:/var/lib/postgresql/data", container.Mount{Type: "volume", Name: "pgdata", Source: "/var/lib/docker/volumes/pgdata/_data", Destination: "/var/lib/postgresql/data", RW: true}.String())
	assert.Equal(t, "/etc/app:/config:ro", container.Mount{Type: "bind", Source: "/etc/app", Destination: "/config"}.String())
	assert.Equal(t, "tmpfs:/run", container.Mount{Type: "tmpfs", Destination: "/run", RW: true}.String())
}

func TestListFilters(t *testing.T) {
	cases := []struct {
		name    string
		opts    container.ListOptions
		all     bool
		filters map[string]map[string]bool
		want    []string
	}{
		{
			name:    "label value and presence",
			opts:    container.ListOptions{Labels: map[string]string{"app": "web", "tier": ""}},
			filters: map[string]map[string]bool{"label": {"app=web": true, "tier": true}},
			want:    []string{idWeb1},
		},
		{
			name:    "label with all",
			opts:    container.ListOptions{All: true, Labels: map[string]string{"app": "web"}},
			all:     true,
			filters: map[string]map[string]bool{"label": {"app=web": true}},
			want:    []string{idWeb1, idWeb2},
		},
		{
			name:    "exited state implies all",
			opts:    container.ListOptions{States: []container.State{container.Exited}},
			all:     true,
			filters: map[string]map[string]bool{"status": {"exited": true}},
			want:    []string{idWeb2},
		},
		{
			name:    "running state alone does not set all",
			opts:    container.ListOptions{States: []container.State{container.Running}, Labels: map[string]string{"tier": "back"}},
			filters: map[string]map[string]bool{"status": {"running": true}, "label": {"tier=back": true}},
			want:    []string{idDB},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, srv := newFake(t, basicDir)
			res, err := c.List(context.Background(), tc.opts)
			require.NoError(t, err)
			assert.Equal(t, tc.want, ids(res.Containers))
			q := only(t, srv, "GET", "/containers/json").Query
			if tc.all {
				assert.Equal(t, "1", q.Get("all"))
			} else {
				assert.False(t, q.Has("all"), "all=%q", q.Get("all"))
			}
			assert.Equal(t, tc.filters, filtersOf(t, q))
		})
	}
}

func TestSelect(t *testing.T) {
	cases := []struct {
		name string
		sel  inventory.Selector
		want []string
	}{
		{"name prefix, sorted by ID", inventory.Selector{Names: []string{"web*"}}, []string{idWeb2, idWeb1}},
		{"exact name with slash", inventory.Selector{Names: []string{"/db"}}, []string{idDB}},
		{"exact name is not a prefix", inventory.Selector{Names: []string{"web"}}, []string{}},
		{"short ID is exact", inventory.Selector{IDs: []string{idWeb1[:12]}}, []string{idWeb1}},
		{"full ID", inventory.Selector{IDs: []string{idDB}}, []string{idDB}},
		{"short prefix without star matches nothing", inventory.Selector{IDs: []string{idWeb1[:4]}}, []string{}},
		{"ID prefix", inventory.Selector{IDs: []string{"e650*"}}, []string{idWeb1}},
		{"state filter", inventory.Selector{Names: []string{"web*"}, States: []string{"running"}}, []string{idWeb1}},
		{"exited state", inventory.Selector{States: []string{"exited"}}, []string{idWeb2}},
		{"everything", inventory.Selector{Kind: inventory.KindContainer, Names: []string{"*"}}, []string{idDB, idWeb2, idWeb1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, srv := newFake(t, basicDir)
			got, err := c.Select(context.Background(), tc.sel)
			require.NoError(t, err)
			require.NotNil(t, got)
			assert.Equal(t, tc.want, ids(got))
			q := only(t, srv, "GET", "/containers/json").Query
			assert.Equal(t, "1", q.Get("all"), "Select sees stopped containers too")
		})
	}
}

func TestSelectLabelsAreFilteredByTheEngine(t *testing.T) {
	c, srv := newFake(t, basicDir)
	got, err := c.Select(context.Background(), inventory.Selector{Labels: map[string]string{"app": "db"}})
	require.NoError(t, err)
	assert.Equal(t, []string{idDB}, ids(got))
	q := only(t, srv, "GET", "/containers/json").Query
	assert.Equal(t, map[string]map[string]bool{"label": {"app=db": true}}, filtersOf(t, q))
}

func TestSelectUsageErrors(t *testing.T) {
	c, srv := newFake(t, basicDir)
	_, err := c.Select(context.Background(), inventory.Selector{IDs: []string{"e650*"}, Names: []string{"web*"}})
	assert.ErrorIs(t, err, inventory.ErrIDAndName)
	_, err = c.Select(context.Background(), inventory.Selector{Names: []string{"w*b"}})
	assert.ErrorIs(t, err, inventory.ErrBadPattern)
	_, err = c.Select(context.Background(), inventory.Selector{Kind: inventory.KindNode})
	assert.ErrorContains(t, err, `kind "node"`)
	assert.Empty(t, srv.Requests(), "an invalid selector never reaches the engine")
}

func TestResolve(t *testing.T) {
	c, srv := newFake(t, basicDir)
	got, err := c.Resolve(context.Background(), inventory.Selector{Names: []string{"web*"}})
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, inventory.Target{
		Kind: inventory.KindContainer, ID: idWeb2, Name: "web-2", Engine: srv.URL,
		Labels: map[string]string{"app": "web", "tier": "front"},
	}, got[0])
	assert.Equal(t, idWeb1, got[1].ID)
	assert.Equal(t, srv.URL, c.Host())
}

func ExampleFormatPorts() {
	fmt.Println(container.FormatPorts([]container.Port{
		{PrivatePort: 443, Type: "tcp"},
		{IP: "0.0.0.0", PrivatePort: 80, PublicPort: 8080, Type: "tcp"},
		{IP: "::", PrivatePort: 80, PublicPort: 8080, Type: "tcp"},
		{IP: "0.0.0.0", PrivatePort: 7000, PublicPort: 7000, Type: "udp"},
		{IP: "0.0.0.0", PrivatePort: 7001, PublicPort: 7001, Type: "udp"},
	}))
	// Output: 443/tcp, 0.0.0.0:7000-7001->7000-7001/udp, 0.0.0.0:8080->80/tcp, [::]:8080->80/tcp
}
