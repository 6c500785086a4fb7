package witness

import (
	"bytes"
	"encoding/hex"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEchoMarshal(t *testing.T) {
	// The checksum is the complement of the words' sum:
	// 0x0800+0x1234+0x0001+0x6162+0x6364 = 0xdefb, complemented 0x2104.
	b := echo{Type: icmpEchoRequest, ID: 0x1234, Seq: 1, Data: []byte("abcd")}.marshal()
	assert.Equal(t, "0800"+"2104"+"1234"+"0001"+"61626364", hex.EncodeToString(b))
	assert.Zero(t, checksum(b), "a message with its checksum sums to 0")

	e, err := parseEcho(b)
	require.NoError(t, err)
	assert.Equal(t, echo{Type: icmpEchoRequest, ID: 0x1234, Seq: 1, Data: []byte("abcd")}, e)

	odd := echo{Type: icmpEchoReply, ID: 7, Seq: 65535, Data: []byte("xyz")}.marshal()
	e, err = parseEcho(odd)
	require.NoError(t, err)
	assert.Equal(t, uint16(65535), e.Seq)
}

func TestParseEchoRefuses(t *testing.T) {
	good := echo{Type: icmpEchoReply, ID: 1, Seq: 1, Data: []byte("minato-w")}.marshal()
	bad := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(good)) }
	for name, c := range map[string]struct {
		b    []byte
		want string
	}{
		"short":            {good[:7], "shorter than an echo header"},
		"empty":            {nil, "shorter"},
		"unreachable":      {bad(func(b []byte) []byte { b[0] = 3; return b }), "type 3 is not an echo"},
		"code":             {bad(func(b []byte) []byte { b[1] = 1; return b }), "code 1"},
		"checksum":         {bad(func(b []byte) []byte { b[9] ^= 0xff; return b }), "bad checksum"},
		"truncated data":   {good[:len(good)-1], "bad checksum"},
		"type and summing": {bad(func(b []byte) []byte { b[0] = 13; return b }), "type 13"},
	} {
		_, err := parseEcho(c.b)
		assert.ErrorContains(t, err, c.want, name)
	}
}

// FuzzParseEcho: any bytes parse or fail without a panic, and what
// parses is exactly what marshal would produce.
func FuzzParseEcho(f *testing.F) {
	f.Add(echo{Type: icmpEchoReply, ID: 1, Seq: 1, Data: []byte("0123456789abcdef")}.marshal())
	f.Add(echo{Type: icmpEchoRequest, ID: 0xffff, Seq: 0, Data: nil}.marshal())
	f.Add(echo{Type: icmpEchoReply, ID: 9, Seq: 3, Data: []byte{0}}.marshal())
	f.Add([]byte{3, 1, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := parseEcho(b)
		if err != nil {
			return
		}
		if got := e.marshal(); !bytes.Equal(got, b) {
			// The only other encoding of a sum is 0xffff for 0x0000
			// (one's complement has two zeros).
			if len(got) != len(b) || !bytes.Equal(got[4:], b[4:]) || got[0] != b[0] {
				t.Fatalf("parse(%x) = %+v, which marshals to %x", b, e, got)
			}
		}
	})
}

func TestParseTarget(t *testing.T) {
	for in, want := range map[string]string{
		"aws.amazon.com":                  "https://aws.amazon.com/",
		"aws.amazon.com:443":              "https://aws.amazon.com:443/",
		" https://aws.amazon.com ":        "https://aws.amazon.com/",
		"http://10.0.0.1:8080/np#frag":    "http://10.0.0.1:8080/np",
		"https://u:p@witness.example/x?y": "https://witness.example/x",
		"[::1]:8443":                      "https://[::1]:8443/",
	} {
		u, err := parseTarget(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, shownURL(u), in)
	}
}

// FuzzParseTarget: a target parses to an http(s) URL with a host, or
// fails; neither the shown URL nor an error ever holds the user info.
func FuzzParseTarget(f *testing.F) {
	for _, s := range []string{
		"aws.amazon.com", "aws.amazon.com:443", "https://aws.amazon.com/", "http://u:p@h:1/x?q#f",
		"ftp://h/", "https://:443/", "host:0", "https://user:pa ss@ho st/", "https://u:p@[::1]:99999/",
		"", "://", "https://h:443:443/", "https://%zz@h/",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		u, err := parseTarget(raw)
		userinfo := ""
		if i, j := strings.Index(raw, "://"), strings.LastIndex(raw, "@"); i >= 0 && j > i+3 {
			userinfo = raw[i+3 : j]
		} else if i < 0 && j > 0 {
			userinfo = raw[:j]
		}
		if err != nil {
			// The messages' own words are not the user info.
			msg := err.Error()
			for _, fixed := range []string{
				`want an https:// or http:// URL or a host[:port], such as "https://aws.amazon.com/"`,
				"https://", "http://", "target", "cannot be parsed", "no host", "scheme", "port", "is not 1-65535",
			} {
				msg = strings.ReplaceAll(msg, fixed, "")
			}
			if len(userinfo) >= 4 && strings.Contains(msg, userinfo) {
				t.Fatalf("parseTarget(%q): the error shows the user info: %v", raw, err)
			}
			return
		}
		if u.Scheme != "https" && u.Scheme != "http" || u.Hostname() == "" {
			t.Fatalf("parseTarget(%q) = %v", raw, u)
		}
		if shown, err := url.Parse(shownURL(u)); err != nil || shown.User != nil {
			t.Fatalf("parseTarget(%q) shows %q (%v)", raw, shownURL(u), err)
		}
	})
}
