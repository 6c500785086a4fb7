package awstest

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// IMDSv2, as on an instance whose metadata options require tokens
// (HttpTokens=required): PUT /latest/api/token with
// X-aws-ec2-metadata-token-ttl-seconds gives a token; every GET must carry
// it in X-aws-ec2-metadata-token, else 401.

// RoleName is the IAM role of every instance's profile, as IMDS lists it
// under iam/security-credentials/.
const RoleName = "awstest-role"

const (
	imdsTokenHeader    = "X-Aws-Ec2-Metadata-Token"
	imdsTokenTTLHeader = "X-Aws-Ec2-Metadata-Token-Ttl-Seconds"
	imdsAction         = "IMDS"
)

type imdsToken struct {
	instance string
	expires  time.Time
}

func (s *Server) imdsHandler(instance string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.calls[imdsAction]++
		outage, drop := s.faults.outage, s.faults.dropTokens
		s.mu.Unlock()
		w.Header().Set("Server", "EC2ws")
		if outage {
			http.Error(w, "Service Unavailable", http.StatusServiceUnavailable)
			return
		}
		if r.URL.Path == "/latest/api/token" {
			if drop && r.Method == http.MethodPut {
				select {
				case <-r.Context().Done():
				case <-s.closed:
				}
				return
			}
			s.imdsToken(w, r, instance)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
			return
		}
		if !s.validToken(r.Header.Get(imdsTokenHeader), instance) {
			http.Error(w, "Unauthorized", http.StatusUnauthorized)
			return
		}
		body, ctype, ok := s.imdsGet(instance, r.URL.Path)
		if !ok {
			http.Error(w, "Not Found", http.StatusNotFound)
			return
		}
		w.Header().Set("Content-Type", ctype)
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		w.WriteHeader(http.StatusOK)
		if r.Method == http.MethodGet {
			_, _ = w.Write([]byte(body))
		}
	})
}

func (s *Server) imdsToken(w http.ResponseWriter, r *http.Request, instance string) {
	if r.Method != http.MethodPut {
		w.Header().Set("Allow", "PUT")
		http.Error(w, "Method Not Allowed", http.StatusMethodNotAllowed)
		return
	}
	if r.Header.Get("X-Forwarded-For") != "" {
		http.Error(w, "Forbidden", http.StatusForbidden)
		return
	}
	ttl, err := strconv.Atoi(r.Header.Get(imdsTokenTTLHeader))
	if err != nil || ttl < 1 || ttl > 21600 {
		http.Error(w, "Bad Request", http.StatusBadRequest)
		return
	}
	b := make([]byte, 42)
	_, _ = rand.Read(b)
	tok := base64.URLEncoding.EncodeToString(b)
	s.mu.Lock()
	now := s.now()
	for k, t := range s.tokens {
		if now.After(t.expires) {
			delete(s.tokens, k)
		}
	}
	s.tokens[tok] = imdsToken{instance: instance, expires: now.Add(time.Duration(ttl) * time.Second)}
	s.mu.Unlock()
	w.Header().Set(imdsTokenTTLHeader, strconv.Itoa(ttl))
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write([]byte(tok))
}

func (s *Server) validToken(tok, instance string) bool {
	if tok == "" {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tok]
	return ok && t.instance == instance && s.now().Before(t.expires)
}

// imdsGet answers a metadata path for the instance from the state now.
func (s *Server) imdsGet(instance, path string) (body, ctype string, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	const text = "text/plain"
	inst := s.instances[instance]
	enis := s.instanceENIs(instance)
	var primary *eniRec
	if len(enis) > 0 && enis[0].device == 0 {
		primary = enis[0]
	}
	if path == "/latest/dynamic/instance-identity/document" {
		if inst == nil {
			return "", "", false
		}
		doc := map[string]any{
			"accountId": accountID, "architecture": "x86_64", "availabilityZone": inst.zone, "imageId": "ami-00000000000000000",
			"instanceId": instance, "instanceType": "t3.micro", "pendingTime": inst.launched.UTC().Format(time.RFC3339),
			"privateIp": "", "region": s.opts.Region, "version": "2017-09-30",
		}
		if primary != nil {
			doc["privateIp"] = primary.ip
		}
		b, _ := json.MarshalIndent(doc, "", "  ")
		return string(b), "application/json", true
	}
	p, found := strings.CutPrefix(path, "/latest/meta-data/")
	if !found {
		if path == "/latest/meta-data" {
			p = ""
		} else {
			return "", "", false
		}
	}
	dirs := map[string][]string{
		"":                          {"ami-id", "iam/", "instance-id", "instance-type", "local-ipv4", "mac", "network/", "placement/"},
		"iam/":                      {"info", "security-credentials/"},
		"network/":                  {"interfaces/"},
		"network/interfaces/":       {"macs/"},
		"placement/":                {"availability-zone", "availability-zone-id", "region"},
		"iam/security-credentials/": {RoleName},
		"network/interfaces/macs/":  nil,
	}
	for _, e := range enis {
		dirs["network/interfaces/macs/"] = append(dirs["network/interfaces/macs/"], macOf(e.id)+"/")
	}
	d, isDir := dirs[p]
	if !isDir {
		d, isDir = dirs[p+"/"]
	}
	if isDir {
		if inst == nil && p != "" {
			return "", "", false
		}
		return strings.Join(d, "\n"), text, true
	}
	if p == "instance-id" {
		return instance, text, true
	}
	if inst == nil {
		return "", "", false
	}
	switch p {
	case "ami-id":
		return "ami-00000000000000000", text, true
	case "instance-type":
		return "t3.micro", text, true
	case "placement/availability-zone":
		return inst.zone, text, true
	case "placement/availability-zone-id":
		return zoneID(inst.zone), text, true
	case "placement/region":
		return s.opts.Region, text, true
	case "local-ipv4":
		if primary == nil {
			return "", "", false
		}
		return primary.ip, text, true
	case "mac":
		if primary == nil {
			return "", "", false
		}
		return macOf(primary.id), text, true
	case "public-ipv4":
		if primary == nil {
			return "", "", false
		}
		if a := s.eniAssoc(primary.id, now); a != nil {
			return a.PublicIP, text, true
		}
		return "", "", false
	case "iam/info":
		b, _ := json.MarshalIndent(map[string]string{
			"Code": "Success", "LastUpdated": inst.launched.UTC().Format(time.RFC3339),
			"InstanceProfileArn": "arn:aws:iam::" + accountID + ":instance-profile/" + RoleName, "InstanceProfileId": "AIPAAWSTEST000000000",
		}, "", "  ")
		return string(b), text, true
	case "iam/security-credentials/" + RoleName:
		b, _ := json.MarshalIndent(map[string]string{
			"Code": "Success", "LastUpdated": now.UTC().Format(time.RFC3339), "Type": "AWS-HMAC",
			"AccessKeyId":     "ASIAAWSTEST" + strings.ToUpper(strings.TrimPrefix(instance, "i-")),
			"SecretAccessKey": "awstest-secret-" + instance,
			"Token":           "awstest-session-token-" + instance,
			"Expiration":      now.Add(time.Hour).UTC().Format(time.RFC3339),
		}, "", "  ")
		return string(b), text, true
	}
	if rest, ok := strings.CutPrefix(p, "network/interfaces/macs/"); ok {
		mac, leaf, _ := strings.Cut(rest, "/")
		var e *eniRec
		for _, c := range enis {
			if macOf(c.id) == mac {
				e = c
			}
		}
		if e == nil {
			return "", "", false
		}
		sn := s.subnets[e.subnet]
		vals := map[string]string{
			"device-number": strconv.Itoa(e.device), "interface-id": e.id, "local-ipv4s": e.ip, "mac": mac,
			"owner-id": accountID, "subnet-id": e.subnet,
		}
		if sn != nil {
			vals["subnet-ipv4-cidr-block"] = sn.cidr
			vals["vpc-id"] = sn.vpc
			if v := s.vpcs[sn.vpc]; v != nil && len(v.cidrs) > 0 {
				vals["vpc-ipv4-cidr-block"] = v.cidrs[0]
				vals["vpc-ipv4-cidr-blocks"] = strings.Join(v.cidrs, "\n")
			}
		}
		if a := s.eniAssoc(e.id, now); a != nil {
			vals["public-ipv4s"] = a.PublicIP
		}
		if leaf == "" {
			keys := make([]string, 0, len(vals))
			for k := range vals {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			return strings.Join(keys, "\n"), text, true
		}
		if v, ok := vals[leaf]; ok {
			return v, text, true
		}
	}
	return "", "", false
}
