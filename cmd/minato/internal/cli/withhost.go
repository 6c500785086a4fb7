package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/monitor"
	"github.com/minato-ops/minato/monitor/baseline"
	"github.com/minato-ops/minato/monitor/snmp"
)

// snmpClient builds the SNMP client for --with-host: -sv/-sc/-sp, the agent
// at --snmp-address, else at -i, else on this machine.
func (o *monitorOpts) snmpClient(mf *monitorFlags) (*snmp.Client, error) {
	cfg := snmp.DefaultConfig()
	cfg.Version, cfg.Community, cfg.Port = o.snmpVer, o.snmpCom, o.snmpPort
	cfg.Address = o.snmpAdr
	if cfg.Address == "" {
		cfg.Address = mf.address
	}
	if cfg.Address == "" {
		cfg.Address = snmp.DefaultAddress
	}
	if cfg.Version == "3" {
		return nil, usagef("-sv 3 needs a user and passphrases, which the seed's options cannot carry; use the agent's config file for SNMPv3")
	}
	return snmp.New(cfg)
}

// hostCPU is seed 002's cpu_usage:host: the host's CPU usage from SNMP raw
// counters (busy share of all cores, 0-100) minus the containers' share of
// the host (the sum of their per-core percentages over the number of
// CPUs), never below 0. The previous counters are kept next to the
// containers' baseline. ok is false on the first run of the key.
func hostCPU(ctx context.Context, o *monitorOpts, mf *monitorFlags, store *baseline.Store, evs []monitor.Evaluation, ncpu int) (v float64, ok bool, err error) {
	sc, err := o.snmpClient(mf)
	if err != nil {
		return 0, false, err
	}
	defer sc.Close()
	cur, err := sc.HostCPU(ctx)
	if err != nil {
		return 0, false, fmt.Errorf("--with-host: host CPU over SNMP: %w", err)
	}
	var hostPct float64
	err = store.Update(mf.key+".snmp-cpu", func(old []byte) ([]byte, error) {
		if old != nil {
			var prev snmp.CPU
			if json.Unmarshal(old, &prev) == nil {
				if pct, err := snmp.CPUPercent(prev, cur); err == nil {
					hostPct, ok = pct, true
				} else if !errors.Is(err, monitor.ErrNoBaseline) {
					return nil, err
				}
			}
		}
		return json.Marshal(cur)
	})
	if err != nil || !ok {
		return 0, false, err
	}
	sum := 0.0
	for _, ev := range evs {
		if s, found := ev.Result.Sample("cpu_percent", nil); found && ev.Err == nil {
			sum += s.Value
		}
	}
	if ncpu < 1 {
		ncpu = 1
	}
	return max(hostPct-sum/float64(ncpu), 0), true, nil
}

// hostMemory is seed 002's host_mem_usage:host: (host used − Σ container
// rss) / host total × 100 with the host figures from SNMP (UCD-SNMP-MIB),
// never below 0.
func hostMemory(ctx context.Context, o *monitorOpts, mf *monitorFlags, evs []monitor.Evaluation) (float64, error) {
	sc, err := o.snmpClient(mf)
	if err != nil {
		return 0, err
	}
	defer sc.Close()
	m, err := sc.HostMemory(ctx)
	if err != nil {
		return 0, fmt.Errorf("--with-host: host memory over SNMP: %w", err)
	}
	sum := 0.0
	for _, ev := range evs {
		if s, found := ev.Result.Sample("memory_rss_bytes", nil); found && ev.Err == nil {
			sum += s.Value
		}
	}
	total := float64(m.TotalBytes())
	if total <= 0 {
		return 0, errors.New("--with-host: the SNMP agent reports no memory total")
	}
	return max((float64(m.UsedBytes())-sum)/total*100, 0), nil
}

// hostEval wraps a host figure as an evaluation for the other formats.
func hostEval(check, sample string, v float64, host string) monitor.Evaluation {
	now := time.Now()
	t := inventory.Target{Kind: inventory.KindHost, ID: host, Name: "host"}
	r := monitor.Result{Time: now, Samples: []monitor.Sample{{Name: sample, Value: v, Unit: monitor.Percent, Time: now, Mode: monitor.ModeSNMP}}}
	return eval(check, t, r, nil)
}
