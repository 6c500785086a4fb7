package hinemos_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/hinemos"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	idA = "0e0d8cdf3a57aaaabbbbccccddddeeeeffff000011112222333344445555666"
	idB = "1eae26f41927aaaabbbbccccddddeeeeffff000011112222333344445555666"
)

var (
	ctrA = inventory.Target{Kind: inventory.KindContainer, ID: idA, Name: "/conteiner_A"}
	ctrB = inventory.Target{Kind: inventory.KindContainer, ID: idB, Name: "conteiner_B"}
	// host is the Target of the engine-wide monitors (its ID is the engine
	// address) and of the host figures, which are named "host".
	host   = inventory.Target{Kind: inventory.KindHost, ID: "tcp://docker_host1:2375", Name: "host"}
	engine = inventory.Target{Kind: inventory.KindHost, ID: "tcp://docker_host1:2375", Name: "tcp://docker_host1:2375"}
)

func sample(name string, v float64, labels ...string) monitor.Sample {
	s := monitor.Sample{Name: name, Value: v}
	for i := 0; i+1 < len(labels); i += 2 {
		if s.Labels == nil {
			s.Labels = map[string]string{}
		}
		s.Labels[labels[i]] = labels[i+1]
	}
	return s
}

func ev(t inventory.Target, ss ...monitor.Sample) monitor.Evaluation {
	return monitor.Evaluation{Target: t, Result: monitor.Result{Samples: ss}}
}

func failed(t inventory.Target, err error, msg string) monitor.Evaluation {
	return monitor.Evaluation{Target: t, Status: monitor.Unknown, Err: err, Message: msg}
}

// states are the container states in the order the host monitors report
// them, with the counts or sizes given.
func states(name string, vs ...float64) []monitor.Sample {
	var out []monitor.Sample
	for i, st := range []string{"running", "restarting", "paused", "exited", "created", "removing", "dead"} {
		out = append(out, sample(name, vs[i], "state", st))
	}
	return out
}

// TestWriteLineForms reproduces every line form of the Hinemos Docker
// monitoring scripts (docs/monitoring.md, the CLI's tests) from the
// samples the monitors produce.
func TestWriteLineForms(t *testing.T) {
	cases := []struct {
		name string
		keys []hinemos.Key
		evs  []monitor.Evaluation
		want string
	}{
		{"host-status answers", hinemos.HostStatusKeys(),
			[]monitor.Evaluation{ev(engine, sample("engine_status", 0), sample("engine_up", 1))},
			"Status,0\n"},
		{"host-status unreachable", hinemos.HostStatusKeys(),
			[]monitor.Evaluation{ev(engine, sample("engine_status", 1), sample("engine_up", 0))},
			"Status,1\n"},
		{"host-status --count: fixed order, zeros included", hinemos.HostCountKeys(),
			[]monitor.Evaluation{ev(engine, states("containers", 3, 0, 1, 2, 0, 0, 0)...)},
			"running,3\nrestarting,0\npaused,1\nexited,2\ncreated,0\nremoving,0\ndead,0\n"},
		{"host-status --size: image first", hinemos.HostSizeKeys(),
			[]monitor.Evaluation{ev(engine, append(append([]monitor.Sample{sample("disk_images_bytes", 474361657)},
				states("disk_containers_bytes", 1024, 0, 0, 65536, 0, 0, 0)...), sample("disk_volumes_bytes", 9))...)},
			"image,474361657\nrunning,1024\nrestarting,0\npaused,0\nexited,65536\ncreated,0\nremoving,0\ndead,0\n"},
		{"cpu: names without the slash, two decimals", hinemos.CPUKeys(),
			[]monitor.Evaluation{
				ev(ctrA, sample("cpu_usage_seconds_total", 19.37), sample("cpu_percent", 0.0812), sample("cpu_limit_cpus", 2)),
				ev(ctrB, sample("cpu_percent", 0.07)),
			},
			"cpu_usage:conteiner_A,0.08\ncpu_usage:conteiner_B,0.07\n"},
		{"cpu --with-host: the host line last", hinemos.CPUKeys(),
			[]monitor.Evaluation{ev(ctrA, sample("cpu_percent", 0.0812)), ev(host, sample("cpu_percent", 0.65))},
			"cpu_usage:conteiner_A,0.08\ncpu_usage:host,0.65\n"},
		{"cpu --core: one line per core", hinemos.CPUCoreKeys(),
			[]monitor.Evaluation{ev(ctrB, sample("cpu_percent", 0.12), sample("cpu_core_percent", 0.05, "core", "0"), sample("cpu_core_percent", 0.07, "core", "1"))},
			"cpu_usage#0:conteiner_B,0.05\ncpu_usage#1:conteiner_B,0.07\n"},
		{"memory: rss against the host", hinemos.MemoryKeys(false),
			[]monitor.Evaluation{
				ev(ctrA, sample("memory_rss_bytes", 8990720), sample("memory_host_percent", 0.236), sample("memory_limit_percent", 3.3)),
				ev(ctrB, sample("memory_host_percent", 10)),
			},
			"host_mem_usage:0e0d8cdf,0.24\nhost_mem_usage:1eae26f4,10.00\n"},
		{"memory --container: the limit share under the same key", hinemos.MemoryKeys(true),
			[]monitor.Evaluation{ev(ctrA, sample("memory_host_percent", 0.236), sample("memory_limit_percent", 3.3))},
			"host_mem_usage:0e0d8cdf,3.30\n"},
		{"memory --with-host", hinemos.MemoryKeys(false),
			[]monitor.Evaluation{ev(ctrA, sample("memory_host_percent", 0.236)), ev(host, sample("memory_host_percent", 41.5), sample("memory_limit_percent", 41.5))},
			"host_mem_usage:0e0d8cdf,0.24\nhost_mem_usage:host,41.50\n"},
		{"memory --container --with-host", hinemos.MemoryKeys(true),
			[]monitor.Evaluation{ev(ctrA, sample("memory_limit_percent", 50)), ev(host, sample("memory_host_percent", 41.5), sample("memory_limit_percent", 41.5))},
			"host_mem_usage:0e0d8cdf,50.00\nhost_mem_usage:host,41.50\n"},
		{"memory --all, one container: bare stat keys, exact integers", hinemos.MemoryAllKeys(),
			[]monitor.Evaluation{ev(ctrA,
				sample("memory_usage_bytes", 52428800),
				sample("memory_stat", 16777216, "key", "cache"),
				monitor.Sample{Name: "memory_stat", Value: 9223372036854775807, Exact: "9223372036854775807", Labels: map[string]string{"key": "hierarchical_memsw_limit"}},
				sample("memory_stat", 25165824, "key", "total_rss"))},
			"cache,16777216\nhierarchical_memsw_limit,9223372036854775807\ntotal_rss,25165824\n"},
		{"memory --all, several containers: qualified by id8", hinemos.MemoryAllKeys(),
			[]monitor.Evaluation{
				ev(ctrA, sample("memory_stat", 1, "key", "cache"), sample("memory_stat", 2, "key", "rss")),
				ev(ctrB, sample("memory_stat", 3, "key", "cache")),
			},
			"cache:0e0d8cdf,1\nrss:0e0d8cdf,2\ncache:1eae26f4,3\n"},
		{"memory --all, several selected but one measured: not qualified", hinemos.MemoryAllKeys(),
			[]monitor.Evaluation{
				ev(ctrA, sample("memory_stat", 1, "key", "cache")),
				failed(ctrB, errors.New("container is exited"), "container is exited"),
			},
			"cache,1\n"},
		{"disk: read then write per container", hinemos.DiskKeys(false, false),
			[]monitor.Evaluation{
				ev(ctrA, sample("blkio_read_bytes_total", 9e6), sample("disk_read_bytes", 5242880), sample("disk_write_bytes", 1048576)),
				ev(ctrB, sample("disk_write_bytes", 0), sample("disk_read_bytes", 4096)),
			},
			"disk_read:0e0d8cdf,5242880.00\ndisk_write:0e0d8cdf,1048576.00\ndisk_read:1eae26f4,4096.00\ndisk_write:1eae26f4,0.00\n"},
		{"disk --write", hinemos.DiskKeys(false, true),
			[]monitor.Evaluation{ev(ctrA, sample("disk_read_bytes", 5242880), sample("disk_write_bytes", 1048576))},
			"disk_write:0e0d8cdf,1048576.00\n"},
		{"network: bytes and packets, rx and tx", hinemos.NetworkKeys(false, false, false, false),
			[]monitor.Evaluation{ev(ctrA, sample("network_tx_packets", 4), sample("network_rx_packets", 3),
				sample("network_tx_bytes", 2048), sample("network_rx_bytes", 1024), sample("network_rx_bytes_total", 1e9))},
			"nw_rxkb:0e0d8cdf,1024.00\nnw_txkb:0e0d8cdf,2048.00\nnw_rxpck:0e0d8cdf,3.00\nnw_txpck:0e0d8cdf,4.00\n"},
		{"network --pck --tx", hinemos.NetworkKeys(false, true, false, true),
			[]monitor.Evaluation{ev(ctrA, sample("network_tx_packets", 4), sample("network_rx_packets", 3), sample("network_tx_bytes", 2048))},
			"nw_txpck:0e0d8cdf,4.00\n"},
		{"process: default pattern and id12", hinemos.ProcessKeys(".*"),
			[]monitor.Evaluation{ev(ctrA, sample("processes", 3))},
			".*:0e0d8cdf3a57,3\n"},
		{"process: -prog and -args", hinemos.ProcessKeys("/testbox sleep"),
			[]monitor.Evaluation{ev(ctrA, sample("processes", 2)), ev(ctrB, sample("processes", 0))},
			"/testbox sleep:0e0d8cdf3a57,2\n/testbox sleep:1eae26f41927,0\n"},
		{"process: braces in the pattern are printed as given", hinemos.ProcessKeys(`^java .*-Xmx\d{3,4}m {{x}}`),
			[]monitor.Evaluation{ev(ctrA, sample("processes", 1))},
			`^java .*-Xmx\d{3,4}m {{x}}:0e0d8cdf3a57,1` + "\n"},
		{"errors and values that could not be had print nothing", hinemos.CPUKeys(),
			[]monitor.Evaluation{
				failed(ctrA, fmt.Errorf("cpu: %w", monitor.ErrNoBaseline), "no baseline yet"),
				ev(ctrB, sample("cpu_percent", math.NaN())),
				ev(host, sample("cpu_percent", math.Inf(1))),
			},
			""},
		{"a sample without the label a template names prints nothing", hinemos.HostCountKeys(),
			[]monitor.Evaluation{ev(engine, sample("containers", 3, "state", "running"), sample("containers", 9))},
			"running,3\n"},
		{"no evaluations", hinemos.CPUKeys(), nil, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, hinemos.Write(&buf, tc.evs, tc.keys))
			assert.Equal(t, tc.want, buf.String())
		})
	}
}

func TestWriteKeys(t *testing.T) {
	ctr := inventory.Target{Kind: inventory.KindContainer, ID: idA, Name: "web\n1"}
	evs := []monitor.Evaluation{ev(ctr,
		sample("x_percent", 1.5, "disk", "sda", "mode", "rw"),
		sample("x_percent", 2.5, "disk", "sdb", "mode", "ro"),
		monitor.Sample{Name: "x_bytes", Value: 1 << 62, Exact: "4611686018427387904"},
	)}
	cases := []struct {
		name string
		key  hinemos.Key
		want string
	}{
		{"every placeholder and literal braces", hinemos.Key{Sample: "x_percent", Format: "{{{name}}}/{id8}/{id12}/{label:disk}", Decimals: 1},
			"{web 1}/0e0d8cdf/0e0d8cdf3a57/sda,1.5\n{web 1}/0e0d8cdf/0e0d8cdf3a57/sdb,2.5\n"},
		{"labels restrict the samples", hinemos.Key{Sample: "x_percent", Labels: map[string]string{"mode": "ro"}, Format: "{label:disk}", Decimals: 3},
			"sdb,2.500\n"},
		{"an absent label never matches", hinemos.Key{Sample: "x_percent", Labels: map[string]string{"other": ""}, Format: "x"}, ""},
		{"exact text only for integers", hinemos.Key{Sample: "x_bytes", Format: "b", Decimals: 2}, "b,4611686018427387904.00\n"},
		{"exact text for decimals 0", hinemos.Key{Sample: "x_bytes", Format: "b"}, "b,4611686018427387904\n"},
		{"one evaluation is never qualified", hinemos.Key{Sample: "x_bytes", Format: "b", QualifyWhenMany: ":{id8}"}, "b,4611686018427387904\n"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			require.NoError(t, tc.key.Validate())
			var buf bytes.Buffer
			require.NoError(t, hinemos.Write(&buf, evs, []hinemos.Key{tc.key}))
			assert.Equal(t, tc.want, buf.String())
		})
	}
}

func TestKeyValidate(t *testing.T) {
	cases := []struct {
		key  hinemos.Key
		want []string // substrings of the error; none means valid
	}{
		{hinemos.Key{Sample: "s", Format: "a{{b}}c"}, nil},
		{hinemos.Key{Sample: "s", Format: "{label:a b:c}"}, nil},
		{hinemos.Key{}, []string{"sample: empty", "format: empty"}},
		{hinemos.Key{Sample: "s", Format: "{nam}"}, []string{"format:", "unknown placeholder {nam}"}},
		{hinemos.Key{Sample: "s", Format: "{name"}, []string{"unclosed {"}},
		{hinemos.Key{Sample: "s", Format: "{na{me}"}, []string{"unclosed {"}},
		{hinemos.Key{Sample: "s", Format: "a}b"}, []string{"unmatched }"}},
		{hinemos.Key{Sample: "s", Format: "{label:}"}, []string{"names no label"}},
		{hinemos.Key{Sample: "s", Format: "{}"}, []string{"unknown placeholder {}"}},
		{hinemos.Key{Sample: "s", Format: "a\nb"}, []string{"line break"}},
		{hinemos.Key{Sample: "s", Format: "k", QualifyWhenMany: ":{ID8}"}, []string{"qualify_when_many:", "{ID8}"}},
	}
	for _, tc := range cases {
		err := tc.key.Validate()
		if tc.want == nil {
			assert.NoError(t, err, "%+v", tc.key)
			continue
		}
		require.Error(t, err, "%+v", tc.key)
		for _, w := range tc.want {
			assert.Contains(t, err.Error(), w, "%+v", tc.key)
		}
		var buf bytes.Buffer
		werr := hinemos.Write(&buf, []monitor.Evaluation{ev(ctrA, sample("s", 1))}, []hinemos.Key{hinemos.CPUKeys()[0], tc.key})
		require.Error(t, werr, "Write validates every key first")
		assert.Contains(t, werr.Error(), "hinemos: key 1")
		assert.Empty(t, buf.String(), "nothing is written when a key is invalid")
	}
}

func TestEveryKeySetIsValid(t *testing.T) {
	sets := [][]hinemos.Key{
		hinemos.CPUKeys(), hinemos.CPUCoreKeys(), hinemos.MemoryKeys(false), hinemos.MemoryKeys(true), hinemos.MemoryAllKeys(),
		hinemos.DiskKeys(true, true), hinemos.NetworkKeys(true, true, true, true), hinemos.ProcessKeys("a{1,2}}{"),
		hinemos.HostStatusKeys(), hinemos.HostCountKeys(), hinemos.HostSizeKeys(),
	}
	for _, set := range sets {
		require.NotEmpty(t, set)
		for _, k := range set {
			assert.NoError(t, k.Validate(), "%+v", k)
		}
	}
	// Each call returns a new slice.
	a := hinemos.CPUKeys()
	a[0].Format = "changed"
	assert.Equal(t, "cpu_usage:{name}", hinemos.CPUKeys()[0].Format)
}

type errWriter struct{}

func (errWriter) Write([]byte) (int, error) { return 0, errors.New("closed") }

func TestWriteErrors(t *testing.T) {
	evs := []monitor.Evaluation{ev(ctrA, sample("cpu_percent", 1))}
	assert.EqualError(t, hinemos.Write(errWriter{}, evs, hinemos.CPUKeys()), "closed")
	assert.NoError(t, hinemos.Write(errWriter{}, nil, hinemos.CPUKeys()), "nothing to write, nothing written")
	assert.EqualError(t, hinemos.WriteStates(errWriter{}, []monitor.Evaluation{ev(ctrA)}), "closed")
}

func TestWriteStates(t *testing.T) {
	at := time.Date(2015, 9, 5, 21, 59, 8, 0, time.Local)
	state := func(tg inventory.Target, word string, when time.Time) monitor.Evaluation {
		return monitor.Evaluation{Target: tg, Status: monitor.Critical, Message: "threshold text is not the state",
			Result: monitor.Result{Time: when, Status: monitor.Critical, Message: word}}
	}
	evs := []monitor.Evaluation{
		state(ctrA, "running", at),
		failed(inventory.Target{Kind: inventory.KindContainer, ID: strings.Repeat("c", 64)}, errors.New("no such container"), "no such container"),
		state(ctrB, "exited", at.Add(time.Second).UTC()), // printed in local time
	}
	var buf bytes.Buffer
	require.NoError(t, hinemos.WriteStates(&buf, evs))
	assert.Equal(t, "2015-09-05 21:59:08 0e0d8cdf3a57 running\n2015-09-05 21:59:09 1eae26f41927 exited\n", buf.String())

	buf.Reset()
	require.NoError(t, hinemos.WriteStates(&buf, nil))
	assert.Empty(t, buf.String())
}

func TestProblems(t *testing.T) {
	evs := []monitor.Evaluation{
		ev(ctrA, sample("cpu_percent", 1)),
		failed(ctrA, fmt.Errorf("cpu: %w", monitor.ErrNoBaseline), "no value yet: no baseline sample yet for key k\n(the next run will have one)"),
		failed(inventory.Target{Kind: inventory.KindContainer, ID: idB}, errors.New("container is exited"), ""),
		failed(host, fmt.Errorf("host cpu: %w", monitor.ErrNoBaseline), "no value yet"),
		failed(engine, errors.New("snmp: no answer"), ""),
		failed(inventory.Target{}, errors.New("cannot connect to the Docker daemon"), ""),
	}
	assert.Equal(t, []string{
		"0e0d8cdf3a57 conteiner_A: no value yet: no baseline sample yet for key k (the next run will have one)",
		"1eae26f41927: container is exited",
		"host: no value yet",
		"tcp://docker_host1:2375: snmp: no answer",
		"cannot connect to the Docker daemon",
	}, hinemos.Problems(evs))
	assert.Nil(t, hinemos.Problems(evs[:1]))
}

func TestKeysByMonitor(t *testing.T) {
	assert.Equal(t, hinemos.CPUCoreKeys(), hinemos.Keys("cpu", hinemos.Options{Core: true}))
	assert.Equal(t, hinemos.MemoryKeys(true), hinemos.Keys("memory", hinemos.Options{Limit: true}))
	assert.Equal(t, hinemos.MemoryAllKeys(), hinemos.Keys("memory", hinemos.Options{All: true, Limit: true}))
	assert.Equal(t, hinemos.NetworkKeys(false, true, true, false), hinemos.Keys("network", hinemos.Options{Packets: true, Rx: true}))
	assert.Equal(t, hinemos.ProcessKeys("nginx"), hinemos.Keys("process", hinemos.Options{Pattern: "nginx"}))
	assert.Nil(t, hinemos.Keys("gpu", hinemos.Options{}))
	var b strings.Builder
	host := monitor.Evaluation{Target: inventory.Target{Kind: inventory.KindHost, ID: "unix:///var/run/docker.sock", Name: "unix:///var/run/docker.sock"},
		Result: monitor.Result{Samples: []monitor.Sample{{Name: "cpu_percent", Value: 12.345}}}}
	require.NoError(t, hinemos.Write(&b, []monitor.Evaluation{host}, hinemos.HostKeys("cpu")))
	assert.Equal(t, "cpu_usage:host,12.35\n", b.String(), "the host's key whatever the engine's name")
}
