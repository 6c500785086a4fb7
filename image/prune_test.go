package image

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/internal/dockertest"
	"github.com/minato-ops/minato/internal/imagetest"
)

func TestPruneOptionsValidate(t *testing.T) {
	err := PruneOptions{Keep: -1, OlderThan: -time.Second, Repositories: []string{"[", ""}}.validate()
	for _, want := range []string{"keep -1", "older than -1s", `pattern "["`, `pattern ""`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("validate: %v, want %q", err, want)
		}
	}
	if err := (PruneOptions{Keep: 3, Repositories: []string{"shop/*"}}).validate(); err != nil {
		t.Error(err)
	}
	o := PruneOptions{Repositories: []string{"shop/*", "docker.io/library/ngin?"}}
	for ref, want := range map[string]bool{"shop/web:1": true, "docker.io/shop/db:2": true, "nginx:1": true, "library/nginx:1": true, "other/web:1": false, "127.0.0.1:5000/shop/web:1": false} {
		r, err := ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		if got := o.selects(r); got != want {
			t.Errorf("selects(%s) = %v, want %v", ref, got, want)
		}
	}
}

func TestPruneKeepsNewest(t *testing.T) {
	t.Parallel()
	c, h := newEngineClient(t)
	ctx := testCtx(t)
	repo := "minato-test/prune-" + randHex(t, 4)
	other := "minato-test/prune-other-" + randHex(t, 4)
	ids := make([]string, 4) // oldest first
	for i := range ids {
		ids[i] = imagetest.Build(t, h, fmt.Sprintf("%s:%d", repo, i+1), imagetest.Options{Labels: map[string]string{"n": fmt.Sprint(i)}})
	}
	// The second image also carries a tag in a repository not pruned.
	if err := c.Tag(ctx, ids[1], other+":keep"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = c.Remove(ctx, other+":keep", RemoveOptions{}) })
	// The oldest is used by a stopped container.
	ctr := h.Run(t, dockertest.RunOptions{Image: repo + ":1", Args: []string{"exit", "0"}, Start: new(bool)})

	opts := PruneOptions{Keep: 2, Repositories: []string{repo}, DryRun: true}
	dry, err := c.Prune(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	kept := map[string]string{}
	for _, k := range dry.Kept {
		kept[k.ID] = k.Reason
	}
	if len(dry.Removed) != 0 || !slices.Equal(dry.Untagged, []string{repo + ":2"}) {
		t.Errorf("dry run: removed %v, untagged %v; want only %s:2 untagged", imageIDs(dry.Removed), dry.Untagged, repo)
	}
	if len(kept) != 3 || !strings.Contains(kept[ids[0]], "in use by "+ctr.Name) ||
		kept[ids[2]] != "newest 2 of "+repo || kept[ids[3]] != "newest 2 of "+repo {
		t.Errorf("dry run kept %v", dry.Kept)
	}
	for _, id := range ids {
		if _, err := c.Inspect(ctx, id); err != nil {
			t.Errorf("dry run removed %s: %v", id, err)
		}
	}
	// Now without the extra tag, the second image is removed for real.
	if _, err := c.Remove(ctx, other+":keep", RemoveOptions{}); err != nil {
		t.Fatal(err)
	}
	opts.DryRun = false
	res, err := c.Prune(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	if got := imageIDs(res.Removed); !slices.Equal(got, []string{ids[1]}) || res.Reclaimed < 0 {
		t.Errorf("prune removed %v (reclaimed %d), want %s", got, res.Reclaimed, ids[1])
	}
	for i, id := range ids {
		_, err := c.Inspect(ctx, id)
		if (err == nil) != (i != 1) {
			t.Errorf("image %d (%s) after prune: %v", i+1, id, err)
		}
	}
	// Keep 0 now leaves only the one in use; OlderThan protects all.
	res, err = c.Prune(ctx, PruneOptions{Repositories: []string{repo}, OlderThan: time.Hour})
	if err != nil || len(res.Removed) != 0 || len(res.Kept) != 3 || !strings.Contains(res.Kept[0].Reason, "created less than 1h0m0s ago") {
		t.Errorf("prune with OlderThan: %+v, %v", res, err)
	}
	res, err = c.Prune(ctx, PruneOptions{Repositories: []string{repo}})
	if err != nil || len(res.Removed) != 2 || len(res.Kept) != 1 || res.Kept[0].ID != ids[0] {
		t.Errorf("prune keep 0: removed %v kept %v, %v", imageIDs(res.Removed), res.Kept, err)
	}
}

func imageIDs(imgs []Image) []string {
	var out []string
	for _, i := range imgs {
		out = append(out, i.ID)
	}
	return out
}

func TestDiskUsage(t *testing.T) {
	t.Parallel()
	c, h := newEngineClient(t)
	ctx := testCtx(t)
	repo := "minato-test/du-" + randHex(t, 4)
	a := imagetest.Build(t, h, repo+":a", imagetest.Options{Filler: 256 << 10})
	b := imagetest.Build(t, h, repo+":b", imagetest.Options{Filler: 128 << 10})
	if a == b {
		t.Fatal("the two images are the same")
	}
	du, err := c.DiskUsage(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var ru *RepositoryUsage
	for i := range du.Repositories {
		if du.Repositories[i].Repository == repo {
			ru = &du.Repositories[i]
		}
	}
	if ru == nil || ru.Images != 2 || ru.Size < 384<<10 {
		t.Fatalf("repository %s: %+v (all %+v)", repo, ru, du.Repositories)
	}
	if du.Images < 2 || du.Size < 384<<10 || du.Shared < 0 || du.Shared > du.Size || du.Reclaimable < 384<<10 || du.Reclaimable > du.Size {
		t.Errorf("disk usage %+v", du)
	}
}
