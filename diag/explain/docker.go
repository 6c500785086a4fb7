package explain

import (
	"strings"

	"github.com/minato-ops/minato/diag"
)

// References for the Docker Engine's texts: the FAQ's row when it has
// one.
const (
	refD31    = "Container Service FAQ D31 (§2.19, image pull fails); Docker Engine pull errors"
	refD21    = "Container Service FAQ D21 (§2.14, adding a data disk for Docker)"
	refD04    = "Container Service FAQ D04 (§2.7, host port conflicts); Docker Engine port publishing"
	refDocker = "Docker Engine"
)

// registryMessages are the registries' answers that mean "who are you?"
// when the text does not show the registry's URL.
var registryMessages = []string{
	"authentication required",
	"incorrect username or password",
	"access to the requested resource is not authorized",
	"unauthorized to access repository",
}

func dockerRules() []diag.Rule {
	const relogin = "Log in to the registry again (docker login <registry>) with the user name and the registry's own password " +
		"(for Alibaba Cloud's Container Registry, the password set for the registry, not the console password), then pull again."
	return []diag.Rule{
		{
			ID:      "docker.pull_access_denied",
			Pattern: `pull access denied(?: for (?P<repository>[^\s,]+))?, repository does not exist or may require (?:'docker login'|authorization)(?:: (?P<message>[^\n]*))?`,
			Title:   "image pull refused",
			Cause: "The registry refused the pull: the engine is not logged in to it (or its login expired or is for another user), " +
				"or the repository does not exist under that name.",
			Remedy:    relogin + " If that does not help, check the image name's spelling and namespace.",
			Reference: refD31,
			Severity:  diag.Critical,
			Refine:    refineRegistry("repository"),
		},
		{
			ID:        "docker.registry_unauthorized",
			Pattern:   `(?:(?P<url>https?://(?P<registry>[^/\s"]+)/v2/[^\s"]*)"?:\s*)?unauthorized: (?P<message>[^\n]*)`,
			Title:     "registry login rejected or missing",
			Cause:     "The registry answered 401 Unauthorized: the engine has no login for it, the login expired, or the user name or password is wrong.",
			Remedy:    relogin,
			Reference: refD31,
			Severity:  diag.Critical,
			Refine: func(e *diag.Explanation) bool {
				if e.Fields["registry"] == "" {
					msg := strings.ToLower(e.Fields["message"])
					known := false
					for _, m := range registryMessages {
						known = known || strings.HasPrefix(msg, m)
					}
					if !known {
						return false // some other service's "unauthorized"
					}
				}
				return refineRegistry("registry")(e)
			},
		},
		{
			// The containerd image store's form: the token server refused.
			ID:        "docker.registry_auth_failed",
			Pattern:   `failed to resolve reference "(?P<reference>[^"\n]+)": failed to authorize: [^\n]*?(?P<status>401 Unauthorized|403 Forbidden)`,
			Title:     "registry login rejected or missing",
			Cause:     "The registry's token service refused the engine: it has no login for the registry, the login expired, or the user name or password is wrong.",
			Remedy:    relogin,
			Reference: refD31,
			Severity:  diag.Critical,
			Refine:    refineRegistry("reference"),
		},
		{
			ID:        "docker.manifest_unknown",
			Pattern:   `manifest for (?P<reference>\S+) not found: manifest unknown`,
			Title:     "image tag not found",
			Cause:     "The registry has no image of that tag (or digest) in the repository; a private registry may also answer so to a client that is not logged in.",
			Remedy:    "Check the tag (the registry's tag list, or docker search/the registry's UI); if the repository is private, log in to the registry again (docker login <registry>) and pull again.",
			Reference: refD31,
			Severity:  diag.Critical,
			Refine:    refineRegistry("reference"),
		},
		{
			ID:        "docker.repository_not_found",
			Pattern:   `repository (?P<repository>\S+) not found: name unknown`,
			Title:     "image repository not found",
			Cause:     "The registry has no repository of that name; a private registry may also answer so to a client that is not logged in.",
			Remedy:    "Check the image name's spelling and namespace; if the repository is private, log in to the registry again (docker login <registry>) and pull again.",
			Reference: refD31,
			Severity:  diag.Critical,
			Refine:    refineRegistry("repository"),
		},
		{
			// The containerd image store's form of a missing tag.
			ID:        "docker.reference_not_found",
			Pattern:   `failed to resolve reference "(?P<reference>[^"\n]+)": [^\n]*?: not found`,
			Title:     "image not found in the registry",
			Cause:     "The registry has no image of that name and tag; a private registry may also answer so to a client that is not logged in.",
			Remedy:    "Check the image name and tag; if the repository is private, log in to the registry again (docker login <registry>) and pull again.",
			Reference: refD31,
			Severity:  diag.Critical,
			Refine:    refineRegistry("reference"),
		},
		{
			ID:        "docker.rate_limited",
			Pattern:   `toomanyrequests: (?P<message>[^\n]*)`,
			Title:     "registry pull rate limit reached",
			Cause:     "The registry limits how many pulls a client may make (Docker Hub counts anonymous pulls by IP address and logged-in pulls by account), and this host reached the limit.",
			Remedy:    "Log in (docker login) so that pulls count against an account with a higher limit, use a registry mirror or a pull-through cache, or wait for the limit's window to pass.",
			Reference: refDocker,
			Severity:  diag.Critical,
		},
		{
			ID:      "docker.no_space",
			Pattern: `no space left on device`,
			Title:   "disk full",
			Cause: "A file system has no space left: mostly the one holding Docker's data root (/var/lib/docker), which images, " +
				"containers' writable layers, volumes and json-file logs fill.",
			Remedy: "See what uses the space (df -h /var/lib/docker; docker system df) and free it (docker image prune, docker container prune, " +
				"log rotation); for a lasting fix give Docker a data disk of its own: stop the daemon, move /var/lib/docker onto the new disk " +
				"(mounted from /etc/fstab), start the daemon, check df and docker ps, and start the containers that have no restart policy.",
			Reference: refD21,
			Severity:  diag.Critical,
		},
		{
			ID:        "docker.port_allocated",
			Pattern:   `Bind for (?P<address>\[[0-9A-Fa-f:.]*\]|[^\s\[:]*):(?P<port>\d+) failed: port is already allocated`,
			Title:     "host port already published",
			Cause:     "Another container already publishes this host port.",
			Remedy:    "Publish another host port, or stop the container that holds this one (docker ps --filter publish=<port>).",
			Reference: refD04,
			Severity:  diag.Critical,
			Refine: func(e *diag.Explanation) bool {
				p := e.Fields["port"]
				e.Cause = "Another container already publishes host port " + p + "."
				e.Remedy = "Publish another host port, or stop the container that holds " + p + " (docker ps --filter publish=" + p + ")."
				return true
			},
		},
		{
			ID:        "docker.port_in_use",
			Pattern:   `listen (?P<protocol>tcp|udp)[46]? (?P<address>\[[0-9A-Fa-f:.]*\]|[^\s\[:]*):(?P<port>\d+): bind: address already in use`,
			Title:     "host port used by another program",
			Cause:     "A program of the host (not a container) already listens on the host port the container publishes.",
			Remedy:    "Find the program (ss -ltnp 'sport = :<port>') and stop it, or publish another host port.",
			Reference: refD04,
			Severity:  diag.Critical,
			Refine: func(e *diag.Explanation) bool {
				p := e.Fields["port"]
				e.Cause = "A program of the host (not a container) already listens on host port " + p + "."
				e.Remedy = "Find the program (ss -lnp 'sport = :" + p + "') and stop it, or publish another host port."
				return true
			},
		},
		{
			ID:        "docker.executable_not_found",
			Pattern:   `OCI runtime (?P<phase>exec|create|start) failed: [^\n]*?exec: \\?"(?P<executable>[^"\\\n]+)\\?": executable file not found in \$PATH`,
			Title:     "executable not found in the container",
			Cause:     "The program to run is not in the container's file system, or not on its PATH.",
			Remedy:    "Check the program's name and that the image contains it (docker run --rm --entrypoint ls <image> /bin /usr/bin); minimal images often have no shell: run the program directly.",
			Reference: refDocker,
			Severity:  diag.Critical,
			Refine: func(e *diag.Explanation) bool {
				x := e.Fields["executable"]
				if e.Fields["phase"] == "exec" {
					e.Cause = "docker exec asked for " + x + ", which the container does not have on its PATH (minimal images often have no shell)."
					e.Remedy = "Run a program the image has (docker exec <container> ls /bin /usr/bin shows some), or give its full path."
				} else {
					e.Cause = "The container's command " + x + " is not in the image or not on its PATH, so the container cannot start."
					e.Remedy = "Fix the entrypoint or command (docker inspect --format '{{.Config.Entrypoint}} {{.Config.Cmd}}' <image>), or add " + x + " to the image."
				}
				return true
			},
		},
		{
			ID:        "docker.name_conflict",
			Pattern:   `Conflict\. The container name "(?P<name>[^"\n]+)" is already in use by container "(?P<container>[0-9a-f]+)"`,
			Title:     "container name already in use",
			Cause:     "A container of that name exists already (running or stopped); names are unique on an engine.",
			Remedy:    "Remove (docker rm) or rename (docker rename) the old container, or choose another name.",
			Reference: refDocker,
			Severity:  diag.Critical,
			Refine: func(e *diag.Explanation) bool {
				name := strings.TrimPrefix(e.Fields["name"], "/")
				id := e.Fields["container"]
				short := id[:min(12, len(id))]
				e.Cause = "Container " + short + " already has the name " + name + " (running or stopped); names are unique on an engine."
				e.Remedy = "Remove it (docker rm " + short + ") or rename it (docker rename " + short + " <new name>), or choose another name."
				return true
			},
		},
		{
			ID:        "docker.daemon_unreachable",
			Pattern:   `Cannot connect to the Docker daemon(?: at (?P<host>\S+?))?\. Is the docker daemon running(?: on this host)?\?`,
			Title:     "Docker daemon not reachable",
			Cause:     "Nothing answers on the engine's socket: the daemon is not running, or the client talks to another socket than the daemon's (DOCKER_HOST, the docker context).",
			Remedy:    "Start the daemon (systemctl start docker) and read its log if it does not stay up (journalctl -u docker); check DOCKER_HOST and docker context ls.",
			Reference: refDocker,
			Severity:  diag.Critical,
		},
		{
			ID:        "docker.socket_permission",
			Pattern:   `permission denied while trying to connect to the Docker daemon socket(?: at (?P<host>[a-z]+://[^\s:]+))?`,
			Title:     "no permission on the Docker socket",
			Cause:     "The user may not open the engine's socket, which belongs to root and the docker group.",
			Remedy:    "Run the command with sudo, or add the user to the docker group (sudo usermod -aG docker <user>, then log in again); membership of that group is as good as root on the host.",
			Reference: refDocker,
			Severity:  diag.Critical,
		},
	}
}

// refineRegistry returns a Refine that reads the registry's host from the
// named field (a repository, image reference or host) into the field
// "registry" and names it in the remedy's docker login.
func refineRegistry(field string) func(*diag.Explanation) bool {
	return func(e *diag.Explanation) bool {
		host := registryHost(e.Fields[field])
		if field == "registry" {
			host = canonicalHost(e.Fields["registry"])
		}
		if host == "" {
			return true
		}
		e.Fields["registry"] = host
		login := "docker login " + host
		if host == "docker.io" {
			login = "docker login (Docker Hub, docker.io)"
		}
		e.Remedy = strings.ReplaceAll(e.Remedy, "docker login <registry>", login)
		return true
	}
}

// registryHost returns the registry of an image reference: its first
// component when that looks like a host (has a '.' or a ':', or is
// localhost), else Docker Hub ("docker.io"). Empty for an empty
// reference.
func registryHost(ref string) string {
	if ref == "" {
		return ""
	}
	first, _, ok := strings.Cut(ref, "/")
	if ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		return canonicalHost(first)
	}
	return "docker.io"
}

// canonicalHost names Docker Hub's hosts "docker.io", as docker login
// does.
func canonicalHost(host string) string {
	switch host {
	case "index.docker.io", "registry-1.docker.io":
		return "docker.io"
	}
	return host
}
