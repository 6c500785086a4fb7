package awstest_test

import (
	"context"
	"errors"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/route53"
	"github.com/aws/smithy-go"

	"github.com/minato-ops/minato/ha/aws/awstest"
)

// clients are real SDK clients pointed at one awstest server.
type clients struct {
	srv *awstest.Server
	ec2 *ec2.Client
	r53 *route53.Client
	ddb *dynamodb.Client
}

// sdkConfig is an SDK configuration with static credentials and a
// retryer whose backoff is short, so retry tests stay fast.
func sdkConfig(attempts int) sdkaws.Config {
	return sdkaws.Config{
		Region:      awstest.DefaultRegion,
		Credentials: credentials.NewStaticCredentialsProvider("AKIDTEST", "secret", ""),
		Retryer: func() sdkaws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = attempts
				o.MaxBackoff = 5 * time.Millisecond
				o.RateLimiter = ratelimit.None
			})
		},
	}
}

func start(t *testing.T, opts awstest.Options) *clients {
	t.Helper()
	srv := awstest.New(opts)
	t.Cleanup(srv.Close)
	return connect(srv, 3)
}

func connect(srv *awstest.Server, attempts int) *clients {
	cfg := sdkConfig(attempts)
	ep := sdkaws.String(srv.URL())
	return &clients{
		srv: srv,
		ec2: ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = ep }),
		r53: route53.NewFromConfig(cfg, func(o *route53.Options) { o.BaseEndpoint = ep }),
		ddb: dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.BaseEndpoint = ep }),
	}
}

func imdsClient(srv *awstest.Server, instance string) *imds.Client {
	return imds.New(imds.Options{Endpoint: srv.IMDS(instance)})
}

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

// apiError returns err's smithy.APIError, failing the test when there is
// none.
func apiError(t *testing.T, err error) smithy.APIError {
	t.Helper()
	var ae smithy.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("want an AWS API error, got %v", err)
	}
	return ae
}

func wantAPIError(t *testing.T, err error, code, msg string) {
	t.Helper()
	ae := apiError(t, err)
	if ae.ErrorCode() != code || (msg != "" && ae.ErrorMessage() != msg) {
		t.Fatalf("got %s %q, want %s %q", ae.ErrorCode(), ae.ErrorMessage(), code, msg)
	}
}

// vpcFixture is a VPC with two subnets in two zones, two running
// instances each with one ENI, three route tables holding the VIP's
// route, and an Elastic IP address.
func vpcFixture(s *awstest.Server) {
	s.AddVPC("vpc-1", "10.0.0.0/16", "10.1.0.0/16")
	s.AddSubnet("subnet-a", "vpc-1", "ap-northeast-1a", "10.0.1.0/24")
	s.AddSubnet("subnet-c", "vpc-1", "ap-northeast-1c", "10.0.2.0/24")
	s.AddInstance("i-1", "ap-northeast-1a")
	s.AddInstance("i-2", "ap-northeast-1c")
	s.AddENI("eni-1", "subnet-a", "i-1", "10.0.1.10")
	s.AddENI("eni-2", "subnet-c", "i-2", "10.0.2.10")
	for _, rt := range []string{"rtb-1", "rtb-2", "rtb-3"} {
		s.AddRouteTable(rt, "vpc-1", awstest.Route{Destination: "172.16.0.1/32", ENI: "eni-1"}, awstest.Route{Destination: "0.0.0.0/0", Gateway: "igw-1"})
	}
	s.AddAddress("eipalloc-1", "203.0.113.10")
}
