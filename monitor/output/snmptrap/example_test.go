package snmptrap_test

import (
	"context"
	"fmt"
	"log"
	"os"

	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/output/snmptrap"
	"github.com/minato-ops/minato/monitor/snmp"
)

// A Sender with SNMPv3 at authPriv, the recommended setup, sending one
// notification; the receiver must know the engine ID ("createUser -e").
func ExampleNew() {
	cfg := snmptrap.DefaultConfig()
	cfg.Address = "192.0.2.10:162"
	cfg.Version = snmptrap.V3
	cfg.EngineID = snmptrap.EngineIDFromText("minato-host-1")
	cfg.V3 = &snmp.V3Config{
		User:           "minato",
		SecurityLevel:  snmp.AuthPriv,
		AuthProtocol:   "SHA256",
		AuthPassphrase: os.Getenv("MINATO_TRAP_AUTH"),
		PrivProtocol:   "AES",
		PrivPassphrase: os.Getenv("MINATO_TRAP_PRIV"),
	}
	s, err := snmptrap.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	err = s.Send(context.Background(), snmptrap.Trap{
		Check:      "cpu",
		TargetName: "web-1",
		TargetID:   "0e0d8cdf3a57",
		Status:     monitor.Critical,
		Previous:   monitor.Warning,
		Message:    "cpu_percent=95% (critical 90)",
	})
	if err != nil {
		log.Print(err)
	}
}

// One notification per reported status change, from the Runner's
// transition callback.
func ExampleFromTransition() {
	cfg := snmptrap.DefaultConfig()
	cfg.Address = "192.0.2.10" // port 162
	s, err := snmptrap.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	_ = monitor.WithTransitions(func(ctx context.Context, tr monitor.Transition) {
		if err := s.Send(ctx, snmptrap.FromTransition(tr)); err != nil {
			log.Print(err)
		}
	})
}

func ExampleEngineIDFromText() {
	id := snmptrap.EngineIDFromText("minato-host-1")
	fmt.Println(id)
	fmt.Printf("createUser -e 0x%s minato SHA-256 ... AES ...\n", id)
	fmt.Println(snmptrap.StatusValue(monitor.Critical), snmptrap.OIDStatusChange)
	// Output:
	// 8001869f046d696e61746f2d686f73742d31
	// createUser -e 0x8001869f046d696e61746f2d686f73742d31 minato SHA-256 ... AES ...
	// 2 .1.3.6.1.4.1.99999.0.1
}
