package awstest

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Route 53's REST-XML protocol under /2013-04-01/.
const route53NS = "https://route53.amazonaws.com/doc/2013-04-01/"

// route53MaxItems is the most record sets one ListResourceRecordSets page
// holds.
const route53MaxItems = 300

func (s *Server) serveRoute53(w http.ResponseWriter, r *http.Request) {
	rid := s.requestID()
	w.Header().Set("X-Amzn-RequestId", rid)
	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/2013-04-01/"), "/"), "/")
	var action, id string
	switch {
	case len(parts) == 2 && parts[0] == "hostedzone" && r.Method == http.MethodGet:
		action, id = "GetHostedZone", parts[1]
	case len(parts) == 3 && parts[0] == "hostedzone" && parts[2] == "rrset" && r.Method == http.MethodGet:
		action, id = "ListResourceRecordSets", parts[1]
	case len(parts) == 3 && parts[0] == "hostedzone" && parts[2] == "rrset" && r.Method == http.MethodPost:
		action, id = "ChangeResourceRecordSets", parts[1]
	case len(parts) == 2 && parts[0] == "change" && r.Method == http.MethodGet:
		action, id = "GetChange", parts[1]
	default:
		s.countOnly("")
		writeRoute53Error(w, rid, errf(http.StatusNotFound, "UnknownOperationException", "awstest models no Route 53 operation at %s %s", r.Method, r.URL.Path))
		return
	}
	if e := s.admit(r, protoRoute53, action, []string{id}, nil); e != nil {
		writeRoute53Error(w, rid, e)
		return
	}
	var body []byte
	if r.Method == http.MethodPost {
		b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
		if err != nil {
			writeRoute53Error(w, rid, errf(http.StatusBadRequest, "InvalidInput", "The request body could not be read: %v", err))
			return
		}
		body = b
	}
	s.mu.Lock()
	now := s.now()
	var out any
	var e *apiErr
	switch action {
	case "GetHostedZone":
		out, e = s.r53GetHostedZone(id, now)
	case "ListResourceRecordSets":
		out, e = s.r53List(id, r.URL.Query(), now)
	case "ChangeResourceRecordSets":
		out, e = s.r53Change(id, body, now)
	case "GetChange":
		out, e = s.r53GetChange(id, now)
	}
	s.mu.Unlock()
	if e != nil {
		writeRoute53Error(w, rid, e)
		return
	}
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	start := xml.StartElement{Name: xml.Name{Local: action + "Response"}, Attr: []xml.Attr{{Name: xml.Name{Local: "xmlns"}, Value: route53NS}}}
	if err := xml.NewEncoder(&buf).EncodeElement(out, start); err != nil {
		writeRoute53Error(w, rid, errf(http.StatusInternalServerError, "InternalFailure", "An internal error occurred."))
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(buf.Bytes())
}

func writeRoute53Error(w http.ResponseWriter, rid string, e *apiErr) {
	typ := "Sender"
	if e.status >= 500 {
		typ = "Receiver"
	}
	type xErr struct {
		Type    string `xml:"Type"`
		Code    string `xml:"Code"`
		Message string `xml:"Message"`
	}
	type xResp struct {
		XMLName   xml.Name `xml:"ErrorResponse"`
		Xmlns     string   `xml:"xmlns,attr"`
		Error     xErr     `xml:"Error"`
		RequestID string   `xml:"RequestId"`
	}
	body, _ := xml.Marshal(xResp{Xmlns: route53NS, Error: xErr{typ, e.code, e.msg}, RequestID: rid})
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(e.status)
	_, _ = w.Write(append([]byte(xml.Header), body...))
}

func (s *Server) zone(id string) (*hostedZoneRec, *apiErr) {
	z := s.zones[id]
	if z == nil {
		return nil, errf(http.StatusNotFound, "NoSuchHostedZone", "No hosted zone found with ID: %s", id)
	}
	return z, nil
}

// visibleSets returns the zone's record sets readers see at now, in Route
// 53's order.
func (z *hostedZoneRec) visibleSets(now time.Time) []rrKey {
	var keys []rrKey
	for k, v := range z.records {
		if v.visible(now) != nil {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(a, b int) bool { return rrLess(keys[a], keys[b]) })
	return keys
}

// rrLess is Route 53's listing order: names compared label by label from
// the right (so a zone's apex comes first and each name is followed by
// its subdomains), then types alphabetically.
func rrLess(a, b rrKey) bool {
	if c := compareNames(a.name, b.name); c != 0 {
		return c < 0
	}
	return a.typ < b.typ
}

func compareNames(a, b string) int {
	la := strings.Split(strings.TrimSuffix(a, "."), ".")
	lb := strings.Split(strings.TrimSuffix(b, "."), ".")
	slices.Reverse(la)
	slices.Reverse(lb)
	return slices.Compare(la, lb)
}

type xHostedZone struct {
	ID              string `xml:"Id"`
	Name            string `xml:"Name"`
	CallerReference string `xml:"CallerReference"`
	Config          struct {
		Comment     string `xml:"Comment,omitempty"`
		PrivateZone bool   `xml:"PrivateZone"`
	} `xml:"Config"`
	ResourceRecordSetCount int `xml:"ResourceRecordSetCount"`
}

func (s *Server) r53GetHostedZone(id string, now time.Time) (any, *apiErr) {
	z, e := s.zone(id)
	if e != nil {
		return nil, e
	}
	out := &struct {
		HostedZone    xHostedZone `xml:"HostedZone"`
		DelegationSet *struct {
			NameServers []string `xml:"NameServers>NameServer"`
		} `xml:"DelegationSet,omitempty"`
	}{}
	out.HostedZone = xHostedZone{ID: "/hostedzone/" + z.id, Name: z.name, CallerReference: "awstest-" + z.id, ResourceRecordSetCount: len(z.visibleSets(now))}
	out.HostedZone.Config.PrivateZone = z.private
	if !z.private {
		if ns := z.records[rrKey{z.name, "NS"}]; ns != nil && ns.visible(now) != nil {
			out.DelegationSet = &struct {
				NameServers []string `xml:"NameServers>NameServer"`
			}{NameServers: slices.Clone(ns.visible(now).values)}
		}
	}
	return out, nil
}

type xRRSet struct {
	Name            string   `xml:"Name"`
	Type            string   `xml:"Type"`
	SetIdentifier   string   `xml:"SetIdentifier,omitempty"`
	TTL             *int64   `xml:"TTL"`
	ResourceRecords []string `xml:"ResourceRecords>ResourceRecord>Value"`
	AliasTarget     *struct {
		DNSName string `xml:"DNSName"`
	} `xml:"AliasTarget,omitempty"`
	Weight                  *int64 `xml:"Weight,omitempty"`
	Failover                string `xml:"Failover,omitempty"`
	Region                  string `xml:"Region,omitempty"`
	HealthCheckID           string `xml:"HealthCheckId,omitempty"`
	TrafficPolicyInstanceID string `xml:"TrafficPolicyInstanceId,omitempty"`
}

func (s *Server) r53List(id string, q map[string][]string, now time.Time) (any, *apiErr) {
	z, e := s.zone(id)
	if e != nil {
		return nil, e
	}
	get := func(k string) string {
		if v := q[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	name, typ, maxItems := get("name"), strings.ToUpper(get("type")), route53MaxItems
	if typ != "" && name == "" {
		return nil, errf(http.StatusBadRequest, "InvalidInput", "The input is not valid: a record type (type) was given without a record name (name)")
	}
	if m := get("maxitems"); m != "" {
		n, err := strconv.Atoi(m)
		if err != nil || n < 1 {
			return nil, errf(http.StatusBadRequest, "InvalidInput", "1 validation error detected: Value '%s' at 'maxItems' failed to satisfy constraint: Member must be a positive integer", m)
		}
		maxItems = min(n, route53MaxItems)
	}
	startKey := rrKey{canonicalName(name), typ}
	out := &struct {
		ResourceRecordSets []xRRSet `xml:"ResourceRecordSets>ResourceRecordSet"`
		IsTruncated        bool     `xml:"IsTruncated"`
		NextRecordName     string   `xml:"NextRecordName,omitempty"`
		NextRecordType     string   `xml:"NextRecordType,omitempty"`
		MaxItems           string   `xml:"MaxItems"`
	}{MaxItems: strconv.Itoa(maxItems)}
	out.ResourceRecordSets = []xRRSet{}
	for _, k := range z.visibleSets(now) {
		if name != "" && rrLess(k, startKey) {
			continue
		}
		if len(out.ResourceRecordSets) == maxItems {
			out.IsTruncated, out.NextRecordName, out.NextRecordType = true, k.name, k.typ
			break
		}
		rs := z.records[k].visible(now)
		ttl := rs.ttl
		out.ResourceRecordSets = append(out.ResourceRecordSets, xRRSet{Name: k.name, Type: k.typ, TTL: &ttl, ResourceRecords: slices.Clone(rs.values)})
	}
	return out, nil
}

type xChangeInfo struct {
	ID          string `xml:"Id"`
	Status      string `xml:"Status"`
	SubmittedAt string `xml:"SubmittedAt"`
	Comment     string `xml:"Comment,omitempty"`
}

func (s *Server) changeInfo(c *changeRec, now time.Time) xChangeInfo {
	st := "INSYNC"
	if now.Before(c.insyncAt) {
		st = "PENDING"
	}
	return xChangeInfo{ID: "/change/" + c.id, Status: st, SubmittedAt: c.submitted.UTC().Format("2006-01-02T15:04:05.000Z"), Comment: c.comment}
}

func (s *Server) r53GetChange(id string, now time.Time) (any, *apiErr) {
	c := s.changes[id]
	if c == nil {
		return nil, errf(http.StatusNotFound, "NoSuchChange", "A change with the specified change ID does not exist.")
	}
	return &struct {
		ChangeInfo xChangeInfo `xml:"ChangeInfo"`
	}{s.changeInfo(c, now)}, nil
}

type xChangeRequest struct {
	ChangeBatch struct {
		Comment string `xml:"Comment"`
		Changes []struct {
			Action string `xml:"Action"`
			RRSet  xRRSet `xml:"ResourceRecordSet"`
		} `xml:"Changes>Change"`
	} `xml:"ChangeBatch"`
}

// withinZone reports whether name is the zone's apex or below it.
func withinZone(name, zone string) bool {
	return name == zone || strings.HasSuffix(name, "."+zone)
}

func (s *Server) r53Change(id string, body []byte, now time.Time) (any, *apiErr) {
	z, e := s.zone(id)
	if e != nil {
		return nil, e
	}
	var req xChangeRequest
	if err := xml.Unmarshal(body, &req); err != nil {
		return nil, errf(http.StatusBadRequest, "InvalidInput", "The XML document is not valid: %v", err)
	}
	changes := req.ChangeBatch.Changes
	if len(changes) == 0 {
		return nil, errf(http.StatusBadRequest, "InvalidInput", "1 validation error detected: Value null at 'changeBatch.changes' failed to satisfy constraint: Member must not be null")
	}
	// Validate the batch as one, each change against the state the
	// earlier changes of the batch leave.
	work := map[rrKey]*rrset{}
	cur := func(k rrKey) *rrset {
		if r, ok := work[k]; ok {
			return r
		}
		if v := z.records[k]; v != nil {
			return v.latest()
		}
		return nil
	}
	var msgs []string
	for i, c := range changes {
		rs := c.RRSet
		name, typ := canonicalName(rs.Name), strings.ToUpper(rs.Type)
		desc := fmt.Sprintf("[name='%s', type='%s']", name, typ)
		switch c.Action {
		case "CREATE", "UPSERT", "DELETE":
		default:
			return nil, errf(http.StatusBadRequest, "InvalidInput", "1 validation error detected: Value '%s' at 'changeBatch.changes.%d.member.action' failed to satisfy constraint: Member must satisfy enum value set: [DELETE, CREATE, UPSERT]", c.Action, i+1)
		}
		if rs.Name == "" || rs.Type == "" {
			return nil, errf(http.StatusBadRequest, "InvalidInput", "1 validation error detected: Value null at 'changeBatch.changes.%d.member.resourceRecordSet.name' or '.type' failed to satisfy constraint: Member must not be null", i+1)
		}
		if rs.AliasTarget != nil || rs.SetIdentifier != "" || rs.Weight != nil || rs.Failover != "" || rs.Region != "" || rs.TrafficPolicyInstanceID != "" || rs.HealthCheckID != "" {
			return nil, errf(http.StatusBadRequest, "InvalidInput", "awstest models simple record sets only (no alias, routing policy or health check) in Change with [Action=%s, Name=%s, Type=%s]", c.Action, name, typ)
		}
		if rs.TTL == nil || len(rs.ResourceRecords) == 0 {
			return nil, errf(http.StatusBadRequest, "InvalidInput", "Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none in Change with [Action=%s, Name=%s, Type=%s, SetIdentifier=null]", c.Action, name, typ)
		}
		if *rs.TTL < 0 || *rs.TTL > 2147483647 {
			return nil, errf(http.StatusBadRequest, "InvalidInput", "1 validation error detected: Value '%d' at 'changeBatch.changes.%d.member.resourceRecordSet.tTL' failed to satisfy constraint: Member must have value between 0 and 2147483647", *rs.TTL, i+1)
		}
		if !withinZone(name, z.name) {
			msgs = append(msgs, fmt.Sprintf("RRSet with DNS name %s is not permitted in zone %s", name, z.name))
			continue
		}
		bad := false
		seen := map[string]bool{}
		for _, v := range rs.ResourceRecords {
			if seen[v] {
				msgs = append(msgs, fmt.Sprintf("Duplicate Resource Record: '%s'", v))
				bad = true
				continue
			}
			seen[v] = true
			if typ == "A" {
				if a, err := netip.ParseAddr(v); err != nil || !a.Is4() {
					msgs = append(msgs, fmt.Sprintf("Invalid Resource Record: 'FATAL problem: ARRDATAIllegalIPv4Address (Value is not a valid IPv4 address) encountered with '%s''", v))
					bad = true
				}
			}
		}
		if bad {
			continue
		}
		k := rrKey{name, typ}
		have := cur(k)
		want := &rrset{ttl: *rs.TTL, values: slices.Clone(rs.ResourceRecords)}
		switch c.Action {
		case "CREATE":
			if have != nil {
				msgs = append(msgs, "Tried to create resource record set "+desc+" but it already exists")
				continue
			}
			work[k] = want
		case "UPSERT":
			work[k] = want
		case "DELETE":
			switch {
			case have == nil:
				msgs = append(msgs, "Tried to delete resource record set "+desc+" but it was not found")
				continue
			case have.ttl != want.ttl || !sameValues(have.values, want.values):
				msgs = append(msgs, "Tried to delete resource record set "+desc+" but the values provided do not match the current values")
				continue
			}
			work[k] = nil
		}
	}
	if len(msgs) > 0 {
		return nil, errf(http.StatusBadRequest, "InvalidChangeBatch", "[%s]", strings.Join(msgs, ", "))
	}
	keys := make([]rrKey, 0, len(work))
	for k := range work {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(a, b int) bool { return rrLess(keys[a], keys[b]) })
	for _, k := range keys {
		z.set(k, now, s.consistency, work[k])
	}
	s.seq++
	c := &changeRec{id: changeID(s.seq), submitted: now, insyncAt: now.Add(s.consistency), comment: req.ChangeBatch.Comment}
	s.changes[c.id] = c
	out := &struct {
		ChangeInfo xChangeInfo `xml:"ChangeInfo"`
	}{s.changeInfo(c, now)}
	// Route 53 answers PENDING even when the change propagates at once.
	out.ChangeInfo.Status = "PENDING"
	return out, nil
}

func sameValues(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}

// changeID returns a change ID in Route 53's shape ("C" and upper-case
// letters and digits).
func changeID(n uint64) string {
	const digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	b := []byte("C0000000000000")
	for i := len(b) - 1; i > 0 && n > 0; i-- {
		b[i] = digits[n%36]
		n /= 36
	}
	return string(b)
}
