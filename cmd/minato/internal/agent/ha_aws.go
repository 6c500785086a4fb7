package agent

import (
	"context"
	"fmt"
	"time"

	"github.com/minato-ops/minato/ha"
	haaws "github.com/minato-ops/minato/ha/aws"
	"github.com/minato-ops/minato/monitor"
)

// PerNodeConfig is CLUSTERPRO's "set individually" tab: the values of an
// AWS resource or monitor that differ per node, keyed by node name in
// per_node. Empty values keep the common ones (and an empty common ENI,
// IP or zone is this instance's own, from the instance metadata).
type PerNodeConfig struct {
	ENI  string `json:"eni,omitempty"`
	IP   string `json:"ip,omitempty"`
	Zone string `json:"zone,omitempty"`
}

// GroupMonitorConfig is a monitor of a group that is not one of its
// resources' own: CLUSTERPRO's AWS AZ monitor.
type GroupMonitorConfig struct {
	Name string `json:"name"`
	// AWSAZ watches this node's availability zone.
	AWSAZ *haaws.AZConfig `json:"aws_az,omitempty"`
	// PerNode overrides the zone per node.
	PerNode map[string]PerNodeConfig `json:"per_node,omitempty"`
	// Policy is how it runs and recovers; for aws_az the default
	// restarts nothing (-1) and fails the group over once: CLUSTERPRO's
	// recovery target LocalServer.
	Policy ha.RecoveryPolicy `json:"policy"`
	// Recover names the resource restarted by the recovery; empty means
	// the whole group.
	Recover string `json:"recover,omitempty"`
}

// awsClients loads the AWS clients once (the SDK's default chain, the
// instance metadata for the region), when the ha: section needs them.
func (a *Agent) awsClients() (*haaws.Clients, error) {
	if a.aws != nil {
		return a.aws, nil
	}
	var cfg haaws.Config
	if c := a.cfg.HA.AWS; c != nil {
		cfg = *c
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := haaws.Load(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("ha.aws: %w", err)
	}
	a.aws = c
	return c, nil
}

// awsResource builds an AWS resource for this node, nil when rc has none.
func (a *Agent) awsResource(rc ResourceConfig) (ha.Resource, error) {
	if rc.AWSVIP == nil && rc.AWSEIP == nil && rc.AWSDNS == nil {
		return nil, nil
	}
	c, err := a.awsClients()
	if err != nil {
		return nil, err
	}
	own := rc.PerNode[a.cfg.HA.Node]
	log := haaws.WithLogger(a.log.With("component", "ha", "resource", rc.Name))
	switch {
	case rc.AWSVIP != nil:
		v := *rc.AWSVIP
		if own.ENI != "" {
			v.ENI = own.ENI
		}
		return haaws.NewVIP(c, v, log)
	case rc.AWSEIP != nil:
		v := *rc.AWSEIP
		if own.ENI != "" {
			v.ENI = own.ENI
		}
		return haaws.NewEIP(c, v, log)
	default:
		v := *rc.AWSDNS
		if own.IP != "" {
			v.IP = own.IP
		}
		if v.IP == "" {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			self, err := c.Self(ctx)
			if err != nil {
				return nil, fmt.Errorf("aws_dns.ip: not given, and this instance's private address could not be learned: %w", err)
			}
			if self.PrivateIP == "" {
				return nil, fmt.Errorf("aws_dns.ip: not given, and instance %s has no private IPv4 address", self.ID)
			}
			v.IP = self.PrivateIP
		}
		return haaws.NewDNS(c, v, log)
	}
}

// clusterproMonitorName is the name CLUSTERPRO gives the monitor it adds
// with a resource: a "w" before the trailing digits (awsvip1 → awsvipw1,
// vip → vipw).
func clusterproMonitorName(res string) string {
	i := len(res)
	for i > 0 && res[i-1] >= '0' && res[i-1] <= '9' {
		i--
	}
	return res[:i] + "w" + res[i:]
}

// awsMemberDefaults fills the defaults an AWS resource needs beyond the
// common ones: the DNS resource's monitor waits before its first check
// (CLUSTERPRO's wait time to start monitoring, longer than Route 53's
// propagation) and its activation may wait up to its INSYNC bound.
func awsMemberDefaults(rc ResourceConfig) ResourceConfig {
	if rc.MonitorName == "" && (rc.AWSVIP != nil || rc.AWSEIP != nil || rc.AWSDNS != nil) {
		rc.MonitorName = clusterproMonitorName(rc.Name)
	}
	if rc.AWSDNS == nil {
		return rc
	}
	if rc.Policy.StartWait == 0 {
		rc.Policy.StartWait = haaws.DNSMonitorStartWait
	}
	if rc.ActivateTimeout == 0 {
		rc.ActivateTimeout = 90 * time.Second
	}
	return rc
}

// groupMonitor builds a group monitor for this node.
func (a *Agent) groupMonitor(mc GroupMonitorConfig) (ha.GroupMonitor, error) {
	c, err := a.awsClients()
	if err != nil {
		return ha.GroupMonitor{}, err
	}
	z := *mc.AWSAZ
	if own := mc.PerNode[a.cfg.HA.Node]; own.Zone != "" {
		z.Zone = own.Zone
	}
	m, err := haaws.NewAZMonitor(c, z, haaws.WithLogger(a.log.With("component", "ha", "monitor", mc.Name)))
	if err != nil {
		return ha.GroupMonitor{}, err
	}
	p := mc.Policy
	if p.Restarts == 0 && mc.Recover == "" {
		p.Restarts = -1
	}
	return ha.GroupMonitor{Name: mc.Name, Monitor: monitor.Monitor(m), Policy: p, Recover: mc.Recover}, nil
}
