package aws

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/aws-sdk-go-v2/service/route53/types"
	"github.com/aws/smithy-go"
)

// fakeR53 is a function-field fake of route53API. A nil field answers from
// a small in-memory model of hosted zones (A records only), which tests
// inspect and change through the zones map; a set field replaces the
// model for that call. Every call is counted by operation name.
type fakeR53 struct {
	change        func(ctx context.Context, in *route53.ChangeResourceRecordSetsInput) (*route53.ChangeResourceRecordSetsOutput, error)
	list          func(ctx context.Context, in *route53.ListResourceRecordSetsInput) (*route53.ListResourceRecordSetsOutput, error)
	getChange     func(ctx context.Context, in *route53.GetChangeInput) (*route53.GetChangeOutput, error)
	getHostedZone func(ctx context.Context, in *route53.GetHostedZoneInput) (*route53.GetHostedZoneOutput, error)

	mu      sync.Mutex
	zones   map[string]map[string]fakeRR // zone ID → lower-case name → record
	pending int                          // GetChange answers PENDING this many times per change
	polls   map[string]int               // change ID → GetChange calls
	changes []types.Change               // every change submitted, in order
	calls   map[string]int
	nextID  int
}

// fakeRR is one A record of the model.
type fakeRR struct {
	ttl    int64
	values []string
}

var _ route53API = (*fakeR53)(nil)

func newFakeR53(zones ...string) *fakeR53 {
	f := &fakeR53{zones: map[string]map[string]fakeRR{}, polls: map[string]int{}, calls: map[string]int{}}
	for _, z := range zones {
		f.zones[z] = map[string]fakeRR{}
	}
	return f
}

func (f *fakeR53) count(op string) {
	f.mu.Lock()
	f.calls[op]++
	f.mu.Unlock()
}

// Calls returns how many times op was called.
func (f *fakeR53) Calls(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// set puts a record in the model, as another actor would; no values
// deletes it.
func (f *fakeR53) set(zone, name string, ttl int64, values ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(values) == 0 {
		delete(f.zones[zone], name)
		return
	}
	f.zones[zone][name] = fakeRR{ttl: ttl, values: values}
}

// get returns a record of the model.
func (f *fakeR53) get(zone, name string) (fakeRR, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rr, ok := f.zones[zone][name]
	return rr, ok
}

// submitted returns the changes submitted so far.
func (f *fakeR53) submitted() []types.Change {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]types.Change(nil), f.changes...)
}

func r53Err(code, msg string) error {
	return &smithy.GenericAPIError{Code: code, Message: msg, Fault: smithy.FaultClient}
}

func noSuchZone(id string) error {
	return &types.NoSuchHostedZone{Message: sdkaws.String("No hosted zone found with ID: " + id)}
}

func (f *fakeR53) ChangeResourceRecordSets(ctx context.Context, in *route53.ChangeResourceRecordSetsInput, _ ...func(*route53.Options)) (*route53.ChangeResourceRecordSetsOutput, error) {
	f.count("ChangeResourceRecordSets")
	if f.change != nil {
		return f.change(ctx, in)
	}
	return f.modelChange(ctx, in)
}

// modelChange answers from the model.
func (f *fakeR53) modelChange(ctx context.Context, in *route53.ChangeResourceRecordSetsInput) (*route53.ChangeResourceRecordSetsOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	zid := sdkaws.ToString(in.HostedZoneId)
	zone, ok := f.zones[zid]
	if !ok {
		return nil, noSuchZone(zid)
	}
	for _, c := range in.ChangeBatch.Changes {
		f.changes = append(f.changes, c)
		rr := c.ResourceRecordSet
		name := strings.ToLower(sdkaws.ToString(rr.Name))
		var values []string
		for _, v := range rr.ResourceRecords {
			values = append(values, sdkaws.ToString(v.Value))
		}
		cur, exists := zone[name]
		switch c.Action {
		case types.ChangeActionUpsert:
			zone[name] = fakeRR{ttl: sdkaws.ToInt64(rr.TTL), values: values}
		case types.ChangeActionCreate:
			if exists {
				return nil, &types.InvalidChangeBatch{Message: sdkaws.String(fmt.Sprintf("[Tried to create resource record set [name='%s', type='A'] but it already exists]", name))}
			}
			zone[name] = fakeRR{ttl: sdkaws.ToInt64(rr.TTL), values: values}
		case types.ChangeActionDelete:
			if !exists {
				return nil, &types.InvalidChangeBatch{Message: sdkaws.String(fmt.Sprintf("[Tried to delete resource record set [name='%s', type='A'] but it was not found]", name))}
			}
			if cur.ttl != sdkaws.ToInt64(rr.TTL) || strings.Join(cur.values, ",") != strings.Join(values, ",") {
				return nil, &types.InvalidChangeBatch{Message: sdkaws.String(fmt.Sprintf("[Tried to delete resource record set [name='%s', type='A'] but the values provided do not match the current values]", name))}
			}
			delete(zone, name)
		}
	}
	f.nextID++
	id := fmt.Sprintf("/change/C%04d", f.nextID)
	st := types.ChangeStatusPending
	if f.pending < 0 {
		st = types.ChangeStatusInsync
	}
	return &route53.ChangeResourceRecordSetsOutput{ChangeInfo: &types.ChangeInfo{Id: sdkaws.String(id), Status: st, SubmittedAt: sdkaws.Time(time.Now())}}, nil
}

func (f *fakeR53) ListResourceRecordSets(ctx context.Context, in *route53.ListResourceRecordSetsInput, _ ...func(*route53.Options)) (*route53.ListResourceRecordSetsOutput, error) {
	f.count("ListResourceRecordSets")
	if f.list != nil {
		return f.list(ctx, in)
	}
	return f.modelList(ctx, in)
}

// modelList answers from the model.
func (f *fakeR53) modelList(ctx context.Context, in *route53.ListResourceRecordSetsInput) (*route53.ListResourceRecordSetsOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	zid := sdkaws.ToString(in.HostedZoneId)
	zone, ok := f.zones[zid]
	if !ok {
		return nil, noSuchZone(zid)
	}
	// Route 53 sorts by name with the labels reversed, then by type; all
	// records here are A.
	key := func(n string) string {
		l := strings.Split(strings.TrimSuffix(n, "."), ".")
		for i, j := 0, len(l)-1; i < j; i, j = i+1, j-1 {
			l[i], l[j] = l[j], l[i]
		}
		return strings.Join(l, ".")
	}
	names := make([]string, 0, len(zone))
	for n := range zone {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return key(names[i]) < key(names[j]) })
	start := key(strings.ToLower(sdkaws.ToString(in.StartRecordName)))
	max := int(sdkaws.ToInt32(in.MaxItems))
	if max == 0 {
		max = 300
	}
	out := &route53.ListResourceRecordSetsOutput{MaxItems: in.MaxItems}
	for _, n := range names {
		if key(n) < start {
			continue
		}
		if len(out.ResourceRecordSets) == max {
			out.IsTruncated = true
			out.NextRecordName = sdkaws.String(n)
			out.NextRecordType = types.RRTypeA
			break
		}
		rr := zone[n]
		set := types.ResourceRecordSet{Name: sdkaws.String(n), Type: types.RRTypeA, TTL: sdkaws.Int64(rr.ttl)}
		for _, v := range rr.values {
			set.ResourceRecords = append(set.ResourceRecords, types.ResourceRecord{Value: sdkaws.String(v)})
		}
		out.ResourceRecordSets = append(out.ResourceRecordSets, set)
	}
	return out, nil
}

func (f *fakeR53) GetChange(ctx context.Context, in *route53.GetChangeInput, _ ...func(*route53.Options)) (*route53.GetChangeOutput, error) {
	f.count("GetChange")
	if f.getChange != nil {
		return f.getChange(ctx, in)
	}
	return f.modelGetChange(ctx, in)
}

// modelGetChange answers from the model.
func (f *fakeR53) modelGetChange(ctx context.Context, in *route53.GetChangeInput) (*route53.GetChangeOutput, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id := sdkaws.ToString(in.Id)
	f.polls[id]++
	st := types.ChangeStatusInsync
	if f.polls[id] <= f.pending {
		st = types.ChangeStatusPending
	}
	return &route53.GetChangeOutput{ChangeInfo: &types.ChangeInfo{Id: in.Id, Status: st}}, nil
}

func (f *fakeR53) GetHostedZone(ctx context.Context, in *route53.GetHostedZoneInput, _ ...func(*route53.Options)) (*route53.GetHostedZoneOutput, error) {
	f.count("GetHostedZone")
	if f.getHostedZone != nil {
		return f.getHostedZone(ctx, in)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id := sdkaws.ToString(in.Id)
	if _, ok := f.zones[id]; !ok {
		return nil, noSuchZone(id)
	}
	return &route53.GetHostedZoneOutput{HostedZone: &types.HostedZone{Id: sdkaws.String("/hostedzone/" + id), Name: sdkaws.String("hz1.local.")}}, nil
}
