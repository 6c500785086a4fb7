// Package container is minato's door to the Docker Engine for containers:
// listing and selecting them, inspecting, the lifecycle operations, exec,
// copying files out, resource samples and the event stream. Together with
// package image it is the only package that imports the Docker client, so
// the rest of minato depends on this package's small types instead.
//
// A [Client] talks to one engine. [Config] says where: the local unix
// socket by default, DOCKER_HOST and the docker CLI's TLS variables through
// [ConfigFromEnv], or the Hinemos Docker scripts' -i ADDRESS -p PORT
// through [TCPHost]. The API version is negotiated on the first call
// unless pinned.
//
// Every operation has the shape Method(ctx, id, XxxOptions) (XxxResult,
// error). Errors keep the class the engine gave them ([IsNotFound],
// [IsConflict]); an engine that cannot be reached gives an error matching
// [ErrUnreachable].
//
// [State] is the container lifecycle state; [ParseStatus] converts the
// human Status text as the Hinemos Docker scripts' conv_docker_status does.
//
// # Usage
//
//	c, err := container.New(container.ConfigFromEnv(nil))
//	if err != nil {
//		return err
//	}
//	defer c.Close()
//	web, err := c.Select(ctx, inventory.Selector{Names: []string{"web*"}})
//	if err != nil {
//		return err
//	}
//	for _, s := range web {
//		res, err := c.Exec(ctx, s.ID, container.ExecOptions{
//			Cmd: []string{"nginx", "-t"}, Stdout: os.Stdout, Stderr: os.Stderr,
//			Timeout: 30 * time.Second, // really ends the process, see Exec
//		})
//		...
//	}
//
// # Least privilege
//
// Access to the engine's socket is root-equivalent on the engine's host.
// minato needs only the calls listed in this package; when an authorization
// plugin or a socket proxy sits in front of the engine, allow GET
// /containers/json, /containers/{id}/json, /top, /stats, /archive, /events,
// /_ping, /version, /info, /system/df, /containers/{id}/logs, /images/json,
// /networks and /volumes (the inventory) and POST
// /containers/create, /start, /stop, /restart, /kill, /wait, /attach, /exec,
// /exec/{id}/start, DELETE /containers/{id} for the operations you use. Ending an exec after
// its deadline on a local engine also needs the right to signal the
// engine's processes (see [Client.Exec]).
package container
