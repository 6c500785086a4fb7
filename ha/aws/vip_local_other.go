//go:build !linux

package aws

import (
	"fmt"
	"net/netip"
	"runtime"
)

// vipLocalSupported reports whether this platform can put a virtual IP on
// a local interface.
const vipLocalSupported = false

// vipOSLocal reports that a local virtual IP is not supported here.
type vipOSLocal struct{}

func (vipOSLocal) add(ifname string, _ netip.Addr) error { return vipUnsupported(ifname) }
func (vipOSLocal) del(ifname string, _ netip.Addr) error { return vipUnsupported(ifname) }
func (vipOSLocal) has(ifname string, _ netip.Addr) (bool, error) {
	return false, vipUnsupported(ifname)
}

func vipUnsupported(ifname string) error {
	return fmt.Errorf("interface %s: putting the virtual IP on a local interface is not supported on %s (only on linux); leave interface empty", ifname, runtime.GOOS)
}
