package awstest

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// EC2's Query protocol: a POST form with Action= and Version=, answered
// with XML in EC2's namespace; lists are <item> elements.
const (
	ec2Version = "2016-11-15"
	ec2NS      = "http://ec2.amazonaws.com/doc/2016-11-15/"
)

// ec2IDParams are the request parameters that name resources (for Deny and
// the messages of Fail), without their ".N" suffixes.
var ec2IDParams = map[string]bool{
	"VpcId": true, "SubnetId": true, "NetworkInterfaceId": true, "RouteTableId": true,
	"AllocationId": true, "AssociationId": true, "InstanceId": true, "PublicIp": true, "ZoneName": true,
}

type ec2Handler func(s *Server, f url.Values, now time.Time) (any, *apiErr)

var ec2Actions = map[string]ec2Handler{
	"DescribeVpcs":              (*Server).ec2DescribeVpcs,
	"DescribeSubnets":           (*Server).ec2DescribeSubnets,
	"DescribeNetworkInterfaces": (*Server).ec2DescribeNetworkInterfaces,
	"DescribeRouteTables":       (*Server).ec2DescribeRouteTables,
	"ReplaceRoute":              (*Server).ec2ReplaceRoute,
	"DescribeAddresses":         (*Server).ec2DescribeAddresses,
	"AssociateAddress":          (*Server).ec2AssociateAddress,
	"DisassociateAddress":       (*Server).ec2DisassociateAddress,
	"DescribeAvailabilityZones": (*Server).ec2DescribeAvailabilityZones,
	"DescribeInstances":         (*Server).ec2DescribeInstances,
	"StopInstances":             (*Server).ec2StopInstances,
}

func (s *Server) serveEC2(w http.ResponseWriter, r *http.Request) {
	rid := s.requestID()
	r.Body = http.MaxBytesReader(w, r.Body, maxBody)
	if err := r.ParseForm(); err != nil {
		writeEC2Error(w, rid, errf(http.StatusBadRequest, "MalformedQueryString", "The request body is not a valid form: %v", err))
		return
	}
	f := r.PostForm
	action := f.Get("Action")
	h, ok := ec2Actions[action]
	if !ok {
		s.countOnly(action)
		if action == "" {
			writeEC2Error(w, rid, errf(http.StatusBadRequest, "MissingAction", "The request must contain the parameter Action"))
			return
		}
		writeEC2Error(w, rid, errf(http.StatusBadRequest, "InvalidAction", "The action %s is not valid for this web service.", action))
		return
	}
	if e := s.admit(r, protoEC2, action, ec2IDs(f), firstValues(f)); e != nil {
		writeEC2Error(w, rid, e)
		return
	}
	if v := f.Get("Version"); v != ec2Version {
		writeEC2Error(w, rid, errf(http.StatusBadRequest, "InvalidParameterValue", "Invalid Version: %q; this endpoint speaks EC2 API version %s", v, ec2Version))
		return
	}
	if f.Get("DryRun") == "true" {
		writeEC2Error(w, rid, errf(http.StatusPreconditionFailed, "DryRunOperation", "Request would have succeeded, but DryRun flag is set."))
		return
	}
	s.mu.Lock()
	out, e := h(s, f, s.now())
	s.mu.Unlock()
	if e != nil {
		writeEC2Error(w, rid, e)
		return
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	start := xml.StartElement{Name: xml.Name{Local: action + "Response"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: ec2NS}}}
	out.(interface{ setRequestID(string) }).setRequestID(rid)
	if err := enc.EncodeElement(out, start); err != nil {
		writeEC2Error(w, rid, errf(http.StatusInternalServerError, "InternalError", "An internal error has occurred"))
		return
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

// countOnly counts a call that is refused before the pipeline.
func (s *Server) countOnly(action string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls[action]++
	s.calls[""]++
}

func writeEC2Error(w http.ResponseWriter, rid string, e *apiErr) {
	type xErr struct {
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	type xResp struct {
		XMLName   xml.Name `xml:"Response"`
		Errors    []xErr   `xml:"Errors>Error"`
		RequestID string   `xml:"RequestID"`
	}
	body, _ := xml.Marshal(xResp{Errors: []xErr{{e.code, e.msg}}, RequestID: rid})
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(e.status)
	_, _ = w.Write(append([]byte(xml.Header), body...))
}

// ec2IDs returns the resource IDs the request names.
func ec2IDs(f url.Values) []string {
	keys := make([]string, 0, len(f))
	for k := range f {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var ids []string
	for _, k := range keys {
		base, _, _ := strings.Cut(k, ".")
		if ec2IDParams[base] {
			ids = append(ids, f[k]...)
		}
	}
	return ids
}

// firstValues returns each parameter's first value, with list parameters
// (Name.1) under their base name too.
func firstValues(f url.Values) map[string]string {
	m := make(map[string]string, len(f))
	for k, v := range f {
		if len(v) == 0 {
			continue
		}
		m[k] = v[0]
		if base, rest, ok := strings.Cut(k, "."); ok && rest == "1" {
			m[base] = v[0]
		}
	}
	return m
}

// list returns the values of a flattened list parameter (Name.1, Name.2, …)
// in index order.
func list(f url.Values, name string) []string {
	type iv struct {
		i int
		v string
	}
	var vs []iv
	for k, v := range f {
		rest, ok := strings.CutPrefix(k, name+".")
		if !ok || len(v) == 0 {
			continue
		}
		i, err := strconv.Atoi(rest)
		if err != nil {
			continue
		}
		vs = append(vs, iv{i, v[0]})
	}
	sort.Slice(vs, func(a, b int) bool { return vs[a].i < vs[b].i })
	out := make([]string, len(vs))
	for i, v := range vs {
		out[i] = v.v
	}
	return out
}

type filter struct {
	name   string
	values []string
}

// filters returns the request's Filter.N.Name / Filter.N.Value.M.
func filters(f url.Values) []filter {
	var out []filter
	for i := 1; ; i++ {
		p := "Filter." + strconv.Itoa(i)
		name, ok := f[p+".Name"]
		if !ok || len(name) == 0 {
			break
		}
		out = append(out, filter{name: name[0], values: list(f, p+".Value")})
	}
	return out
}

// facets gives, for a filter name an object supports, the object's values
// for it; ok false means the filter is not one EC2 supports here.
type facets func(name string) (vals []string, ok bool)

// matchFilters reports whether an object with facets fc passes every
// filter (filters AND together, a filter's values OR); err for a filter
// name the call does not support.
func matchFilters(fs []filter, fc facets) (bool, *apiErr) {
	for _, flt := range fs {
		vals, ok := fc(flt.name)
		if !ok {
			return false, errf(http.StatusBadRequest, "InvalidParameterValue", "The filter '%s' is invalid", flt.name)
		}
		hit := false
		for _, want := range flt.values {
			for _, v := range vals {
				if glob(want, v) {
					hit = true
				}
			}
		}
		if !hit {
			return false, nil
		}
	}
	return true, nil
}

// checkFilters rejects unknown filter names even when there is no object
// to match against.
func checkFilters(fs []filter, fc facets) *apiErr {
	for _, flt := range fs {
		if _, ok := fc(flt.name); !ok {
			return errf(http.StatusBadRequest, "InvalidParameterValue", "The filter '%s' is invalid", flt.name)
		}
	}
	return nil
}

// glob matches EC2 filter wildcards: * any run, ? one character.
func glob(pattern, s string) bool {
	for len(pattern) > 0 {
		switch pattern[0] {
		case '*':
			for i := len(s); i >= 0; i-- {
				if glob(pattern[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if s == "" {
				return false
			}
			s, pattern = s[1:], pattern[1:]
		default:
			if s == "" || s[0] != pattern[0] {
				return false
			}
			s, pattern = s[1:], pattern[1:]
		}
	}
	return s == ""
}

// notFound is EC2's error for IDs that do not exist.
func notFound(code, kind string, missing []string) *apiErr {
	if len(missing) == 1 {
		return errf(http.StatusBadRequest, code, "The %s ID '%s' does not exist", kind, missing[0])
	}
	return errf(http.StatusBadRequest, code, "The %s IDs '%s' do not exist", kind, strings.Join(missing, ", "))
}

// pick returns the objects of m named by ids (all of m, sorted by ID, when
// ids is empty), or the IDs that are missing.
func pick[T any](m map[string]T, ids []string) ([]T, []string) {
	if len(ids) == 0 {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([]T, len(keys))
		for i, k := range keys {
			out[i] = m[k]
		}
		return out, nil
	}
	var out []T
	var missing []string
	seen := map[string]bool{}
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		v, ok := m[id]
		if !ok {
			missing = append(missing, id)
			continue
		}
		out = append(out, v)
	}
	return out, missing
}

func one(v string) []string {
	if v == "" {
		return nil
	}
	return []string{v}
}

func ec2Time(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// Response shapes (element names as the SDK's deserializers read them).

type ec2Head struct {
	RequestID string `xml:"requestId"`
}

func (h *ec2Head) setRequestID(id string) { h.RequestID = id }

type set[T any] struct {
	Items []T `xml:"item"`
}

type xCidrAssoc struct {
	AssociationID string `xml:"associationId"`
	CidrBlock     string `xml:"cidrBlock"`
	State         struct {
		State string `xml:"state"`
	} `xml:"cidrBlockState"`
}

type xVpc struct {
	VpcID            string          `xml:"vpcId"`
	OwnerID          string          `xml:"ownerId"`
	State            string          `xml:"state"`
	CidrBlock        string          `xml:"cidrBlock"`
	CidrAssociations set[xCidrAssoc] `xml:"cidrBlockAssociationSet"`
	DhcpOptionsID    string          `xml:"dhcpOptionsId"`
	InstanceTenancy  string          `xml:"instanceTenancy"`
	IsDefault        bool            `xml:"isDefault"`
}

func (s *Server) ec2DescribeVpcs(f url.Values, _ time.Time) (any, *apiErr) {
	vpcs, missing := pick(s.vpcs, list(f, "VpcId"))
	if len(missing) > 0 {
		return nil, notFound("InvalidVpcID.NotFound", "vpc", missing)
	}
	fs := filters(f)
	out := &struct {
		ec2Head
		Vpcs set[xVpc] `xml:"vpcSet"`
	}{}
	for _, v := range vpcs {
		ok, e := matchFilters(fs, func(n string) ([]string, bool) {
			switch n {
			case "vpc-id":
				return one(v.id), true
			case "cidr", "cidr-block-association.cidr-block", "cidrBlock":
				return v.cidrs, true
			case "state":
				return one("available"), true
			case "is-default":
				return one("false"), true
			case "owner-id":
				return one(accountID), true
			}
			return nil, false
		})
		if e != nil {
			return nil, e
		}
		if !ok {
			continue
		}
		x := xVpc{VpcID: v.id, OwnerID: accountID, State: "available", DhcpOptionsID: "dopt-00000000", InstanceTenancy: "default"}
		if len(v.cidrs) > 0 {
			x.CidrBlock = v.cidrs[0]
		}
		for i, c := range v.cidrs {
			a := xCidrAssoc{AssociationID: fmt.Sprintf("vpc-cidr-assoc-%s-%d", strings.TrimPrefix(v.id, "vpc-"), i), CidrBlock: c}
			a.State.State = "associated"
			x.CidrAssociations.Items = append(x.CidrAssociations.Items, a)
		}
		out.Vpcs.Items = append(out.Vpcs.Items, x)
	}
	return out, nil
}

type xSubnet struct {
	SubnetID                string `xml:"subnetId"`
	SubnetArn               string `xml:"subnetArn"`
	State                   string `xml:"state"`
	VpcID                   string `xml:"vpcId"`
	OwnerID                 string `xml:"ownerId"`
	CidrBlock               string `xml:"cidrBlock"`
	AvailableIPAddressCount int    `xml:"availableIpAddressCount"`
	AvailabilityZone        string `xml:"availabilityZone"`
	AvailabilityZoneID      string `xml:"availabilityZoneId"`
	DefaultForAz            bool   `xml:"defaultForAz"`
	MapPublicIPOnLaunch     bool   `xml:"mapPublicIpOnLaunch"`
}

func (s *Server) ec2DescribeSubnets(f url.Values, _ time.Time) (any, *apiErr) {
	subnets, missing := pick(s.subnets, list(f, "SubnetId"))
	if len(missing) > 0 {
		return nil, notFound("InvalidSubnetID.NotFound", "subnet", missing)
	}
	fs := filters(f)
	out := &struct {
		ec2Head
		Subnets set[xSubnet] `xml:"subnetSet"`
	}{}
	for _, sn := range subnets {
		ok, e := matchFilters(fs, func(n string) ([]string, bool) {
			switch n {
			case "vpc-id":
				return one(sn.vpc), true
			case "subnet-id":
				return one(sn.id), true
			case "availability-zone", "availabilityZone":
				return one(sn.zone), true
			case "availability-zone-id":
				return one(zoneID(sn.zone)), true
			case "cidr-block", "cidr", "cidrBlock":
				return one(sn.cidr), true
			case "state":
				return one("available"), true
			}
			return nil, false
		})
		if e != nil {
			return nil, e
		}
		if !ok {
			continue
		}
		out.Subnets.Items = append(out.Subnets.Items, xSubnet{
			SubnetID: sn.id, SubnetArn: fmt.Sprintf("arn:aws:ec2:%s:%s:subnet/%s", s.opts.Region, accountID, sn.id),
			State: "available", VpcID: sn.vpc, OwnerID: accountID, CidrBlock: sn.cidr, AvailableIPAddressCount: 250,
			AvailabilityZone: sn.zone, AvailabilityZoneID: zoneID(sn.zone),
		})
	}
	return out, nil
}

type xEIPAssoc struct {
	AllocationID  string `xml:"allocationId,omitempty"`
	AssociationID string `xml:"associationId,omitempty"`
	IPOwnerID     string `xml:"ipOwnerId"`
	PublicDNSName string `xml:"publicDnsName"`
	PublicIP      string `xml:"publicIp"`
}

type xPrivateIP struct {
	PrivateIPAddress string     `xml:"privateIpAddress"`
	Primary          bool       `xml:"primary"`
	Association      *xEIPAssoc `xml:"association,omitempty"`
}

type xAttachment struct {
	AttachmentID        string `xml:"attachmentId"`
	AttachTime          string `xml:"attachTime,omitempty"`
	DeleteOnTermination bool   `xml:"deleteOnTermination"`
	DeviceIndex         int    `xml:"deviceIndex"`
	NetworkCardIndex    int    `xml:"networkCardIndex"`
	InstanceID          string `xml:"instanceId,omitempty"`
	InstanceOwnerID     string `xml:"instanceOwnerId,omitempty"`
	Status              string `xml:"status"`
}

type xENI struct {
	NetworkInterfaceID string          `xml:"networkInterfaceId"`
	SubnetID           string          `xml:"subnetId"`
	VpcID              string          `xml:"vpcId"`
	AvailabilityZone   string          `xml:"availabilityZone"`
	AvailabilityZoneID string          `xml:"availabilityZoneId"`
	Description        string          `xml:"description"`
	OwnerID            string          `xml:"ownerId"`
	RequesterManaged   bool            `xml:"requesterManaged"`
	Status             string          `xml:"status"`
	MacAddress         string          `xml:"macAddress"`
	PrivateIPAddress   string          `xml:"privateIpAddress"`
	SourceDestCheck    bool            `xml:"sourceDestCheck"`
	InterfaceType      string          `xml:"interfaceType"`
	Attachment         *xAttachment    `xml:"attachment,omitempty"`
	Association        *xEIPAssoc      `xml:"association,omitempty"`
	PrivateIPAddresses set[xPrivateIP] `xml:"privateIpAddressesSet"`
	Groups             set[xGroup]     `xml:"groupSet"`
	TagSet             set[struct{}]   `xml:"tagSet"`
	IPv6Addresses      set[struct{}]   `xml:"ipv6AddressesSet"`
}

type xGroup struct {
	GroupID   string `xml:"groupId"`
	GroupName string `xml:"groupName"`
}

// eniAssoc returns the Elastic IP visibly associated with eni, if any.
func (s *Server) eniAssoc(eni string, now time.Time) *xEIPAssoc {
	for _, a := range sortedValues(s.addresses) {
		as := a.assoc.visible(now)
		if as.eni == eni && as.id != "" {
			return &xEIPAssoc{AllocationID: a.alloc, AssociationID: as.id, IPOwnerID: "amazon", PublicDNSName: publicDNS(a.ip, s.opts.Region), PublicIP: a.ip}
		}
	}
	return nil
}

func publicDNS(ip, region string) string {
	return "ec2-" + strings.ReplaceAll(ip, ".", "-") + "." + region + ".compute.amazonaws.com"
}

func sortedValues[T any](m map[string]T) []T {
	out, _ := pick(m, nil)
	return out
}

func (s *Server) eniXML(e *eniRec, now time.Time) xENI {
	sn := s.subnets[e.subnet]
	x := xENI{
		NetworkInterfaceID: e.id, SubnetID: e.subnet, OwnerID: accountID, Status: "available",
		MacAddress: macOf(e.id), PrivateIPAddress: e.ip, SourceDestCheck: e.sdc, InterfaceType: "interface",
		Groups: set[xGroup]{Items: []xGroup{{GroupID: "sg-00000000000000000", GroupName: "default"}}},
	}
	if sn != nil {
		x.VpcID, x.AvailabilityZone, x.AvailabilityZoneID = sn.vpc, sn.zone, zoneID(sn.zone)
	}
	if e.instance != "" {
		x.Status = "in-use"
		x.Attachment = &xAttachment{
			AttachmentID: "eni-attach-" + strings.TrimPrefix(e.id, "eni-"), AttachTime: ec2Time(e.attached),
			DeleteOnTermination: e.device == 0, DeviceIndex: e.device, InstanceID: e.instance, InstanceOwnerID: accountID, Status: "attached",
		}
	}
	x.Association = s.eniAssoc(e.id, now)
	x.PrivateIPAddresses.Items = []xPrivateIP{{PrivateIPAddress: e.ip, Primary: true, Association: x.Association}}
	return x
}

func (s *Server) eniFacets(e *eniRec, now time.Time) facets {
	return func(n string) ([]string, bool) {
		sn := s.subnets[e.subnet]
		switch n {
		case "network-interface-id":
			return one(e.id), true
		case "attachment.instance-id":
			return one(e.instance), true
		case "attachment.device-index":
			if e.instance == "" {
				return nil, true
			}
			return one(strconv.Itoa(e.device)), true
		case "attachment.status":
			if e.instance == "" {
				return nil, true
			}
			return one("attached"), true
		case "vpc-id":
			if sn == nil {
				return nil, true
			}
			return one(sn.vpc), true
		case "subnet-id":
			return one(e.subnet), true
		case "availability-zone":
			if sn == nil {
				return nil, true
			}
			return one(sn.zone), true
		case "private-ip-address", "addresses.private-ip-address":
			return one(e.ip), true
		case "mac-address":
			return one(macOf(e.id)), true
		case "status":
			if e.instance == "" {
				return one("available"), true
			}
			return one("in-use"), true
		case "association.allocation-id", "association.public-ip", "association.association-id":
			a := s.eniAssoc(e.id, now)
			if a == nil {
				return nil, true
			}
			switch n {
			case "association.allocation-id":
				return one(a.AllocationID), true
			case "association.public-ip":
				return one(a.PublicIP), true
			}
			return one(a.AssociationID), true
		case "owner-id":
			return one(accountID), true
		}
		return nil, false
	}
}

func (s *Server) ec2DescribeNetworkInterfaces(f url.Values, now time.Time) (any, *apiErr) {
	enis, missing := pick(s.enis, list(f, "NetworkInterfaceId"))
	if len(missing) > 0 {
		return nil, notFound("InvalidNetworkInterfaceID.NotFound", "networkInterface", missing)
	}
	fs := filters(f)
	if e := checkFilters(fs, s.eniFacets(&eniRec{}, now)); e != nil {
		return nil, e
	}
	out := &struct {
		ec2Head
		ENIs set[xENI] `xml:"networkInterfaceSet"`
	}{}
	for _, e := range enis {
		if ok, _ := matchFilters(fs, s.eniFacets(e, now)); !ok {
			continue
		}
		out.ENIs.Items = append(out.ENIs.Items, s.eniXML(e, now))
	}
	return out, nil
}

type xRoute struct {
	DestinationCidrBlock string `xml:"destinationCidrBlock"`
	GatewayID            string `xml:"gatewayId,omitempty"`
	InstanceID           string `xml:"instanceId,omitempty"`
	InstanceOwnerID      string `xml:"instanceOwnerId,omitempty"`
	NetworkInterfaceID   string `xml:"networkInterfaceId,omitempty"`
	State                string `xml:"state"`
	Origin               string `xml:"origin"`
}

type xRouteTableAssoc struct {
	ID           string `xml:"routeTableAssociationId"`
	RouteTableID string `xml:"routeTableId"`
	Main         bool   `xml:"main"`
	State        struct {
		State string `xml:"state"`
	} `xml:"associationState"`
}

type xRouteTable struct {
	RouteTableID    string                `xml:"routeTableId"`
	VpcID           string                `xml:"vpcId"`
	OwnerID         string                `xml:"ownerId"`
	Routes          set[xRoute]           `xml:"routeSet"`
	Associations    set[xRouteTableAssoc] `xml:"associationSet"`
	PropagatingVgws set[struct{}]         `xml:"propagatingVgwSet"`
	TagSet          set[struct{}]         `xml:"tagSet"`
}

// routeXML returns the route as readers see it now; ok false when it is
// not (visibly) there.
func (s *Server) routeXML(r *routeRec, now time.Time) (xRoute, bool) {
	tg := r.target.visible(now)
	if !tg.exists {
		return xRoute{}, false
	}
	x := xRoute{DestinationCidrBlock: r.dest, GatewayID: tg.gateway, NetworkInterfaceID: tg.eni, State: "active", Origin: r.origin}
	if tg.eni != "" {
		e := s.enis[tg.eni]
		switch {
		case e == nil:
			x.State = "blackhole"
		case e.instance != "":
			x.InstanceID, x.InstanceOwnerID = e.instance, accountID
		}
	}
	return x, true
}

func (s *Server) ec2DescribeRouteTables(f url.Values, now time.Time) (any, *apiErr) {
	tables, missing := pick(s.tables, list(f, "RouteTableId"))
	if len(missing) > 0 {
		return nil, notFound("InvalidRouteTableID.NotFound", "routeTable", missing)
	}
	fs := filters(f)
	out := &struct {
		ec2Head
		Tables set[xRouteTable] `xml:"routeTableSet"`
	}{}
	for _, t := range tables {
		x := xRouteTable{RouteTableID: t.id, VpcID: t.vpc, OwnerID: accountID}
		for _, r := range t.routes {
			if xr, ok := s.routeXML(r, now); ok {
				x.Routes.Items = append(x.Routes.Items, xr)
			}
		}
		routeVals := func(get func(xRoute) string) []string {
			var vs []string
			for _, r := range x.Routes.Items {
				if v := get(r); v != "" {
					vs = append(vs, v)
				}
			}
			return vs
		}
		ok, e := matchFilters(fs, func(n string) ([]string, bool) {
			switch n {
			case "vpc-id":
				return one(t.vpc), true
			case "route-table-id":
				return one(t.id), true
			case "owner-id":
				return one(accountID), true
			case "route.destination-cidr-block":
				return routeVals(func(r xRoute) string { return r.DestinationCidrBlock }), true
			case "route.network-interface-id":
				return routeVals(func(r xRoute) string { return r.NetworkInterfaceID }), true
			case "route.instance-id":
				return routeVals(func(r xRoute) string { return r.InstanceID }), true
			case "route.gateway-id":
				return routeVals(func(r xRoute) string { return r.GatewayID }), true
			case "route.state":
				return routeVals(func(r xRoute) string { return r.State }), true
			case "route.origin":
				return routeVals(func(r xRoute) string { return r.Origin }), true
			}
			return nil, false
		})
		if e != nil {
			return nil, e
		}
		if !ok {
			continue
		}
		out.Tables.Items = append(out.Tables.Items, x)
	}
	return out, nil
}

type xReturn struct {
	ec2Head
	Return bool `xml:"return"`
}

func (s *Server) ec2ReplaceRoute(f url.Values, now time.Time) (any, *apiErr) {
	tid, dest, eni := f.Get("RouteTableId"), f.Get("DestinationCidrBlock"), f.Get("NetworkInterfaceId")
	if tid == "" {
		return nil, errf(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter routeTableId")
	}
	if dest == "" {
		return nil, errf(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter destinationCidrBlock or destinationIpv6CidrBlock or destinationPrefixListId")
	}
	if eni == "" {
		return nil, errf(http.StatusBadRequest, "InvalidParameterCombination", "awstest models ReplaceRoute to a network interface only: give NetworkInterfaceId")
	}
	if p, err := netip.ParsePrefix(dest); err != nil || !p.Addr().Is4() {
		return nil, errf(http.StatusBadRequest, "InvalidParameterValue", "Value (%s) for parameter destinationCidrBlock is invalid. This is not a valid CIDR block.", dest)
	}
	t := s.tables[tid]
	if t == nil {
		return nil, notFound("InvalidRouteTableID.NotFound", "routeTable", []string{tid})
	}
	e := s.enis[eni]
	if e == nil {
		return nil, notFound("InvalidNetworkInterfaceID.NotFound", "networkInterface", []string{eni})
	}
	if sn := s.subnets[e.subnet]; sn == nil || sn.vpc != t.vpc {
		return nil, errf(http.StatusBadRequest, "InvalidParameterValue", "route table %s and network interface %s belong to different networks", tid, eni)
	}
	r := t.route(dest)
	if r == nil || !r.target.latest().exists {
		return nil, errf(http.StatusBadRequest, "InvalidRoute.NotFound", "There is no route defined for '%s' in the route table. Please correct the destination and try again.", dest)
	}
	if r.target.latest().gateway == "local" {
		return nil, errf(http.StatusBadRequest, "InvalidParameterValue", "Cannot replace local route %s in route table %s", dest, tid)
	}
	r.target.write(now, s.consistency, routeTarget{eni: eni, exists: true})
	r.origin = "CreateRoute"
	return &xReturn{Return: true}, nil
}

type xAddress struct {
	PublicIP                string        `xml:"publicIp"`
	AllocationID            string        `xml:"allocationId"`
	Domain                  string        `xml:"domain"`
	AssociationID           string        `xml:"associationId,omitempty"`
	InstanceID              string        `xml:"instanceId,omitempty"`
	NetworkInterfaceID      string        `xml:"networkInterfaceId,omitempty"`
	NetworkInterfaceOwnerID string        `xml:"networkInterfaceOwnerId,omitempty"`
	PrivateIPAddress        string        `xml:"privateIpAddress,omitempty"`
	PublicIPv4Pool          string        `xml:"publicIpv4Pool"`
	NetworkBorderGroup      string        `xml:"networkBorderGroup"`
	TagSet                  set[struct{}] `xml:"tagSet"`
}

func (s *Server) addressXML(a *addressRec, now time.Time) xAddress {
	x := xAddress{PublicIP: a.ip, AllocationID: a.alloc, Domain: "vpc", PublicIPv4Pool: "amazon", NetworkBorderGroup: s.opts.Region}
	if as := a.assoc.visible(now); as.id != "" {
		x.AssociationID, x.NetworkInterfaceID, x.NetworkInterfaceOwnerID, x.PrivateIPAddress = as.id, as.eni, accountID, as.privateIP
		if e := s.enis[as.eni]; e != nil {
			x.InstanceID = e.instance
		}
	}
	return x
}

func (s *Server) ec2DescribeAddresses(f url.Values, now time.Time) (any, *apiErr) {
	addrs, missing := pick(s.addresses, list(f, "AllocationId"))
	if len(missing) > 0 {
		return nil, notFound("InvalidAllocationID.NotFound", "allocation", missing)
	}
	if ips := list(f, "PublicIp"); len(ips) > 0 {
		var keep []*addressRec
		for _, ip := range ips {
			i := slices.IndexFunc(addrs, func(a *addressRec) bool { return a.ip == ip })
			if i < 0 {
				return nil, errf(http.StatusBadRequest, "InvalidAddress.NotFound", "Address '%s' not found.", ip)
			}
			keep = append(keep, addrs[i])
		}
		addrs = keep
	}
	fs := filters(f)
	out := &struct {
		ec2Head
		Addresses set[xAddress] `xml:"addressesSet"`
	}{}
	for _, a := range addrs {
		x := s.addressXML(a, now)
		ok, e := matchFilters(fs, func(n string) ([]string, bool) {
			switch n {
			case "allocation-id":
				return one(x.AllocationID), true
			case "association-id":
				return one(x.AssociationID), true
			case "network-interface-id":
				return one(x.NetworkInterfaceID), true
			case "instance-id":
				return one(x.InstanceID), true
			case "private-ip-address":
				return one(x.PrivateIPAddress), true
			case "public-ip":
				return one(x.PublicIP), true
			case "domain":
				return one(x.Domain), true
			case "network-interface-owner-id":
				return one(x.NetworkInterfaceOwnerID), true
			}
			return nil, false
		})
		if e != nil {
			return nil, e
		}
		if ok {
			out.Addresses.Items = append(out.Addresses.Items, x)
		}
	}
	return out, nil
}

func (s *Server) ec2AssociateAddress(f url.Values, now time.Time) (any, *apiErr) {
	alloc, eniID, ip := f.Get("AllocationId"), f.Get("NetworkInterfaceId"), f.Get("PrivateIpAddress")
	if alloc == "" {
		return nil, errf(http.StatusBadRequest, "MissingParameter", "awstest models VPC addresses only: give AllocationId")
	}
	if eniID == "" {
		if f.Get("InstanceId") != "" {
			return nil, errf(http.StatusBadRequest, "InvalidParameterCombination", "awstest models association to a network interface only: give NetworkInterfaceId")
		}
		return nil, errf(http.StatusBadRequest, "MissingParameter", "Either public IP or allocation id must be specified")
	}
	a := s.addresses[alloc]
	if a == nil {
		return nil, notFound("InvalidAllocationID.NotFound", "allocation", []string{alloc})
	}
	e := s.enis[eniID]
	if e == nil {
		return nil, notFound("InvalidNetworkInterfaceID.NotFound", "networkInterface", []string{eniID})
	}
	if ip == "" {
		ip = e.ip
	} else if ip != e.ip {
		return nil, errf(http.StatusBadRequest, "InvalidParameterValue", "The private IP address %s is not assigned to network interface %s", ip, eniID)
	}
	cur := a.assoc.latest()
	if cur.id != "" && f.Get("AllowReassociation") != "true" && (cur.eni != eniID || cur.privateIP != ip) {
		return nil, errf(http.StatusBadRequest, "Resource.AlreadyAssociated", "resource %s is already associated with associate-id %s", alloc, cur.id)
	}
	as := assocRec{id: s.newID("eipassoc-"), eni: eniID, privateIP: ip}
	a.assoc.write(now, s.consistency, as)
	return &struct {
		ec2Head
		Return        bool   `xml:"return"`
		AssociationID string `xml:"associationId"`
	}{Return: true, AssociationID: as.id}, nil
}

func (s *Server) ec2DisassociateAddress(f url.Values, now time.Time) (any, *apiErr) {
	id := f.Get("AssociationId")
	if id == "" {
		return nil, errf(http.StatusBadRequest, "MissingParameter", "awstest models VPC addresses only: give AssociationId")
	}
	for _, a := range sortedValues(s.addresses) {
		if a.assoc.latest().id == id {
			a.assoc.write(now, s.consistency, assocRec{})
			return &xReturn{Return: true}, nil
		}
	}
	return nil, errf(http.StatusBadRequest, "InvalidAssociationID.NotFound", "The association ID '%s' does not exist", id)
}

type xAZ struct {
	ZoneName           string      `xml:"zoneName"`
	ZoneID             string      `xml:"zoneId"`
	ZoneState          string      `xml:"zoneState"`
	OptInStatus        string      `xml:"optInStatus"`
	RegionName         string      `xml:"regionName"`
	GroupName          string      `xml:"groupName"`
	NetworkBorderGroup string      `xml:"networkBorderGroup"`
	ZoneType           string      `xml:"zoneType"`
	Messages           set[xAZMsg] `xml:"messageSet"`
}

type xAZMsg struct {
	Message string `xml:"message"`
}

func (s *Server) ec2DescribeAvailabilityZones(f url.Values, _ time.Time) (any, *apiErr) {
	names := list(f, "ZoneName")
	zones, missing := pick(s.azs, names)
	if len(missing) > 0 {
		return nil, errf(http.StatusBadRequest, "InvalidParameterValue", "Invalid availability zone: [%s]", strings.Join(missing, ", "))
	}
	if ids := list(f, "ZoneId"); len(ids) > 0 {
		var keep []*azRec
		for _, id := range ids {
			i := slices.IndexFunc(zones, func(z *azRec) bool { return zoneID(z.name) == id })
			if i < 0 {
				return nil, errf(http.StatusBadRequest, "InvalidParameterValue", "Invalid availability zone: [%s]", id)
			}
			keep = append(keep, zones[i])
		}
		zones = keep
	}
	fs := filters(f)
	out := &struct {
		ec2Head
		Zones set[xAZ] `xml:"availabilityZoneInfo"`
	}{}
	for _, z := range zones {
		ok, e := matchFilters(fs, func(n string) ([]string, bool) {
			switch n {
			case "zone-name":
				return one(z.name), true
			case "zone-id":
				return one(zoneID(z.name)), true
			case "state":
				return one(z.state), true
			case "region-name":
				return one(s.opts.Region), true
			case "zone-type":
				return one("availability-zone"), true
			}
			return nil, false
		})
		if e != nil {
			return nil, e
		}
		if !ok {
			continue
		}
		x := xAZ{ZoneName: z.name, ZoneID: zoneID(z.name), ZoneState: z.state, OptInStatus: "opt-in-not-required",
			RegionName: s.opts.Region, GroupName: s.opts.Region, NetworkBorderGroup: s.opts.Region, ZoneType: "availability-zone"}
		if z.state != "available" {
			x.Messages.Items = []xAZMsg{{Message: fmt.Sprintf("Availability zone %s is %s.", z.name, z.state)}}
		}
		out.Zones.Items = append(out.Zones.Items, x)
	}
	return out, nil
}

type xInstanceState struct {
	Code int    `xml:"code"`
	Name string `xml:"name"`
}

type xInstanceENI struct {
	NetworkInterfaceID string          `xml:"networkInterfaceId"`
	SubnetID           string          `xml:"subnetId"`
	VpcID              string          `xml:"vpcId"`
	OwnerID            string          `xml:"ownerId"`
	Status             string          `xml:"status"`
	MacAddress         string          `xml:"macAddress"`
	PrivateIPAddress   string          `xml:"privateIpAddress"`
	SourceDestCheck    bool            `xml:"sourceDestCheck"`
	InterfaceType      string          `xml:"interfaceType"`
	Attachment         *xAttachment    `xml:"attachment,omitempty"`
	Association        *xEIPAssoc      `xml:"association,omitempty"`
	PrivateIPAddresses set[xPrivateIP] `xml:"privateIpAddressesSet"`
}

type xInstance struct {
	InstanceID   string         `xml:"instanceId"`
	ImageID      string         `xml:"imageId"`
	State        xInstanceState `xml:"instanceState"`
	InstanceType string         `xml:"instanceType"`
	LaunchTime   string         `xml:"launchTime"`
	Placement    struct {
		AvailabilityZone   string `xml:"availabilityZone"`
		AvailabilityZoneID string `xml:"availabilityZoneId"`
		Tenancy            string `xml:"tenancy"`
	} `xml:"placement"`
	SubnetID         string            `xml:"subnetId,omitempty"`
	VpcID            string            `xml:"vpcId,omitempty"`
	PrivateIPAddress string            `xml:"privateIpAddress,omitempty"`
	IPAddress        string            `xml:"ipAddress,omitempty"`
	SourceDestCheck  bool              `xml:"sourceDestCheck"`
	ENIs             set[xInstanceENI] `xml:"networkInterfaceSet"`
}

type xReservation struct {
	ReservationID string         `xml:"reservationId"`
	OwnerID       string         `xml:"ownerId"`
	Instances     set[xInstance] `xml:"instancesSet"`
}

// instanceENIs returns the ENIs attached to the instance by device index.
func (s *Server) instanceENIs(id string) []*eniRec {
	var out []*eniRec
	for _, e := range sortedValues(s.enis) {
		if e.instance == id {
			out = append(out, e)
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].device < out[b].device })
	return out
}

func (s *Server) instanceXML(i *instanceRec, now time.Time) xInstance {
	st := i.stateAt(now)
	x := xInstance{InstanceID: i.id, ImageID: "ami-00000000000000000", State: xInstanceState{stateCodes[st], st},
		InstanceType: "t3.micro", LaunchTime: ec2Time(i.launched), SourceDestCheck: true}
	x.Placement.AvailabilityZone, x.Placement.AvailabilityZoneID, x.Placement.Tenancy = i.zone, zoneID(i.zone), "default"
	for _, e := range s.instanceENIs(i.id) {
		ex := s.eniXML(e, now)
		x.ENIs.Items = append(x.ENIs.Items, xInstanceENI{
			NetworkInterfaceID: ex.NetworkInterfaceID, SubnetID: ex.SubnetID, VpcID: ex.VpcID, OwnerID: accountID,
			Status: ex.Status, MacAddress: ex.MacAddress, PrivateIPAddress: ex.PrivateIPAddress, SourceDestCheck: ex.SourceDestCheck,
			InterfaceType: "interface", Attachment: ex.Attachment, Association: ex.Association, PrivateIPAddresses: ex.PrivateIPAddresses,
		})
		if e.device == 0 {
			x.SubnetID, x.VpcID, x.PrivateIPAddress, x.SourceDestCheck = ex.SubnetID, ex.VpcID, ex.PrivateIPAddress, ex.SourceDestCheck
			if ex.Association != nil {
				x.IPAddress = ex.Association.PublicIP
			}
		}
	}
	return x
}

func (s *Server) ec2DescribeInstances(f url.Values, now time.Time) (any, *apiErr) {
	insts, missing := pick(s.instances, list(f, "InstanceId"))
	if len(missing) > 0 {
		return nil, notFound("InvalidInstanceID.NotFound", "instance", missing)
	}
	fs := filters(f)
	out := &struct {
		ec2Head
		Reservations set[xReservation] `xml:"reservationSet"`
	}{}
	for _, i := range insts {
		x := s.instanceXML(i, now)
		ok, e := matchFilters(fs, func(n string) ([]string, bool) {
			switch n {
			case "instance-id":
				return one(x.InstanceID), true
			case "instance-state-name":
				return one(x.State.Name), true
			case "instance-state-code":
				return one(strconv.Itoa(x.State.Code)), true
			case "availability-zone":
				return one(i.zone), true
			case "vpc-id":
				return one(x.VpcID), true
			case "subnet-id":
				return one(x.SubnetID), true
			case "private-ip-address":
				return one(x.PrivateIPAddress), true
			case "network-interface.network-interface-id":
				var ids []string
				for _, e := range x.ENIs.Items {
					ids = append(ids, e.NetworkInterfaceID)
				}
				return ids, true
			}
			return nil, false
		})
		if e != nil {
			return nil, e
		}
		if !ok {
			continue
		}
		out.Reservations.Items = append(out.Reservations.Items, xReservation{
			ReservationID: "r-" + strings.TrimPrefix(i.id, "i-"), OwnerID: accountID, Instances: set[xInstance]{Items: []xInstance{x}},
		})
	}
	return out, nil
}

type xStateChange struct {
	InstanceID    string         `xml:"instanceId"`
	CurrentState  xInstanceState `xml:"currentState"`
	PreviousState xInstanceState `xml:"previousState"`
}

func (s *Server) ec2StopInstances(f url.Values, now time.Time) (any, *apiErr) {
	ids := list(f, "InstanceId")
	if len(ids) == 0 {
		return nil, errf(http.StatusBadRequest, "MissingParameter", "The request must contain the parameter InstanceId")
	}
	insts, missing := pick(s.instances, ids)
	if len(missing) > 0 {
		return nil, notFound("InvalidInstanceID.NotFound", "instance", missing)
	}
	out := &struct {
		ec2Head
		Instances set[xStateChange] `xml:"instancesSet"`
	}{}
	for _, i := range insts {
		prev := i.stateAt(now)
		if prev == stateRunning {
			i.state, i.stopAt = stateStopping, now.Add(stopDelay)
		}
		cur := i.stateAt(now)
		out.Instances.Items = append(out.Instances.Items, xStateChange{InstanceID: i.id,
			CurrentState: xInstanceState{stateCodes[cur], cur}, PreviousState: xInstanceState{stateCodes[prev], prev}})
	}
	return out, nil
}
