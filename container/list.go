package container

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/minato-ops/minato/inventory"
)

// ListOptions selects what [Client.List] returns.
type ListOptions struct {
	// All includes containers that are not running (docker ps -a).
	All bool
	// Size fills Summary.SizeRw and SizeRootFs. It is slow on large
	// engines: the engine walks every container's writable layer.
	Size bool
	// Labels keeps only containers with all these labels; an empty value
	// means "label present". Applied by the engine.
	Labels map[string]string
	// States keeps only containers in one of these states. Applied by the
	// engine; implies All for non-running states.
	States []State
}

// Summary is one container as the list call reports it.
type Summary struct {
	// ID is the full 64-hex container ID.
	ID string `json:"id"`
	// Name is the container's primary name without Docker's leading "/".
	Name string `json:"name"`
	// Image is the image reference the container was created from.
	Image string `json:"image"`
	// ImageID is the image's content ID.
	ImageID string `json:"image_id"`
	// Command is the command line the engine reports, joined.
	Command string `json:"command"`
	// Created is when the container was created (second precision).
	Created time.Time `json:"created"`
	// State is the API's State field.
	State State `json:"state"`
	// Status is the human status text ("Up 35 minutes").
	Status string `json:"status"`
	// Labels are the container's labels.
	Labels map[string]string `json:"labels,omitempty"`
	// SizeRw and SizeRootFs are filled when ListOptions.Size is set: bytes
	// in the writable layer, and in all layers.
	SizeRw     int64 `json:"size_rw,omitempty"`
	SizeRootFs int64 `json:"size_root_fs,omitempty"`
}

// Target returns the container as an [inventory.Target] on the given engine.
func (s Summary) Target(engine string) inventory.Target {
	return inventory.Target{Kind: inventory.KindContainer, ID: s.ID, Name: s.Name, Engine: engine, Labels: s.Labels}
}

// ListResult is what [Client.List] returns.
type ListResult struct {
	// Containers in the engine's order (newest first).
	Containers []Summary
}

// List returns the containers the options select.
func (c *Client) List(ctx context.Context, o ListOptions) (ListResult, error) {
	ctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	f := filters.NewArgs()
	for k, v := range o.Labels {
		if v == "" {
			f.Add("label", k)
		} else {
			f.Add("label", k+"="+v)
		}
	}
	all := o.All
	for _, s := range o.States {
		f.Add("status", string(s))
		if s != Running {
			all = true
		}
	}
	raw, err := c.api.ContainerList(ctx, container.ListOptions{All: all, Size: o.Size, Filters: f})
	if err != nil {
		return ListResult{}, c.wrap("list containers", "", err)
	}
	out := ListResult{Containers: make([]Summary, 0, len(raw))}
	for _, r := range raw {
		out.Containers = append(out.Containers, summaryFrom(r))
	}
	return out, nil
}

func summaryFrom(r container.Summary) Summary {
	s := Summary{
		ID: r.ID, Image: r.Image, ImageID: r.ImageID, Command: r.Command,
		Created: time.Unix(r.Created, 0), State: State(strings.ToLower(r.State)), Status: r.Status,
		Labels: r.Labels, SizeRw: r.SizeRw, SizeRootFs: r.SizeRootFs,
	}
	if len(r.Names) > 0 {
		// The primary name is the one without a further "/": linked
		// containers also appear as "/other/alias".
		s.Name = inventory.TrimName(r.Names[0])
		for _, n := range r.Names {
			if n = inventory.TrimName(n); !strings.Contains(n, "/") {
				s.Name = n
				break
			}
		}
	}
	if s.State == "" {
		// Engines before API 1.21 had no State field: derive it from Status.
		if st, err := ParseStatus(r.Status); err == nil {
			s.State = st
		}
	}
	return s
}

// Select returns every container (running or not) that sel matches, State
// filters included, sorted by ID. Labels are filtered by the engine, the
// ID and name patterns here. An invalid Selector returns its validation
// error; matching nothing is not an error (an empty, non-nil slice).
func (c *Client) Select(ctx context.Context, sel inventory.Selector) ([]Summary, error) {
	if sel.Kind != "" && sel.Kind != inventory.KindContainer {
		return nil, fmt.Errorf("container: select: kind %q: this resolver only knows %q", sel.Kind, inventory.KindContainer)
	}
	if err := sel.Validate(); err != nil {
		return nil, err
	}
	if len(sel.Scopes) > 0 {
		return nil, fmt.Errorf("container: select %s: %w (configure one with the inventory repository)", sel, inventory.ErrScopes)
	}
	res, err := c.List(ctx, ListOptions{All: true, Labels: sel.Labels})
	if err != nil {
		return nil, err
	}
	out := []Summary{}
	for _, s := range res.Containers {
		if sel.Match(s.Target(c.Host())) && sel.MatchState(string(s.State)) {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b Summary) int { return strings.Compare(a.ID, b.ID) })
	return out, nil
}

// Resolve implements [inventory.Resolver] over the engine's containers:
// [Client.Select] turned into Targets.
func (c *Client) Resolve(ctx context.Context, sel inventory.Selector) ([]inventory.Target, error) {
	ss, err := c.Select(ctx, sel)
	if err != nil {
		return nil, err
	}
	out := make([]inventory.Target, len(ss))
	for i, s := range ss {
		out[i] = s.Target(c.Host())
	}
	return out, nil
}

var _ inventory.Resolver = (*Client)(nil)
