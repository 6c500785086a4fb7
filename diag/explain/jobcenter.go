package explain

import (
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/minato-ops/minato/diag"
)

// References into JobCenter's container guide.
const (
	refJCBuild   = "JobCenter container guide §2.4.1.1.1 (building the image fails)"
	refJCStart   = "JobCenter container guide §2.4.1.1.2 (the container does not start or stops after starting)"
	refJCGetinfo = "JobCenter container guide §2.4.2 (collecting diagnostics)"
)

// siteNamesQuick is how long a JobCenter MG container may run before it
// stops with "Site names do not match." for the stop to count as
// immediate (a site name that differs) rather than as the stop about two
// minutes after start (a name that does not resolve).
const siteNamesQuick = time.Minute

// jcPortDefaults are the MG's ports by the variable that changes them.
var jcPortDefaults = map[string]string{
	"JOBCENTER_JCCOMBASE_PORT":          "611 (jccombase)",
	"JOBCENTER_JCCOMBASE_OVER_SSL_PORT": "23116 (jccombase over SSL)",
	"JOBCENTER_JCEVENT_PORT":            "10012 (jcevent)",
	"JOBCENTER_JCWEBSERVER_PORT":        "23180 (jcwebserver)",
	"JOBCENTER_JCNATS_PORT":             "23141 (jcnats)",
	"JOBCENTER_JCEXECUTOR_PORT":         "23151 (jcexecutor)",
}

func jobcenterRules() []diag.Rule {
	const (
		pwFile    = "The password file named by JOBCENTER_USERS_PASS_FILE (plain-text passwords) or JOBCENTER_USERS_CRYPTED_PASS_FILE (hashed passwords)"
		pwFormat  = "one user:password per line"
		envValue  = `\[(?P<value>[^\]\n]*)\]`
		envVarVal = `\[(?P<variable>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>[^\]\n]*)\]`
	)
	return []diag.Rule{
		{
			ID:        "jobcenter.build.entrypoint_missing",
			Pattern:   `lstat (?P<file>(?:\S*/)?entrypoint\.sh): no such file or directory`,
			Title:     "entrypoint.sh missing from the build directory",
			Cause:     "Building the JobCenter image needs entrypoint.sh next to the Dockerfile, and it is not there.",
			Remedy:    "Put entrypoint.sh in the directory of the Dockerfile (the build context) and build again; if the build uses -f with another context, fix the COPY paths.",
			Reference: refJCBuild,
			Severity:  diag.Critical,
		},
		{
			ID:        "jobcenter.build.license_manager_missing",
			Pattern:   `Error: Package: (?P<package>\S+)[^\n]*?(?:\n[^\n]*?){0,3}Requires: NECWSLM`,
			Title:     "License Manager package missing from the build",
			Cause:     "The JobCenter MG package requires the License Manager package (NECWSLM), and the build cannot find it.",
			Remedy:    "Put the License Manager package in the directory of the Dockerfile, or, when it comes from a repository, check the URL given as LMPKG in the Dockerfile; then build again.",
			Reference: refJCBuild,
			Severity:  diag.Critical,
		},
		{
			ID:      "jobcenter.mg_package_missing",
			Pattern: `/entrypoint\.sh: line (?P<line>\d+): /usr/local/netshep/nssetup: No such file or directory`,
			Title:   "JobCenter MG package not installed in the image",
			Cause:   "The image has no JobCenter MG installed, so the entrypoint cannot run nssetup.",
			Remedy: "Build the image again after checking that the MG package is in the directory of the Dockerfile or, " +
				"when it comes from a repository, that the URL given as JCPKG in the Dockerfile is right.",
			Reference: refJCStart,
			Severity:  diag.Critical,
		},
		{
			ID:      "jobcenter.hostname_invalid",
			Pattern: `Hostname is invalid\. \[(?P<hostname>[^\]\n]*)\]`,
			Title:   "invalid container host name",
			Cause: "The container was started without --hostname, or with a name JobCenter does not accept: " +
				"the host name becomes the MG's machine name and must have at most 64 characters, no multibyte characters, and not start with a digit.",
			Remedy:    "Create the container again with --hostname set to a valid name (with a re-used spool, the spool's site name).",
			Reference: refJCStart + "; §2.3.1.1 (host name)",
			Severity:  diag.Critical,
			Refine:    refineJCHostname,
		},
		{
			ID:        "jobcenter.no_license",
			Pattern:   `Error: No valid license is registered\.(?:\s*nqsdaemon start process will exit\.)?`,
			Title:     "no valid JobCenter licence",
			Cause:     "No valid codeword is registered for the MG in the container (containers have no trial period), so nqsdaemon does not start.",
			Remedy:    "Register the licence: mount the codeword file at /etc/opt/wsnlesd/.lockinfo (--volume <.lockinfo>:/etc/opt/wsnlesd/.lockinfo) or build it into the image, then create the container again.",
			Reference: refJCStart + "; §2.3.1.2 (licence)",
			Severity:  diag.Critical,
		},
		{
			ID:      "jobcenter.init_unsupported",
			Pattern: `exec -- failed: No such file or directory`,
			Title:   "--init not supported by this Docker",
			Cause:   "The container was started with --init, which JobCenter needs, but this Docker release cannot run its init process.",
			Remedy: "Use a Docker release that supports --init: on Red Hat Enterprise Linux 7, release 86 or later " +
				"(docker-1.13.1-86.git07f3374.el7); then create the container again with --init.",
			Reference: refJCStart + "; §2.3.1.3 (init process)",
			Severity:  diag.Critical,
		},
		{
			ID:        "jobcenter.admin_password_missing",
			Pattern:   `At least one of the\s+JOBCENTER_NSUMSMGR_PASS\s+or\s+JOBCENTER_NSUMSMGR_CRYPTED_PASS\s+must be specified\.`,
			Title:     "no password for the JobCenter administrator",
			Cause:     "Neither JOBCENTER_NSUMSMGR_PASS nor JOBCENTER_NSUMSMGR_CRYPTED_PASS was given with --env, so the administrator user nsumsmgr has no password.",
			Remedy:    "Create the container again with --env JOBCENTER_NSUMSMGR_PASS=<password> or --env JOBCENTER_NSUMSMGR_CRYPTED_PASS=<crypt(3) hash>.",
			Reference: refJCStart + "; §2.3.1.4 (administrator password)",
			Severity:  diag.Critical,
		},
		{
			ID:        "jobcenter.language_code_invalid",
			Pattern:   `Language code is invalid value\. ` + envValue,
			Title:     "invalid JOBCENTER_LANGUAGE_CODE",
			Cause:     "JOBCENTER_LANGUAGE_CODE has a value the MG does not know; the values are case-sensitive.",
			Remedy:    "Set JOBCENTER_LANGUAGE_CODE to one of English, EUC, Shift-JIS, Chinese or UTF-8 (the default), or leave it unset.",
			Reference: refJCStart + "; §2.3.1.7 (language and machine ID)",
			Severity:  diag.Critical,
		},
		{
			ID:        "jobcenter.machine_id_not_integer",
			Pattern:   `Machine ID is positive integer required\.\s*` + envValue,
			Title:     "JOBCENTER_MACHINE_ID is not an integer",
			Cause:     "JOBCENTER_MACHINE_ID has a value that is not an integer.",
			Remedy:    "Set JOBCENTER_MACHINE_ID to an integer from 1 to 2147483647 (default 1).",
			Reference: refJCStart + "; §2.3.1.7 (language and machine ID)",
			Severity:  diag.Critical,
		},
		{
			ID:        "jobcenter.machine_id_range",
			Pattern:   `Machine ID is in the invalid range\.\s*` + envValue,
			Title:     "JOBCENTER_MACHINE_ID out of range",
			Cause:     "JOBCENTER_MACHINE_ID is outside 1 to 2147483647.",
			Remedy:    "Set JOBCENTER_MACHINE_ID to an integer from 1 to 2147483647 (default 1).",
			Reference: refJCStart + "; §2.3.1.7 (language and machine ID)",
			Severity:  diag.Critical,
		},
		{
			ID:      "jobcenter.port_not_integer",
			Pattern: `JobCenter port is positive integer\s+required\.\s*` + envVarVal,
			Title:   "JobCenter port variable is not an integer",
			Cause: "One of the port variables (JOBCENTER_JCCOMBASE_PORT, JOBCENTER_JCCOMBASE_OVER_SSL_PORT, JOBCENTER_JCEVENT_PORT, " +
				"JOBCENTER_JCWEBSERVER_PORT, JOBCENTER_JCNATS_PORT, JOBCENTER_JCEXECUTOR_PORT) is not an integer.",
			Remedy:    "Set it to a port from 1 to 65535, or leave it unset for the default; publish the same port with --publish.",
			Reference: refJCStart + "; table 2.4 (port variables)",
			Severity:  diag.Critical,
			Refine:    refineJCPort,
		},
		{
			ID:      "jobcenter.port_range",
			Pattern: `JobCenter port is in the invalid range\.\s*` + envVarVal,
			Title:   "JobCenter port variable out of range",
			Cause: "One of the port variables (JOBCENTER_JCCOMBASE_PORT, JOBCENTER_JCCOMBASE_OVER_SSL_PORT, JOBCENTER_JCEVENT_PORT, " +
				"JOBCENTER_JCWEBSERVER_PORT, JOBCENTER_JCNATS_PORT, JOBCENTER_JCEXECUTOR_PORT) is outside 1 to 65535.",
			Remedy:    "Set it to a port from 1 to 65535, or leave it unset for the default; publish the same port with --publish.",
			Reference: refJCStart + "; table 2.4 (port variables)",
			Severity:  diag.Critical,
			Refine:    refineJCPort,
		},
		{
			ID:        "jobcenter.password_file_missing",
			Pattern:   `Password file is not exists\. ` + envVarVal,
			Title:     "password file not found in the container",
			Cause:     pwFile + " does not exist at that path inside the container.",
			Remedy:    "Set the variable to the path where --volume mounts the password file inside the container.",
			Reference: refJCStart + "; §2.3.1.9 (additional users)",
			Severity:  diag.Critical,
		},
		{
			ID:        "jobcenter.password_file_not_regular",
			Pattern:   `Password file is not a regular file\. ` + envVarVal,
			Title:     "password file is not a regular file",
			Cause:     pwFile + " is not a regular file (a directory, typically: the --volume source did not exist on the Docker host, so Docker created a directory).",
			Remedy:    "Give --volume the path of the password file as it exists on the Docker host, then create the container again.",
			Reference: refJCStart + "; §2.3.1.9 (additional users)",
			Severity:  diag.Critical,
		},
		{
			ID:        "jobcenter.password_file_format",
			Pattern:   `ENV (?P<variable>[A-Za-z_][A-Za-z0-9_]*) line (?P<line>\d+): the format is not valid, the correct separator must be ":"\.`,
			Title:     "password file line not in user:password form",
			Cause:     "A line of the password file is not in the form " + pwFormat + ".",
			Remedy:    "Write the password file with " + pwFormat + " (user1:password1), then create the container again.",
			Reference: refJCStart + "; §2.3.1.9.1 (password file)",
			Severity:  diag.Critical,
			Refine: func(e *diag.Explanation) bool {
				e.Cause = fmt.Sprintf("Line %s of the file named by %s is not in the form %s.", e.Fields["line"], e.Fields["variable"], pwFormat)
				return true
			},
		},
		{
			ID:        "jobcenter.password_file_user",
			Pattern:   `ENV (?P<variable>[A-Za-z_][A-Za-z0-9_]*) line (?P<line>\d+): the user is not created correctly\. \[(?P<user>[^\]\n]*)\]`,
			Title:     "invalid user name in the password file",
			Cause:     "A user name in the password file breaks the operating system's rules for user names, so the user cannot be created.",
			Remedy:    "Use user names the OS accepts (letters, digits, '_' and '-', not starting with a digit or '-'), and do not list nsumsmgr.",
			Reference: refJCStart + "; §2.3.1.9.1 (password file)",
			Severity:  diag.Critical,
			Refine: func(e *diag.Explanation) bool {
				e.Cause = fmt.Sprintf("User %q on line %s of the file named by %s breaks the operating system's rules for user names, so it cannot be created.",
					e.Fields["user"], e.Fields["line"], e.Fields["variable"])
				return true
			},
		},
		{
			ID:        "jobcenter.password_file_size",
			Pattern:   `ENV (?P<variable>[A-Za-z_][A-Za-z0-9_]*): the file size \[(?P<size>\d+) bytes\] is larger than maximum size \[524288 bytes\]\.`,
			Title:     "password file larger than 512 KB",
			Cause:     "The password file is larger than 524288 bytes (512 KB), the most the MG reads.",
			Remedy:    "Keep the password file at most 524288 bytes (512 KB), then create the container again.",
			Reference: refJCStart + "; §2.3.1.9.1 (password file)",
			Severity:  diag.Critical,
		},
		{
			ID: "jobcenter.site_names",
			// How long the container ran: from the first line of
			// `docker logs --timestamps` to the message's, or from the
			// State of `docker inspect` within 40 lines after it.
			Pattern: `(?s:(?P<first>` + ts + `)[ \t].*?(?P<at>` + ts + `)[ \t]+)?Site names do not match\.` +
				`(?:(?:[^\n]*\n){0,40}?[^\n]*?"StartedAt":\s*"(?P<started>` + ts + `)",\s*"FinishedAt":\s*"(?P<finished>` + ts + `)")?`,
			Title: "JobCenter MG site name does not match",
			Cause: "Two causes give this message, told apart by when the container stopped. " +
				"Stopped right after it was created: the site name stored in the re-used spool directory differs from the container's host name (--hostname). " +
				"Stopped about two minutes after it started: the MG failed to resolve its own name.",
			Remedy: "See how long the container ran (docker container inspect -f '{{.State.StartedAt}} {{.State.FinishedAt}}' <container>, or docker container logs --timestamps). " +
				"Stopped at once: create the container with the spool's site name as --hostname. " +
				"Stopped after about two minutes: on a Docker network, use <container name>.<network name> as --hostname.",
			Reference: refJCStart + "; §2.3.1.5 (persistence)",
			Severity:  diag.Critical,
			Refine:    refineSiteNames,
		},
		{
			ID:        "jobcenter.getinfo.not_root",
			Pattern:   `jc_docker_getinfo\.sh: Only root user can execute this script\.`,
			Title:     "diagnostics collector run without root",
			Cause:     "jc_docker_getinfo.sh collects the Docker host's information and must run as root.",
			Remedy:    "Run it as root (sudo ./jc_docker_getinfo.sh) from its own directory.",
			Reference: refJCGetinfo,
			Severity:  diag.Warning,
		},
		{
			ID:        "jobcenter.getinfo.docker_error",
			Pattern:   `(?P<command>docker version|docker info) error\. Get docker info error! Stop\.`,
			Title:     "diagnostics collector cannot run docker",
			Cause:     "The collector could not run the docker command or reach the daemon, so it stopped.",
			Remedy:    "Check that the docker command is on root's PATH and that the Docker daemon is running (systemctl status docker), then run the collector again.",
			Reference: refJCGetinfo,
			Severity:  diag.Warning,
		},
		compressError("tar"),
		compressError("gzip"),
	}
}

// compressError is the rule of the collector's message when command (tar
// or gzip) fails; one rule per command keeps each pattern's literal
// prefix, which makes it fast.
func compressError(command string) diag.Rule {
	return diag.Rule{
		ID:      "jobcenter.getinfo." + command + "_error",
		Pattern: `(?P<command>` + command + `) error\. Failed to compress the files! Stop\.`,
		Title:   "diagnostics collector could not compress",
		Cause:   "The collector could not run " + command + ", or could not write the archive (disk full or over quota).",
		Remedy: "Check that tar and gzip are on the PATH and that the current directory's file system has space and quota left; " +
			"meanwhile hand over the jc_docker_data_<MMDDhhmm>_<host> directory it left, which holds everything collected.",
		Reference: refJCGetinfo,
		Severity:  diag.Warning,
	}
}

// refineJCHostname says which of JobCenter's host name rules the name in
// the message breaks.
func refineJCHostname(e *diag.Explanation) bool {
	h := e.Fields["hostname"]
	dockerDefault := ""
	if len(h) == 12 && strings.Trim(h, "0123456789abcdef") == "" {
		dockerDefault = " It looks like Docker's default host name (the container ID): --hostname was not given."
	}
	var why string
	switch {
	case strings.TrimSpace(h) == "":
		why = "The host name is empty: --hostname was not given."
	case utf8.RuneCountInString(h) > 64:
		why = fmt.Sprintf("Host name %q has %d characters; at most 64 are allowed.", h, utf8.RuneCountInString(h))
	case !isASCII(h):
		why = fmt.Sprintf("Host name %q has multibyte characters.", h)
	case unicode.IsDigit(rune(h[0])):
		why = fmt.Sprintf("Host name %q starts with a digit.", h) + dockerDefault
	case dockerDefault != "":
		why = fmt.Sprintf("Host name %q.", h) + dockerDefault
	default:
		why = fmt.Sprintf("Host name %q breaks none of the rules of length, characters and first character; check that --hostname gives exactly the name meant.", h)
	}
	e.Cause = why + " JobCenter takes the host name as the MG's machine name: at most 64 characters, no multibyte characters, not starting with a digit."
	return true
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// refineJCPort names the variable's default port.
func refineJCPort(e *diag.Explanation) bool {
	v := e.Fields["variable"]
	if def, ok := jcPortDefaults[v]; ok {
		e.Remedy = fmt.Sprintf("Set %s to a port from 1 to 65535, or leave it unset for the default %s; publish the same port with --publish.", v, def)
	}
	return true
}

// refineSiteNames tells the two causes apart when the text shows how long
// the container ran: the State of `docker inspect` after the message
// (StartedAt to FinishedAt) or the time stamps of `docker logs
// --timestamps` (the first line to the message's). Without them it lists
// both causes.
func refineSiteNames(e *diag.Explanation) bool {
	f := e.Fields
	var from, to string
	switch {
	case f["started"] != "" && f["finished"] != "":
		from, to = f["started"], f["finished"]
	case f["first"] != "" && f["at"] != "":
		from, to = f["first"], f["at"]
	default:
		return true
	}
	start, err1 := time.Parse(time.RFC3339Nano, from)
	end, err2 := time.Parse(time.RFC3339Nano, to)
	if err1 != nil || err2 != nil || end.Before(start) {
		return true
	}
	ran := end.Sub(start)
	f["ran_for"] = ran.Round(time.Second).String()
	if ran < siteNamesQuick {
		e.Title = "host name differs from the spool's site name"
		e.Cause = fmt.Sprintf("The container stopped %s after it started, at once: the site name stored in the re-used spool directory "+
			"differs from the container's host name (--hostname).", f["ran_for"])
		e.Remedy = "Create the container again with --hostname set to the site name of the spool directory it takes over."
		return true
	}
	e.Title = "JobCenter MG cannot resolve its own name"
	e.Cause = fmt.Sprintf("The container stopped %s after it started (about two minutes is typical): the MG failed to resolve its own host name.", f["ran_for"])
	e.Remedy = "On a Docker network, create the container again with --hostname <container name>.<network name>, so that Docker's DNS resolves it; otherwise make the host name resolvable (DNS or --add-host)."
	return true
}
