package cli

import (
	"context"
	"fmt"

	"github.com/minato-ops/minato/container"
)

func runPS(ctx context.Context, args []string, env Env) error {
	fs := newFlagSet("minato ps", "minato ps [-c ID[*] | -n NAME[*]] [--state STATE] [options]",
		"List containers as \"<id12> <name> <state> <image>\", one per line, sorted by ID.\n"+
			"Without -c/-n every container is listed, whatever its state.")
	var ef engineFlags
	ef.register(fs)
	var states listFlag
	fs.Var(&states, "state", "keep only containers in `STATE` (created, running, paused, restarting, removing, exited, dead; repeatable)")
	pos, err := parse(fs, args, env.Stdout)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("minato ps takes no arguments, got %q", pos[0])
	}
	for _, s := range states {
		if _, err := container.ParseState(s); err != nil {
			return usagef("--state %q: want one of created, running, paused, restarting, removing, exited, dead", s)
		}
	}
	sel := ef.selector()
	sel.States = states
	if err := sel.Validate(); err != nil {
		return err
	}
	cfg, err := ef.config(fs, env.Getenv)
	if err != nil {
		return err
	}
	c, err := container.New(cfg)
	if err != nil {
		return err
	}
	defer c.Close()
	list, err := c.Select(ctx, sel)
	if err != nil {
		return err
	}
	if len(list) == 0 {
		// Say so on stderr: stdout stays empty for scripts.
		if sel.Empty() {
			fmt.Fprintf(env.Stderr, "minato: no containers on %s\n", c.Host())
		} else {
			fmt.Fprintf(env.Stderr, "minato: no container matches %s on %s\n", sel, c.Host())
		}
	}
	for _, s := range list {
		fmt.Fprintf(env.Stdout, "%s %s %s %s\n", s.Target("").ShortID(), s.Name, s.State, s.Image)
	}
	return nil
}
