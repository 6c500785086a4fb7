package image

import (
	"context"
	"errors"
	"fmt"
	"path"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/docker/docker/api/types"
	dimage "github.com/docker/docker/api/types/image"
)

// PruneOptions say which images [Client.Prune] removes. Images that a
// container uses (running or stopped), and their parent images, are never
// removed, whatever the options.
type PruneOptions struct {
	// Keep is how many of the newest images (by creation time) of each
	// repository stay, for rollback. 0 keeps none but those in use;
	// negative is invalid.
	Keep int
	// Repositories restricts pruning to the repositories matching one of
	// these globs (path.Match syntax, on the repository without tag,
	// either as the engine shows it, "shop/web" or
	// "127.0.0.1:5000/shop/*", or normalised, "docker.io/shop/web"). Empty
	// means every repository.
	Repositories []string
	// Dangling also removes untagged images that are no other image's
	// parent, whatever Repositories says.
	Dangling bool
	// OlderThan, when > 0, removes only images created more than
	// OlderThan ago.
	OlderThan time.Duration
	// DryRun computes and returns what would be removed without removing
	// anything.
	DryRun bool
}

// KeptImage is an image Prune kept, and why.
type KeptImage struct {
	Image
	// Reason says why ("in use by web-1 (running)", "newest 3 of
	// shop/web", "parent of in-use image 1a2b3c4d5e6f", "created less
	// than 24h0m0s ago").
	Reason string `json:"reason"`
}

// PruneResult is what a prune did (or, with DryRun, would do).
type PruneResult struct {
	// Removed are the images deleted, newest first.
	Removed []Image `json:"removed,omitempty"`
	// Untagged are tags removed from images that stay because tags
	// outside Repositories, or a Keep in another repository, still hold
	// them.
	Untagged []string `json:"untagged,omitempty"`
	// Kept are the images of the selected repositories that stay, with
	// the reason, newest first.
	Kept []KeptImage `json:"kept,omitempty"`
	// Reclaimed is the bytes the removed images held that no remaining
	// image shares, as the engine counted them before the prune (a lower
	// bound: layers shared only among removed images are not counted).
	Reclaimed int64 `json:"reclaimed"`
}

// Prune removes the images of the selected repositories beyond the Keep
// newest of each, and untagged images when asked, never an image a
// container uses nor its parents. Removal goes on past a failing image;
// the failures are returned joined, with the result of the rest. Invalid
// options are an error before anything is removed.
func (c *Client) Prune(ctx context.Context, o PruneOptions) (PruneResult, error) {
	var res PruneResult
	if err := o.validate(); err != nil {
		return res, fmt.Errorf("prune: %w", err)
	}
	c.ready(ctx)
	all, err := c.api.ImageList(ctx, dimage.ListOptions{All: true})
	if err != nil {
		return res, fmt.Errorf("prune: list images: %w", err)
	}
	users, err := c.containersByImage(ctx)
	if err != nil {
		return res, fmt.Errorf("prune: %w", err)
	}
	unique, err := c.uniqueSizes(ctx)
	if err != nil {
		return res, fmt.Errorf("prune: %w", err)
	}
	byID := map[string]dimage.Summary{}
	hasChild := map[string]bool{}
	for _, s := range all {
		byID[s.ID] = s
		if s.ParentID != "" {
			hasChild[s.ParentID] = true
		}
	}
	protected := protectedImages(byID, users)
	now := time.Now()

	// Group the tags of the selected repositories.
	type member struct {
		id   string
		tags []string
	}
	groups := map[string][]*member{}
	var repos []string
	for _, s := range all {
		for _, tag := range untagged(s.RepoTags) {
			r, err := ParseReference(tag)
			if err != nil || !o.selects(r) {
				continue
			}
			repo := familiarRepo(r)
			g := groups[repo]
			if len(g) == 0 || g[len(g)-1].id != s.ID {
				if len(g) == 0 {
					repos = append(repos, repo)
				}
				g = append(g, &member{id: s.ID})
			}
			g[len(g)-1].tags = append(g[len(g)-1].tags, tag)
			groups[repo] = g
		}
	}
	sort.Strings(repos)

	// Creation times to the nanosecond (List gives whole seconds).
	created := map[string]time.Time{}
	images := map[string]Image{}
	for _, repo := range repos {
		for _, m := range groups[repo] {
			if _, ok := images[m.id]; ok {
				continue
			}
			img := imageFromSummary(byID[m.id])
			if in, err := c.api.ImageInspect(ctx, m.id); err == nil {
				full := imageFromInspect(in)
				full.Containers = img.Containers
				img = full
			}
			images[m.id], created[m.id] = img, img.Created
		}
	}

	drop := map[string][]string{}    // image ID -> tags to remove
	reasons := map[string][]string{} // image ID -> why some tag stays
	for _, repo := range repos {
		g := groups[repo]
		sort.SliceStable(g, func(i, j int) bool {
			ci, cj := created[g[i].id], created[g[j].id]
			if !ci.Equal(cj) {
				return ci.After(cj)
			}
			return g[i].id < g[j].id
		})
		for i, m := range g {
			switch {
			case i < o.Keep:
				reasons[m.id] = append(reasons[m.id], fmt.Sprintf("newest %d of %s", o.Keep, repo))
			case protected[m.id] != "":
				reasons[m.id] = append(reasons[m.id], protected[m.id])
			case o.OlderThan > 0 && now.Sub(created[m.id]) < o.OlderThan:
				reasons[m.id] = append(reasons[m.id], fmt.Sprintf("created less than %s ago", o.OlderThan))
			default:
				drop[m.id] = append(drop[m.id], m.tags...)
			}
		}
	}

	type plan struct {
		img  Image
		refs []string // what to remove, in order; the last one deletes
	}
	var deletes []plan
	for id, img := range images {
		tags := drop[id]
		switch {
		case len(tags) == 0:
			res.Kept = append(res.Kept, KeptImage{Image: img, Reason: strings.Join(dedupe(reasons[id]), "; ")})
		case len(tags) == len(untagged(byID[id].RepoTags)):
			deletes = append(deletes, plan{img: img, refs: tags})
		default:
			res.Untagged = append(res.Untagged, tags...)
		}
	}
	if o.Dangling {
		for _, s := range all {
			if len(untagged(s.RepoTags)) > 0 || hasChild[s.ID] || protected[s.ID] != "" {
				continue
			}
			img := imageFromSummary(s)
			if o.OlderThan > 0 && now.Sub(img.Created) < o.OlderThan {
				continue
			}
			deletes = append(deletes, plan{img: img, refs: []string{s.ID}})
		}
	}
	sortKept(res.Kept)
	sort.Strings(res.Untagged)
	sort.SliceStable(deletes, func(i, j int) bool {
		a, b := deletes[i].img, deletes[j].img
		if !a.Created.Equal(b.Created) {
			return a.Created.After(b.Created)
		}
		return a.ID < b.ID
	})

	if o.DryRun {
		for _, d := range deletes {
			res.Removed = append(res.Removed, d.img)
			res.Reclaimed += unique[d.img.ID]
		}
		return res, nil
	}

	var errs []error
	for _, tag := range res.Untagged {
		if _, err := c.api.ImageRemove(ctx, tag, dimage.RemoveOptions{PruneChildren: true}); err != nil {
			errs = append(errs, fmt.Errorf("untag %s: %w", tag, err))
		}
	}
	for _, d := range deletes {
		deleted := false
		var err error
		for _, ref := range d.refs {
			var resp []dimage.DeleteResponse
			resp, err = c.api.ImageRemove(ctx, ref, dimage.RemoveOptions{PruneChildren: true})
			if err != nil {
				break
			}
			for _, r := range resp {
				deleted = deleted || r.Deleted == d.img.ID
			}
		}
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("remove image %s (%s): %w", shortID(d.img.ID), strings.Join(d.img.Tags, ", "), err))
		case deleted:
			res.Removed = append(res.Removed, d.img)
			res.Reclaimed += unique[d.img.ID]
		}
	}
	if len(errs) > 0 {
		return res, fmt.Errorf("prune: %w", errors.Join(errs...))
	}
	return res, nil
}

func (o PruneOptions) validate() error {
	var errs []error
	if o.Keep < 0 {
		errs = append(errs, fmt.Errorf("keep %d: want 0 or more images to keep per repository", o.Keep))
	}
	if o.OlderThan < 0 {
		errs = append(errs, fmt.Errorf("older than %s: want a positive duration, or 0 for any age", o.OlderThan))
	}
	for _, g := range o.Repositories {
		if _, err := path.Match(g, ""); err != nil || strings.TrimSpace(g) == "" {
			errs = append(errs, fmt.Errorf("repository pattern %q: want a glob such as shop/* or registry.example:5000/shop/web", g))
		}
	}
	return errors.Join(errs...)
}

// selects reports whether r's repository matches o.Repositories.
func (o PruneOptions) selects(r Reference) bool {
	if len(o.Repositories) == 0 {
		return true
	}
	fam, full := familiarRepo(r), r.Name()
	for _, g := range o.Repositories {
		if ok, _ := path.Match(g, fam); ok {
			return true
		}
		if ok, _ := path.Match(g, full); ok {
			return true
		}
	}
	return false
}

// familiarRepo is r's repository as the docker CLI shows it ("nginx",
// "shop/web", "127.0.0.1:5000/shop/web").
func familiarRepo(r Reference) string {
	r.Tag, r.Digest = "", ""
	return r.Familiar()
}

// protectedImages maps every image a container uses, and every parent of
// one, to the reason it must stay.
func protectedImages(byID map[string]dimage.Summary, users map[string][]string) map[string]string {
	out := map[string]string{}
	for _, id := range slices.Sorted(func(yield func(string) bool) {
		for id := range users {
			if !yield(id) {
				return
			}
		}
	}) {
		who := strings.Join(users[id], ", ")
		out[id] = "in use by " + who
		for p := byID[id].ParentID; p != ""; p = byID[p].ParentID {
			if _, ok := out[p]; ok {
				break
			}
			out[p] = fmt.Sprintf("parent of in-use image %s (%s)", shortID(id), who)
		}
	}
	return out
}

// uniqueSizes returns, per top-level image, the bytes no other image
// shares, from the engine's disk usage report.
func (c *Client) uniqueSizes(ctx context.Context) (map[string]int64, error) {
	du, err := c.api.DiskUsage(ctx, types.DiskUsageOptions{Types: []types.DiskUsageObject{types.ImageObject}})
	if err != nil {
		return nil, fmt.Errorf("disk usage: %w", err)
	}
	out := map[string]int64{}
	for _, s := range du.Images {
		if s != nil {
			out[s.ID] = uniqueSize(s)
		}
	}
	return out, nil
}

func uniqueSize(s *dimage.Summary) int64 {
	if s.SharedSize < 0 {
		return s.Size
	}
	return max(s.Size-s.SharedSize, 0)
}

func sortKept(k []KeptImage) {
	sort.SliceStable(k, func(i, j int) bool {
		if !k[i].Created.Equal(k[j].Created) {
			return k[i].Created.After(k[j].Created)
		}
		return k[i].ID < k[j].ID
	})
}

func dedupe(s []string) []string {
	var out []string
	for _, x := range s {
		if !slices.Contains(out, x) {
			out = append(out, x)
		}
	}
	return out
}

// DiskUsage is how much disk the engine's images take.
type DiskUsage struct {
	// Images is the number of top-level images (tagged or not).
	Images int `json:"images"`
	// Size is the bytes of all image layers on disk, each layer counted
	// once.
	Size int64 `json:"size"`
	// Shared is the part of Size in layers that more than one image uses.
	Shared int64 `json:"shared"`
	// Reclaimable is the bytes of the images no container uses that no
	// other image shares: what removing all of them would free at least.
	Reclaimable int64 `json:"reclaimable"`
	// Repositories are per-repository totals, largest first; untagged
	// images are under "<none>".
	Repositories []RepositoryUsage `json:"repositories,omitempty"`
}

// RepositoryUsage is the disk use of one repository's images.
type RepositoryUsage struct {
	// Repository is the repository as the engine shows it ("shop/web",
	// "127.0.0.1:5000/shop/web"), or "<none>".
	Repository string `json:"repository"`
	// Images is the number of distinct images with a tag in it.
	Images int `json:"images"`
	// Size is the sum of those images' sizes, shared layers counted in
	// each image (so the sum over repositories can exceed DiskUsage.Size).
	Size int64 `json:"size"`
}

// DiskUsage reports the disk use of the engine's images, from the
// engine's disk usage report (/system/df).
func (c *Client) DiskUsage(ctx context.Context) (DiskUsage, error) {
	c.ready(ctx)
	du, err := c.api.DiskUsage(ctx, types.DiskUsageOptions{Types: []types.DiskUsageObject{types.ImageObject}})
	if err != nil {
		return DiskUsage{}, fmt.Errorf("disk usage: %w", err)
	}
	out := DiskUsage{Size: du.LayersSize}
	var uniq int64
	repos := map[string]*RepositoryUsage{}
	for _, s := range du.Images {
		if s == nil {
			continue
		}
		out.Images++
		u := uniqueSize(s)
		uniq += u
		if s.Containers == 0 {
			out.Reclaimable += u
		}
		seen := map[string]bool{}
		tags := untagged(s.RepoTags)
		names := []string{"<none>"}
		if len(tags) > 0 {
			names = names[:0]
			for _, t := range tags {
				if r, err := ParseReference(t); err == nil {
					names = append(names, familiarRepo(r))
				}
			}
		}
		for _, n := range names {
			if seen[n] {
				continue
			}
			seen[n] = true
			ru := repos[n]
			if ru == nil {
				ru = &RepositoryUsage{Repository: n}
				repos[n] = ru
			}
			ru.Images++
			ru.Size += s.Size
		}
	}
	out.Shared = max(out.Size-uniq, 0)
	for _, ru := range repos {
		out.Repositories = append(out.Repositories, *ru)
	}
	sort.Slice(out.Repositories, func(i, j int) bool {
		a, b := out.Repositories[i], out.Repositories[j]
		if a.Size != b.Size {
			return a.Size > b.Size
		}
		return a.Repository < b.Repository
	})
	return out, nil
}
