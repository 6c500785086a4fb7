package storetest

import (
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/minato-ops/minato/job/scheduler"
)

// TestMemStore holds scheduler.MemStore, the reference implementation, to the
// suite.
func TestMemStore(t *testing.T) {
	TestStore(t, func(*testing.T) scheduler.Store { return scheduler.NewMemStore() })
}

// TestDiffSeesEveryField checks the suite's own comparison: for every
// field of the full record (found by reflection, so fields added to
// RunRecord later are included), zeroing it makes diff name it.
func TestDiffSeesEveryField(t *testing.T) {
	now := time.Now()
	want := fullRecord(now)
	var d []string
	diff("", reflect.ValueOf(want), reflect.ValueOf(fullRecord(now)), &d)
	if len(d) != 0 {
		t.Fatalf("two fullRecords differ: %v", d)
	}
	// The monotonic reading and the location do not count.
	got := fullRecord(now)
	got.Created = got.Created.Round(0).In(jst)
	diff("", reflect.ValueOf(want), reflect.ValueOf(got), &d)
	if len(d) != 0 {
		t.Fatalf("diff compares times by more than their instant: %v", d)
	}

	var fields func(path string, typ reflect.Type) []string
	fields = func(path string, typ reflect.Type) []string {
		var out []string
		for i := range typ.NumField() {
			f := typ.Field(i)
			name := strings.TrimPrefix(path+"."+f.Name, ".")
			switch {
			case f.Type.Kind() == reflect.Struct && f.Type != timeType:
				out = append(out, fields(name, f.Type)...)
			case f.Type.Kind() == reflect.Slice && f.Type.Elem().Kind() == reflect.Struct:
				out = append(out, fields(name+"[0]", f.Type.Elem())...)
			default:
				out = append(out, name)
			}
		}
		return out
	}
	names := fields("", reflect.TypeFor[scheduler.RunRecord]())
	if len(names) < 20 {
		t.Fatalf("found only %d fields: %v", len(names), names)
	}
	for _, name := range names {
		got := fullRecord(now)
		v := reflect.ValueOf(&got).Elem()
		for _, part := range strings.Split(name, ".") {
			if p, ok := strings.CutSuffix(part, "[0]"); ok {
				v = v.FieldByName(p).Index(0)
			} else {
				v = v.FieldByName(part)
			}
		}
		if v.IsZero() {
			t.Errorf("fullRecord leaves %s zero: the round trip does not cover it", name)
			continue
		}
		v.SetZero()
		var d []string
		diff("", reflect.ValueOf(want), reflect.ValueOf(got), &d)
		if len(d) != 1 || !strings.HasPrefix(d[0], name+" ") {
			t.Errorf("zeroing %s: diff = %q, want one line about %s", name, d, name)
		}
	}
}
