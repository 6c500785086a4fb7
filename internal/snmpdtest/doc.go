// Package snmpdtest starts a real net-snmp agent (snmpd, Debian package
// "snmpd") for integration tests of package snmp.
//
// [Start] writes a configuration file into t.TempDir(), starts
// "snmpd -f -Lo -C -c CONF -p PIDFILE udp:127.0.0.1:PORT" on a free loopback
// UDP port with SNMP_PERSISTENT_DIR pointing into the same directory (so the
// test never touches /var/lib/snmp or the system snmpd service), waits until
// the agent answers an SNMPv2c GET, and registers a t.Cleanup that stops it.
// The agent grants read-only access from 127.0.0.1 to the community
// [Community] (everything), [UCDCommunity] (UCD-SNMP-MIB only) and
// [SystemCommunity] (the system group only), and to the SNMPv3 user [V3User]
// at authPriv ([V3AuthProtocol]/[V3PrivProtocol]); see [Config]. The
// UCD-SNMP-MIB memory and CPU groups are built into Debian's snmpd.
//
// The harness talks to the agent with github.com/gosnmp/gosnmp directly and
// does not import package snmp: it is the independent oracle the package is
// checked against.
//
// When no snmpd binary is installed the test is skipped, or failed when the
// environment variable [RequireEnv] is "1" (CI sets it: real components are
// required there).
//
// StartTrapd starts net-snmp's trap receiver the same way, for the SNMP
// trap notifier's tests: it logs every accepted trap with numeric OIDs.
package snmpdtest
