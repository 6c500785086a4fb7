package swarm_test

import (
	dcontainer "github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/minato-ops/minato/container/swarm"
)

// dcontainerList lists the containers of minato's service name.
func dcontainerList(name string) dcontainer.ListOptions {
	return dcontainer.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", swarm.LabelApp+"="+name))}
}
