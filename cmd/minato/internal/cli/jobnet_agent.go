package cli

import (
	"cmp"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/minato-ops/minato/cmd/minato/internal/agent"
	"github.com/minato-ops/minato/job"
	"github.com/minato-ops/minato/job/jobapi"
	"github.com/minato-ops/minato/job/jobfile"
	"github.com/minato-ops/minato/job/scheduler"
)

// DefaultAgentURL is the agent the jobnet commands talk to when neither
// --agent nor MINATO_AGENT says otherwise: the agent's default listen
// address.
const DefaultAgentURL = "http://" + agent.DefaultListen

// agentPollInterval is how often --wait asks for the run's state.
var agentPollInterval = 500 * time.Millisecond

// agentFlags say which agent to talk to, with which token and TLS
// settings.
type agentFlags struct {
	url, tokenFile, caFile, certFile, keyFile string
}

func (f *agentFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.url, "agent", "", "`URL` of the agent (default $MINATO_AGENT, else "+DefaultAgentURL+")")
	fs.StringVar(&f.tokenFile, "token-file", "", "`FILE` holding the agent's API token (default: $MINATO_AGENT_TOKEN)")
	fs.StringVar(&f.caFile, "ca-file", "", "`FILE` of PEM CA certificates that sign an https agent's certificate (default: $MINATO_AGENT_CA_FILE, else the system's)")
	fs.StringVar(&f.certFile, "cert-file", "", "client certificate `FILE` (PEM) for an agent that requires one (mutual TLS)")
	fs.StringVar(&f.keyFile, "key-file", "", "the client certificate's key `FILE` (PEM)")
}

// client returns the job API client the flags and environment describe.
func (f *agentFlags) client(env Env) (*jobapi.Client, error) {
	raw := cmp.Or(f.url, env.Getenv("MINATO_AGENT"), DefaultAgentURL)
	opts := []jobapi.ClientOption{jobapi.WithClientToken(env.Getenv("MINATO_AGENT_TOKEN"))}
	if f.tokenFile != "" {
		b, err := os.ReadFile(f.tokenFile)
		if err != nil {
			return nil, fmt.Errorf("--token-file: %w", err)
		}
		opts = append(opts, jobapi.WithClientToken(strings.TrimSpace(string(b))))
	}
	if (f.certFile == "") != (f.keyFile == "") {
		return nil, usagef("--cert-file and --key-file go together")
	}
	if ca := cmp.Or(f.caFile, env.Getenv("MINATO_AGENT_CA_FILE")); ca != "" || f.certFile != "" {
		tc := &tls.Config{MinVersion: tls.VersionTLS12}
		if ca != "" {
			pem, err := os.ReadFile(ca)
			if err != nil {
				return nil, fmt.Errorf("--ca-file: %w", err)
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("--ca-file %s: no PEM certificate in it", ca)
			}
		}
		if f.certFile != "" {
			kp, err := tls.LoadX509KeyPair(f.certFile, f.keyFile)
			if err != nil {
				return nil, fmt.Errorf("--cert-file/--key-file: %w", err)
			}
			tc.Certificates = []tls.Certificate{kp}
		}
		opts = append(opts, jobapi.WithHTTPClient(&http.Client{Timeout: jobapi.DefaultClientTimeout, Transport: &http.Transport{TLSClientConfig: tc, Proxy: http.ProxyFromEnvironment}}))
	}
	c, err := jobapi.NewClient(raw, opts...)
	if err != nil {
		return nil, usagef("--agent %q: want the agent's URL, such as %s", raw, DefaultAgentURL)
	}
	return c, nil
}

// explainAgent adds what to do to the job API's errors.
func explainAgent(err error) error {
	var ue *jobapi.UnreachableError
	switch {
	case errors.As(err, &ue):
		return fmt.Errorf("agent at %s unreachable: %v (is `minato agent` running? set --agent or MINATO_AGENT)", ue.URL, ue.Err)
	case errors.Is(err, jobapi.ErrUnauthorized):
		return fmt.Errorf("%w\n  give the agent's token with MINATO_AGENT_TOKEN or --token-file", err)
	}
	return err
}

// agentCommand parses a command's flags and positional arguments and
// returns the agent client.
func agentCommand(fs *flag.FlagSet, args []string, env Env, npos func(int) bool, want string) ([]string, *jobapi.Client, error) {
	var af agentFlags
	af.register(fs)
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return nil, nil, err
	}
	if !npos(len(pos)) {
		return nil, nil, usagef("%s takes %s, got %d arguments", fs.Name(), want, len(pos))
	}
	c, err := af.client(env)
	return pos, c, err
}

func exactly(n int) func(int) bool { return func(k int) bool { return k == n } }

// printJSON prints v as indented JSON (the form of `jobnet run --json`)
// and returns code, or the exit code of the failure to print.
func printJSON(env Env, v any, code int) int {
	enc := json.NewEncoder(env.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return report(env, err)
	}
	return code
}

const agentAbout = "\n\nThe agent is --agent URL, else $MINATO_AGENT, else " + DefaultAgentURL + ". Requests\n" +
	"carry the token of --token-file FILE, else $MINATO_AGENT_TOKEN, when the agent\n" +
	"has api.token_file."

func jobnetSubmit(ctx context.Context, args []string, env Env) int {
	fs := newFlagSet("minato jobnet submit", "minato jobnet submit FILE|NAME [options]",
		"Run a job network on the agent now, and print the run's ID. FILE is a job file,\n"+
			"checked here first and sent whole: the run uses it as submitted (a network of\n"+
			"that name that the agent does not have is added, with no schedule). NAME (not an\n"+
			"existing file) runs a network of the agent's configuration. With --wait, follow\n"+
			"the run and print one line per unit as it ends, then exit as \"jobnet run\"\n"+
			"does: 0 when every unit that ran succeeded, 9 when one failed."+agentAbout)
	var hold listFlag
	var id string
	var wait, asJSON bool
	fs.Var(&hold, "hold", "hold `UNIT` from the start, until \"jobnet release\" (repeatable)")
	fs.StringVar(&id, "id", "", "the run's `ID`: submitting an ID that exists returns that run rather than starting another")
	fs.BoolVar(&wait, "wait", false, "wait for the run to end; exit 0 or 9 as \"jobnet run\" does")
	fs.BoolVar(&asJSON, "json", false, "print the run record as JSON (with --wait: the final report, as \"jobnet run --json\")")
	pos, c, err := agentCommand(fs, args, env, exactly(1), "one FILE or NAME")
	if err != nil {
		return report(env, err)
	}
	req := jobapi.SubmitRequest{Hold: hold, ID: id}
	arg := pos[0]
	switch st, err := os.Stat(arg); {
	case err == nil && !st.IsDir():
		b, err := os.ReadFile(arg)
		if err != nil {
			return report(env, err)
		}
		if _, err := jobfile.Parse(b); err != nil {
			printDefErrors(env, arg, err)
			return 1
		}
		req.Definition = string(b)
	case err == nil:
		return report(env, usagef("%s is a directory: give a job file or a network name", arg))
	case strings.ContainsAny(arg, `/\`) || strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml") || strings.HasSuffix(arg, ".json"):
		return report(env, err) // meant as a file
	default:
		req.Network = arg
	}
	rec, created, err := c.Submit(ctx, req)
	if err != nil {
		return report(env, explainAgent(err))
	}
	if !created {
		fmt.Fprintf(env.Stderr, "minato: run %s exists already: returned as it is, not submitted again\n", rec.ID)
	}
	switch {
	case !wait && asJSON:
		return printJSON(env, rec, 0)
	case !asJSON:
		fmt.Fprintln(env.Stdout, rec.ID)
	}
	if !wait {
		return 0
	}
	return waitRun(ctx, c, rec.ID, asJSON, env)
}

// waitRun follows a run until it ends, printing each unit's line as it
// ends (or the final report as JSON), and returns the report's exit code.
// An agent that does not answer for a while (restarting) is waited for.
func waitRun(ctx context.Context, c *jobapi.Client, id string, asJSON bool, env Env) int {
	printed := map[string]bool{}
	line := func(u job.UnitReport) {
		if asJSON || printed[u.Name] {
			return
		}
		printed[u.Name] = true
		fmt.Fprintln(env.Stdout, unitText(u))
	}
	var unreachableSince time.Time
	for {
		rec, err := c.Run(ctx, id)
		var ue *jobapi.UnreachableError
		switch {
		case errors.As(err, &ue):
			if unreachableSince.IsZero() {
				unreachableSince = time.Now()
			}
			if time.Since(unreachableSince) > 30*time.Second {
				return report(env, explainAgent(err))
			}
		case ctx.Err() != nil:
			return report(env, fmt.Errorf("stopped waiting: run %s goes on in the agent (see \"minato jobnet status %s\")", id, id))
		case err != nil:
			return report(env, explainAgent(err))
		default:
			unreachableSince = time.Time{}
			for _, u := range rec.Report.Units {
				if u.State.Finished() {
					line(u)
				}
			}
			if rec.Finished() {
				if asJSON {
					return printJSON(env, rec.Report, rec.Report.ExitCode())
				}
				for _, u := range rec.Report.Units {
					line(u)
				}
				if rec.Message != "" {
					fmt.Fprintf(env.Stderr, "minato: run %s: %s\n", rec.ID, oneLine(rec.Message))
				}
				printFailures(env, rec.Report)
				return rec.Report.ExitCode()
			}
		}
		select {
		case <-ctx.Done():
			return report(env, fmt.Errorf("stopped waiting: run %s goes on in the agent (see \"minato jobnet status %s\")", id, id))
		case <-time.After(agentPollInterval):
		}
	}
}

// agentCmd is one jobnet command run against the agent: its help, its
// arguments, and what it asks the agent.
type agentCmd struct {
	name, synopsis, about string
	npos                  func(int) bool
	want                  string
	// json is the help of --json; "" when the command has none.
	json string
	// flags registers the command's own flags.
	flags func(*flag.FlagSet)
	// do calls the agent and returns what --json prints, and the
	// function that prints the text form.
	do func(ctx context.Context, c *jobapi.Client, pos []string, env Env) (any, func(), error)
}

func (a agentCmd) run(ctx context.Context, args []string, env Env) int {
	fs := newFlagSet("minato jobnet "+a.name, a.synopsis, a.about+agentAbout)
	var asJSON bool
	if a.json != "" {
		fs.BoolVar(&asJSON, "json", false, a.json)
	}
	if a.flags != nil {
		a.flags(fs)
	}
	pos, c, err := agentCommand(fs, args, env, a.npos, a.want)
	if err != nil {
		return report(env, err)
	}
	v, text, err := a.do(ctx, c, pos, env)
	if err != nil {
		return report(env, explainAgent(err))
	}
	if asJSON {
		return printJSON(env, v, 0)
	}
	text()
	return 0
}

func jobnetStatus(ctx context.Context, args []string, env Env) int {
	return agentCmd{name: "status", synopsis: "minato jobnet status RUNID [options]",
		about: "Print a run's state: a line \"run <id> <state>\", then one line per unit\n" +
			"\"<unit> <state> exit=<code> attempts=<n> <duration>\" as \"jobnet run\" prints\n" +
			"them (a running unit's duration is how long it has run). Unit messages (the\n" +
			"failure, why it was skipped) go to stderr.",
		npos: exactly(1), want: "one RUNID", json: "print the run's report as JSON, exactly as \"jobnet run --json\" does",
		do: func(ctx context.Context, c *jobapi.Client, pos []string, env Env) (any, func(), error) {
			rec, err := c.Run(ctx, pos[0])
			return rec.Report, func() {
				fmt.Fprintf(env.Stdout, "run %s %s\n", rec.ID, rec.Report.State)
				for _, u := range rec.Report.Units {
					fmt.Fprintln(env.Stdout, unitText(u))
				}
				if rec.Message != "" {
					fmt.Fprintf(env.Stderr, "minato: run %s: %s\n", rec.ID, oneLine(rec.Message))
				}
				for _, u := range rec.Report.Units {
					if u.Message != "" {
						fmt.Fprintf(env.Stderr, "minato: %s: %s\n", u.Name, oneLine(u.Message))
					}
				}
			}, err
		}}.run(ctx, args, env)
}

func jobnetHistory(ctx context.Context, args []string, env Env) int {
	var limit int
	return agentCmd{name: "history", synopsis: "minato jobnet history [NAME] [options]",
		about: "List the agent's runs, newest first, one line per run:\n" +
			"\"<id> <state> <trigger> <created> <duration>\" (created in RFC 3339; the\n" +
			"duration from creation to the end, \"-\" while the run has not ended). NAME\n" +
			"keeps one network's runs.",
		npos: func(n int) bool { return n <= 1 }, want: "at most one NAME",
		json:  "print the run records as a JSON list (without unit output)",
		flags: func(fs *flag.FlagSet) { fs.IntVar(&limit, "limit", 20, "show the newest `N` runs; 0 shows every run") },
		do: func(ctx context.Context, c *jobapi.Client, pos []string, env Env) (any, func(), error) {
			if limit < 0 {
				return nil, nil, usagef("--limit %d: want 0 (every run) or more", limit)
			}
			f := scheduler.RunFilter{Limit: limit}
			if len(pos) == 1 {
				f.Network = pos[0]
			}
			recs, err := c.Runs(ctx, f)
			return recs, func() {
				for _, r := range recs {
					d := "-"
					if !r.Ended.IsZero() {
						d = r.Ended.Sub(r.Created).Round(time.Millisecond).String()
					}
					fmt.Fprintf(env.Stdout, "%s %s %s %s %s\n", r.ID, r.Report.State, r.Trigger, r.Created.Format(time.RFC3339), d)
				}
			}, err
		}}.run(ctx, args, env)
}

var controlAbout = map[string]string{
	"hold":    "Hold a pending unit of a run: it does not start, nor do the units that need\nit, until released. A run waiting to start gets the unit held when it starts.",
	"release": "Release a held unit: it starts once its needs finished.",
	"skip":    "Skip a pending or held unit: it ends as succeeded, with the message\n\"skipped by an operator\", and the units that need it proceed.",
	"stop":    "Force-stop a running unit: its container is stopped (stop signal, then the\ngrace) and the unit fails with \"force-stopped by an operator\"; its failure\nbranches run, and a rerun runs it again. Prints \"stopping\" while the stop is\nunder way.",
}

func jobnetControl(ctx context.Context, action string, args []string, env Env) int {
	return agentCmd{name: action, synopsis: "minato jobnet " + action + " RUNID UNIT [options]",
		about: controlAbout[action] + " Prints \"<run> <unit> <new state>\".", npos: exactly(2), want: "RUNID and UNIT",
		do: func(ctx context.Context, c *jobapi.Client, pos []string, env Env) (any, func(), error) {
			rec, err := c.Control(ctx, pos[0], pos[1], action)
			return rec, func() {
				state := "unknown"
				if u, ok := rec.Report.Unit(pos[1]); ok {
					state = string(u.State)
					if action == "stop" && u.State == job.Running {
						state = "stopping"
					}
				}
				fmt.Fprintf(env.Stdout, "%s %s %s\n", rec.ID, pos[1], state)
			}, err
		}}.run(ctx, args, env)
}

func jobnetCancel(ctx context.Context, args []string, env Env) int {
	return agentCmd{name: "cancel", synopsis: "minato jobnet cancel RUNID [options]",
		about: "End a run that has not finished, as JobCenter's force-stop of a network: its\n" +
			"running units are stopped (stop signal, then the grace) and the units that had\n" +
			"not started are cancelled; the run ends cancelled. A run waiting to start ends\n" +
			"at once. Prints \"<run> <state>\" (\"cancelling\" while units stop).",
		npos: exactly(1), want: "one RUNID",
		do: func(ctx context.Context, c *jobapi.Client, pos []string, env Env) (any, func(), error) {
			rec, err := c.Cancel(ctx, pos[0])
			return rec, func() {
				state := string(rec.Report.State)
				if !rec.Finished() {
					state = "cancelling"
				}
				fmt.Fprintf(env.Stdout, "%s %s\n", rec.ID, state)
			}, err
		}}.run(ctx, args, env)
}

func jobnetRerun(ctx context.Context, args []string, env Env) int {
	return agentCmd{name: "rerun", synopsis: "minato jobnet rerun RUNID [options]",
		about: "Rerun a finished run that did not succeed, as a new run (\"<run>.rerun<n>\"),\n" +
			"and print its ID: the units that succeeded keep their result, the others run\n" +
			"again as their needs and conditions say.",
		npos: exactly(1), want: "one RUNID", json: "print the new run's record as JSON",
		do: func(ctx context.Context, c *jobapi.Client, pos []string, env Env) (any, func(), error) {
			rec, err := c.Rerun(ctx, pos[0])
			return rec, func() { fmt.Fprintln(env.Stdout, rec.ID) }, err
		}}.run(ctx, args, env)
}

func jobnetQueue(ctx context.Context, args []string, env Env) int {
	return agentCmd{name: "queue", synopsis: "minato jobnet queue list | stop NAME | start NAME [options]",
		about: "List the agent's queues (name, concurrency limit, units running, stopped), or\n" +
			"stop or start one. A stopped queue starts no unit until started; running units\n" +
			"go on. The stop is recorded and survives a restart of the agent.",
		npos: func(n int) bool { return n == 1 || n == 2 }, want: "list, stop NAME or start NAME",
		json: "print the queues (or the changed queue) as JSON",
		do: func(ctx context.Context, c *jobapi.Client, pos []string, env Env) (any, func(), error) {
			switch {
			case pos[0] == "list" && len(pos) == 1:
				qs, err := c.Queues(ctx)
				return qs, func() {
					tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
					fmt.Fprintln(tw, "QUEUE\tCONCURRENCY\tRUNNING\tSTATE")
					for _, q := range qs {
						limit := strconv.Itoa(q.Concurrency)
						if q.Concurrency == 0 {
							limit = "unlimited"
						}
						fmt.Fprintf(tw, "%s\t%s\t%d\t%s\n", q.Name, limit, q.Running, queueState(q))
					}
					_ = tw.Flush()
				}, err
			case (pos[0] == "stop" || pos[0] == "start") && len(pos) == 2:
				q, err := c.QueueControl(ctx, pos[1], pos[0])
				return q, func() { fmt.Fprintf(env.Stdout, "%s %s\n", q.Name, queueState(q)) }, err
			}
			return nil, nil, usagef("minato jobnet queue takes list, stop NAME or start NAME, got %q", strings.Join(pos, " "))
		}}.run(ctx, args, env)
}

func queueState(q scheduler.QueueStatus) string {
	if q.Stopped {
		return "stopped"
	}
	return "started"
}

func jobnetList(ctx context.Context, args []string, env Env) int {
	return agentCmd{name: "list", synopsis: "minato jobnet list [options]",
		about: "List the networks the agent runs: configured ones and those added by a\n" +
			"submission, with their queue, overlap policy, schedule, next due time and\n" +
			"the runs that have not finished.",
		npos: exactly(0), want: "no arguments", json: "print the networks as JSON",
		do: func(ctx context.Context, c *jobapi.Client, _ []string, env Env) (any, func(), error) {
			nets, err := c.Networks(ctx)
			return nets, func() {
				tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(tw, "NETWORK\tQUEUE\tOVERLAP\tSCHEDULE\tNEXT\tRUNNING")
				for _, n := range nets {
					sched, next, running := "-", "-", "-"
					if n.Schedule != "" {
						sched = n.Schedule
					}
					if !n.Next.IsZero() {
						next = n.Next.Format(time.RFC3339)
					}
					if len(n.Running) > 0 {
						running = strings.Join(n.Running, ",")
					}
					fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", n.Name, n.Queue, n.Overlap, sched, next, running)
				}
				_ = tw.Flush()
			}, err
		}}.run(ctx, args, env)
}
