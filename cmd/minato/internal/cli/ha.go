package cli

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/minato-ops/minato/ha"
	"github.com/minato-ops/minato/ha/cluster"
	"github.com/minato-ops/minato/job/jobapi"
)

const haUsage = `Usage: minato ha COMMAND [options]

A running agent's failover cluster (its ha: section), as CLUSTERPRO's
clpstat and clpgrp show and move it: which node holds each group, at which
epoch, the nodes' heartbeats, and the latest events.

Commands:
  status               the cluster, the groups and the latest events
  move GROUP NODE      move a group to NODE (deactivated by its holder, then
                       activated on NODE at a new epoch)
  suspend GROUP        pause the group's monitors and recovery on this agent
  resume GROUP         resume them
  iam-policy           the least-privilege IAM policy for the ha: section's AWS parts
  check                check the ha: section's AWS parts against the account

Run "minato ha COMMAND -h" for the options.
`

func runHA(ctx context.Context, args []string, env Env) int {
	if code, done := groupHelp(args, env, haUsage); done {
		return code
	}
	switch args[0] {
	case "iam-policy":
		return runHAIAMPolicy(ctx, args[1:], env)
	case "check":
		return runHACheck(ctx, args[1:], env)
	case "status":
		return haCmd{name: "status", synopsis: "minato ha status [options]",
			about: "Show the cluster as this agent sees it: nodes (state, heartbeat round trip per\nnetwork), groups (holder, epoch, state here, members), the latest events.",
			npos:  exactly(0), want: "no arguments",
			do: func(ctx context.Context, c *jobapi.Client, _ []string, env Env) (any, func(), error) {
				var rep haReport
				if err := c.Call(ctx, http.MethodGet, "/ha", nil, &rep); err != nil {
					return nil, nil, err
				}
				return rep, func() { printHA(env, rep) }, nil
			}}.run(ctx, args[1:], env)
	case "move":
		return haCmd{name: "move", synopsis: "minato ha move GROUP NODE [options]",
			about: "Move GROUP to NODE: its holder deactivates it, then NODE activates it at a new\nepoch. Waits until NODE holds it (at most 5 minutes).",
			npos:  exactly(2), want: "GROUP and NODE",
			do: haAction("move")}.run(ctx, args[1:], env)
	case "suspend", "resume":
		what := map[string]string{"suspend": "Pause the monitors and recovery of GROUP on this agent (the resources stay as\nthey are), for maintenance.", "resume": "Resume the monitors and recovery of GROUP on this agent."}[args[0]]
		return haCmd{name: args[0], synopsis: "minato ha " + args[0] + " GROUP [options]", about: what,
			npos: exactly(1), want: "GROUP", do: haAction(args[0])}.run(ctx, args[1:], env)
	}
	return report(env, usagef("unknown ha command %q: want status, move, suspend, resume, iam-policy or check", args[0]))
}

// haReport is the agent's GET /api/v1/ha.
type haReport struct {
	Cluster cluster.Status   `json:"cluster"`
	Groups  []ha.GroupStatus `json:"groups"`
	Events  []struct {
		ha.Event
		Error string `json:"error,omitempty"`
	} `json:"events"`
}

func haAction(action string) func(ctx context.Context, c *jobapi.Client, pos []string, env Env) (any, func(), error) {
	return func(ctx context.Context, c *jobapi.Client, pos []string, env Env) (any, func(), error) {
		body := map[string]string{}
		if action == "move" {
			body["node"] = pos[1]
		}
		var rep haReport
		if err := c.Call(ctx, http.MethodPost, "/ha/groups/"+url.PathEscape(pos[0])+"/"+action, body, &rep); err != nil {
			return nil, nil, err
		}
		return rep, func() {
			for _, g := range rep.Cluster.Groups {
				if g.Name == pos[0] {
					fmt.Fprintf(env.Stdout, "group %s: held by %s at epoch %d (%s)\n", g.Name, orDash(g.Holder), g.Epoch, g.State)
				}
			}
		}, nil
	}
}

// haCmd is an agentCmd under "minato ha".
type haCmd agentCmd

func (h haCmd) run(ctx context.Context, args []string, env Env) int {
	fs := newFlagSet("minato ha "+h.name, h.synopsis, h.about+agentAbout)
	asJSON := fs.Bool("json", false, "print the agent's answer as JSON")
	pos, c, err := agentCommand(fs, args, env, h.npos, h.want)
	if err != nil {
		return report(env, err)
	}
	v, text, err := h.do(ctx, c, pos, env)
	if err != nil {
		return report(env, explainAgent(err))
	}
	if *asJSON {
		return printJSON(env, v, 0)
	}
	text()
	return 0
}

func printHA(env Env, rep haReport) {
	st := rep.Cluster
	fmt.Fprintf(env.Stdout, "cluster %s, this node %s\n\n", st.Cluster, st.Node)
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NODE\tSTATE\tHEARTBEATS")
	for _, n := range st.Nodes {
		var nets []string
		for i, nw := range n.Networks {
			switch {
			case n.Self:
				nets = append(nets, fmt.Sprintf("#%d %s", i, nw.Address))
			case nw.LastHeard.IsZero():
				nets = append(nets, fmt.Sprintf("#%d %s never heard", i, nw.Address))
			default:
				nets = append(nets, fmt.Sprintf("#%d %s rtt %s, heard %s ago", i, nw.Address, nw.RTT.Round(10*time.Microsecond), time.Since(nw.LastHeard).Round(time.Millisecond)))
			}
		}
		name := n.Name
		if n.Self {
			name += " (this)"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\n", name, n.State, strings.Join(nets, "; "))
	}
	tw.Flush()
	fmt.Fprintln(env.Stdout)
	tw = tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "GROUP\tHOLDER\tEPOCH\tSTATE\tHERE\tFAILED ON")
	here := map[string]string{}
	for _, g := range rep.Groups {
		here[g.Group] = string(g.State) // the engine's: suspended, or offline after a final action
	}
	for _, g := range st.Groups {
		h := here[g.Name]
		if h == "" {
			h = string(g.Local)
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\n", g.Name, orDash(g.Holder), g.Epoch, g.State, h, orDash(strings.Join(g.FailedOn, ",")))
	}
	tw.Flush()
	for _, g := range rep.Groups {
		for _, mo := range g.Monitors {
			line := fmt.Sprintf("  %s monitor %s: %s", g.Group, mo.Name, mo.Status)
			if mo.Failures+mo.Restarts+mo.Failovers > 0 {
				line += fmt.Sprintf(" (failures %d, restarts %d, failovers %d)", mo.Failures, mo.Restarts, mo.Failovers)
			}
			if mo.Message != "" {
				line += ": " + mo.Message
			}
			fmt.Fprintln(env.Stdout, line)
		}
		for _, m := range g.Members {
			state := "inactive"
			if m.Active {
				state = "active"
			}
			line := fmt.Sprintf("  %s/%s: %s", g.Group, m.Name, state)
			if m.LastErr != "" {
				line += ": " + m.LastErr
			}
			fmt.Fprintln(env.Stdout, line)
		}
	}
	if len(rep.Events) > 0 {
		fmt.Fprintln(env.Stdout, "\nlatest events:")
		from := max(0, len(rep.Events)-10)
		for _, ev := range rep.Events[from:] {
			fmt.Fprintf(env.Stdout, "  %s %s %s\n", ev.Time.Format(time.RFC3339), ev.Kind, ev.Message)
		}
	}
	c := st.Counters
	fmt.Fprintf(env.Stdout, "\nheartbeats sent %d, received %d, rejected %d; takeovers %d, failovers %d, isolations %d, leases lost %d\n",
		c.HeartbeatsSent, c.HeartbeatsReceived, c.HeartbeatsRejected, c.Takeovers, c.Failovers, c.Isolations, c.LeasesLost)
}
