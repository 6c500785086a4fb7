package awstest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
	"github.com/aws/aws-sdk-go-v2/service/ec2"

	"github.com/minato-ops/minato/ha/aws/awstest"
)

func metadata(t *testing.T, c *imds.Client, path string) string {
	t.Helper()
	out, err := c.GetMetadata(ctx(t), &imds.GetMetadataInput{Path: path})
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer out.Content.Close()
	b, err := io.ReadAll(out.Content)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestIMDS(t *testing.T) {
	srv := awstest.New(awstest.Options{})
	defer srv.Close()
	vpcFixture(srv)
	srv.AddENI("eni-1b", "subnet-a", "i-1", "10.0.1.11")
	srv.SetAssociation("eipalloc-1", "eni-1")
	md := imdsClient(srv, "i-1")
	if got := srv.IMDS("i-1"); got != srv.IMDS("i-1") || got == srv.IMDS("i-2") {
		t.Fatal("IMDS listener not one per instance")
	}

	want := map[string]string{
		"instance-id":                 "i-1",
		"placement/availability-zone": "ap-northeast-1a",
		"placement/region":            "ap-northeast-1",
		"local-ipv4":                  "10.0.1.10",
		"public-ipv4":                 "203.0.113.10",
		"iam/security-credentials/":   awstest.RoleName,
	}
	for p, w := range want {
		if got := metadata(t, md, p); got != w {
			t.Errorf("%s = %q, want %q", p, got, w)
		}
	}
	mac := metadata(t, md, "mac")
	macs := strings.Split(metadata(t, md, "network/interfaces/macs/"), "\n")
	if len(macs) != 2 || macs[0] != mac+"/" {
		t.Fatalf("macs = %q (primary %q)", macs, mac)
	}
	second := strings.TrimSuffix(macs[1], "/")
	for leaf, w := range map[string]string{"interface-id": "eni-1b", "device-number": "1", "local-ipv4s": "10.0.1.11", "subnet-id": "subnet-a", "vpc-id": "vpc-1"} {
		if got := metadata(t, md, "network/interfaces/macs/"+second+"/"+leaf); got != w {
			t.Errorf("%s = %q, want %q", leaf, got, w)
		}
	}
	if got := metadata(t, md, "network/interfaces/macs/"+mac+"/interface-id"); got != "eni-1" {
		t.Errorf("primary interface-id = %q", got)
	}
	_, err := md.GetMetadata(ctx(t), &imds.GetMetadataInput{Path: "no/such/path"})
	if err == nil {
		t.Fatal("unknown path answered")
	}

	region, err := md.GetRegion(ctx(t), nil)
	if err != nil || region.Region != "ap-northeast-1" {
		t.Fatalf("GetRegion = %v, %v", region, err)
	}
	doc, err := md.GetInstanceIdentityDocument(ctx(t), nil)
	if err != nil || doc.InstanceID != "i-1" || doc.AvailabilityZone != "ap-northeast-1a" || doc.PrivateIP != "10.0.1.10" {
		t.Fatalf("identity document = %+v, %v", doc, err)
	}
	creds := metadata(t, md, "iam/security-credentials/"+awstest.RoleName)
	var cr struct{ Code, AccessKeyId, SecretAccessKey, Token, Expiration string }
	if err := json.Unmarshal([]byte(creds), &cr); err != nil || cr.Code != "Success" || cr.AccessKeyId == "" || cr.SecretAccessKey == "" || cr.Token == "" || cr.Expiration == "" {
		t.Fatalf("credentials = %s, %v", creds, err)
	}
	if srv.Calls("IMDS") == 0 || srv.Calls("") != 0 {
		t.Fatalf("IMDS calls %d, API calls %d", srv.Calls("IMDS"), srv.Calls(""))
	}
}

// IMDSv1 (no token) is refused, as on an instance that requires tokens.
func TestIMDSTokenRequired(t *testing.T) {
	srv := awstest.New(awstest.Options{})
	defer srv.Close()
	vpcFixture(srv)
	base := srv.IMDS("i-1")
	resp, err := http.Get(base + "/latest/meta-data/instance-id")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("GET without a token: %d, want 401", resp.StatusCode)
	}
	get := func(tok string) int {
		req, _ := http.NewRequest(http.MethodGet, base+"/latest/meta-data/instance-id", nil)
		req.Header.Set("X-aws-ec2-metadata-token", tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get("forged"); code != http.StatusUnauthorized {
		t.Fatalf("GET with a forged token: %d", code)
	}
	req, _ := http.NewRequest(http.MethodPut, base+"/latest/api/token", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("PUT without a TTL: %d, want 400", resp.StatusCode)
	}
	req.Header.Set("X-aws-ec2-metadata-token-ttl-seconds", "60")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	tok, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(tok) == 0 || resp.Header.Get("X-aws-ec2-metadata-token-ttl-seconds") != "60" {
		t.Fatalf("PUT token: %d %q", resp.StatusCode, tok)
	}
	if code := get(string(tok)); code != http.StatusOK {
		t.Fatalf("GET with the token: %d", code)
	}
	// Another instance's token is not valid here.
	req2, _ := http.NewRequest(http.MethodPut, srv.IMDS("i-2")+"/latest/api/token", nil)
	req2.Header.Set("X-aws-ec2-metadata-token-ttl-seconds", "60")
	resp, err = http.DefaultClient.Do(req2)
	if err != nil {
		t.Fatal(err)
	}
	tok2, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if code := get(string(tok2)); code != http.StatusUnauthorized {
		t.Fatalf("GET with another instance's token: %d", code)
	}
}

// The SDK's default chain finds region and credentials through the
// server's IMDS, and the credentials sign calls the server accepts.
func TestDefaultChainThroughIMDS(t *testing.T) {
	srv := awstest.New(awstest.Options{})
	defer srv.Close()
	vpcFixture(srv)
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
		"AWS_REGION", "AWS_DEFAULT_REGION", "AWS_EC2_METADATA_DISABLED", "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
		"AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_EC2_METADATA_SERVICE_ENDPOINT"} {
		t.Setenv(k, "")
	}
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")

	cfg, err := config.LoadDefaultConfig(ctx(t), config.WithEC2IMDSEndpoint(srv.IMDS("i-2")))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Region != "" {
		t.Fatalf("region %q configured although the environment names none", cfg.Region)
	}
	region, err := imds.NewFromConfig(cfg).GetRegion(ctx(t), nil)
	if err != nil || region.Region != "ap-northeast-1" {
		t.Fatalf("region through the configured IMDS endpoint: %v, %v", region, err)
	}
	cfg.Region = region.Region
	creds, err := cfg.Credentials.Retrieve(ctx(t))
	if err != nil {
		t.Fatalf("credentials through IMDS: %v", err)
	}
	if !strings.HasPrefix(creds.AccessKeyID, "ASIA") || creds.SessionToken == "" || !creds.CanExpire {
		t.Fatalf("credentials = %s (session token set: %v, expiring: %v)", creds.AccessKeyID, creds.SessionToken != "", creds.CanExpire)
	}
	c := ec2.NewFromConfig(cfg, func(o *ec2.Options) { o.BaseEndpoint = sdkaws.String(srv.URL()) })
	if _, err := c.DescribeVpcs(ctx(t), &ec2.DescribeVpcsInput{}); err != nil {
		t.Fatalf("call signed with IMDS credentials: %v", err)
	}
}

// With the token response dropped (hop limit 1 seen from a container) the
// SDK's token request times out, its IMDSv1 fallback is refused, and no
// metadata comes.
func TestIMDSTokensDropped(t *testing.T) {
	srv := awstest.New(awstest.Options{})
	defer srv.Close()
	vpcFixture(srv)
	srv.DropIMDSTokens(true)
	md := imds.New(imds.Options{Endpoint: srv.IMDS("i-1"), Retryer: sdkConfig(1).Retryer(), ClientEnableState: imds.ClientEnabled})
	c, cancel := context.WithTimeout(ctx(t), 300*time.Millisecond)
	defer cancel()
	if _, err := md.GetMetadata(c, &imds.GetMetadataInput{Path: "instance-id"}); err == nil {
		t.Fatal("metadata answered although the token response was dropped")
	} else {
		t.Logf("as the SDK reports it: %v", err)
	}
	srv.DropIMDSTokens(false)
	if got := metadata(t, imdsClient(srv, "i-1"), "instance-id"); got != "i-1" {
		t.Fatalf("instance-id = %q after the hop limit was lifted", got)
	}
}
