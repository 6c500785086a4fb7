package storetest

import (
	"context"
	"errors"
	"reflect"
	"strings"
	"sync/atomic"
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

// fragileStore is a MemStore whose storage can be damaged: once damaged,
// reads fail, and once a read met the damage, every write fails until
// Close, as TestDamaged wants.
type fragileStore struct {
	*scheduler.MemStore
	damaged, met atomic.Bool
}

var errDamaged = errors.New("fragile: storage damaged")

func (f *fragileStore) read() error {
	if f.damaged.Load() {
		f.met.Store(true)
		return errDamaged
	}
	return nil
}

func (f *fragileStore) write() error {
	if f.met.Load() {
		return errDamaged
	}
	return nil
}

func (f *fragileStore) ListRuns(ctx context.Context, fl scheduler.RunFilter) ([]scheduler.RunRecord, error) {
	if err := f.read(); err != nil {
		return nil, err
	}
	return f.MemStore.ListRuns(ctx, fl)
}

func (f *fragileStore) PutRun(ctx context.Context, rec scheduler.RunRecord) error {
	if err := f.write(); err != nil {
		return err
	}
	return f.MemStore.PutRun(ctx, rec)
}

func (f *fragileStore) CreateRun(ctx context.Context, rec scheduler.RunRecord) (bool, error) {
	if err := f.write(); err != nil {
		return false, err
	}
	return f.MemStore.CreateRun(ctx, rec)
}

func (f *fragileStore) DeleteRun(ctx context.Context, id string) error {
	if err := f.write(); err != nil {
		return err
	}
	return f.MemStore.DeleteRun(ctx, id)
}

func (f *fragileStore) DeleteRuns(ctx context.Context, before time.Time) (int, error) {
	if err := f.write(); err != nil {
		return 0, err
	}
	return f.MemStore.DeleteRuns(ctx, before)
}

func (f *fragileStore) PutValue(ctx context.Context, key string, v []byte) error {
	if err := f.write(); err != nil {
		return err
	}
	return f.MemStore.PutValue(ctx, key, v)
}

// TestDamagedFragileStore holds a store that fails loudly to TestDamaged.
func TestDamagedFragileStore(t *testing.T) {
	var opened *fragileStore
	TestDamaged(t, func(*testing.T) scheduler.Store {
		opened = &fragileStore{MemStore: scheduler.NewMemStore()}
		return opened
	}, func(t *testing.T, st scheduler.Store) {
		if st != opened {
			t.Fatal("damage got another store than open returned")
		}
		opened.damaged.Store(true)
	})
	if !opened.met.Load() {
		t.Error("TestDamaged never read the damaged store")
	}
}
