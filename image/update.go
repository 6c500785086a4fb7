package image

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
)

// UpdateOptions says which containers [Client.Update] recreates on which
// image, and how.
type UpdateOptions struct {
	// Containers are the containers to update, by name or ID. Required.
	// The same container given twice is updated once.
	Containers []string `json:"containers"`
	// Image is the new reference for every container ("roll to a new
	// tag"). "" means each container's own reference (its Config.Image):
	// the newest content of that tag the engine has (see Pull).
	Image string `json:"image,omitempty"`
	// Pull pulls each distinct reference first (with [Client.Pull]);
	// false uses what the engine already has. A dry run never pulls.
	Pull bool `json:"pull,omitempty"`
	// DryRun changes nothing on the engine: it plans each container,
	// fills Changes and reports "would-update" or "unchanged".
	DryRun bool `json:"dry_run,omitempty"`
	// BatchSize is how many containers are recreated together and then
	// gated together; 0 means 1 (one at a time, a rolling update). A
	// batch never holds a container and one of its dependencies.
	BatchSize int `json:"batch_size,omitempty"`
	// Gate is the health gate every recreated container must pass.
	Gate GateOptions `json:"gate,omitempty"`
	// PreHook is run in the old container before it is stopped; exit
	// code HookSkipExitCode (75) skips the update of that container, any
	// other non-zero code skips it with an error. Default: the
	// container's PreHookLabel as `sh -c`. Not run in a container that is
	// not running.
	PreHook []string `json:"pre_hook,omitempty"`
	// PostHook is run in the new container after it passed the gate; a
	// failure is reported in Err but keeps the update. Default: the
	// container's PostHookLabel as `sh -c`.
	PostHook []string `json:"post_hook,omitempty"`
	// Force recreates a container even when its image is unchanged.
	Force bool `json:"force,omitempty"`
	// Progress, when set, receives an event per step. Calls are never
	// concurrent (containers of a batch are serialised) and block the
	// update while they run.
	Progress func(UpdateEvent) `json:"-"`
}

// UpdateResult is what [Client.Update] did, one entry per container in the
// order of UpdateOptions.Containers (duplicates removed).
type UpdateResult struct {
	Containers []ContainerUpdate `json:"containers"`
}

// Outcomes of one container's update ([ContainerUpdate].Outcome).
const (
	// OutcomeUpdated: the new container passed the gate and runs under
	// the name; the old one is removed.
	OutcomeUpdated = "updated"
	// OutcomeUnchanged: the image ID is the one the container runs;
	// nothing was done.
	OutcomeUnchanged = "unchanged"
	// OutcomeSkipped: nothing was changed: the pre hook asked to skip
	// (exit 75, Err nil), or the pre hook failed, a dependency failed or
	// the update could not be planned (Err says which).
	OutcomeSkipped = "skipped"
	// OutcomeRolledBack: the new container failed (Gate says how) or a
	// step of the recreate failed; it is removed and the previous
	// container runs again under its name, on its previous image, with
	// its configuration unchanged.
	OutcomeRolledBack = "rolled-back"
	// OutcomeFailed: the rollback itself failed; Err says exactly what
	// state the containers are left in and what to do.
	OutcomeFailed = "failed"
	// OutcomeWouldUpdate: a dry run found a different image (or Force).
	OutcomeWouldUpdate = "would-update"
)

// ContainerUpdate is the update of one container.
type ContainerUpdate struct {
	// Name is the container's name (without "/"); "" when it could not be
	// inspected (Err says why), then OldID is what was asked for.
	Name string `json:"name"`
	// OldID is the ID of the container updated; NewID the ID of its
	// replacement ("" when none was created or it was removed again).
	OldID string `json:"old_id"`
	NewID string `json:"new_id,omitempty"`
	// OldImage and NewImage are image IDs ("sha256:…").
	OldImage string `json:"old_image,omitempty"`
	NewImage string `json:"new_image,omitempty"`
	// Reference is the image reference the new container is created
	// from.
	Reference string `json:"reference,omitempty"`
	// Outcome is one of the Outcome constants.
	Outcome string `json:"outcome"`
	// Changes is what the recreate changes, or would change: the image;
	// each setting that follows the new image's defaults; each explicit
	// value kept; the intent used. Explicit environment values are not
	// shown.
	Changes []Change `json:"changes,omitempty"`
	// Gate is what passed or failed: "healthy after 3.1s", "unhealthy:
	// <last health log output>", "exited with code 1", "timeout after
	// 1m0s", "running for 5s without restart", "probe passed after 1s".
	Gate string `json:"gate,omitempty"`
	// Err is why the container is not "updated", "unchanged" or
	// "would-update" (nil for a skip the pre hook asked for), or a post
	// hook or cleanup failure of an update that was kept.
	Err error `json:"-"`
}

// Change is one difference between the old container and the new one.
type Change struct {
	// Field is the setting: "Image", "Hostname", "Cmd", "Env[NAME]",
	// "Labels[key]", "ExposedPorts[80/tcp]", "Volumes[/data]",
	// "Mounts[/data]", "Intent".
	Field string `json:"field"`
	// Old and New are the values before and after ("(unset)" when
	// absent; explicit environment values are never shown).
	Old string `json:"old"`
	New string `json:"new"`
	// Why says why it changes or stays: "image default: follows the new
	// image", "explicit: kept", ...
	Why string `json:"why"`
}

// Phases of [UpdateEvent].
const (
	PhasePull      = "pull"
	PhasePreHook   = "pre-hook"
	PhaseStop      = "stop"
	PhaseCreate    = "create"
	PhaseStart     = "start"
	PhaseGate      = "gate"
	PhasePostHook  = "post-hook"
	PhaseRemoveOld = "remove-old"
	PhaseRollback  = "rollback"
	PhaseDone      = "done"
)

// UpdateEvent is one step of an update, for progress lines.
type UpdateEvent struct {
	// Container is the container's name.
	Container string `json:"container"`
	// Phase is one of the Phase constants.
	Phase string `json:"phase"`
	// Message says what happens or happened.
	Message string `json:"message"`
	// Time is when the event was made.
	Time time.Time `json:"time"`
}

// PrevSuffix is appended to a container's name while its replacement is
// being created and gated: "web" becomes "web.minato-prev", and gets its
// name back on a rollback.
const PrevSuffix = ".minato-prev"

// ErrGateFailed is wrapped by the Err of a container rolled back because
// its replacement failed the health gate.
var ErrGateFailed = errors.New("health gate failed")

// ErrRollbackFailed is wrapped by the Err of a container whose rollback
// failed (OutcomeFailed).
var ErrRollbackFailed = errors.New("rollback failed")

// rollbackTimeout bounds a rollback, on top of the stop timeouts; it runs
// on a context that is not cancelled with the caller's.
const rollbackTimeout = 2 * time.Minute

// validate checks o and fills in the defaults.
func (o *UpdateOptions) validate() error {
	var errs []error
	if len(o.Containers) == 0 {
		errs = append(errs, errors.New("containers: at least one container name or ID is required"))
	}
	for i, n := range o.Containers {
		if strings.TrimSpace(n) == "" {
			errs = append(errs, fmt.Errorf("containers[%d]: empty name", i))
		}
	}
	if o.Image != "" {
		if _, err := ParseReference(o.Image); err != nil {
			errs = append(errs, fmt.Errorf("image: %w", err))
		}
	}
	if o.BatchSize < 0 {
		errs = append(errs, fmt.Errorf("batch_size %d: want 1 or more, or 0 for 1", o.BatchSize))
	}
	if o.BatchSize == 0 {
		o.BatchSize = 1
	}
	if o.Gate.Timeout < 0 {
		errs = append(errs, fmt.Errorf("gate timeout %s: want a positive duration, or 0 for %s", o.Gate.Timeout, DefaultGateTimeout))
	}
	if o.Gate.StableFor < 0 {
		errs = append(errs, fmt.Errorf("gate stable_for %s: want a positive duration, or 0 for %s", o.Gate.StableFor, DefaultGateStableFor))
	}
	if o.Gate.Timeout == 0 {
		o.Gate.Timeout = DefaultGateTimeout
	}
	if o.Gate.StableFor == 0 {
		o.Gate.StableFor = DefaultGateStableFor
	}
	if o.Gate.StableFor >= o.Gate.Timeout && o.Gate.Timeout > 0 {
		errs = append(errs, fmt.Errorf("gate stable_for %s: must be shorter than the gate timeout %s", o.Gate.StableFor, o.Gate.Timeout))
	}
	if err := o.Gate.Probe.validate(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// updateRun is the state of one Update call shared by its containers.
type updateRun struct {
	c    *Client
	o    UpdateOptions
	mu   sync.Mutex // serialises Progress and guards moved
	prog func(UpdateEvent)
	// moved maps the old ID of each container replaced so far to the new
	// one, for dependents that name it by ID (network mode container:,
	// volumes-from).
	moved map[string]string
}

func (r *updateRun) emit(name, phase, msg string) {
	if r.prog == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.prog(UpdateEvent{Container: name, Phase: phase, Message: msg, Time: time.Now()})
}

// Update recreates containers on a new image, keeping exactly what the
// user asked for, one batch at a time in dependency order, each gated on
// health and rolled back by itself when the gate fails.
//
// Intent. What the user set explicitly is decided once, field by field,
// against the exact image the container was created from (still on the
// engine: an update never removes images): a value equal to that image's
// is inherited and follows the new image, anything else is kept (see
// [Intent]). The decision is recorded on the new container in IntentLabel
// and, on later updates, read from there rather than guessed again, so an
// explicit value that happens to equal a later image's default stays
// explicit. When the old image is gone and there is no label, every
// setting is kept (Changes says so). HostConfig (ports, binds, restart
// policy, limits, ...), the name and the networks (aliases, static IPs;
// not the engine's own short-ID alias) are kept as they are; the hostname
// only when it was set explicitly. Anonymous volumes of the old container
// are mounted into the new one by name (HostConfig.Mounts, as docker
// compose does), so their data carries over; they are never removed.
//
// Recreate. For each container: the pre hook (in the old container), then
// the old container is renamed to name+PrevSuffix and stopped (with its
// own stop timeout), the new one created under the name (the first
// network at create, the others connected before start), started and
// gated. On a pass: the post hook, then the old container is removed. On
// a failure of the gate or of any step, or when ctx is cancelled: the new
// container is stopped and removed, the old one gets its name back and is
// started again if it was running, on a context of its own (bounded) so
// that a cancelled ctx still rolls back. A container that was not running
// is recreated but not started, and not gated. Containers with
// AutoRemove (--rm) or paused are refused: stopping them would lose them.
//
// Order. Dependencies first: links, network mode "container:…",
// volumes-from, DependsOnLabel and ComposeDependsOnLabel, among the
// containers given (others are not updated and order nothing). A cycle
// is refused before anything is done (an error wrapping
// ErrDependencyCycle). A container whose dependency is rolled back,
// failed, or skipped with an error is skipped. Containers of one batch
// are recreated and gated concurrently.
//
// The result lists every container; the error joins their Errs (nil when
// all are updated, unchanged or skipped by their pre hook). An error with
// an empty result means the options were invalid or the order could not
// be made. Update is safe for concurrent use on different containers.
func (c *Client) Update(ctx context.Context, o UpdateOptions) (UpdateResult, error) {
	if err := o.validate(); err != nil {
		return UpdateResult{}, fmt.Errorf("image update: %w", err)
	}
	c.ready(ctx)
	run := &updateRun{c: c, o: o, prog: o.Progress, moved: map[string]string{}}

	// Inspect every container once; duplicates by ID are dropped.
	var (
		results []ContainerUpdate
		set     []dcontainer.InspectResponse
		setIdx  []int // set[k] is results[setIdx[k]]
		seen    = map[string]bool{}
	)
	for _, want := range o.Containers {
		ins, err := c.api.ContainerInspect(ctx, strings.TrimSpace(want))
		if err != nil {
			results = append(results, ContainerUpdate{OldID: want, Outcome: OutcomeSkipped, Err: fmt.Errorf("container %q: %w", want, err)})
			continue
		}
		if ins.ContainerJSONBase == nil || ins.Config == nil || ins.HostConfig == nil || ins.State == nil {
			results = append(results, ContainerUpdate{OldID: want, Outcome: OutcomeSkipped, Err: fmt.Errorf("container %q: the engine's inspect answer lacks its config or state", want)})
			continue
		}
		if seen[ins.ID] {
			continue
		}
		seen[ins.ID] = true
		setIdx = append(setIdx, len(results))
		set = append(set, ins)
		results = append(results, ContainerUpdate{Name: strings.TrimPrefix(ins.Name, "/"), OldID: ins.ID, OldImage: ins.Image})
	}

	deps := dependencyGraph(set)
	names := make([]string, len(set))
	for k, ins := range set {
		names[k] = strings.TrimPrefix(ins.Name, "/")
	}
	order, err := topoOrder(deps, names)
	if err != nil {
		return UpdateResult{}, fmt.Errorf("image update: %w", err)
	}

	// Pull each distinct reference once, before anything is stopped.
	pullErr := map[string]error{}
	if o.Pull && !o.DryRun {
		for _, k := range order {
			ref := o.Image
			if ref == "" {
				ref = set[k].Config.Image
			}
			if _, done := pullErr[ref]; done {
				continue
			}
			run.emit(names[k], PhasePull, "pulling "+ref)
			pr, err := c.Pull(ctx, ref, PullOptions{})
			pullErr[ref] = err
			if err == nil {
				msg := "pulled " + ref + " (" + updShortID(pr.ID) + ")"
				if pr.UpToDate {
					msg = ref + " is up to date"
				}
				run.emit(names[k], PhasePull, msg)
			}
		}
	}

	for _, batch := range makeBatches(order, deps, o.BatchSize) {
		var wg sync.WaitGroup
		for _, k := range batch {
			res := &results[setIdx[k]]
			res.Reference = o.Image
			if res.Reference == "" {
				res.Reference = set[k].Config.Image
			}
			if err := ctx.Err(); err != nil {
				res.Outcome, res.Err = OutcomeSkipped, fmt.Errorf("not started: %w", err)
				continue
			}
			if reason := blockedBy(k, deps, set, results, setIdx); reason != "" {
				res.Outcome, res.Err = OutcomeSkipped, errors.New("skipped: "+reason)
				run.emit(res.Name, PhaseDone, res.Err.Error())
				continue
			}
			if err := pullErr[res.Reference]; err != nil {
				res.Outcome, res.Err = OutcomeSkipped, fmt.Errorf("pull %s: %w", res.Reference, err)
				run.emit(res.Name, PhaseDone, res.Err.Error())
				continue
			}
			wg.Add(1)
			go func(ins dcontainer.InspectResponse) {
				defer wg.Done()
				run.updateOne(ctx, ins, res)
				msg := res.Outcome
				if res.Gate != "" {
					msg += " (" + res.Gate + ")"
				}
				if res.Err != nil {
					msg += ": " + res.Err.Error()
				}
				run.emit(res.Name, PhaseDone, msg)
			}(set[k])
		}
		wg.Wait()
	}

	var errs []error
	for _, r := range results {
		if r.Err != nil {
			name := r.Name
			if name == "" {
				name = r.OldID
			}
			errs = append(errs, fmt.Errorf("%s: %w", name, r.Err))
		}
	}
	return UpdateResult{Containers: results}, errors.Join(errs...)
}

// blockedBy says why set[k] must be skipped because of a dependency ("" if
// it need not be).
func blockedBy(k int, deps [][]int, set []dcontainer.InspectResponse, results []ContainerUpdate, setIdx []int) string {
	for _, j := range deps[k] {
		r := results[setIdx[j]]
		switch {
		case r.Outcome == OutcomeRolledBack || r.Outcome == OutcomeFailed:
			s := fmt.Sprintf("dependency %s was %s", strings.TrimPrefix(set[j].Name, "/"), r.Outcome)
			if r.Gate != "" {
				s += " (" + r.Gate + ")"
			}
			return s
		case r.Outcome == OutcomeSkipped && r.Err != nil:
			return fmt.Sprintf("dependency %s was skipped with an error", strings.TrimPrefix(set[j].Name, "/"))
		}
	}
	return ""
}

// updatePlan is what recreating one container takes.
type updatePlan struct {
	cfg      *dcontainer.Config
	host     *dcontainer.HostConfig
	primary  string                               // network given at create, "" for none
	primEP   *network.EndpointSettings            // its endpoint
	others   map[string]*network.EndpointSettings // connected before start
	intentOf string                               // where the intent came from, for events
}

// updateOne plans and, unless a dry run, recreates one container, filling
// res.
func (r *updateRun) updateOne(ctx context.Context, ins dcontainer.InspectResponse, res *ContainerUpdate) {
	c := r.c
	ref := res.Reference
	if isImageIDRef(ref, ins.Image) {
		res.Outcome, res.Err = OutcomeSkipped, fmt.Errorf("created from the image ID %s, not a reference: there is no tag to follow; set UpdateOptions.Image to the reference to roll to", ref)
		return
	}
	newImg, err := c.api.ImageInspect(ctx, ref)
	if err != nil {
		if cerrdefs.IsNotFound(err) {
			err = fmt.Errorf("image %s is not on the engine: pull it (UpdateOptions.Pull) or check the reference: %w", ref, errors.Join(ErrNotFound, err))
		} else {
			err = fmt.Errorf("inspect image %s: %w", ref, err)
		}
		res.Outcome, res.Err = OutcomeSkipped, err
		return
	}
	res.NewImage = newImg.ID
	if newImg.ID == ins.Image && !r.o.Force {
		res.Outcome = OutcomeUnchanged
		return
	}
	if ins.HostConfig.AutoRemove {
		res.Outcome, res.Err = OutcomeSkipped, errors.New("the container runs with --rm (AutoRemove): stopping it would delete it and leave nothing to roll back to; recreate it without --rm first")
		return
	}
	if ins.State.Paused {
		res.Outcome, res.Err = OutcomeSkipped, errors.New("the container is paused: unpause it first (docker unpause)")
		return
	}

	p, changes, err := r.plan(ctx, ins, ref, newImg.ID, newImg.Config)
	res.Changes = changes
	if err != nil {
		res.Outcome, res.Err = OutcomeSkipped, err
		return
	}
	if r.o.DryRun {
		res.Outcome = OutcomeWouldUpdate
		return
	}
	r.recreate(ctx, ins, p, res)
	if res.Outcome == OutcomeUpdated {
		r.mu.Lock()
		r.moved[ins.ID] = res.NewID
		r.mu.Unlock()
	}
}

// plan decides the intent and builds the new container's configuration.
func (r *updateRun) plan(ctx context.Context, ins dcontainer.InspectResponse, ref, newImageID string, newImg *dockerspec.DockerOCIImageConfig) (updatePlan, []Change, error) {
	c := r.c
	var (
		in     Intent
		source Change
		p      updatePlan
	)
	label, hasLabel := ins.Config.Labels[IntentLabel]
	if hasLabel {
		var err error
		in, err = parseIntentLabel(label)
		if err != nil {
			hasLabel = false
			source.Why = err.Error() + "; ignored: "
		} else {
			source = Change{Field: "Intent", Old: "label " + IntentLabel, New: in.label(), Why: "recorded at the previous update: used as is"}
			p.intentOf = "from label " + IntentLabel
		}
	}
	if !hasLabel {
		oldImg, err := c.api.ImageInspect(ctx, ins.Image)
		switch {
		case err == nil:
			in = decideIntent(ins.Config, oldImg.Config)
			source = Change{Field: "Intent", Old: "image " + ins.Image, New: in.label(), Why: source.Why + "decided against the image the container was created from; recorded in label " + IntentLabel}
			p.intentOf = "decided against image " + updShortID(ins.Image)
		case cerrdefs.IsNotFound(err):
			in = decideIntent(ins.Config, nil)
			source = Change{Field: "Intent", Old: "image " + ins.Image + " (gone)", New: in.label(), Why: source.Why + "the image the container was created from is gone: every setting is kept as explicit"}
			p.intentOf = "image " + updShortID(ins.Image) + " is gone: every setting kept as explicit"
		default:
			return p, nil, fmt.Errorf("inspect the container's image %s: %w", ins.Image, err)
		}
	}
	cfg, changes := intentConfig(ins, in, newImg, ref, ins.Image, newImageID)
	changes = append(changes, source)
	p.cfg = cfg

	host, mountChanges, err := r.hostConfig(ctx, ins)
	if err != nil {
		return p, changes, err
	}
	changes = append(changes, mountChanges...)
	p.host = host
	p.primary, p.primEP, p.others = updEndpoints(ins)
	return p, changes, nil
}

// hostConfig copies the old container's HostConfig, mounting its
// anonymous volumes into the new one by name (as docker compose does) and
// pointing "container:<id>" network modes and volumes-from at the
// replacements of containers updated earlier in this run.
func (r *updateRun) hostConfig(ctx context.Context, ins dcontainer.InspectResponse) (*dcontainer.HostConfig, []Change, error) {
	h := *ins.HostConfig
	r.mu.Lock()
	moved := make(map[string]string, len(r.moved))
	for k, v := range r.moved {
		moved[k] = v
	}
	r.mu.Unlock()
	mapID := func(ref string) string {
		for oldID, newID := range moved {
			if len(ref) >= 12 && strings.HasPrefix(oldID, ref) {
				return newID
			}
		}
		return ref
	}
	if h.NetworkMode.IsContainer() {
		h.NetworkMode = dcontainer.NetworkMode("container:" + mapID(h.NetworkMode.ConnectedContainer()))
	}
	if len(h.VolumesFrom) > 0 {
		vf := make([]string, len(h.VolumesFrom))
		for i, v := range h.VolumesFrom {
			src, mode, hasMode := strings.Cut(v, ":")
			vf[i] = mapID(src)
			if hasMode {
				vf[i] += ":" + mode
			}
		}
		h.VolumesFrom = vf
	}

	// Destinations already given by the user (binds, mounts) or shared
	// from other containers (volumes-from) are not re-mounted.
	covered := map[string]bool{}
	for _, b := range h.Binds {
		if parts := strings.Split(b, ":"); len(parts) >= 2 {
			covered[parts[1]] = true
		}
	}
	for _, m := range h.Mounts {
		covered[m.Target] = true
	}
	for _, v := range ins.HostConfig.VolumesFrom {
		src, _, _ := strings.Cut(v, ":")
		other, err := r.c.api.ContainerInspect(ctx, src)
		if err != nil {
			return nil, nil, fmt.Errorf("inspect %s (volumes-from): %w", src, err)
		}
		for _, m := range other.Mounts {
			covered[m.Destination] = true
		}
	}
	var changes []Change
	mounts := append([]mount.Mount(nil), h.Mounts...)
	for _, m := range ins.Mounts {
		if m.Type != mount.TypeVolume || m.Name == "" || covered[m.Destination] {
			continue
		}
		mounts = append(mounts, mount.Mount{Type: mount.TypeVolume, Source: m.Name, Target: m.Destination, ReadOnly: !m.RW})
		changes = append(changes, Change{Field: "Mounts[" + m.Destination + "]", Old: m.Name, New: m.Name,
			Why: "anonymous volume of the old container: mounted into the new one by name, so its data carries over"})
	}
	if len(mounts) > 0 {
		h.Mounts = mounts
	}
	return &h, changes, nil
}

// updEndpoints returns the network to give at create (with its endpoint) and
// the others, from the old container's networks: user aliases, static
// IPs, links and driver options kept; the engine's own alias (the old
// short ID) and the addresses it assigned dropped.
func updEndpoints(ins dcontainer.InspectResponse) (string, *network.EndpointSettings, map[string]*network.EndpointSettings) {
	mode := ins.HostConfig.NetworkMode
	if mode.IsContainer() || mode.IsHost() || mode.IsNone() || ins.NetworkSettings == nil || len(ins.NetworkSettings.Networks) == 0 {
		return "", nil, nil
	}
	nets := ins.NetworkSettings.Networks
	primary := string(mode)
	if mode.IsDefault() || primary == "" {
		primary = network.NetworkBridge
	}
	if _, ok := nets[primary]; !ok {
		found := ""
		for _, n := range updSortedKeys(nets) { // the mode may be a network ID
			if ep := nets[n]; ep != nil && ep.NetworkID != "" && strings.HasPrefix(ep.NetworkID, primary) {
				found = n
				break
			}
		}
		if found == "" {
			found = updSortedKeys(nets)[0]
		}
		primary = found
	}
	short := updShortID(ins.ID)
	copyEP := func(ep *network.EndpointSettings) *network.EndpointSettings {
		if ep == nil {
			return &network.EndpointSettings{}
		}
		var aliases []string
		for _, a := range ep.Aliases {
			if a != short && a != ins.ID {
				aliases = append(aliases, a)
			}
		}
		return &network.EndpointSettings{IPAMConfig: ep.IPAMConfig, Links: ep.Links, Aliases: aliases, DriverOpts: ep.DriverOpts}
	}
	others := map[string]*network.EndpointSettings{}
	for n, ep := range nets {
		if n != primary {
			others[n] = copyEP(ep)
		}
	}
	return primary, copyEP(nets[primary]), others
}

// recreate replaces the old container by the planned one, gates it and
// keeps it or rolls back, filling res.
func (r *updateRun) recreate(ctx context.Context, ins dcontainer.InspectResponse, p updatePlan, res *ContainerUpdate) {
	c := r.c
	name := res.Name
	wasRunning := ins.State.Running || ins.State.Restarting

	// Pre hook, in the old container.
	if cmd := hookCommand(r.o.PreHook, ins.Config.Labels, PreHookLabel); cmd != nil && ins.State.Running {
		r.emit(name, PhasePreHook, "running "+strings.Join(cmd, " "))
		hr, err := c.runHook(ctx, ins.ID, cmd)
		switch {
		case err != nil:
			res.Outcome, res.Err = OutcomeSkipped, fmt.Errorf("pre hook: %w", err)
			return
		case hr.exitCode == HookSkipExitCode:
			res.Outcome = OutcomeSkipped
			r.emit(name, PhasePreHook, fmt.Sprintf("exit %d: update skipped as the hook asks", HookSkipExitCode))
			return
		case hr.exitCode != 0:
			res.Outcome, res.Err = OutcomeSkipped, fmt.Errorf("pre hook %s; update skipped (only exit %d skips without an error)", hr.describe(cmd), HookSkipExitCode)
			return
		}
	}

	st := &rollbackState{oldID: ins.ID, name: name, wasRunning: wasRunning}
	fail := func(step string, err error) {
		res.Err = fmt.Errorf("%s: %w", step, err)
		r.rollback(ctx, st, res)
	}

	prev := name + PrevSuffix
	if err := c.api.ContainerRename(ctx, ins.ID, prev); err != nil {
		res.Outcome = OutcomeSkipped
		if cerrdefs.IsConflict(err) {
			res.Err = fmt.Errorf("rename to %s: a container of that name exists (left by an interrupted update?): inspect it, then remove or rename it: %w", prev, err)
		} else {
			res.Err = fmt.Errorf("rename to %s: %w", prev, err)
		}
		return
	}
	st.renamed = true

	if wasRunning {
		r.emit(name, PhaseStop, "stopping the old container "+updShortID(ins.ID))
		if err := c.api.ContainerStop(ctx, ins.ID, dcontainer.StopOptions{}); err != nil {
			st.stopped = true // it may be half-stopped: the rollback starts it
			fail("stop the old container", err)
			return
		}
		st.stopped = true
	}

	r.emit(name, PhaseCreate, fmt.Sprintf("creating %s on %s (%s); intent %s", name, res.Reference, updShortID(res.NewImage), p.intentOf))
	var netCfg *network.NetworkingConfig
	if p.primary != "" {
		netCfg = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{p.primary: p.primEP}}
	}
	created, err := c.api.ContainerCreate(ctx, p.cfg, p.host, netCfg, nil, name)
	if err != nil {
		fail("create the new container", err)
		return
	}
	st.newID = created.ID
	res.NewID = created.ID
	for _, n := range updSortedKeys(p.others) {
		if err := c.api.NetworkConnect(ctx, n, created.ID, p.others[n]); err != nil {
			fail("connect the new container to network "+n, err)
			return
		}
	}
	if !wasRunning {
		res.Gate = "not gated: the container was not running, so the new one is created but not started"
		r.finish(ctx, ins, st, res)
		return
	}
	r.emit(name, PhaseStart, "starting "+updShortID(created.ID))
	if err := c.api.ContainerStart(ctx, created.ID, dcontainer.StartOptions{}); err != nil {
		fail("start the new container", err)
		return
	}

	r.emit(name, PhaseGate, gateDescription(r.o.Gate))
	v, gerr := c.gate(ctx, created.ID, r.o.Gate)
	res.Gate = v.text
	if !v.passed {
		r.emit(name, PhaseGate, "failed: "+v.text)
		if gerr != nil {
			fail("gate", gerr)
		} else {
			fail("gate", fmt.Errorf("%w: %s", ErrGateFailed, v.text))
		}
		return
	}
	r.emit(name, PhaseGate, "passed: "+v.text)

	if cmd := hookCommand(r.o.PostHook, ins.Config.Labels, PostHookLabel); cmd != nil {
		r.emit(name, PhasePostHook, "running "+strings.Join(cmd, " "))
		hr, err := c.runHook(ctx, created.ID, cmd)
		switch {
		case err != nil:
			res.Err = fmt.Errorf("post hook (the update is kept): %w", err)
		case hr.exitCode != 0:
			res.Err = fmt.Errorf("post hook %s (the update is kept)", hr.describe(cmd))
		}
	}
	r.finish(ctx, ins, st, res)
}

// finish removes the old container of a kept update.
func (r *updateRun) finish(ctx context.Context, ins dcontainer.InspectResponse, st *rollbackState, res *ContainerUpdate) {
	res.Outcome = OutcomeUpdated
	r.emit(res.Name, PhaseRemoveOld, "removing the old container "+updShortID(ins.ID))
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	if err := r.c.api.ContainerRemove(rctx, ins.ID, dcontainer.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
		res.Err = errors.Join(res.Err, fmt.Errorf("the update is kept but the old container %s is left as %s: remove it (docker rm %s): %w",
			updShortID(ins.ID), st.name+PrevSuffix, st.name+PrevSuffix, err))
	}
}

// rollbackState is what a recreate has done so far, for the rollback.
type rollbackState struct {
	oldID, name string
	wasRunning  bool
	renamed     bool   // old renamed to name+PrevSuffix
	stopped     bool   // old stopped by the update
	newID       string // the new container, once created
}

// rollback undoes what st says was done, on a context that survives the
// cancellation of ctx, and sets res.Outcome (rolled-back or failed).
func (r *updateRun) rollback(ctx context.Context, st *rollbackState, res *ContainerUpdate) {
	c := r.c
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), rollbackTimeout)
	defer cancel()
	r.emit(st.name, PhaseRollback, "rolling back: "+res.Err.Error())
	var errs []error
	if st.newID != "" {
		_ = c.api.ContainerStop(rctx, st.newID, dcontainer.StopOptions{})
		if err := c.api.ContainerRemove(rctx, st.newID, dcontainer.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("remove the new container %s: %w", updShortID(st.newID), err))
		} else {
			res.NewID = ""
		}
	}
	if st.renamed && len(errs) == 0 {
		if err := c.api.ContainerRename(rctx, st.oldID, st.name); err != nil {
			errs = append(errs, fmt.Errorf("rename %s back to %s: %w", st.name+PrevSuffix, st.name, err))
		}
	}
	if st.wasRunning && st.stopped && len(errs) == 0 {
		if err := c.api.ContainerStart(rctx, st.oldID, dcontainer.StartOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("start the previous container again: %w", err))
		} else if err := c.waitRunning(rctx, st.oldID); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) == 0 {
		res.Outcome = OutcomeRolledBack
		r.emit(st.name, PhaseRollback, "the previous container "+updShortID(st.oldID)+" runs again under "+st.name)
		return
	}
	res.Outcome = OutcomeFailed
	res.Err = fmt.Errorf("%w after %v: %w; left state: %s", ErrRollbackFailed, res.Err, errors.Join(errs...), c.describeState(rctx, st))
}

// waitRunning waits until the container runs (up to 30 s within ctx).
func (c *Client) waitRunning(ctx context.Context, id string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		ins, err := c.api.ContainerInspect(ctx, id)
		if err != nil {
			return fmt.Errorf("wait for the previous container to run: %w", err)
		}
		if ins.State != nil && ins.State.Running {
			return nil
		}
		if ins.State != nil && !ins.State.Restarting && ins.State.Status == dcontainer.StateExited {
			return fmt.Errorf("the previous container %s exited with code %d right after its restart", updShortID(id), ins.State.ExitCode)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the previous container %s did not run within 30s: %w", updShortID(id), ctx.Err())
		case <-time.After(gatePoll):
		}
	}
}

// describeState says where the old and new containers of a failed rollback
// are, and what to do.
func (c *Client) describeState(ctx context.Context, st *rollbackState) string {
	one := func(what, id string) string {
		ins, err := c.api.ContainerInspect(ctx, id)
		if cerrdefs.IsNotFound(err) {
			return fmt.Sprintf("%s %s is removed", what, updShortID(id))
		}
		if err != nil || ins.ContainerJSONBase == nil || ins.State == nil {
			return fmt.Sprintf("%s %s: unknown (inspect failed: %v)", what, updShortID(id), err)
		}
		return fmt.Sprintf("%s %s is named %s and %s (image %s)", what, updShortID(id), strings.TrimPrefix(ins.Name, "/"), ins.State.Status, updShortID(ins.Image))
	}
	s := one("the previous container", st.oldID)
	if st.newID != "" {
		s += "; " + one("the new container", st.newID)
	}
	return s + fmt.Sprintf("; to restore by hand: docker rm -f %s (if it is the new one), docker rename %s %s, docker start %s",
		st.name, st.name+PrevSuffix, st.name, st.name)
}

// gateDescription says what the gate waits for.
func gateDescription(g GateOptions) string {
	switch {
	case g.Probe != nil && len(g.Probe.Exec) > 0:
		return fmt.Sprintf("waiting up to %s for the exec probe %s to pass", g.Timeout, g.Probe.Exec[0])
	case g.Probe != nil:
		return fmt.Sprintf("waiting up to %s for the network probe to pass", g.Timeout)
	}
	return fmt.Sprintf("waiting up to %s for healthy (or %s running without restart when there is no healthcheck)", g.Timeout, g.StableFor)
}

// isImageIDRef reports whether ref is an image ID rather than a reference
// (a container created from an ID has no tag to follow).
func isImageIDRef(ref, imageID string) bool {
	if strings.HasPrefix(ref, "sha256:") {
		return true
	}
	id := strings.TrimPrefix(imageID, "sha256:")
	if len(ref) < 12 || !strings.HasPrefix(id, ref) {
		return false
	}
	_, err := hex.DecodeString(ref[:len(ref)/2*2])
	return err == nil
}

// updShortID returns the 12-character short form of a container or image
// ID (without "sha256:").
func updShortID(id string) string {
	id = strings.TrimPrefix(id, "sha256:")
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// updSortedKeys returns m's keys, sorted.
func updSortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
