package container

import (
	"context"
	"slices"
	"time"

	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/volume"
)

// ListImagesOptions selects what [Client.ListImages] returns.
type ListImagesOptions struct {
	// Labels keeps only images with all these labels; an empty value means
	// "label present". Applied by the engine.
	Labels map[string]string
}

// Image is one image as the engine's image list reports it (docker images).
type Image struct {
	// ID is the image's content ID ("sha256:...").
	ID string `json:"id"`
	// Tags are the repository tags ("nginx:1.27"), sorted; empty for an
	// untagged image (the engine's "<none>:<none>" is dropped).
	Tags []string `json:"tags,omitempty"`
	// Digests are the repository digests ("nginx@sha256:..."), sorted.
	Digests []string `json:"digests,omitempty"`
	// Created is when the image was built (second precision).
	Created time.Time `json:"created"`
	// Size is the image's size in bytes, its layers shared with other
	// images included.
	Size int64 `json:"size"`
	// Containers is the number of containers using the image, or -1 when
	// the engine did not count them (it counts only when asked for disk
	// usage).
	Containers int64 `json:"containers"`
	// Labels are the image's labels.
	Labels map[string]string `json:"labels,omitempty"`
}

// ListImagesResult is what [Client.ListImages] returns.
type ListImagesResult struct {
	// Images in the engine's order (newest first).
	Images []Image
}

// ListImages returns the engine's top-level images (docker images, without
// -a: intermediate build layers are left out).
func (c *Client) ListImages(ctx context.Context, o ListImagesOptions) (ListImagesResult, error) {
	ctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	raw, err := c.api.ImageList(ctx, image.ListOptions{Filters: labelFilters(o.Labels)})
	if err != nil {
		return ListImagesResult{}, c.wrap("list images", "", err)
	}
	out := ListImagesResult{Images: make([]Image, 0, len(raw))}
	for _, r := range raw {
		im := Image{ID: r.ID, Created: time.Unix(r.Created, 0), Size: r.Size, Containers: r.Containers, Labels: r.Labels}
		for _, t := range r.RepoTags {
			if t != "<none>:<none>" {
				im.Tags = append(im.Tags, t)
			}
		}
		for _, d := range r.RepoDigests {
			if d != "<none>@<none>" {
				im.Digests = append(im.Digests, d)
			}
		}
		slices.Sort(im.Tags)
		slices.Sort(im.Digests)
		out.Images = append(out.Images, im)
	}
	return out, nil
}

// ListNetworksOptions selects what [Client.ListNetworks] returns.
type ListNetworksOptions struct {
	// Labels keeps only networks with all these labels; an empty value
	// means "label present". Applied by the engine.
	Labels map[string]string
}

// Network is one network as the engine's network list reports it.
type Network struct {
	// ID is the network's 64-hex ID; Name its name ("bridge", "web-net").
	ID   string `json:"id"`
	Name string `json:"name"`
	// Driver is the network driver ("bridge", "host", "null", "overlay").
	Driver string `json:"driver"`
	// Scope is "local", "swarm" or "global".
	Scope string `json:"scope"`
	// Created is when the network was created; zero when the engine does
	// not say (its predefined networks on some versions).
	Created time.Time `json:"created"`
	// Internal says the network has no outside connectivity.
	Internal bool `json:"internal,omitempty"`
	// Labels are the network's labels.
	Labels map[string]string `json:"labels,omitempty"`
}

// ListNetworksResult is what [Client.ListNetworks] returns.
type ListNetworksResult struct {
	// Networks in the engine's order.
	Networks []Network
}

// ListNetworks returns the engine's networks (docker network ls).
func (c *Client) ListNetworks(ctx context.Context, o ListNetworksOptions) (ListNetworksResult, error) {
	ctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	raw, err := c.api.NetworkList(ctx, network.ListOptions{Filters: labelFilters(o.Labels)})
	if err != nil {
		return ListNetworksResult{}, c.wrap("list networks", "", err)
	}
	out := ListNetworksResult{Networks: make([]Network, 0, len(raw))}
	for _, r := range raw {
		n := Network{ID: r.ID, Name: r.Name, Driver: r.Driver, Scope: r.Scope, Internal: r.Internal, Labels: r.Labels}
		if r.Created.Year() > 1 {
			n.Created = r.Created
		}
		out.Networks = append(out.Networks, n)
	}
	return out, nil
}

// ListVolumesOptions selects what [Client.ListVolumes] returns.
type ListVolumesOptions struct {
	// Labels keeps only volumes with all these labels; an empty value
	// means "label present". Applied by the engine.
	Labels map[string]string
}

// Volume is one volume as the engine's volume list reports it.
type Volume struct {
	// Name identifies the volume on its engine.
	Name string `json:"name"`
	// Driver is the volume driver ("local").
	Driver string `json:"driver"`
	// Mountpoint is where the volume is on the engine's host.
	Mountpoint string `json:"mountpoint"`
	// Scope is "local" or "global".
	Scope string `json:"scope"`
	// Created is when the volume was created; zero when the driver does
	// not say.
	Created time.Time `json:"created"`
	// Labels are the volume's labels.
	Labels map[string]string `json:"labels,omitempty"`
}

// ListVolumesResult is what [Client.ListVolumes] returns.
type ListVolumesResult struct {
	// Volumes in the engine's order.
	Volumes []Volume
	// Warnings are the engine's warnings, such as a volume driver that did
	// not answer (its volumes are then missing from Volumes).
	Warnings []string
}

// ListVolumes returns the engine's volumes (docker volume ls).
func (c *Client) ListVolumes(ctx context.Context, o ListVolumesOptions) (ListVolumesResult, error) {
	ctx, cancel := c.withTimeout(ctx, 0)
	defer cancel()
	raw, err := c.api.VolumeList(ctx, volume.ListOptions{Filters: labelFilters(o.Labels)})
	if err != nil {
		return ListVolumesResult{}, c.wrap("list volumes", "", err)
	}
	out := ListVolumesResult{Volumes: make([]Volume, 0, len(raw.Volumes)), Warnings: raw.Warnings}
	for _, r := range raw.Volumes {
		if r == nil {
			continue
		}
		out.Volumes = append(out.Volumes, Volume{
			Name: r.Name, Driver: r.Driver, Mountpoint: r.Mountpoint, Scope: r.Scope,
			Created: parseTime(r.CreatedAt), Labels: r.Labels,
		})
	}
	return out, nil
}

// labelFilters is the engine's label filter for labels: "key=value", or
// "key" for an empty value (present with any value).
func labelFilters(labels map[string]string) filters.Args {
	f := filters.NewArgs()
	for k, v := range labels {
		if v == "" {
			f.Add("label", k)
		} else {
			f.Add("label", k+"="+v)
		}
	}
	return f
}
