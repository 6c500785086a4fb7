package hinemos

// The key sets of the Hinemos Docker monitoring scripts, one function per
// monitor, so that existing Hinemos monitor settings keep matching. Each
// call returns a new slice the caller may change. Percentages and
// per-interval figures have two decimals; counts and bytes none.

// CPUKeys prints "cpu_usage:<name>,<pct>" from cpu_percent (100 = one
// core). A host Target named "host" prints "cpu_usage:host", the host's
// CPU use outside containers.
func CPUKeys() []Key {
	return []Key{{Sample: "cpu_percent", Format: "cpu_usage:{name}", Decimals: 2}}
}

// CPUCoreKeys prints "cpu_usage#<core>:<name>,<pct>" from
// cpu_core_percent, one line per core.
func CPUCoreKeys() []Key {
	return []Key{{Sample: "cpu_core_percent", Format: "cpu_usage#{label:core}:{name}", Decimals: 2}}
}

// MemoryKeys prints "host_mem_usage:<id8>,<pct>": the container's rss
// against the host's memory (memory_host_percent), or with limit against
// its memory limit (memory_limit_percent), under the same key. A host
// Target named "host" prints "host_mem_usage:host".
func MemoryKeys(limit bool) []Key {
	sample := "memory_host_percent"
	if limit {
		sample = "memory_limit_percent"
	}
	return []Key{{Sample: sample, Format: "host_mem_usage:{id8}", Decimals: 2}}
}

// MemoryAllKeys prints every cgroup memory statistic (memory_stat) as
// "<stat>,<value>", exactly, and as "<stat>:<id8>,<value>" when more than
// one container has them.
func MemoryAllKeys() []Key {
	return []Key{{Sample: "memory_stat", Format: "{label:key}", QualifyWhenMany: ":{id8}"}}
}

// DiskKeys prints "disk_read:<id8>,<bytes>" (disk_read_bytes) when read
// and "disk_write:<id8>,<bytes>" (disk_write_bytes) when write, in that
// order; neither means both, as in the scripts.
func DiskKeys(read, write bool) []Key {
	if !read && !write {
		read, write = true, true
	}
	var out []Key
	if read {
		out = append(out, Key{Sample: "disk_read_bytes", Format: "disk_read:{id8}", Decimals: 2})
	}
	if write {
		out = append(out, Key{Sample: "disk_write_bytes", Format: "disk_write:{id8}", Decimals: 2})
	}
	return out
}

// NetworkKeys prints, in this order, "nw_rxkb:<id8>" (network_rx_bytes,
// bytes despite the name), "nw_txkb:<id8>" (network_tx_bytes),
// "nw_rxpck:<id8>" (network_rx_packets) and "nw_txpck:<id8>"
// (network_tx_packets), limited to bytes and or packets, received (rx)
// and or sent (tx). Neither bytes nor packets means both, and neither rx
// nor tx means both, as in the scripts.
func NetworkKeys(bytes, packets, rx, tx bool) []Key {
	if !bytes && !packets {
		bytes, packets = true, true
	}
	if !rx && !tx {
		rx, tx = true, true
	}
	var out []Key
	for _, k := range []struct {
		on             bool
		sample, format string
	}{
		{bytes && rx, "network_rx_bytes", "nw_rxkb:{id8}"},
		{bytes && tx, "network_tx_bytes", "nw_txkb:{id8}"},
		{packets && rx, "network_rx_packets", "nw_rxpck:{id8}"},
		{packets && tx, "network_tx_packets", "nw_txpck:{id8}"},
	} {
		if k.on {
			out = append(out, Key{Sample: k.sample, Format: k.format, Decimals: 2})
		}
	}
	return out
}

// ProcessKeys prints "<pattern>:<id12>,<count>" from processes: the
// pattern as given (braces included) is the key's prefix.
func ProcessKeys(pattern string) []Key {
	return []Key{{Sample: "processes", Format: Escape(pattern) + ":{id12}"}}
}

// HostStatusKeys prints "Status,0" when the engine answers and "Status,1"
// when it does not (engine_status).
func HostStatusKeys() []Key {
	return []Key{{Sample: "engine_status", Format: "Status"}}
}

// HostCountKeys prints "<state>,<count>" for each container state
// (containers{state}), in the monitor's order.
func HostCountKeys() []Key {
	return []Key{{Sample: "containers", Format: "{label:state}"}}
}

// HostSizeKeys prints "image,<bytes>" (disk_images_bytes), then
// "<state>,<bytes>" for each container state (disk_containers_bytes).
func HostSizeKeys() []Key {
	return []Key{
		{Sample: "disk_images_bytes", Format: "image"},
		{Sample: "disk_containers_bytes", Format: "{label:state}"},
	}
}

// Options are the scripts' options that choose what a monitor prints.
type Options struct {
	// Core prints cpu per core (--core).
	Core bool
	// Limit prints memory against the container's limit (--container).
	Limit bool
	// All prints every memory statistic (memory --all).
	All bool
	// Read and Write choose disk's lines (--read, --write; neither: both).
	Read, Write bool
	// Bytes, Packets, Rx and Tx choose network's lines (--kb, --pck,
	// --rx, --tx; neither of a pair: both).
	Bytes, Packets, Rx, Tx bool
	// Pattern is the process monitor's pattern, the key's prefix.
	Pattern string
}

// Keys returns the key set of a monitor, by the name of the command that
// runs it (cpu, memory, disk, network, process, host-status, host-count,
// host-size), chosen by o; nil for any other name.
func Keys(monitor string, o Options) []Key {
	switch monitor {
	case "cpu":
		if o.Core {
			return CPUCoreKeys()
		}
		return CPUKeys()
	case "memory":
		if o.All {
			return MemoryAllKeys()
		}
		return MemoryKeys(o.Limit)
	case "disk":
		return DiskKeys(o.Read, o.Write)
	case "network":
		return NetworkKeys(o.Bytes, o.Packets, o.Rx, o.Tx)
	case "process":
		return ProcessKeys(o.Pattern)
	case "host-status":
		return HostStatusKeys()
	case "host-count":
		return HostCountKeys()
	case "host-size":
		return HostSizeKeys()
	}
	return nil
}

// HostKeys returns the keys of the host's use outside the containers
// (the scripts' --with-host), whatever the host Target's name:
// "cpu_usage:host" from cpu_percent for cpu, "host_mem_usage:host" from
// memory_host_percent for memory; nil for any other monitor.
func HostKeys(monitor string) []Key {
	switch monitor {
	case "cpu":
		return []Key{{Sample: "cpu_percent", Format: "cpu_usage:host", Decimals: 2}}
	case "memory":
		return []Key{{Sample: "memory_host_percent", Format: "host_mem_usage:host", Decimals: 2}}
	}
	return nil
}
