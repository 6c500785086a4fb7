package hinemos_test

import (
	"context"
	"fmt"
	"os"

	"github.com/minato-ops/minato/inventory"
	"github.com/minato-ops/minato/inventory/hinemos"
)

// Register the containers of docker_host1 in a repository where scope web1
// exists and web3 does not, printing the log in the scripts' Japanese.
func ExampleSyncer_Add() {
	ctx := context.Background()
	repo := inventory.NewMemRepository()
	_ = repo.PutScope(ctx, inventory.Scope{FacilityID: "web1", FacilityName: "web1"})

	s, err := hinemos.New(hinemos.Config{HostFacilityID: "docker_host1", HostAddress: "10.0.200.123", Lang: hinemos.LangJapanese},
		repo, hinemos.WithLog(os.Stdout))
	if err != nil {
		fmt.Println(err)
		return
	}
	// Usually hinemos.EngineItems(snapshot, "docker_host1").
	items := []inventory.Item{{
		Target: inventory.Target{
			Kind: inventory.KindContainer, ID: "16c155fe269b0e29b0a6f0bd1d2b0e4a4b7a4b5a17e41ff36d4e0c0e3a7f1c2d", Name: "web",
			Engine: "tcp://10.0.200.123:2375", Labels: map[string]string{hinemos.LabelAssignScope: "web1, web3"},
		},
		State: "running",
		Attrs: map[string]string{inventory.AttrStatus: "Up 4 minutes", inventory.AttrImage: "httpd:2.4", inventory.AttrPorts: "0.0.0.0:8080->80/tcp"},
	}}
	rep, err := s.Add(ctx, items)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(rep)
	n, _ := repo.Node(ctx, "docker_host1-web")
	fmt.Println(n.Managed, n.NodeName, n.Variables[hinemos.VarPorts])
	// Output:
	// 開始しました。
	// リポジトリを開いています。
	//   repository: *inventory.MemRepository
	// Docker コンテナの情報を取得します。
	//   Id:16c155fe269b Name:web Status:'Up 4 minutes':running
	// スコープを作成します。
	// docker_container を作成します。
	// docker_host を作成します。
	// docker_map を作成します。
	// docker_host1_scope を作成します。
	// Docker ホストノードを作成します。
	// docker_host1 を作成します。
	// Docker ホストノードを docker_host スコープへ割当てます。
	// docker_host1 を割当てます。
	// Docker コンテナノードを作成します。
	// docker_host1-web を作成します。
	// Docker コンテナノードを docker_container スコープへ割当てます。
	// docker_host1-web を割当てます。
	// Docker コンテナノードを docker_host1_scope スコープへ割当てます。
	// docker_host1-web を割当てます。
	// docker_host1-web をラベル設定からスコープへ割当てます。対象スコープ: [u'web1', u'web3']
	// docker_host1-web を割当てます。
	// [skip] スコープ web3 が存在していないため、割当てをスキップします。
	// 完了しました。
	// 4 scopes created, 2 nodes created, 0 updated, 0 deleted, 4 assigned, 0 skipped, 1 missing label scopes, 0 invalid containers
	// true 16c155fe269b 0.0.0.0:8080->80/tcp
}

// Select the containers whose nodes are in scope web1, wherever they run.
func ExampleResolver() {
	ctx := context.Background()
	repo := inventory.NewMemRepository()
	_ = repo.PutScope(ctx, inventory.Scope{FacilityID: "web1", FacilityName: "web1"})
	web := inventory.Target{Kind: inventory.KindContainer, ID: "0e0d8cdf3a57" + "0000000000000000000000000000000000000000000000000000",
		Name: "web", Engine: "tcp://10.0.200.123:2375", Labels: map[string]string{hinemos.LabelAssignScope: "web1"}}
	db := inventory.Target{Kind: inventory.KindContainer, ID: "1eae26f41927" + "0000000000000000000000000000000000000000000000000000",
		Name: "db", Engine: "tcp://10.0.200.123:2375"}
	s, _ := hinemos.New(hinemos.Config{HostFacilityID: "docker_host1", HostAddress: "10.0.200.123"}, repo)
	_, _ = s.Sync(ctx, []inventory.Item{{Target: web, State: "running"}, {Target: db, State: "running"}})

	// The engine named docker_host1: here a fixed list, usually the
	// engine's container client.
	engine := inventory.Static(web, db)
	r, _ := hinemos.NewResolver(repo, func(host string) (inventory.Resolver, bool) {
		return engine, host == "docker_host1"
	})
	ts, err := r.Resolve(ctx, inventory.Selector{Scopes: []string{"web1"}})
	fmt.Println(ts, err)
	// Output: [container web (0e0d8cdf3a57)] <nil>
}
