package app

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/minato-ops/minato/container/swarm"
)

// ServiceSpec maps s to the Swarm service that runs it with Backend
// "swarm": replicas, command, environment (env files loaded first),
// ports, mounts, networks, limits, restart policy, health check, labels
// and the update policy (batch, order and gate timeout; a failed update is
// rolled back by Swarm). What a Swarm service cannot express is refused,
// naming the field: an entrypoint, a host IP or a host-port range on a
// port (the routing mesh publishes one port for all replicas), tmpfs
// mounts.
func (s Spec) ServiceSpec() (swarm.ServiceSpec, error) {
	s = s.WithDefaults()
	var errs []error
	bad := func(format string, a ...any) {
		errs = append(errs, fmt.Errorf("app %s: backend swarm: "+format, append([]any{s.Name}, a...)...))
	}
	out := swarm.ServiceSpec{
		Name: s.Name, Image: s.Image, Replicas: s.ReplicaCount(), Command: s.Command, Env: s.Environment(),
		Networks: s.Networks, Restart: s.Restart, Labels: s.Labels,
		Resources: swarm.Resources{CPUs: s.Resources.CPUs},
		Update:    swarm.UpdatePolicy{Order: s.Update.Order, Batch: s.Update.Batch, Timeout: s.Update.Timeout, FailureAction: "rollback"},
	}
	if len(s.Entrypoint) > 0 {
		bad("entrypoint: a Swarm service keeps the image's entrypoint; put the program in command, or use backend engine")
	}
	if s.Resources.Memory != "" {
		m, err := ParseSize(s.Resources.Memory)
		if err != nil {
			bad("resources.memory: %v", err)
		}
		out.Resources.Memory = m
	}
	for i, p := range s.Ports {
		m, err := ParsePort(p)
		switch {
		case err != nil:
			bad("ports[%d]: %v", i, err)
		case m.HostIP != "":
			bad("ports[%d]: %q: a Swarm service publishes on every node's addresses; drop the host IP %s", i, p, m.HostIP)
		case m.HostLast != m.HostPort:
			bad("ports[%d]: %q: the routing mesh publishes one port for all replicas; give one host port", i, p)
		case m.HostPort == 0:
			out.Ports = append(out.Ports, strconv.Itoa(int(m.ContainerPort))+"/"+m.Protocol)
		default:
			out.Ports = append(out.Ports, fmt.Sprintf("%d:%d/%s", m.HostPort, m.ContainerPort, m.Protocol))
		}
	}
	for i, m := range s.Mounts {
		switch m.Type {
		case "bind", "volume":
			if m.Source == "" {
				bad("mounts[%d]: an anonymous volume has no name Swarm can give every task; name it", i)
				continue
			}
			spec := m.Source + ":" + m.Target
			if m.ReadOnly {
				spec += ":ro"
			}
			out.Mounts = append(out.Mounts, spec)
		default:
			bad("mounts[%d]: type %s: Swarm services here take bind and volume mounts", i, m.Type)
		}
	}
	if h := s.Healthcheck; h != nil {
		out.Healthcheck = &swarm.Healthcheck{Test: h.Test, Interval: h.Interval, Timeout: h.Timeout, Retries: h.Retries, StartPeriod: h.StartPeriod}
	}
	if err := errors.Join(errs...); err != nil {
		return swarm.ServiceSpec{}, err
	}
	if err := out.Validate(); err != nil {
		return swarm.ServiceSpec{}, fmt.Errorf("app %s: backend swarm: %w", s.Name, err)
	}
	return out, nil
}

// ApplySwarm runs the applications whose Backend is "swarm" as Swarm
// services through sc (a manager): each is created, updated (a rolling
// update that Swarm rolls back when the new tasks fail) or left unchanged
// when its spec hash matches, and then waited for until converged or ctx
// ends. Env files are read relative to dir ("" for the working directory).
// Specs with another backend are ignored. The results are in the order of
// specs; err joins the failures of every application (a rolled-back
// update is one, wrapping swarm.ErrRolledBack).
func ApplySwarm(ctx context.Context, sc *swarm.Client, specs []Spec, dir string) ([]swarm.ApplyResult, error) {
	var out []swarm.ApplyResult
	var errs []error
	for _, s := range specs {
		if s.Backend != "swarm" {
			continue
		}
		if len(s.EnvFiles) > 0 {
			if err := s.LoadEnvFiles(dir); err != nil {
				errs = append(errs, fmt.Errorf("app %s: %w", s.Name, err))
				continue
			}
		}
		ss, err := s.ServiceSpec()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		res, err := sc.Apply(ctx, ss)
		if err != nil {
			errs = append(errs, fmt.Errorf("app %s: %w", s.Name, err))
			continue
		}
		out = append(out, res)
		if _, err := sc.WaitConverged(ctx, s.Name); err != nil {
			errs = append(errs, fmt.Errorf("app %s: %w", s.Name, err))
		}
	}
	return out, errors.Join(errs...)
}
