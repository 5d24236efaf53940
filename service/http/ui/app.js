// wagateway dashboard. Plain JavaScript, no library, no inline script (the
// page's Content-Security-Policy forbids both). Every value shown goes
// through textContent, never innerHTML: session ids and reasons come from
// outside.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const state = {
    csrf: "",
    features: {},
    authRequired: false,
    sessions: new Map(), // id → session as GET /sessions/{id} answers
    seenHistory: new Map(), // id → [{estado_qr, reason, at}] seen over SSE
    deleted: new Set(), // deleted here: the stop's own update, pushed late, must not bring the row back
    events: null,
    current: "", // id of the session view, "" on the list
    countdown: 0,
    delivery: null,
  };

  // ---------- HTTP ----------
  async function api(method, path, body) {
    const headers = { "Accept": "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (state.csrf && method !== "GET") headers["X-CSRF-Token"] = state.csrf;
    const res = await fetch(path, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    let data = null;
    const type = res.headers.get("Content-Type") || "";
    if (type.startsWith("application/json")) data = await res.json();
    if (res.status === 401 && path !== "/ui/login") {
      showLogin("Your sign-in expired: sign in again.");
    }
    if (!res.ok) {
      const msg = data && data.error ? data.error.message : res.status + " " + res.statusText;
      const err = new Error(msg);
      err.status = res.status;
      throw err;
    }
    return data;
  }

  // ---------- formatting ----------
  function fmtTime(v) {
    if (!v) return "–";
    const d = typeof v === "number" ? new Date(v) : new Date(v);
    if (isNaN(d.getTime()) || d.getTime() <= 0) return "–";
    return d.toLocaleString(undefined, { hour12: false });
  }
  function fmtAgo(ms) {
    if (!ms || ms <= 0) return "never";
    const s = Math.round((Date.now() - ms) / 1000);
    if (s < 1) return "just now";
    return fmtDuration(s * 1000) + " ago";
  }
  function fmtDuration(ms) {
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return s + " s";
    const m = Math.floor(s / 60);
    if (m < 60) return m + " min " + (s % 60) + " s";
    return Math.floor(m / 60) + " h " + (m % 60) + " min";
  }
  function phoneOf(jid) {
    if (!jid) return "–";
    return "+" + jid.split("@")[0].split(":")[0].split(".")[0];
  }
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) e.append(c);
    return e;
  }
  function badge(status) {
    return el("span", { class: "badge " + (status || "unknown"), text: status || "unknown" });
  }
  function notice(msg) { $("notice").textContent = msg; }

  // ---------- confirmation ----------
  function confirmAction(message) {
    const dlg = $("confirm");
    $("confirm-msg").textContent = message;
    return new Promise((resolve) => {
      dlg.addEventListener("close", () => resolve(dlg.returnValue === "ok"), { once: true });
      dlg.returnValue = "cancel";
      dlg.showModal();
      $("confirm-cancel").focus();
    });
  }

  const actions = {
    logout: { label: "Logout", danger: true, method: "POST", path: (id) => "/sessions/" + id + "/logout",
      ask: (id) => "Log out session " + id + "? The phone is unlinked and must scan again." },
    stop: { label: "Stop", danger: false, method: "POST", path: (id) => "/sessions/" + id + "/stop",
      ask: (id) => "Stop session " + id + "? The device stays linked; start it again to reconnect.", feature: "stop" },
    delete: { label: "Delete", danger: true, method: "DELETE", path: (id) => "/sessions/" + id,
      ask: (id) => "Delete session " + id + "? It is stopped, unlinked and forgotten." },
  };
  async function runAction(name, id) {
    const a = actions[name];
    if (!(await confirmAction(a.ask(id)))) return;
    try {
      await api(a.method, a.path(id));
      notice(a.label + ": done for " + id + ".");
      if (name === "delete") {
        state.deleted.add(id);
        state.sessions.delete(id);
        renderSessions();
        if (state.current === id) location.hash = "#/";
      } else {
        await refreshSession(id);
      }
    } catch (e) {
      notice(a.label + " of " + id + " failed: " + e.message);
    }
  }
  function actionButtons(id, small) {
    const box = el("div", { class: "actions" });
    for (const [name, a] of Object.entries(actions)) {
      if (a.feature && !state.features[a.feature]) continue;
      const b = el("button", { type: "button", class: (a.danger ? "danger" : "secondary") + (small ? " small" : ""),
        "data-action": name, "aria-label": a.label + " " + id, text: a.label });
      b.addEventListener("click", () => runAction(name, id));
      box.append(b);
    }
    return box;
  }

  // ---------- sessions list ----------
  function renderSessions() {
    const want = $("filter-status").value;
    const q = $("filter-search").value.trim().toLowerCase();
    const body = $("sessions-body");
    const rows = [];
    const ids = [...state.sessions.keys()].sort();
    for (const id of ids) {
      const s = state.sessions.get(id);
      if (want && s.estado_qr !== want) continue;
      if (q && !id.toLowerCase().includes(q)) continue;
      const link = el("a", { href: "#/sessions/" + encodeURIComponent(id), class: "mono", text: id });
      const tr = el("tr", { "data-session": id },
        el("td", { "data-label": "Session" }, link),
        el("td", { "data-label": "estado_qr" }, badge(s.estado_qr)),
        el("td", { "data-label": "Reason", text: s.reason || "–" }),
        el("td", { "data-label": "Phone", text: phoneOf(s.jid) }),
        el("td", { "data-label": "Instance", text: s.instance || "–" }),
        el("td", { "data-label": "Last change", text: fmtTime(s.updated_at) }),
        el("td", { "data-label": "Actions" }, actionButtons(id, true)));
      rows.push(tr);
    }
    body.replaceChildren(...rows);
    $("sessions-empty").hidden = rows.length > 0;
    $("sessions-count").textContent = "(" + rows.length + " of " + state.sessions.size + ")";
  }

  async function loadSessions() {
    const data = await api("GET", "/sessions");
    state.sessions.clear();
    for (const s of data.sessions || []) state.sessions.set(s.session_id, s);
    renderSessions();
  }

  async function refreshSession(id) {
    try {
      const s = await api("GET", "/sessions/" + encodeURIComponent(id));
      upsert(s);
    } catch (e) {
      if (e.status === 404) {
        state.sessions.delete(id);
        renderSessions();
      }
    }
  }

  function upsert(s) {
    const id = s.session_id;
    const old = state.sessions.get(id);
    if (!old || old.estado_qr !== s.estado_qr || (old.reason || "") !== (s.reason || "")) {
      const seen = state.seenHistory.get(id) || [];
      seen.push({ estado_qr: s.estado_qr || "unknown", reason: s.reason || "", at: s.updated_at || new Date().toISOString() });
      state.seenHistory.set(id, seen.slice(-50));
    }
    state.sessions.set(id, s);
    renderSessions();
    if (state.current === id) renderSession(s, old);
  }

  // ---------- session view ----------
  function renderSession(s, old) {
    $("s-id").textContent = s.session_id;
    const st = $("s-status");
    st.className = "badge " + (s.estado_qr || "unknown");
    st.textContent = s.estado_qr || "unknown";
    $("s-reason").textContent = s.reason || "–";
    $("s-phone").textContent = phoneOf(s.jid);
    $("s-instance").textContent = s.instance || "–";
    $("s-updated").textContent = fmtTime(s.updated_at);
    const img = $("qr-img");
    const hasQR = s.estado_qr === "pending" && !!s.qr;
    $("qr-box").hidden = !hasQR;
    $("qr-none").hidden = hasQR;
    $("qr-none").textContent = s.estado_qr === "active" ? "Linked: no QR code needed." : "No QR code to show.";
    if (hasQR && img.getAttribute("src") !== s.qr) {
      img.setAttribute("src", s.qr);
      img.alt = "QR code to link session " + s.session_id;
      img.dataset.rotations = String(Number(img.dataset.rotations || 0) + 1);
    }
    state.qrExpires = hasQR && s.qr_expires_at ? Date.parse(s.qr_expires_at) : 0;
    tickCountdown();
    $("sim-scan").hidden = !(state.features.sim && s.estado_qr === "pending");
    $("pair-form").hidden = !state.features.pair_phone || s.estado_qr === "active";
    if (old && old.estado_qr !== s.estado_qr) notice("Session " + s.session_id + " is now " + s.estado_qr + ".");
    $("s-actions").replaceChildren(actionButtons(s.session_id, false));
    renderHistory(s.session_id);
  }

  function tickCountdown() {
    const out = $("qr-countdown");
    if (!state.qrExpires) { out.textContent = ""; return; }
    const left = state.qrExpires - Date.now();
    out.textContent = left > 0 ? "This code expires in " + fmtDuration(left) + "." : "This code expired; a new one follows.";
  }

  let historyFromServer = null;
  async function loadHistory(id) {
    historyFromServer = null;
    try {
      const res = await fetch("/sessions/" + encodeURIComponent(id) + "/history",
        { headers: { "Accept": "application/json" }, credentials: "same-origin" });
      if (res.ok) {
        const data = await res.json();
        const list = Array.isArray(data) ? data : (data.history || data.entries || data.statuses || []);
        historyFromServer = list.map((h) => ({
          estado_qr: h.estado_qr || h.status || "", reason: h.reason || "",
          at: h.updated_at || h.at || h.time || "", instance: h.instance || "",
        }));
      }
    } catch (e) { /* no history route: keep what this page saw */ }
    renderHistory(id);
  }
  function renderHistory(id) {
    const list = historyFromServer || state.seenHistory.get(id) || [];
    $("history-note").textContent = historyFromServer
      ? "From the gateway, oldest first."
      : "This gateway keeps no status history: these are the changes seen since this page opened.";
    $("history").replaceChildren(...list.map((h) => el("li", {},
      badge(h.estado_qr), " ", fmtTime(h.at), h.reason ? " – " + h.reason : "", h.instance ? " (" + h.instance + ")" : "")));
  }

  async function openSession(id) {
    state.current = id;
    $("pair-result").hidden = true;
    $("pair-error").textContent = "";
    $("qr-img").dataset.rotations = "0";
    $("qr-img").removeAttribute("src");
    let s = state.sessions.get(id);
    try {
      s = await api("GET", "/sessions/" + encodeURIComponent(id));
      state.sessions.set(id, s);
      if (!state.seenHistory.has(id)) {
        state.seenHistory.set(id, [{ estado_qr: s.estado_qr || "unknown", reason: s.reason || "", at: s.updated_at || "" }]);
      }
    } catch (e) {
      notice("Session " + id + ": " + e.message);
    }
    if (s) renderSession(s);
    loadHistory(id);
  }

  // ---------- delivery panel ----------
  function setMetric(name, value) {
    const e = document.querySelector('[data-metric="' + name + '"]');
    if (e) e.textContent = value;
  }
  function renderDelivery(d) {
    state.delivery = d;
    const b = d.batch || {};
    for (const k of ["accepted", "requests", "sent", "requestsSaved", "retries", "failed", "superseded", "deadLettered"]) {
      setMetric(k, String(b[k] || 0));
    }
    const delivered = (b.requests || 0) - (b.failed || 0);
    setMetric("itemsPerRequest", delivered > 0 ? (b.sent / delivered).toFixed(1) : "–");
    setMetric("lastFlushQr", fmtAgo(b.lastFlushQr));
    setMetric("lastFlushStatus", fmtAgo(b.lastFlushStatus));
    $("delivery-mode").textContent = "Mode " + (b.mode || "?") + ", outbox " + (b.durable ? "durable" : "in memory (not durable)") + ".";
    const lanes = b.lanes || {};
    $("lanes-body").replaceChildren(...Object.keys(lanes).sort().map((name) => {
      const l = lanes[name];
      return el("tr", { "data-lane": name },
        el("th", { scope: "row", text: name }),
        el("td", { "data-lane-pending": name, text: String(l.pending || 0) }),
        el("td", { text: l.pending ? fmtDuration(l.oldestMs) : "–" }),
        el("td", { text: fmtAgo(l.lastFlush) }));
    }));
    const h = d.health || {};
    for (const k of ["redis", "laravel"]) {
      const e = document.querySelector('[data-health="' + k + '"]');
      e.textContent = h[k] || "–";
      e.className = h[k] === "up" ? "up" : h[k] === "down" ? "down" : "";
    }
    const codes = (d.traffic && d.traffic.statusCodes) || {};
    const keys = Object.keys(codes).sort();
    $("codes").replaceChildren(...(keys.length ? keys.map((k) => el("li", { "data-code": k, text: k + ": " + codes[k] }))
      : [el("li", { class: "muted", text: "no request yet" })]));
    renderChart((d.traffic && d.traffic.perMinute) || []);
    const dead = d.deadLetters || [];
    $("dead-body").replaceChildren(...dead.map((x) => el("tr", {},
      el("td", { class: "mono", "data-label": "Session", text: x.session_id }),
      el("td", { "data-label": "Kind", text: x.kind + (x.estado_qr ? " (" + x.estado_qr + ")" : "") }),
      el("td", { class: "reason", "data-label": "Reason", text: x.reason }),
      el("td", { "data-label": "When", text: fmtTime(x.dead_at) }))));
    $("dead-empty").hidden = dead.length > 0;
    $("dead").hidden = dead.length === 0;
    if (d.deadLetters === null) $("dead-empty").textContent = "Not available on this gateway.";
  }

  const SVG = "http://www.w3.org/2000/svg";
  function svg(tag, attrs) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    return e;
  }
  function renderChart(minutes) {
    const W = 300, H = 140, pad = 16;
    const root = svg("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-labelledby": "chart-h chart-summary", preserveAspectRatio: "none" });
    const max = Math.max(1, ...minutes.map((m) => Math.max(m.requests, m.events)));
    const n = Math.max(minutes.length, 10);
    const slot = (W - pad) / n, bw = Math.max(1, slot / 2 - 1);
    minutes.forEach((m, i) => {
      const x = pad + i * slot;
      for (const [j, v, cls] of [[0, m.requests, "batch"], [1, m.events, "direct"]]) {
        const h = (H - pad) * v / max;
        const r = svg("rect", { x: x + j * bw, y: H - pad - h, width: bw, height: h, class: "bar " + cls });
        const t = svg("title", {});
        t.textContent = new Date(m.start).toLocaleTimeString(undefined, { hour12: false, hour: "2-digit", minute: "2-digit" }) +
          ": " + v + (cls === "batch" ? " requests" : " events");
        r.append(t);
        root.append(r);
      }
    });
    root.append(svg("line", { x1: pad, y1: H - pad, x2: W, y2: H - pad, class: "axis" }));
    const hhmm = (m) => new Date(m.start).toLocaleTimeString(undefined, { hour12: false, hour: "2-digit", minute: "2-digit" });
    if (minutes.length) {
      const first = svg("text", { x: pad, y: H - 3 });
      first.textContent = hhmm(minutes[0]);
      const last = svg("text", { x: W - 2, y: H - 3, "text-anchor": "end" });
      last.textContent = hhmm(minutes[minutes.length - 1]);
      root.append(first, last);
    }
    const label = svg("text", { x: 2, y: 10 });
    label.textContent = String(max);
    root.append(label);
    $("chart").replaceChildren(root);
    const req = minutes.reduce((a, m) => a + m.requests, 0), ev = minutes.reduce((a, m) => a + m.events, 0);
    $("chart-summary").textContent = minutes.length
      ? "Last " + minutes.length + " min: " + req + " requests sent for " + ev + " events" +
        (ev > 0 ? " (" + Math.round(100 * (1 - req / ev)) + " % fewer than one request per event)." : ".")
      : "No traffic yet.";
  }

  // ---------- live updates ----------
  function connectEvents() {
    if (state.events) state.events.close();
    const es = new EventSource("/ui/events");
    state.events = es;
    es.addEventListener("open", () => setLive(true));
    es.addEventListener("delivery", (ev) => renderDelivery(JSON.parse(ev.data)));
    es.addEventListener("session", (ev) => {
      const s = JSON.parse(ev.data);
      if (!s.estado_qr && s.source === "none") {
        state.sessions.delete(s.session_id);
        renderSessions();
        return;
      }
      // A deleted session comes back only when it runs again.
      if (state.deleted.has(s.session_id) && s.source !== "live") return;
      state.deleted.delete(s.session_id);
      upsert(s);
    });
    es.addEventListener("error", () => {
      setLive(false);
      if (es.readyState === EventSource.CLOSED) {
        // Refused (signed out?): ask the server what it thinks of us.
        setTimeout(boot, 3000);
      }
    });
  }
  function setLive(on) {
    const e = $("live");
    e.className = "live " + (on ? "on" : "off");
    e.textContent = on ? (state.features.live ? "live" : "connected (no live session feed)") : "reconnecting…";
  }

  // ---------- views ----------
  function show(view) {
    for (const v of ["login-view", "home-view", "session-view"]) $(v).hidden = v !== view;
    $("signout").hidden = !state.authRequired || view === "login-view";
  }
  function showLogin(msg) {
    if (state.events) { state.events.close(); state.events = null; }
    state.csrf = "";
    show("login-view");
    $("live").textContent = "signed out";
    $("live").className = "live off";
    $("login-error").textContent = msg || "";
    $("api-key").focus();
  }
  function route() {
    notice("");
    const m = location.hash.match(/^#\/sessions\/(.+)$/);
    if (m) {
      show("session-view");
      openSession(decodeURIComponent(m[1]));
    } else {
      state.current = "";
      show("home-view");
    }
  }

  async function boot() {
    let info;
    try {
      info = await api("GET", "/ui/session");
    } catch (e) {
      notice("The gateway does not answer: " + e.message);
      return;
    }
    state.features = info.features || {};
    state.authRequired = !!info.auth_required;
    if (!info.authenticated) { showLogin(); return; }
    state.csrf = info.csrf || "";
    await start();
  }
  async function start() {
    try {
      await loadSessions();
    } catch (e) {
      if (e.status !== 401) notice("Loading sessions failed: " + e.message);
      return;
    }
    connectEvents();
    route();
  }

  function wire() {
    $("login-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const key = $("api-key").value;
      if (!key) { $("login-error").textContent = "Enter the gateway's API key."; return; }
      try {
        const res = await api("POST", "/ui/login", { api_key: key });
        $("api-key").value = "";
        $("login-error").textContent = "";
        state.csrf = res.csrf || "";
        await start();
      } catch (e) {
        $("login-error").textContent = e.status === 401 ? "Wrong API key." : "Sign-in failed: " + e.message;
        $("api-key").select();
      }
    });
    $("signout").addEventListener("click", async () => {
      try { await api("POST", "/ui/logout"); } catch (e) { /* the cookie is cleared either way */ }
      showLogin("Signed out.");
    });
    $("start-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const id = $("start-id").value.trim();
      if (!/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
        $("start-error").textContent = "A session id is 1 to 64 letters, digits, _ or -.";
        $("start-id").focus();
        return;
      }
      $("start-error").textContent = "";
      try {
        const res = await api("POST", "/start", { session_id: id });
        state.deleted.delete(res.session_id);
        $("start-id").value = "";
        await refreshSession(res.session_id);
        location.hash = "#/sessions/" + encodeURIComponent(res.session_id);
      } catch (e) {
        $("start-error").textContent = "Start failed: " + e.message;
      }
    });
    $("filter-status").addEventListener("change", renderSessions);
    $("filter-search").addEventListener("input", renderSessions);
    $("sim-scan").addEventListener("click", async () => {
      try {
        await api("POST", "/sim/sessions/" + encodeURIComponent(state.current) + "/scan");
        notice("Scan sent to the simulated phone.");
      } catch (e) { notice("Scan failed: " + e.message); }
    });
    $("pair-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const phone = $("pair-phone").value.replace(/[^0-9]/g, "");
      if (!/^[0-9]{7,15}$/.test(phone)) {
        $("pair-error").textContent = "Give 7 to 15 digits, country code first.";
        return;
      }
      $("pair-error").textContent = "";
      try {
        const res = await api("POST", "/sessions/" + encodeURIComponent(state.current) + "/pair-phone", { phone });
        $("pair-code").textContent = res.code;
        $("pair-result").hidden = false;
      } catch (e) { $("pair-error").textContent = "Pairing failed: " + e.message; }
    });
    window.addEventListener("hashchange", route);
    setInterval(() => {
      tickCountdown();
      if (state.delivery) {
        const b = state.delivery.batch || {};
        setMetric("lastFlushQr", fmtAgo(b.lastFlushQr));
        setMetric("lastFlushStatus", fmtAgo(b.lastFlushStatus));
      }
    }, 1000);
  }

  document.addEventListener("DOMContentLoaded", () => { wire(); boot(); });
})();
