package etcd_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/ha/etcd"
	"github.com/minato-ops/minato/ha/etcd/etcdtest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// ttl is the shortest lease etcd grants with its default timing (its
// minimum is 1.5 × the election timeout, rounded up to whole seconds).
const ttl = 2 * time.Second

func newLease(t *testing.T, srv *etcdtest.Server, mod ...func(*etcd.Config)) *etcd.Lease {
	t.Helper()
	cfg := etcd.DefaultConfig()
	cfg.Endpoints = []string{srv.Endpoint}
	cfg.RequestTimeout = 3 * time.Second
	for _, m := range mod {
		m(&cfg)
	}
	l, err := etcd.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// rawClient is an etcd client of the test's own, to look at and change
// what the Lease keeps behind its back.
func rawClient(t *testing.T, srv *etcdtest.Server) *clientv3.Client {
	t.Helper()
	c, err := clientv3.New(clientv3.Config{Endpoints: []string{srv.Endpoint}, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// TestAcquireRace: two nodes ask for the same key at the same moment,
// again and again: exactly one wins each time, the other is told who.
func TestAcquireRace(t *testing.T) {
	srv := etcdtest.Start(t)
	a, b := newLease(t, srv), newLease(t, srv)
	ctx := ctxT(t)
	for round := range 10 {
		key := fmt.Sprintf("race-%d", round)
		var grants [2]ha.Grant
		var errs [2]error
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, l := range []*etcd.Lease{a, b} {
			wg.Go(func() {
				<-start
				grants[i], errs[i] = l.Acquire(ctx, key, []string{"node-a", "node-b"}[i], ttl)
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
		var held *etcd.HeldError
		require.ErrorAs(t, errs[lost], &held)
		g := grants[won]
		assert.Equal(t, g.Node, held.Holder)
		assert.Equal(t, g.Epoch, held.Epoch)
		assert.Equal(t, key, held.Key)
		assert.Contains(t, errs[lost].Error(), fmt.Sprintf("held by node %q", g.Node))

		node, epoch, err := a.Holder(ctx, key)
		require.NoError(t, err)
		assert.Equal(t, g.Node, node)
		assert.Equal(t, g.Epoch, epoch)
		assert.NotZero(t, g.ID)
		assert.True(t, g.Live(time.Now()))
	}
}

// TestRenewKeepsTheHold: a holder that renews keeps its key past the
// ttl, at the same epoch, and nobody else gets it.
func TestRenewKeepsTheHold(t *testing.T) {
	srv := etcdtest.Start(t)
	a, b := newLease(t, srv), newLease(t, srv)
	ctx := ctxT(t)
	g, err := a.Acquire(ctx, "web", "node-a", ttl)
	require.NoError(t, err)
	first := g
	end := time.Now().Add(2*ttl + 500*time.Millisecond)
	for time.Now().Before(end) {
		time.Sleep(ttl / 3)
		before := time.Now()
		g, err = a.Renew(ctx, g)
		require.NoError(t, err)
		assert.Equal(t, first.Epoch, g.Epoch)
		assert.Equal(t, first.ID, g.ID)
		assert.False(t, g.Valid.After(time.Now().Add(ttl)), "Valid %s is later than now + ttl", g.Valid)
		assert.True(t, g.Valid.After(before.Add(ttl-time.Second)), "Valid was not extended")

		_, err := b.Acquire(ctx, "web", "node-b", ttl)
		require.ErrorIs(t, err, ha.ErrHeld)
	}
	// The node asking again (say, after a restart) gets its hold back.
	again, err := newLease(t, srv).Acquire(ctx, "web", "node-a", ttl)
	require.NoError(t, err)
	assert.Equal(t, first.Epoch, again.Epoch)
	assert.Equal(t, first.ID, again.ID)

	require.NoError(t, a.Release(ctx, g))
	node, epoch, err := b.Holder(ctx, "web")
	require.NoError(t, err)
	assert.Equal(t, "", node)
	assert.Zero(t, epoch)
	gb, err := b.Acquire(ctx, "web", "node-b", ttl)
	require.NoError(t, err, "a released key is free at once")
	assert.Greater(t, gb.Epoch, first.Epoch)
	require.NoError(t, a.Release(ctx, g), "releasing a hold already given up")
}

// TestExpiryHandsOver: a holder that stops renewing loses the key after
// its ttl, not before its Valid; the next holder's epoch is larger; the
// old holder's Renew says ErrLost; and Valid never ends after etcd's own
// expiry (when etcd deletes the key).
func TestExpiryHandsOver(t *testing.T) {
	srv := etcdtest.Start(t)
	a, b, raw := newLease(t, srv), newLease(t, srv), rawClient(t, srv)
	ctx := ctxT(t)
	for _, renewFirst := range []bool{false, true} {
		key := fmt.Sprintf("db-%v", renewFirst)
		wctx, stopWatch := context.WithCancel(ctx)
		deleted := make(chan time.Time, 1)
		watch := raw.Watch(wctx, etcd.DefaultPrefix+key)

		ga, err := a.Acquire(ctx, key, "node-a", ttl)
		require.NoError(t, err)
		if renewFirst {
			time.Sleep(ttl / 2)
			ga, err = a.Renew(ctx, ga)
			require.NoError(t, err)
		}
		go func() {
			for resp := range watch {
				for _, ev := range resp.Events {
					if ev.Type == clientv3.EventTypeDelete {
						deleted <- time.Now()
						return
					}
				}
			}
		}()

		var gb ha.Grant
		for {
			gb, err = b.Acquire(ctx, key, "node-b", ttl)
			if err == nil {
				break
			}
			require.ErrorIs(t, err, ha.ErrHeld)
			require.True(t, time.Now().Before(ga.Valid.Add(5*time.Second)), "node-b never got the key")
			time.Sleep(50 * time.Millisecond)
		}
		got := time.Now()
		var gone time.Time
		select {
		case gone = <-deleted:
		case <-time.After(5 * time.Second):
			t.Fatal("no delete event")
		}
		stopWatch()
		t.Logf("renewed first: %v; etcd deleted the key %s after Valid; node-b got it %s after Valid",
			renewFirst, gone.Sub(ga.Valid).Round(time.Millisecond), got.Sub(ga.Valid).Round(time.Millisecond))
		assert.True(t, ga.Valid.Before(gone), "Valid %s is after etcd's expiry %s", ga.Valid.Format(time.StampMilli), gone.Format(time.StampMilli))
		assert.True(t, got.After(ga.Valid), "node-b got the key at %s, before node-a's Valid %s", got.Format(time.StampMilli), ga.Valid.Format(time.StampMilli))
		assert.Greater(t, gb.Epoch, ga.Epoch)
		assert.NotEqual(t, ga.ID, gb.ID)

		_, err = a.Renew(ctx, ga)
		assert.ErrorIs(t, err, ha.ErrLost)
		assert.NotErrorIs(t, err, ha.ErrHeld)
		assert.NoError(t, a.Release(ctx, ga), "releasing a lost hold")
		node, epoch, err := a.Holder(ctx, key)
		require.NoError(t, err)
		assert.Equal(t, "node-b", node, "a's release touched b's hold")
		assert.Equal(t, gb.Epoch, epoch)
	}
}

// TestShortTTL: a ttl below etcd's minimum is raised by etcd, while Valid
// keeps to the ttl asked for.
func TestShortTTL(t *testing.T) {
	srv := etcdtest.Start(t)
	l, raw := newLease(t, srv), rawClient(t, srv)
	ctx := ctxT(t)
	before := time.Now()
	g, err := l.Acquire(ctx, "short", "node-a", 1500*time.Millisecond)
	require.NoError(t, err)
	assert.False(t, g.Valid.After(time.Now().Add(1500*time.Millisecond)), "Valid is later than ttl from now")
	assert.False(t, g.Valid.Before(before.Add(1500*time.Millisecond)), "Valid is earlier than ttl from the call")
	ttlResp, err := raw.TimeToLive(ctx, clientv3.LeaseID(g.ID))
	require.NoError(t, err)
	assert.GreaterOrEqual(t, ttlResp.GrantedTTL, int64(2))
}

// TestKeyDeletedUnderTheHold: someone deletes the key while its lease
// lives (an operator's etcdctl del): the holder's next Renew says ErrLost,
// since another node may now create it.
func TestKeyDeletedUnderTheHold(t *testing.T) {
	srv := etcdtest.Start(t)
	a, b, raw := newLease(t, srv), newLease(t, srv), rawClient(t, srv)
	ctx := ctxT(t)
	ga, err := a.Acquire(ctx, "app", "node-a", ttl)
	require.NoError(t, err)
	_, err = raw.Delete(ctx, etcd.DefaultPrefix+"app")
	require.NoError(t, err)
	gb, err := b.Acquire(ctx, "app", "node-b", ttl)
	require.NoError(t, err)
	_, err = a.Renew(ctx, ga)
	assert.ErrorIs(t, err, ha.ErrLost)
	assert.ErrorContains(t, err, `now held by node "node-b"`)
	_, err = b.Renew(ctx, gb)
	assert.NoError(t, err)
}

// TestEtcdDown: with etcd stopped, every call fails with an error that is
// neither ErrHeld nor ErrLost: the hold's fate is unknown. Once etcd is
// back, the hold is still there.
func TestEtcdDown(t *testing.T) {
	srv := etcdtest.Start(t)
	l := newLease(t, srv, func(c *etcd.Config) { c.RequestTimeout = time.Second })
	ctx := ctxT(t)
	g, err := l.Acquire(ctx, "svc", "node-a", 10*time.Second)
	require.NoError(t, err)

	srv.Stop()
	start := time.Now()
	_, err = l.Acquire(ctx, "other", "node-a", ttl)
	require.Error(t, err)
	assert.NotErrorIs(t, err, ha.ErrHeld)
	assert.Less(t, time.Since(start), 3*time.Second, "RequestTimeout bounds the call")
	_, err = l.Renew(ctx, g)
	require.Error(t, err)
	assert.NotErrorIs(t, err, ha.ErrLost)
	assert.NotErrorIs(t, err, ha.ErrHeld)
	_, _, err = l.Holder(ctx, "svc")
	assert.Error(t, err)
	cctx, cancel := context.WithTimeout(ctx, 200*time.Millisecond)
	_, err = l.Acquire(cctx, "other", "node-a", ttl)
	cancel()
	assert.ErrorIs(t, err, context.DeadlineExceeded)

	srv.Restart(t)
	// The client reconnects with a backoff: ask until it is through.
	var g2 ha.Grant
	for deadline := time.Now().Add(8 * time.Second); ; {
		g2, err = l.Renew(ctx, g)
		if err == nil || time.Now().After(deadline) {
			break
		}
		require.NotErrorIs(t, err, ha.ErrLost)
	}
	require.NoError(t, err, "etcd keeps leases across a restart")
	assert.Equal(t, g.Epoch, g2.Epoch)
}

func TestPrefix(t *testing.T) {
	srv := etcdtest.Start(t)
	raw := rawClient(t, srv)
	ctx := ctxT(t)
	def := newLease(t, srv)
	custom := newLease(t, srv, func(c *etcd.Config) { c.Prefix = "site-b/" })
	_, err := def.Acquire(ctx, "web", "node-a", ttl)
	require.NoError(t, err)
	_, err = custom.Acquire(ctx, "web", "node-b", ttl)
	require.NoError(t, err, "another prefix is another key")
	for key, want := range map[string]string{"minato/ha/web": "node-a", "site-b/web": "node-b"} {
		resp, err := raw.Get(ctx, key)
		require.NoError(t, err)
		require.Len(t, resp.Kvs, 1, key)
		assert.Equal(t, want, string(resp.Kvs[0].Value))
		assert.NotZero(t, resp.Kvs[0].Lease)
	}
}

func TestArguments(t *testing.T) {
	// Nothing listens there: refusals come before any request.
	l, err := etcd.New(etcd.Config{Endpoints: []string{"127.0.0.1:9"}})
	require.NoError(t, err, "New does not wait for etcd")
	defer l.Close()
	ctx := ctxT(t)
	_, err = l.Acquire(ctx, "", "node-a", ttl)
	assert.ErrorContains(t, err, "empty key")
	_, err = l.Acquire(ctx, "k", "", ttl)
	assert.ErrorContains(t, err, "empty node name")
	_, err = l.Acquire(ctx, "k", "node-a", 500*time.Millisecond)
	assert.ErrorContains(t, err, "ttl 500ms: want 1s or more")
	_, err = l.Renew(ctx, ha.Grant{})
	assert.ErrorContains(t, err, "empty key")
	assert.NoError(t, l.Release(ctx, ha.Grant{}), "a zero Grant holds nothing")
	_, _, err = l.Holder(ctx, "")
	assert.ErrorContains(t, err, "empty key")
}

func TestTLS(t *testing.T) {
	srv := etcdtest.StartTLS(t)
	ctx := ctxT(t)
	l := newLease(t, srv, func(c *etcd.Config) {
		c.CAFile, c.CertFile, c.KeyFile = srv.CAFile, srv.CertFile, srv.KeyFile
	})
	g, err := l.Acquire(ctx, "tls", "node-a", ttl)
	require.NoError(t, err)
	assert.NotZero(t, g.Epoch)

	// Without the client certificate the server refuses the connection.
	noCert := newLease(t, srv, func(c *etcd.Config) { c.CAFile, c.RequestTimeout = srv.CAFile, time.Second })
	_, err = noCert.Acquire(ctx, "tls", "node-b", ttl)
	require.Error(t, err)
	assert.NotErrorIs(t, err, ha.ErrHeld)

	_, err = etcd.New(etcd.Config{Endpoints: []string{srv.Endpoint}, CAFile: filepath.Join(t.TempDir(), "none.pem")})
	assert.ErrorIs(t, err, os.ErrNotExist)
	_, err = etcd.New(etcd.Config{Endpoints: []string{srv.Endpoint}, CertFile: srv.KeyFile, KeyFile: srv.CertFile})
	assert.ErrorContains(t, err, "cert_file and key_file")
}

func TestPasswordAuth(t *testing.T) {
	srv := etcdtest.Start(t)
	raw := rawClient(t, srv)
	ctx := ctxT(t)
	_, err := raw.UserAdd(ctx, "root", "r00t-pass")
	require.NoError(t, err)
	_, err = raw.UserGrantRole(ctx, "root", "root")
	require.NoError(t, err)
	_, err = raw.AuthEnable(ctx)
	require.NoError(t, err)

	dir := t.TempDir()
	good := filepath.Join(dir, "password")
	require.NoError(t, os.WriteFile(good, []byte("r00t-pass\n"), 0o600))
	l := newLease(t, srv, func(c *etcd.Config) { c.Username, c.PasswordFile = "root", good })
	_, err = l.Acquire(ctx, "auth", "node-a", ttl)
	require.NoError(t, err)

	anon := newLease(t, srv, func(c *etcd.Config) { c.RequestTimeout = time.Second })
	_, err = anon.Acquire(ctx, "auth2", "node-a", ttl)
	require.Error(t, err, "etcd with auth on refuses an anonymous client")

	bad := filepath.Join(dir, "wrong")
	require.NoError(t, os.WriteFile(bad, []byte("wrong-pass-123"), 0o600))
	_, err = etcd.New(etcd.Config{Endpoints: []string{srv.Endpoint}, Username: "root", PasswordFile: bad})
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "wrong-pass-123")
	empty := filepath.Join(dir, "empty")
	require.NoError(t, os.WriteFile(empty, []byte("\n"), 0o600))
	_, err = etcd.New(etcd.Config{Endpoints: []string{srv.Endpoint}, Username: "root", PasswordFile: empty})
	assert.ErrorContains(t, err, "empty")
}

func TestConfigValidate(t *testing.T) {
	assert.Equal(t, etcd.Config{Prefix: "minato/ha/", DialTimeout: 5 * time.Second, RequestTimeout: 5 * time.Second}, etcd.DefaultConfig())
	for _, c := range []struct {
		cfg  etcd.Config
		want []string
	}{
		{etcd.Config{Endpoints: []string{"10.0.0.5:2379"}}, nil},
		{etcd.Config{Endpoints: []string{"https://10.0.0.5:2379", "https://10.0.0.6:2379"}, CAFile: "ca.pem"}, nil},
		{etcd.Config{Endpoints: []string{"http://127.0.0.1:2379/"}}, nil},
		{etcd.Config{Endpoints: []string{"[::1]:2379"}, CertFile: "c", KeyFile: "k", Username: "u", PasswordFile: "p"}, nil},
		{etcd.Config{}, []string{"endpoints: none"}},
		{etcd.Config{Endpoints: []string{""}}, []string{"endpoints[0]: empty"}},
		{etcd.Config{Endpoints: []string{"unix:///run/etcd.sock"}}, []string{`endpoints[0]: scheme "unix"`}},
		{etcd.Config{Endpoints: []string{"https://u:p@h:2379"}}, []string{"without user info"}},
		{etcd.Config{Endpoints: []string{"http://h:2379/v3"}}, []string{"path"}},
		{etcd.Config{Endpoints: []string{"h"}}, []string{"no host:port"}},
		{etcd.Config{Endpoints: []string{"h:0"}}, []string{`port "0"`}},
		{etcd.Config{Endpoints: []string{"http://a:1", "https://b:2"}}, []string{"mixed"}},
		{etcd.Config{Endpoints: []string{"http://a:1"}, CAFile: "ca.pem"}, []string{"http:// with ca_file"}},
		{etcd.Config{Endpoints: []string{"a:1"}, CertFile: "c"}, []string{"cert_file and key_file"}},
		{etcd.Config{Endpoints: []string{"a:1"}, PasswordFile: "p"}, []string{"username and password_file"}},
		{etcd.Config{Endpoints: []string{"a:1"}, DialTimeout: -1, RequestTimeout: -time.Second}, []string{"dial_timeout -1ns", "request_timeout -1s"}},
	} {
		err := c.cfg.Validate()
		if len(c.want) == 0 {
			assert.NoError(t, err, "%+v", c.cfg)
			continue
		}
		require.Error(t, err, "%+v", c.cfg)
		for _, w := range c.want {
			assert.ErrorContains(t, err, w, "%+v", c.cfg)
		}
		_, errNew := etcd.New(c.cfg)
		assert.ErrorContains(t, errNew, err.Error())
	}
}

// TestClaimOncePerHold: a due time is claimed once under the holder's
// epoch; a second claim of it fails, even by the holder; after a handover
// the old holder's epoch claims nothing, the new one's claims what was
// not claimed; etcd down is an error.
func TestClaimOncePerHold(t *testing.T) {
	srv := etcdtest.Start(t)
	a, b := newLease(t, srv), newLease(t, srv)
	ga, err := a.Acquire(ctxT(t), "c1/web", "a", ttl)
	require.NoError(t, err)

	ok, err := a.Claim(ctxT(t), "c1/web", ga.Epoch, "net@T1", time.Hour)
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = a.Claim(ctxT(t), "c1/web", ga.Epoch, "net@T1", time.Hour)
	require.NoError(t, err)
	assert.False(t, ok, "claimed once")
	ok, err = b.Claim(ctxT(t), "c1/web", ga.Epoch+1, "net@T2", time.Hour)
	require.NoError(t, err)
	assert.False(t, ok, "an epoch that does not hold the key claims nothing")

	require.NoError(t, a.Release(ctxT(t), ga))
	gb, err := b.Acquire(ctxT(t), "c1/web", "b", ttl)
	require.NoError(t, err)
	require.Greater(t, gb.Epoch, ga.Epoch)
	ok, err = a.Claim(ctxT(t), "c1/web", ga.Epoch, "net@T2", time.Hour)
	require.NoError(t, err)
	assert.False(t, ok, "the deposed holder's epoch is fenced off")
	ok, err = b.Claim(ctxT(t), "c1/web", gb.Epoch, "net@T1", time.Hour)
	require.NoError(t, err)
	assert.False(t, ok, "T1 ran under the old holder: not again")
	ok, err = b.Claim(ctxT(t), "c1/web", gb.Epoch, "net@T2", time.Hour)
	require.NoError(t, err)
	assert.True(t, ok)

	// The hold key is untouched by the claims under it.
	node, epoch, err := b.Holder(ctxT(t), "c1/web")
	require.NoError(t, err)
	assert.Equal(t, "b", node)
	assert.Equal(t, gb.Epoch, epoch)

	srv.Stop()
	_, err = b.Claim(ctxT(t), "c1/web", gb.Epoch, "net@T3", time.Hour)
	assert.Error(t, err)
}
