// Package hinemos renders Evaluations as the "key,value" lines a Hinemos
// custom monitor (カスタム監視) reads from a command's standard output,
// exactly as the Hinemos Docker monitoring scripts print them:
//
//	cpu_usage:conteiner_A,0.08
//	running,3
//
// [Write] maps Evaluations to lines through a list of [Key]s, plain data
// that says which samples to print, how to spell the key and how many
// decimals the value has. The functions named after what they monitor
// return the scripts' key sets, so a command only picks one:
//
//	command                    keys                  lines
//	host-status                HostStatusKeys()      Status,0
//	host-status --count        HostCountKeys()       running,3  restarting,0  ...
//	host-status --size         HostSizeKeys()        image,474361657  running,1024  ...
//	cpu                        CPUKeys()             cpu_usage:<name>,0.08   (host: cpu_usage:host)
//	cpu --core                 CPUCoreKeys()         cpu_usage#0:<name>,0.05
//	memory [--container]       MemoryKeys(limit)     host_mem_usage:<id8>,0.24  (host: host_mem_usage:host)
//	memory --all               MemoryAllKeys()       cache,16777216  or  cache:<id8>,16777216
//	disk                       DiskKeys(r, w)        disk_read:<id8>,5242880.00  disk_write:<id8>,...
//	network                    NetworkKeys(...)      nw_rxkb:<id8>,...  nw_txkb  nw_rxpck  nw_txpck
//	process                    ProcessKeys(pattern)  <pattern>:<id12>,3
//	container-status           WriteStates           2015-09-05 21:59:08 <id12> running
//
// [Line] and [Value] format a single line with the scripts' number rules.
// [Problems] says, for standard error, why an Evaluation printed nothing.
//
// # Key templates
//
// [Key.Format] and [Key.QualifyWhenMany] are templates: literal text with
// placeholders in braces.
//
//	{name}       the Target's Name without Docker's leading "/"
//	{id8}        the first 8 characters of the Target's ID
//	{id12}       the first 12 characters of the Target's ID
//	{label:KEY}  the sample's label KEY; a sample without it prints no line
//	{{  }}       a literal "{" or "}" ([Escape] doubles them for you)
//
// A host Target (Kind "host") has an engine address for an ID, so its
// Name stands in for {id8} and {id12}: a host Target named "host" prints
// cpu_usage:host and host_mem_usage:host with the containers' key sets.
// Any other text in braces, a lone brace and a line break are errors.
// Line breaks in substituted text become spaces.
//
// # Usage
//
//	evs, _ := runner.CheckOnce(ctx, "cpu")
//	_ = hinemos.Write(os.Stdout, evs, hinemos.CPUKeys())
//	for _, p := range hinemos.Problems(evs) {
//		fmt.Fprintln(os.Stderr, p)
//	}
package hinemos
