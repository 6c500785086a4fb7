package cluster

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minato-ops/minato/ha"
)

type nopEngine struct{}

func (nopEngine) Online(context.Context, string, ha.Epoch) error { return nil }
func (nopEngine) Offline(context.Context, string) error          { return nil }
func (nopEngine) OfflineAll(context.Context) error               { return nil }

// TestReceiveRejects runs node a and plays node b by hand: every datagram
// that must be rejected is, and counted under its reason.
func TestReceiveRejects(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNetwork()
		ta, err := mn.Listen("a0:1", "a1:1")
		require.NoError(t, err)
		tb, err := mn.Listen("b0:1", "b1:1")
		require.NoError(t, err)
		cfg := Config{Cluster: "c", Node: "a", Nodes: []NodeConfig{{Name: "a", Addresses: ta.Addrs()}, {Name: "b", Addresses: tb.Addrs()}}}
		c, err := New(cfg, testKey, []ha.Group{{Name: "g", Nodes: []string{"a", "b"}}}, nopEngine{}, WithTransport(ta))
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- c.Run(ctx) }()
		defer func() { cancel(); <-done }()

		ctxb := context.Background()
		send := func(network int, b []byte) {
			require.NoError(t, tb.Send(ctxb, network, ta.Addrs()[network], b))
			synctest.Wait()
		}
		seq := uint64(0)
		hb := func(network int, boot uint64, sent time.Time) message {
			seq++
			return message{Network: uint8(network), Cluster: "c", Sender: "b", Boot: boot, Seq: seq, Sent: sent.UnixNano()}
		}
		rejected := func() Rejections { return c.Status().Counters.Rejected }

		first := seal(testKey, hb(0, 1, time.Now()))
		send(0, first)
		st := c.Status()
		assert.EqualValues(t, 1, st.Counters.HeartbeatsReceived)
		assert.Equal(t, NodeUp, st.Nodes[1].State)

		send(0, seal([]byte("another key, another key, another"), hb(0, 1, time.Now())))
		tampered := seal(testKey, hb(0, 1, time.Now()))
		tampered[20] ^= 1
		send(0, tampered)
		assert.EqualValues(t, 2, rejected().MAC)

		m := hb(0, 1, time.Now())
		m.Cluster = "other"
		send(0, seal(testKey, m))
		assert.EqualValues(t, 1, rejected().Cluster)

		m = hb(0, 1, time.Now())
		m.Sender = "x"
		send(0, seal(testKey, m))
		m = hb(0, 1, time.Now())
		m.Sender = "a"
		send(0, seal(testKey, m))
		assert.EqualValues(t, 2, rejected().Sender)

		send(0, seal(testKey, hb(0, 1, time.Now().Add(-time.Minute))))
		send(0, seal(testKey, hb(0, 1, time.Now().Add(time.Minute))))
		assert.EqualValues(t, 2, rejected().Stale)

		send(1, seal(testKey, hb(0, 1, time.Now())))
		send(0, []byte("short"))
		assert.EqualValues(t, 2, rejected().Malformed)

		// Replays: the same datagram again; an older sequence.
		send(0, first)
		older := hb(1, 1, time.Now())
		newer := hb(1, 1, time.Now())
		send(1, seal(testKey, newer))
		send(1, seal(testKey, older))
		assert.EqualValues(t, 2, rejected().Replay)

		// b restarts (boot 2): its old boot's heartbeats are replays,
		// however their sequence.
		oldBoot := hb(0, 1, time.Now())
		time.Sleep(time.Millisecond)
		send(0, seal(testKey, hb(0, 2, time.Now())))
		send(0, seal(testKey, oldBoot))
		oldBoot.Seq += 1000
		send(0, seal(testKey, oldBoot))
		assert.EqualValues(t, 4, rejected().Replay)

		st = c.Status()
		assert.EqualValues(t, 3, st.Counters.HeartbeatsReceived)
		assert.EqualValues(t, 2+1+2+2+2+4, st.Counters.HeartbeatsRejected)
		assert.Equal(t, NodeUp, st.Nodes[1].State)
	})
}

// TestLeftStaysDown: after a node's leaving heartbeat, one of the same
// boot that arrives late on another network does not bring it back.
func TestLeftStaysDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNetwork()
		ta, _ := mn.Listen("a0:1", "a1:1")
		tb, _ := mn.Listen("b0:1", "b1:1")
		cfg := Config{Cluster: "c", Node: "a", Nodes: []NodeConfig{{Name: "a", Addresses: ta.Addrs()}, {Name: "b", Addresses: tb.Addrs()}}}
		c, err := New(cfg, testKey, nil, nopEngine{}, WithTransport(ta))
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- c.Run(ctx) }()
		defer func() { cancel(); <-done }()

		send := func(m message) {
			m.Cluster, m.Sender, m.Boot, m.Sent = "c", "b", 5, time.Now().UnixNano()
			require.NoError(t, tb.Send(context.Background(), int(m.Network), ta.Addrs()[m.Network], seal(testKey, m)))
			synctest.Wait()
		}
		send(message{Network: 0, Seq: 1})
		require.Equal(t, NodeUp, c.Status().Nodes[1].State)
		late := message{Network: 1, Seq: 2}
		send(message{Network: 0, Seq: 3, Leaving: true})
		require.Equal(t, NodeDown, c.Status().Nodes[1].State)
		send(late)
		assert.Equal(t, NodeDown, c.Status().Nodes[1].State)
		// Its next boot is up again.
		m := message{Network: 0, Seq: 1}
		time.Sleep(time.Millisecond)
		m.Cluster, m.Sender, m.Boot, m.Sent = "c", "b", 6, time.Now().UnixNano()
		require.NoError(t, tb.Send(context.Background(), 0, ta.Addrs()[0], seal(testKey, m)))
		synctest.Wait()
		assert.Equal(t, NodeUp, c.Status().Nodes[1].State)
	})
}

// TestRoundTripTime: b echoes a's last heartbeat, held 5 ms, and the
// network delays each way by 20 ms: a measures 40 ms.
func TestRoundTripTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		mn := NewMemNetwork()
		ta, _ := mn.Listen("a0:1")
		tb, _ := mn.Listen("b0:1")
		mn.Delay(ta.Addrs(), tb.Addrs(), 20*time.Millisecond)
		cfg := Config{Cluster: "c", Node: "a", Nodes: []NodeConfig{{Name: "a", Addresses: ta.Addrs()}, {Name: "b", Addresses: tb.Addrs()}}}
		c, err := New(cfg, testKey, nil, nopEngine{}, WithTransport(ta))
		require.NoError(t, err)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error)
		go func() { done <- c.Run(ctx) }()
		defer func() { cancel(); <-done }()

		d, err := tb.Receive(context.Background())
		require.NoError(t, err)
		got, err := open(testKey, d.Data)
		require.NoError(t, err)
		time.Sleep(5 * time.Millisecond)
		m := message{Cluster: "c", Sender: "b", Boot: 9, Seq: 1, Sent: time.Now().UnixNano(),
			Echoes: []echo{{Node: "a", Boot: got.Boot, Seq: got.Seq, Held: 5 * time.Millisecond}}}
		require.NoError(t, tb.Send(context.Background(), 0, "a0:1", seal(testKey, m)))
		time.Sleep(25 * time.Millisecond)
		synctest.Wait()
		st := c.Status()
		assert.Equal(t, 40*time.Millisecond, st.Nodes[1].Networks[0].RTT)
	})
}
