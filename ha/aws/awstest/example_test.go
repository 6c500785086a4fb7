package awstest_test

import (
	"context"
	"fmt"
	"log"

	sdkaws "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/aws/aws-sdk-go-v2/service/ec2/types"

	"github.com/minato-ops/minato/ha/aws/awstest"
)

// A VPC with three route tables that send the virtual IP 172.16.0.1 to
// node1's ENI, read back with the real SDK; then the route of one table
// is moved to node2's ENI, as a failover does.
func Example() {
	srv := awstest.New(awstest.Options{})
	defer srv.Close()
	srv.AddVPC("vpc-1", "10.0.0.0/16")
	srv.AddSubnet("subnet-a", "vpc-1", "ap-northeast-1a", "10.0.1.0/24")
	srv.AddSubnet("subnet-c", "vpc-1", "ap-northeast-1c", "10.0.2.0/24")
	srv.AddInstance("i-1", "ap-northeast-1a")
	srv.AddInstance("i-2", "ap-northeast-1c")
	srv.AddENI("eni-1", "subnet-a", "i-1", "10.0.1.10")
	srv.AddENI("eni-2", "subnet-c", "i-2", "10.0.2.10")
	for _, id := range []string{"rtb-1", "rtb-2", "rtb-3"} {
		srv.AddRouteTable(id, "vpc-1", awstest.Route{Destination: "172.16.0.1/32", ENI: "eni-1"})
	}

	client := ec2.New(ec2.Options{
		Region:       srv.Region(),
		BaseEndpoint: sdkaws.String(srv.URL()),
		Credentials:  credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", ""),
	})
	ctx := context.Background()
	_, err := client.ReplaceRoute(ctx, &ec2.ReplaceRouteInput{
		RouteTableId:         sdkaws.String("rtb-2"),
		DestinationCidrBlock: sdkaws.String("172.16.0.1/32"),
		NetworkInterfaceId:   sdkaws.String("eni-2"),
	})
	if err != nil {
		log.Fatal(err)
	}
	out, err := client.DescribeRouteTables(ctx, &ec2.DescribeRouteTablesInput{
		Filters: []types.Filter{
			{Name: sdkaws.String("vpc-id"), Values: []string{"vpc-1"}},
			{Name: sdkaws.String("route.destination-cidr-block"), Values: []string{"172.16.0.1/32"}},
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, rt := range out.RouteTables {
		for _, r := range rt.Routes {
			fmt.Printf("%s %s -> %s (%s, %s)\n", sdkaws.ToString(rt.RouteTableId), sdkaws.ToString(r.DestinationCidrBlock),
				sdkaws.ToString(r.NetworkInterfaceId)+sdkaws.ToString(r.GatewayId), sdkaws.ToString(r.InstanceId), r.State)
		}
	}
	eni, err := client.DescribeNetworkInterfaces(ctx, &ec2.DescribeNetworkInterfacesInput{NetworkInterfaceIds: []string{"eni-2"}})
	if err != nil {
		log.Fatal(err)
	}
	e := eni.NetworkInterfaces[0]
	fmt.Println(sdkaws.ToString(e.NetworkInterfaceId), sdkaws.ToString(e.PrivateIpAddress), sdkaws.ToString(e.AvailabilityZone),
		"source/dest check:", sdkaws.ToBool(e.SourceDestCheck))
	fmt.Println("calls:", srv.Calls(""))
	// Output:
	// rtb-1 10.0.0.0/16 -> local (, active)
	// rtb-1 172.16.0.1/32 -> eni-1 (i-1, active)
	// rtb-2 10.0.0.0/16 -> local (, active)
	// rtb-2 172.16.0.1/32 -> eni-2 (i-2, active)
	// rtb-3 10.0.0.0/16 -> local (, active)
	// rtb-3 172.16.0.1/32 -> eni-1 (i-1, active)
	// eni-2 10.0.2.10 ap-northeast-1c source/dest check: true
	// calls: 3
}
