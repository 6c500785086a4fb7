package image

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/go-connections/nat"
	dockerspec "github.com/moby/docker-image-spec/specs-go/v1"
)

// IntentLabel is the label [Client.Update] puts on every container it
// creates: the compact JSON of an [Intent], naming the settings the user
// set explicitly (field names and keys, never values). When a container
// carries it, the next update reads the intent from it instead of guessing
// again from the image the container was created from.
const IntentLabel = "minato.intent"

// The whole-value fields of a container's Config an [Intent] can name in
// Fields. The engine takes each of them from the image when the user does
// not set it.
const (
	FieldCmd         = "Cmd"
	FieldEntrypoint  = "Entrypoint"
	FieldWorkingDir  = "WorkingDir"
	FieldUser        = "User"
	FieldHealthcheck = "Healthcheck"
	FieldStopSignal  = "StopSignal"
)

// intentFields are the whole-value fields in the order Changes lists them.
var intentFields = [...]string{FieldEntrypoint, FieldCmd, FieldWorkingDir, FieldUser, FieldHealthcheck, FieldStopSignal}

// Intent says which parts of a container's configuration the user set
// explicitly; everything else came from the image's defaults and follows
// the image on an update. The engine merges map-like settings key by key
// (an image's environment variable, label, exposed port or volume is added
// unless the user gave that key), so those are recorded per key; the
// others are whole values. Keys and names only: an Intent never holds a
// value, so it is safe to store in a label even when the environment holds
// secrets. Lists are sorted.
type Intent struct {
	// Fields are the explicit whole-value fields (FieldCmd, ...).
	Fields []string `json:"fields,omitempty"`
	// Env are the explicit environment variable names.
	Env []string `json:"env,omitempty"`
	// Labels are the explicit label keys (IntentLabel itself is never
	// listed: it is rewritten on every update).
	Labels []string `json:"labels,omitempty"`
	// ExposedPorts are the explicit exposed ports ("8080/tcp").
	ExposedPorts []string `json:"ports,omitempty"`
	// Volumes are the explicit anonymous-volume paths of Config.Volumes.
	Volumes []string `json:"volumes,omitempty"`
}

// has reports whether the whole-value field f is explicit.
func (in Intent) has(f string) bool { return slices.Contains(in.Fields, f) }

// label returns the compact JSON stored in IntentLabel.
func (in Intent) label() string {
	b, err := json.Marshal(in)
	if err != nil { // a struct of string slices always marshals
		return "{}"
	}
	return string(b)
}

// parseIntentLabel decodes the value of IntentLabel. Unknown field names in
// Fields are refused, so a label written by something else is not
// mistaken for an intent.
func parseIntentLabel(s string) (Intent, error) {
	var in Intent
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return Intent{}, fmt.Errorf("label %s=%q: want the JSON minato writes, such as {\"fields\":[\"Cmd\"],\"env\":[\"A\"]}: %v", IntentLabel, updTruncate(s, 80), err)
	}
	if dec.More() {
		return Intent{}, fmt.Errorf("label %s=%q: trailing data after the JSON object", IntentLabel, updTruncate(s, 80))
	}
	for _, f := range in.Fields {
		if !slices.Contains(intentFields[:], f) {
			return Intent{}, fmt.Errorf("label %s: unknown field %q: allowed are %s", IntentLabel, updTruncate(f, 40), strings.Join(intentFields[:], ", "))
		}
	}
	in.normalise()
	return in, nil
}

// normalise sorts and de-duplicates every list, and drops IntentLabel from
// Labels.
func (in *Intent) normalise() {
	for _, l := range []*[]string{&in.Fields, &in.Env, &in.Labels, &in.ExposedPorts, &in.Volumes} {
		if len(*l) == 0 {
			*l = nil
			continue
		}
		sort.Strings(*l)
		*l = slices.Compact(*l)
	}
	in.Labels = slices.DeleteFunc(in.Labels, func(k string) bool { return k == IntentLabel })
	if len(in.Labels) == 0 {
		in.Labels = nil
	}
}

// decideIntent decides, field by field, what of cfg (a container's
// Config as inspected) the user set explicitly, against img, the config of
// the exact image the container was created from: a value equal to the
// image's is inherited, anything else is explicit. img nil means that
// image is gone: then everything is explicit (the safe choice: nothing the
// user may have set is lost).
func decideIntent(cfg *container.Config, img *dockerspec.DockerOCIImageConfig) Intent {
	if cfg == nil {
		cfg = &container.Config{}
	}
	var in Intent
	if img == nil {
		in.Fields = append(in.Fields, intentFields[:]...)
		in.Env = updEnvKeys(cfg.Env)
		in.Labels = updMapKeys(cfg.Labels)
		in.ExposedPorts = updPortKeys(cfg.ExposedPorts)
		in.Volumes = updMapKeys(cfg.Volumes)
		in.normalise()
		return in
	}
	imgEnv := updEnvMap(img.Env)
	for _, e := range cfg.Env {
		k, v := updSplitEnv(e)
		if iv, ok := imgEnv[k]; !ok || iv != v {
			in.Env = append(in.Env, k)
		}
	}
	for k, v := range cfg.Labels {
		if iv, ok := img.Labels[k]; !ok || iv != v {
			in.Labels = append(in.Labels, k)
		}
	}
	for p := range cfg.ExposedPorts {
		if _, ok := img.ExposedPorts[string(p)]; !ok {
			in.ExposedPorts = append(in.ExposedPorts, string(p))
		}
	}
	for v := range cfg.Volumes {
		if _, ok := img.Volumes[v]; !ok {
			in.Volumes = append(in.Volumes, v)
		}
	}
	entrypointExplicit := !slices.Equal(cfg.Entrypoint, img.Entrypoint)
	if entrypointExplicit {
		in.Fields = append(in.Fields, FieldEntrypoint)
	}
	// The engine takes the image's Cmd only when the user set neither Cmd
	// nor Entrypoint: with an explicit Entrypoint, Cmd is the user's too.
	if entrypointExplicit || !slices.Equal(cfg.Cmd, img.Cmd) {
		in.Fields = append(in.Fields, FieldCmd)
	}
	if cfg.WorkingDir != img.WorkingDir {
		in.Fields = append(in.Fields, FieldWorkingDir)
	}
	if cfg.User != img.User {
		in.Fields = append(in.Fields, FieldUser)
	}
	if !sameHealth(cfg.Healthcheck, img.Healthcheck) {
		in.Fields = append(in.Fields, FieldHealthcheck)
	}
	if cfg.StopSignal != img.StopSignal {
		in.Fields = append(in.Fields, FieldStopSignal)
	}
	in.normalise()
	return in
}

// sameHealth compares healthchecks, nil being equal to the zero config.
func sameHealth(a, b *container.HealthConfig) bool {
	var za, zb container.HealthConfig
	if a != nil {
		za = *a
	}
	if b != nil {
		zb = *b
	}
	return reflect.DeepEqual(normHealth(za), normHealth(zb))
}

func normHealth(h container.HealthConfig) container.HealthConfig {
	if len(h.Test) == 0 {
		h.Test = nil
	}
	return h
}

// intentConfig builds the Config of the replacement container: old's config,
// with every inherited setting left out so that the engine fills it from
// the new image (as it does for docker run), every explicit one kept, Image
// set to ref, the intent recorded in IntentLabel, and the hostname kept
// only when it was set explicitly (the engine's default is the container's
// short ID). It also returns what the recreate changes (see [Change]),
// given newImg, the new image's config (nil is read as an empty one), and
// oldImageID/newImageID for the image line.
func intentConfig(old container.InspectResponse, in Intent, newImg *dockerspec.DockerOCIImageConfig, ref, oldImageID, newImageID string) (*container.Config, []Change) {
	var cur container.Config
	if old.Config != nil {
		cur = *old.Config
	}
	if newImg == nil {
		newImg = &dockerspec.DockerOCIImageConfig{}
	}
	cfg := cur // copy; slices and maps are replaced below, never mutated
	cfg.Image = ref
	var changes []Change
	why := "new content of " + ref
	if cur.Image != ref {
		why = fmt.Sprintf("reference %s replaces %s", ref, cur.Image)
	}
	changes = append(changes, Change{Field: "Image", Old: oldImageID, New: newImageID, Why: why})

	if old.ContainerJSONBase != nil && cur.Hostname != "" && strings.HasPrefix(old.ID, cur.Hostname) && len(cur.Hostname) == 12 {
		cfg.Hostname = ""
		changes = append(changes, Change{Field: "Hostname", Old: cur.Hostname, New: "(the new container's short ID)", Why: "default hostname: assigned by the engine"})
	} else if cur.Hostname != "" {
		changes = append(changes, Change{Field: "Hostname", Old: cur.Hostname, New: cur.Hostname, Why: "explicit: kept"})
	}

	// Whole-value fields.
	type whole struct {
		name     string
		cur, img any
		clear    func()
	}
	for _, w := range []whole{
		{FieldEntrypoint, []string(cur.Entrypoint), newImg.Entrypoint, func() { cfg.Entrypoint = nil }},
		{FieldCmd, []string(cur.Cmd), newImg.Cmd, func() { cfg.Cmd = nil }},
		{FieldWorkingDir, cur.WorkingDir, newImg.WorkingDir, func() { cfg.WorkingDir = "" }},
		{FieldUser, cur.User, newImg.User, func() { cfg.User = "" }},
		{FieldHealthcheck, cur.Healthcheck, newImg.Healthcheck, func() { cfg.Healthcheck = nil }},
		{FieldStopSignal, cur.StopSignal, newImg.StopSignal, func() { cfg.StopSignal = "" }},
	} {
		c, i := changeValue(w.cur), changeValue(w.img)
		if in.has(w.name) {
			ch := Change{Field: w.name, Old: c, New: c, Why: "explicit: kept"}
			if c != i {
				ch.Why += "; the new image's default is " + i
			}
			changes = append(changes, ch)
			continue
		}
		w.clear()
		if c != i {
			changes = append(changes, Change{Field: w.name, Old: c, New: i, Why: "image default: follows the new image"})
		}
	}
	// An explicit empty Entrypoint must be sent as [""] (as docker run
	// --entrypoint "" does), else the engine fills in the image's.
	if in.has(FieldEntrypoint) && len(cfg.Entrypoint) == 0 && len(newImg.Entrypoint) > 0 {
		cfg.Entrypoint = []string{""}
	}

	// Environment, per variable. Explicit values are not shown: they may
	// be secrets.
	curEnv, newEnv := updEnvMap(cur.Env), updEnvMap(newImg.Env)
	cfg.Env = nil
	for _, e := range cur.Env {
		if k, _ := updSplitEnv(e); slices.Contains(in.Env, k) {
			cfg.Env = append(cfg.Env, e)
		}
	}
	for _, k := range updUnionKeys(curEnv, newEnv) {
		cv, inCur := curEnv[k]
		nv, inNew := newEnv[k]
		field := "Env[" + k + "]"
		switch {
		case slices.Contains(in.Env, k) && inCur:
			ch := Change{Field: field, Old: changeHidden, New: changeHidden, Why: "explicit: kept"}
			if inNew && nv != cv {
				ch.Why += fmt.Sprintf("; the new image's default is %q", nv)
			}
			changes = append(changes, ch)
		case inCur && !inNew:
			changes = append(changes, Change{Field: field, Old: cv, New: changeUnset, Why: "image default: the new image no longer sets it"})
		case inCur && nv != cv:
			changes = append(changes, Change{Field: field, Old: cv, New: nv, Why: "image default: follows the new image"})
		case !inCur:
			changes = append(changes, Change{Field: field, Old: changeUnset, New: nv, Why: "new image default"})
		}
	}

	// Labels, per key; IntentLabel is rewritten.
	cfg.Labels = map[string]string{}
	for _, k := range in.Labels {
		if v, ok := cur.Labels[k]; ok {
			cfg.Labels[k] = v
		}
	}
	cfg.Labels[IntentLabel] = in.label()
	changes = append(changes, keyedChanges("Labels", cur.Labels, newImg.Labels, in.Labels, IntentLabel)...)

	// Exposed ports and anonymous volumes, per key.
	curPorts, newPorts := updPortStrings(cur.ExposedPorts), updSetStrings(newImg.ExposedPorts)
	cfg.ExposedPorts = nil
	for _, p := range in.ExposedPorts {
		if _, ok := cur.ExposedPorts[nat.Port(p)]; ok {
			if cfg.ExposedPorts == nil {
				cfg.ExposedPorts = nat.PortSet{}
			}
			cfg.ExposedPorts[nat.Port(p)] = struct{}{}
		}
	}
	changes = append(changes, keyedChanges("ExposedPorts", curPorts, newPorts, in.ExposedPorts, "")...)
	curVols, newVols := updSetStrings(cur.Volumes), updSetStrings(newImg.Volumes)
	cfg.Volumes = nil
	for _, v := range in.Volumes {
		if _, ok := cur.Volumes[v]; ok {
			if cfg.Volumes == nil {
				cfg.Volumes = map[string]struct{}{}
			}
			cfg.Volumes[v] = struct{}{}
		}
	}
	changes = append(changes, keyedChanges("Volumes", curVols, newVols, in.Volumes, "")...)
	return &cfg, changes
}

// Values shown in a [Change] for what is absent or hidden.
const (
	changeUnset  = "(unset)"
	changeHidden = "(explicit value, not shown)"
)

// keyedChanges lists the changes of a per-key setting (labels, ports,
// volumes: values shown) given the container's and the new image's
// entries and the explicit keys; skip is a key never reported.
func keyedChanges(name string, cur, img map[string]string, explicit []string, skip string) []Change {
	var out []Change
	for _, k := range updUnionKeys(cur, img) {
		if k == skip {
			continue
		}
		cv, inCur := cur[k]
		nv, inNew := img[k]
		field := name + "[" + k + "]"
		switch {
		case slices.Contains(explicit, k) && inCur:
			ch := Change{Field: field, Old: cv, New: cv, Why: "explicit: kept"}
			if inNew && nv != cv {
				ch.Why += fmt.Sprintf("; the new image's default is %q", nv)
			}
			out = append(out, ch)
		case inCur && !inNew:
			out = append(out, Change{Field: field, Old: cv, New: changeUnset, Why: "image default: the new image no longer sets it"})
		case inCur && nv != cv:
			out = append(out, Change{Field: field, Old: cv, New: nv, Why: "image default: follows the new image"})
		case !inCur:
			out = append(out, Change{Field: field, Old: changeUnset, New: nv, Why: "new image default"})
		}
	}
	return out
}

// changeValue renders a config value for a Change: strings as they are,
// lists and healthchecks as compact JSON, empty ones as "(unset)".
func changeValue(v any) string {
	switch x := v.(type) {
	case string:
		if x == "" {
			return changeUnset
		}
		return x
	case []string:
		if len(x) == 0 {
			return changeUnset
		}
	case *container.HealthConfig:
		if x == nil {
			return changeUnset
		}
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

func updSplitEnv(e string) (string, string) {
	k, v, _ := strings.Cut(e, "=")
	return k, v
}

func updEnvMap(env []string) map[string]string {
	m := make(map[string]string, len(env))
	for _, e := range env {
		k, v := updSplitEnv(e)
		m[k] = v
	}
	return m
}

func updEnvKeys(env []string) []string {
	var ks []string
	for _, e := range env {
		k, _ := updSplitEnv(e)
		ks = append(ks, k)
	}
	return ks
}

func updMapKeys[V any](m map[string]V) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

func updPortKeys(ps nat.PortSet) []string {
	var ks []string
	for p := range ps {
		ks = append(ks, string(p))
	}
	return ks
}

func updPortStrings(ps nat.PortSet) map[string]string {
	m := make(map[string]string, len(ps))
	for p := range ps {
		m[string(p)] = "exposed"
	}
	return m
}

func updSetStrings(s map[string]struct{}) map[string]string {
	m := make(map[string]string, len(s))
	for k := range s {
		m[k] = "declared"
	}
	return m
}

// updUnionKeys returns the keys of a and b, sorted.
func updUnionKeys(a, b map[string]string) []string {
	ks := updMapKeys(a)
	for k := range b {
		if _, ok := a[k]; !ok {
			ks = append(ks, k)
		}
	}
	sort.Strings(ks)
	return ks
}

// updTruncate shortens s to at most n bytes for an error message.
func updTruncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
