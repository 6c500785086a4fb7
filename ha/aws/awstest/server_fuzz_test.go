package awstest

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzAPIRequest: no request body or path, however malformed, panics the
// server, and every answer is a well-formed HTTP status.
func FuzzAPIRequest(f *testing.F) {
	seeds := []struct{ kind, target, body string }{
		{"ec2", "", "Action=DescribeVpcs&Version=2016-11-15&VpcId.1=vpc-1&Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-*"},
		{"ec2", "", "Action=ReplaceRoute&Version=2016-11-15&RouteTableId=rtb-1&DestinationCidrBlock=172.16.0.1%2F32&NetworkInterfaceId=eni-2"},
		{"ec2", "", "Action=AssociateAddress&Version=2016-11-15&AllocationId=eipalloc-1&NetworkInterfaceId=eni-1&AllowReassociation=true"},
		{"ec2", "", "Action=DescribeAvailabilityZones&Version=2016-11-15&ZoneName.1=ap-northeast-1a&Filter.1.Name=state&Filter.1.Value.1=*"},
		{"ec2", "", "%zz&&Action"},
		{"route53", "/2013-04-01/hostedzone/Z1/rrset", `<ChangeResourceRecordSetsRequest xmlns="https://route53.amazonaws.com/doc/2013-04-01/"><ChangeBatch><Changes><Change><Action>UPSERT</Action><ResourceRecordSet><Name>a.example.com</Name><Type>A</Type><TTL>60</TTL><ResourceRecords><ResourceRecord><Value>10.0.0.1</Value></ResourceRecord></ResourceRecords></ResourceRecordSet></Change></Changes></ChangeBatch></ChangeResourceRecordSetsRequest>`},
		{"route53", "/2013-04-01/hostedzone/Z1/rrset?name=a.example.com&type=A&maxitems=1", ""},
		{"route53", "/2013-04-01/change/C1", "<x"},
		{"dynamodb", "PutItem", `{"TableName":"t","Item":{"k":{"S":"a"},"n":{"N":"1"}},"ConditionExpression":"attribute_not_exists(k) OR n < :v","ExpressionAttributeValues":{":v":{"N":"2"}}}`},
		{"dynamodb", "UpdateItem", `{"TableName":"t","Key":{"k":{"S":"a"}},"UpdateExpression":"SET n = n + :v REMOVE x","ExpressionAttributeValues":{":v":{"N":"1e3"}},"ReturnValues":"UPDATED_NEW"}`},
		{"dynamodb", "GetItem", `{"TableName":"t","Key":{"k":{"S":"a","N":"1"}}}`},
		{"dynamodb", "DeleteItem", `{"TableName":"t","Key":{"k":{}}, "ExpressionAttributeNames":{"x":"y"}}`},
		{"dynamodb", "DescribeTable", `[`},
	}
	for _, s := range seeds {
		f.Add(s.kind, s.target, s.body)
	}
	srv := New(Options{})
	defer srv.Close()
	srv.AddVPC("vpc-1", "10.0.0.0/16")
	srv.AddSubnet("subnet-a", "vpc-1", "ap-northeast-1a", "10.0.1.0/24")
	srv.AddInstance("i-1", "ap-northeast-1a")
	srv.AddENI("eni-1", "subnet-a", "i-1", "10.0.1.10")
	srv.AddENI("eni-2", "subnet-a", "", "10.0.1.11")
	srv.AddRouteTable("rtb-1", "vpc-1", Route{Destination: "172.16.0.1/32", ENI: "eni-1"})
	srv.AddAddress("eipalloc-1", "203.0.113.1")
	srv.AddHostedZone("Z1", "example.com.", false)
	srv.AddTable("t", "k")
	f.Fuzz(func(t *testing.T, kind, target, body string) {
		var req *http.Request
		switch kind {
		case "route53":
			path := "/2013-04-01/hostedzone/Z1"
			if u, err := url.ParseRequestURI(target); err == nil && strings.HasPrefix(target, "/") && !strings.ContainsAny(target, " \t\r\n#") && u.Host == "" {
				path = target
			}
			method := http.MethodGet
			if body != "" {
				method = http.MethodPost
			}
			req = httptest.NewRequest(method, "http://awstest"+path, strings.NewReader(body))
		case "dynamodb":
			req = httptest.NewRequest(http.MethodPost, "http://awstest/", strings.NewReader(body))
			req.Header.Set("X-Amz-Target", dynamoTargetPrefix+target)
			req.Header.Set("Content-Type", "application/x-amz-json-1.0")
		default:
			req = httptest.NewRequest(http.MethodPost, "http://awstest/", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=AKIDTEST/20240101/ap-northeast-1/ec2/aws4_request, SignedHeaders=host, Signature=00")
		rec := httptest.NewRecorder()
		srv.serveAPI(rec, req)
		if rec.Code < 200 || rec.Code > 599 {
			t.Fatalf("status %d", rec.Code)
		}
	})
}
