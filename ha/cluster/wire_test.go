package cluster

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/ha"
)

var testKey = []byte("0123456789abcdef0123456789abcdef")

func sampleMessage() message {
	return message{
		Network: 1, Cluster: "prod", Sender: "node-a", Boot: 0xdeadbeef, Seq: 42, Sent: 946684800_000000000,
		Echoes: []echo{{Node: "node-b", Boot: 7, Seq: 41, Held: 3 * time.Millisecond}},
		Groups: []view{
			{Name: "web", Claim: claim{Holder: "node-a", Boot: 0xdeadbeef, Epoch: 9}, State: ha.Online},
			{Name: "db", Claim: claim{Holder: "node-b", Boot: 7, Epoch: 3, Released: true, Next: "node-a"},
				State: ha.Failed, Failed: true, NoLease: true, Move: "node-a", MoveEpoch: 3},
			{Name: "idle", State: ha.Offline},
		},
	}
}

func TestWireRoundTrip(t *testing.T) {
	for _, m := range []message{sampleMessage(), {Cluster: "c", Sender: "s"}, {Cluster: "c", Sender: "s", Leaving: true}} {
		b := seal(testKey, m)
		got, err := open(testKey, b)
		require.NoError(t, err)
		if len(m.Echoes) == 0 {
			m.Echoes = nil
		}
		assert.Equal(t, m, got)
	}
}

func TestWireRejectsEveryTamperedByte(t *testing.T) {
	b := seal(testKey, sampleMessage())
	for i := range b {
		tampered := bytes.Clone(b)
		tampered[i] ^= 0x01
		_, err := open(testKey, tampered)
		require.ErrorIs(t, err, errMAC, "byte %d", i)
	}
	_, err := open([]byte(strings.Repeat("k", 32)), b)
	assert.ErrorIs(t, err, errMAC, "another key")
	_, err = open(testKey, b[:len(b)-1])
	assert.ErrorIs(t, err, errMAC, "cut short")
	_, err = open(testKey, b[:10])
	assert.ErrorIs(t, err, errShort)
	_, err = open(testKey, make([]byte, MaxDatagram+1))
	assert.ErrorIs(t, err, errShort)
}

func TestUnmarshalRejectsMalformed(t *testing.T) {
	good := sampleMessage().append(nil)
	cases := map[string][]byte{
		"empty":          nil,
		"magic":          append([]byte("XXXX"), good[4:]...),
		"version":        append(append([]byte(wireMagic), 2), good[5:]...),
		"trailing bytes": append(bytes.Clone(good), 0),
		"truncated":      good[:len(good)-3],
	}
	m := sampleMessage()
	m.Cluster = ""
	cases["empty cluster"] = m.append(nil)
	m = sampleMessage()
	m.Groups = append(m.Groups, m.Groups[0])
	cases["group twice"] = m.append(nil)
	m = sampleMessage()
	m.Echoes = append(m.Echoes, m.Echoes[0])
	cases["echo twice"] = m.append(nil)
	m = sampleMessage()
	m.Groups[2].Claim.Epoch = 5
	cases["epoch without holder"] = m.append(nil)
	m = sampleMessage()
	m.Network = MaxNetworks
	cases["network"] = m.append(nil)
	m = sampleMessage()
	m.Sender = strings.Repeat("n", maxName+1)
	cases["long name"] = m.append(nil)
	for name, b := range cases {
		_, err := unmarshal(b)
		assert.ErrorIs(t, err, errMalformed, name)
	}
}

// FuzzUnmarshal: the decoder never panics, and what it accepts it
// encodes back to the same bytes (one encoding per message).
func FuzzUnmarshal(f *testing.F) {
	f.Add(sampleMessage().append(nil))
	f.Add(message{Cluster: "c", Sender: "s"}.append(nil))
	f.Add(message{Cluster: "c", Sender: "s", Leaving: true, Groups: []view{{Name: "g"}}}.append(nil))
	f.Add([]byte(wireMagic))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := unmarshal(b)
		if err != nil {
			if !errors.Is(err, errMalformed) {
				t.Fatalf("error %v does not wrap errMalformed", err)
			}
			return
		}
		if again := m.append(nil); !bytes.Equal(again, b) {
			t.Fatalf("re-encoding differs:\n in %x\nout %x", b, again)
		}
		if _, err := open(testKey, seal(testKey, m)); err != nil {
			t.Fatalf("sealed message does not open: %v", err)
		}
	})
}
