package aws

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"
)

// Defaults and limits of [FenceConfig].
const (
	// DefaultFenceTimeout bounds one fencing, checks and wait included:
	// fence_aws's power_timeout.
	DefaultFenceTimeout = 60 * time.Second
	// MaxFenceTimeout is the longest Timeout accepted.
	MaxFenceTimeout = 30 * time.Minute
)

// Polling of the fenced instance's state: the first read comes this long
// after StopInstances, then the interval grows by half up to the cap.
const (
	fencePollFirst = 250 * time.Millisecond
	fencePollMax   = 2 * time.Second
)

// fenceInstanceID is the shape of an EC2 instance ID ("i-" and hex
// digits on AWS; test endpoints use shorter names).
var fenceInstanceID = regexp.MustCompile(`^i-[0-9a-zA-Z]{1,32}$`)

// Errors of a [Fence], wrapped in a [*FenceError].
var (
	// ErrFenceUnknownNode: the node has no instance in the configuration.
	ErrFenceUnknownNode = errors.New("the node is not in the fencing configuration")
	// ErrFenceSelf: the node to fence is this instance itself.
	ErrFenceSelf = errors.New("refusing to fence this instance itself")
	// ErrFenceNotFound: EC2 does not know the instance in the clients'
	// region (another region or account, or a mistyped ID).
	ErrFenceNotFound = errors.New("the instance does not exist in this region")
	// ErrFenceSelfNotRunning: this instance is not running (it is being
	// stopped itself), so it must not fence a peer: fence_aws's guard
	// against two nodes stopping each other.
	ErrFenceSelfNotRunning = errors.New("this instance is not running, so it fences nobody")
	// ErrFenceTimeout: the instance did not reach the awaited state within
	// the Timeout.
	ErrFenceTimeout = errors.New("the instance did not stop in time")
)

// FenceError is the error of [Fence.Fence] and [Fence.Check]: which node
// and instance, the instance's last known state, and why (an Err
// wrapping one of the ErrFence errors, or the AWS error).
type FenceError struct {
	// Node is the node asked for and Instance its instance ID ("" when
	// unknown).
	Node, Instance string
	// State is the instance's last state read ("" when none was).
	State string
	// Err says what went wrong.
	Err error
}

// Error says which node and instance, and what went wrong.
func (e *FenceError) Error() string {
	var b strings.Builder
	b.WriteString("aws: fence")
	if e.Node != "" {
		fmt.Fprintf(&b, " node %q", e.Node)
	}
	if e.Instance != "" {
		fmt.Fprintf(&b, " (instance %s", e.Instance)
		if e.State != "" {
			b.WriteString(", " + e.State)
		}
		b.WriteString(")")
	}
	b.WriteString(": ")
	if e.Err != nil {
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns Err.
func (e *FenceError) Unwrap() error { return e.Err }

// FenceConfig says which EC2 instance each node runs on and how a
// [Fence] stops it. It is plain data with json tags; zero fields mean
// their defaults.
type FenceConfig struct {
	// Instances maps each node's name to its EC2 instance ID (in the
	// clients' region). Required.
	Instances map[string]string `json:"instances"`
	// Graceful gives the instance's OS a chance to shut down before EC2
	// forces it off. Default false: EC2 skips the OS shutdown
	// (SkipOsShutdown), as fence_aws does by default, so the peer stops at
	// once. Either way the stop is forced (Force).
	Graceful bool `json:"graceful,omitempty"`
	// AcceptStopping ends a fencing as soon as EC2 reports the instance
	// "stopping" (the stop can no longer be undone), instead of waiting
	// for "stopped" as fence_aws does. Faster; the peer may run a moment
	// longer, which is safe when its writes are fenced by the lease's
	// epoch.
	AcceptStopping bool `json:"accept_stopping,omitempty"`
	// Timeout bounds one fencing, checks and wait included. Default 60 s
	// (fence_aws's power_timeout), at most 30 min.
	Timeout time.Duration `json:"timeout,omitempty"`
}

// WithDefaults returns c with its zero fields set to the defaults.
func (c FenceConfig) WithDefaults() FenceConfig {
	if c.Timeout == 0 {
		c.Timeout = DefaultFenceTimeout
	}
	return c
}

// Validate reports every problem of c, joined, each naming its field by
// its json name.
func (c FenceConfig) Validate() error {
	var errs []error
	if len(c.Instances) == 0 {
		errs = append(errs, errors.New(`instances: none; want each node's instance ID, such as {"node-a": "i-0123456789abcdef0"}`))
	}
	byID := map[string]string{}
	for _, node := range slices.Sorted(maps.Keys(c.Instances)) {
		id := c.Instances[node]
		switch {
		case node == "":
			errs = append(errs, fmt.Errorf("instances: an empty node name (instance %q)", id))
		case !fenceInstanceID.MatchString(id):
			errs = append(errs, fmt.Errorf("instances.%s: %q: want an EC2 instance ID such as i-0123456789abcdef0", node, id))
		case byID[id] != "":
			errs = append(errs, fmt.Errorf("instances.%s: %s is also node %s's instance; want one instance per node", node, id, byID[id]))
		default:
			byID[id] = node
		}
	}
	if c.Timeout < 0 || c.Timeout > MaxFenceTimeout {
		errs = append(errs, fmt.Errorf("timeout: %s: want 0 to %s (0 for the default %s)", c.Timeout, MaxFenceTimeout, DefaultFenceTimeout))
	}
	return errors.Join(errs...)
}

// Fence stops the EC2 instance of a node that went silent, so that it
// cannot act while another node takes its groups over: STONITH as
// Pacemaker's fence_aws does it, with StopInstances forced. Like
// fence_aws it refuses to fence when this instance is not itself running
// (both nodes of a partition fencing each other at once, the one being
// stopped must not stop the other), and it treats an instance already
// stopped as fenced. It also refuses to fence its own instance, a node
// it has no instance for, and an instance EC2 does not know in the
// clients' region. This instance's ID comes from the instance metadata
// service (IMDSv2) and is kept once read ([Fence.Check] reads it at
// startup), so that fencing does not depend on the metadata service
// answering at the moment it is needed.
//
// A Fence is safe for concurrent use.
type Fence struct {
	c         *Clients
	instances map[string]string
	graceful  bool
	stopping  bool
	timeout   time.Duration
	log       *slog.Logger
	self      func(ctx context.Context) (string, error)
	// pollFirst and pollMax pace the state reads after a stop.
	pollFirst, pollMax time.Duration

	mu     sync.Mutex
	selfID string // this instance's ID once known: it never changes
}

// me returns this instance's ID, asking the instance metadata service
// only until it has answered once.
func (f *Fence) me(ctx context.Context) (string, error) {
	f.mu.Lock()
	id := f.selfID
	f.mu.Unlock()
	if id != "" {
		return id, nil
	}
	id, err := f.self(ctx)
	if err != nil {
		return "", err
	}
	f.mu.Lock()
	f.selfID = id
	f.mu.Unlock()
	return id, nil
}

// NewFence returns a Fence for the instances cfg lists, called through
// c. It makes no call; [Fence.Check] verifies the instances.
func NewFence(c *Clients, cfg FenceConfig, opts ...Option) (*Fence, error) {
	if c == nil || c.ec2 == nil {
		return nil, errors.New("aws: fence: no EC2 client; build the clients with Load")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("aws: fence: %w", err)
	}
	cfg = cfg.WithDefaults()
	o := buildOptions(opts)
	return &Fence{
		c:         c,
		instances: maps.Clone(cfg.Instances),
		graceful:  cfg.Graceful,
		stopping:  cfg.AcceptStopping,
		timeout:   cfg.Timeout,
		log:       o.log,
		self:      func(ctx context.Context) (string, error) { return fenceSelfID(ctx, c) },
		pollFirst: fencePollFirst,
		pollMax:   fencePollMax,
	}, nil
}

// fenceState is what DescribeInstances says of one instance.
type fenceState struct {
	found bool
	state types.InstanceStateName
}

// state reads the state of instance id; an unknown instance is not an
// error (found is false).
func (f *Fence) state(ctx context.Context, id string) (fenceState, error) {
	cctx, cancel := f.c.call(ctx)
	defer cancel()
	out, err := f.c.ec2.DescribeInstances(cctx, &ec2.DescribeInstancesInput{InstanceIds: []string{id}})
	if err != nil {
		if strings.HasPrefix(errorCode(err), "InvalidInstanceID.") { // NotFound, Malformed
			return fenceState{}, nil
		}
		return fenceState{}, err
	}
	for _, r := range out.Reservations {
		for _, in := range r.Instances {
			if sdkaws.ToString(in.InstanceId) == id && in.State != nil {
				return fenceState{found: true, state: in.State.Name}, nil
			}
		}
	}
	return fenceState{}, nil
}

// done reports whether an instance in state s counts as fenced.
func (f *Fence) done(s types.InstanceStateName) bool {
	switch s {
	case types.InstanceStateNameStopped, types.InstanceStateNameTerminated:
		return true
	case types.InstanceStateNameStopping, types.InstanceStateNameShuttingDown:
		return f.stopping
	}
	return false
}

// Fence stops node's instance and waits until EC2 reports it stopped
// (or stopping, with AcceptStopping), within the Timeout. In order: the
// node must have an instance; this instance's ID (from the instance
// metadata service) must differ from it; the instance must exist in the
// region, and one already stopped is success at once; this instance
// must be running; then StopInstances with Force (and SkipOsShutdown
// unless Graceful), repeated while the instance is still pending or
// running, and DescribeInstances until the awaited state.
//
// Every error is a [*FenceError]: wrapping [ErrFenceUnknownNode],
// [ErrFenceSelf], [ErrFenceNotFound], [ErrFenceSelfNotRunning] or
// [ErrFenceTimeout], or AWS's error (a refused permission, throttling
// that outlasted the retries). Calling it again after any error is safe.
func (f *Fence) Fence(ctx context.Context, node string) error {
	id, ok := f.instances[node]
	if !ok {
		return &FenceError{Node: node, Err: fmt.Errorf("%w (it knows %s)", ErrFenceUnknownNode, strings.Join(slices.Sorted(maps.Keys(f.instances)), ", "))}
	}
	fail := func(state types.InstanceStateName, err error) error {
		return &FenceError{Node: node, Instance: id, State: string(state), Err: err}
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()

	self, err := f.me(ctx)
	if err != nil {
		return fail("", fmt.Errorf("this instance's ID is unknown, so it fences nobody: %w", err))
	}
	if self == id {
		return fail("", ErrFenceSelf)
	}
	target, err := f.state(ctx, id)
	if err != nil {
		return fail("", fmt.Errorf("describe the instance: %w", err))
	}
	if !target.found {
		return fail("", fmt.Errorf("%w (%s)", ErrFenceNotFound, f.c.region))
	}
	if f.done(target.state) {
		f.log.Info("aws: fence: the instance is already "+string(target.state), "node", node, "instance", id)
		return nil
	}
	me, err := f.state(ctx, self)
	switch {
	case err != nil:
		return fail(target.state, fmt.Errorf("describe this instance %s: %w", self, err))
	case !me.found:
		return fail(target.state, fmt.Errorf("this instance %s: %w (%s)", self, ErrFenceNotFound, f.c.region))
	case me.state != types.InstanceStateNameRunning:
		return fail(target.state, fmt.Errorf("%w (this instance %s is %s)", ErrFenceSelfNotRunning, self, me.state))
	}

	// Stop, then read the state until it is the awaited one. The stop is
	// sent again while the instance is still pending or running (a
	// pending instance cannot be stopped yet), or when it failed for lack
	// of an answer.
	state, lastErr, needStop := target.state, error(nil), true
	wait := f.pollFirst
	for {
		if needStop {
			err := f.stop(ctx, node, id)
			if err != nil && !unavailable(err) && errorCode(err) != "IncorrectInstanceState" {
				return fail(state, fmt.Errorf("stop the instance: %w", err))
			}
			needStop = err != nil
			if err != nil {
				lastErr = err
			}
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			if parent.Err() != nil {
				return fail(state, parent.Err())
			}
			if lastErr != nil {
				return fail(state, fmt.Errorf("%w (%s; last error: %w)", ErrFenceTimeout, f.timeout, lastErr))
			}
			return fail(state, fmt.Errorf("%w (%s)", ErrFenceTimeout, f.timeout))
		case <-t.C:
		}
		wait = min(wait*3/2, f.pollMax)
		st, err := f.state(ctx, id)
		switch {
		case err != nil:
			lastErr = err
			continue
		case !st.found:
			return fail(state, fmt.Errorf("%w (%s): it vanished while being stopped", ErrFenceNotFound, f.c.region))
		}
		state = st.state
		if f.done(state) {
			f.log.Info("aws: fence: the instance is "+string(state), "node", node, "instance", id)
			return nil
		}
		needStop = needStop || state == types.InstanceStateNameRunning || state == types.InstanceStateNamePending
	}
}

// stop sends StopInstances for id.
func (f *Fence) stop(ctx context.Context, node, id string) error {
	cctx, cancel := f.c.call(ctx)
	defer cancel()
	_, err := f.c.ec2.StopInstances(cctx, &ec2.StopInstancesInput{
		InstanceIds:    []string{id},
		Force:          sdkaws.Bool(true),
		SkipOsShutdown: sdkaws.Bool(!f.graceful),
	})
	if err == nil {
		f.log.Info("aws: fence: StopInstances sent", "node", node, "instance", id, "skip_os_shutdown", !f.graceful)
	}
	return err
}

// Check verifies that this instance's ID can be read from the instance
// metadata service (it is kept, so a later fencing does not depend on
// it) and that EC2 knows every configured instance in the clients'
// region. It returns a [*FenceError] naming the first problem.
func (f *Fence) Check(ctx context.Context) error {
	if _, err := f.me(ctx); err != nil {
		return &FenceError{Err: fmt.Errorf("this instance's ID is unknown: %w", err)}
	}
	for _, node := range slices.Sorted(maps.Keys(f.instances)) {
		id := f.instances[node]
		st, err := f.state(ctx, id)
		if err != nil {
			return &FenceError{Node: node, Instance: id, Err: fmt.Errorf("describe the instance: %w", err)}
		}
		if !st.found {
			return &FenceError{Node: node, Instance: id, Err: fmt.Errorf("%w (%s)", ErrFenceNotFound, f.c.region)}
		}
	}
	return nil
}

// fenceSelfID returns this instance's ID from the instance metadata
// service (IMDSv2), with its diagnosis of a container's hop limit.
func fenceSelfID(ctx context.Context, c *Clients) (string, error) {
	in, err := c.Self(ctx)
	if err != nil {
		return "", err
	}
	return in.ID, nil
}
