package awstest

import "fmt"

// Guide is what [Server.Guide] built: the AWS side of CLUSTERPRO's AWS
// guide, for two or three nodes, named for tests and configurations.
type Guide struct {
	// VPC is "vpc-guide", 10.0.0.0/16.
	VPC string
	// VIP is the virtual IP outside the VPC, 10.1.0.20; RouteTables
	// (Public-AB, Private-A, Private-B) each route VIP/32 to the first
	// node's ENI.
	VIP         string
	RouteTables []string
	// Instances, ENIs, PrivateIPs and Zones are per node, in order: node
	// k is instance "i-node<k>" with ENI "eni-node<k>" in a private subnet
	// of zone ap-northeast-1a (odd k) or ap-northeast-1c (even k).
	Instances, ENIs, PrivateIPs, Zones []string
	// AllocationID is an Elastic IP (PublicIP) associated with the first
	// node's ENI.
	AllocationID, PublicIP string
	// HostedZoneID is the private hosted zone ZoneName ("hz1.local."),
	// whose RecordName ("srv.hz1.local.") points to the first node.
	HostedZoneID, ZoneName, RecordName string
	// LeaseTable is a DynamoDB table for the lease, keyed "key".
	LeaseTable string
}

// Guide builds, on an empty server, the topology of CLUSTERPRO's AWS
// guide (figure 5.1) for nodes instances: public subnets 10.0.10.0/24
// and 10.0.20.0/24, private subnets 10.0.110.0/24 and 10.0.120.0/24 in
// two zones, one instance and ENI (Source/Dest. Check disabled) per node,
// the three route tables with the VIP route, an Elastic IP, a private
// hosted zone and a lease table, as the first node would hold them.
func (s *Server) Guide(nodes int) Guide {
	if nodes < 1 {
		nodes = 1
	}
	zone := func(k int) string {
		if k%2 == 1 {
			return s.opts.Region + "a"
		}
		return s.opts.Region + "c"
	}
	g := Guide{VPC: "vpc-guide", VIP: "10.1.0.20", AllocationID: "eipalloc-guide", PublicIP: "203.0.113.10",
		HostedZoneID: "ZGUIDE", ZoneName: "hz1.local.", RecordName: "srv.hz1.local.", LeaseTable: "minato-ha"}
	s.AddVPC(g.VPC, "10.0.0.0/16")
	s.AddSubnet("subnet-public-a", g.VPC, zone(1), "10.0.10.0/24")
	s.AddSubnet("subnet-public-c", g.VPC, zone(2), "10.0.20.0/24")
	s.AddSubnet("subnet-private-a", g.VPC, zone(1), "10.0.110.0/24")
	s.AddSubnet("subnet-private-c", g.VPC, zone(2), "10.0.120.0/24")
	for k := 1; k <= nodes; k++ {
		id, eni := fmt.Sprintf("i-node%d", k), fmt.Sprintf("eni-node%d", k)
		subnet, ip := "subnet-private-a", fmt.Sprintf("10.0.110.%d", 10+k)
		if k%2 == 0 {
			subnet, ip = "subnet-private-c", fmt.Sprintf("10.0.120.%d", 10+k)
		}
		s.AddInstance(id, zone(k))
		s.AddENI(eni, subnet, id, ip)
		s.SetSourceDestCheck(eni, false)
		g.Instances = append(g.Instances, id)
		g.ENIs = append(g.ENIs, eni)
		g.PrivateIPs = append(g.PrivateIPs, ip)
		g.Zones = append(g.Zones, zone(k))
	}
	for _, rt := range []string{"rtb-public-ab", "rtb-private-a", "rtb-private-b"} {
		s.AddRouteTable(rt, g.VPC, Route{Destination: g.VIP + "/32", ENI: g.ENIs[0]})
		g.RouteTables = append(g.RouteTables, rt)
	}
	s.AddAddress(g.AllocationID, g.PublicIP)
	s.SetAssociation(g.AllocationID, g.ENIs[0])
	s.AddHostedZone(g.HostedZoneID, g.ZoneName, true)
	s.SetRecord(g.HostedZoneID, g.RecordName, "A", 60, g.PrivateIPs[0])
	s.AddTable(g.LeaseTable, "key")
	return g
}
