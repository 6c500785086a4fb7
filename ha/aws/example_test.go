package aws_test

import (
	"context"
	"fmt"
	"log"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/ha/aws"
	"github.com/minato-ops/minato/ha/aws/awstest"
)

// A failover of CLUSTERPRO's AWS virtual IP to the second node, against
// the test endpoint: the node's ENI comes from its instance metadata, and
// so do its credentials (the instance's IAM role), as on EC2.
func Example() {
	srv := awstest.New(awstest.Options{})
	defer srv.Close()
	g := srv.Guide(2) // the guide's VPC: the VIP's routes lead to node1

	ctx := context.Background()
	c, err := aws.Load(ctx, aws.Config{Region: srv.Region(), Endpoint: srv.URL(), IMDSEndpoint: srv.IMDS(g.Instances[1])})
	if err != nil {
		log.Fatal(err)
	}
	vip, err := aws.NewVIP(c, aws.VIPConfig{IP: g.VIP, VPC: g.VPC})
	if err != nil {
		log.Fatal(err)
	}
	node2 := ha.NodeTarget("node2")
	if err := vip.Activate(ctx, node2); err != nil {
		log.Fatal(ha.ActivateMessage("awsvip1", err))
	}
	for _, rt := range g.RouteTables {
		fmt.Println(rt, g.VIP+"/32 ->", srv.RouteTarget(rt, g.VIP+"/32"))
	}
	res, err := vip.Check(ctx, node2)
	fmt.Println(res.Status, err)

	// Another actor re-points one route: the monitor's error line.
	srv.SetRoute(g.RouteTables[0], g.VIP+"/32", g.ENIs[0])
	res, _ = vip.Check(ctx, node2)
	fmt.Println(ha.MonitorErrorMessage("awsvipw1", &ha.ResourceError{Code: res.Code, Detail: res.Message}))
	// Output:
	// rtb-public-ab 10.1.0.20/32 -> eni-node2
	// rtb-private-a 10.1.0.20/32 -> eni-node2
	// rtb-private-b 10.1.0.20/32 -> eni-node2
	// OK <nil>
	// Detected an error in monitoring awsvipw1. (8 : The routing for VIP 10.1.0.20 was changed.)
}
