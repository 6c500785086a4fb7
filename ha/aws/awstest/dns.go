package awstest

import (
	"net"
	"net/netip"
	"strings"
	"time"

	"golang.org/x/net/dns/dnsmessage"
)

// DNS returns the address ("host:port", UDP) of a resolver that answers
// A queries from the hosted zones as Route 53's name servers would once a
// change has propagated: with the records readers can see (a write under
// the consistency delay is not answered yet), NXDOMAIN for a name no zone
// holds, and no answer for other types. It starts on the first call and
// stops with Close. During an outage it does not answer, as a resolver
// behind a dead network would not.
func (s *Server) DNS() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dnsAddr != "" {
		return s.dnsAddr
	}
	var pc net.PacketConn
	var err error
	addr := net.JoinHostPort(s.opts.Host, "0")
	if s.opts.ListenPacket != nil {
		pc, err = s.opts.ListenPacket("udp", addr)
	} else {
		pc, err = net.ListenPacket("udp", addr)
	}
	if err != nil {
		panic("awstest: DNS: " + err.Error())
	}
	s.dnsConn = pc
	s.dnsAddr = pc.LocalAddr().String()
	go s.serveDNS(pc)
	return s.dnsAddr
}

func (s *Server) serveDNS(pc net.PacketConn) {
	buf := make([]byte, 1500)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		if out := s.answerDNS(buf[:n]); out != nil {
			_, _ = pc.WriteTo(out, from)
		}
	}
}

// answerDNS builds the answer to one query; nil means none is sent.
func (s *Server) answerDNS(q []byte) []byte {
	var p dnsmessage.Parser
	h, err := p.Start(q)
	if err != nil {
		return nil
	}
	qs, err := p.AllQuestions()
	if err != nil || len(qs) != 1 {
		return nil
	}
	question := qs[0]
	name := canonicalName(question.Name.String())
	s.mu.Lock()
	if s.faults.outage {
		s.mu.Unlock()
		return nil
	}
	now := time.Now()
	var values []string
	var ttl int64
	known := false
	for _, z := range s.zones {
		if name != z.name && !strings.HasSuffix(name, "."+z.name) {
			continue
		}
		for k, v := range z.records {
			if k.name != name {
				continue
			}
			r := v.visible(now)
			if r == nil {
				continue
			}
			known = true
			if k.typ == "A" && question.Type == dnsmessage.TypeA {
				values, ttl = r.values, r.ttl
			}
		}
	}
	s.mu.Unlock()
	rh := dnsmessage.Header{ID: h.ID, Response: true, Authoritative: true, RecursionDesired: h.RecursionDesired, RecursionAvailable: true}
	if !known {
		rh.RCode = dnsmessage.RCodeNameError
	}
	b := dnsmessage.NewBuilder(nil, rh)
	b.EnableCompression()
	if b.StartQuestions() != nil || b.Question(question) != nil || b.StartAnswers() != nil {
		return nil
	}
	for _, v := range values {
		ip, err := netip.ParseAddr(v)
		if err != nil || !ip.Is4() {
			continue
		}
		rr := dnsmessage.ResourceHeader{Name: question.Name, Type: dnsmessage.TypeA, Class: dnsmessage.ClassINET, TTL: uint32(ttl)}
		if b.AResource(rr, dnsmessage.AResource{A: ip.As4()}) != nil {
			return nil
		}
	}
	out, err := b.Finish()
	if err != nil {
		return nil
	}
	return out
}
