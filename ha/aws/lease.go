package aws

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/minato-ops/minato/ha"
)

// Defaults and limits of [LeaseConfig].
const (
	// DefaultMaxClockSkew is how far apart the nodes' wall clocks may be:
	// a contender takes over an expired hold only this long after its
	// expiry by the contender's own clock.
	// 250 ms: nodes on EC2 synchronised by chrony with the Amazon Time
	// Sync Service stay within a millisecond or so of each other; the
	// allowance is added to every takeover after a holder's failure.
	DefaultMaxClockSkew = 250 * time.Millisecond
	// MaxLeaseClockSkew is the largest MaxClockSkew accepted: every
	// takeover after a holder's failure waits that much longer.
	MaxLeaseClockSkew = 5 * time.Minute
	// MinLeaseTTL is the shortest hold [Lease.Acquire] grants.
	MinLeaseTTL = 100 * time.Millisecond
	// MinClaimKeep is the shortest time a claim of [Lease.Claim] is kept.
	MinClaimKeep = time.Minute
)

// Attributes of the lease table's items. "key" is the partition key
// (String); every expression names the attributes through
// ExpressionAttributeNames, since several are DynamoDB reserved words.
const (
	leaseAttrKey     = "key"        // S: the hold's key, or "<key>/claim/<item>"
	leaseAttrHolder  = "holder"     // S: the holding node, "" when released
	leaseAttrEpoch   = "epoch"      // N: grows by one with every new hold
	leaseAttrExpires = "expires_ms" // N: the holder's wall clock + ttl, unix ms (0 when released)
	leaseAttrRenewed = "renewed_ms" // N: the holder's wall clock at the last write, unix ms
	leaseAttrTTLMS   = "ttl_ms"     // N: the hold's ttl in ms, for Renew
	leaseAttrVersion = "version"    // S: random per write: the record's version
	leaseAttrState   = "state"      // S, claims: "pending" or "done"
	leaseAttrToken   = "token"      // S, claims: random per claim attempt
	leaseAttrTTL     = "ttl"        // N, claims: unix seconds after which DynamoDB's TTL may delete the claim
	leaseAttrClaimed = "claimed_ms" // N, claims: the claimer's wall clock, unix ms
)

// leaseClaimInfix separates a hold's key from a claimed item's name.
const leaseClaimInfix = "/claim/"

// Claim states.
const (
	leaseClaimPending = "pending"
	leaseClaimDone    = "done"
)

// leaseTableName is DynamoDB's rule for table names; a table ARN is
// accepted too (a table in another account).
var leaseTableName = regexp.MustCompile(`^[A-Za-z0-9_.-]{3,255}$`)

// LeaseConfig says which DynamoDB table a [Lease] keeps its holds in. It
// is plain data with json tags; zero fields mean their defaults.
type LeaseConfig struct {
	// Table is the table's name (or ARN). The operator creates it with
	// the partition key "key" of type String and no sort key, and enables
	// Time to Live on the attribute "ttl" so that old claims are deleted.
	// Required.
	Table string `json:"table"`
	// MaxClockSkew is how far apart the nodes' wall clocks may be (keep
	// them in step with NTP, on EC2 the Amazon Time Sync Service). A node
	// takes over an expired hold only MaxClockSkew after its expiry by its
	// own clock. Default 1 s, at most 5 min.
	MaxClockSkew time.Duration `json:"max_clock_skew,omitempty"`
}

// WithDefaults returns c with its zero fields set to the defaults.
func (c LeaseConfig) WithDefaults() LeaseConfig {
	if c.MaxClockSkew == 0 {
		c.MaxClockSkew = DefaultMaxClockSkew
	}
	return c
}

// Validate reports every problem of c, joined, each naming its field by
// its json name.
func (c LeaseConfig) Validate() error {
	var errs []error
	switch {
	case c.Table == "":
		errs = append(errs, errors.New("table: empty; want the name of a DynamoDB table whose partition key is \"key\" (String)"))
	case strings.HasPrefix(c.Table, "arn:"):
		if !strings.Contains(c.Table, ":table/") || len(c.Table) > 1024 {
			errs = append(errs, fmt.Errorf("table: %q: not a DynamoDB table ARN (arn:aws:dynamodb:<region>:<account>:table/<name>)", c.Table))
		}
	case !leaseTableName.MatchString(c.Table):
		errs = append(errs, fmt.Errorf("table: %q: want 3 to 255 letters, digits, '_', '-' or '.'", c.Table))
	}
	if c.MaxClockSkew < 0 || c.MaxClockSkew > MaxLeaseClockSkew {
		errs = append(errs, fmt.Errorf("max_clock_skew: %s: want 0 to %s (0 for the default %s)", c.MaxClockSkew, MaxLeaseClockSkew, DefaultMaxClockSkew))
	}
	return errors.Join(errs...)
}

// HeldError is the error [Lease.Acquire] returns when another node holds
// the key: it wraps [ha.ErrHeld] and says who holds it and until when.
type HeldError struct {
	// Key is the key asked for.
	Key string
	// Holder is the node that holds it ("" when the write lost a race
	// and the winner could not be read back) and Epoch its hold's epoch.
	Holder string
	Epoch  ha.Epoch
	// Expires is the hold's expiry by the holder's clock (zero when
	// unknown). Others may take it over MaxClockSkew later.
	Expires time.Time
	// takeable is when this node may take the hold over by its own clock
	// (Expires + MaxClockSkew); zero when unknown.
	takeable time.Time
}

// heldError is the error of a key held by rec's holder, with when this
// node may take it over on its own clock (monotonic, for the cluster).
func (l *Lease) heldError(key string, rec leaseRecord) *HeldError {
	e := &HeldError{Key: key, Holder: rec.holder, Epoch: ha.Epoch(rec.epoch), Expires: rec.expires()}
	if !e.Expires.IsZero() {
		// One millisecond past: held() is true up to and including
		// expires + skew, in whole milliseconds.
		e.takeable = time.Now().Add(e.Expires.Add(l.skew + time.Millisecond).Sub(l.now()))
	}
	return e
}

// RetryAt returns when the hold may be taken over by the asking node's
// clock (its expiry plus the clock-skew allowance), zero when unknown: a
// cluster asks again then rather than at its next tick.
func (e *HeldError) RetryAt() time.Time { return e.takeable }

// Error says who holds the key.
func (e *HeldError) Error() string {
	if e.Holder == "" {
		return fmt.Sprintf("aws: lease %s: taken by another node while asked (epoch %d)", e.Key, e.Epoch)
	}
	s := fmt.Sprintf("aws: lease %s: held by node %q (epoch %d", e.Key, e.Holder, e.Epoch)
	if !e.Expires.IsZero() {
		s += ", expires " + e.Expires.UTC().Format("2006-01-02T15:04:05.000Z")
	}
	return s + ")"
}

// Unwrap returns [ha.ErrHeld].
func (e *HeldError) Unwrap() error { return ha.ErrHeld }

// Lease is an [ha.Lease] on a DynamoDB table: the witness that gives
// exclusivity to a cluster on AWS without a third node. Each key is one
// item, written only by conditional writes:
//
//	key         S  partition key: the hold's key
//	holder      S  the holding node; "" once released
//	epoch       N  the hold's epoch: one more with every new hold, never
//	               less (a release keeps the item and its epoch; the
//	               item is never deleted)
//	expires_ms  N  the holder's wall clock + ttl, unix milliseconds (0
//	               once released)
//	renewed_ms  N  the holder's wall clock at its last write
//	ttl_ms      N  the hold's ttl in milliseconds
//	version     S  random per write: the record's version
//
// Acquire reads the item with a consistent read. An absent item is
// created with epoch 1 under attribute_not_exists(key). A hold released,
// or expired by the reader's clock (now > expires_ms + MaxClockSkew), is
// taken over with epoch+1 under the condition that version is still the
// one read, so of two nodes racing exactly one wins and the other gets a
// [*HeldError]. Renew and Release are conditioned on holder and epoch,
// the fencing token: a deposed holder's Renew fails with [ha.ErrLost],
// its Release changes nothing.
//
// Safety rests on the clocks: the holder stops acting at its Grant's
// Valid, measured on its monotonic clock from before the write and so no
// later than expires_ms by its wall clock; a contender takes over only
// after expires_ms + MaxClockSkew by its own wall clock. No two nodes
// act at once while their wall clocks differ by less than MaxClockSkew:
// run NTP (on EC2, chrony with the Amazon Time Sync Service at
// 169.254.169.123 keeps them within a millisecond).
//
// A Lease is safe for concurrent use. Errors other than [*HeldError] and
// [ha.ErrLost] mean DynamoDB could not be asked or did not answer
// (throttling, an outage, a timeout): the hold's state is then unknown,
// and a holder must stop acting at its Grant's Valid.
type Lease struct {
	c     *Clients
	table string
	skew  time.Duration
	log   *slog.Logger
	now   func() time.Time
}

var _ ha.Lease = (*Lease)(nil)

// NewLease returns a Lease on the table cfg names, called through c.
// It makes no call: [Lease.Check] verifies the table.
func NewLease(c *Clients, cfg LeaseConfig, opts ...Option) (*Lease, error) {
	if c == nil || c.dynamo == nil {
		return nil, errors.New("aws: lease: no DynamoDB client; build the clients with Load")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("aws: lease: %w", err)
	}
	cfg = cfg.WithDefaults()
	o := buildOptions(opts)
	return &Lease{c: c, table: cfg.Table, skew: cfg.MaxClockSkew, log: o.log, now: o.now}, nil
}

// leaseRecord is a hold item as read.
type leaseRecord struct {
	holder    string
	epoch     uint64
	expiresMS int64
	ttlMS     int64
	version   string
}

// held reports whether another node must treat r as held at nowMS.
func (r leaseRecord) held(nowMS int64, skew time.Duration) bool {
	return r.holder != "" && nowMS-skew.Milliseconds() <= r.expiresMS
}

// expires returns the hold's expiry by its holder's clock.
func (r leaseRecord) expires() time.Time {
	if r.expiresMS <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(r.expiresMS)
}

// leaseParse reads a hold item; a malformed one is an error naming the
// attribute.
func leaseParse(table, key string, item map[string]types.AttributeValue) (leaseRecord, error) {
	var r leaseRecord
	bad := func(attr, want string) error {
		return fmt.Errorf("aws: lease table %s: item %q: attribute %q: want %s; was the item written by another program?", table, key, attr, want)
	}
	h, ok := item[leaseAttrHolder].(*types.AttributeValueMemberS)
	if !ok {
		return r, bad(leaseAttrHolder, "a String")
	}
	r.holder = h.Value
	var err error
	if r.epoch, err = leaseUint(item, leaseAttrEpoch); err != nil || r.epoch == 0 {
		return r, bad(leaseAttrEpoch, "a Number from 1")
	}
	num := func(attr string) (int64, error) {
		n, ok := item[attr].(*types.AttributeValueMemberN)
		if !ok {
			return 0, bad(attr, "a Number")
		}
		v, err := strconv.ParseInt(n.Value, 10, 64)
		if err != nil {
			return 0, bad(attr, "a whole Number")
		}
		return v, nil
	}
	if r.expiresMS, err = num(leaseAttrExpires); err != nil {
		return r, err
	}
	if _, ok := item[leaseAttrTTLMS]; ok {
		if r.ttlMS, err = num(leaseAttrTTLMS); err != nil {
			return r, err
		}
	}
	if v, ok := item[leaseAttrVersion].(*types.AttributeValueMemberS); ok {
		r.version = v.Value
	}
	return r, nil
}

// leaseUint reads a Number attribute as an unsigned integer.
func leaseUint(item map[string]types.AttributeValue, attr string) (uint64, error) {
	n, ok := item[attr].(*types.AttributeValueMemberN)
	if !ok {
		return 0, fmt.Errorf("no Number %q", attr)
	}
	return strconv.ParseUint(n.Value, 10, 64)
}

// Helpers to build attribute values.
func leaseS(s string) types.AttributeValue { return &types.AttributeValueMemberS{Value: s} }
func leaseN(n int64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatInt(n, 10)}
}
func leaseNU(n uint64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatUint(n, 10)}
}

// leaseMS returns t in unix milliseconds, rounded up: an expiry written
// is never earlier than the Valid it stands for.
func leaseMS(t time.Time) int64 {
	ms := t.UnixMilli()
	if time.UnixMilli(ms).Before(t) {
		ms++
	}
	return ms
}

// leaseKeyOf is the primary key of the item k.
func leaseKeyOf(k string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{leaseAttrKey: leaseS(k)}
}

// leaseVersion returns a new random record version.
func leaseVersion() string { return rand.Text() }

// leaseCondFailed returns the item a failed condition reported (empty
// when DynamoDB returned none) and whether err is that failure.
func leaseCondFailed(err error) (map[string]types.AttributeValue, bool) {
	var cf *types.ConditionalCheckFailedException
	if errors.As(err, &cf) {
		return cf.Item, true
	}
	return nil, errorCode(err) == "ConditionalCheckFailedException"
}

// read returns the item of k by a consistent read; found is false when
// there is none.
func (l *Lease) read(ctx context.Context, k string) (map[string]types.AttributeValue, bool, error) {
	cctx, cancel := l.c.call(ctx)
	defer cancel()
	out, err := l.c.dynamo.GetItem(cctx, &dynamodb.GetItemInput{
		TableName:      sdkaws.String(l.table),
		Key:            leaseKeyOf(k),
		ConsistentRead: sdkaws.Bool(true),
	})
	if err != nil {
		return nil, false, err
	}
	if len(out.Item) == 0 {
		return nil, false, nil
	}
	return out.Item, true, nil
}

// readHold reads and parses the hold item of key.
func (l *Lease) readHold(ctx context.Context, key string) (leaseRecord, bool, error) {
	item, found, err := l.read(ctx, key)
	if err != nil || !found {
		return leaseRecord{}, found, err
	}
	r, err := leaseParse(l.table, key, item)
	return r, true, err
}

// leaseCheckKey refuses an empty key or node name, and a key that could
// be taken for a claim's.
func leaseCheckKey(key, node string) error {
	switch {
	case key == "":
		return errors.New("aws: lease: empty key")
	case strings.Contains(key, leaseClaimInfix):
		return fmt.Errorf("aws: lease: key %q: must not contain %q (claims are kept under it)", key, leaseClaimInfix)
	case node == "":
		return fmt.Errorf("aws: lease %s: empty node name", key)
	}
	return nil
}

// Acquire makes node the holder of key for ttl when nobody holds it, and
// returns the Grant. When node already holds key and its hold has not
// expired by this node's clock (say after its process restarted), the
// hold is renewed and returned with its epoch; an expired hold of its own
// is taken anew with a larger epoch. When another node holds it, the
// error is a [*HeldError] (wrapping [ha.ErrHeld]) naming the holder; a
// hold counts as held until MaxClockSkew after its expiry.
//
// The Grant's Valid is the local monotonic time taken before the write
// plus ttl, so it ends no later than the expiry written in the table by
// this node's clock. Grant.ID is the epoch.
//
// A new hold takes two requests (a consistent read, a conditional
// write); a lost race a third (reading the winner).
func (l *Lease) Acquire(ctx context.Context, key, node string, ttl time.Duration) (ha.Grant, error) {
	if err := leaseCheckKey(key, node); err != nil {
		return ha.Grant{}, err
	}
	if ttl < MinLeaseTTL {
		return ha.Grant{}, fmt.Errorf("aws: lease %s: ttl %s: want %s or more", key, ttl, MinLeaseTTL)
	}
	rec, found, err := l.readHold(ctx, key)
	if err != nil {
		return ha.Grant{}, fmt.Errorf("aws: lease %s: read the holder: %w", key, err)
	}
	now := l.now()
	nowMS := now.UnixMilli()
	switch {
	case found && rec.holder == node && nowMS <= rec.expiresMS:
		g, old, err := l.extend(ctx, key, node, ha.Epoch(rec.epoch), ttl, true)
		if errors.Is(err, errLeaseCondition) {
			return ha.Grant{}, l.heldAfterRace(ctx, key, old)
		}
		if err != nil {
			return ha.Grant{}, err
		}
		l.log.Debug("aws: lease acquired again", "key", key, "node", node, "epoch", g.Epoch, "ttl", ttl)
		return g, nil
	case found && rec.holder != node && rec.held(nowMS, l.skew):
		return ha.Grant{}, l.heldError(key, rec)
	}

	epoch := uint64(1)
	in := &dynamodb.PutItemInput{
		TableName:                           sdkaws.String(l.table),
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	}
	if !found {
		in.ConditionExpression = sdkaws.String("attribute_not_exists(#k)")
		in.ExpressionAttributeNames = map[string]string{"#k": leaseAttrKey}
	} else {
		epoch = rec.epoch + 1
		if rec.version != "" {
			in.ConditionExpression = sdkaws.String("#v = :seen")
			in.ExpressionAttributeValues = map[string]types.AttributeValue{":seen": leaseS(rec.version)}
		} else { // written without a version: the epoch is unchanged then
			in.ConditionExpression = sdkaws.String("attribute_not_exists(#v) AND #e = :seen")
			in.ExpressionAttributeNames = map[string]string{"#e": leaseAttrEpoch}
			in.ExpressionAttributeValues = map[string]types.AttributeValue{":seen": leaseNU(rec.epoch)}
		}
		if in.ExpressionAttributeNames == nil {
			in.ExpressionAttributeNames = map[string]string{}
		}
		in.ExpressionAttributeNames["#v"] = leaseAttrVersion
	}
	// Times are taken after the read, just before the write: the local
	// start first, so that Valid ends no later than expires_ms.
	start := time.Now()
	now = l.now()
	in.Item = map[string]types.AttributeValue{
		leaseAttrKey:     leaseS(key),
		leaseAttrHolder:  leaseS(node),
		leaseAttrEpoch:   leaseNU(epoch),
		leaseAttrExpires: leaseN(leaseMS(now.Add(ttl))),
		leaseAttrRenewed: leaseN(leaseMS(now)),
		leaseAttrTTLMS:   leaseN(ttl.Milliseconds()),
		leaseAttrVersion: leaseS(leaseVersion()),
	}
	cctx, cancel := l.c.call(ctx)
	_, err = l.c.dynamo.PutItem(cctx, in)
	cancel()
	if err != nil {
		if old, ok := leaseCondFailed(err); ok {
			return ha.Grant{}, l.heldAfterRace(ctx, key, old)
		}
		return ha.Grant{}, fmt.Errorf("aws: lease %s: write the hold: %w", key, err)
	}
	g := ha.Grant{Key: key, Node: node, Epoch: ha.Epoch(epoch), Valid: start.Add(ttl), ID: int64(epoch)}
	l.log.Debug("aws: lease acquired", "key", key, "node", node, "epoch", g.Epoch, "ttl", ttl, "previous", rec.holder)
	return g, nil
}

// heldAfterRace builds the HeldError of a write that lost a race, from
// the item the failed condition returned or, without one, a new read.
func (l *Lease) heldAfterRace(ctx context.Context, key string, item map[string]types.AttributeValue) error {
	var rec leaseRecord
	var err error
	if len(item) > 0 {
		rec, err = leaseParse(l.table, key, item)
	} else {
		rec, _, err = l.readHold(ctx, key)
	}
	if err != nil {
		l.log.Debug("aws: lease: the winner of a race could not be read", "key", key, "err", err)
		return &HeldError{Key: key}
	}
	return l.heldError(key, rec)
}

// errLeaseCondition is what extend returns when its condition failed:
// node no longer holds the key at the epoch.
var errLeaseCondition = errors.New("aws: lease: the hold is not as expected")

// extend writes a new expiry for node's hold of key at epoch, under the
// condition that it still holds it. withTTL also sets ttl_ms to ttl (an
// acquisition); otherwise the stored ttl_ms is used. A failed condition
// is errLeaseCondition, with the item DynamoDB returned (if any).
func (l *Lease) extend(ctx context.Context, key, node string, epoch ha.Epoch, ttl time.Duration, withTTL bool) (ha.Grant, map[string]types.AttributeValue, error) {
	start := time.Now() // before now: Valid ends no later than expires_ms
	now := l.now()
	vals := map[string]types.AttributeValue{
		":me":  leaseS(node),
		":e":   leaseNU(uint64(epoch)),
		":now": leaseN(leaseMS(now)),
		":ver": leaseS(leaseVersion()),
	}
	names := map[string]string{"#h": leaseAttrHolder, "#e": leaseAttrEpoch, "#x": leaseAttrExpires,
		"#r": leaseAttrRenewed, "#v": leaseAttrVersion, "#t": leaseAttrTTLMS}
	update := "SET #x = #t + :now, #r = :now, #v = :ver"
	if withTTL {
		update = "SET #x = :exp, #t = :ttl, #r = :now, #v = :ver"
		vals[":exp"] = leaseN(leaseMS(now.Add(ttl)))
		vals[":ttl"] = leaseN(ttl.Milliseconds())
	}
	cctx, cancel := l.c.call(ctx)
	out, err := l.c.dynamo.UpdateItem(cctx, &dynamodb.UpdateItemInput{
		TableName:                           sdkaws.String(l.table),
		Key:                                 leaseKeyOf(key),
		UpdateExpression:                    sdkaws.String(update),
		ConditionExpression:                 sdkaws.String("#h = :me AND #e = :e"),
		ExpressionAttributeNames:            names,
		ExpressionAttributeValues:           vals,
		ReturnValues:                        types.ReturnValueAllNew,
		ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld,
	})
	cancel()
	if err != nil {
		if old, ok := leaseCondFailed(err); ok {
			return ha.Grant{}, old, errLeaseCondition
		}
		return ha.Grant{}, nil, fmt.Errorf("aws: lease %s: renew: %w", key, err)
	}
	if !withTTL {
		rec, perr := leaseParse(l.table, key, out.Attributes)
		if perr == nil && rec.ttlMS <= 0 {
			perr = errors.New("no ttl_ms")
		}
		if perr != nil {
			return ha.Grant{}, nil, fmt.Errorf("aws: lease %s: renew: the renewed hold's ttl could not be read back: %w", key, perr)
		}
		ttl = time.Duration(rec.ttlMS) * time.Millisecond
	}
	return ha.Grant{Key: key, Node: node, Epoch: epoch, Valid: start.Add(ttl), ID: int64(epoch)}, nil, nil
}

// lost builds the ErrLost error of a renewal whose condition failed,
// saying who holds the key now when that is known.
func (l *Lease) lost(ctx context.Context, key string, item map[string]types.AttributeValue) error {
	var rec leaseRecord
	var found bool
	var err error
	if len(item) > 0 {
		found = true
		rec, err = leaseParse(l.table, key, item)
	} else {
		rec, found, err = l.readHold(ctx, key)
	}
	switch {
	case err != nil:
		return fmt.Errorf("aws: lease %s: renew: %w", key, ha.ErrLost)
	case !found:
		return fmt.Errorf("aws: lease %s: renew: %w: the item was deleted", key, ha.ErrLost)
	case rec.holder == "":
		return fmt.Errorf("aws: lease %s: renew: %w: released (epoch %d)", key, ha.ErrLost, rec.epoch)
	}
	return fmt.Errorf("aws: lease %s: renew: %w: now held by node %q (epoch %d)", key, ha.ErrLost, rec.holder, rec.epoch)
}

// Renew extends g for its ttl under the condition that g's node still
// holds the key at g's epoch. It returns the Grant with a new Valid: the
// local monotonic time before the write plus the ttl. Renewing after
// Valid passed succeeds while nobody took the key over (a takeover
// raises the epoch). It fails with [ha.ErrLost] when the hold is gone
// (taken over, released, the item deleted), with another error when
// DynamoDB could not be asked, in which case the hold may still be alive
// until g.Valid.
func (l *Lease) Renew(ctx context.Context, g ha.Grant) (ha.Grant, error) {
	if err := leaseCheckKey(g.Key, g.Node); err != nil {
		return ha.Grant{}, err
	}
	ng, old, err := l.extend(ctx, g.Key, g.Node, g.Epoch, 0, false)
	if errors.Is(err, errLeaseCondition) {
		return ha.Grant{}, l.lost(ctx, g.Key, old)
	}
	if err != nil {
		return ha.Grant{}, err
	}
	l.log.Debug("aws: lease renewed", "key", g.Key, "node", g.Node, "epoch", g.Epoch)
	return ng, nil
}

// Release gives g up: the item keeps its epoch with holder "" and
// expires_ms 0, so another node can acquire it at once. The write is
// conditioned on g's node and epoch: a hold already lost (or a zero
// Grant) is not an error and is left as it is.
func (l *Lease) Release(ctx context.Context, g ha.Grant) error {
	if g.Key == "" {
		return nil
	}
	if err := leaseCheckKey(g.Key, g.Node); err != nil {
		return err
	}
	now := l.now()
	cctx, cancel := l.c.call(ctx)
	defer cancel()
	_, err := l.c.dynamo.UpdateItem(cctx, &dynamodb.UpdateItemInput{
		TableName:           sdkaws.String(l.table),
		Key:                 leaseKeyOf(g.Key),
		UpdateExpression:    sdkaws.String("SET #h = :none, #x = :zero, #r = :now, #v = :ver"),
		ConditionExpression: sdkaws.String("#h = :me AND #e = :e"),
		ExpressionAttributeNames: map[string]string{"#h": leaseAttrHolder, "#e": leaseAttrEpoch,
			"#x": leaseAttrExpires, "#r": leaseAttrRenewed, "#v": leaseAttrVersion},
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":none": leaseS(""), ":zero": leaseN(0), ":now": leaseN(now.UnixMilli()),
			":ver": leaseS(leaseVersion()), ":me": leaseS(g.Node), ":e": leaseNU(uint64(g.Epoch)),
		},
	})
	if err != nil {
		if _, ok := leaseCondFailed(err); ok {
			l.log.Debug("aws: lease release: the hold was already lost", "key", g.Key, "node", g.Node, "epoch", g.Epoch)
			return nil
		}
		return fmt.Errorf("aws: lease %s: release: %w", g.Key, err)
	}
	l.log.Debug("aws: lease released", "key", g.Key, "node", g.Node, "epoch", g.Epoch)
	return nil
}

// Holder returns the node that holds key and its hold's epoch, or "" and
// 0 when nobody does: no item, released, or expired more than
// MaxClockSkew ago by this node's clock (then any node may take it).
func (l *Lease) Holder(ctx context.Context, key string) (string, ha.Epoch, error) {
	if err := leaseCheckKey(key, "-"); err != nil {
		return "", 0, err
	}
	rec, found, err := l.readHold(ctx, key)
	if err != nil {
		return "", 0, fmt.Errorf("aws: lease %s: holder: %w", key, err)
	}
	if !found || !rec.held(l.now().UnixMilli(), l.skew) {
		return "", 0, nil
	}
	return rec.holder, ha.Epoch(rec.epoch), nil
}

// Claim records, once, that the holder of key at epoch does item (a due
// time of a job network), as the etcd lease's Claim does. It returns true
// when this call made the claim; false when key is not held at epoch
// (a newer epoch, released, or expired by this node's clock) or item was
// claimed already; an error when DynamoDB could not be asked. A claim is
// the item "<key>/claim/<item>" (attributes epoch, state, token,
// claimed_ms, and ttl = now + keep in unix seconds, for DynamoDB's Time
// to Live: enable it on "ttl"); keep is at least a minute.
//
// DynamoDB writes one item atomically, so a claim takes three requests:
// a conditional PutItem makes it "pending" (when absent, or pending under
// an epoch not above ours); a consistent read checks that key is held at
// epoch; an UpdateItem conditioned on this attempt's random token makes
// it "done". A newer holder may take over a claim left pending by a
// deposed one, which then fails to confirm it; a done claim is never
// taken again, so item runs at most once until its claim is deleted.
func (l *Lease) Claim(ctx context.Context, key string, epoch ha.Epoch, item string, keep time.Duration) (bool, error) {
	if key == "" || item == "" {
		return false, errors.New("aws: lease: claim: empty key or item")
	}
	keep = max(keep, MinClaimKeep)
	ck := key + leaseClaimInfix + item
	token := leaseVersion()
	now := l.now()
	names := map[string]string{"#k": leaseAttrKey, "#st": leaseAttrState, "#e": leaseAttrEpoch}
	cctx, cancel := l.c.call(ctx)
	_, err := l.c.dynamo.PutItem(cctx, &dynamodb.PutItemInput{
		TableName: sdkaws.String(l.table),
		Item: map[string]types.AttributeValue{
			leaseAttrKey:     leaseS(ck),
			leaseAttrEpoch:   leaseNU(uint64(epoch)),
			leaseAttrState:   leaseS(leaseClaimPending),
			leaseAttrToken:   leaseS(token),
			leaseAttrClaimed: leaseN(now.UnixMilli()),
			leaseAttrTTL:     leaseN(now.Add(keep).Unix()),
		},
		ConditionExpression:      sdkaws.String("attribute_not_exists(#k) OR (#st = :pending AND #e <= :e)"),
		ExpressionAttributeNames: names,
		ExpressionAttributeValues: map[string]types.AttributeValue{
			":pending": leaseS(leaseClaimPending), ":e": leaseNU(uint64(epoch)),
		},
	})
	cancel()
	if err != nil {
		if _, ok := leaseCondFailed(err); ok {
			return false, nil
		}
		return false, fmt.Errorf("aws: lease %s: claim %s: %w", key, item, err)
	}

	rec, found, err := l.readHold(ctx, key)
	if err != nil {
		return false, fmt.Errorf("aws: lease %s: claim %s: read the holder: %w", key, item, err)
	}
	if !found || rec.holder == "" || ha.Epoch(rec.epoch) != epoch || l.now().UnixMilli() > rec.expiresMS {
		l.log.Debug("aws: lease claim: not held at the epoch", "key", key, "item", item, "epoch", epoch, "holder", rec.holder, "held_epoch", rec.epoch)
		return false, nil
	}

	cctx, cancel = l.c.call(ctx)
	defer cancel()
	_, err = l.c.dynamo.UpdateItem(cctx, &dynamodb.UpdateItemInput{
		TableName:                 sdkaws.String(l.table),
		Key:                       leaseKeyOf(ck),
		UpdateExpression:          sdkaws.String("SET #st = :done"),
		ConditionExpression:       sdkaws.String("#tok = :tok"),
		ExpressionAttributeNames:  map[string]string{"#st": leaseAttrState, "#tok": leaseAttrToken},
		ExpressionAttributeValues: map[string]types.AttributeValue{":done": leaseS(leaseClaimDone), ":tok": leaseS(token)},
	})
	if err != nil {
		if _, ok := leaseCondFailed(err); ok {
			return false, nil
		}
		return false, fmt.Errorf("aws: lease %s: claim %s: confirm: %w", key, item, err)
	}
	l.log.Debug("aws: lease claim made", "key", key, "item", item, "epoch", epoch)
	return true, nil
}

// Check verifies that the table exists and is keyed as a Lease needs:
// the partition key "key" of type String and no sort key. The error
// says what is wrong and what to create.
func (l *Lease) Check(ctx context.Context) error {
	cctx, cancel := l.c.call(ctx)
	defer cancel()
	out, err := l.c.dynamo.DescribeTable(cctx, &dynamodb.DescribeTableInput{TableName: sdkaws.String(l.table)})
	const want = `the partition key "key" of type String and no sort key`
	if err != nil {
		var nf *types.ResourceNotFoundException
		if errors.As(err, &nf) || errorCode(err) == "ResourceNotFoundException" {
			return fmt.Errorf("aws: lease table %s: not found in region %s; create it with %s, and enable Time to Live on the attribute \"ttl\": %w", l.table, l.c.region, want, err)
		}
		return fmt.Errorf("aws: lease table %s: describe: %w", l.table, err)
	}
	t := out.Table
	if t == nil {
		return fmt.Errorf("aws: lease table %s: DescribeTable returned no table", l.table)
	}
	var schema []string
	keyOK := false
	for _, k := range t.KeySchema {
		name := sdkaws.ToString(k.AttributeName)
		schema = append(schema, fmt.Sprintf("%s (%s)", name, k.KeyType))
		if name == leaseAttrKey && k.KeyType == types.KeyTypeHash {
			keyOK = true
		}
	}
	if !keyOK || len(t.KeySchema) != 1 {
		return fmt.Errorf("aws: lease table %s: key schema is %s; want %s", l.table, strings.Join(schema, ", "), want)
	}
	for _, d := range t.AttributeDefinitions {
		if sdkaws.ToString(d.AttributeName) == leaseAttrKey && d.AttributeType != types.ScalarAttributeTypeS {
			return fmt.Errorf("aws: lease table %s: the partition key \"key\" is of type %s; want %s", l.table, d.AttributeType, want)
		}
	}
	switch t.TableStatus {
	case "", types.TableStatusActive, types.TableStatusUpdating:
	default:
		return fmt.Errorf("aws: lease table %s: status %s; want ACTIVE", l.table, t.TableStatus)
	}
	return nil
}
