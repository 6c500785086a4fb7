package hinemos_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/inventory/hinemos"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The scripts' execution examples, reproduced: scopes web1 and web2 exist,
// web3 does not; containers A (label web1), B (web1,web2), C (web1, web3).

// original reads a log of testdata (see testdata/README.md) and applies
// the corrections listed, each an old/new pair that must occur.
func original(t *testing.T, file string, fixes ...string) string {
	t.Helper()
	b, err := os.ReadFile("testdata/" + file)
	require.NoError(t, err)
	s := string(b)
	for i := 0; i < len(fixes); i += 2 {
		require.Contains(t, s, fixes[i], "correction %d of %s", i/2, file)
		s = strings.Replace(s, fixes[i], fixes[i+1], 1)
	}
	return normalize(s)
}

// The engine's list order (newest first), as the scripts print it.
func firstRunItems() []inventory.Item {
	return []inventory.Item{
		item("16c155fe269b", "conteiner_C", "running", "Up 4 minutes", "web1, web3"),
		item("f4bb5ade7641", "conteiner_B", "running", "Up 4 minutes", "web1,web2"),
		item("f0184f3feddc", "conteiner_A", "running", "Up 4 minutes", "web1"),
	}
}

func TestScriptsAddLogJapanese(t *testing.T) {
	repo := repoWith(t, "web1", "web2")
	var log strings.Builder
	s := newSyncer(t, manager{repo}, hinemos.LangJapanese, &log)
	rep, err := s.Add(context.Background(), firstRunItems())
	require.NoError(t, err)

	want := original(t, "add.ja.log",
		// OCR: the underscore of conteiner_B was read as a space.
		"Name:conteiner B", "Name:conteiner_B",
		// The extraction lost conteiner_A's label line and repeated its
		// assignment line; its label is web1 alone. The log's end
		// ("完了しました。", printed by the Update run's log) is cut off.
		"docker_host1-conteiner_A を割当てます。\ndocker_host1-conteiner_A を割当てます。\ndocker_host1-conteiner_A を割当てます。\n",
		"docker_host1-conteiner_A をラベル設定からスコープへ割当てます。対象スコープ: [u'web1']\ndocker_host1-conteiner_A を割当てます。\n完了しました。\n",
	)
	assert.Equal(t, want, normalize(log.String()))

	assert.Equal(t, []string{"docker_container", "docker_host", "docker_map", "docker_host1_scope"}, rep.ScopesCreated)
	assert.Equal(t, []string{host, "docker_host1-conteiner_C", "docker_host1-conteiner_B", "docker_host1-conteiner_A"}, rep.Created)
	assert.Equal(t, []hinemos.Assignment{{Scope: "web3", Node: "docker_host1-conteiner_C"}}, rep.MissingScopes)
	assert.Len(t, rep.Assigned, 1+3+3+4)

	_, err = repo.Scope(context.Background(), "web3")
	require.ErrorIs(t, err, inventory.ErrNotFound, "a label scope is never created")
	assert.Equal(t, []string{"docker_host1-conteiner_A", "docker_host1-conteiner_B", "docker_host1-conteiner_C"}, membersOf(t, repo, "web1"))
	assert.Equal(t, []string{"docker_host1-conteiner_B"}, membersOf(t, repo, "web2"))
	assert.Equal(t, []string{host}, membersOf(t, repo, hinemos.ScopeHost))
	sc, err := repo.Scope(context.Background(), "docker_host1_scope")
	require.NoError(t, err)
	assert.Equal(t, hinemos.ScopeMap, sc.Parent)

	// The node properties of the scripts' table.
	assert.Equal(t, inventory.Node{
		FacilityID: host, FacilityName: host, Description: "Docker host", Managed: true,
		Platform: "LINUX", IPVersion: 4, IPv4: addr, HostName: host, NodeName: host,
	}, node(t, repo, host))
	assert.Equal(t, inventory.Node{
		FacilityID: "docker_host1-conteiner_C", FacilityName: "conteiner_C", Description: "Docker container on docker_host1",
		Managed: true, Platform: "LINUX", IPVersion: 4, IPv4: addr, HostName: "16c155fe269b", NodeName: "16c155fe269b",
		Variables: map[string]string{
			"DOCKER_CONTAINER_ID": "16c155fe269b", "DOCKER_COMMAND": "httpd -D FOREGROUND", "DOCKER_IMAGE": "httpd:2.4",
			"DOCKER_STATUS": "running", "DOCKER_HOST": host,
		},
	}, node(t, repo, "docker_host1-conteiner_C"))
}

// The Delete and Update examples come from a later session: conteiner_D
// (exited) was removed, then conteiner_C exited.
func secondSession(statusC string) []inventory.Item {
	stateC := "running"
	if strings.HasPrefix(statusC, "Exited") {
		stateC = "exited"
	}
	return []inventory.Item{
		item("0e0d8cdf3a57", "conteiner_C", stateC, statusC, "web1, web3"),
		item("1eae26f41927", "conteiner_B", "running", "Up 35 minutes", "web1,web2"),
		item("b66e046560f3", "conteiner_A", "running", "Up 35 minutes", "web1"),
	}
}

func TestScriptsDeleteAndUpdateLogJapanese(t *testing.T) {
	ctx := context.Background()
	repo := repoWith(t, "web1", "web2")
	var log strings.Builder
	s := newSyncer(t, manager{repo}, hinemos.LangJapanese, &log)
	before := append(secondSession("Up 34 minutes"), item("90b56eb899e7", "conteiner_D", "exited", "Exited (0) 2 minutes ago", ""))
	_, err := s.Add(ctx, before)
	require.NoError(t, err)

	log.Reset()
	rep, err := s.Delete(ctx, secondSession("Up 35 minutes"))
	require.NoError(t, err)
	want := original(t, "delete.ja.log",
		// The scripts list the nodes in the repository's order; minato
		// sorts them by facility ID. The log's end is cut off.
		"docker_host1-conteiner_C 存在します。[skip] docker_host1-conteiner_D 削除します。 docker_host1-conteiner_A 存在します。[skip] docker_host1-conteiner_B 存在します。[skip]",
		"docker_host1-conteiner_A 存在します。[skip] docker_host1-conteiner_B 存在します。[skip] docker_host1-conteiner_C 存在します。[skip] docker_host1-conteiner_D 削除します。 完了しました。",
	)
	assert.Equal(t, want, normalize(log.String()))
	assert.Equal(t, []string{"docker_host1-conteiner_D"}, rep.Deleted)
	assert.Equal(t, []string{"docker_host1-conteiner_A", "docker_host1-conteiner_B", "docker_host1-conteiner_C"}, rep.Skipped)
	_, err = repo.Node(ctx, "docker_host1-conteiner_D")
	require.ErrorIs(t, err, inventory.ErrNotFound)
	assert.NotContains(t, membersOf(t, repo, hinemos.ScopeContainer), "docker_host1-conteiner_D")

	log.Reset()
	rep, err = s.Update(ctx, secondSession("Exited (0) 16 seconds ago"))
	require.NoError(t, err)
	want = original(t, "update.ja.log",
		// The extraction turned the arrow into TeX and cut the label list.
		`running \rightarrow exited`, "running -> exited",
		"hinemosAssignScopeId: [u'web1',\n", "hinemosAssignScopeId: [u'web1', u'web3']\n",
	)
	assert.Equal(t, want, normalize(log.String()))
	assert.Equal(t, []string{"docker_host1-conteiner_C"}, rep.Updated)
	assert.Equal(t, []string{"docker_host1-conteiner_B", "docker_host1-conteiner_A"}, rep.Skipped)
	assert.Empty(t, rep.Assigned)
	c := node(t, repo, "docker_host1-conteiner_C")
	assert.False(t, c.Managed)
	assert.Equal(t, "exited", c.Variables[hinemos.VarStatus])
	assert.True(t, node(t, repo, "docker_host1-conteiner_B").Managed)
}

// The same first run in English, line for line.
func TestAddLogEnglish(t *testing.T) {
	repo := repoWith(t, "web1", "web2")
	var log strings.Builder
	s := newSyncer(t, manager{repo}, "", &log)
	_, err := s.Add(context.Background(), firstRunItems())
	require.NoError(t, err)
	assert.Equal(t, `Started.
Logging in to the Hinemos manager.
  endpoint: http://127.0.0.1:8080/HinemosWS/RepositoryEndpoint?wsdl
  username: hinemos
Getting the Docker container information.
  port not bind Id:16c155fe269b Name:conteiner_C Status:'Up 4 minutes':running
  port not bind Id:f4bb5ade7641 Name:conteiner_B Status:'Up 4 minutes':running
  port not bind Id:f0184f3feddc Name:conteiner_A Status:'Up 4 minutes':running
Creating the scopes.
Creating docker_container.
Creating docker_host.
Creating docker_map.
Creating docker_host1_scope.
Creating the Docker host node.
Creating docker_host1.
Assigning the Docker host node to the docker_host scope.
Assigning docker_host1.
Creating the Docker container nodes.
Creating docker_host1-conteiner_C.
Creating docker_host1-conteiner_B.
Creating docker_host1-conteiner_A.
Assigning the Docker container nodes to the docker_container scope.
Assigning docker_host1-conteiner_C.
Assigning docker_host1-conteiner_B.
Assigning docker_host1-conteiner_A.
Assigning the Docker container nodes to the docker_host1_scope scope.
Assigning docker_host1-conteiner_C.
Assigning docker_host1-conteiner_B.
Assigning docker_host1-conteiner_A.
Assigning docker_host1-conteiner_C to scopes from its label. Target scopes: [web1, web3]
Assigning docker_host1-conteiner_C.
[skip] Scope web3 does not exist; skipping the assignment.
Assigning docker_host1-conteiner_B to scopes from its label. Target scopes: [web1, web2]
Assigning docker_host1-conteiner_B.
Assigning docker_host1-conteiner_B.
Assigning docker_host1-conteiner_A to scopes from its label. Target scopes: [web1]
Assigning docker_host1-conteiner_A.
Completed.
`, log.String())
}
