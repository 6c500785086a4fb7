package aws

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
)

// AZConfig is one node's view of CLUSTERPRO's AWS AZ monitor: the
// availability zone to watch, normally the node's own.
type AZConfig struct {
	// Zone is the availability zone's name (ap-northeast-1a). Empty means
	// this instance's own zone, learnt from the instance metadata service
	// at first use.
	Zone string `json:"zone,omitempty"`
}

// Validate reports a zone name that cannot be one: it must be lower-case
// letters, digits and hyphens, at most 64 characters. Whether the zone
// exists is AWS's answer, at Check.
func (c AZConfig) Validate() error {
	if c.Zone == "" {
		return nil
	}
	if len(c.Zone) > 64 || strings.IndexFunc(c.Zone, func(r rune) bool {
		return (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-'
	}) >= 0 || strings.HasPrefix(c.Zone, "-") {
		return fmt.Errorf("zone: %q: want an availability zone name such as ap-northeast-1a (lower-case letters, digits and hyphens), or nothing for this instance's own zone", c.Zone)
	}
	return nil
}

// AZMonitor is CLUSTERPRO's AWS AZ monitor (awsazw) as a monitor.Monitor:
// it asks EC2 how the availability zone is (DescribeAvailabilityZones).
// Its recovery target is the local node: an unhealthy zone fails the
// node's groups over to a node in another zone. Its methods are safe for
// concurrent use.
type AZMonitor struct {
	c   *Clients
	log *slog.Logger
	now func() time.Time

	mu   sync.Mutex
	zone string
}

var _ monitor.Monitor = (*AZMonitor)(nil)

// NewAZMonitor returns the AZ monitor cfg describes, calling AWS through
// c. It validates cfg; it calls nothing.
func NewAZMonitor(c *Clients, cfg AZConfig, opts ...Option) (*AZMonitor, error) {
	if c == nil {
		return nil, errors.New("aws: AZ monitor: no AWS clients (build them with Load)")
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("aws: AZ monitor: invalid config: %w", err)
	}
	o := buildOptions(opts)
	return &AZMonitor{c: c, log: o.log, now: o.now, zone: cfg.Zone}, nil
}

// Zone returns the watched zone: the configured one, or this instance's
// own from the instance metadata service (asked once, then remembered).
// Errors are *[ha.ResourceError]s.
func (m *AZMonitor) Zone(ctx context.Context) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.zone != "" {
		return m.zone, nil
	}
	in, err := m.c.Self(ctx)
	if err != nil {
		return "", imdsResourceError("this node's availability zone", err)
	}
	if in.Zone == "" {
		return "", &ha.ResourceError{Code: ha.CodeFailed, Detail: fmt.Sprintf("Instance %s has no availability zone in its instance metadata: set the zone in the configuration.", in.ID)}
	}
	m.zone = in.Zone
	m.log.Info("AZ monitor: this node's zone learnt from the instance metadata", "zone", in.Zone, "instance", in.ID)
	return m.zone, nil
}

// Check asks EC2 for the zone's state (DescribeAvailabilityZones with
// its name):
//
//   - available: OK;
//   - information (available, with messages from AWS) or constrained
//     (short of capacity for new instances; running ones are not
//     affected): Warning, code 0, AWS's messages in the text;
//   - impaired, unavailable, or any other state: Critical,
//     [CodeAZUnhealthy], "The availability zone <zone> is <state>.".
//     Being a result, not an error, it is acted on whatever the
//     monitor's OnUnreachable says: as CLUSTERPRO's guide puts it,
//     errors other than AWS CLI failures can still be detected.
//
// When AWS cannot be asked or refuses, Check returns the error as a
// *[ha.ResourceError]: 6 "Timeout occurred.", or 5 with AWS's text (an
// unknown zone gives "Invalid availability zone: [<zone>]") or "Failed in
// the AWS CLI command.", so the monitor's [ha.RecoveryPolicy].OnUnreachable
// decides (warnings 106 and 105 by default). The Target is not used.
func (m *AZMonitor) Check(ctx context.Context, _ inventory.Target) (monitor.Result, error) {
	zone, err := m.Zone(ctx)
	if err != nil {
		return monitor.Result{}, err
	}
	cctx, cancel := m.c.call(ctx)
	out, err := m.c.ec2.DescribeAvailabilityZones(cctx, &ec2.DescribeAvailabilityZonesInput{ZoneNames: []string{zone}})
	cancel()
	if err != nil {
		return monitor.Result{}, apiError(err)
	}
	var az *types.AvailabilityZone
	for i := range out.AvailabilityZones {
		if sdkaws.ToString(out.AvailabilityZones[i].ZoneName) == zone {
			az = &out.AvailabilityZones[i]
		}
	}
	if az == nil {
		// AWS answers an unknown name with this error; an answer without
		// the zone means the same.
		return monitor.Result{}, ha.Errorf(ha.CodeFailed, "Invalid availability zone: [%s]", zone)
	}
	var msgs []string
	for _, mg := range az.Messages {
		if s := strings.TrimSpace(sdkaws.ToString(mg.Message)); s != "" {
			msgs = append(msgs, s)
		}
	}
	res := monitor.Result{Time: m.now()}
	switch az.State {
	case types.AvailabilityZoneStateAvailable:
		res.Status, res.Message = monitor.OK, fmt.Sprintf("The availability zone %s is available.", zone)
	case types.AvailabilityZoneStateInformation, types.AvailabilityZoneStateConstrained:
		res.Status, res.Message = monitor.Warning, fmt.Sprintf("The availability zone %s is %s", zone, az.State)
		if len(msgs) > 0 {
			res.Message += ": " + strings.Join(msgs, "; ")
		}
		res.Message += "."
	default:
		state := string(az.State)
		if state == "" {
			state = "in no state AWS names"
		}
		res.Status, res.Code, res.Message = monitor.Critical, CodeAZUnhealthy, fmt.Sprintf("The availability zone %s is %s.", zone, state)
		m.log.Warn("AZ monitor: the zone is not healthy", "zone", zone, "state", state, "aws_messages", strings.Join(msgs, "; "))
	}
	return res, nil
}
