package aws

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/ha"
)

// leaseT0 is the fake wall clock of the fake-based lease tests.
var leaseT0 = time.UnixMilli(1_700_000_000_000)

const leaseTTL = 3 * time.Second

// newFakeLease returns a Lease on db whose wall clock reads *now.
func newFakeLease(t *testing.T, db *fakeDDB, now *time.Time) *Lease {
	t.Helper()
	l, err := NewLease(&Clients{dynamo: db, region: "ap-northeast-1", timeout: 2 * time.Second},
		LeaseConfig{Table: "minato-lease"}, withClock(func() time.Time { return *now }))
	require.NoError(t, err)
	return l
}

// leaseHoldItem is a hold item as the table keeps it.
func leaseHoldItem(key, holder string, epoch uint64, expiresMS int64, version string) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{
		"key":        leaseS(key),
		"holder":     leaseS(holder),
		"epoch":      leaseNU(epoch),
		"expires_ms": leaseN(expiresMS),
		"renewed_ms": leaseN(expiresMS - leaseTTL.Milliseconds()),
		"ttl_ms":     leaseN(leaseTTL.Milliseconds()),
		"version":    leaseS(version),
	}
}

// leaseGetReturns answers every GetItem with item (nil: no item).
func leaseGetReturns(item map[string]ddbtypes.AttributeValue) func(*dynamodb.GetItemInput) (*dynamodb.GetItemOutput, error) {
	return func(in *dynamodb.GetItemInput) (*dynamodb.GetItemOutput, error) {
		return &dynamodb.GetItemOutput{Item: item}, nil
	}
}

func leaseAttrSOf(t *testing.T, item map[string]ddbtypes.AttributeValue, name string) string {
	t.Helper()
	v, ok := item[name].(*ddbtypes.AttributeValueMemberS)
	require.True(t, ok, "attribute %s is not a String: %#v", name, item[name])
	return v.Value
}

func leaseAttrNOf(t *testing.T, item map[string]ddbtypes.AttributeValue, name string) int64 {
	t.Helper()
	v, ok := item[name].(*ddbtypes.AttributeValueMemberN)
	require.True(t, ok, "attribute %s is not a Number: %#v", name, item[name])
	n, err := strconv.ParseInt(v.Value, 10, 64)
	require.NoError(t, err)
	return n
}

// TestLeaseAcquireTransitions is the table of Acquire's transitions:
// what is read, what is written under which condition, what comes back.
func TestLeaseAcquireTransitions(t *testing.T) {
	skew := DefaultMaxClockSkew.Milliseconds()
	now := leaseT0.UnixMilli()
	for _, c := range []struct {
		name      string
		item      map[string]ddbtypes.AttributeValue
		wantOp    string // the write, "" for none
		wantCond  string
		wantEpoch ha.Epoch
		wantHeld  string // holder named by the HeldError
	}{
		{name: "absent: created at epoch 1", wantOp: "PutItem", wantCond: "attribute_not_exists(#k)", wantEpoch: 1},
		{name: "held by another, live", item: leaseHoldItem("web", "node-b", 4, now+1000, "v4"), wantHeld: "node-b"},
		{name: "held by another, expired within the skew", item: leaseHoldItem("web", "node-b", 4, now-skew, "v4"), wantHeld: "node-b"},
		{name: "held by another, expired past the skew: taken over", item: leaseHoldItem("web", "node-b", 4, now-skew-1, "v4"),
			wantOp: "PutItem", wantCond: "#v = :seen", wantEpoch: 5},
		{name: "released: taken at epoch+1", item: leaseHoldItem("web", "", 7, 0, "v7"), wantOp: "PutItem", wantCond: "#v = :seen", wantEpoch: 8},
		{name: "own live hold: renewed at its epoch", item: leaseHoldItem("web", "node-a", 3, now+10, "v3"),
			wantOp: "UpdateItem", wantCond: "#h = :me AND #e = :e", wantEpoch: 3},
		{name: "own expired hold: a new epoch", item: leaseHoldItem("web", "node-a", 3, now-1, "v3"), wantOp: "PutItem", wantCond: "#v = :seen", wantEpoch: 4},
	} {
		t.Run(c.name, func(t *testing.T) {
			clock := leaseT0
			db := &fakeDDB{get: leaseGetReturns(c.item),
				put: func(*dynamodb.PutItemInput) (*dynamodb.PutItemOutput, error) { return &dynamodb.PutItemOutput{}, nil },
				update: func(*dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) {
					return &dynamodb.UpdateItemOutput{}, nil
				},
			}
			l := newFakeLease(t, db, &clock)
			before := time.Now()
			g, err := l.Acquire(context.Background(), "web", "node-a", leaseTTL)
			after := time.Now()
			if c.wantHeld != "" {
				require.ErrorIs(t, err, ha.ErrHeld)
				var he *HeldError
				require.ErrorAs(t, err, &he)
				assert.Equal(t, c.wantHeld, he.Holder)
				assert.Equal(t, ha.Epoch(4), he.Epoch)
				assert.Equal(t, "web", he.Key)
				assert.Contains(t, err.Error(), `held by node "node-b" (epoch 4, expires `)
				assert.Equal(t, []string{"GetItem"}, db.ops(), "no write when held")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, []string{"GetItem", c.wantOp}, db.ops())
			assert.Equal(t, c.wantEpoch, g.Epoch)
			assert.Equal(t, int64(c.wantEpoch), g.ID)
			assert.Equal(t, "web", g.Key)
			assert.Equal(t, "node-a", g.Node)
			assert.False(t, g.Valid.Before(before.Add(leaseTTL)), "Valid before the call + ttl")
			assert.False(t, g.Valid.After(after.Add(leaseTTL)), "Valid after the call + ttl")

			get := db.last("GetItem").(*dynamodb.GetItemInput)
			assert.True(t, sdkaws.ToBool(get.ConsistentRead), "the read must be consistent")
			assert.Equal(t, "minato-lease", sdkaws.ToString(get.TableName))
			switch c.wantOp {
			case "PutItem":
				in := db.last("PutItem").(*dynamodb.PutItemInput)
				assert.Equal(t, c.wantCond, sdkaws.ToString(in.ConditionExpression))
				if c.item != nil {
					assert.Equal(t, c.item["version"], in.ExpressionAttributeValues[":seen"], "conditioned on the exact record read")
				}
				assert.Equal(t, "web", leaseAttrSOf(t, in.Item, "key"))
				assert.Equal(t, "node-a", leaseAttrSOf(t, in.Item, "holder"))
				assert.Equal(t, int64(c.wantEpoch), leaseAttrNOf(t, in.Item, "epoch"))
				assert.Equal(t, now+leaseTTL.Milliseconds(), leaseAttrNOf(t, in.Item, "expires_ms"))
				assert.Equal(t, now, leaseAttrNOf(t, in.Item, "renewed_ms"))
				assert.Equal(t, leaseTTL.Milliseconds(), leaseAttrNOf(t, in.Item, "ttl_ms"))
				assert.NotEmpty(t, leaseAttrSOf(t, in.Item, "version"))
				if c.item != nil {
					assert.NotEqual(t, leaseAttrSOf(t, c.item, "version"), leaseAttrSOf(t, in.Item, "version"), "a new version per write")
				}
			case "UpdateItem":
				in := db.last("UpdateItem").(*dynamodb.UpdateItemInput)
				assert.Equal(t, c.wantCond, sdkaws.ToString(in.ConditionExpression))
				assert.Equal(t, leaseS("node-a"), in.ExpressionAttributeValues[":me"])
				assert.Equal(t, leaseNU(uint64(c.wantEpoch)), in.ExpressionAttributeValues[":e"])
				assert.Equal(t, leaseN(now+leaseTTL.Milliseconds()), in.ExpressionAttributeValues[":exp"])
			}
		})
	}
}

// TestLeaseAcquireLostRace: a takeover or creation whose condition fails
// is ErrHeld naming the winner, read from the failed condition's old
// item or, when DynamoDB returned none, read again.
func TestLeaseAcquireLostRace(t *testing.T) {
	now := leaseT0.UnixMilli()
	winner := leaseHoldItem("web", "node-c", 5, now+3000, "v5")
	for _, returned := range []bool{true, false} {
		t.Run(fmt.Sprintf("old item returned %v", returned), func(t *testing.T) {
			clock := leaseT0
			reads := 0
			db := &fakeDDB{
				get: func(*dynamodb.GetItemInput) (*dynamodb.GetItemOutput, error) {
					reads++
					if reads == 1 {
						return &dynamodb.GetItemOutput{Item: leaseHoldItem("web", "node-b", 4, now-5000, "v4")}, nil
					}
					return &dynamodb.GetItemOutput{Item: winner}, nil
				},
				put: func(in *dynamodb.PutItemInput) (*dynamodb.PutItemOutput, error) {
					assert.Equal(t, ddbtypes.ReturnValuesOnConditionCheckFailureAllOld, in.ReturnValuesOnConditionCheckFailure, "asks for the winner")
					if returned {
						return nil, fakeDDBCondFailed(winner)
					}
					return nil, fakeDDBCondFailed(nil)
				},
			}
			l := newFakeLease(t, db, &clock)
			_, err := l.Acquire(context.Background(), "web", "node-a", leaseTTL)
			require.ErrorIs(t, err, ha.ErrHeld)
			assert.NotErrorIs(t, err, ha.ErrLost)
			var he *HeldError
			require.ErrorAs(t, err, &he)
			assert.Equal(t, "node-c", he.Holder)
			assert.Equal(t, ha.Epoch(5), he.Epoch)
			if returned {
				assert.Equal(t, []string{"GetItem", "PutItem"}, db.ops())
			} else {
				assert.Equal(t, []string{"GetItem", "PutItem", "GetItem"}, db.ops())
			}
		})
	}
	// The winner cannot be read back: still ErrHeld, saying so.
	clock := leaseT0
	db := &fakeDDB{
		get: func() func(*dynamodb.GetItemInput) (*dynamodb.GetItemOutput, error) {
			n := 0
			return func(*dynamodb.GetItemInput) (*dynamodb.GetItemOutput, error) {
				if n++; n == 1 {
					return &dynamodb.GetItemOutput{}, nil
				}
				return nil, fakeDDBAPIError("ThrottlingException", "Rate of requests exceeds the allowed throughput.", smithy.FaultClient)
			}
		}(),
		put: func(*dynamodb.PutItemInput) (*dynamodb.PutItemOutput, error) { return nil, fakeDDBCondFailed(nil) },
	}
	_, err := newFakeLease(t, db, &clock).Acquire(context.Background(), "web", "node-a", leaseTTL)
	require.ErrorIs(t, err, ha.ErrHeld)
	assert.EqualError(t, err, "aws: lease web: taken by another node while asked (epoch 0)")
}

// TestLeaseValidFromBeforeTheRequest: Valid is measured from before the
// write was sent, not from its answer: a slow store shortens it.
func TestLeaseValidFromBeforeTheRequest(t *testing.T) {
	clock := leaseT0
	const slow = 300 * time.Millisecond
	db := &fakeDDB{delay: slow, get: leaseGetReturns(nil),
		put: func(*dynamodb.PutItemInput) (*dynamodb.PutItemOutput, error) { return &dynamodb.PutItemOutput{}, nil },
		update: func(*dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) {
			return &dynamodb.UpdateItemOutput{Attributes: leaseHoldItem("web", "node-a", 1, 0, "v")}, nil
		},
	}
	l := newFakeLease(t, db, &clock)
	start := time.Now()
	g, err := l.Acquire(context.Background(), "web", "node-a", leaseTTL)
	require.NoError(t, err)
	end := time.Now()
	require.GreaterOrEqual(t, end.Sub(start), 2*slow)
	// The write was sent after the read (one delay in) and answered one
	// delay later: Valid counts from when it was sent.
	assert.True(t, g.Valid.Before(end.Add(leaseTTL-slow/2)), "Valid %s counts from the answer", g.Valid.Sub(start))
	assert.False(t, g.Valid.Before(start.Add(leaseTTL+slow)), "Valid %s counts from before the read", g.Valid.Sub(start))

	start = time.Now()
	g, err = l.Renew(context.Background(), g)
	require.NoError(t, err)
	end = time.Now()
	assert.True(t, g.Valid.Before(end.Add(leaseTTL-slow/2)), "renewed Valid counts from the answer")
	assert.False(t, g.Valid.Before(start.Add(leaseTTL)))
}

// TestLeaseRenew: the renewal is conditioned on holder and epoch and
// extends by the stored ttl; a deposed holder's renewal is ErrLost,
// saying who holds the key now.
func TestLeaseRenew(t *testing.T) {
	clock := leaseT0
	g := ha.Grant{Key: "web", Node: "node-a", Epoch: 4, ID: 4, Valid: time.Now()}
	var in *dynamodb.UpdateItemInput
	db := &fakeDDB{update: func(u *dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) {
		in = u
		item := leaseHoldItem("web", "node-a", 4, 0, "v")
		item["ttl_ms"] = leaseN(7000)
		return &dynamodb.UpdateItemOutput{Attributes: item}, nil
	}}
	l := newFakeLease(t, db, &clock)
	before := time.Now()
	ng, err := l.Renew(context.Background(), g)
	require.NoError(t, err)
	assert.Equal(t, []string{"UpdateItem"}, db.ops(), "one request")
	assert.Equal(t, "#h = :me AND #e = :e", sdkaws.ToString(in.ConditionExpression))
	assert.Equal(t, "SET #x = #t + :now, #r = :now, #v = :ver", sdkaws.ToString(in.UpdateExpression))
	assert.Equal(t, leaseN(leaseT0.UnixMilli()), in.ExpressionAttributeValues[":now"])
	assert.Equal(t, leaseNU(4), in.ExpressionAttributeValues[":e"])
	assert.Equal(t, ddbtypes.ReturnValueAllNew, in.ReturnValues)
	assert.Equal(t, g.Epoch, ng.Epoch)
	assert.Equal(t, g.ID, ng.ID)
	assert.False(t, ng.Valid.Before(before.Add(7*time.Second)), "extended by the stored ttl")
	assert.False(t, ng.Valid.After(time.Now().Add(7*time.Second)))

	for _, c := range []struct {
		old  map[string]ddbtypes.AttributeValue
		read map[string]ddbtypes.AttributeValue
		want string
	}{
		{old: leaseHoldItem("web", "node-b", 5, 0, "v5"), want: `aws: lease web: renew: ha: hold lost: now held by node "node-b" (epoch 5)`},
		{read: leaseHoldItem("web", "", 4, 0, "v4"), want: "aws: lease web: renew: ha: hold lost: released (epoch 4)"},
		{want: "aws: lease web: renew: ha: hold lost: the item was deleted"},
	} {
		db := &fakeDDB{
			update: func(*dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) {
				return nil, fakeDDBCondFailed(c.old)
			},
			get: leaseGetReturns(c.read),
		}
		_, err := newFakeLease(t, db, &clock).Renew(context.Background(), g)
		require.ErrorIs(t, err, ha.ErrLost)
		assert.NotErrorIs(t, err, ha.ErrHeld)
		assert.EqualError(t, err, c.want)
	}

	// An answer without the ttl cannot give a Valid: an error, not a
	// Grant that might be too long.
	db = &fakeDDB{update: func(*dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) {
		return &dynamodb.UpdateItemOutput{}, nil
	}}
	_, err = newFakeLease(t, db, &clock).Renew(context.Background(), g)
	require.Error(t, err)
	assert.NotErrorIs(t, err, ha.ErrLost)
	assert.ErrorContains(t, err, "could not be read back")
}

// TestLeaseRelease: the release keeps the item and its epoch, clears the
// holder and the expiry, under the holder's condition; a hold already
// lost is not an error.
func TestLeaseRelease(t *testing.T) {
	clock := leaseT0
	g := ha.Grant{Key: "web", Node: "node-a", Epoch: 9, ID: 9}
	var in *dynamodb.UpdateItemInput
	db := &fakeDDB{update: func(u *dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) {
		in = u
		return &dynamodb.UpdateItemOutput{}, nil
	}}
	l := newFakeLease(t, db, &clock)
	require.NoError(t, l.Release(context.Background(), g))
	assert.Equal(t, []string{"UpdateItem"}, db.ops(), "never DeleteItem: the epoch must survive")
	assert.Equal(t, "SET #h = :none, #x = :zero, #r = :now, #v = :ver", sdkaws.ToString(in.UpdateExpression))
	assert.Equal(t, "#h = :me AND #e = :e", sdkaws.ToString(in.ConditionExpression))
	assert.Equal(t, leaseS(""), in.ExpressionAttributeValues[":none"])
	assert.Equal(t, leaseN(0), in.ExpressionAttributeValues[":zero"])
	assert.Equal(t, leaseNU(9), in.ExpressionAttributeValues[":e"])
	assert.NotContains(t, sdkaws.ToString(in.UpdateExpression), "#e", "the epoch is kept")

	db.update = func(*dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) {
		return nil, fakeDDBCondFailed(nil)
	}
	assert.NoError(t, l.Release(context.Background(), g), "already lost")
	assert.NoError(t, l.Release(context.Background(), ha.Grant{}), "a zero Grant holds nothing")
	assert.Len(t, db.ops(), 2, "a zero Grant makes no call")

	db.update = func(*dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) {
		return nil, fakeDDBAPIError("InternalServerError", "Internal server error", smithy.FaultServer)
	}
	err := l.Release(context.Background(), g)
	require.Error(t, err)
	assert.ErrorContains(t, err, "aws: lease web: release: ")
}

// TestLeaseHolder: a hold counts until MaxClockSkew after its expiry;
// released, expired or absent is nobody at epoch 0.
func TestLeaseHolder(t *testing.T) {
	now := leaseT0.UnixMilli()
	skew := DefaultMaxClockSkew.Milliseconds()
	for _, c := range []struct {
		item  map[string]ddbtypes.AttributeValue
		node  string
		epoch ha.Epoch
	}{
		{nil, "", 0},
		{leaseHoldItem("web", "node-b", 3, now+1, "v"), "node-b", 3},
		{leaseHoldItem("web", "node-b", 3, now-skew, "v"), "node-b", 3},
		{leaseHoldItem("web", "node-b", 3, now-skew-1, "v"), "", 0},
		{leaseHoldItem("web", "", 3, 0, "v"), "", 0},
	} {
		clock := leaseT0
		db := &fakeDDB{get: leaseGetReturns(c.item)}
		node, epoch, err := newFakeLease(t, db, &clock).Holder(context.Background(), "web")
		require.NoError(t, err)
		assert.Equal(t, c.node, node)
		assert.Equal(t, c.epoch, epoch)
	}
}

// TestLeaseSkew: a larger MaxClockSkew delays the takeover by exactly as
// much, measured on the contender's clock.
func TestLeaseSkew(t *testing.T) {
	expires := leaseT0.UnixMilli()
	db := &fakeDDB{get: leaseGetReturns(leaseHoldItem("web", "node-b", 2, expires, "v2")),
		put: func(*dynamodb.PutItemInput) (*dynamodb.PutItemOutput, error) { return &dynamodb.PutItemOutput{}, nil }}
	var clock time.Time
	l, err := NewLease(&Clients{dynamo: db}, LeaseConfig{Table: "t-1", MaxClockSkew: 5 * time.Second},
		withClock(func() time.Time { return clock }))
	require.NoError(t, err)
	for _, c := range []struct {
		after time.Duration
		held  bool
	}{{0, true}, {4999 * time.Millisecond, true}, {5 * time.Second, true}, {5001 * time.Millisecond, false}} {
		clock = time.UnixMilli(expires).Add(c.after)
		g, err := l.Acquire(context.Background(), "web", "node-a", leaseTTL)
		if c.held {
			assert.ErrorIs(t, err, ha.ErrHeld, "%s after expiry", c.after)
		} else {
			require.NoError(t, err, "%s after expiry", c.after)
			assert.Equal(t, ha.Epoch(3), g.Epoch)
		}
	}
}

// TestLeaseStoreErrors: throttling, an outage or a timeout is an error
// that is neither ErrHeld nor ErrLost: the store is unreachable, not
// saying no.
func TestLeaseStoreErrors(t *testing.T) {
	throttle := fakeDDBAPIError("ThrottlingException", "Rate of requests exceeds the allowed throughput.", smithy.FaultClient)
	outage := fakeDDBAPIError("ServiceUnavailable", "Service Unavailable", smithy.FaultServer)
	g := ha.Grant{Key: "web", Node: "node-a", Epoch: 2, ID: 2}
	for _, storeErr := range []error{throttle, outage} {
		clock := leaseT0
		fail := func() error { return storeErr }
		for name, db := range map[string]*fakeDDB{
			"read":  {get: func(*dynamodb.GetItemInput) (*dynamodb.GetItemOutput, error) { return nil, fail() }},
			"write": {get: leaseGetReturns(nil), put: func(*dynamodb.PutItemInput) (*dynamodb.PutItemOutput, error) { return nil, fail() }},
		} {
			_, err := newFakeLease(t, db, &clock).Acquire(context.Background(), "web", "node-a", leaseTTL)
			require.Error(t, err, name)
			assert.NotErrorIs(t, err, ha.ErrHeld, name)
			assert.NotErrorIs(t, err, ha.ErrLost, name)
			assert.ErrorIs(t, err, storeErr, name)
		}
		db := &fakeDDB{
			update: func(*dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) { return nil, fail() },
			get:    func(*dynamodb.GetItemInput) (*dynamodb.GetItemOutput, error) { return nil, fail() },
			put:    func(*dynamodb.PutItemInput) (*dynamodb.PutItemOutput, error) { return nil, fail() },
		}
		l := newFakeLease(t, db, &clock)
		_, err := l.Renew(context.Background(), g)
		assert.ErrorIs(t, err, storeErr)
		assert.NotErrorIs(t, err, ha.ErrLost)
		assert.NotErrorIs(t, err, ha.ErrHeld)
		assert.ErrorIs(t, l.Release(context.Background(), g), storeErr)
		_, _, err = l.Holder(context.Background(), "web")
		assert.ErrorIs(t, err, storeErr)
		_, err = l.Claim(context.Background(), "web", 2, "net@T1", time.Hour)
		assert.ErrorIs(t, err, storeErr)
	}

	// A store that does not answer: the per-call timeout ends the wait.
	clock := leaseT0
	db := &fakeDDB{delay: time.Hour, get: leaseGetReturns(nil)}
	l, err := NewLease(&Clients{dynamo: db, timeout: 100 * time.Millisecond}, LeaseConfig{Table: "tbl"},
		withClock(func() time.Time { return clock }))
	require.NoError(t, err)
	start := time.Now()
	_, err = l.Acquire(context.Background(), "web", "node-a", leaseTTL)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotErrorIs(t, err, ha.ErrHeld)
	assert.Less(t, time.Since(start), 2*time.Second)
}

// TestLeaseMalformedItem: an item another program wrote is refused with
// the attribute named, never taken for a hold.
func TestLeaseMalformedItem(t *testing.T) {
	for attr, v := range map[string]ddbtypes.AttributeValue{
		"holder":     leaseN(1),
		"epoch":      leaseS("x"),
		"expires_ms": leaseS("soon"),
		"ttl_ms":     &ddbtypes.AttributeValueMemberN{Value: "1.5"},
	} {
		item := leaseHoldItem("web", "node-b", 2, leaseT0.UnixMilli(), "v")
		item[attr] = v
		clock := leaseT0
		db := &fakeDDB{get: leaseGetReturns(item)}
		_, err := newFakeLease(t, db, &clock).Acquire(context.Background(), "web", "node-a", leaseTTL)
		require.Error(t, err, attr)
		assert.ErrorContains(t, err, fmt.Sprintf("attribute %q", attr))
		assert.NotErrorIs(t, err, ha.ErrHeld)
		assert.Equal(t, []string{"GetItem"}, db.ops())
	}
	// epoch 0 would let the next hold repeat epoch 1.
	item := leaseHoldItem("web", "", 0, 0, "v")
	clock := leaseT0
	_, err := newFakeLease(t, &fakeDDB{get: leaseGetReturns(item)}, &clock).Acquire(context.Background(), "web", "node-a", leaseTTL)
	assert.ErrorContains(t, err, `attribute "epoch": want a Number from 1`)
}

func TestLeaseArguments(t *testing.T) {
	clock := leaseT0
	db := &fakeDDB{}
	l := newFakeLease(t, db, &clock)
	ctx := context.Background()
	_, err := l.Acquire(ctx, "", "node-a", leaseTTL)
	assert.EqualError(t, err, "aws: lease: empty key")
	_, err = l.Acquire(ctx, "web", "", leaseTTL)
	assert.EqualError(t, err, "aws: lease web: empty node name")
	_, err = l.Acquire(ctx, "web/claim/x", "node-a", leaseTTL)
	assert.ErrorContains(t, err, `must not contain "/claim/"`)
	_, err = l.Acquire(ctx, "web", "node-a", 50*time.Millisecond)
	assert.EqualError(t, err, "aws: lease web: ttl 50ms: want 100ms or more")
	_, err = l.Renew(ctx, ha.Grant{})
	assert.EqualError(t, err, "aws: lease: empty key")
	_, _, err = l.Holder(ctx, "")
	assert.EqualError(t, err, "aws: lease: empty key")
	_, err = l.Claim(ctx, "web", 1, "", time.Hour)
	assert.EqualError(t, err, "aws: lease: claim: empty key or item")
	assert.Empty(t, db.ops(), "refused before any request")

	_, err = NewLease(nil, LeaseConfig{Table: "tbl"})
	assert.ErrorContains(t, err, "no DynamoDB client")
	_, err = NewLease(&Clients{dynamo: db}, LeaseConfig{})
	assert.EqualError(t, err, `aws: lease: table: empty; want the name of a DynamoDB table whose partition key is "key" (String)`)
}

func TestLeaseConfigValidate(t *testing.T) {
	assert.Equal(t, LeaseConfig{Table: "t1x", MaxClockSkew: 250 * time.Millisecond}, LeaseConfig{Table: "t1x"}.WithDefaults())
	for _, c := range []struct {
		cfg  LeaseConfig
		want []string
	}{
		{LeaseConfig{Table: "minato-lease"}, nil},
		{LeaseConfig{Table: "a.b_c-1", MaxClockSkew: 5 * time.Minute}, nil},
		{LeaseConfig{Table: "arn:aws:dynamodb:ap-northeast-1:123456789012:table/minato"}, nil},
		{LeaseConfig{}, []string{"table: empty"}},
		{LeaseConfig{Table: "ab"}, []string{`table: "ab": want 3 to 255 letters`}},
		{LeaseConfig{Table: "has space"}, []string{`table: "has space"`}},
		{LeaseConfig{Table: strings.Repeat("x", 256)}, []string{"want 3 to 255"}},
		{LeaseConfig{Table: "arn:aws:s3:::bucket"}, []string{"not a DynamoDB table ARN"}},
		{LeaseConfig{Table: "tbl", MaxClockSkew: -time.Second}, []string{"max_clock_skew: -1s: want 0 to 5m0s (0 for the default 250ms)"}},
		{LeaseConfig{MaxClockSkew: time.Hour}, []string{"table: empty", "max_clock_skew: 1h0m0s"}},
	} {
		err := c.cfg.Validate()
		if c.want == nil {
			assert.NoError(t, err, "%+v", c.cfg)
			continue
		}
		for _, w := range c.want {
			assert.ErrorContains(t, err, w, "%+v", c.cfg)
		}
	}
}

// TestLeaseClaim: a claim is written pending, the hold is checked at
// the epoch, and the claim is confirmed under its token.
func TestLeaseClaim(t *testing.T) {
	now := leaseT0.UnixMilli()
	live := leaseHoldItem("c1/web", "node-a", 6, now+2000, "v")
	type step struct {
		putErr    error
		hold      map[string]ddbtypes.AttributeValue
		confirmed error
	}
	for _, c := range []struct {
		name string
		step
		want bool
		ops  []string
	}{
		{"claimed", step{hold: live}, true, []string{"PutItem", "GetItem", "UpdateItem"}},
		{"claimed already", step{putErr: fakeDDBCondFailed(nil)}, false, []string{"PutItem"}},
		{"hold at another epoch", step{hold: leaseHoldItem("c1/web", "node-b", 7, now+2000, "v")}, false, []string{"PutItem", "GetItem"}},
		{"hold released", step{hold: leaseHoldItem("c1/web", "", 6, 0, "v")}, false, []string{"PutItem", "GetItem"}},
		{"hold expired by our clock", step{hold: leaseHoldItem("c1/web", "node-a", 6, now-1, "v")}, false, []string{"PutItem", "GetItem"}},
		{"no hold", step{}, false, []string{"PutItem", "GetItem"}},
		{"taken over before the confirmation", step{hold: live, confirmed: fakeDDBCondFailed(nil)}, false, []string{"PutItem", "GetItem", "UpdateItem"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			clock := leaseT0
			var put *dynamodb.PutItemInput
			var upd *dynamodb.UpdateItemInput
			db := &fakeDDB{
				put: func(in *dynamodb.PutItemInput) (*dynamodb.PutItemOutput, error) {
					put = in
					return &dynamodb.PutItemOutput{}, c.putErr
				},
				get: func(in *dynamodb.GetItemInput) (*dynamodb.GetItemOutput, error) {
					assert.Equal(t, leaseKeyOf("c1/web"), in.Key, "reads the hold")
					return &dynamodb.GetItemOutput{Item: c.hold}, nil
				},
				update: func(in *dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) {
					upd = in
					return &dynamodb.UpdateItemOutput{}, c.confirmed
				},
			}
			ok, err := newFakeLease(t, db, &clock).Claim(context.Background(), "c1/web", 6, "net@2026-01-02T03:04:00Z", 24*time.Hour)
			require.NoError(t, err)
			assert.Equal(t, c.want, ok)
			assert.Equal(t, c.ops, db.ops())
			assert.Equal(t, "c1/web/claim/net@2026-01-02T03:04:00Z", leaseAttrSOf(t, put.Item, "key"))
			assert.Equal(t, "pending", leaseAttrSOf(t, put.Item, "state"))
			assert.Equal(t, int64(6), leaseAttrNOf(t, put.Item, "epoch"))
			assert.Equal(t, leaseT0.Add(24*time.Hour).Unix(), leaseAttrNOf(t, put.Item, "ttl"), "DynamoDB TTL: unix seconds")
			assert.Equal(t, "attribute_not_exists(#k) OR (#st = :pending AND #e <= :e)", sdkaws.ToString(put.ConditionExpression))
			if upd != nil {
				assert.Equal(t, leaseKeyOf("c1/web/claim/net@2026-01-02T03:04:00Z"), upd.Key)
				assert.Equal(t, "#tok = :tok", sdkaws.ToString(upd.ConditionExpression))
				assert.Equal(t, put.Item["token"], upd.ExpressionAttributeValues[":tok"], "confirmed under this attempt's token")
				assert.Equal(t, leaseS("done"), upd.ExpressionAttributeValues[":done"])
			}
		})
	}
	// keep is at least a minute.
	clock := leaseT0
	var put *dynamodb.PutItemInput
	db := &fakeDDB{put: func(in *dynamodb.PutItemInput) (*dynamodb.PutItemOutput, error) {
		put = in
		return nil, fakeDDBCondFailed(nil)
	}}
	_, err := newFakeLease(t, db, &clock).Claim(context.Background(), "k", 1, "i", time.Second)
	require.NoError(t, err)
	assert.Equal(t, leaseT0.Add(time.Minute).Unix(), leaseAttrNOf(t, put.Item, "ttl"))
}

// TestLeaseCheck: the table must exist with the partition key "key" of
// type String and no sort key.
func TestLeaseCheck(t *testing.T) {
	table := func(status ddbtypes.TableStatus, keys []ddbtypes.KeySchemaElement, defs ...ddbtypes.AttributeDefinition) func(*dynamodb.DescribeTableInput) (*dynamodb.DescribeTableOutput, error) {
		return func(in *dynamodb.DescribeTableInput) (*dynamodb.DescribeTableOutput, error) {
			return &dynamodb.DescribeTableOutput{Table: &ddbtypes.TableDescription{TableName: in.TableName, TableStatus: status, KeySchema: keys, AttributeDefinitions: defs}}, nil
		}
	}
	hash := func(name string) ddbtypes.KeySchemaElement {
		return ddbtypes.KeySchemaElement{AttributeName: sdkaws.String(name), KeyType: ddbtypes.KeyTypeHash}
	}
	def := func(name string, typ ddbtypes.ScalarAttributeType) ddbtypes.AttributeDefinition {
		return ddbtypes.AttributeDefinition{AttributeName: sdkaws.String(name), AttributeType: typ}
	}
	notFound := "Requested resource not found"
	for _, c := range []struct {
		describe func(*dynamodb.DescribeTableInput) (*dynamodb.DescribeTableOutput, error)
		want     string
	}{
		{table(ddbtypes.TableStatusActive, []ddbtypes.KeySchemaElement{hash("key")}, def("key", ddbtypes.ScalarAttributeTypeS)), ""},
		{table(ddbtypes.TableStatusActive, []ddbtypes.KeySchemaElement{hash("id")}, def("id", ddbtypes.ScalarAttributeTypeS)),
			`aws: lease table minato-lease: key schema is id (HASH); want the partition key "key" of type String and no sort key`},
		{table(ddbtypes.TableStatusActive, []ddbtypes.KeySchemaElement{hash("key"), {AttributeName: sdkaws.String("at"), KeyType: ddbtypes.KeyTypeRange}}),
			`key schema is key (HASH), at (RANGE)`},
		{table(ddbtypes.TableStatusActive, []ddbtypes.KeySchemaElement{hash("key")}, def("key", ddbtypes.ScalarAttributeTypeN)),
			`the partition key "key" is of type N`},
		{table(ddbtypes.TableStatusDeleting, []ddbtypes.KeySchemaElement{hash("key")}, def("key", ddbtypes.ScalarAttributeTypeS)),
			"status DELETING; want ACTIVE"},
		{func(*dynamodb.DescribeTableInput) (*dynamodb.DescribeTableOutput, error) {
			return nil, &ddbtypes.ResourceNotFoundException{Message: &notFound}
		}, `aws: lease table minato-lease: not found in region ap-northeast-1; create it with the partition key "key" of type String and no sort key, and enable Time to Live on the attribute "ttl"`},
		{func(*dynamodb.DescribeTableInput) (*dynamodb.DescribeTableOutput, error) {
			return nil, fakeDDBAPIError("AccessDeniedException", "User is not authorized to perform: dynamodb:DescribeTable", smithy.FaultClient)
		}, "aws: lease table minato-lease: describe: "},
	} {
		clock := leaseT0
		err := newFakeLease(t, &fakeDDB{describe: c.describe}, &clock).Check(context.Background())
		if c.want == "" {
			assert.NoError(t, err)
			continue
		}
		assert.ErrorContains(t, err, c.want)
	}
}

// TestLeaseConcurrentUse: the Lease is safe for concurrent use (run
// with -race).
func TestLeaseConcurrentUse(t *testing.T) {
	clock := leaseT0
	db := &fakeDDB{get: leaseGetReturns(nil),
		put: func(*dynamodb.PutItemInput) (*dynamodb.PutItemOutput, error) { return &dynamodb.PutItemOutput{}, nil },
		update: func(*dynamodb.UpdateItemInput) (*dynamodb.UpdateItemOutput, error) {
			return &dynamodb.UpdateItemOutput{Attributes: leaseHoldItem("k", "n", 1, 0, "v")}, nil
		}}
	l := newFakeLease(t, db, &clock)
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			g, err := l.Acquire(context.Background(), fmt.Sprint("k", i), "n", time.Second)
			if assert.NoError(t, err) {
				_, err = l.Renew(context.Background(), g)
				assert.NoError(t, err)
				assert.NoError(t, l.Release(context.Background(), g))
			}
		})
	}
	wg.Wait()
	assert.Len(t, db.ops(), 32)
}

// ExampleNewLease holds the key of group "web" for node-a on the
// DynamoDB table "minato-lease", renewing it while the group runs. It
// needs AWS, so it is compiled but not run.
func ExampleNewLease() {
	ctx := context.Background()
	clients, err := Load(ctx, Config{Region: "ap-northeast-1"})
	if err != nil {
		fmt.Println(err)
		return
	}
	lease, err := NewLease(clients, LeaseConfig{Table: "minato-lease"})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := lease.Check(ctx); err != nil {
		fmt.Println(err) // the table is missing or keyed otherwise
		return
	}
	g, err := lease.Acquire(ctx, "web", "node-a", 10*time.Second)
	var held *HeldError
	if errors.As(err, &held) {
		fmt.Println("web runs on", held.Holder)
		return
	}
	if err != nil {
		fmt.Println("DynamoDB unreachable:", err)
		return
	}
	// Act under the epoch (the fencing token) while the hold is valid.
	ctx = ha.WithEpoch(ctx, g.Epoch)
	for g.Live(time.Now()) {
		time.Sleep(3 * time.Second)
		next, err := lease.Renew(ctx, g)
		if errors.Is(err, ha.ErrLost) {
			break // another node holds it now: stop at once
		}
		if err == nil {
			g = next
		} // else: unknown; keep acting only until g.Valid
	}
	_ = lease.Release(context.Background(), g)
}

func ExampleLeaseConfig_Validate() {
	cfg := LeaseConfig{Table: "ha", MaxClockSkew: -time.Second}
	fmt.Println(cfg.Validate())
	// Output:
	// table: "ha": want 3 to 255 letters, digits, '_', '-' or '.'
	// max_clock_skew: -1s: want 0 to 5m0s (0 for the default 250ms)
}

func ExampleHeldError() {
	var err error = &HeldError{Key: "c1/web", Holder: "node-b", Epoch: 42, Expires: time.UnixMilli(1767225600000)}
	fmt.Println(err)
	fmt.Println(errors.Is(err, ha.ErrHeld))
	// Output:
	// aws: lease c1/web: held by node "node-b" (epoch 42, expires 2026-01-01T00:00:00.000Z)
	// true
}

// FuzzLeaseParse: whatever another program left in the table, reading
// it never panics, and what is accepted is a usable hold (epoch from 1).
func FuzzLeaseParse(f *testing.F) {
	f.Add("node-a", "1", "1700000000000", "3000", "v1", uint8(0))
	f.Add("", "18446744073709551615", "0", "", "", uint8(0))
	f.Add("x", "0", "-5", "1.5", "v", uint8(0x0f))
	f.Add("x", "1e3", "9223372036854775808", "0x10", "v", uint8(0xff))
	f.Fuzz(func(t *testing.T, holder, epoch, expires, ttl, version string, kinds uint8) {
		// Each bit of kinds writes one attribute with the other type.
		val := func(bit uint8, s string, num bool) ddbtypes.AttributeValue {
			if (kinds&bit != 0) == num {
				return &ddbtypes.AttributeValueMemberS{Value: s}
			}
			return &ddbtypes.AttributeValueMemberN{Value: s}
		}
		item := map[string]ddbtypes.AttributeValue{
			"holder":     val(1, holder, false),
			"epoch":      val(2, epoch, true),
			"expires_ms": val(4, expires, true),
			"version":    val(16, version, false),
		}
		if ttl != "" {
			item["ttl_ms"] = val(8, ttl, true)
		}
		if kinds&32 != 0 {
			delete(item, "epoch")
		}
		r, err := leaseParse("tbl", "k", item)
		if err != nil {
			if !strings.Contains(err.Error(), "attribute ") {
				t.Fatalf("error without the attribute: %v", err)
			}
			return
		}
		if r.epoch == 0 {
			t.Fatalf("accepted epoch 0 from %q", epoch)
		}
		if r.holder != holder {
			t.Fatalf("holder %q, want %q", r.holder, holder)
		}
		_ = r.held(0, time.Second)
		_ = r.expires()
	})
}

// TestLeaseMS: expiries are rounded up to the millisecond, never down.
func TestLeaseMS(t *testing.T) {
	assert.Equal(t, int64(5), leaseMS(time.UnixMilli(5)))
	assert.Equal(t, int64(6), leaseMS(time.UnixMilli(5).Add(time.Nanosecond)))
	assert.Equal(t, int64(6), leaseMS(time.UnixMilli(5).Add(999*time.Microsecond)))
	assert.Equal(t, int64(-4), leaseMS(time.UnixMilli(-5).Add(time.Nanosecond)))
}

// A HeldError tells when the hold becomes takeable on this node's
// monotonic clock: its expiry plus the skew allowance.
func TestHeldErrorRetryAt(t *testing.T) {
	l := &Lease{skew: 250 * time.Millisecond, now: time.Now}
	exp := time.Now().Add(time.Second)
	e := l.heldError("k", leaseRecord{holder: "n1", epoch: 3, expiresMS: exp.UnixMilli()})
	got := time.Until(e.RetryAt())
	if got < time.Second || got > 1300*time.Millisecond {
		t.Errorf("RetryAt in %s, want about 1.25 s", got)
	}
	if !(&HeldError{}).RetryAt().IsZero() {
		t.Error("an expiry unknown gives a zero RetryAt")
	}
}
