package aws

import (
	"bufio"
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/feature/ec2/imds"
)

func TestSelf(t *testing.T) {
	c := ec2FakeClients(&fakeEC2{}, &imdsFake{items: imdsItems()})
	in, err := c.Self(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := Instance{ID: "i-B", Region: "ap-northeast-1", Zone: "ap-northeast-1c", PrivateIP: "10.0.120.10", ENIs: []ENI{
		{ID: "eni-B", MAC: "0a:00:00:00:00:01", DeviceIndex: 0, SubnetID: "subnet-2b", VPCID: "vpc-1", PrivateIPs: []string{"10.0.120.10", "10.0.120.11"}},
		{ID: "eni-B2", MAC: "0a:00:00:00:00:02", DeviceIndex: 1, SubnetID: "subnet-2b", VPCID: "vpc-1", PrivateIPs: []string{"10.0.120.20"}},
	}}
	if !reflect.DeepEqual(in, want) {
		t.Errorf("Self:\n got %+v\nwant %+v", in, want)
	}
	p, ok := in.PrimaryENI()
	if !ok || p.ID != "eni-B" {
		t.Errorf("PrimaryENI = %+v, %v", p, ok)
	}
	if _, ok := (Instance{ENIs: []ENI{{ID: "eni-x", DeviceIndex: 1}}}).PrimaryENI(); ok {
		t.Error("an instance without device 0 has a primary ENI")
	}

	// Broken answers are errors naming the item.
	items := imdsItems()
	items["network/interfaces/macs/0a:00:00:00:00:01/device-number"] = "zero"
	if _, err := ec2FakeClients(&fakeEC2{}, &imdsFake{items: items}).Self(context.Background()); err == nil || !strings.Contains(err.Error(), `0a:00:00:00:00:01/device-number: "zero": want a device index`) {
		t.Errorf("bad device-number: %v", err)
	}
	items = imdsItems()
	delete(items, "placement/region")
	if _, err := ec2FakeClients(&fakeEC2{}, &imdsFake{items: items}).Self(context.Background()); err == nil || !strings.Contains(err.Error(), "aws: instance metadata: placement/region: ") {
		t.Errorf("missing item: %v", err)
	}
	// An IPv6-only instance has no IPv4 items.
	items = imdsItems()
	delete(items, "local-ipv4")
	delete(items, "network/interfaces/macs/0a:00:00:00:00:02/local-ipv4s")
	in, err = ec2FakeClients(&fakeEC2{}, &imdsFake{items: items}).Self(context.Background())
	if err != nil || in.PrivateIP != "" || in.ENIs[1].PrivateIPs != nil || in.ENIs[0].ID != "eni-B" {
		t.Errorf("IPv6-only: %+v, %v", in, err)
	}
	items = imdsItems()
	items["instance-id"] = " \n"
	if _, err := ec2FakeClients(&fakeEC2{}, &imdsFake{items: items}).Self(context.Background()); err == nil || !strings.Contains(err.Error(), "instance-id: empty answer") {
		t.Errorf("empty instance-id: %v", err)
	}
	if _, err := (&Clients{}).Self(context.Background()); err == nil {
		t.Error("no metadata client: no error")
	}
	items = imdsItems()
	items["local-ipv4"] = strings.Repeat("1", imdsMaxBody+1)
	if _, err := ec2FakeClients(&fakeEC2{}, &imdsFake{items: items}).Self(context.Background()); err == nil || !strings.Contains(err.Error(), "answer longer than") {
		t.Errorf("huge answer: %v", err)
	}
}

// imdsSilent is a listener that accepts connections and never answers
// the token request (PUT), as an instance's metadata service looks from
// a container when its PUT response hop limit is 1. GETs are answered
// 401 (IMDSv1 refused) when refuseV1, or not at all.
func imdsSilent(t *testing.T, refuseV1 bool) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var conns []net.Conn
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
			wg.Go(func() {
				r := bufio.NewReader(c)
				for {
					req, err := http.ReadRequest(r)
					if err != nil {
						return
					}
					if req.Method != http.MethodPut && refuseV1 {
						c.Write([]byte("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n"))
						continue
					}
					// Never answer: wait for the client to give up.
					buf := make([]byte, 1)
					c.Read(buf)
					return
				}
			})
		}
	})
	return "http://" + ln.Addr().String()
}

func imdsSetContainer(t *testing.T, in bool) {
	t.Helper()
	prev, prevPath := imdsInContainer, imdsAssetTagPath
	imdsInContainer = func() bool { return in }
	tag := filepath.Join(t.TempDir(), "board_asset_tag")
	if err := os.WriteFile(tag, []byte("i-0123456789abcdef0\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	imdsAssetTagPath = tag
	t.Cleanup(func() { imdsInContainer, imdsAssetTagPath = prev, prevPath })
}

// The hop-limit diagnosis: the token request is never answered.
func TestSelfHopLimitDiagnosis(t *testing.T) {
	for _, tc := range []struct {
		name      string
		refuseV1  bool
		container bool
		want      []string
		hop       bool
	}{
		{"container, IMDSv1 refused", true, true, []string{
			"the IMDSv2 token request got no answer from inside a container",
			"aws ec2 modify-instance-metadata-options --instance-id i-0123456789abcdef0 --http-put-response-hop-limit 2 --http-endpoint enabled",
			"--network host"}, true},
		{"container, no answer at all", false, true, []string{"--http-put-response-hop-limit 2", "--network host"}, true},
		{"not in a container", false, false, []string{"the IMDSv2 token request got no answer (is this an EC2 instance"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			imdsSetContainer(t, tc.container)
			md := imds.New(imds.Options{Endpoint: imdsSilent(t, tc.refuseV1)})
			c := &Clients{imds: md, timeout: 1500 * time.Millisecond}
			t0 := time.Now()
			_, err := c.Self(context.Background())
			if err == nil {
				t.Fatal("no error")
			}
			t.Log(err)
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error does not say %q:\n%v", w, err)
				}
			}
			if errors.Is(err, ErrIMDSHopLimit) != tc.hop {
				t.Errorf("errors.Is(err, ErrIMDSHopLimit) = %v, want %v", !tc.hop, tc.hop)
			}
			if d := time.Since(t0); d > 5*time.Second {
				t.Errorf("took %s", d)
			}
			// As an activation error: code 5 with the advice.
			re := imdsResourceError("this node's ENI", err)
			if tc.hop && (re.Code != 5 || !strings.Contains(re.Detail, "Could not learn this node's ENI from the instance metadata service: ") || !strings.Contains(re.Detail, "hop-limit 2")) {
				t.Errorf("resource error %+v", re)
			}
		})
	}
}

func TestIMDSDetectContainerAndHint(t *testing.T) {
	// Whatever this machine is, the detection does not fail.
	_ = imdsDetectContainer()
	prev := imdsAssetTagPath
	t.Cleanup(func() { imdsAssetTagPath = prev })
	for content, want := range map[string]string{
		"i-0abc\n":         "i-0abc",
		"Not Specified":    "<this instance's ID>",
		"i-0abc; rm -rf /": "<this instance's ID>",
	} {
		p := filepath.Join(t.TempDir(), "tag")
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		imdsAssetTagPath = p
		if got := imdsInstanceHint(); got != want {
			t.Errorf("%q: hint %q, want %q", content, got, want)
		}
	}
	imdsAssetTagPath = "/nonexistent/tag"
	if got := imdsInstanceHint(); got != "<this instance's ID>" {
		t.Errorf("no tag: %q", got)
	}
}

func TestIMDSParsers(t *testing.T) {
	if got := imdsList("a/\n\n b/ \nc"); !reflect.DeepEqual(got, []string{"a", "b", "c"}) {
		t.Errorf("imdsList = %q", got)
	}
	for s, want := range map[string]int{"0": 0, " 3\n": 3} {
		if n, err := imdsDeviceIndex(s); err != nil || n != want {
			t.Errorf("%q: %d, %v", s, n, err)
		}
	}
	for _, bad := range []string{"", "-1", "x", "99999999"} {
		if _, err := imdsDeviceIndex(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// Whatever the metadata service answers, Self does not panic, and what
// it returns is consistent.
func FuzzSelf(f *testing.F) {
	f.Add("0a:00:00:00:00:01/", "eni-1", "0", "10.0.0.1\n10.0.0.2")
	f.Add("", "", "", "")
	f.Add("a/\nb/\n/", "eni-1", "-5", "\n\n")
	f.Add("x", "eni-x", "70000", "::1")
	f.Fuzz(func(t *testing.T, macs, eni, dev, ips string) {
		items := map[string]string{
			"instance-id": "i-1", "placement/availability-zone": "z", "placement/region": "r",
			"local-ipv4": "10.0.0.1", "network/interfaces/macs/": macs,
		}
		for _, m := range imdsList(macs) {
			base := "network/interfaces/macs/" + m + "/"
			items[base+"interface-id"], items[base+"device-number"] = eni, dev
			items[base+"subnet-id"], items[base+"vpc-id"], items[base+"local-ipv4s"] = "s", "v", ips
		}
		in, err := ec2FakeClients(&fakeEC2{}, &imdsFake{items: items}).Self(context.Background())
		if err != nil {
			return
		}
		if len(in.ENIs) != len(imdsList(macs)) {
			t.Fatalf("%d ENIs for %q", len(in.ENIs), macs)
		}
		for _, e := range in.ENIs {
			if e.DeviceIndex < 0 {
				t.Fatalf("negative device index %d", e.DeviceIndex)
			}
		}
	})
}

type imdsStatusErr struct{ code int }

func (e *imdsStatusErr) Error() string {
	return "http response error StatusCode: " + http.StatusText(e.code)
}
func (e *imdsStatusErr) HTTPStatusCode() int { return e.code }

func TestIMDSDiagnose(t *testing.T) {
	imdsSetContainer(t, true)
	// A hardened instance refuses the tokenless (IMDSv1) fallback.
	err := imdsDiagnose("instance-id", &imdsStatusErr{401}, true)
	if !errors.Is(err, ErrIMDSHopLimit) {
		t.Errorf("401 after a failed token request: %v", err)
	}
	// A 401 with a token is something else.
	if err := imdsDiagnose("instance-id", &imdsStatusErr{401}, false); errors.Is(err, ErrIMDSHopLimit) {
		t.Errorf("401 with a token: %v", err)
	}
	// The metadata service switched off.
	if err := imdsDiagnose("instance-id", &imdsStatusErr{403}, true); errors.Is(err, ErrIMDSHopLimit) || !strings.Contains(err.Error(), "--http-endpoint enabled") {
		t.Errorf("403: %v", err)
	}
	// With fallback disabled the SDK says the token failed itself.
	if err := imdsDiagnose("instance-id", errors.New("failed to get API token, operation error ec2imds: getToken, request canceled, context deadline exceeded"), false); !errors.Is(err, ErrIMDSHopLimit) {
		t.Errorf("token error: %v", err)
	}
	if err := imdsDiagnose("instance-id", &imdsStatusErr{404}, false); err.Error() != "aws: instance metadata: instance-id: http response error StatusCode: Not Found" {
		t.Errorf("404: %v", err)
	}
}
