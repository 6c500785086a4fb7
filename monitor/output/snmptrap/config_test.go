package snmptrap_test

import (
	"strings"
	"testing"

	"github.com/minato-ops/minato/monitor/output/snmptrap"
	"github.com/minato-ops/minato/monitor/snmp"
)

func TestValidate(t *testing.T) {
	good := snmptrap.DefaultConfig()
	good.Address = "192.0.2.10:162"
	goodV3 := good
	goodV3.Version = snmptrap.V3
	goodV3.EngineID = "0x" + snmptrap.EngineIDFromText("host-1")
	goodV3.V3 = &snmp.V3Config{User: "u", AuthProtocol: "sha-256", AuthPassphrase: "authsecret1", PrivProtocol: "aes", PrivPassphrase: "privsecret1"}

	for _, addr := range []string{"192.0.2.10:162", "traps.example.com", "traps.example.com:10162", "[2001:db8::1]:162", "[2001:db8::1]", "2001:db8::1"} {
		c := good
		c.Address = addr
		if err := c.Validate(); err != nil {
			t.Errorf("address %q: %v", addr, err)
		}
	}
	if err := goodV3.Validate(); err != nil {
		t.Errorf("v3: %v", err)
	}
	noAuth := goodV3
	noAuth.V3 = &snmp.V3Config{User: "u", SecurityLevel: "noauthnopriv"}
	if err := noAuth.Validate(); err != nil {
		t.Errorf("v3 noAuthNoPriv: %v", err)
	}

	const secret = "s3cr3t" // shorter than 8: refused, and never shown
	cases := []struct {
		name string
		edit func(*snmptrap.Config)
		want []string
	}{
		{"empty address", func(c *snmptrap.Config) { c.Address = "" }, []string{"address: empty"}},
		{"bad port", func(c *snmptrap.Config) { c.Address = "h:70000" }, []string{`port "70000"`}},
		{"no host", func(c *snmptrap.Config) { c.Address = ":162" }, []string{"host is empty"}},
		{"garbage", func(c *snmptrap.Config) { c.Address = "a:b:c" }, []string{`address "a:b:c"`}},
		{"version 1", func(c *snmptrap.Config) { c.Version = "1" }, []string{`version "1"`, "SNMPv1 traps are not supported"}},
		{"negative", func(c *snmptrap.Config) { c.Timeout, c.Retries = -1, -1 }, []string{"timeout -1ns", "retries -1"}},
		{"v3 without user", func(c *snmptrap.Config) { c.Version = "3" }, []string{"v3: required", "engine_id: required"}},
		{"v3 bad", func(c *snmptrap.Config) {
			c.Version, c.EngineID = "3", "0x1234"
			c.V3 = &snmp.V3Config{AuthProtocol: "sha", AuthPassphrase: secret, PrivProtocol: "blowfish", PrivPassphrase: secret}
		}, []string{"v3.user: required", "v3.auth_passphrase", `v3.priv_protocol "blowfish"`, "v3.priv_passphrase", `engine_id "0x1234"`}},
	}
	for _, tc := range cases {
		c := good
		c.Community = secret
		tc.edit(&c)
		err := c.Validate()
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		for _, w := range tc.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: %q lacks %q", tc.name, err, w)
			}
		}
		if strings.Contains(err.Error(), secret) {
			t.Errorf("%s: the error shows a secret: %v", tc.name, err)
		}
		if _, nerr := snmptrap.New(c); nerr == nil || strings.Contains(nerr.Error(), secret) {
			t.Errorf("%s: New: %v", tc.name, nerr)
		}
	}
}

func TestEngineIDFromText(t *testing.T) {
	// 0x80000000 | 99999, format 4 (text), "ab".
	if got := snmptrap.EngineIDFromText("ab"); got != "8001869f046162" {
		t.Errorf("EngineIDFromText(ab) = %s", got)
	}
	if got := snmptrap.EngineIDFromText(strings.Repeat("x", 40)); len(got) != 64 {
		t.Errorf("a long text gives %d hex digits, want 64 (32 octets)", len(got))
	}
}
