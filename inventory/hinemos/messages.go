package hinemos

// messages are the run log's lines in one language. The Japanese ones are
// the Hinemos Docker repository scripts' own lines, copied verbatim from
// their execution logs (including their differences: the Add script ends
// the missing-scope line with "。", the Update script does not); lines the
// scripts' logs do not show are written in their style.
type messages struct {
	started, done, failed, rolledBack string

	login, endpoint, username string // "endpoint: URL", "username: USER"
	repoHeader, repoName      string // repositories without an endpoint

	fetch                        string
	containerAdd                 string // Id, Name, Status, state
	portNotBind                  string // prefix of containerAdd
	containerDelete              string // Id, Name
	containerUpdate              string // Id, Name, Status, state
	invalidName                  string // name, reason
	scopesHeader                 string
	create, exists, existsOther  string // fid; fid, host
	hostHeader, hostAssignHeader string // ; scope
	containerHeader              string
	containerAssignHeader        string // scope
	assign                       string // fid
	labelAdd                     string // fid, list
	scopeMissingAdd              string // scope
	scopeInvalid                 string // scope

	deleteHeader, deleteKeep, deleteNode string // ; fid; fid

	updateHeader, updateNode                string // ; fid
	updateStatus, updateSkip                string // old, new
	updateField                             string // field, old, new
	updateMissing, updateOther              string // ; host
	labelUpdate                             string // fid, list
	none                                    string // an empty value in updateStatus, updateField
	fieldHostName, fieldNodeName, fieldIPv4 string
	alreadyAssigned                         string // scope
	scopeMissingUpdate                      string // scope

	list func([]string) string
}

var english = messages{
	started:    "Started.",
	done:       "Completed.",
	failed:     "Failed.",
	rolledBack: "Failed; nothing was written to the repository.",

	login:      "Logging in to the Hinemos manager.",
	endpoint:   "  endpoint: %s",
	username:   "  username: %s",
	repoHeader: "Opening the repository.",
	repoName:   "  repository: %s",

	fetch:                 "Getting the Docker container information.",
	containerAdd:          "  %sId:%s Name:%s Status:'%s':%s",
	portNotBind:           "port not bind ",
	containerDelete:       "  Id:%s Name:%s",
	containerUpdate:       "  Id:%s Name:%s Status:'%s':%s",
	invalidName:           "[skip] Container %q cannot be a node: %s",
	scopesHeader:          "Creating the scopes.",
	create:                "Creating %s.",
	exists:                "%s exists. [skip]",
	existsOther:           "%s exists and is not a container node of %s. [skip]",
	hostHeader:            "Creating the Docker host node.",
	hostAssignHeader:      "Assigning the Docker host node to the %s scope.",
	containerHeader:       "Creating the Docker container nodes.",
	containerAssignHeader: "Assigning the Docker container nodes to the %s scope.",
	assign:                "Assigning %s.",
	labelAdd:              "Assigning %s to scopes from its label. Target scopes: %s",
	scopeMissingAdd:       "[skip] Scope %s does not exist; skipping the assignment.",
	scopeInvalid:          "[skip] Scope %q is not a valid facility ID; skipping the assignment.",

	deleteHeader: "Deleting the Docker container nodes.",
	deleteKeep:   "  %s exists. [skip]",
	deleteNode:   "  Deleting %s.",

	updateHeader:       "Updating the Docker container nodes.",
	updateNode:         "  %s",
	updateStatus:       "   %s -> %s",
	updateSkip:         "   %s -> %s [skip]",
	updateField:        "   %s: %s -> %s",
	updateMissing:      "   [skip] The node does not exist; skipping the update (Add creates it).",
	updateOther:        "   [skip] The node is not a container node of %s; skipping the update.",
	labelUpdate:        "Checking the label settings of %s: hinemosAssignScopeId: %s",
	none:               "(none)",
	fieldHostName:      "host name",
	fieldNodeName:      "node name",
	fieldIPv4:          "IPv4 address",
	alreadyAssigned:    "[skip] Already assigned to scope %s.",
	scopeMissingUpdate: "[skip] Scope %s does not exist; skipping the assignment.",

	list: plainList,
}

var japanese = messages{
	started:    "開始しました。",
	done:       "完了しました。",
	failed:     "失敗しました。",
	rolledBack: "失敗しました。リポジトリには何も書き込まれていません。",

	login:      "Hinemos マネージャにログインしています。",
	endpoint:   "  endpoint: %s",
	username:   "  username: %s",
	repoHeader: "リポジトリを開いています。",
	repoName:   "  repository: %s",

	fetch:                 "Docker コンテナの情報を取得します。",
	containerAdd:          "  %sId:%s Name:%s Status:'%s':%s",
	portNotBind:           "port not bind ",
	containerDelete:       "  Id:%s Name:%s",
	containerUpdate:       "  Id:%s Name:%s Status:'%s':%s",
	invalidName:           "[skip] コンテナ %q はノードにできないため、スキップします: %s",
	scopesHeader:          "スコープを作成します。",
	create:                "%s を作成します。",
	exists:                "%s 存在します。[skip]",
	existsOther:           "%s 存在します(%s の Docker コンテナノードではありません)。[skip]",
	hostHeader:            "Docker ホストノードを作成します。",
	hostAssignHeader:      "Docker ホストノードを %s スコープへ割当てます。",
	containerHeader:       "Docker コンテナノードを作成します。",
	containerAssignHeader: "Docker コンテナノードを %s スコープへ割当てます。",
	assign:                "%s を割当てます。",
	labelAdd:              "%s をラベル設定からスコープへ割当てます。対象スコープ: %s",
	scopeMissingAdd:       "[skip] スコープ %s が存在していないため、割当てをスキップします。",
	scopeInvalid:          "[skip] スコープ %q はファシリティ ID として不正なため、割当てをスキップします。",

	deleteHeader: "Docker コンテナノードを削除します。",
	deleteKeep:   "  %s 存在します。[skip]",
	deleteNode:   "  %s 削除します。",

	updateHeader:       "Docker コンテナノードを更新します。",
	updateNode:         "  %s",
	updateStatus:       "   %s -> %s",
	updateSkip:         "   %s -> %s [skip]",
	updateField:        "   %s: %s -> %s",
	updateMissing:      "   [skip] ノードが存在していないため、更新をスキップします",
	updateOther:        "   [skip] %s の Docker コンテナノードではないため、更新をスキップします",
	labelUpdate:        "%s のラベル設定の確認 hinemosAssignScopeId: %s",
	none:               "(なし)",
	fieldHostName:      "ホスト名",
	fieldNodeName:      "ノード名",
	fieldIPv4:          "IPv4 のアドレス",
	alreadyAssigned:    "[skip] 既にスコープ %s に割当てられています",
	scopeMissingUpdate: "[skip] スコープ %s が存在していないため、割当てをスキップします",

	list: pyList,
}
