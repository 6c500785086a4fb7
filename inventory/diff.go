package inventory

import (
	"slices"
	"strings"
)

// Changes is what [Diff] found between two Snapshots.
type Changes struct {
	// Added are Items in the new Snapshot only, sorted by Target key.
	Added []Item `json:"added,omitempty"`
	// Removed are Items in the old Snapshot only, sorted by Target key.
	// Items of an engine that is down in the new Snapshot, or was not asked,
	// are not Removed: an engine that cannot be asked says nothing about
	// what runs on it. They are counted in Unknown instead.
	Removed []Item `json:"removed,omitempty"`
	// Changed are Items in both whose State, Name, Labels or Attrs differ.
	Changed []Change `json:"changed,omitempty"`
	// Unknown counts old Items on engines that are down in, or absent from,
	// the new Snapshot.
	Unknown int `json:"unknown,omitempty"`
}

// Empty reports whether nothing was added, removed or changed.
func (c Changes) Empty() bool {
	return len(c.Added) == 0 && len(c.Removed) == 0 && len(c.Changed) == 0
}

// Change is one Item present in both Snapshots with different content.
type Change struct {
	// Old and New are the Item as each Snapshot holds it.
	Old Item `json:"old"`
	New Item `json:"new"`
	// Fields are the differences, sorted by Field.
	Fields []FieldChange `json:"fields"`
}

// FieldChange is one field that differs. Field is "state", "name",
// "label:KEY" or an attribute key ("image", "status", ...); a value absent
// on one side is the empty string.
type FieldChange struct {
	Field string `json:"field"`
	Old   string `json:"old"`
	New   string `json:"new"`
}

// Diff compares two Snapshots item by item, keyed by [Target.Key]. It is a
// pure function: the inputs are not modified and the result shares no
// maps with them. Items need not be sorted; the result is.
//
// The status text ("Up 35 minutes") changes with the clock, so Diff
// compares it only when the State differs too; use [DiffOptions] to
// compare it always or to ignore other fields.
func Diff(old, new Snapshot) Changes {
	return DiffOptions{IgnoreStatusAge: true}.Diff(old, new)
}

// DiffOptions tunes [DiffOptions.Diff].
type DiffOptions struct {
	// IgnoreStatusAge skips the "status" attribute when the State is the
	// same on both sides, since "Up 5 minutes" becoming "Up 6 minutes" is
	// the clock, not a change. [Diff] sets it.
	IgnoreStatusAge bool
	// Ignore lists further fields (as FieldChange.Field) never reported.
	Ignore []string
}

// Diff is [Diff] with these options.
func (o DiffOptions) Diff(old, new Snapshot) Changes {
	// An old Item is Removed only when its engine answered in new (or new
	// lists no engines at all, as a hand-built Snapshot may not).
	answered := map[string]bool{}
	for _, e := range new.Engines {
		if e.Up() {
			answered[e.Endpoint] = true
		}
	}
	unknown := func(it Item) bool { return len(new.Engines) > 0 && !answered[it.Target.Engine] }
	oldBy := make(map[string]Item, len(old.Items))
	for _, it := range old.Items {
		oldBy[it.Target.Key()] = it
	}
	var c Changes
	seen := make(map[string]bool, len(new.Items))
	for _, it := range new.Items {
		k := it.Target.Key()
		seen[k] = true
		was, ok := oldBy[k]
		if !ok {
			c.Added = append(c.Added, cloneItem(it))
			continue
		}
		if f := o.fields(was, it); len(f) > 0 {
			c.Changed = append(c.Changed, Change{Old: cloneItem(was), New: cloneItem(it), Fields: f})
		}
	}
	for _, it := range old.Items {
		if seen[it.Target.Key()] {
			continue
		}
		if unknown(it) {
			c.Unknown++
			continue
		}
		c.Removed = append(c.Removed, cloneItem(it))
	}
	byKey := func(a, b Item) int { return strings.Compare(a.Target.Key(), b.Target.Key()) }
	slices.SortFunc(c.Added, byKey)
	slices.SortFunc(c.Removed, byKey)
	slices.SortFunc(c.Changed, func(a, b Change) int { return byKey(a.New, b.New) })
	return c
}

func (o DiffOptions) fields(a, b Item) []FieldChange {
	var out []FieldChange
	add := func(f, x, y string) {
		if x != y && !slices.Contains(o.Ignore, f) {
			out = append(out, FieldChange{Field: f, Old: x, New: y})
		}
	}
	add("state", a.State, b.State)
	add("name", a.Target.Name, b.Target.Name)
	for _, k := range unionKeys(a.Target.Labels, b.Target.Labels) {
		add("label:"+k, a.Target.Labels[k], b.Target.Labels[k])
	}
	for _, k := range unionKeys(a.Attrs, b.Attrs) {
		if k == AttrStatus && o.IgnoreStatusAge && a.State == b.State {
			continue
		}
		add(k, a.Attrs[k], b.Attrs[k])
	}
	slices.SortFunc(out, func(x, y FieldChange) int { return strings.Compare(x.Field, y.Field) })
	return out
}

func unionKeys(a, b map[string]string) []string {
	keys := make([]string, 0, len(a)+len(b))
	for k := range a {
		keys = append(keys, k)
	}
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	return keys
}

func cloneItem(it Item) Item {
	it.Target.Labels = cloneMap(it.Target.Labels)
	it.Attrs = cloneMap(it.Attrs)
	return it
}

func cloneMap(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}
