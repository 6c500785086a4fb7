// minato console: refreshes the view from the agent's API, localises
// times, and sends the controls with the operator's token. No framework,
// no build step. The token lives in sessionStorage (this tab only) and
// travels only as the Authorization header, never in a URL.
(function () {
  "use strict";
  var body = document.body;
  var view = body.getAttribute("data-view");
  var lang = body.getAttribute("data-lang") || "en";
  var poll = parseInt(body.getAttribute("data-poll"), 10) || 1000;
  var main = document.getElementById("main");
  var flash = document.getElementById("flash");
  var KEY = "minato.console.token";
  var last = "";
  var timer = null;

  function token() { try { return sessionStorage.getItem(KEY) || ""; } catch (e) { return ""; } }
  function headers(extra) {
    var h = extra || {};
    var t = token();
    if (t) { h["Authorization"] = "Bearer " + t; }
    return h;
  }
  function say(text, bad) {
    flash.textContent = text;
    flash.className = "flash" + (bad ? " crit" : "");
    flash.hidden = !text;
  }
  function tokenState() {
    var st = document.getElementById("token-state");
    if (st) { st.hidden = !token(); }
  }

  var fmt;
  try {
    fmt = new Intl.DateTimeFormat(lang === "ja" ? "ja-JP" : undefined, {
      year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit", timeZoneName: "short"
    });
  } catch (e) { fmt = null; }
  function localise(root) {
    if (!fmt) { return; }
    var ts = root.querySelectorAll("time[datetime]");
    for (var i = 0; i < ts.length; i++) {
      var d = new Date(ts[i].getAttribute("datetime"));
      if (!isNaN(d)) { ts[i].title = ts[i].textContent; ts[i].textContent = fmt.format(d); }
    }
  }

  function errorText(resp, text) {
    try { var j = JSON.parse(text); if (j && j.error) { return resp.status + ": " + j.error; } } catch (e) { /* not JSON */ }
    return resp.status + ": " + (text || resp.statusText);
  }

  // refresh fetches the view's HTML from its twin and swaps it in,
  // keeping focus and open <details>. With wait, and a version from the
  // server (the estate and checks views of an agent that tracks
  // changes), the request waits on the server until the data may have
  // changed. The ETag of what the page shows comes back as 304 when
  // nothing did. An immediate refresh (a control, the token, the tab
  // shown again) replaces a waiting one.
  var version = body.getAttribute("data-version") || "";
  var etag = body.getAttribute("data-etag") || "";
  var current = null;
  var started = 0;
  function stamp() {
    var up = document.getElementById("updated");
    if (up) { up.textContent = (lang === "ja" ? "更新 " : "Updated ") + (fmt ? fmt.format(new Date()) : new Date().toISOString()); }
  }
  function settled() {
    if (flash.className.indexOf("crit") >= 0 && flash.getAttribute("data-sticky") !== "1") { say(""); }
    main.removeAttribute("data-locked");
    stamp();
  }
  function refresh(wait) {
    var waits = !!(wait && version);
    if (current) {
      if (waits || !current.waits) { return current.done; }
      if (current.ctl) { current.ctl.abort(); }
    }
    var params = new URLSearchParams(location.search);
    params.set("format", "html");
    if (waits) { params.set("since", version); }
    var h = { "Accept": "text/html" };
    if (etag) { h["If-None-Match"] = etag; }
    var me = { waits: waits, ctl: window.AbortController ? new AbortController() : null };
    started = Date.now();
    current = me;
    me.done = fetch("/api/v1/console/" + encodeURIComponent(view) + "?" + params.toString(), {
      headers: headers(h), cache: "no-store", credentials: "omit", signal: me.ctl ? me.ctl.signal : undefined
    }).then(function (resp) {
      if (resp.status === 304) {
        version = resp.headers.get("X-Console-Version") || "";
        settled();
        return;
      }
      return resp.text().then(function (text) {
        if (!resp.ok) {
          say((document.documentElement.lang === "ja" ? "更新できません: " : "Not updated: ") + errorText(resp, text), true);
          return;
        }
        version = resp.headers.get("X-Console-Version") || "";
        etag = resp.headers.get("ETag") || "";
        if (text !== last) {
          last = text;
          swap(text);
        }
        settled();
      });
    }).catch(function (e) {
      if (e && e.name === "AbortError") { return; }
      say((lang === "ja" ? "更新できません: " : "Not updated: ") + e.message, true);
    }).then(function () { if (current === me) { current = null; } });
    return me.done;
  }

  function swap(html) {
    var active = document.activeElement;
    var key = active && main.contains(active) ? (active.getAttribute("data-key") || active.id) : "";
    var open = [];
    var ds = main.querySelectorAll("details[id][open]");
    for (var i = 0; i < ds.length; i++) { open.push(ds[i].id); }
    var sel = {};
    var ss = main.querySelectorAll("select[id]");
    for (var j = 0; j < ss.length; j++) { sel[ss[j].id] = ss[j].value; }
    main.innerHTML = html;
    for (var k = 0; k < open.length; k++) {
      var d = document.getElementById(open[k]);
      if (d) { d.open = true; }
    }
    for (var id in sel) {
      var s = document.getElementById(id);
      if (s) { s.value = sel[id]; }
    }
    localise(main);
    if (key) {
      var el = main.querySelector('[data-key="' + cssEscape(key) + '"]') || document.getElementById(key);
      if (el) { el.focus({ preventScroll: true }); }
    }
  }
  function cssEscape(s) { return window.CSS && CSS.escape ? CSS.escape(s) : s.replace(/["\\]/g, "\\$&"); }

  // schedule runs the next refresh: poll after the last one ended or,
  // when the view waits for changes, poll after the last one started (a
  // refresh that waited that long goes again at once), so that refreshes
  // come at most every poll and a change shows as soon as it happens.
  function schedule() {
    clearTimeout(timer);
    var delay = version ? Math.max(50, started + poll - Date.now()) : poll;
    timer = setTimeout(function () {
      if (document.hidden) { timer = setTimeout(schedule, poll); return; }
      refresh(true).then(schedule);
    }, delay);
  }

  // Controls: every button with data-ctl, confirmed in a dialog, then
  // POSTed to the public API as JSON with the token.
  var dialog = document.getElementById("confirm");
  var pending = null;
  function controlPath(b) {
    var c = b.getAttribute("data-ctl");
    var e = encodeURIComponent;
    var run = b.getAttribute("data-run"), unit = b.getAttribute("data-unit");
    var q = b.getAttribute("data-queue"), g = b.getAttribute("data-group");
    var parts = c.split("-"), kind = parts[0], action = parts.slice(1).join("-");
    switch (kind) {
      case "unit": return { path: "/api/v1/runs/" + e(run) + "/units/" + e(unit) + "/" + action, body: {} };
      case "run": return { path: "/api/v1/runs/" + e(run) + "/" + action, body: {} };
      case "queue": return { path: "/api/v1/queues/" + e(q) + "/" + action, body: {} };
      case "ha":
        var bodyv = {};
        if (action === "move") {
          var s = document.querySelector('select[data-move-for="' + cssEscape(g) + '"]');
          bodyv.node = s ? s.value : "";
        }
        return { path: "/api/v1/ha/groups/" + e(g) + "/" + action, body: bodyv };
    }
    return null;
  }
  function send(b) {
    var p = controlPath(b);
    if (!p) { return; }
    say(lang === "ja" ? "送信中…" : "Sending…");
    fetch(p.path, {
      method: "POST", headers: headers({ "Content-Type": "application/json", "Accept": "application/json" }),
      body: JSON.stringify(p.body), cache: "no-store", credentials: "omit"
    }).then(function (resp) {
      return resp.text().then(function (text) {
        if (!resp.ok) {
          flash.setAttribute("data-sticky", "1");
          say((lang === "ja" ? "拒否されました " : "Refused ") + errorText(resp, text), true);
          return;
        }
        flash.removeAttribute("data-sticky");
        say((lang === "ja" ? "完了: " : "Done: ") + b.textContent.trim());
        if (b.getAttribute("data-ctl") === "run-rerun") {
          try {
            var rec = JSON.parse(text);
            if (rec && rec.id) {
              var params = new URLSearchParams(location.search);
              params.set("run", rec.id);
              history.replaceState(null, "", location.pathname + "?" + params.toString());
            }
          } catch (e) { /* keep the page */ }
        }
        return refresh();
      });
    }).catch(function (e) { say(e.message, true); });
  }
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest ? ev.target.closest("button[data-ctl]") : null;
    if (!b) { return; }
    ev.preventDefault();
    pending = b;
    if (dialog && dialog.showModal) {
      document.getElementById("confirm-text").textContent = b.getAttribute("data-ask") || b.textContent;
      dialog.returnValue = "";
      dialog.showModal();
      document.getElementById("confirm-no").focus();
    } else if (window.confirm(b.getAttribute("data-ask") || b.textContent)) {
      send(b);
    }
  });
  if (dialog) {
    dialog.addEventListener("close", function () {
      var b = pending;
      pending = null;
      if (dialog.returnValue === "ok" && b) { send(b); }
      if (b && document.body.contains(b)) { b.focus(); }
    });
  }

  var form = document.getElementById("token-form");
  if (form) {
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var input = document.getElementById("token-input");
      var v = input.value.trim();
      input.value = "";
      try { if (v) { sessionStorage.setItem(KEY, v); } } catch (e) { /* storage off */ }
      tokenState();
      flash.removeAttribute("data-sticky");
      say("");
      refresh();
    });
    document.getElementById("token-forget").addEventListener("click", function () {
      try { sessionStorage.removeItem(KEY); } catch (e) { /* storage off */ }
      tokenState();
    });
  }
  document.addEventListener("visibilitychange", function () { if (!document.hidden) { refresh(); } });

  tokenState();
  localise(document);
  if (main.getAttribute("data-locked") === "1" && token()) { refresh(); }
  schedule();
})();
