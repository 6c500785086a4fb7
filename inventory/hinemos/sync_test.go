package hinemos_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/inventory/hinemos"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAddSecondRunSkipsEverything(t *testing.T) {
	ctx := context.Background()
	repo := repoWith(t, "web1", "web2")
	var log strings.Builder
	s := newSyncer(t, repo, "", &log)
	_, err := s.Add(ctx, firstRunItems())
	require.NoError(t, err)
	log.Reset()
	rep, err := s.Add(ctx, firstRunItems())
	require.NoError(t, err)
	assert.Equal(t, hinemos.Report{Skipped: []string{host, "docker_host1-conteiner_C", "docker_host1-conteiner_B", "docker_host1-conteiner_A"}}, rep)
	assert.Equal(t, `Started.
Opening the repository.
  repository: *inventory.MemRepository
Getting the Docker container information.
  port not bind Id:16c155fe269b Name:conteiner_C Status:'Up 4 minutes':running
  port not bind Id:f4bb5ade7641 Name:conteiner_B Status:'Up 4 minutes':running
  port not bind Id:f0184f3feddc Name:conteiner_A Status:'Up 4 minutes':running
Creating the scopes.
docker_container exists. [skip]
docker_host exists. [skip]
docker_map exists. [skip]
docker_host1_scope exists. [skip]
Creating the Docker host node.
docker_host1 exists. [skip]
Assigning the Docker host node to the docker_host scope.
Creating the Docker container nodes.
docker_host1-conteiner_C exists. [skip]
docker_host1-conteiner_B exists. [skip]
docker_host1-conteiner_A exists. [skip]
Assigning the Docker container nodes to the docker_container scope.
Assigning the Docker container nodes to the docker_host1_scope scope.
Completed.
`, log.String())
}

func TestAddExistingHostNodeIsKeptAndAssigned(t *testing.T) {
	ctx := context.Background()
	repo := repoWith(t)
	mine := inventory.Node{FacilityID: host, FacilityName: "my docker host", Platform: "LINUX", IPVersion: 4, IPv4: "10.9.9.9"}
	require.NoError(t, repo.PutNode(ctx, mine))
	s := newSyncer(t, repo, "", &strings.Builder{})
	rep, err := s.Add(ctx, nil)
	require.NoError(t, err)
	assert.Empty(t, rep.Created)
	assert.Equal(t, mine, node(t, repo, host), "an existing host node is not changed")
	assert.Equal(t, []string{host}, membersOf(t, repo, hinemos.ScopeHost))
}

func TestAddPutsOwnNodesBackIntoTheirScopes(t *testing.T) {
	ctx := context.Background()
	repo := repoWith(t, "web1", "web2")
	var log strings.Builder
	s := newSyncer(t, repo, "", &log)
	_, err := s.Add(ctx, firstRunItems())
	require.NoError(t, err)
	require.NoError(t, repo.Unassign(ctx, hinemos.ScopeContainer, "docker_host1-conteiner_B"))
	require.NoError(t, repo.Unassign(ctx, "web1", "docker_host1-conteiner_B"))
	log.Reset()
	rep, err := s.Add(ctx, firstRunItems())
	require.NoError(t, err)
	assert.Equal(t, []hinemos.Assignment{{Scope: hinemos.ScopeContainer, Node: "docker_host1-conteiner_B"}}, rep.Assigned)
	assert.Contains(t, log.String(), "Assigning the Docker container nodes to the docker_container scope.\nAssigning docker_host1-conteiner_B.\n")
	assert.NotContains(t, membersOf(t, repo, "web1"), "docker_host1-conteiner_B", "Add applies labels to the nodes it creates only")
}

func TestLabelsAppliedByAddForNewNodesAndByUpdateForAll(t *testing.T) {
	ctx := context.Background()
	repo := repoWith(t, "web1", "web2")
	var log strings.Builder
	s := newSyncer(t, repo, "", &log)
	_, err := s.Add(ctx, firstRunItems())
	require.NoError(t, err)
	require.NoError(t, repo.PutScope(ctx, inventory.Scope{FacilityID: "web3", FacilityName: "web3"}))

	_, err = s.Add(ctx, firstRunItems())
	require.NoError(t, err)
	assert.Empty(t, membersOf(t, repo, "web3"), "Add skips existing nodes, labels included")

	log.Reset()
	rep, err := s.Update(ctx, firstRunItems())
	require.NoError(t, err)
	assert.Equal(t, []hinemos.Assignment{{Scope: "web3", Node: "docker_host1-conteiner_C"}}, rep.Assigned)
	assert.Empty(t, rep.MissingScopes)
	assert.Contains(t, log.String(), `Checking the label settings of docker_host1-conteiner_C: hinemosAssignScopeId: [web1, web3]
[skip] Already assigned to scope web1.
Assigning docker_host1-conteiner_C.
`)
	assert.Equal(t, []string{"docker_host1-conteiner_C"}, membersOf(t, repo, "web3"))
}

func TestUpdateNeverUnassigns(t *testing.T) {
	ctx := context.Background()
	repo := repoWith(t, "web1", "web2")
	s := newSyncer(t, repo, "", &strings.Builder{})
	b := []inventory.Item{item("f4bb5ade7641", "conteiner_B", "running", "Up 1 minute", "web1,web2")}
	_, err := s.Add(ctx, b)
	require.NoError(t, err)
	b[0].Target.Labels[hinemos.LabelAssignScope] = "web1"
	rep, err := s.Update(ctx, b)
	require.NoError(t, err)
	assert.Empty(t, rep.Assigned)
	assert.Equal(t, []string{"web1", "web2"}, scopesOf(t, repo, "docker_host1-conteiner_B", "web1", "web2"))
}

func TestLabelScopesThatCannotBeAssigned(t *testing.T) {
	ctx := context.Background()
	repo := repoWith(t, "web1")
	require.NoError(t, repo.PutNode(ctx, inventory.Node{FacilityID: "a_node", FacilityName: "a node"}))
	var log strings.Builder
	s := newSyncer(t, repo, hinemos.LangJapanese, &log)
	rep, err := s.Add(ctx, []inventory.Item{item("aaaaaaaaaaaa", "x", "running", "Up 1 second", " web1 ,, a_node,ウェブ, it's ,web1")})
	require.NoError(t, err)
	fid := "docker_host1-x"
	assert.Equal(t, []hinemos.Assignment{{"a_node", fid}, {"ウェブ", fid}, {"it's", fid}}, rep.MissingScopes)
	assert.Contains(t, log.String(), `docker_host1-x をラベル設定からスコープへ割当てます。対象スコープ: [u'web1', u'a_node', u'\u30a6\u30a7\u30d6', u"it's"]
docker_host1-x を割当てます。
[skip] スコープ a_node が存在していないため、割当てをスキップします。
[skip] スコープ "ウェブ" はファシリティ ID として不正なため、割当てをスキップします。
[skip] スコープ "it's" はファシリティ ID として不正なため、割当てをスキップします。
完了しました。
`)
	_, err = repo.Scope(ctx, "a_node")
	require.ErrorIs(t, err, inventory.ErrNotFound)
}

func TestManagedFollowsState(t *testing.T) {
	for _, tc := range []struct {
		state, status string
		managed       bool
		wantState     string
	}{
		{"running", "Up 4 minutes", true, "running"},
		{"restarting", "Restarting (1) 3 seconds ago", false, "restarting"},
		{"exited", "Exited (0) 16 seconds ago", false, "exited"},
		{"paused", "Up 2 minutes (Paused)", false, "paused"},
		{"created", "Created", false, "created"},
		{"dead", "Dead", false, "dead"},
		{"removing", "Removal In Progress", false, "removing"},
		// Sources that leave State empty: derived from the status text
		// as the scripts do.
		{"", "Up 2 minutes (Paused)", false, "paused"},
		{"", "Up 2 minutes", true, "running"},
		{"", "Restarting (1) 3 seconds ago", false, "restarting"},
		{"", "Exited (0) 16 seconds ago", false, "exited"},
		{"", "Created", false, "created"},
		{"", "Dead", false, "dead"},
		{"", "Removal In Progress", false, "removing"},
		{"Running", "Up 2 minutes", true, "running"},
		{"", "", false, "exited"},
		{"", "Something else", false, "unknown"},
	} {
		t.Run(tc.state+"/"+tc.status, func(t *testing.T) {
			repo := repoWith(t)
			s := newSyncer(t, repo, "", &strings.Builder{})
			_, err := s.Add(context.Background(), []inventory.Item{item("aaaaaaaaaaaa", "x", tc.state, tc.status, "")})
			require.NoError(t, err)
			n := node(t, repo, "docker_host1-x")
			assert.Equal(t, tc.managed, n.Managed)
			assert.Equal(t, tc.wantState, n.Variables[hinemos.VarStatus])
		})
	}
}

func TestUpdateStatusTransitions(t *testing.T) {
	ctx := context.Background()
	repo := repoWith(t)
	var log strings.Builder
	s := newSyncer(t, repo, "", &log)
	fid := "docker_host1-x"
	run := func(state, status string) hinemos.Report {
		t.Helper()
		log.Reset()
		rep, err := s.Update(ctx, []inventory.Item{item("aaaaaaaaaaaa", "x", state, status, "")})
		require.NoError(t, err)
		return rep
	}
	_, err := s.Add(ctx, []inventory.Item{item("aaaaaaaaaaaa", "x", "running", "Up 1 second", "")})
	require.NoError(t, err)

	rep := run("exited", "Exited (0) 1 second ago")
	assert.Equal(t, []string{fid}, rep.Updated)
	assert.Contains(t, log.String(), "Updating the Docker container nodes.\n  docker_host1-x\n   running -> exited\nCompleted.\n")
	assert.False(t, node(t, repo, fid).Managed)

	// A managed flag turned on by hand stays while the state does not change.
	n := node(t, repo, fid)
	n.Managed = true
	require.NoError(t, repo.PutNode(ctx, n))
	rep = run("exited", "Exited (0) 1 minute ago")
	assert.Equal(t, []string{fid}, rep.Skipped)
	assert.Contains(t, log.String(), "  docker_host1-x\n   exited -> exited [skip]\n")
	assert.True(t, node(t, repo, fid).Managed)

	rep = run("running", "Up 1 second")
	assert.Equal(t, []string{fid}, rep.Updated)
	assert.True(t, node(t, repo, fid).Managed)
	rep = run("paused", "Up 1 second (Paused)")
	assert.Equal(t, []string{fid}, rep.Updated)
	assert.False(t, node(t, repo, fid).Managed)
	assert.Contains(t, log.String(), "   running -> paused\n")
}

func TestUpdateRefreshesProperties(t *testing.T) {
	ctx := context.Background()
	repo := repoWith(t)
	var log strings.Builder
	s := newSyncer(t, repo, "", &log)
	fid := "docker_host1-web"
	old := item("aaaaaaaaaaaa", "web", "running", "Up 1 hour", "")
	_, err := s.Add(ctx, []inventory.Item{old})
	require.NoError(t, err)
	n := node(t, repo, fid)
	n.Description = "kept"
	n.Variables["MY_VAR"] = "kept"
	require.NoError(t, repo.PutNode(ctx, n))

	// Re-created under the same name: a new ID, image and published port.
	re := item("bbbbbbbbbbbb", "web", "running", "Up 1 second", "")
	re.Attrs[inventory.AttrImage] = "httpd:2.4.66"
	re.Attrs[inventory.AttrPorts] = "0.0.0.0:8080->80/tcp, :::8080->80/tcp, 443/tcp"
	log.Reset()
	rep, err := s.Update(ctx, []inventory.Item{re})
	require.NoError(t, err)
	assert.Equal(t, []string{fid}, rep.Updated)
	assert.Contains(t, log.String(), `  docker_host1-web
   running -> running [skip]
   DOCKER_CONTAINER_ID: aaaaaaaaaaaa -> bbbbbbbbbbbb
   DOCKER_IMAGE: httpd:2.4 -> httpd:2.4.66
   DOCKER_PORTS: (none) -> 0.0.0.0:8080->80/tcp, :::8080->80/tcp
   host name: aaaaaaaaaaaa -> bbbbbbbbbbbb
   node name: aaaaaaaaaaaa -> bbbbbbbbbbbb
Completed.
`)
	n = node(t, repo, fid)
	assert.Equal(t, "bbbbbbbbbbbb", n.HostName)
	assert.Equal(t, "bbbbbbbbbbbb", n.NodeName)
	assert.Equal(t, map[string]string{
		"DOCKER_CONTAINER_ID": "bbbbbbbbbbbb", "DOCKER_COMMAND": "httpd -D FOREGROUND", "DOCKER_IMAGE": "httpd:2.4.66",
		"DOCKER_PORTS": "0.0.0.0:8080->80/tcp, :::8080->80/tcp", "DOCKER_STATUS": "running", "DOCKER_HOST": host, "MY_VAR": "kept",
	}, n.Variables)
	assert.Equal(t, "kept", n.Description)

	// Attributes a source does not know leave their variables alone; a
	// port list without published ports removes DOCKER_PORTS.
	delete(re.Attrs, inventory.AttrImage)
	delete(re.Attrs, inventory.AttrCommand)
	re.Attrs[inventory.AttrPorts] = "80/tcp"
	_, err = s.Update(ctx, []inventory.Item{re})
	require.NoError(t, err)
	n = node(t, repo, fid)
	assert.Equal(t, "httpd:2.4.66", n.Variables[hinemos.VarImage])
	assert.Equal(t, "httpd -D FOREGROUND", n.Variables[hinemos.VarCommand])
	assert.NotContains(t, n.Variables, hinemos.VarPorts)

	// The host's address changed.
	s2, err := hinemos.New(hinemos.Config{HostFacilityID: host, HostAddress: "10.0.0.7"}, repo)
	require.NoError(t, err)
	rep, err = s2.Update(ctx, []inventory.Item{re})
	require.NoError(t, err)
	assert.Equal(t, []string{fid}, rep.Updated)
	assert.Equal(t, "10.0.0.7", node(t, repo, fid).IPv4)
}

func TestUpdateDoesNotCreateOrTouchOthers(t *testing.T) {
	ctx := context.Background()
	repo := repoWith(t, "web1")
	other := inventory.Node{FacilityID: "docker_host1-theirs", FacilityName: "theirs", Variables: map[string]string{hinemos.VarHost: "docker_host2", hinemos.VarStatus: "running"}}
	require.NoError(t, repo.PutNode(ctx, other))
	var log strings.Builder
	s := newSyncer(t, repo, "", &log)
	rep, err := s.Update(ctx, []inventory.Item{
		item("aaaaaaaaaaaa", "new", "running", "Up 1 second", "web1"),
		item("bbbbbbbbbbbb", "theirs", "exited", "Exited (0) 1 second ago", "web1"),
	})
	require.NoError(t, err)
	assert.Equal(t, hinemos.Report{Skipped: []string{"docker_host1-new", "docker_host1-theirs"}}, rep)
	assert.Contains(t, log.String(), `Updating the Docker container nodes.
  docker_host1-new
   [skip] The node does not exist; skipping the update (Add creates it).
  docker_host1-theirs
   [skip] The node is not a container node of docker_host1; skipping the update.
Completed.
`)
	_, err = repo.Node(ctx, "docker_host1-new")
	require.ErrorIs(t, err, inventory.ErrNotFound)
	assert.Equal(t, other, node(t, repo, "docker_host1-theirs"))
	assert.Empty(t, membersOf(t, repo, "web1"))
}

func TestDeleteTouchesOnlyThisHostsContainerNodes(t *testing.T) {
	ctx := context.Background()
	repo := repoWith(t)
	s := newSyncer(t, repo, "", &strings.Builder{})
	_, err := s.Add(ctx, []inventory.Item{item("aaaaaaaaaaaa", "gone", "running", "Up", ""), item("bbbbbbbbbbbb", "kept", "running", "Up", "")})
	require.NoError(t, err)
	keep := []inventory.Node{
		// made by hand, with the host's prefix
		{FacilityID: "docker_host1-manual", FacilityName: "manual"},
		// another host's node with this prefix and another DOCKER_HOST
		{FacilityID: "docker_host1-y", FacilityName: "y", Variables: map[string]string{hinemos.VarHost: "docker_host2"}},
		// host docker_host1-b and its container node docker_host1-b-web
		{FacilityID: "docker_host1-b", FacilityName: "docker_host1-b"},
		{FacilityID: "docker_host1-b-web", FacilityName: "web", Variables: map[string]string{hinemos.VarHost: "docker_host1-b"}},
		// DOCKER_HOST of this host, but not a facility ID the sync makes
		{FacilityID: "web-elsewhere", FacilityName: "web", Variables: map[string]string{hinemos.VarHost: host}},
	}
	for _, n := range keep {
		require.NoError(t, repo.PutNode(ctx, n))
	}
	require.NoError(t, repo.Assign(ctx, hinemos.HostScopeID(host), "docker_host1-manual"))

	var log strings.Builder
	s = newSyncer(t, repo, "", &log)
	rep, err := s.Delete(ctx, []inventory.Item{item("cccccccccccc", "kept", "exited", "Exited (0) 1 second ago", "")})
	require.NoError(t, err)
	assert.Equal(t, []string{"docker_host1-gone"}, rep.Deleted)
	assert.Equal(t, []string{"docker_host1-kept"}, rep.Skipped)
	assert.Contains(t, log.String(), `Getting the Docker container information.
  Id:cccccccccccc Name:kept
Deleting the Docker container nodes.
  Deleting docker_host1-gone.
  docker_host1-kept exists. [skip]
Completed.
`)
	for _, n := range keep {
		assert.Equal(t, n, node(t, repo, n.FacilityID))
	}
	node(t, repo, host)

	// An empty host loses all its container nodes, and only those.
	rep, err = s.Delete(ctx, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"docker_host1-kept"}, rep.Deleted)
	ns, err := repo.Nodes(ctx)
	require.NoError(t, err)
	assert.Len(t, ns, len(keep)+1)
}

// Host "h" with container "a-b" and host "h-a" with container "b" both
// make "h-a-b": the second host finds the node taken and leaves it.
func TestFacilityIDCollisionBetweenHosts(t *testing.T) {
	ctx := context.Background()
	repo := repoWith(t)
	h, err := hinemos.New(hinemos.Config{HostFacilityID: "h", HostAddress: "10.0.0.1"}, repo)
	require.NoError(t, err)
	var log strings.Builder
	ha, err := hinemos.New(hinemos.Config{HostFacilityID: "h-a", HostAddress: "10.0.0.2"}, repo, hinemos.WithLog(&log))
	require.NoError(t, err)
	_, err = h.Sync(ctx, []inventory.Item{item("aaaaaaaaaaaa", "a-b", "running", "Up", "")})
	require.NoError(t, err)
	before := node(t, repo, "h-a-b")

	rep, err := ha.Sync(ctx, []inventory.Item{item("bbbbbbbbbbbb", "b", "exited", "Exited (1) 1 second ago", "")})
	require.NoError(t, err)
	assert.Equal(t, []string{"h-a"}, rep.Created)
	assert.Equal(t, []string{"h-a-b"}, rep.Skipped)
	assert.Contains(t, log.String(), "h-a-b exists and is not a container node of h-a. [skip]\n")
	assert.Equal(t, before, node(t, repo, "h-a-b"))
	assert.Empty(t, membersOf(t, repo, "h-a_scope"))
	assert.Equal(t, []string{"h-a-b"}, membersOf(t, repo, "h_scope"))

	// And h's sync never deletes the host node h-a.
	_, err = h.Sync(ctx, nil)
	require.NoError(t, err)
	node(t, repo, "h-a")
}

func TestSyncRunsAddDeleteUpdateInOneBatch(t *testing.T) {
	ctx := context.Background()
	repo := repoWith(t, "web1", "web2")
	var log strings.Builder
	s := newSyncer(t, manager{repo}, "", &log)
	_, err := s.Sync(ctx, append(secondSession("Up 1 minute"), item("90b56eb899e7", "conteiner_D", "exited", "Exited (0) 2 minutes ago", "")))
	require.NoError(t, err)

	log.Reset()
	rep, err := s.Sync(ctx, append(secondSession("Exited (0) 16 seconds ago"), item("dddddddddddd", "conteiner_E", "running", "Up 1 second", "web2")))
	require.NoError(t, err)
	assert.Equal(t, hinemos.Report{
		Created:  []string{"docker_host1-conteiner_E"},
		Updated:  []string{"docker_host1-conteiner_C"},
		Deleted:  []string{"docker_host1-conteiner_D"},
		Assigned: []hinemos.Assignment{{hinemos.ScopeContainer, "docker_host1-conteiner_E"}, {"docker_host1_scope", "docker_host1-conteiner_E"}, {"web2", "docker_host1-conteiner_E"}},
		Skipped:  []string{host, "docker_host1-conteiner_B", "docker_host1-conteiner_A"},
		// web3 is missing for C in Update's label pass.
		MissingScopes: []hinemos.Assignment{{"web3", "docker_host1-conteiner_C"}},
	}, rep)
	assert.Equal(t, "0 scopes created, 1 nodes created, 1 updated, 1 deleted, 3 assigned, 3 skipped, 1 missing label scopes, 0 invalid containers", rep.String())
	out := log.String()
	assert.Equal(t, 3, strings.Count(out, "Started.\nLogging in to the Hinemos manager.\n"))
	assert.Equal(t, 3, strings.Count(out, "Completed.\n"))
	assert.Less(t, strings.Index(out, "Creating the Docker container nodes."), strings.Index(out, "Deleting the Docker container nodes."))
	assert.Less(t, strings.Index(out, "Deleting the Docker container nodes."), strings.Index(out, "Updating the Docker container nodes."))
	assert.Contains(t, out, "  docker_host1-conteiner_E\n   running -> running [skip]\n", "Update sees the node Add created")
}

func TestItemsOfOneEngineOnly(t *testing.T) {
	ctx := context.Background()
	repo := repoWith(t)
	var log strings.Builder
	s := newSyncer(t, repo, "", &log)
	two := firstRunItems()
	two[1].Target.Engine = "tcp://10.0.0.9:2375"
	_, err := s.Sync(ctx, two)
	require.ErrorIs(t, err, inventory.ErrInvalid)
	assert.ErrorContains(t, err, "tcp://10.0.0.9:2375")

	dup := append(firstRunItems(), item("eeeeeeeeeeee", "/conteiner_A", "running", "Up", ""))
	_, err = s.Sync(ctx, dup)
	require.ErrorIs(t, err, inventory.ErrInvalid)
	assert.ErrorContains(t, err, "conteiner_A")
	assert.Empty(t, log.String(), "refused before anything is done")
	ns, err := repo.Nodes(ctx)
	require.NoError(t, err)
	assert.Empty(t, ns)

	// Other kinds are ignored, whatever their engine.
	mixed := append(firstRunItems(), inventory.Item{Target: inventory.Target{Kind: inventory.KindImage, ID: "sha256:1", Engine: "elsewhere"}})
	rep, err := s.Add(ctx, mixed)
	require.NoError(t, err)
	assert.Len(t, rep.Created, 4)
}

func TestContainersThatCannotBeNodes(t *testing.T) {
	ctx := context.Background()
	repo := repoWith(t)
	var log strings.Builder
	s := newSyncer(t, repo, "", &log)
	long := strings.Repeat("n", 600)
	rep, err := s.Sync(ctx, []inventory.Item{item("aaaaaaaaaaaa", long, "running", "Up", ""), item("bbbbbbbbbbbb", "ok", "running", "Up", "")})
	require.NoError(t, err)
	assert.Equal(t, []string{long}, rep.Invalid)
	assert.Equal(t, []string{host, "docker_host1-ok"}, rep.Created)
	assert.Contains(t, log.String(), `[skip] Container "nnnn`)
}

func TestBatchFailureWritesNothing(t *testing.T) {
	ctx := context.Background()
	for _, fail := range []string{"Nodes", "PutNode", "Assign"} {
		t.Run(fail, func(t *testing.T) {
			mem := repoWith(t, "web1", "web2")
			var log strings.Builder
			// Fail the second call: Add's first calls succeed.
			s := newSyncer(t, newFaulty(mem, true, fail, 2), "", &log)
			rep, err := s.Sync(ctx, firstRunItems())
			require.ErrorIs(t, err, errBroken)
			assert.Equal(t, hinemos.Report{}, rep)
			assert.True(t, strings.HasSuffix(log.String(), "\nFailed; nothing was written to the repository.\n"), log.String())
			ns, err := mem.Nodes(ctx)
			require.NoError(t, err)
			assert.Empty(t, ns)
			ss, err := mem.Scopes(ctx)
			require.NoError(t, err)
			assert.Len(t, ss, 2)
		})
	}
}

func TestFailureWithoutBatchKeepsWhatWasDoneAndTheNextRunRepairs(t *testing.T) {
	ctx := context.Background()
	mem := repoWith(t, "web1", "web2")
	var log strings.Builder
	// The second Assign is the container nodes' to docker_container.
	s := newSyncer(t, newFaulty(mem, false, "Assign", 2), "", &log)
	rep, err := s.Add(ctx, firstRunItems())
	require.ErrorIs(t, err, errBroken)
	assert.Len(t, rep.Created, 4)
	assert.Len(t, rep.ScopesCreated, 4)
	assert.True(t, strings.HasSuffix(log.String(), "Assigning the Docker container nodes to the docker_container scope.\nFailed.\n"), log.String())
	assert.Empty(t, membersOf(t, mem, hinemos.ScopeContainer))

	s = newSyncer(t, plain{mem}, "", &strings.Builder{})
	_, err = s.Sync(ctx, firstRunItems())
	require.NoError(t, err)
	assert.Len(t, membersOf(t, mem, hinemos.ScopeContainer), 3)
	assert.Len(t, membersOf(t, mem, "docker_host1_scope"), 3)
	assert.Len(t, membersOf(t, mem, "web1"), 3, "Update applies the labels Add never reached")
}

type named struct{ *inventory.MemRepository }

func (named) String() string { return "embedded repository /var/lib/minato/repo.db" }

func TestRepositoryLine(t *testing.T) {
	for _, tc := range []struct {
		repo inventory.Repository
		want string
	}{
		{plain{inventory.NewMemRepository()}, "Opening the repository.\n  repository: hinemos_test.plain\n"},
		{named{inventory.NewMemRepository()}, "Opening the repository.\n  repository: embedded repository /var/lib/minato/repo.db\n"},
		{manager{inventory.NewMemRepository()}, "Logging in to the Hinemos manager.\n  endpoint: " + wsdl + "\n  username: hinemos\n"},
	} {
		var log strings.Builder
		s := newSyncer(t, tc.repo, "", &log)
		_, err := s.Update(context.Background(), nil)
		require.NoError(t, err)
		assert.Equal(t, "Started.\n"+tc.want+"Getting the Docker container information.\nUpdating the Docker container nodes.\nCompleted.\n", log.String())
	}
}

func TestConcurrentRunsAreSerialised(t *testing.T) {
	ctx := context.Background()
	repo := repoWith(t, "web1", "web2")
	var log strings.Builder
	s := newSyncer(t, repo, "", &log)
	var wg sync.WaitGroup
	errs := make([]error, 8)
	for i := range errs {
		wg.Go(func() {
			items := firstRunItems()
			if i%2 == 1 {
				items = items[:2]
			}
			_, errs[i] = s.Sync(ctx, items)
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	// Every transcript is whole: runs did not interleave.
	out := log.String()
	assert.Equal(t, 24, strings.Count(out, "Started."))
	for _, part := range strings.Split(out, "Started.\n")[1:] {
		assert.True(t, strings.HasSuffix(part, "Completed.\n"), part)
	}
}

func TestCancelledContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	repo := repoWith(t)
	s := newSyncer(t, plain{repo}, "", &strings.Builder{})
	_, err := s.Sync(ctx, firstRunItems())
	require.ErrorIs(t, err, context.Canceled)
}

func TestConfigValidate(t *testing.T) {
	ok := hinemos.Config{HostFacilityID: "docker_host1", HostAddress: "10.0.200.123"}
	require.NoError(t, ok.Validate())
	for _, tc := range []struct {
		cfg  hinemos.Config
		want []string
	}{
		{hinemos.Config{}, []string{"host_facility_id: empty", "host_address: empty"}},
		{hinemos.Config{HostFacilityID: "docker host1", HostAddress: "10.0.0.1", Lang: "fr"}, []string{"host_facility_id: inventory: invalid", `lang "fr"`}},
		{hinemos.Config{HostFacilityID: strings.Repeat("h", 257), HostAddress: "::1"}, []string{"257 characters, at most 256", `host_address "::1": want an IPv4`}},
		{hinemos.Config{HostFacilityID: "h", HostAddress: "010.0.0.1"}, []string{`host_address "010.0.0.1"`}},
		{hinemos.Config{HostFacilityID: "h", HostAddress: "docker1.example"}, []string{`host_address "docker1.example"`}},
	} {
		err := tc.cfg.Validate()
		require.Error(t, err, "%+v", tc.cfg)
		for _, w := range tc.want {
			assert.ErrorContains(t, err, w)
		}
		_, err = hinemos.New(tc.cfg, inventory.NewMemRepository())
		assert.ErrorContains(t, err, tc.want[0])
	}
	_, err := hinemos.New(ok, nil)
	assert.ErrorContains(t, err, "nil repository")
	assert.Equal(t, hinemos.Config{Lang: "en"}, hinemos.DefaultConfig())
	s, err := hinemos.New(ok, inventory.NewMemRepository())
	require.NoError(t, err)
	assert.Equal(t, ok, s.Config())
}

func TestAddressFromEndpoint(t *testing.T) {
	for ep, want := range map[string]string{
		"tcp://10.0.200.123:2375":     "10.0.200.123",
		"https://10.0.0.5:2376":       "10.0.0.5",
		"tcp://10.0.0.5":              "10.0.0.5",
		"unix:///var/run/docker.sock": "",
		"tcp://docker1.example:2375":  "",
		"tcp://[::1]:2375":            "",
		"ssh://10.0.0.5":              "",
		"%%":                          "",
	} {
		got, ok := hinemos.AddressFromEndpoint(ep)
		assert.Equal(t, want, got, ep)
		assert.Equal(t, want != "", ok, ep)
	}
}

func TestEngineItems(t *testing.T) {
	c := item("aaaaaaaaaaaa", "web", "running", "Up", "")
	other := c
	other.Target.Engine = "tcp://10.0.0.9:2375"
	img := inventory.Item{Target: inventory.Target{Kind: inventory.KindImage, ID: "sha256:1", Engine: eng}}
	snap := inventory.Snapshot{
		Engines: []inventory.Engine{{Name: host, Endpoint: eng}, {Name: "docker_host2", Endpoint: "tcp://10.0.0.9:2375"}, {Name: "down", Endpoint: "tcp://10.0.0.10:2375", Error: "connection refused"}},
		Items:   []inventory.Item{c, other, img},
	}
	got, err := hinemos.EngineItems(snap, host)
	require.NoError(t, err)
	assert.Equal(t, []inventory.Item{c}, got)

	_, err = hinemos.EngineItems(snap, "down")
	var ee *inventory.EngineError
	require.ErrorAs(t, err, &ee)
	assert.Equal(t, "down", ee.Engine)
	_, err = hinemos.EngineItems(snap, "nosuch")
	require.ErrorIs(t, err, inventory.ErrNotFound)

	got, err = hinemos.EngineItems(inventory.Snapshot{Engines: []inventory.Engine{{Name: "empty", Endpoint: "unix:///x"}}}, "empty")
	require.NoError(t, err)
	assert.NotNil(t, got)
	assert.Empty(t, got)
}

func ExampleReport_String() {
	fmt.Println(hinemos.Report{Created: []string{"docker_host1-web"}, Skipped: []string{"docker_host1"}})
	// Output: 0 scopes created, 1 nodes created, 0 updated, 0 deleted, 0 assigned, 1 skipped, 0 missing label scopes, 0 invalid containers
}
