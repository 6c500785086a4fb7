// Package script makes a service that is started, stopped and checked by
// commands into an [ha.Resource]: CLUSTERPRO's exec resource (start and
// stop scripts) together with the custom monitor that checks it.
//
// A [Resource] runs the commands of its [Config] directly, never through a
// shell unless the argv asks for one (["/bin/sh", "-c", "..."]):
//
//   - Activate runs the start command; exit status 0 is success.
//   - Deactivate runs the stop command; exit status 0 is success.
//   - Check runs the check command and reads its exit status as a
//     Monitoring Plugins (Nagios) check's: 0 OK, 1 Warning, 2 Critical,
//     3 Unknown, anything else Critical. Unknown, a timeout or a command
//     that cannot be run is an error: the state could not be learned, so
//     the member's [ha.RecoveryPolicy].OnUnreachable applies rather than
//     a recovery. Existing Monitoring Plugins can serve as check commands.
//
// Each command gets the environment the program was started with, plus
// Config.Env and Command.Env, plus MINATO_HA_ACTION (start, stop or
// check), MINATO_HA_NODE, MINATO_HA_EPOCH (the holder's fencing epoch,
// when the call carries one), MINATO_HA_GROUP and MINATO_HA_RESOURCE.
// Its standard output and error are captured together, bounded
// (Config.MaxOutputBytes), for the messages: a failure's detail ends with
// the last line written, a check's message is its first line.
//
// A command that outlives its timeout, or its ctx's deadline, is sent
// SIGTERM and, Config.KillGrace later, SIGKILL, both to its whole process
// group, so that a shell's children do not outlive it. A command that
// exits normally is left alone, with whatever it started in the
// background (a start script may start a daemon); such a daemon should
// redirect its output, else the call waits half a second more for it.
//
// # Codes
//
// Failures are *[ha.ResourceError]s, read as CLUSTERPRO's messages
// ("Activating db resource has failed.(5 : start command exited with
// status 1: port 5432 in use)"):
//
//	5  ha.CodeFailed  exited with a non-zero status or ended by a signal;
//	                  Check: reported Critical (in monitor.Result.Code) or Unknown
//	6  ha.CodeTimeout outlived its timeout or ctx's deadline and was ended
//	7  CodeNotRun     could not be run (program not found or not executable,
//	                  working directory missing)
//	8  CodeInactive   Check without a check command: not activated
//
// The Err of a failure of a command that ran is an [*ExitError] with its
// exit status and captured output.
package script
