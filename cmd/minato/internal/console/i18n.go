package console

import (
	"fmt"
	"html/template"
	"io/fs"
	"net/url"
	"strings"
	"time"
)

// messages are the console's texts by language. English is complete;
// Japanese uses the terms of the products minato replaces (Hinemos,
// JobCenter, CLUSTERPRO); a key missing in a language falls back to
// English, then to the key.
var messages = map[string]map[string]string{
	"en": {
		"title": "minato console", "nav": "Views",
		"view.estate": "Estate", "view.checks": "Checks", "view.jobs": "Job networks", "view.ha": "HA",
		"view.images": "Images", "view.apps": "Applications", "view.diag": "Diagnostics",
		"token": "API token", "token.save": "Use token", "token.forget": "Forget token",
		"token.help":   "Controls and, on agents with api.token_file, every view need the agent's token. It is kept in this tab only (sessionStorage) and sent as the Authorization header.",
		"token.needed": "This agent needs its API token to show this view:", "token.stored": "A token is in use in this tab.",
		"confirm": "Confirm", "cancel.dialog": "Back", "refreshed": "Updated", "stale": "Not updated:",
		"engines": "Engines", "engine": "Engine", "endpoint": "Endpoint", "version": "Version", "containers": "Containers",
		"name": "Name", "state": "State", "health": "Health", "image": "Image", "labels": "Labels", "scope": "Scope", "scopes": "Scopes",
		"checks": "Checks", "cpu": "CPU", "memory": "Memory", "status": "Status", "no.scope": "no scope",
		"filter": "Filter", "filter.apply": "Apply", "filter.help": "name, name:web, label:tier=db, scope:prod, state:running",
		"shown": "shown", "of": "of", "running.n": "running", "none": "none",
		"check": "Check", "target": "Target", "value": "Value", "thresholds": "Thresholds", "since": "Since", "message": "Message",
		"observed": "Observed", "time": "Time", "timeline": "Events timeline", "overall": "Overall",
		"jobnets": "Job networks", "queues": "Queues", "history": "History", "schedule": "Schedule", "next": "Next due",
		"queue": "Queue", "run": "Run", "runs": "Runs", "trigger": "Trigger", "created": "Created", "ended": "Ended", "duration": "Duration",
		"attempts": "Attempts", "exit": "Exit", "output": "Output", "units": "Units", "unit": "Unit", "last.run": "Last run",
		"not.run": "not run yet", "details": "Open run", "concurrency": "Concurrency", "running": "Running", "stopped": "Stopped",
		"controls": "Controls", "overlap": "Overlap", "rerun.of": "Rerun of",
		"ctl.hold": "Hold", "ctl.release": "Release", "ctl.skip": "Skip", "ctl.stop": "Stop", "ctl.cancel": "Cancel run",
		"ctl.rerun": "Rerun", "ctl.qstop": "Stop queue", "ctl.qstart": "Start queue", "ctl.move": "Move", "ctl.suspend": "Suspend", "ctl.resume": "Resume",
		"ask.hold": "Hold unit %s of run %s?", "ask.release": "Release unit %s of run %s?", "ask.skip": "Skip unit %s of run %s?",
		"ask.stop": "Force-stop unit %s of run %s?", "ask.cancel": "Cancel run %s?", "ask.rerun": "Rerun what did not succeed in run %s?",
		"ask.qstop": "Stop queue %s? Units waiting in it will not start.", "ask.qstart": "Start queue %s?",
		"ask.move": "Move group %s to the selected node?", "ask.suspend": "Suspend group %s (no failover)?", "ask.resume": "Resume group %s?",
		"cluster": "Cluster", "node": "Node", "nodes": "Nodes", "groups": "Groups", "holder": "Holder", "epoch": "Epoch",
		"resources": "Resources", "monitors": "Monitors", "failovers": "Failovers", "events": "Events", "last.heard": "Last heard",
		"active": "active", "inactive": "inactive", "local": "This node", "move.to": "Move to", "failures": "Failures", "restarts": "Restarts",
		"takeovers": "Takeovers", "isolations": "Isolations", "kind": "Kind",
		"pending.updates": "Pending updates", "reference": "Reference", "running.digest": "Running", "latest.digest": "Latest", "newer.tags": "Newer tags",
		"checked": "Checked", "interval": "Interval", "next.run": "Next run",
		"drift": "with drift", "findings": "Findings", "severity": "Severity", "code": "Code", "subject": "Subject", "remedy": "Remedy",
		"evidence": "Evidence", "failed.checks": "Checks that could not answer", "no.findings": "No findings.",
		"off": "Not enabled on this agent:", "unavailable": "Unavailable:", "empty": "Nothing to show.",
		"error":    "Error",
		"state.OK": "OK", "state.WARNING": "warning", "state.CRITICAL": "critical", "state.UNKNOWN": "unknown",
		"state.pending": "pending", "state.held": "held", "state.running": "running", "state.succeeded": "succeeded", "state.failed": "failed",
		"state.skipped": "skipped", "state.cancelled": "cancelled", "state.timed_out": "timed out", "state.": "not run",
		"state.exited": "exited", "state.created": "created", "state.restarting": "restarting", "state.paused": "paused", "state.dead": "dead",
		"state.removing": "removing", "state.healthy": "healthy", "state.unhealthy": "unhealthy", "state.starting": "starting",
		"state.online": "online", "state.offline": "offline", "state.failed_over": "failed over", "state.isolated": "isolated", "state.up": "up", "state.down": "down",
		"state.outdated": "update available", "state.stale-local": "redeploy pending", "state.current": "current", "state.local": "local image", "state.pinned": "pinned",
		"state.error": "error", "state.critical": "critical", "state.warning": "warning", "state.info": "info", "state.ok": "ok",
		"state.active": "active", "state.inactive": "inactive", "state.stopped": "stopped",
	},
	"ja": {
		"title": "minato コンソール", "nav": "ビュー",
		"view.estate": "リポジトリ", "view.checks": "監視", "view.jobs": "ジョブネットワーク", "view.ha": "クラスタ",
		"view.images": "イメージ", "view.apps": "アプリケーション", "view.diag": "診断",
		"token": "API トークン", "token.save": "トークンを使用", "token.forget": "トークンを破棄",
		"token.help":   "操作と、api.token_file を設定したエージェントでは全ビューの表示に、エージェントのトークンが必要です。このタブ内 (sessionStorage) だけに保持し、Authorization ヘッダで送信します。",
		"token.needed": "このビューの表示には API トークンが必要です:", "token.stored": "このタブでトークンを使用中です。",
		"confirm": "実行", "cancel.dialog": "戻る", "refreshed": "更新", "stale": "更新できません:",
		"engines": "エンジン", "engine": "エンジン", "endpoint": "エンドポイント", "version": "バージョン", "containers": "コンテナ",
		"name": "名前", "state": "状態", "health": "ヘルス", "image": "イメージ", "labels": "ラベル", "scope": "スコープ", "scopes": "スコープ",
		"checks": "監視", "cpu": "CPU", "memory": "メモリ", "status": "重要度", "no.scope": "スコープなし",
		"filter": "フィルタ", "filter.apply": "適用", "filter.help": "名前, name:web, label:tier=db, scope:prod, state:running",
		"shown": "件表示", "of": "/", "running.n": "稼働中", "none": "なし",
		"check": "監視項目", "target": "対象", "value": "値", "thresholds": "閾値", "since": "開始", "message": "メッセージ",
		"observed": "判定", "time": "日時", "timeline": "イベント履歴", "overall": "全体",
		"jobnets": "ジョブネットワーク", "queues": "キュー", "history": "実行履歴", "schedule": "スケジュール", "next": "次回実行予定",
		"queue": "キュー", "run": "実行", "runs": "実行", "trigger": "契機", "created": "登録", "ended": "終了", "duration": "実行時間",
		"attempts": "試行回数", "exit": "終了値", "output": "出力", "units": "単位ジョブ", "unit": "単位ジョブ", "last.run": "最終実行",
		"not.run": "未実行", "details": "実行を開く", "concurrency": "多重度", "running": "実行中", "stopped": "停止中",
		"controls": "操作", "overlap": "多重起動", "rerun.of": "再実行元",
		"ctl.hold": "保留", "ctl.release": "保留解除", "ctl.skip": "スキップ", "ctl.stop": "停止", "ctl.cancel": "中断",
		"ctl.rerun": "再実行", "ctl.qstop": "キュー停止", "ctl.qstart": "キュー開始", "ctl.move": "グループ移動", "ctl.suspend": "一時停止", "ctl.resume": "再開",
		"ask.hold": "実行 %[2]s の単位ジョブ %[1]s を保留しますか?", "ask.release": "実行 %[2]s の単位ジョブ %[1]s の保留を解除しますか?",
		"ask.skip": "実行 %[2]s の単位ジョブ %[1]s をスキップしますか?", "ask.stop": "実行 %[2]s の単位ジョブ %[1]s を停止しますか?",
		"ask.cancel": "実行 %s を中断しますか?", "ask.rerun": "実行 %s の未完了分を再実行しますか?",
		"ask.qstop": "キュー %s を停止しますか? 待機中の単位ジョブは開始されません。", "ask.qstart": "キュー %s を開始しますか?",
		"ask.move": "グループ %s を選択したサーバへ移動しますか?", "ask.suspend": "グループ %s を一時停止しますか (フェイルオーバしません)?", "ask.resume": "グループ %s を再開しますか?",
		"cluster": "クラスタ", "node": "サーバ", "nodes": "サーバ", "groups": "フェイルオーバグループ", "holder": "現用系", "epoch": "エポック",
		"resources": "グループリソース", "monitors": "モニタリソース", "failovers": "フェイルオーバ", "events": "イベント", "last.heard": "最終受信",
		"active": "活性", "inactive": "非活性", "local": "自サーバ", "move.to": "移動先", "failures": "異常回数", "restarts": "再起動回数",
		"takeovers": "引き継ぎ", "isolations": "孤立", "kind": "種別",
		"pending.updates": "未適用の更新", "reference": "参照", "running.digest": "実行中", "latest.digest": "最新", "newer.tags": "新しいタグ",
		"checked": "確認日時", "interval": "間隔", "next.run": "次回",
		"drift": "件の差分", "findings": "検出事項", "severity": "重要度", "code": "コード", "subject": "対象", "remedy": "対処",
		"evidence": "根拠", "failed.checks": "応答しなかったチェック", "no.findings": "検出事項はありません。",
		"off": "このエージェントでは無効です:", "unavailable": "利用できません:", "empty": "表示するものはありません。",
		"error":    "エラー",
		"state.OK": "正常", "state.WARNING": "警告", "state.CRITICAL": "危険", "state.UNKNOWN": "不明",
		"state.pending": "実行待ち", "state.held": "保留中", "state.running": "実行中", "state.succeeded": "正常終了", "state.failed": "異常終了",
		"state.skipped": "スキップ", "state.cancelled": "中断", "state.timed_out": "タイムアウト", "state.": "未実行",
		"state.exited": "停止", "state.created": "作成済み", "state.restarting": "再起動中", "state.paused": "一時停止", "state.dead": "異常",
		"state.online": "起動済", "state.offline": "停止済", "state.failed_over": "フェイルオーバ済", "state.isolated": "孤立", "state.up": "起動", "state.down": "停止",
		"state.outdated": "更新あり", "state.stale-local": "再デプロイ待ち", "state.current": "最新", "state.local": "ローカル", "state.pinned": "固定",
		"state.error": "エラー", "state.critical": "危険", "state.warning": "警告", "state.info": "情報", "state.ok": "正常",
		"state.active": "活性", "state.inactive": "非活性", "state.stopped": "停止中",
	},
}

// tr returns the text of key in lang.
func tr(lang, key string) string {
	if s, ok := messages[lang][key]; ok {
		return s
	}
	if s, ok := messages["en"][key]; ok {
		return s
	}
	return key
}

// Badge is how a state is shown: a class (colour), an icon and a text,
// so that no state is told by colour alone.
type Badge struct {
	Class, Icon, Text string
}

// badge returns the badge of a state of some kind: "unit" (job unit and
// run states), anything else (check statuses, container, HA and image
// states).
func badge(lang, kind, state string) Badge {
	text := tr(lang, "state."+state)
	if text == "state."+state {
		text = state
	}
	cls, icon := "unk", "?"
	switch strings.ToLower(state) {
	case "ok", "succeeded", "healthy", "online", "current", "active", "up":
		cls, icon = "ok", "✓"
	case "running":
		if kind == "unit" {
			cls, icon = "run", "▶"
		} else {
			cls, icon = "ok", "●"
		}
	case "warning", "restarting", "unhealthy", "outdated", "stale-local", "starting":
		cls, icon = "warn", "⚠"
	case "held", "paused", "suspended":
		cls, icon = "warn", "‖"
	case "critical", "failed", "timed_out", "dead", "isolated", "error", "failed_over", "down":
		cls, icon = "crit", "✗"
	case "pending", "created", "":
		cls, icon = "pend", "○"
	case "skipped":
		cls, icon = "skip", "↷"
	case "cancelled", "exited", "offline", "inactive", "stopped", "removing":
		cls, icon = "off", "■"
	case "info", "local", "pinned":
		cls, icon = "info", "ℹ"
	}
	return Badge{Class: cls, Icon: icon, Text: text}
}

// HTML is the badge's markup: a span with the state's class, its icon
// (hidden from screen readers) and its text, escaped. Built in Go rather
// than by a sub-template: the estate view has three or four badges per
// container, and this is most of its rendering time.
func (b Badge) HTML() template.HTML {
	return template.HTML(`<span class="st st-` + b.Class + `"><span class="ic" aria-hidden="true">` + b.Icon + `</span> ` + // #nosec G203 -- class and icon are constants
		template.HTMLEscapeString(b.Text) + `</span>`)
}

// sparkHTML is a sparkline's markup: the polyline in a 100x20 box, and
// the last value; every text escaped.
func sparkHTML(s *Spark) template.HTML {
	if s == nil {
		return ""
	}
	e := template.HTMLEscapeString
	return template.HTML(`<span class="spark"><svg viewBox="0 0 100 20" width="80" height="18" role="img" aria-label="` + e(s.Sample+" "+s.Text) + // #nosec G203 -- escaped
		`"><polyline points="` + e(s.Points) + `"/></svg> <span class="small mono">` + e(s.Text) + `</span></span>`)
}

// secData is a section as the "section" template shows it.
type secData struct {
	Off           bool
	Message, Text string
}

// pageData is what the templates render.
type pageData struct {
	View  view
	Lang  string
	Query query
	Data  any
	// Locked: the caller was refused (no token yet); Refusal says why.
	Locked  bool
	Refusal string
	Error   string
	PollMS  int64
	// Main is the view's main section, rendered (pages only); CSS the
	// inlined stylesheet.
	Main template.HTML
	CSS  template.CSS
	// Version and ETag are the rendered view's (pages only): the page
	// sends them back on its first refresh.
	Version, ETag string
}

// T translates key.
func (p *pageData) T(key string) string { return tr(p.Lang, key) }

// Ask is a control's confirmation question.
func (p *pageData) Ask(key string, args ...any) string {
	return fmt.Sprintf(tr(p.Lang, "ask."+key), args...)
}

// Href is the URL of a view keeping the language (and, optionally, a run).
func (p *pageData) Href(v string, run string) string {
	q := url.Values{}
	if p.Lang != "en" {
		q.Set("lang", p.Lang)
	}
	if run != "" {
		q.Set("run", run)
	}
	u := PagePrefix + v
	if v == string(viewEstate) && run == "" && len(q) == 0 {
		u = "/"
	}
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// LangHref is the current view's URL in another language.
func (p *pageData) LangHref(lang string) string {
	q := url.Values{}
	if lang != "en" {
		q.Set("lang", lang)
	}
	if p.Query.Q != "" {
		q.Set("q", p.Query.Q)
	}
	if p.Query.Run != "" {
		q.Set("run", p.Query.Run)
	}
	u := PagePrefix + string(p.View)
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	return u
}

// Views lists the views for the navigation.
func (p *pageData) Views() []string { return viewNames() }

func parseTemplates() (*template.Template, error) {
	funcs := template.FuncMap{
		"badge":     badge,
		"badgeHTML": func(lang, kind, state string) template.HTML { return badge(lang, kind, state).HTML() },
		"sparkHTML": sparkHTML,
		"iso": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format(time.RFC3339)
		},
		"utc": func(t time.Time) string {
			if t.IsZero() {
				return ""
			}
			return t.UTC().Format("2006-01-02 15:04:05Z")
		},
		"join": strings.Join,
		"add":  func(a, b int) int { return a + b },
		"has": func(list []string, s string) bool {
			for _, x := range list {
				if x == s {
					return true
				}
			}
			return false
		},
		"sec": func(lang string, s section) secData {
			d := secData{Off: s.Off, Message: s.Message, Text: tr(lang, "unavailable")}
			if s.Off {
				d.Text = tr(lang, "off")
			}
			return d
		},
		"dict": func(kv ...any) (map[string]any, error) {
			if len(kv)%2 != 0 {
				return nil, fmt.Errorf("dict: odd number of arguments")
			}
			m := make(map[string]any, len(kv)/2)
			for i := 0; i < len(kv); i += 2 {
				k, ok := kv[i].(string)
				if !ok {
					return nil, fmt.Errorf("dict: key %v is not a string", kv[i])
				}
				m[k] = kv[i+1]
			}
			return m, nil
		},
		"viewbox": func(g Graph) string { return fmt.Sprintf("0 0 %d %d", g.Width, g.Height) },
	}
	sub, err := fs.Sub(templateFS, "templates")
	if err != nil {
		return nil, fmt.Errorf("console: templates: %w", err)
	}
	t, err := template.New("console").Funcs(funcs).ParseFS(sub, "*.html")
	if err != nil {
		return nil, fmt.Errorf("console: templates: %w", err)
	}
	return t, nil
}
