// Package bundle writes a support bundle: one tar.gz file an operator
// attaches to a support case, holding what a support engineer asks for
// first about a Docker host and some of its containers. It follows
// JobCenter's diagnostic collector (jc_docker_getinfo.sh and the manual
// collection steps of its container guide): the same file name pattern,
// the same files, the same progress and error messages in the same order,
// and the same fallback when compression fails (the directory is kept).
//
// [Collect] writes <prefix>_<MMDDhhmm>_<host>.tar.gz into Options.Dir. The
// archive holds one directory, <prefix>_<MMDDhhmm>_<host>/, with:
//
//	engine.info                docker version, docker info, docker system df,
//	                           the image and volume lists
//	daemon.json                the engine's configuration file, when present
//	config.json                the docker CLI's configuration (Options.DockerConfig)
//	<Options.Extra names>      minato's own state (agent status, last findings)
//	net.info                   this machine's interfaces, routes, the kernel's
//	                           forwarding and ARP settings, its name resolution
//	                           files and the engine's networks
//	system.info                this machine's OS, kernel, uptime, load, memory
//	                           and the Docker data root's file system
//	container_<name>.info      per selected container: inspect, log tail, top,
//	                           one stats sample, its events from its creation up
//	                           to now, and its /etc/hosts, /etc/resolv.conf and
//	                           /etc/hostname
//	network_<id>.info          per network a selected container is attached to
//	mount.info                 every mount of the selected containers as
//	                           <source>:<destination> lines
//	ls_<path>.info             a listing (ls -alR style, bounded) of every
//	                           directory mount source, the path's "/" turned
//	                           into "_" (/usr/spool/nqs → ls_usr_spool_nqs.info)
//	collect.log                the progress and error messages of the run
//	REDACTIONS.txt             what was redacted: file, key and kind, never the value
//
// # Secrets
//
// Everything written passes through the same redaction, which replaces a
// secret by [Redacted]: values of environment variables, labels, JSON keys
// and command-line flags whose names contain PASS, PWD, TOKEN, SECRET, KEY,
// CREDENTIAL, AUTH or PRIVATE (any case); registry auths in daemon.json and
// config.json; Authorization headers; passwords in URLs (scheme://user:pw@);
// private key blocks; and, anywhere in the bundle (logs included), every
// secret value learnt from the selected containers' environment and the
// configuration files. A value that is an absolute path under a name that
// says it is a path (…_FILE, …_PATH, …_DIR, …_SOCK, PWD) is kept: it says
// where a secret is, not what it is, and JobCenter's password-file messages
// need it. Each redaction is listed in REDACTIONS.txt and [Result].
//
// Listing mount sources and reading daemon.json need the engine to run on
// this machine (a unix socket); for a remote engine they are skipped and
// collect.log says so.
package bundle
