package etcd

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/minato-ops/minato/ha"
	"go.etcd.io/etcd/api/v3/mvccpb"
	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// Option configures optional collaborators of a [Lease].
type Option func(*options)

type options struct {
	log *slog.Logger
}

// WithLogger sets the logger: acquisitions, renewals and releases at
// debug, with the key, the node, the epoch and the etcd lease ID. Errors
// the methods return are not logged, nor is the password. The default
// discards everything.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) {
		if l != nil {
			o.log = l
		}
	}
}

// HeldError is the error [Lease.Acquire] returns when another node holds
// the key: it wraps [ha.ErrHeld] and says who holds it since when.
type HeldError struct {
	// Key is the key asked for, without the prefix.
	Key string
	// Holder is the node that holds it and Epoch the epoch of its hold.
	Holder string
	Epoch  ha.Epoch
}

// Error says who holds the key.
func (e *HeldError) Error() string {
	return fmt.Sprintf("etcd: %s: held by node %q (epoch %d)", e.Key, e.Holder, e.Epoch)
}

// Unwrap returns [ha.ErrHeld].
func (e *HeldError) Unwrap() error { return ha.ErrHeld }

// Lease is an [ha.Lease] on etcd v3: a key per group under the
// configured prefix, whose value is the holding node's name, attached to
// an etcd lease of the hold's ttl. etcd deletes the key when its lease
// expires, so a node that stops renewing loses the hold after ttl. The
// epoch of a hold is the key's create revision, which grows with every
// write to the cluster: each new hold of a key has a larger epoch than
// every hold before it, and a renewal keeps it.
//
// A Lease is safe for concurrent use. Every method honours ctx and is
// also bounded by Config.RequestTimeout. Errors other than [HeldError]
// and [ha.ErrLost] mean etcd could not be asked or did not answer: the
// hold's state is then unknown, and a holder must stop acting at its
// Grant's Valid time.
type Lease struct {
	cli     *clientv3.Client
	prefix  string
	timeout time.Duration
	log     *slog.Logger
}

var _ ha.Lease = (*Lease)(nil)

// New returns a Lease on the cluster cfg describes. It reads the TLS and
// password files. Without a username it does not wait for etcd: an
// unreachable cluster shows in the methods' errors. With a username it
// authenticates at once and fails when etcd does not answer within
// DialTimeout. Close releases the connection.
func New(cfg Config, opts ...Option) (*Lease, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("etcd: %w", err)
	}
	cfg = cfg.withDefaults()
	o := options{log: slog.New(slog.DiscardHandler)}
	for _, opt := range opts {
		if opt != nil {
			opt(&o)
		}
	}
	ccfg := clientv3.Config{
		Endpoints:   cfg.Endpoints,
		DialTimeout: cfg.DialTimeout,
		Logger:      zap.NewNop(),
	}
	if cfg.tlsFiles() || strings.HasPrefix(cfg.Endpoints[0], "https://") {
		tc, err := tlsConfig(cfg)
		if err != nil {
			return nil, err
		}
		ccfg.TLS = tc
	}
	if cfg.Username != "" {
		b, err := os.ReadFile(cfg.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("etcd: password_file: %w", err)
		}
		pw := strings.TrimRight(string(b), "\r\n")
		if pw == "" {
			return nil, fmt.Errorf("etcd: password_file %s: empty", cfg.PasswordFile)
		}
		ccfg.Username, ccfg.Password = cfg.Username, pw
	}
	cli, err := clientv3.New(ccfg)
	if err != nil {
		return nil, fmt.Errorf("etcd: connect to %s: %w", strings.Join(cfg.Endpoints, ","), err)
	}
	return &Lease{cli: cli, prefix: cfg.Prefix, timeout: cfg.RequestTimeout, log: o.log}, nil
}

// tlsConfig builds the client's TLS from the configured files.
func tlsConfig(cfg Config) (*tls.Config, error) {
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if cfg.CAFile != "" {
		b, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return nil, fmt.Errorf("etcd: ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(b) {
			return nil, fmt.Errorf("etcd: ca_file %s: no PEM certificate in it", cfg.CAFile)
		}
		tc.RootCAs = pool
	}
	if cfg.CertFile != "" {
		pair, err := tls.LoadX509KeyPair(cfg.CertFile, cfg.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("etcd: cert_file and key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return tc, nil
}

// Close closes the connection to etcd. Holds are not released: they
// expire after their ttl unless another Lease renews or releases them.
func (l *Lease) Close() error { return l.cli.Close() }

// bound adds the request timeout to ctx.
func (l *Lease) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(ctx, l.timeout)
}

// Acquire makes node the holder of key for ttl (whole seconds; a
// fraction is rounded up for etcd, which may also raise a ttl below its
// minimum, some 2 s by default) when nobody holds it, returning the
// Grant. When node already holds key under a live etcd lease (say after
// its process restarted), that hold is renewed and returned with its
// epoch. When another node holds it, the error is a [*HeldError]
// (wrapping [ha.ErrHeld]) naming the holder.
//
// The Grant's Valid is the time taken before the request was sent plus
// ttl, so it ends no later than etcd's own expiry of the hold.
//
// A new hold takes four requests: read the key, grant an etcd lease,
// then a transaction that creates the key only if it is absent (create
// revision 0), attaching the lease, and reads it back. The lease of a
// lost race is revoked at once; when the transaction's answer is lost,
// the key may have been created all the same, and its etcd lease then
// expires after ttl.
func (l *Lease) Acquire(ctx context.Context, key, node string, ttl time.Duration) (ha.Grant, error) {
	if err := checkKey(key, node); err != nil {
		return ha.Grant{}, err
	}
	if ttl < time.Second {
		return ha.Grant{}, fmt.Errorf("etcd: acquire %s: ttl %s: want 1s or more", key, ttl)
	}
	ctx, cancel := l.bound(ctx)
	defer cancel()
	k := l.prefix + key

	got, err := l.cli.Get(ctx, k)
	if err != nil {
		return ha.Grant{}, fmt.Errorf("etcd: acquire %s: read the holder: %w", key, err)
	}
	if len(got.Kvs) > 0 {
		return l.held(ctx, key, node, ttl, got.Kvs[0])
	}

	start := time.Now()
	lg, err := l.cli.Grant(ctx, int64((ttl+time.Second-1)/time.Second))
	if err != nil {
		return ha.Grant{}, fmt.Errorf("etcd: acquire %s: grant a lease: %w", key, err)
	}
	txn, err := l.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(k), "=", 0)).
		Then(clientv3.OpPut(k, node, clientv3.WithLease(lg.ID)), clientv3.OpGet(k)).
		Else(clientv3.OpGet(k)).
		Commit()
	if err != nil {
		l.revoke(lg.ID)
		return ha.Grant{}, fmt.Errorf("etcd: acquire %s: %w", key, err)
	}
	if !txn.Succeeded {
		l.revoke(lg.ID)
		kvs := txn.Responses[0].GetResponseRange().GetKvs()
		if len(kvs) == 0 { // created and deleted in between
			return ha.Grant{}, fmt.Errorf("etcd: acquire %s: the key changed hands while asked; try again", key)
		}
		return l.held(ctx, key, node, ttl, kvs[0])
	}
	kvs := txn.Responses[1].GetResponseRange().GetKvs()
	if len(kvs) == 0 {
		return ha.Grant{}, fmt.Errorf("etcd: acquire %s: the key vanished right after it was created", key)
	}
	g := ha.Grant{
		Key:   key,
		Node:  node,
		Epoch: ha.Epoch(kvs[0].CreateRevision),
		Valid: start.Add(min(ttl, time.Duration(lg.TTL)*time.Second)),
		ID:    int64(lg.ID),
	}
	l.log.Debug("etcd: acquired", "key", key, "node", node, "epoch", g.Epoch, "lease", fmt.Sprintf("%x", g.ID), "ttl", ttl)
	return g, nil
}

// held handles a key that exists: node's own live hold is renewed and
// returned, anything else is a HeldError.
func (l *Lease) held(ctx context.Context, key, node string, ttl time.Duration, kv *mvccpb.KeyValue) (ha.Grant, error) {
	holder := string(kv.Value)
	if holder != node || kv.Lease == 0 {
		return ha.Grant{}, &HeldError{Key: key, Holder: holder, Epoch: ha.Epoch(kv.CreateRevision)}
	}
	start := time.Now()
	ka, err := l.cli.KeepAliveOnce(ctx, clientv3.LeaseID(kv.Lease))
	if errors.Is(err, rpctypes.ErrLeaseNotFound) {
		return ha.Grant{}, fmt.Errorf("etcd: acquire %s: node %s's previous hold expired just now; try again", key, node)
	}
	if err != nil {
		return ha.Grant{}, fmt.Errorf("etcd: acquire %s: renew node %s's hold: %w", key, node, err)
	}
	g := ha.Grant{
		Key:   key,
		Node:  node,
		Epoch: ha.Epoch(kv.CreateRevision),
		Valid: start.Add(min(ttl, time.Duration(ka.TTL)*time.Second)),
		ID:    kv.Lease,
	}
	l.log.Debug("etcd: acquired again", "key", key, "node", node, "epoch", g.Epoch, "lease", fmt.Sprintf("%x", g.ID))
	return g, nil
}

// revoke revokes an etcd lease that holds nothing (a lost race), with a
// context of its own: the caller's may be what failed.
func (l *Lease) revoke(id clientv3.LeaseID) {
	ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
	defer cancel()
	if _, err := l.cli.Revoke(ctx, id); err != nil {
		l.log.Debug("etcd: unused lease not revoked; it expires on its own", "lease", fmt.Sprintf("%x", int64(id)), "error", err)
	}
}

// Renew extends g for its etcd lease's ttl (etcd's keep-alive) and checks
// that the key is still held under it, at g's epoch. It returns the Grant
// with a new Valid: the time taken before the request plus the ttl etcd
// granted (more than the ttl asked for when that was below etcd's
// minimum). Renewing after Valid passed succeeds while etcd still has the
// hold: nobody else could have taken the key meanwhile. It
// fails with [ha.ErrLost] when etcd no longer has the lease (it expired
// or was revoked) or the key is gone or held under another lease; with
// another error when etcd could not be asked, in which case the hold may
// still be alive until g.Valid or later.
func (l *Lease) Renew(ctx context.Context, g ha.Grant) (ha.Grant, error) {
	if err := checkKey(g.Key, g.Node); err != nil {
		return ha.Grant{}, err
	}
	ctx, cancel := l.bound(ctx)
	defer cancel()
	start := time.Now()
	ka, err := l.cli.KeepAliveOnce(ctx, clientv3.LeaseID(g.ID))
	if errors.Is(err, rpctypes.ErrLeaseNotFound) {
		return ha.Grant{}, fmt.Errorf("etcd: renew %s: %w: etcd lease %x expired or was revoked", g.Key, ha.ErrLost, g.ID)
	}
	if err != nil {
		return ha.Grant{}, fmt.Errorf("etcd: renew %s: %w", g.Key, err)
	}
	got, err := l.cli.Get(ctx, l.prefix+g.Key)
	if err != nil {
		return ha.Grant{}, fmt.Errorf("etcd: renew %s: read the holder: %w", g.Key, err)
	}
	if len(got.Kvs) == 0 {
		l.revoke(clientv3.LeaseID(g.ID))
		return ha.Grant{}, fmt.Errorf("etcd: renew %s: %w: the key was deleted", g.Key, ha.ErrLost)
	}
	kv := got.Kvs[0]
	if kv.Lease != g.ID || ha.Epoch(kv.CreateRevision) != g.Epoch {
		l.revoke(clientv3.LeaseID(g.ID))
		return ha.Grant{}, fmt.Errorf("etcd: renew %s: %w: now held by node %q (epoch %d)", g.Key, ha.ErrLost, kv.Value, kv.CreateRevision)
	}
	g.Valid = start.Add(time.Duration(ka.TTL) * time.Second)
	l.log.Debug("etcd: renewed", "key", g.Key, "node", g.Node, "epoch", g.Epoch, "lease", fmt.Sprintf("%x", g.ID), "ttl", ka.TTL)
	return g, nil
}

// Release gives g up: its etcd lease is revoked, which deletes the key
// (only when it is still attached to that lease), so another node can
// acquire it at once. A hold already lost is not an error.
func (l *Lease) Release(ctx context.Context, g ha.Grant) error {
	if g.ID == 0 {
		return nil
	}
	ctx, cancel := l.bound(ctx)
	defer cancel()
	_, err := l.cli.Revoke(ctx, clientv3.LeaseID(g.ID))
	if err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		return fmt.Errorf("etcd: release %s: %w", g.Key, err)
	}
	l.log.Debug("etcd: released", "key", g.Key, "node", g.Node, "epoch", g.Epoch, "lease", fmt.Sprintf("%x", g.ID))
	return nil
}

// Holder returns the node that holds key and the epoch of its hold, or
// "" and 0 when nobody does.
func (l *Lease) Holder(ctx context.Context, key string) (string, ha.Epoch, error) {
	if key == "" {
		return "", 0, errors.New("etcd: holder: empty key")
	}
	ctx, cancel := l.bound(ctx)
	defer cancel()
	got, err := l.cli.Get(ctx, l.prefix+key)
	if err != nil {
		return "", 0, fmt.Errorf("etcd: holder of %s: %w", key, err)
	}
	if len(got.Kvs) == 0 {
		return "", 0, nil
	}
	return string(got.Kvs[0].Value), ha.Epoch(got.Kvs[0].CreateRevision), nil
}

// checkKey refuses an empty key or node name.
func checkKey(key, node string) error {
	switch {
	case key == "":
		return errors.New("etcd: empty key")
	case node == "":
		return fmt.Errorf("etcd: %s: empty node name", key)
	}
	return nil
}

// Claim records, once, that the holder of key at epoch does item (a due
// time of a job network): in one transaction it checks that key is still
// held under epoch (its create revision) and that item was not claimed
// under key before, and then writes the claim, kept for keep (at least a
// minute; etcd expires it afterwards). It returns true when this call made
// the claim, false when the hold has moved on (a newer epoch, or no
// holder) or item was claimed already, and an error when etcd could not
// be asked. Claims live under "<key>/claims/".
func (l *Lease) Claim(ctx context.Context, key string, epoch ha.Epoch, item string, keep time.Duration) (bool, error) {
	if key == "" || item == "" {
		return false, errors.New("etcd: claim: empty key or item")
	}
	keep = max(keep, time.Minute)
	ctx, cancel := l.bound(ctx)
	defer cancel()
	lease, err := l.cli.Grant(ctx, int64(keep/time.Second))
	if err != nil {
		return false, fmt.Errorf("etcd: claim %s under %s: %w", item, key, err)
	}
	holdKey, claimKey := l.prefix+key, l.prefix+key+"/claims/"+item
	resp, err := l.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(holdKey), "=", int64(epoch)),
			clientv3.Compare(clientv3.CreateRevision(claimKey), "=", 0)).
		Then(clientv3.OpPut(claimKey, strconv.FormatUint(uint64(epoch), 10), clientv3.WithLease(lease.ID))).
		Commit()
	if err != nil {
		l.revoke(lease.ID)
		return false, fmt.Errorf("etcd: claim %s under %s: %w", item, key, err)
	}
	if !resp.Succeeded {
		l.revoke(lease.ID)
	}
	return resp.Succeeded, nil
}
