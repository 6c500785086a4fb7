package snmp_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/monitor/snmp"
)

func TestDefaultConfig(t *testing.T) {
	cfg := snmp.DefaultConfig()
	assert.Equal(t, snmp.Config{
		Address: "127.0.0.1", Port: 161, Version: "1", Community: "public",
		Timeout: 2 * time.Second, Retries: 1,
	}, cfg)
	require.NoError(t, cfg.Validate())
	require.NoError(t, snmp.Config{}.Validate(), "zero values mean the defaults")
}

func TestConfigJSON(t *testing.T) {
	var cfg snmp.Config
	require.NoError(t, json.Unmarshal([]byte(`{
		"address": "10.0.0.5", "port": 1161, "version": "3", "timeout": 500000000, "retries": 0,
		"v3": {"user": "minato", "security_level": "authPriv",
		       "auth_protocol": "SHA256", "auth_passphrase": "12345678",
		       "priv_protocol": "AES", "priv_passphrase": "abcdefgh"}}`), &cfg))
	assert.Equal(t, 500*time.Millisecond, cfg.Timeout)
	assert.Equal(t, "minato", cfg.V3.User)
	require.NoError(t, cfg.Validate())
}

func TestConfigValidate(t *testing.T) {
	const secret = "Sup3rSecretValue!"
	v3 := func(mod func(*snmp.V3Config)) snmp.Config {
		cfg := snmp.DefaultConfig()
		cfg.Version = "3"
		cfg.V3 = &snmp.V3Config{
			User: "minato", SecurityLevel: "authPriv",
			AuthProtocol: "SHA", AuthPassphrase: secret,
			PrivProtocol: "AES", PrivPassphrase: secret,
		}
		if mod != nil {
			mod(cfg.V3)
		}
		return cfg
	}
	with := func(mod func(*snmp.Config)) snmp.Config {
		cfg := snmp.DefaultConfig()
		mod(&cfg)
		return cfg
	}
	tests := []struct {
		name string
		cfg  snmp.Config
		want []string // substrings of the error; none means valid
	}{
		{"v2c", with(func(c *snmp.Config) { c.Version = "2c"; c.Community = secret }), nil},
		{"v3 authPriv", v3(nil), nil},
		{"v3 lower-case names", v3(func(v *snmp.V3Config) {
			v.SecurityLevel, v.AuthProtocol, v.PrivProtocol = "authpriv", "sha-256", "aes256c"
		}), nil},
		{"v3 level defaults to authPriv", v3(func(v *snmp.V3Config) { v.SecurityLevel = "" }), nil},
		{"v3 authNoPriv needs no priv", v3(func(v *snmp.V3Config) {
			v.SecurityLevel, v.PrivProtocol, v.PrivPassphrase = snmp.AuthNoPriv, "", ""
		}), nil},
		{"v3 noAuthNoPriv", v3(func(v *snmp.V3Config) { *v = snmp.V3Config{User: "u", SecurityLevel: snmp.NoAuthNoPriv} }), nil},
		{"IPv6", with(func(c *snmp.Config) { c.Address = "::1" }), nil},
		{"bracketed IPv6", with(func(c *snmp.Config) { c.Address = "[::1]" }), nil},

		{"version", with(func(c *snmp.Config) { c.Version = "2" }), []string{`version "2"`, `"1", "2c" or "3"`}},
		{"port", with(func(c *snmp.Config) { c.Port = 70000 }), []string{"port 70000", "1..65535"}},
		{"address with port", with(func(c *snmp.Config) { c.Address = "host:161" }), []string{`address "host:161"`, "port goes in port"}},
		{"negative timeout and retries", with(func(c *snmp.Config) { c.Timeout = -time.Second; c.Retries = -1 }),
			[]string{"timeout -1s", "retries -1"}},
		{"v3 missing", with(func(c *snmp.Config) { c.Version = "3" }), []string{"v3: required"}},
		{"v3 no user", v3(func(v *snmp.V3Config) { v.User = "" }), []string{"v3.user: required"}},
		{"v3 level", v3(func(v *snmp.V3Config) { v.SecurityLevel = "priv" }), []string{`v3.security_level "priv"`, "noAuthNoPriv, authNoPriv, authPriv"}},
		{"v3 protocols", v3(func(v *snmp.V3Config) { v.AuthProtocol, v.PrivProtocol = "SHA1024", "3DES" }),
			[]string{`v3.auth_protocol "SHA1024"`, "MD5, SHA, SHA224", `v3.priv_protocol "3DES"`, "DES, AES, AES192"}},
		{"v3 short passphrases", v3(func(v *snmp.V3Config) { v.AuthPassphrase, v.PrivPassphrase = "short", "" }),
			[]string{"v3.auth_passphrase: want at least 8 characters", "v3.priv_passphrase: want at least 8 characters"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.want == nil {
				require.NoError(t, err)
				c, err := snmp.New(tt.cfg)
				require.NoError(t, err)
				require.NoError(t, c.Close())
				return
			}
			require.Error(t, err)
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), secret)
			_, err = snmp.New(tt.cfg)
			assert.ErrorContains(t, err, "invalid config")
		})
	}
}

func TestGetRejectsBadOIDsWithoutSending(t *testing.T) {
	c, err := snmp.New(snmp.DefaultConfig())
	require.NoError(t, err)
	defer c.Close()
	_, err = c.Get(context.Background())
	assert.ErrorContains(t, err, "no OIDs")
	_, err = c.Get(context.Background(), "sysDescr.0", "1", ".1.3.6.1.01", "1.3.6.1.4294967296")
	require.Error(t, err)
	for _, w := range []string{`"sysDescr.0"`, `oid "1"`, `".1.3.6.1.01"`, `"1.3.6.1.4294967296"`} {
		assert.Contains(t, err.Error(), w)
	}
	assert.Equal(t, 4, strings.Count(err.Error(), "oid "))
}

func TestValue(t *testing.T) {
	tests := []struct {
		v    snmp.Value
		n    uint64
		ok   bool
		text string
	}{
		{snmp.Value{Type: snmp.TypeAbsent}, 0, false, "absent"},
		{snmp.Value{Type: snmp.TypeInteger, Int: 42}, 42, true, "INTEGER: 42"},
		{snmp.Value{Type: snmp.TypeInteger, Int: -1}, 0, false, "INTEGER: -1"},
		{snmp.Value{Type: snmp.TypeCounter32, Uint: 7}, 7, true, "Counter32: 7"},
		{snmp.Value{Type: snmp.TypeCounter64, Uint: 1 << 40}, 1 << 40, true, "Counter64: 1099511627776"},
		{snmp.Value{Type: snmp.TypeGauge32, Uint: 3}, 3, true, "Gauge32: 3"},
		{snmp.Value{Type: snmp.TypeTimeTicks, Uint: 100}, 100, true, "TimeTicks: 100"},
		{snmp.Value{Type: snmp.TypeString, Text: "Linux"}, 0, false, `STRING: "Linux"`},
		{snmp.Value{Type: snmp.TypeOID, Text: ".1.3"}, 0, false, "OID: .1.3"},
	}
	for _, tt := range tests {
		n, ok := tt.v.Uint64()
		assert.Equal(t, tt.n, n, tt.text)
		assert.Equal(t, tt.ok, ok, tt.text)
		assert.Equal(t, tt.text, tt.v.String())
		assert.Equal(t, tt.v.Type != snmp.TypeAbsent, tt.v.Present())
	}
	assert.Equal(t, "Counter32", snmp.TypeCounter32.String())
	assert.Equal(t, "Type(200)", snmp.Type(200).String())
}
