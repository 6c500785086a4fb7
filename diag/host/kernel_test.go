package host_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/minato-ops/minato/diag/host"
)

func TestKernelTooOld(t *testing.T) {
	cases := []struct {
		os, kernel string
		old        bool
		fix        string
	}{
		// The Container Service FAQ's examples.
		{"Ubuntu 14.04", "3.13.0-24-generic", true, host.FixUbuntu1404},
		{"CentOS Linux 7 (Core)", "3.10.0-514.el7", true, host.FixCentOS7},
		{"CentOS Linux 7 (Core)", "3.10.0-693.el7", false, ""},
		// "3.13 or earlier", "3.10.0-514 or earlier": inclusive.
		{"Ubuntu 14.04.5 LTS", "3.13.0-170-generic", true, host.FixUbuntu1404},
		{"Ubuntu 14.04.5 LTS", "3.2.0-126-generic", true, host.FixUbuntu1404},
		{"Ubuntu 14.04.5 LTS", "3.16.0-77-generic", false, ""},
		{"Ubuntu 14.04.5 LTS", "4.4.0-148-generic", false, ""}, // the lts-xenial kernel the fix installs
		{"CentOS Linux release 7.3.1611 (Core)", "3.10.0-514.26.2.el7.x86_64", true, host.FixCentOS7},
		{"CentOS Linux release 7.2.1511 (Core)", "3.10.0-327.el7.x86_64", true, host.FixCentOS7},
		{"CentOS Linux 7 (Core)", "3.10.0-515.el7", false, ""},
		{"CentOS Linux 7 (Core)", "3.10.0-1160.119.1.el7.x86_64", false, ""},
		{"CentOS Linux 7 (Core)", "5.4.278-1.el7.elrepo.x86_64", false, ""},
		{"CentOS Linux 7 (Core)", "3.10.0", false, ""}, // no release number: not guessed
		// os-release text.
		{"NAME=\"Ubuntu\"\nVERSION=\"14.04.6 LTS, Trusty Tahr\"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"14.04\"\n", "3.13.0-24-generic", true, host.FixUbuntu1404},
		{"NAME=\"CentOS Linux\"\nVERSION=\"7 (Core)\"\nID=\"centos\"\nID_LIKE=\"rhel fedora\"\nVERSION_ID=\"7\"\nANSI_COLOR=\"0;31\"\n", "3.10.0-514.el7.x86_64", true, host.FixCentOS7},
		// Other releases and systems are not this rule.
		{"Ubuntu 16.04.7 LTS", "3.13.0-24-generic", false, ""},
		{"Ubuntu 14.10", "3.13.0-24-generic", false, ""},
		{"CentOS Linux 8", "3.10.0-514.el7", false, ""},
		{"CentOS release 6.10 (Final)", "2.6.32-754.el6.x86_64", false, ""},
		{"Red Hat Enterprise Linux Server 7.3 (Maipo)", "3.10.0-514.el7.x86_64", false, ""},
		{"Debian GNU/Linux 12 (bookworm)", "3.13.0-24-generic", false, ""},
		{"", "", false, ""},
		{"Ubuntu 14.04", "generic", false, ""},
		{"Ubuntu", "3.13.0-24-generic", false, ""},
	}
	for _, tc := range cases {
		old, fix := host.KernelTooOld(tc.os, tc.kernel)
		assert.Equal(t, tc.old, old, "%q %q", tc.os, tc.kernel)
		assert.Equal(t, tc.fix, fix, "%q %q", tc.os, tc.kernel)
	}
}

func FuzzKernelTooOld(f *testing.F) {
	f.Add("Ubuntu 14.04", "3.13.0-24-generic")
	f.Add("CentOS Linux 7 (Core)", "3.10.0-514.el7")
	f.Add("CentOS Linux 7 (Core)", "3.10.0-693.el7")
	f.Add("ID=ubuntu\nVERSION_ID=\"14.04\"\n", "3.13.0")
	f.Add("ID=centos\nVERSION_ID=\"99999999999999999999\"\n", "99999999999999999999.1-99999999999999999999")
	f.Fuzz(func(t *testing.T, osRelease, kernel string) {
		old, fix := host.KernelTooOld(osRelease, kernel)
		if old != (fix != "") {
			t.Fatalf("KernelTooOld(%q, %q) = %v, %q: a fix exactly when too old", osRelease, kernel, old, fix)
		}
		if old && fix != host.FixUbuntu1404 && fix != host.FixCentOS7 {
			t.Fatalf("unknown fix %q", fix)
		}
	})
}
