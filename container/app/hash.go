package app

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"strconv"
)

// record is the normalised part of a Spec that shapes one replica's
// container: what Hash covers and what LabelConfig records. Replicas,
// Update and Backend are left out: changing them recreates nothing.
// Metering counts through the labels it puts on the replicas (the
// metering agent finds its targets by them), so turning it on or moving
// the port recreates the replicas. Maps are sorted by encoding/json.
type record struct {
	Image       string            `json:"image"`
	Command     []string          `json:"command,omitempty"`
	Entrypoint  []string          `json:"entrypoint,omitempty"`
	Env         map[string]string `json:"env,omitempty"`
	Ports       []string          `json:"ports,omitempty"`
	Mounts      []Mount           `json:"mounts,omitempty"`
	Networks    []string          `json:"networks,omitempty"`
	NanoCPUs    int64             `json:"nano_cpus,omitempty"`
	Memory      int64             `json:"memory,omitempty"`
	Restart     string            `json:"restart,omitempty"`
	Healthcheck *Healthcheck      `json:"healthcheck,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
}

// normalise returns the record of s with env values as given (secret)
// when redact is false, or replaced by digests when it is true.
func (s *Spec) record(redact bool) record {
	r := record{Image: s.Image, Command: s.Command, Entrypoint: s.Entrypoint, Networks: s.Networks, Mounts: s.Mounts}
	env := s.Environment()
	if len(env) > 0 {
		r.Env = env
		if redact {
			r.Env = make(map[string]string, len(env))
			for k, v := range env {
				r.Env[k] = digest(k + "=" + v)[:16]
			}
		}
	}
	for _, p := range s.Ports {
		if m, err := ParsePort(p); err == nil {
			r.Ports = append(r.Ports, m.String())
		} else {
			r.Ports = append(r.Ports, p)
		}
	}
	r.NanoCPUs = int64(s.Resources.CPUs * 1e9)
	if s.Resources.Memory != "" {
		r.Memory, _ = ParseSize(s.Resources.Memory)
	}
	name, n, _ := parseRestart(s.Restart)
	r.Restart = name
	if n > 0 {
		r.Restart += ":" + strconv.Itoa(n)
	}
	if h := s.Healthcheck; h != nil {
		hc := *h
		hc.Test = h.test()
		r.Healthcheck = &hc
	}
	if len(s.Labels) > 0 {
		r.Labels = maps.Clone(s.Labels)
	}
	if ml := s.meteringLabels(); len(ml) > 0 {
		if r.Labels == nil {
			r.Labels = map[string]string{}
		}
		maps.Copy(r.Labels, ml)
	}
	if len(r.Mounts) == 0 {
		r.Mounts = nil
	}
	return r
}

// String renders the mapping in its canonical form:
// "[IP:]HOST[-LAST]:CONTAINER/PROTO", or "CONTAINER/PROTO" without a host
// port.
func (m PortMapping) String() string {
	s := strconv.Itoa(int(m.ContainerPort)) + "/" + m.Protocol
	if m.HostPort != 0 {
		h := strconv.Itoa(int(m.HostPort))
		if m.HostLast != m.HostPort {
			h += "-" + strconv.Itoa(int(m.HostLast))
		}
		s = h + ":" + s
	} else if m.HostIP != "" {
		s = ":" + s
	}
	if m.HostIP != "" {
		ip := m.HostIP
		if slices.Contains([]byte(ip), ':') {
			ip = "[" + ip + "]"
		}
		s = ip + ":" + s
	}
	return s
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// Hash returns a digest of everything that shapes one replica's container
// (image, command, entrypoint, environment with the loaded env files'
// contents, ports, mounts, networks, resources, restart policy, health
// check, labels), stable across map order: the value of [LabelSpec]. Two
// specs with equal hashes give equal containers; Replicas, Update,
// Metering and Backend do not count. Call [Spec.LoadEnvFiles] first when
// EnvFiles is set ([Parse] does), else only Env counts. The result is 20
// hex digits.
func (s Spec) Hash() string {
	b, _ := json.Marshal(s.record(false)) // plain data: cannot fail
	return digest(string(b))[:20]
}

// recordLabel returns the LabelConfig value: the record with env values
// replaced by digests.
func (s *Spec) recordLabel() string {
	b, _ := json.Marshal(s.record(true))
	return string(b)
}
