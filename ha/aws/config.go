package aws

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	sdkconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/route53"
)

// imdsAPI is the part of the instance metadata client this package calls.
type imdsAPI interface {
	GetMetadata(ctx context.Context, in *imds.GetMetadataInput, opts ...func(*imds.Options)) (*imds.GetMetadataOutput, error)
	GetRegion(ctx context.Context, in *imds.GetRegionInput, opts ...func(*imds.Options)) (*imds.GetRegionOutput, error)
}

// Defaults of [Config].
const (
	// DefaultCallTimeout bounds one AWS API call, retries included.
	DefaultCallTimeout = 10 * time.Second
	// DefaultMaxAttempts is how many times one call is tried (adaptive
	// retry with jittered backoff and client-side rate limiting).
	DefaultMaxAttempts = 5
)

// Config says how to reach AWS. Credentials are never in it: they come
// from the SDK's default chain (environment, shared files under $HOME/.aws,
// the instance's IAM role through IMDSv2), as the AWS CLI finds them.
type Config struct {
	// Region is the AWS region; empty means the default chain's
	// (AWS_REGION, the shared config file), then the instance's own from
	// IMDSv2.
	Region string `json:"region,omitempty"`
	// Profile is a shared-config profile name; empty means the default.
	Profile string `json:"profile,omitempty"`
	// Endpoint, when set, is the base URL every service is called at
	// (https://host[:port]): a VPC interface endpoint, a proxy, or the
	// test endpoint of ha/aws/awstest. Empty means AWS's regional ones.
	Endpoint string `json:"endpoint,omitempty"`
	// IMDSEndpoint overrides the instance metadata service's URL
	// (default http://169.254.169.254). Tests point it at awstest.
	IMDSEndpoint string `json:"imds_endpoint,omitempty"`
	// CallTimeout bounds each API call, retries included; default 10 s.
	CallTimeout time.Duration `json:"call_timeout,omitempty"`
	// MaxAttempts is how many times a call is tried; default 5.
	MaxAttempts int `json:"max_attempts,omitempty"`
}

// DefaultConfig returns a Config with every default filled in.
func DefaultConfig() Config {
	return Config{CallTimeout: DefaultCallTimeout, MaxAttempts: DefaultMaxAttempts}
}

// WithDefaults returns c with its zero fields set to the defaults.
func (c Config) WithDefaults() Config {
	if c.CallTimeout == 0 {
		c.CallTimeout = DefaultCallTimeout
	}
	if c.MaxAttempts == 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	return c
}

// Validate reports every problem of c, each naming its field.
func (c Config) Validate() error {
	var errs []error
	for _, u := range []struct{ name, v string }{{"endpoint", c.Endpoint}, {"imds_endpoint", c.IMDSEndpoint}} {
		if u.v == "" {
			continue
		}
		p, err := url.Parse(u.v)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			errs = append(errs, fmt.Errorf("%s: %q: want an http:// or https:// URL with a host", u.name, u.v))
		}
	}
	if c.CallTimeout < 0 {
		errs = append(errs, fmt.Errorf("call_timeout: %s: must not be negative", c.CallTimeout))
	}
	if c.MaxAttempts < 0 || c.MaxAttempts > 20 {
		errs = append(errs, fmt.Errorf("max_attempts: %d: want 1 to 20 (0 for the default %d)", c.MaxAttempts, DefaultMaxAttempts))
	}
	return errors.Join(errs...)
}

// Load builds the service clients from cfg and the SDK's default
// configuration chain. When no region is configured anywhere it asks the
// instance metadata service for this instance's region. It returns an
// error naming what is missing (no region, no credentials source) rather
// than clients that would fail on every call.
func Load(ctx context.Context, cfg Config) (*Clients, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.WithDefaults()
	opts := []func(*sdkconfig.LoadOptions) error{
		sdkconfig.WithRetryer(func() sdkaws.Retryer {
			return retry.NewAdaptiveMode(func(o *retry.AdaptiveModeOptions) {
				o.StandardOptions = append(o.StandardOptions, func(so *retry.StandardOptions) {
					so.MaxAttempts = cfg.MaxAttempts
					so.MaxBackoff = 2 * time.Second
				})
			})
		}),
	}
	if cfg.Region != "" {
		opts = append(opts, sdkconfig.WithRegion(cfg.Region))
	}
	if cfg.Profile != "" {
		opts = append(opts, sdkconfig.WithSharedConfigProfile(cfg.Profile))
	}
	if cfg.IMDSEndpoint != "" {
		opts = append(opts, sdkconfig.WithEC2IMDSEndpoint(cfg.IMDSEndpoint))
	}
	ac, err := sdkconfig.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return nil, fmt.Errorf("aws: loading the AWS configuration: %w", err)
	}
	md := imds.NewFromConfig(ac, func(o *imds.Options) {
		if cfg.IMDSEndpoint != "" {
			o.Endpoint = cfg.IMDSEndpoint
		}
	})
	if ac.Region == "" {
		rctx, cancel := context.WithTimeout(ctx, cfg.CallTimeout)
		out, err := md.GetRegion(rctx, &imds.GetRegionInput{})
		cancel()
		if err != nil {
			return nil, fmt.Errorf("aws: no region configured (set region in the config, AWS_REGION or the shared config file) and the instance metadata service did not say: %w", err)
		}
		ac.Region = out.Region
	}
	var ep *string
	if cfg.Endpoint != "" {
		ep = sdkaws.String(cfg.Endpoint)
	}
	return &Clients{
		ec2:     ec2.NewFromConfig(ac, func(o *ec2.Options) { o.BaseEndpoint = ep }),
		route53: route53.NewFromConfig(ac, func(o *route53.Options) { o.BaseEndpoint = ep }),
		dynamo: dynamodb.NewFromConfig(ac, func(o *dynamodb.Options) {
			o.BaseEndpoint = ep
			// The lease renews every third of its TTL (1 s by default):
			// a throttled renewal must be retried soon or not at all, so
			// DynamoDB gets a few quick retries instead of the adaptive
			// mode's client-side rate limiting, which was measured to stall
			// a call for up to 2 s after one throttle.
			o.Retryer = retry.NewStandard(func(so *retry.StandardOptions) {
				so.MaxAttempts = min(cfg.MaxAttempts, 3)
				so.MaxBackoff = 250 * time.Millisecond
			})
		}),
		imds:    md,
		region:  ac.Region,
		timeout: cfg.CallTimeout,
	}, nil
}
