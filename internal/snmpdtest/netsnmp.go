package snmpdtest

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// startNetSNMP starts a net-snmp daemon (snmpd or snmptrapd) owned by the
// test: bin with args, its persistent state in dir/persist, no MIB files
// (everything is numeric, which keeps its log free of MIB parse warnings),
// and its stdout and stderr into out. done is closed when it exits.
func startNetSNMP(bin, dir string, args []string, out io.Writer) (*exec.Cmd, chan struct{}, error) {
	persist := filepath.Join(dir, "persist")
	if err := os.MkdirAll(persist, 0o700); err != nil {
		return nil, nil, err
	}
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(),
		"SNMP_PERSISTENT_DIR="+persist,
		"MIBS=",
		"MIBDIRS="+filepath.Join(dir, "no-mibs"),
	)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		return nil, nil, fmt.Errorf("start %s: %w", bin, err)
	}
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	return cmd, done, nil
}
