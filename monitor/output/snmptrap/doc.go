// Package snmptrap sends minato's check results as SNMP notifications
// (SNMPv2-Trap PDUs) to a network management station: net-snmp's
// snmptrapd, Zabbix, Hinemos's SNMP trap monitor, an NMS.
//
// # The MIB
//
// The notifications are defined by MINATO-MIB, whose SMIv2 text is
// docs/MINATO-MIB.txt; load it into the receiver to see names instead of
// numbers. It sits under the private enterprise arc
// 1.3.6.1.4.1.99999, where 99999 ([EnterpriseNumber]) is a PLACEHOLDER:
// it is not registered to minato, and a real IANA Private Enterprise
// Number (https://pen.iana.org) must be registered and substituted, in
// this package, the MIB and the receivers' configuration, before
// production use.
//
//	minatoMIB                1.3.6.1.4.1.99999
//	  minatoNotifications    .0
//	    minatoStatusChange   .0.1  NOTIFICATION-TYPE
//	  minatoObjects          .1    accessible-for-notify scalars:
//	    minatoCheckName      .1.1  SnmpAdminString
//	    minatoTargetName     .1.2  SnmpAdminString
//	    minatoTargetID       .1.3  SnmpAdminString
//	    minatoStatus         .1.4  MinatoCheckStatus: ok(0) warning(1) critical(2) unknown(3)
//	    minatoPreviousStatus .1.5  MinatoCheckStatus
//	    minatoMessage        .1.6  SnmpAdminString
//	  minatoConformance      .2    compliance and groups
//
// Every notification is minatoStatusChange: sysUpTime.0, snmpTrapOID.0,
// then the instances (".0") of the six objects, in that order. Texts are
// cut to 255 octets ([MaxTextLen]) at a UTF-8 boundary. The status
// numbers are the Monitoring Plugins exit codes ([StatusValue]).
//
// # Sending
//
// A [Sender] sends one [Trap] per [Sender.Send], as one UDP datagram,
// before Send returns. Notifications are not acknowledged (informs are
// not supported), so a lost or refused one cannot be detected;
// [Sender.Stats] counts what was handed to the network and what failed
// locally, in the [notify.Stats] every notifier reports (Pending is
// always 0). There is deliberately no queue: a datagram that nothing
// answers takes no longer to send than to queue, and a queue would only
// defer the same local failure.
//
// [NewNotifier] adapts a Sender to a [notify.Notifier] (for a
// [notify.FanOut]) that sends one notification per Evaluation that is
// not OK (optionally the recoveries too), with the status it saw before
// as minatoPreviousStatus; [NewSink] is the same as a [monitor.Sink] of
// its own. Given the Runner's transitions (a FanOut's Transition), it
// sends one notification per status change.
//
// # Security
//
// Prefer SNMPv3 at authPriv (Config.Version "3", V3.SecurityLevel
// "authPriv", SHA-256 or better with AES): the notifications are then
// authenticated and encrypted. SNMPv2c sends the community in clear text
// with every datagram, and anyone who reads it can forge notifications;
// use it only on a trusted network, with a community used for nothing
// else (least privilege: never the read-write community of a device).
// The community and passphrases are never logged nor put in an error.
//
// For SNMPv3 the sender of a notification is the authoritative engine:
// the keys are localised with the sender's engine ID ([Config.EngineID],
// see [EngineIDFromText]), which the receiver must be told. With
// net-snmp's snmptrapd:
//
//	createUser -e 0x8001869f046d696e61746f2d686f73742d31 minato SHA-256 "authpassphrase" AES "privpassphrase"
//	authUser log minato priv
//
// and for SNMPv2c:
//
//	authCommunity log public
//
// Give each sending process its own engine ID. The engine time a Sender
// sends is derived from the wall clock (see [Sender]), so a restarted
// process is not refused as a replay; keep the clocks synchronised.
//
// # Usage
//
//	cfg := snmptrap.DefaultConfig()
//	cfg.Address = "192.0.2.10:162"
//	cfg.Version = snmptrap.V3
//	cfg.EngineID = snmptrap.EngineIDFromText("minato-host-1")
//	cfg.V3 = &snmp.V3Config{User: "minato", AuthProtocol: "SHA256", AuthPassphrase: authPass, PrivProtocol: "AES", PrivPassphrase: privPass}
//	s, err := snmptrap.New(cfg)
//	if err != nil {
//		return err
//	}
//	err = fan.Add("trap", snmptrap.NewNotifier(s, snmptrap.SinkOptions{Recoveries: true})) // fan.Close(ctx) closes s
//	run, _ := monitor.NewRunner(rcfg, resolver, monitor.WithTransitions(fan.Transition))
package snmptrap
