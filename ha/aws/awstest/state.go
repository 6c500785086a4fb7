package awstest

import (
	"fmt"
	"hash/fnv"
	"slices"
	"strings"
	"time"
)

// entry is one write of a versioned value: v becomes readable at at.
type entry[T any] struct {
	at time.Time
	v  T
}

// versioned is a value under eventual consistency: every write is kept in
// write order with the time it becomes visible. latest is the truth (what
// later writes are checked against); visible is what a read at now sees:
// the last-written entry that is already visible, or the zero value.
type versioned[T any] struct {
	hist []entry[T]
}

func (x *versioned[T]) write(now time.Time, delay time.Duration, v T) {
	x.hist = append(x.hist, entry[T]{at: now.Add(delay), v: v})
}

func (x *versioned[T]) latest() T {
	if len(x.hist) == 0 {
		var zero T
		return zero
	}
	return x.hist[len(x.hist)-1].v
}

func (x *versioned[T]) visible(now time.Time) T {
	for i := len(x.hist) - 1; i >= 0; i-- {
		if !x.hist[i].at.After(now) {
			// Entries written before i can never be read again.
			x.hist = x.hist[i:]
			return x.hist[0].v
		}
	}
	var zero T
	return zero
}

type vpcRec struct {
	id    string
	cidrs []string
}

type subnetRec struct {
	id, vpc, zone, cidr string
}

// Instance state names and codes as EC2 reports them.
const (
	stateRunning  = "running"
	stateStopping = "stopping"
	stateStopped  = "stopped"
)

var stateCodes = map[string]int{"pending": 0, stateRunning: 16, "shutting-down": 32, "terminated": 48, stateStopping: 64, stateStopped: 80}

// stopDelay is how long an instance stays "stopping" after StopInstances.
const stopDelay = time.Second

type instanceRec struct {
	id, zone string
	state    string
	stopAt   time.Time
	launched time.Time
}

// stateAt returns the instance's state at now (a stopping instance is
// stopped once stopDelay passed).
func (i *instanceRec) stateAt(now time.Time) string {
	if i.state == stateStopping && !now.Before(i.stopAt) {
		i.state = stateStopped
	}
	return i.state
}

type eniRec struct {
	id, subnet, instance, ip string
	device                   int
	sdc                      bool
	attached                 time.Time
}

type routeTarget struct {
	eni, gateway string
	exists       bool
}

type routeRec struct {
	dest   string
	origin string
	target versioned[routeTarget]
}

type routeTableRec struct {
	id, vpc string
	routes  []*routeRec
}

func (t *routeTableRec) route(dest string) *routeRec {
	for _, r := range t.routes {
		if r.dest == dest {
			return r
		}
	}
	return nil
}

type assocRec struct {
	id, eni, privateIP string
}

type addressRec struct {
	alloc, ip string
	assoc     versioned[assocRec]
}

type azRec struct {
	name, state string
}

type rrKey struct {
	name, typ string
}

type rrset struct {
	ttl    int64
	values []string
}

type hostedZoneRec struct {
	id, name string
	private  bool
	records  map[rrKey]*versioned[*rrset]
	created  time.Time
}

type changeRec struct {
	id        string
	submitted time.Time
	insyncAt  time.Time
	comment   string
}

type tableRec struct {
	name, hashKey string
	created       time.Time
	items         map[string]item
}

// Route is one route of a route table given to [Server.AddRouteTable]:
// Destination is an IPv4 CIDR block ("10.1.0.10/32"); exactly one of ENI
// (a network interface ID) and Gateway ("local", "igw-1", …) is the
// target.
type Route struct{ Destination, ENI, Gateway string }

// AddVPC adds (or replaces) a VPC with its IPv4 CIDR blocks; the first is
// its primary CIDR block.
func (s *Server) AddVPC(id string, cidrs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.vpcs[id] = &vpcRec{id: id, cidrs: slices.Clone(cidrs)}
}

// AddSubnet adds (or replaces) a subnet of VPC vpc in availability zone
// zone (which then exists, "available" unless set otherwise). It panics
// when vpc was not added: a mistake in the test's setup.
func (s *Server) AddSubnet(id, vpc, zone, cidr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustHave("AddSubnet", "VPC", vpc, s.vpcs[vpc] != nil)
	s.subnets[id] = &subnetRec{id: id, vpc: vpc, zone: zone, cidr: cidr}
	s.ensureZone(zone)
}

// AddInstance adds (or replaces) a running instance in availability zone
// zone (which then exists).
func (s *Server) AddInstance(id, zone string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.instances[id] = &instanceRec{id: id, zone: zone, state: stateRunning, launched: s.now()}
	s.ensureZone(zone)
}

// InstanceState returns the instance's state: "running", "stopping" (for
// about a second after StopInstances) or "stopped"; "" for an unknown
// instance.
func (s *Server) InstanceState(id string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if i := s.instances[id]; i != nil {
		return i.stateAt(s.now())
	}
	return ""
}

// AddENI adds (or replaces) a network interface in subnet with one private
// IPv4 address, attached to instance (none when instance is ""): device
// index 0 when it is the first on that instance, else the next free one.
// Its Source/Dest. Check is on, as EC2 creates it. It panics when subnet
// or instance was not added.
func (s *Server) AddENI(id, subnet, instance, privateIP string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.mustHave("AddENI", "subnet", subnet, s.subnets[subnet] != nil)
	e := &eniRec{id: id, subnet: subnet, ip: privateIP, sdc: true}
	if instance != "" {
		s.mustHave("AddENI", "instance", instance, s.instances[instance] != nil)
		used := map[int]bool{}
		for _, o := range s.enis {
			if o.instance == instance && o.id != id {
				used[o.device] = true
			}
		}
		for used[e.device] {
			e.device++
		}
		e.instance = instance
		e.attached = s.now()
	}
	s.enis[id] = e
}

// SetSourceDestCheck turns the ENI's Source/Dest. Check on or off. It
// panics for an ENI that was not added.
func (s *Server) SetSourceDestCheck(eni string, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	e := s.enis[eni]
	s.mustHave("SetSourceDestCheck", "ENI", eni, e != nil)
	e.sdc = on
}

// AddRouteTable adds (or replaces) a route table of vpc with routes, after
// the "local" route of each of the VPC's CIDR blocks, which EC2 puts in
// every table and which is added here unless routes name it. It panics
// when vpc was not added.
func (s *Server) AddRouteTable(id, vpc string, routes ...Route) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := s.vpcs[vpc]
	s.mustHave("AddRouteTable", "VPC", vpc, v != nil)
	now := s.now()
	t := &routeTableRec{id: id, vpc: vpc}
	add := func(dest, origin string, tg routeTarget) {
		r := t.route(dest)
		if r == nil {
			r = &routeRec{dest: dest, origin: origin}
			t.routes = append(t.routes, r)
		}
		r.target = versioned[routeTarget]{}
		r.target.write(now, 0, tg)
	}
	for _, c := range v.cidrs {
		add(c, "CreateRouteTable", routeTarget{gateway: "local", exists: true})
	}
	for _, r := range routes {
		origin := "CreateRoute"
		if r.Gateway == "local" {
			origin = "CreateRouteTable"
		}
		add(r.Destination, origin, routeTarget{eni: r.ENI, gateway: r.Gateway, exists: true})
	}
	s.tables[id] = t
}

// RouteTarget returns the ENI (or the gateway) the route for destination
// in table points to now, writes not yet visible to readers included; ""
// when there is no such route or table.
func (s *Server) RouteTarget(table, destination string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables[table]
	if t == nil {
		return ""
	}
	r := t.route(destination)
	if r == nil {
		return ""
	}
	tg := r.target.latest()
	if !tg.exists {
		return ""
	}
	if tg.eni != "" {
		return tg.eni
	}
	return tg.gateway
}

// SetRoute is another actor changing the route for destination in table
// to point to eni (creating the route when missing); eni "" deletes the
// route. The change is visible to readers at once. It panics when table
// was not added.
func (s *Server) SetRoute(table, destination, eni string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.tables[table]
	s.mustHave("SetRoute", "route table", table, t != nil)
	r := t.route(destination)
	if r == nil {
		if eni == "" {
			return
		}
		r = &routeRec{dest: destination, origin: "CreateRoute"}
		t.routes = append(t.routes, r)
	}
	r.target.write(s.now(), 0, routeTarget{eni: eni, exists: eni != ""})
}

// AddAddress adds (or replaces) an unassociated Elastic IP address of the
// VPC domain.
func (s *Server) AddAddress(allocationID, publicIP string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.addresses[allocationID] = &addressRec{alloc: allocationID, ip: publicIP}
}

// Association returns the ENI the Elastic IP address is associated with
// now, writes not yet visible to readers included; "" when it is not
// associated or unknown.
func (s *Server) Association(allocationID string) (eni string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if a := s.addresses[allocationID]; a != nil {
		return a.assoc.latest().eni
	}
	return ""
}

// SetAssociation is another actor associating the Elastic IP address with
// eni (its primary private IP address), or disassociating it when eni is
// "". The change is visible to readers at once. It panics when the
// address or the ENI was not added.
func (s *Server) SetAssociation(allocationID, eni string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.addresses[allocationID]
	s.mustHave("SetAssociation", "address", allocationID, a != nil)
	var as assocRec
	if eni != "" {
		e := s.enis[eni]
		s.mustHave("SetAssociation", "ENI", eni, e != nil)
		as = assocRec{id: s.newID("eipassoc-"), eni: eni, privateIP: e.ip}
	}
	a.assoc.write(s.now(), 0, as)
}

// AddHostedZone adds (or replaces) a hosted zone named name ("example.com."),
// with its NS and SOA records at the apex as Route 53 creates them. id
// may be given bare ("Z0123") or as "/hostedzone/Z0123".
func (s *Server) AddHostedZone(id, name string, private bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id = strings.TrimPrefix(id, "/hostedzone/")
	name = canonicalName(name)
	z := &hostedZoneRec{id: id, name: name, private: private, records: map[rrKey]*versioned[*rrset]{}, created: s.now()}
	ns := []string{"ns-1.awsdns-01.org.", "ns-2.awsdns-02.co.uk.", "ns-3.awsdns-03.com.", "ns-4.awsdns-04.net."}
	if private {
		ns = []string{"ns-0.awsdns-00.com.", "ns-512.awsdns-00.net.", "ns-1024.awsdns-00.org.", "ns-1536.awsdns-00.co.uk."}
	}
	z.set(rrKey{name, "NS"}, s.now(), 0, &rrset{ttl: 172800, values: ns})
	z.set(rrKey{name, "SOA"}, s.now(), 0, &rrset{ttl: 900, values: []string{ns[0] + " awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400"}})
	s.zones[id] = z
}

func (z *hostedZoneRec) set(k rrKey, now time.Time, delay time.Duration, r *rrset) {
	v := z.records[k]
	if v == nil {
		v = &versioned[*rrset]{}
		z.records[k] = v
	}
	v.write(now, delay, r)
}

// Record returns the values and TTL of the record set name/typ of the
// hosted zone now, writes not yet visible to readers included; ok is
// false when there is none. name is matched case-insensitively, with or
// without the trailing dot.
func (s *Server) Record(zone, name, typ string) (values []string, ttl int64, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zones[strings.TrimPrefix(zone, "/hostedzone/")]
	if z == nil {
		return nil, 0, false
	}
	v := z.records[rrKey{canonicalName(name), strings.ToUpper(typ)}]
	if v == nil {
		return nil, 0, false
	}
	r := v.latest()
	if r == nil {
		return nil, 0, false
	}
	return slices.Clone(r.values), r.ttl, true
}

// SetRecord is another actor writing the record set name/typ of the
// hosted zone with ttl and values, or deleting it when no values are
// given. The change is visible to readers at once. It panics when the
// zone was not added.
func (s *Server) SetRecord(zone, name, typ string, ttl int64, values ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	z := s.zones[strings.TrimPrefix(zone, "/hostedzone/")]
	s.mustHave("SetRecord", "hosted zone", zone, z != nil)
	var r *rrset
	if len(values) > 0 {
		r = &rrset{ttl: ttl, values: slices.Clone(values)}
	}
	z.set(rrKey{canonicalName(name), strings.ToUpper(typ)}, s.now(), 0, r)
}

// SetZoneState sets an availability zone's state as DescribeAvailabilityZones
// reports it: "available", "information", "impaired" or "unavailable".
// The zone exists from then on (as it does once a subnet or an instance
// names it).
func (s *Server) SetZoneState(zone, state string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ensureZone(zone)
	s.azs[zone].state = state
}

// AddTable adds (or empties) a DynamoDB table whose key is the string
// attribute hashKey.
func (s *Server) AddTable(name, hashKey string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.dynTables[name] = &tableRec{name: name, hashKey: hashKey, created: s.now(), items: map[string]item{}}
}

// Item returns the item of table whose key is key, each attribute as text
// (S as is, N as written, BOOL as "true" or "false", NULL as ""); nil when
// there is none.
func (s *Server) Item(table, key string) map[string]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.dynTables[table]
	if t == nil {
		return nil
	}
	it := t.items[key]
	if it == nil {
		return nil
	}
	out := make(map[string]string, len(it))
	for k, v := range it {
		out[k] = v.text()
	}
	return out
}

func (s *Server) ensureZone(zone string) {
	if zone == "" {
		return
	}
	if s.azs[zone] == nil {
		s.azs[zone] = &azRec{name: zone, state: "available"}
	}
}

func (s *Server) mustHave(method, kind, id string, ok bool) {
	if !ok {
		panic(fmt.Sprintf("awstest: %s: %s %q was not added", method, kind, id))
	}
}

// newID returns prefix followed by 17 hex digits, unique in this server.
func (s *Server) newID(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s%017x", prefix, s.seq)
}

// canonicalName is a DNS name as Route 53 stores it: lower case, with the
// trailing dot.
func canonicalName(name string) string {
	name = strings.ToLower(name)
	if !strings.HasSuffix(name, ".") {
		name += "."
	}
	return name
}

// macOf derives an ENI's MAC address from its ID (a locally administered
// unicast address, as EC2's are).
func macOf(eni string) string {
	h := fnv.New64a()
	h.Write([]byte(eni))
	b := h.Sum(nil)
	return fmt.Sprintf("02:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4])
}

// zoneID derives an availability zone's ID ("apne1-az1") from its name.
func zoneID(zone string) string {
	if zone == "" {
		return ""
	}
	region, letter := zone[:len(zone)-1], zone[len(zone)-1]
	short := map[string]string{"northeast": "ne", "southeast": "se", "northwest": "nw", "southwest": "sw", "central": "c", "east": "e", "west": "w", "north": "n", "south": "s"}
	var b strings.Builder
	for i, p := range strings.Split(region, "-") {
		switch {
		case i == 0:
			b.WriteString(p)
		case short[p] != "":
			b.WriteString(short[p])
		case p != "":
			b.WriteByte(p[0])
		}
	}
	n := int(letter-'a') + 1
	if letter < 'a' || letter > 'z' {
		n = 1
	}
	return fmt.Sprintf("%s-az%d", b.String(), n)
}
