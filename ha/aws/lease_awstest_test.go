package aws

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/ha/aws/awstest"
)

// leaseSuite is a conformance test of an [ha.Lease], written against the
// interface alone so that any implementation (etcd's, DynamoDB's) can run
// it: Run calls each case as a subtest.
type leaseSuite struct {
	// New returns a Lease on the store the suite shares, as another node
	// would have (its own client).
	New func(t *testing.T) ha.Lease
	// TTL is the ttl of every hold the suite takes.
	TTL time.Duration
	// Slack is how long after a hold's Valid another node may have to
	// wait to take it over (the store's clock skew margin, latency).
	Slack time.Duration
	// Outage, when set, makes the store unreachable (true) and back.
	Outage func(on bool)
}

func (s leaseSuite) Run(t *testing.T) {
	t.Run("AcquireRace", s.acquireRace)
	t.Run("RenewKeepsTheHold", s.renewKeepsTheHold)
	t.Run("ExpiryHandsOver", s.expiryHandsOver)
	t.Run("Arguments", s.arguments)
	if s.Outage != nil {
		t.Run("StoreDown", s.storeDown)
	}
}

func leaseCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// acquireRace: two nodes ask for a fresh key at the same moment, again
// and again: exactly one wins each time, the other is told who.
func (s leaseSuite) acquireRace(t *testing.T) {
	a, b := s.New(t), s.New(t)
	ctx := leaseCtx(t)
	for round := range 10 {
		key := fmt.Sprintf("race-%d-%d", round, time.Now().UnixNano())
		var grants [2]ha.Grant
		var errs [2]error
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, l := range []ha.Lease{a, b} {
			wg.Go(func() {
				<-start
				grants[i], errs[i] = l.Acquire(ctx, key, []string{"node-a", "node-b"}[i], s.TTL)
			})
		}
		close(start)
		wg.Wait()
		won, lost := 0, 1
		if errs[0] != nil {
			won, lost = 1, 0
		}
		require.NoError(t, errs[won], "round %d: nobody won", round)
		require.ErrorIs(t, errs[lost], ha.ErrHeld, "round %d: both won", round)
		g := grants[won]
		assert.Contains(t, errs[lost].Error(), fmt.Sprintf("%q", g.Node), "the loser is told who holds it")
		assert.True(t, g.Live(time.Now()))
		node, epoch, err := a.Holder(ctx, key)
		require.NoError(t, err)
		assert.Equal(t, g.Node, node)
		assert.Equal(t, g.Epoch, epoch)
	}
}

// renewKeepsTheHold: a holder that renews keeps its key past the ttl at
// the same epoch; the node asking again gets its hold back; a release
// frees the key at once for a larger epoch.
func (s leaseSuite) renewKeepsTheHold(t *testing.T) {
	a, b := s.New(t), s.New(t)
	ctx := leaseCtx(t)
	key := fmt.Sprint("renew-", time.Now().UnixNano())
	g, err := a.Acquire(ctx, key, "node-a", s.TTL)
	require.NoError(t, err)
	first := g
	for end := time.Now().Add(2*s.TTL + s.Slack); time.Now().Before(end); {
		time.Sleep(s.TTL / 3)
		before := time.Now()
		g, err = a.Renew(ctx, g)
		require.NoError(t, err)
		assert.Equal(t, first.Epoch, g.Epoch)
		assert.False(t, g.Valid.After(time.Now().Add(s.TTL)), "Valid %s is later than now + ttl", g.Valid)
		assert.False(t, g.Valid.Before(before.Add(s.TTL-time.Second)), "Valid was not extended")
		_, err := b.Acquire(ctx, key, "node-b", s.TTL)
		require.ErrorIs(t, err, ha.ErrHeld)
	}
	again, err := s.New(t).Acquire(ctx, key, "node-a", s.TTL)
	require.NoError(t, err, "the holder asking again (a restart)")
	assert.Equal(t, first.Epoch, again.Epoch)

	require.NoError(t, a.Release(ctx, g))
	node, epoch, err := b.Holder(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, "", node)
	assert.Zero(t, epoch)
	gb, err := b.Acquire(ctx, key, "node-b", s.TTL)
	require.NoError(t, err, "a released key is free at once")
	assert.Greater(t, gb.Epoch, first.Epoch)
	require.NoError(t, a.Release(ctx, g), "releasing a hold already given up")
	node, _, err = b.Holder(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, "node-b", node, "the stale release left b's hold alone")
}

// expiryHandsOver: a holder that stops renewing loses the key, not
// before its Valid; the next holder's epoch is larger; the old holder's
// Renew says ErrLost and its Release changes nothing.
func (s leaseSuite) expiryHandsOver(t *testing.T) {
	a, b := s.New(t), s.New(t)
	ctx := leaseCtx(t)
	key := fmt.Sprint("expiry-", time.Now().UnixNano())
	ga, err := a.Acquire(ctx, key, "node-a", s.TTL)
	require.NoError(t, err)
	var gb ha.Grant
	for {
		gb, err = b.Acquire(ctx, key, "node-b", s.TTL)
		if err == nil {
			break
		}
		require.ErrorIs(t, err, ha.ErrHeld)
		require.True(t, time.Now().Before(ga.Valid.Add(s.Slack+2*time.Second)), "node-b never got the key")
		time.Sleep(50 * time.Millisecond)
	}
	got := time.Now()
	t.Logf("node-b got the key %s after node-a's Valid", got.Sub(ga.Valid).Round(time.Millisecond))
	assert.True(t, got.After(ga.Valid), "node-b got the key before node-a's Valid")
	assert.Greater(t, gb.Epoch, ga.Epoch)

	_, err = a.Renew(ctx, ga)
	assert.ErrorIs(t, err, ha.ErrLost)
	assert.NotErrorIs(t, err, ha.ErrHeld)
	assert.NoError(t, a.Release(ctx, ga), "releasing a lost hold")
	node, epoch, err := a.Holder(ctx, key)
	require.NoError(t, err)
	assert.Equal(t, "node-b", node, "a's release touched b's hold")
	assert.Equal(t, gb.Epoch, epoch)
}

func (s leaseSuite) arguments(t *testing.T) {
	l := s.New(t)
	ctx := leaseCtx(t)
	_, err := l.Acquire(ctx, "", "node-a", s.TTL)
	assert.ErrorContains(t, err, "empty key")
	_, err = l.Acquire(ctx, "k", "", s.TTL)
	assert.ErrorContains(t, err, "empty node name")
	_, err = l.Renew(ctx, ha.Grant{})
	assert.ErrorContains(t, err, "empty key")
	assert.NoError(t, l.Release(ctx, ha.Grant{}), "a zero Grant holds nothing")
	_, _, err = l.Holder(ctx, "")
	assert.ErrorContains(t, err, "empty key")
}

// storeDown: with the store unreachable every call fails with an error
// that is neither ErrHeld nor ErrLost; once it is back the hold is there.
func (s leaseSuite) storeDown(t *testing.T) {
	l := s.New(t)
	ctx := leaseCtx(t)
	key := fmt.Sprint("down-", time.Now().UnixNano())
	g, err := l.Acquire(ctx, key, "node-a", 10*s.TTL)
	require.NoError(t, err)
	s.Outage(true)
	defer s.Outage(false)
	_, err = l.Acquire(ctx, key+"-other", "node-a", s.TTL)
	require.Error(t, err)
	assert.NotErrorIs(t, err, ha.ErrHeld)
	_, err = l.Renew(ctx, g)
	require.Error(t, err)
	assert.NotErrorIs(t, err, ha.ErrLost)
	assert.NotErrorIs(t, err, ha.ErrHeld)
	_, _, err = l.Holder(ctx, key)
	assert.Error(t, err)
	s.Outage(false)
	g2, err := s.New(t).Renew(ctx, g)
	require.NoError(t, err, "the hold outlived the outage")
	assert.Equal(t, g.Epoch, g2.Epoch)
}

const leaseAWSTable = "minato-lease"

// leaseAWSTest returns an awstest server with the lease table, and a
// maker of Leases on it through the real SDK, each with its own clients,
// the given skew and a wall clock offset by *offset.
func leaseAWSTest(t *testing.T, skew time.Duration, offset *atomic.Int64) (*awstest.Server, func(t *testing.T) *Lease) {
	t.Helper()
	srv := awstest.New(awstest.Options{Region: "ap-northeast-1"})
	t.Cleanup(srv.Close)
	srv.AddInstance("i-1", "ap-northeast-1a")
	srv.AddTable(leaseAWSTable, "key")
	return srv, func(t *testing.T) *Lease {
		c := fenceLoad(t, srv, "i-1")
		opts := []Option{}
		if offset != nil {
			opts = append(opts, withClock(func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }))
		}
		l, err := NewLease(c, LeaseConfig{Table: leaseAWSTable, MaxClockSkew: skew}, opts...)
		require.NoError(t, err)
		return l
	}
}

// TestLeaseAWSTestConformance runs the Lease conformance suite on
// DynamoDB through the real SDK.
func TestLeaseAWSTestConformance(t *testing.T) {
	srv, mk := leaseAWSTest(t, 200*time.Millisecond, nil)
	leaseSuite{
		New:    func(t *testing.T) ha.Lease { return mk(t) },
		TTL:    time.Second,
		Slack:  200*time.Millisecond + time.Second,
		Outage: srv.SetOutage,
	}.Run(t)
}

// TestLeaseAWSTestRaceOnExpiredKey: two nodes race for a key whose hold
// expired, 50 times: one winner each time, epochs strictly increasing.
// The wall clock is moved past expiry instead of waiting for it.
func TestLeaseAWSTestRaceOnExpiredKey(t *testing.T) {
	var offset atomic.Int64
	_, mk := leaseAWSTest(t, 500*time.Millisecond, &offset)
	old, a, b := mk(t), mk(t), mk(t)
	ctx := leaseCtx(t)
	const ttl = 2 * time.Second
	g, err := old.Acquire(ctx, "db", "node-old", ttl)
	require.NoError(t, err)
	last := g.Epoch
	wins := map[string]int{}
	for round := range 50 {
		offset.Add(int64(ttl + 500*time.Millisecond + 5*time.Millisecond)) // the last hold expired past the skew (expiries are whole ms, rounded up)
		var grants [2]ha.Grant
		var errs [2]error
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, l := range []*Lease{a, b} {
			wg.Go(func() {
				<-start
				grants[i], errs[i] = l.Acquire(ctx, "db", []string{"node-a", "node-b"}[i], ttl)
			})
		}
		close(start)
		wg.Wait()
		won, lost := 0, 1
		if errs[0] != nil {
			won, lost = 1, 0
		}
		require.NoError(t, errs[won], "round %d: nobody won", round)
		require.ErrorIs(t, errs[lost], ha.ErrHeld, "round %d: both won (epochs %d, %d)", round, grants[0].Epoch, grants[1].Epoch)
		assert.Equal(t, last+1, grants[won].Epoch, "round %d: the epoch grows by one", round)
		last = grants[won].Epoch
		wins[grants[won].Node]++
	}
	t.Logf("wins: %v", wins)
	_, err = old.Renew(ctx, g)
	assert.ErrorIs(t, err, ha.ErrLost, "the first holder is long deposed")
}

// TestLeaseAWSTestTable: what the table holds through a hold's life; the
// item is never deleted and its epoch never decreases; Valid ends no
// later than the expiry written.
func TestLeaseAWSTestTable(t *testing.T) {
	srv, mk := leaseAWSTest(t, 0, nil)
	l := mk(t)
	ctx := leaseCtx(t)
	g, err := l.Acquire(ctx, "c1/web", "node-a", 5*time.Second)
	require.NoError(t, err)
	item := srv.Item(leaseAWSTable, "c1/web")
	require.NotNil(t, item)
	assert.Equal(t, "node-a", item["holder"])
	assert.Equal(t, "1", item["epoch"])
	assert.Equal(t, "5000", item["ttl_ms"])
	expires, err := strconv.ParseInt(item["expires_ms"], 10, 64)
	require.NoError(t, err)
	assert.LessOrEqual(t, g.Valid.UnixMilli(), expires, "Valid ends no later than the expiry written")
	version := item["version"]
	assert.NotEmpty(t, version)

	g, err = l.Renew(ctx, g)
	require.NoError(t, err)
	item = srv.Item(leaseAWSTable, "c1/web")
	assert.NotEqual(t, version, item["version"], "every write a new version")
	expires2, _ := strconv.ParseInt(item["expires_ms"], 10, 64)
	assert.GreaterOrEqual(t, expires2, expires)
	assert.LessOrEqual(t, g.Valid.UnixMilli(), expires2)

	require.NoError(t, l.Release(ctx, g))
	item = srv.Item(leaseAWSTable, "c1/web")
	require.NotNil(t, item, "never deleted")
	assert.Equal(t, "", item["holder"])
	assert.Equal(t, "0", item["expires_ms"])
	assert.Equal(t, "1", item["epoch"], "the epoch survives the release")

	g2, err := l.Acquire(ctx, "c1/web", "node-a", 5*time.Second)
	require.NoError(t, err)
	assert.Equal(t, ha.Epoch(2), g2.Epoch)
	assert.Equal(t, "2", srv.Item(leaseAWSTable, "c1/web")["epoch"])
}

// TestLeaseAWSTestClaim: the etcd lease's Claim contract on DynamoDB: a
// due time is claimed once under the holder's epoch; a deposed epoch
// claims nothing; a new holder claims what was not claimed.
func TestLeaseAWSTestClaim(t *testing.T) {
	srv, mk := leaseAWSTest(t, 0, nil)
	a, b := mk(t), mk(t)
	ctx := leaseCtx(t)
	ga, err := a.Acquire(ctx, "c1/web", "a", 5*time.Second)
	require.NoError(t, err)

	ok, err := a.Claim(ctx, "c1/web", ga.Epoch, "net@T1", time.Hour)
	require.NoError(t, err)
	assert.True(t, ok)
	claim := srv.Item(leaseAWSTable, "c1/web/claim/net@T1")
	require.NotNil(t, claim)
	assert.Equal(t, "done", claim["state"])
	ttl, err := strconv.ParseInt(claim["ttl"], 10, 64)
	require.NoError(t, err)
	assert.InDelta(t, time.Now().Add(time.Hour).Unix(), ttl, 5, "ttl in unix seconds for DynamoDB's TTL")

	ok, err = a.Claim(ctx, "c1/web", ga.Epoch, "net@T1", time.Hour)
	require.NoError(t, err)
	assert.False(t, ok, "claimed once")
	ok, err = b.Claim(ctx, "c1/web", ga.Epoch+1, "net@T2", time.Hour)
	require.NoError(t, err)
	assert.False(t, ok, "an epoch that does not hold the key claims nothing")

	require.NoError(t, a.Release(ctx, ga))
	gb, err := b.Acquire(ctx, "c1/web", "b", 5*time.Second)
	require.NoError(t, err)
	require.Greater(t, gb.Epoch, ga.Epoch)
	ok, err = a.Claim(ctx, "c1/web", ga.Epoch, "net@T2", time.Hour)
	require.NoError(t, err)
	assert.False(t, ok, "the deposed holder's epoch is fenced off")
	ok, err = a.Claim(ctx, "c1/web", ga.Epoch, "net@T3", time.Hour)
	require.NoError(t, err)
	assert.False(t, ok, "the deposed holder's epoch is fenced off, even for a new item")
	ok, err = b.Claim(ctx, "c1/web", gb.Epoch, "net@T1", time.Hour)
	require.NoError(t, err)
	assert.False(t, ok, "T1 ran under the old holder: not again")
	for _, item := range []string{"net@T2", "net@T3"} {
		ok, err = b.Claim(ctx, "c1/web", gb.Epoch, item, time.Hour)
		require.NoError(t, err)
		assert.True(t, ok, "%s: left pending by others, claimed by the holder", item)
	}

	node, epoch, err := b.Holder(ctx, "c1/web")
	require.NoError(t, err)
	assert.Equal(t, "b", node, "claims leave the hold alone")
	assert.Equal(t, gb.Epoch, epoch)

	// Concurrent claims of one item by the holder: exactly one succeeds.
	for round := range 10 {
		item := fmt.Sprint("net@R", round)
		var n atomic.Int32
		var wg sync.WaitGroup
		for range 3 {
			wg.Go(func() {
				ok, err := b.Claim(ctx, "c1/web", gb.Epoch, item, time.Hour)
				assert.NoError(t, err)
				if ok {
					n.Add(1)
				}
			})
		}
		wg.Wait()
		assert.Equal(t, int32(1), n.Load(), "round %d", round)
	}

	srv.SetOutage(true)
	_, err = b.Claim(ctx, "c1/web", gb.Epoch, "net@T9", time.Hour)
	assert.Error(t, err)
	srv.SetOutage(false)
}

// TestLeaseAWSTestCheck: the table check through the real SDK.
func TestLeaseAWSTestCheck(t *testing.T) {
	srv, mk := leaseAWSTest(t, 0, nil)
	require.NoError(t, mk(t).Check(context.Background()))
	srv.AddTable("wrong-key", "id")
	c := fenceLoad(t, srv, "i-1")
	l, err := NewLease(c, LeaseConfig{Table: "wrong-key"})
	require.NoError(t, err)
	assert.ErrorContains(t, l.Check(context.Background()), `aws: lease table wrong-key: key schema is id (HASH); want the partition key "key" of type String`)
	l, err = NewLease(c, LeaseConfig{Table: "missing"})
	require.NoError(t, err)
	assert.ErrorContains(t, l.Check(context.Background()), "aws: lease table missing: not found in region ap-northeast-1")
}

// TestLeaseAWSTestThrottling: throttling within the SDK's attempts is
// absorbed; a renewal throttled until its call times out is an error
// that is neither ErrHeld nor ErrLost (the store is unreachable).
func TestLeaseAWSTestThrottling(t *testing.T) {
	srv, mk := leaseAWSTest(t, 0, nil)
	ctx := leaseCtx(t)
	srv.Throttle("GetItem", 1)
	start := time.Now()
	g, err := mk(t).Acquire(ctx, "web", "node-a", 5*time.Second)
	require.NoError(t, err)
	t.Logf("acquired through one throttled read in %s", time.Since(start).Round(time.Millisecond))
	assert.Equal(t, 2, srv.Calls("GetItem"))

	l, err := NewLease(fenceLoadTimeout(t, srv, "i-1", time.Second), LeaseConfig{Table: leaseAWSTable})
	require.NoError(t, err)
	srv.Throttle("UpdateItem", 10)
	start = time.Now()
	_, err = l.Renew(ctx, g)
	require.Error(t, err)
	t.Logf("renewal throttled for %s: %v", time.Since(start).Round(time.Millisecond), err)
	assert.NotErrorIs(t, err, ha.ErrLost)
	assert.NotErrorIs(t, err, ha.ErrHeld)
	assert.Less(t, time.Since(start), 3*time.Second, "bounded by the call timeout")
}
