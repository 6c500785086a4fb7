package aws

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"

	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/smithy-go/middleware"
	smithyhttp "github.com/aws/smithy-go/transport/http"
	"golang.org/x/sync/errgroup"

	"github.com/minato-ops/minato/ha"
)

// Instance is this EC2 instance as its instance metadata service (IMDSv2)
// describes it.
type Instance struct {
	// ID is the instance ID ("i-0123456789abcdef0").
	ID string `json:"id"`
	// Region and Zone are where it runs ("ap-northeast-1",
	// "ap-northeast-1a").
	Region string `json:"region"`
	Zone   string `json:"zone"`
	// PrivateIP is the primary private IPv4 address of its primary ENI.
	PrivateIP string `json:"private_ip"`
	// ENIs are its network interfaces, by device index.
	ENIs []ENI `json:"enis"`
}

// ENI is one network interface of an [Instance].
type ENI struct {
	// ID is the ENI's ID ("eni-0123…") and MAC its MAC address.
	ID  string `json:"id"`
	MAC string `json:"mac"`
	// DeviceIndex is its attachment's device index; 0 is the primary ENI.
	DeviceIndex int `json:"device_index"`
	// SubnetID and VPCID say where it is.
	SubnetID string `json:"subnet_id"`
	VPCID    string `json:"vpc_id"`
	// PrivateIPs are its private IPv4 addresses, the primary one first.
	PrivateIPs []string `json:"private_ips"`
}

// PrimaryENI returns the ENI at device index 0, and whether there is one.
func (i Instance) PrimaryENI() (ENI, bool) {
	for _, e := range i.ENIs {
		if e.DeviceIndex == 0 {
			return e, true
		}
	}
	return ENI{}, false
}

// ErrIMDSHopLimit is wrapped by the error of [Clients.Self] when the
// IMDSv2 token request got no answer while this process runs in a
// container: the usual cause is the instance's PUT response hop limit.
var ErrIMDSHopLimit = errors.New("the IMDSv2 token request got no answer from inside a container: the instance's metadata hop limit is probably 1")

// imdsMaxBody bounds what one metadata answer may be.
const imdsMaxBody = 64 << 10

// imdsTokenHeader is the request header that carries the IMDSv2 token.
const imdsTokenHeader = "X-Aws-Ec2-Metadata-Token"

// Seams of the hop-limit diagnosis (tests replace them).
var (
	// imdsInContainer reports whether this process runs in a container.
	imdsInContainer = imdsDetectContainer
	// imdsAssetTagPath is where Nitro instances expose their instance ID
	// without the metadata service.
	imdsAssetTagPath = "/sys/devices/virtual/dmi/id/board_asset_tag"
)

// Self asks the instance metadata service (IMDSv2, through the clients'
// IMDS endpoint) who this instance is: its ID, region, zone, primary
// private IP and every ENI with its device index, subnet, VPC and private
// IPs. Each request is bounded by the per-call timeout; nothing is cached
// (callers keep what they need).
//
// When the token request gets no answer and the process runs in a
// container, the error wraps [ErrIMDSHopLimit] and says what to do: on
// Docker's bridge network the token's answer needs two network hops,
// while instances allow one by default (allow two with aws ec2
// modify-instance-metadata-options --http-put-response-hop-limit 2, or
// run the container with --network host).
func (c *Clients) Self(ctx context.Context) (Instance, error) {
	if c == nil || c.imds == nil {
		return Instance{}, errors.New("aws: instance metadata: no metadata client (build the clients with Load)")
	}
	var in Instance
	var primaryIP string
	g, gctx := errgroup.WithContext(ctx)
	for _, f := range []struct {
		path     string
		dst      *string
		optional bool
	}{
		{"instance-id", &in.ID, false},
		{"placement/availability-zone", &in.Zone, false},
		{"placement/region", &in.Region, false},
		{"local-ipv4", &primaryIP, true}, // none on an IPv6-only instance
	} {
		g.Go(func() error {
			v, err := c.imdsGet(gctx, f.path)
			if f.optional && imdsNotFound(err) {
				return nil
			}
			*f.dst = strings.TrimSpace(v)
			return err
		})
	}
	var macs []string
	g.Go(func() error {
		v, err := c.imdsGet(gctx, "network/interfaces/macs/")
		macs = imdsList(v)
		return err
	})
	if err := g.Wait(); err != nil {
		return Instance{}, err
	}
	if in.ID == "" {
		return Instance{}, errors.New("aws: instance metadata: instance-id: empty answer")
	}
	in.PrivateIP = primaryIP
	enis := make([]ENI, len(macs))
	g, gctx = errgroup.WithContext(ctx)
	for i, mac := range macs {
		g.Go(func() error {
			e, err := c.imdsENI(gctx, mac)
			enis[i] = e
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return Instance{}, err
	}
	slices.SortStableFunc(enis, func(a, b ENI) int { return a.DeviceIndex - b.DeviceIndex })
	in.ENIs = enis
	return in, nil
}

// imdsENI reads one ENI's items by its MAC.
func (c *Clients) imdsENI(ctx context.Context, mac string) (ENI, error) {
	e := ENI{MAC: mac}
	base := "network/interfaces/macs/" + mac + "/"
	var dev, ips string
	g, gctx := errgroup.WithContext(ctx)
	for _, f := range []struct {
		item     string
		dst      *string
		optional bool
	}{
		{"interface-id", &e.ID, false}, {"device-number", &dev, false}, {"subnet-id", &e.SubnetID, false},
		{"vpc-id", &e.VPCID, false}, {"local-ipv4s", &ips, true}, // none on an IPv6-only ENI
	} {
		g.Go(func() error {
			v, err := c.imdsGet(gctx, base+f.item)
			if f.optional && imdsNotFound(err) {
				return nil
			}
			*f.dst = strings.TrimSpace(v)
			return err
		})
	}
	if err := g.Wait(); err != nil {
		return ENI{}, err
	}
	n, err := imdsDeviceIndex(dev)
	if err != nil {
		return ENI{}, fmt.Errorf("aws: instance metadata: %sdevice-number: %w", base, err)
	}
	e.DeviceIndex = n
	e.PrivateIPs = imdsList(ips)
	return e, nil
}

// imdsGet reads one metadata item (a path under /latest/meta-data/).
func (c *Clients) imdsGet(ctx context.Context, path string) (string, error) {
	cctx, cancel := c.call(ctx)
	defer cancel()
	var tokenless atomic.Bool
	out, err := c.imds.GetMetadata(cctx, &imds.GetMetadataInput{Path: path}, imds.WithAPIOptions(imdsWatchToken(&tokenless)))
	if err != nil {
		return "", imdsDiagnose(path, err, tokenless.Load())
	}
	if out == nil || out.Content == nil {
		return "", nil
	}
	defer out.Content.Close()
	b, err := io.ReadAll(io.LimitReader(out.Content, imdsMaxBody+1))
	if err != nil {
		return "", imdsDiagnose(path, err, false)
	}
	if len(b) > imdsMaxBody {
		return "", fmt.Errorf("aws: instance metadata: %s: answer longer than %d bytes", path, imdsMaxBody)
	}
	return string(b), nil
}

// imdsWatchToken records, in *tokenless, whether a metadata request went
// out without the IMDSv2 token: the SDK falls back to IMDSv1 when its
// token request fails, so the error of the request itself does not say
// that the token request was the one that got no answer.
func imdsWatchToken(tokenless *atomic.Bool) func(*middleware.Stack) error {
	return func(st *middleware.Stack) error {
		return st.Finalize.Add(middleware.FinalizeMiddlewareFunc("minatoIMDSTokenWatch",
			func(ctx context.Context, in middleware.FinalizeInput, next middleware.FinalizeHandler) (middleware.FinalizeOutput, middleware.Metadata, error) {
				if req, ok := in.Request.(*smithyhttp.Request); ok {
					tokenless.Store(req.Header.Get(imdsTokenHeader) == "")
				}
				return next.HandleFinalize(ctx, in)
			}), middleware.After)
	}
}

// imdsNotFound reports whether the metadata service answered 404: the
// item does not exist on this instance.
func imdsNotFound(err error) bool {
	var se interface{ HTTPStatusCode() int }
	return errors.As(err, &se) && se.HTTPStatusCode() == http.StatusNotFound
}

// imdsDiagnose words a failed metadata request, with the hop-limit advice
// when the token request got no answer from inside a container.
func imdsDiagnose(path string, err error, tokenless bool) error {
	status := 0
	var se interface{ HTTPStatusCode() int }
	if errors.As(err, &se) {
		status = se.HTTPStatusCode()
	}
	noAnswer := isTimeout(err) || status == 0 && !errors.Is(err, context.Canceled)
	tokenFailed := strings.Contains(err.Error(), "failed to get API token") || tokenless
	switch {
	case tokenFailed && (noAnswer || status == http.StatusUnauthorized) && imdsInContainer():
		return fmt.Errorf("aws: instance metadata: %s: %w: %w. On Docker's bridge network the token's answer needs two network hops and the instance allows one: allow two with `aws ec2 modify-instance-metadata-options --instance-id %s --http-put-response-hop-limit 2 --http-endpoint enabled`, or run the container with --network host",
			path, err, ErrIMDSHopLimit, imdsInstanceHint())
	case tokenFailed && noAnswer:
		return fmt.Errorf("aws: instance metadata: %s: the IMDSv2 token request got no answer (is this an EC2 instance, and is its metadata service enabled?): %w", path, err)
	case status == http.StatusForbidden:
		return fmt.Errorf("aws: instance metadata: %s: the metadata service refused the request (is it disabled on this instance? `aws ec2 modify-instance-metadata-options --http-endpoint enabled`): %w", path, err)
	}
	return fmt.Errorf("aws: instance metadata: %s: %w", path, err)
}

// imdsInstanceHint is this instance's ID for the advice, read without the
// metadata service where the hardware tells it (Nitro), else a
// placeholder.
func imdsInstanceHint() string {
	b, err := os.ReadFile(imdsAssetTagPath)
	if id := strings.TrimSpace(string(b)); err == nil && strings.HasPrefix(id, "i-") && len(id) <= 32 && !strings.ContainsAny(id, " \t\n`'\"$") {
		return id
	}
	return "<this instance's ID>"
}

// imdsDetectContainer reports whether this process runs in a container:
// Docker's /.dockerenv, Podman's /run/.containerenv, or a container
// runtime named in PID 1's cgroup.
func imdsDetectContainer() bool {
	for _, f := range []string{"/.dockerenv", "/run/.containerenv"} {
		if _, err := os.Stat(f); err == nil {
			return true
		}
	}
	b, err := os.ReadFile("/proc/1/cgroup")
	if err != nil {
		return false
	}
	for _, w := range []string{"docker", "containerd", "kubepods", "libpod"} {
		if bytes.Contains(b, []byte(w)) {
			return true
		}
	}
	return false
}

// imdsList splits a metadata list answer (one item a line; directories
// end in "/") into its items.
func imdsList(s string) []string {
	var out []string
	for line := range strings.SplitSeq(s, "\n") {
		if v := strings.TrimSuffix(strings.TrimSpace(line), "/"); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// imdsDeviceIndex parses an ENI's device-number item.
func imdsDeviceIndex(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 || n > 1<<16 {
		return 0, fmt.Errorf("%q: want a device index from 0 to 65536", s)
	}
	return n, nil
}

// imdsResourceError is the *ha.ResourceError of a failed [Clients.Self]
// that was to tell what (this node's ENI, its zone): 6 "Timeout
// occurred." on a timeout without a better diagnosis, 5 with the reason
// otherwise.
func imdsResourceError(what string, err error) *ha.ResourceError {
	if isTimeout(err) && !errors.Is(err, ErrIMDSHopLimit) {
		return &ha.ResourceError{Code: ha.CodeTimeout, Detail: detailTimeout, Err: err}
	}
	return &ha.ResourceError{Code: ha.CodeFailed, Detail: "Could not learn " + what + " from the instance metadata service: " + err.Error(), Err: err}
}

// imdsPrimaryENI returns this instance's primary ENI and instance ID from
// the instance metadata service; errors are *ha.ResourceErrors.
func imdsPrimaryENI(ctx context.Context, c *Clients) (eni, instance string, err error) {
	in, err := c.Self(ctx)
	if err != nil {
		return "", "", imdsResourceError("this node's ENI", err)
	}
	p, ok := in.PrimaryENI()
	if !ok || p.ID == "" {
		return "", "", &ha.ResourceError{Code: ha.CodeFailed, Detail: fmt.Sprintf("Instance %s has no primary ENI (device index 0) in its instance metadata: set the ENI ID in the configuration.", in.ID)}
	}
	return p.ID, in.ID, nil
}
