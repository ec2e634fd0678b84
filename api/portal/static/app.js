/* The verification portal: one page shell, drawn by the path, in Chinese or English.
 * Plain JavaScript, no library, no request beyond this node. Every value that comes from the
 * ledger is written with textContent, never as HTML. */
(function () {
  "use strict";

  var I18N = window.I18N, SM3 = window.SM3, Ledger = window.Ledger;
  var lang = pickLanguage();
  var state = {}; // per page: what was entered and found, so a language switch redraws it
  var genesisHash = null;

  // --- helpers ---------------------------------------------------------------------------

  function pickLanguage() {
    var q = new URLSearchParams(location.search).get("lang");
    if (q === "zh" || q === "en") return q;
    try {
      var saved = localStorage.getItem("portal.lang");
      if (saved === "zh" || saved === "en") return saved;
    } catch (e) { /* storage may be off */ }
    return (navigator.language || "zh").toLowerCase().indexOf("zh") === 0 ? "zh" : "en";
  }

  function t(key, params) {
    var text = (I18N[lang] && I18N[lang][key]) || I18N.en[key] || key;
    if (params) {
      Object.keys(params).forEach(function (k) {
        text = text.split("{" + k + "}").join(String(params[k]));
      });
    }
    return text;
  }

  function tOr(key, fallback, params) {
    return I18N[lang][key] || I18N.en[key] ? t(key, params) : fallback;
  }

  function both(obj) {
    if (!obj) return "";
    return obj[lang] || obj.en || "";
  }

  function h(tag, attrs) {
    var el = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) return;
        if (k === "class") el.className = v;
        else if (k === "text") el.textContent = v;
        else if (k.indexOf("on") === 0) el.addEventListener(k.slice(2), v);
        else el.setAttribute(k, v === true ? "" : v);
      });
    }
    for (var i = 2; i < arguments.length; i++) append(el, arguments[i]);
    return el;
  }

  function append(el, child) {
    if (child === null || child === undefined || child === false) return;
    if (Array.isArray(child)) child.forEach(function (c) { append(el, c); });
    else if (typeof child === "string" || typeof child === "number") el.appendChild(document.createTextNode(String(child)));
    else el.appendChild(child);
  }

  function icon(name, cls) {
    return h("img", { src: "/portal/i-" + name + ".svg", alt: "", class: "ic " + (cls || ""), "aria-hidden": "true" });
  }

  function link(href, text, cls) {
    return h("a", { href: href, "data-link": true, class: cls }, text);
  }

  function short(s, n) {
    s = String(s || "");
    n = n || 12;
    return s.length > n + 1 ? s.slice(0, n) + "…" : s;
  }

  function mono(text, cls) {
    return h("code", { class: "mono " + (cls || "") }, text);
  }

  function pad(n, w) {
    var s = String(n);
    while (s.length < (w || 2)) s = "0" + s;
    return s;
  }

  // Beijing time (UTC+8), written out by hand so that every browser shows the same thing
  function beijing(ms, compact) {
    if (typeof ms !== "number") return "—";
    var d = new Date(ms + 8 * 3600 * 1000);
    var text = d.getUTCFullYear() + "-" + pad(d.getUTCMonth() + 1) + "-" + pad(d.getUTCDate()) +
      " " + pad(d.getUTCHours()) + ":" + pad(d.getUTCMinutes()) + ":" + pad(d.getUTCSeconds());
    if (compact) return text;
    return text + (lang === "zh" ? "（北京时间）" : " (Beijing time)");
  }

  function sizeText(n) {
    if (n < 1024) return n + " B";
    if (n < 1024 * 1024) return (n / 1024).toFixed(1) + " KiB";
    return (n / 1024 / 1024).toFixed(1) + " MiB";
  }

  function api(path, options) {
    return fetch(path, options).then(function (r) {
      var type = r.headers.get("content-type") || "";
      if (type.indexOf("application/json") !== 0) {
        if (!r.ok) throw new Error(r.status + " " + r.statusText);
        return r;
      }
      return r.json().then(function (body) {
        if (!r.ok) {
          var err = new Error((body.error && body.error.message) || r.statusText);
          err.status = r.status;
          err.code = body.error && body.error.code;
          throw err;
        }
        return body;
      });
    });
  }

  function postJSON(path, value) {
    return api(path, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: typeof value === "string" ? value : JSON.stringify(value),
    });
  }

  function errorBox(err) {
    return h("div", { class: "alert bad", role: "alert" }, t("error") + ": " + (err && err.message ? err.message : String(err)));
  }

  function kv(rows) {
    return h("dl", { class: "kv" }, rows.filter(Boolean).map(function (r) {
      return [h("dt", null, r[0]), h("dd", null, r[1])];
    }));
  }

  var ICON = { pending: "◌", passed: "✓", failed: "✗", not_checked: "–", skipped: "?", info: "i", not_applicable: "–" };

  function stepList(steps, idPrefix) {
    return h("ol", { class: "steps", id: idPrefix ? idPrefix + "-steps" : null }, steps.map(function (s) {
      var outcome = s.outcome || "pending";
      return h("li", { class: "step " + outcome, "data-step": s.step, "data-outcome": outcome },
        h("span", { class: "icon", "aria-hidden": "true" }, ICON[outcome] || "·"),
        h("div", { class: "body" },
          h("div", { class: "head" },
            h("span", { class: "title" }, s.titleText || both(s.title)),
            h("span", { class: "badge " + outcome }, t("outcome_" + outcome))),
          s.textText || s.text ? h("p", { class: "text" }, s.textText || both(s.text)) : null,
          s.extra || null));
    }));
  }

  function verdict(kind, text, id) {
    return h("div", { class: "verdict " + kind, id: id || null, role: "status" },
      h("span", { class: "icon" }, kind === "good" ? "✓" : kind === "bad" ? "✗" : kind === "wait" ? "◌" : "?"),
      h("span", null, text));
  }

  function dropZone(opts) {
    var input = h("input", { type: "file", class: "hidden-input", multiple: opts.multiple ? true : null, accept: opts.accept || null, id: opts.id ? opts.id + "-input" : null });
    var zone = h("label", { class: "drop", id: opts.id || null, tabindex: "0" },
      input,
      icon("upload", "drop-icon"),
      h("span", { class: "drop-main" }, opts.label),
      opts.sub ? h("span", { class: "drop-sub" }, opts.sub) : null);
    input.addEventListener("change", function () {
      if (input.files && input.files.length) opts.onFiles(Array.prototype.slice.call(input.files));
      input.value = "";
    });
    zone.addEventListener("dragover", function (e) { e.preventDefault(); zone.classList.add("over"); });
    zone.addEventListener("dragleave", function () { zone.classList.remove("over"); });
    zone.addEventListener("drop", function (e) {
      e.preventDefault();
      zone.classList.remove("over");
      var files = e.dataTransfer && e.dataTransfer.files;
      if (files && files.length) opts.onFiles(Array.prototype.slice.call(files));
    });
    return zone;
  }

  function readText(file) {
    return file.text ? file.text() : new Promise(function (ok, no) {
      var r = new FileReader();
      r.onload = function () { ok(r.result); };
      r.onerror = no;
      r.readAsText(file);
    });
  }

  function pageHeader(titleKey, leadKey) {
    return [h("h1", null, t(titleKey)), leadKey ? h("p", { class: "lead" }, t(leadKey)) : null];
  }

  // --- navigation ------------------------------------------------------------------------

  var NAV = [
    ["/verify/evidence", "nav_evidence"],
    ["/verify/receipt", "nav_receipt"],
    ["/verify/card", "nav_card"],
    ["/tenders", "nav_tenders"],
    ["/explorer", "nav_explorer"],
    ["/status", "nav_status"],
  ];

  var ROUTES = [
    [/^\/$/, pageHome],
    [/^\/verify\/evidence$/, pageEvidence],
    [/^\/verify\/receipt$/, pageReceipt],
    [/^\/verify\/card$/, pageCard],
    [/^\/verify\/report$/, pageReport],
    [/^\/tenders$/, pageTenders],
    [/^\/tenders\/([^/]+)$/, pageTender],
    [/^\/explorer$/, pageExplorer],
    [/^\/explorer\/search$/, pageSearch],
    [/^\/explorer\/block\/(\d+)$/, pageBlock],
    [/^\/explorer\/tx\/([0-9a-f]{64})$/, pageTx],
    [/^\/status$/, pageStatus],
  ];

  function navigate(href) {
    history.pushState(null, "", href);
    render();
    window.scrollTo(0, 0);
  }

  document.addEventListener("click", function (e) {
    var a = e.target.closest && e.target.closest("a[data-link]");
    if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) return;
    e.preventDefault();
    navigate(a.getAttribute("href"));
  });
  window.addEventListener("popstate", render);

  function chrome() {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    document.title = t("brand") + " · " + t("brand_sub");
    var brand = document.getElementById("brand");
    brand.textContent = "";
    append(brand, [icon("logo", "logo"),
      h("span", { class: "brand-text" }, h("strong", null, t("brand")), h("small", null, t("brand_sub")))]);
    var nav = document.getElementById("nav");
    nav.textContent = "";
    NAV.forEach(function (item) {
      var active = location.pathname === item[0] || location.pathname.indexOf(item[0] + "/") === 0;
      nav.appendChild(h("a", { href: item[0], "data-link": true, class: active ? "active" : null, id: "nav-" + item[0].split("/").pop() }, t(item[1])));
    });
    var btn = document.getElementById("lang");
    btn.textContent = t("lang_switch");
    var footer = document.getElementById("footer");
    footer.textContent = "";
    append(footer, [h("p", null, t("footer")),
      genesisHash ? h("p", { class: "muted" }, t("genesis_fp") + ": ", mono(genesisHash)) : null]);
  }

  document.getElementById("lang").addEventListener("click", function () {
    lang = lang === "zh" ? "en" : "zh";
    try { localStorage.setItem("portal.lang", lang); } catch (e) { /* ignore */ }
    render();
  });

  function render() {
    chrome();
    var main = document.getElementById("main");
    main.textContent = "";
    var path = location.pathname.replace(/\/+$/, "") || "/";
    for (var i = 0; i < ROUTES.length; i++) {
      var m = ROUTES[i][0].exec(path);
      if (m) {
        var page = ROUTES[i][1](main, m.slice(1), new URLSearchParams(location.search));
        main.setAttribute("data-page", ROUTES[i][1].name);
        return page;
      }
    }
    append(main, h("p", null, "404"));
  }

  // --- home ------------------------------------------------------------------------------

  function searchForm(initial) {
    var input = h("input", { type: "search", name: "q", id: "search-q", placeholder: t("search_placeholder"), value: initial || "", "aria-label": t("search") });
    return h("form", { class: "search", id: "search-form", onsubmit: function (e) {
      e.preventDefault();
      var q = input.value.trim();
      if (q) navigate("/explorer/search?q=" + encodeURIComponent(q));
    } }, input, h("button", { type: "submit" }, t("search")));
  }

  function pageHome(main) {
    var tiles = [
      ["/verify/evidence", "nav_evidence", "tile_evidence", "file"],
      ["/verify/receipt", "nav_receipt", "tile_receipt", "receipt"],
      ["/verify/card", "nav_card", "tile_card", "card"],
      ["/tenders", "nav_tenders", "tile_tenders", "tender"],
      ["/explorer", "nav_explorer", "tile_explorer", "explorer"],
      ["/status", "nav_status", "tile_status", "status"],
    ];
    var line = h("p", { class: "muted", id: "home-status" }, t("loading"));
    append(main, [
      h("section", { class: "hero" }, h("h1", null, t("home_title")), h("p", { class: "lead" }, t("home_lead")), searchForm(), line),
      h("div", { class: "tiles" }, tiles.map(function (x) {
        return h("a", { class: "tile", href: x[0], "data-link": true },
          icon(x[3], "tile-icon"),
          h("strong", null, t(x[1])), h("span", null, t(x[2])));
      })),
      h("p", { class: "muted" }, link("/verify/report", t("nav_report"))),
    ]);
    api("/v1/explorer/status").then(function (s) {
      line.textContent = "";
      append(line, [t("st_chain") + " " + s.chain_id + " · " + t("st_height") + " " + s.height + " · " +
        t("st_txs") + " " + s.transactions + " · " + t("st_time") + " " + beijing(s.block_time_ms)]);
    }).catch(function () { line.textContent = ""; });
  }

  // --- evidence --------------------------------------------------------------------------

  function evidenceState() {
    if (!state.evidence) state.evidence = { deposit: "", items: [] };
    return state.evidence;
  }

  var EV_STEPS = ["hash", "deposit", "inclusion", "signatures", "time"];
  var EV_TITLES = {
    hash: { en: "Hash computed", zh: "计算文件指纹" },
    deposit: { en: "Deposit found", zh: "找到存证" },
    inclusion: { en: "Inclusion proof", zh: "包含证明" },
    signatures: { en: "Validator signatures", zh: "验证节点签名" },
    time: { en: "Deposit time", zh: "存证时间" },
  };

  function pageEvidence(main) {
    var st = evidenceState();
    var deposit = h("input", { type: "text", id: "ev-deposit", spellcheck: "false", autocomplete: "off", value: st.deposit, placeholder: "2b1d953a…", oninput: function () { st.deposit = deposit.value; } });
    var results = h("div", { id: "ev-results", class: "results" });
    append(main, [
      pageHeader("ev_title", "ev_lead"),
      h("div", { class: "field" }, h("label", { for: "ev-deposit" }, t("ev_deposit_label")), deposit, h("small", { class: "hint" }, t("ev_deposit_hint"))),
      dropZone({ id: "ev-drop", multiple: true, label: t("ev_drop"), sub: t("ev_drop_sub"), onFiles: function (files) {
        files.forEach(function (f) { verifyFile(f, st, results); });
      } }),
      results,
    ]);
    st.items.forEach(function (item) { results.appendChild(drawEvidence(item)); });
  }

  function verifyFile(file, st, results) {
    var item = { name: file.name, size: file.size, progress: 0, sm3: null, answer: null, error: null, deposit: (st.deposit || "").trim().toLowerCase() };
    item.id = "ev-item-" + (st.items.length + 1);
    st.items.unshift(item);
    var el = drawEvidence(item);
    results.insertBefore(el, results.firstChild);
    var redraw = function () {
      var fresh = drawEvidence(item);
      var old = document.getElementById(item.id);
      if (old) old.replaceWith(fresh);
    };
    var last = 0;
    SM3.hashBlob(file, function (p) {
      item.progress = p;
      var now = Date.now();
      if (now - last > 100) { last = now; redraw(); }
    }).then(function (hex) {
      item.sm3 = hex;
      redraw();
      var body = { sm3: hex, file_name: file.name };
      if (item.deposit) body.deposit_id = item.deposit;
      return postJSON("/v1/verify/evidence", body);
    }).then(function (answer) {
      item.answer = answer;
      item.browser = browserEvidenceCheck(answer);
      redraw();
    }).catch(function (err) {
      item.error = err;
      redraw();
    });
  }

  function browserEvidenceCheck(answer) {
    if (!answer.receipt || answer.result !== "match") return null;
    var r = Ledger.checkReceipt(answer.receipt);
    var problems = [];
    if (!r[1]) problems.push("tx_id");
    if (!r[3]) problems.push("inclusion");
    if (!r[4]) problems.push("block hash");
    if (answer.receipt.tx_id !== answer.deposit_id) problems.push("deposit id");
    if (!Ledger.checkFileInDeposit(answer.sm3, answer.file.index, answer.merkle_path || [], answer.receipt)) problems.push("file Merkle path");
    return problems;
  }

  function drawEvidence(item) {
    var steps, verdictEl;
    var a = item.answer;
    if (a) {
      steps = a.steps.map(function (s) { return Object.assign({}, s); });
      if (item.browser) {
        var inc = steps.filter(function (s) { return s.step === "inclusion"; })[0];
        if (inc && item.browser.length === 0) {
          inc.extra = h("p", { class: "browser-check ok" }, "✓ " + t("browser_check_ok"));
        } else if (inc) {
          inc.outcome = "failed";
          inc.extra = h("p", { class: "browser-check bad" }, "✗ " + t("browser_check_bad", { what: item.browser.join(", ") }));
        }
      }
      var res = a.result;
      if (item.browser && item.browser.length) res = "undetermined";
      verdictEl = verdict(res === "match" ? "good" : res === "undetermined" ? "unknown" : "bad", t("verdict_" + res), item.id + "-verdict");
      verdictEl.setAttribute("data-result", res);
    } else {
      steps = EV_STEPS.map(function (name) {
        var s = { step: name, title: EV_TITLES[name], outcome: "pending" };
        if (name === "hash") {
          if (item.sm3) {
            s.outcome = "passed";
            s.textText = item.sm3;
          } else {
            s.textText = t("ev_computing", { pct: Math.floor(item.progress * 100) });
            s.extra = h("progress", { max: "100", value: String(Math.floor(item.progress * 100)) });
          }
        }
        return s;
      });
      verdictEl = item.error ? errorBox(item.error) : verdict("wait", t("verdict_checking"), item.id + "-verdict");
      if (item.error) {
        steps.forEach(function (s) { if (s.outcome === "pending" && item.sm3) s.outcome = "not_checked"; });
      }
    }
    var card = h("article", { class: "card evidence", id: item.id, "data-file": item.name },
      h("header", { class: "card-head" }, h("strong", { class: "file-name" }, icon("doc"), " " + item.name), h("span", { class: "muted" }, sizeText(item.size))),
      verdictEl,
      stepList(steps, item.id));
    if (a && a.deposit) card.appendChild(evidenceDetails(a));
    if (a && a.other_deposits && a.other_deposits.length) {
      card.appendChild(h("p", { class: "muted" }, t("other_deposits", { ids: a.other_deposits.map(function (x) { return short(x); }).join(", ") })));
    }
    return card;
  }

  function evidenceDetails(a) {
    var d = a.deposit;
    var reportHref = "/v1/reports/" + a.deposit_id + ".pdf?sm3=" + a.sm3 + (a.file_name ? "&file_name=" + encodeURIComponent(a.file_name) : "");
    var status = d.status || {};
    return h("section", { class: "details" },
      h("h3", null, t("deposit_details")),
      kv([
        [t("deposit_id"), mono(a.deposit_id, "break")],
        [t("depositor"), d.depositor],
        [t("deposit_time"), beijing(d.time_ms) + " · " + d.time_utc + " UTC"],
        [t("block_height"), link("/explorer/block/" + d.height, String(d.height))],
        [t("tx_id"), link("/explorer/tx/" + d.tx_id, short(d.tx_id, 24))],
        [t("file_sm3"), mono(a.sm3, "break")],
        a.file && a.file.index !== null && a.file.index !== undefined ? [t("file_position"), (a.file.index + 1) + " / " + d.file_count] : [t("file_count"), String(d.file_count)],
        [t("files_root"), mono(d.files_root, "break")],
        a.merkle_path ? [t("merkle_path"), a.merkle_path.length ? h("div", null, a.merkle_path.map(function (p) { return h("div", null, mono(p, "break")); })) : "—"] : null,
        [t("processing"), tOr("proc_" + status.processing, status.processing) + (status.sealed_by ? " · " + t("sealed_by") + " " + status.sealed_by : "")],
        [t("custody_events"), String(d.custody_events)],
      ]),
      h("div", { class: "actions" },
        h("a", { class: "button primary", href: reportHref, download: "verification-report-" + a.deposit_id.slice(0, 16) + ".pdf", id: "report-" + a.sm3.slice(0, 16) }, icon("download"), " " + t("report_button")),
        link("/verify/receipt?tx=" + a.deposit_id, t("receipt_button"), "button"),
        link("/explorer/tx/" + a.deposit_id, t("explorer_button"), "button")));
  }

  // --- receipts --------------------------------------------------------------------------

  function receiptState() {
    if (!state.receipt) state.receipt = { text: "", tx: "", result: null, error: null, genesis: null, genesisName: null };
    return state.receipt;
  }

  function pageReceipt(main, _m, query) {
    var st = receiptState();
    var tx = query.get("tx");
    var area = h("textarea", { id: "rc-text", rows: "10", spellcheck: "false", placeholder: t("rc_paste_ph"), oninput: function () { st.text = area.value; } });
    area.value = st.text;
    var txInput = h("input", { type: "text", id: "rc-tx", spellcheck: "false", placeholder: "tx id", value: st.tx || tx || "" });
    var out = h("div", { id: "rc-result", class: "results" });
    var genesisInput = h("input", { type: "file", accept: ".json,application/json", id: "rc-genesis" });
    genesisInput.addEventListener("change", function () {
      var f = genesisInput.files && genesisInput.files[0];
      if (!f) { st.genesis = null; return; }
      readText(f).then(function (text) {
        try { st.genesis = JSON.parse(text); st.genesisName = f.name; genesisInput.setAttribute("data-loaded", f.name); } catch (e) { st.genesis = null; out.replaceChildren(errorBox(new Error(t("bad_json", { msg: e.message })))); }
      });
    });
    area.addEventListener("dragover", function (e) { e.preventDefault(); area.classList.add("over"); });
    area.addEventListener("dragleave", function () { area.classList.remove("over"); });
    area.addEventListener("drop", function (e) {
      e.preventDefault();
      area.classList.remove("over");
      var f = e.dataTransfer.files && e.dataTransfer.files[0];
      if (f) readText(f).then(function (text) { area.value = text; st.text = text; runReceipt(st, out); });
    });
    function fetchReceipt() {
      var id = txInput.value.trim().toLowerCase();
      st.tx = id;
      if (!/^[0-9a-f]{64}$/.test(id)) {
        out.replaceChildren(errorBox(new Error(t("rc_bad_tx"))));
        return;
      }
      api("/v1/transactions/" + id + "/receipt").then(function (r) {
        st.text = JSON.stringify(r, null, 2);
        area.value = st.text;
        runReceipt(st, out);
      }).catch(function (err) { st.result = null; st.error = err; drawReceipt(st, out); });
    }
    append(main, [
      pageHeader("rc_title", "rc_lead"),
      h("div", { class: "field" }, h("label", { for: "rc-text" }, t("rc_paste")), area),
      h("div", { class: "row" },
        h("button", { type: "button", class: "primary", id: "rc-verify", onclick: function () { st.text = area.value; runReceipt(st, out); } }, t("rc_verify")),
        h("span", { class: "muted" }, t("rc_fetch_label")),
        txInput,
        h("button", { type: "button", id: "rc-fetch", onclick: fetchReceipt }, t("rc_fetch"))),
      h("details", { class: "field" }, h("summary", null, t("rc_genesis_label")), genesisInput, st.genesisName ? h("small", null, " " + st.genesisName) : null),
      out,
    ]);
    if (st.result || st.error) drawReceipt(st, out);
    else if (tx && !st.text) fetchReceipt();
  }

  function runReceipt(st, out) {
    var text = st.text.trim();
    if (!text) return;
    var parsed = null;
    try { parsed = JSON.parse(text); } catch (e) { parsed = null; }
    st.parsed = parsed;
    var body = text;
    if (st.genesis && parsed) body = JSON.stringify({ receipt: parsed, genesis: st.genesis });
    out.replaceChildren(verdict("wait", t("verdict_checking")));
    // step 5 starts from the genesis set: the one given, else the node's (as the node does)
    var genesis = st.genesis ? Promise.resolve(st.genesis) : api("/v1/genesis");
    Promise.all([postJSON("/v1/verify/receipt", body), genesis]).then(function (answers) {
      st.result = answers[0];
      st.error = null;
      st.browser = null;
      if (parsed && typeof parsed === "object") {
        st.browser = Ledger.checkReceipt(parsed);
        var history = Ledger.checkHistory(parsed, answers[1]);
        st.browser[5] = history.ok;
        st.browserEntry = history.entry;
      }
      drawReceipt(st, out);
    }).catch(function (err) { st.result = null; st.error = err; drawReceipt(st, out); });
  }

  function drawReceipt(st, out) {
    out.textContent = "";
    if (st.error) { out.appendChild(errorBox(st.error)); return; }
    var r = st.result;
    if (!r) return;
    var failed = r.steps.filter(function (s) { return s.outcome === "failed"; })[0];
    var v = r.valid
      ? verdict("good", t("rc_valid"), "rc-verdict")
      : verdict("bad", t("rc_invalid", { n: failed ? failed.number : "?", title: failed ? both(failed.title) : "" }), "rc-verdict");
    v.setAttribute("data-valid", r.valid ? "true" : "false");
    if (failed) {
      v.setAttribute("data-failed-step", failed.step);
      v.setAttribute("data-failed-check", failed.check || failed.step);
    }
    var steps = r.steps.map(function (s) {
      var copy = Object.assign({}, s);
      if (s.outcome === "failed") {
        copy.extra = kv([
          [t("rc_failed_check"), mono(s.check || s.step)],
          s.detail ? ["", s.detail] : null,
          s.expected !== undefined ? [t("rc_expected"), mono(typeof s.expected === "string" ? s.expected : JSON.stringify(s.expected), "break")] : null,
          s.found !== undefined ? [t("rc_found"), mono(typeof s.found === "string" ? s.found : JSON.stringify(s.found), "break")] : null,
        ]);
      }
      return copy;
    });
    var parts = [v, stepList(steps, "rc")];
    if (st.browser) {
      parts.push(h("section", { class: "details browser" }, h("h3", null, t("rc_browser")),
        h("ul", { class: "plain", id: "rc-browser" }, [1, 3, 4, 5].map(function (n) {
          var ok = st.browser[n];
          var node = r.steps[n] ? r.steps[n].outcome : null;
          var title = r.steps[n] ? both(r.steps[n].title) : String(n);
          // the node also checks step 5's SM2 certificates: only a hash failure must agree
          var differs = (node === "passed" && !ok) || (node === "failed" && ok && n !== 5);
          var entry = n === 5 && !ok && st.browserEntry !== null ? st.browserEntry : null;
          var where = entry !== null ? " (validator_history[" + entry + "])" : "";
          return h("li", { class: ok ? "ok" : "bad", "data-step": String(n), "data-entry": entry !== null ? String(entry) : null, "data-differs": differs ? "true" : null },
            (ok ? "✓ " : "✗ ") + n + " " + title + where + ": " + t(ok ? "rc_browser_holds" : "rc_browser_fails") + (differs ? " " + t("rc_browser_differs") : ""));
        }))));
    }
    if (r.valid && r.transaction) {
      var tr = r.transaction;
      parts.push(h("section", { class: "details" }, h("h3", null, t("rc_summary")), kv([
        [t("tx_id"), link("/explorer/tx/" + r.tx_id, r.tx_id, "mono break")],
        [t("tx_type"), tr.type],
        [t("submitter"), tr.submitter],
        [t("block_height"), link("/explorer/block/" + tr.height, String(tr.height))],
        [t("position"), String(tr.index)],
        [t("block_time"), beijing(tr.block_time)],
        [t("signers"), tr.signers],
      ]), h("div", { class: "actions" },
        h("a", { class: "button primary", href: "/v1/reports/" + r.tx_id + ".pdf", download: "verification-report-" + r.tx_id.slice(0, 16) + ".pdf", id: "rc-report" }, icon("download"), " " + t("report_button")))));
    }
    parts.push(h("p", { class: "muted" }, t(r.trusted_genesis === "given" ? "rc_trusted_given" : "rc_trusted_node", { fp: r.genesis_hash })));
    append(out, parts);
  }

  // --- education cards -------------------------------------------------------------------

  function cardState() {
    if (!state.card) state.card = { qr: "", disclosures: "", result: null, error: null };
    return state.card;
  }

  function parseDisclosures(text) {
    text = text.trim();
    if (!text) return [];
    var value = JSON.parse(text);
    if (Array.isArray(value) && value.length === 3 && typeof value[0] === "string" && typeof value[1] === "string" && !Array.isArray(value[2])) {
      return [value]; // one disclosure
    }
    if (Array.isArray(value)) return value;
    if (value && typeof value === "object") {
      if (Array.isArray(value.disclosures)) return value.disclosures;
      return Object.keys(value).map(function (k) { return value[k]; });
    }
    throw new Error("expected a list of [salt, name, value]");
  }

  function pageCard(main, _m, query) {
    var st = cardState();
    // a card's QR code opens this page as /verify/card?card=<id>&tx=<tx>: that link is the payload
    var opened = /^[0-9a-f]{32}$/.test(query.get("card") || "") && /^[0-9a-f]{64}$/.test(query.get("tx") || "");
    var link = opened ? location.origin + "/verify/card?card=" + query.get("card") + "&tx=" + query.get("tx") : null;
    if (link && st.qr !== link) { st.qr = link; st.result = null; st.error = null; }
    var qr = h("textarea", { id: "cd-qr", rows: "2", spellcheck: "false", placeholder: t("cd_qr_ph"), oninput: function () { st.qr = qr.value; } });
    qr.value = st.qr;
    var disc = h("textarea", { id: "cd-disclosures", rows: "6", spellcheck: "false", placeholder: t("cd_disclosures_ph"), oninput: function () { st.disclosures = disc.value; } });
    disc.value = st.disclosures;
    var out = h("div", { id: "cd-result", class: "results" });
    var video = h("video", { class: "scanner hidden", playsinline: true, muted: true });
    var scanBtn = null;
    if ("BarcodeDetector" in window && navigator.mediaDevices && navigator.mediaDevices.getUserMedia) {
      scanBtn = h("button", { type: "button", id: "cd-scan", onclick: function () { toggleScan(video, scanBtn, qr, st); } }, icon("camera"), " " + t("cd_scan"));
    }
    append(main, [
      pageHeader("cd_title", "cd_lead"),
      h("div", { class: "field" }, h("label", { for: "cd-qr" }, t("cd_qr")), qr, scanBtn, video),
      h("div", { class: "field" }, h("label", { for: "cd-disclosures" }, t("cd_disclosures")), disc),
      h("div", { class: "row" }, h("button", { type: "button", class: "primary", id: "cd-verify", onclick: function () { runCard(st, out); } }, t("cd_verify"))),
      out,
    ]);
    if (st.result || st.error) drawCard(st, out);
    else if (opened) runCard(st, out);
  }

  var scanning = null;
  function toggleScan(video, btn, qr, st) {
    if (scanning) {
      scanning.getTracks().forEach(function (tr) { tr.stop(); });
      scanning = null;
      video.classList.add("hidden");
      btn.replaceChildren(icon("camera"), " " + t("cd_scan"));
      return;
    }
    var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" } }).then(function (stream) {
      scanning = stream;
      video.srcObject = stream;
      video.classList.remove("hidden");
      btn.textContent = t("cd_scan_stop");
      video.play();
      var tick = function () {
        if (!scanning) return;
        detector.detect(video).then(function (codes) {
          if (codes.length) {
            qr.value = codes[0].rawValue;
            st.qr = qr.value;
            toggleScan(video, btn, qr, st);
          } else {
            setTimeout(tick, 250);
          }
        }).catch(function () { setTimeout(tick, 500); });
      };
      tick();
    }).catch(function (err) { btn.replaceWith(errorBox(err)); });
  }

  function runCard(st, out) {
    var disclosures;
    try {
      disclosures = parseDisclosures(st.disclosures);
    } catch (e) {
      st.result = null;
      st.error = new Error(t("bad_json", { msg: e.message }));
      drawCard(st, out);
      return;
    }
    out.replaceChildren(verdict("wait", t("verdict_checking")));
    postJSON("/v1/edu_card/verify", { qr: st.qr.trim(), disclosures: disclosures }).then(function (r) {
      st.result = r;
      st.error = null;
      drawCard(st, out);
    }).catch(function (err) { st.result = null; st.error = err; drawCard(st, out); });
  }

  function eduStepTitle(step) {
    var m = /^disclosure\[(\d+)\]$/.exec(step);
    if (m) return t("edu_disclosure", { i: Number(m[1]) + 1 });
    return tOr("edu_" + step, step);
  }

  function drawCard(st, out) {
    out.textContent = "";
    if (st.error) { out.appendChild(errorBox(st.error)); return; }
    var r = st.result;
    if (!r) return;
    var v = verdict(r.valid ? "good" : "bad", t(r.valid ? "cd_valid" : "cd_invalid"), "cd-verdict");
    v.setAttribute("data-valid", r.valid ? "true" : "false");
    var claims = Object.keys(r.disclosed || {});
    var parts = [v];
    parts.push(h("section", { class: "details" }, kv([
      [t("cd_school"), r.issuer || "—"],
      [t("cd_status"), r.status ? h("span", { class: "pill " + r.status }, tOr("card_status_" + r.status, r.status)) : "—"],
      [t("cd_card_id"), r.card_id ? mono(r.card_id) : "—"],
      r.receipt_tx_id ? [t("cd_receipt"), link("/verify/receipt?tx=" + r.receipt_tx_id, short(r.receipt_tx_id, 24), "mono")] : null,
    ]), claims.length ? [h("h3", null, t("cd_disclosed")), kv(claims.map(function (k) {
      return [tOr("claim_" + k, k), String(r.disclosed[k])];
    }))] : null));
    parts.push(stepList((r.steps || []).map(function (s) {
      if (lang !== "zh") return { step: s.step, outcome: s.outcome, titleText: eduStepTitle(s.step), textText: s.detail };
      var base = s.step.replace(/\[\d+\]$/, "");
      var key = s.outcome === "skipped" ? "edu_zh_skipped" : "edu_zh_" + base + "_" + s.outcome;
      return { step: s.step, outcome: s.outcome, titleText: eduStepTitle(s.step), textText: tOr(key, s.detail), extra: h("p", { class: "muted small" }, s.detail) };
    }), "cd"));
    append(out, parts);
  }

  // --- report check ----------------------------------------------------------------------

  function pageReport(main) {
    if (!state.report) state.report = { result: null, error: null, name: null };
    var st = state.report;
    var out = h("div", { id: "rp-result", class: "results" });
    append(main, [
      pageHeader("rp_title", "rp_lead"),
      dropZone({ id: "rp-drop", accept: "application/pdf,.pdf", label: t("rp_drop"), onFiles: function (files) {
        st.name = files[0].name;
        out.replaceChildren(verdict("wait", t("verdict_checking")));
        files[0].arrayBuffer().then(function (buf) {
          return api("/v1/reports/verify", { method: "POST", headers: { "content-type": "application/pdf" }, body: buf });
        }).then(function (r) { st.result = r; st.error = null; drawReport(st, out); })
          .catch(function (err) { st.result = null; st.error = err; drawReport(st, out); });
      } }),
      out,
    ]);
    if (st.result || st.error) drawReport(st, out);
  }

  function drawReport(st, out) {
    out.textContent = "";
    if (st.error) { out.appendChild(errorBox(st.error)); return; }
    var r = st.result;
    var v = verdict(r.valid ? "good" : "bad", t(r.valid ? "rp_valid" : "rp_invalid"), "rp-verdict");
    v.setAttribute("data-valid", r.valid ? "true" : "false");
    var rep = r.report || {};
    var tx = rep.transaction || {};
    append(out, [v,
      h("p", { class: "muted" }, st.name || ""),
      stepList(r.steps.map(function (s) { return { step: s.step, outcome: s.outcome, titleText: tOr("rp_step_" + s.step, s.step), textText: s.detail }; }), "rp"),
      tx.tx_id ? h("section", { class: "details" }, kv([
        [t("tx_id"), link("/explorer/tx/" + tx.tx_id, tx.tx_id, "mono break")],
        [t("tx_type"), tx.type + " · " + tx.submitter],
        rep.file ? [t("file_sm3"), mono(rep.file.sm3, "break")] : null,
        [t("rp_result"), tOr("verdict_" + rep.result, tOr("result_" + rep.result, String(rep.result)))],
        [t("rp_verified_at"), beijing(rep.verified_at_ms) + " · " + rep.verified_at_utc + " UTC"],
      ])) : null]);
  }

  // --- tenders ---------------------------------------------------------------------------

  function typeName(type) {
    return tOr("type_" + type.replace(".", "_"), type);
  }

  // the scalar facts of an event (bidder, price, guarantor, ...), not ids or hashes
  function eventDetails(details) {
    if (!details) return null;
    var parts = [];
    Object.keys(details).forEach(function (k) {
      var v = details[k];
      if (typeof v === "number" && /(time|deadline|until)/.test(k)) v = beijing(v, true);
      if (typeof v !== "string" && typeof v !== "number") return;
      if (/^[0-9a-f]{64}$/.test(String(v)) || /_id$|hash$/.test(k)) return;
      parts.push(k.replace(/_/g, " ") + ": " + v);
    });
    return parts.length ? h("p", { class: "muted small" }, parts.join(" · ")) : null;
  }

  function money(x) {
    return x ? "¥ " + x : "—";
  }

  function pageTenders(main) {
    var box = h("div", { id: "td-list" }, t("loading"));
    append(main, [pageHeader("td_title", "td_lead"), box]);
    api("/v1/bidding/tenders").then(function (r) {
      box.textContent = "";
      if (!r.tenders.length) { box.appendChild(h("p", { class: "muted" }, t("td_none"))); return; }
      box.appendChild(h("table", { class: "table" },
        h("thead", null, h("tr", null, h("th", null, t("td_code")), h("th", null, t("td_name")), h("th", null, t("td_status")), h("th", null, t("td_bids")), h("th", null, t("td_deadline") + " · " + t("ex_time_bj")))),
        h("tbody", null, r.tenders.map(function (td) {
          return h("tr", null,
            h("td", null, link("/tenders/" + encodeURIComponent(td.project_code), td.project_code, "mono")),
            h("td", null, td.title),
            h("td", null, h("span", { class: "pill " + td.status }, tOr("tstatus_" + td.status, td.status))),
            h("td", null, String(td.bids ? td.bids.active : "")),
            h("td", { class: "nowrap" }, beijing(td.bid_deadline, true)));
        }))));
    }).catch(function (err) { box.replaceChildren(errorBox(err)); });
  }

  function pageTender(main, m) {
    var code = decodeURIComponent(m[0]);
    var head = h("div", { id: "td-head" }, t("loading"));
    var timeline = h("ol", { class: "timeline", id: "td-timeline" });
    var verifyBox = h("div", { id: "td-verify" });
    append(main, [h("p", null, link("/tenders", "← " + t("td_title"))), h("h1", null, code), head,
      h("div", { class: "actions" }, h("button", { type: "button", id: "td-verify-btn", onclick: function () {
        verifyBox.replaceChildren(verdict("wait", t("verdict_checking")));
        api("/v1/bidding/tenders/" + encodeURIComponent(code) + "/verify").then(function (r) {
          verifyBox.replaceChildren(
            verdict(r.verified ? "good" : "bad", t(r.verified ? "td_verified" : "td_not_verified")),
            stepList(r.steps.map(function (s) {
              return { step: s.step, outcome: s.outcome, titleText: tOr("bstep_" + s.step, s.step.charAt(0).toUpperCase() + s.step.slice(1)), textText: s.detail };
            }), "td"));
        }).catch(function (err) { verifyBox.replaceChildren(errorBox(err)); });
      } }, t("td_verify"))),
      verifyBox,
      h("h2", null, t("td_timeline") + " · " + t("ex_time_bj")), timeline]);
    Promise.all([
      api("/v1/bidding/tenders/" + encodeURIComponent(code)),
      api("/v1/bidding/tenders/" + encodeURIComponent(code) + "/timeline"),
    ]).then(function (res) {
      var td = res[0], tl = res[1];
      var opened = ["opened", "failed", "evaluated", "awarded"].indexOf(td.status) >= 0;
      head.replaceChildren(h("p", { class: "lead" }, td.title), kv([
        [t("td_status"), h("span", { class: "pill " + td.status }, tOr("tstatus_" + td.status, td.status))],
        [t("td_tenderer"), td.tenderer],
        [t("td_deadline"), beijing(td.bid_deadline)],
        [t("td_opening"), beijing(td.opening_time)],
        [t("td_estimated"), money(td.estimated_value)],
        [t("td_bond"), money(td.bid_bond)],
        [t("td_bids"), td.bids ? String(td.bids.active) : "—"],
      ]));
      tl.events.forEach(function (e) {
        var sealed = e.type === "bid.commit" && !opened;
        timeline.appendChild(h("li", { class: "event" + (sealed ? " sealed" : ""), "data-type": e.type },
          h("div", { class: "when" }, beijing(e.time_ms, true), h("br"), h("small", { class: "muted" }, "#" + e.seq + " · " + t("block_height") + " " + e.height)),
          h("div", { class: "what" },
            h("strong", null, typeName(e.type)), sealed ? h("span", { class: "pill sealed" }, icon("lock"), " " + t("td_sealed")) : null,
            h("p", null, e.summary),
            sealed ? h("p", { class: "muted small" }, t("td_sealed_note")) : eventDetails(e.details),
            h("div", { class: "links" },
              link("/verify/receipt?tx=" + e.tx_id, t("td_receipt")),
              " · ",
              h("a", { href: "/v1/reports/" + e.tx_id + ".pdf", download: "verification-report-" + e.tx_id.slice(0, 16) + ".pdf" }, t("td_report")),
              " · ",
              link("/explorer/tx/" + e.tx_id, short(e.tx_id, 16), "mono")))));
      });
    }).catch(function (err) { head.replaceChildren(errorBox(err)); });
  }

  // --- explorer --------------------------------------------------------------------------

  function domainName(d) {
    return tOr("domain_" + d, d);
  }

  function blocksTable(blocks) {
    return h("table", { class: "table", id: "ex-blocks" },
      h("thead", null, h("tr", null, h("th", null, t("ex_height")), h("th", null, t("ex_time_bj")), h("th", null, t("ex_txcount")), h("th", null, t("ex_block_hash")))),
      h("tbody", null, blocks.map(function (b) {
        return h("tr", null,
          h("td", null, link("/explorer/block/" + b.height, String(b.height))),
          h("td", { class: "nowrap" }, beijing(b.time_ms, true)),
          h("td", null, String(b.tx_count)),
          h("td", null, mono(short(b.block_hash, 16))));
      })));
  }

  function txTable(txs, id, withBlock) {
    return h("table", { class: "table", id: id || null },
      h("thead", null, h("tr", null, h("th", null, t("tx_id")), h("th", null, t("tx_type")), h("th", null, t("submitter")), withBlock ? h("th", null, t("ex_height")) : null)),
      h("tbody", null, txs.map(function (x) {
        return h("tr", null,
          h("td", null, link("/explorer/tx/" + x.tx_id, short(x.tx_id, 16), "mono")),
          h("td", null, x.type, h("br"), h("small", { class: "muted" }, domainName(x.domain))),
          h("td", null, x.submitter),
          withBlock ? h("td", null, link("/explorer/block/" + x.height, String(x.height))) : null);
      })));
  }

  // a table with an "older" button that appends the next page below it
  function paged(box, url, key, cursor, table) {
    var next = null;
    function more(first) {
      var query = url + (next !== null ? "&before=" + next : "");
      return api(query).then(function (r) {
        var rows = r[key];
        if (rows.length) next = rows[rows.length - 1][cursor];
        if (first) {
          box.replaceChildren(table(rows));
        } else {
          var body = table(rows).querySelector("tbody");
          box.querySelector("tbody").append.apply(box.querySelector("tbody"), Array.prototype.slice.call(body.children));
        }
        var old = box.querySelector(".more");
        if (old) old.remove();
        if (rows.length && next > 0) box.appendChild(h("button", { type: "button", class: "more", onclick: function () { more(false); } }, t("ex_older")));
      }).catch(function (e) { box.replaceChildren(errorBox(e)); });
    }
    return more(true);
  }

  function pageExplorer(main) {
    var blocks = h("div", null, t("loading")), txs = h("div", null, t("loading"));
    function load() {
      paged(blocks, "/v1/explorer/blocks?limit=15", "blocks", "height", blocksTable);
      paged(txs, "/v1/explorer/transactions?limit=15", "transactions", "log_index", function (rows) { return txTable(rows, "ex-txs", true); });
    }
    append(main, [h("h1", null, t("ex_title")), searchForm(),
      h("div", { class: "actions" }, h("button", { type: "button", onclick: load, id: "ex-refresh" }, "↻ " + t("ex_refresh"))),
      h("div", { class: "columns" },
        h("section", null, h("h2", null, t("ex_blocks")), blocks),
        h("section", null, h("h2", null, t("ex_txs")), txs))]);
    load();
  }

  function pageSearch(main, _m, query) {
    var q = query.get("q") || "";
    var box = h("div", { id: "ex-search" }, t("loading"));
    append(main, [h("h1", null, t("search")), searchForm(q), box]);
    api("/v1/explorer/search?q=" + encodeURIComponent(q)).then(function (r) {
      if (r.kind === "block") return navigate("/explorer/block/" + r.height);
      if (r.kind === "transaction") return navigate("/explorer/tx/" + r.tx_id);
      if (r.kind === "tender") return navigate("/tenders/" + encodeURIComponent(r.project_code));
      if (r.kind === "file") {
        box.replaceChildren(h("p", null, t("ex_search_file", { sm3: r.sm3 })), h("ul", { class: "plain" }, r.deposits.map(function (d) {
          return h("li", null, link("/explorer/tx/" + d.deposit_id, d.deposit_id, "mono break"), " · " + d.depositor + " · " + beijing(d.time_ms));
        })));
        return;
      }
      box.replaceChildren(h("p", { class: "alert" }, t("ex_search_none", { q: q })));
    }).catch(function (err) { box.replaceChildren(errorBox(err)); });
  }

  function pageBlock(main, m) {
    var height = Number(m[0]);
    var box = h("div", { id: "ex-block" }, t("loading"));
    append(main, [h("h1", null, t("ex_block", { h: height })), box]);
    api("/v1/explorer/blocks/" + height).then(function (b) {
      var hd = b.header;
      box.replaceChildren(
        h("div", { class: "actions" },
          height > 0 ? link("/explorer/block/" + (height - 1), t("ex_prev"), "button") : null,
          height < b.tip ? link("/explorer/block/" + (height + 1), t("ex_next"), "button") : null),
        kv([
          [t("ex_block_hash"), mono(b.block_hash, "break")],
          [t("ex_time"), beijing(b.time_ms) + " · " + b.time_utc + " UTC"],
          [t("ex_prev_hash"), height > 0 ? link("/explorer/block/" + (height - 1), hd.prev_hash, "mono break") : mono(hd.prev_hash, "break")],
          [t("ex_tx_root"), mono(hd.tx_root, "break")],
          [t("ex_log"), h("span", null, String(hd.log_size) + " / ", mono(hd.log_root, "break"))],
          [t("ex_validators_hash"), mono(hd.validators_hash, "break")],
          [t("ex_proposer"), hd.proposer],
          [t("signers"), b.signers.join(", ")],
        ]),
        h("h2", null, t("ex_block_txs") + " (" + b.transactions.length + ")"),
        txTable(b.transactions, "ex-block-txs", false));
    }).catch(function (err) { box.replaceChildren(errorBox(err)); });
  }

  function pageTx(main, m) {
    var id = m[0];
    var box = h("div", { id: "ex-tx" }, t("loading"));
    append(main, [h("h1", null, t("ex_tx_title")), h("p", null, mono(id, "break")), box]);
    api("/v1/explorer/transactions/" + id).then(function (x) {
      var rows = [[t("ex_status"), h("span", { class: "pill " + x.status }, tOr("status_" + x.status, x.status))]];
      if (x.status !== "committed") {
        if (x.error) rows.push(["", x.error.code + ": " + x.error.message]);
        box.replaceChildren(kv(rows));
        return;
      }
      rows = rows.concat([
        [t("tx_type"), x.type],
        [t("ex_domain"), domainName(x.domain)],
        [t("submitter"), x.submitter],
        [t("block_height"), link("/explorer/block/" + x.height, String(x.height))],
        [t("position"), String(x.index)],
        [t("block_time"), beijing(x.block_time_ms) + " · " + x.block_time_utc + " UTC"],
      ]);
      var actions = x.genesis
        ? h("p", { class: "alert" }, t("ex_genesis_tx"))
        : h("div", { class: "actions" },
          link("/verify/receipt?tx=" + id, t("receipt_button"), "button"),
          h("a", { class: "button primary", href: "/v1/reports/" + id + ".pdf", download: "verification-report-" + id.slice(0, 16) + ".pdf", id: "tx-report" }, icon("download"), " " + t("report_button")),
          h("a", { class: "button", href: x.receipt, target: "_blank", rel: "noopener" }, "receipt.json"));
      box.replaceChildren(kv(rows), actions,
        h("h2", null, t("ex_payload")), h("pre", { class: "json" }, JSON.stringify(x.envelope.payload, null, 2)),
        h("details", null, h("summary", null, t("ex_envelope")), h("pre", { class: "json" }, JSON.stringify({ envelope: x.envelope, signature: x.signature }, null, 2))));
    }).catch(function (err) { box.replaceChildren(errorBox(err)); });
  }

  // --- status ----------------------------------------------------------------------------

  function pageStatus(main) {
    var box = h("div", { id: "st" }, t("loading"));
    append(main, [h("h1", null, t("st_title")), box]);
    api("/v1/explorer/status").then(function (s) {
      var max = 1;
      Object.keys(s.domains).forEach(function (d) { max = Math.max(max, s.domains[d].transactions); });
      var stats = [
        [t("st_height"), String(s.height)],
        [t("st_txs"), String(s.transactions)],
        [t("st_pending"), String(s.pending)],
        [t("st_members"), String(s.members)],
      ];
      box.replaceChildren(
        h("div", { class: "stats" }, stats.map(function (x) { return h("div", { class: "stat" }, h("span", { class: "num" }, x[1]), h("span", { class: "muted" }, x[0])); })),
        kv([
          [t("st_time"), beijing(s.block_time_ms) + " · " + s.block_time_utc + " UTC"],
          [t("st_chain"), s.chain_id],
          [t("genesis_fp"), mono(s.genesis_hash, "break")],
          [t("st_log"), h("span", null, s.log_size + " / ", mono(s.log_root, "break"))],
          [t("st_engine"), (s.consensus && s.consensus.engine) || "—"],
        ]),
        h("h2", null, t("st_domains")),
        h("table", { class: "table", id: "st-domains" }, h("tbody", null, Object.keys(s.domains).map(function (d) {
          var n = s.domains[d].transactions;
          return h("tr", null, h("td", null, domainName(d), h("br"), h("small", { class: "muted" }, Object.keys(s.domains[d].types).join(", "))),
            h("td", { class: "num" }, String(n)),
            h("td", { class: "bar-cell" }, h("span", { class: "bar", style: null, "data-w": String(Math.round(100 * n / max)) })));
        }))),
        h("h2", null, t("st_validators")),
        h("table", { class: "table", id: "st-validators" },
          h("thead", null, h("tr", null, h("th", null, "id"), h("th", null, t("st_power")), h("th", null, t("st_key")), h("th", null, t("st_last")))),
          h("tbody", null, s.validators.map(function (v) {
            var last = v.last_signed;
            return h("tr", null, h("td", null, h("strong", null, v.id)), h("td", null, String(v.power)), h("td", null, mono(short(v.public_key, 20))),
              h("td", null, last ? [link("/explorer/block/" + last.height, t("ex_block", { h: last.height })), " · " + beijing(last.time_ms), h("br"), mono(short(last.signature, 32))] : t("st_last_none", { n: s.validators_scanned_blocks })));
          }))));
      // bar widths without inline styles (the CSP forbids them): set through the CSSOM
      Array.prototype.forEach.call(box.querySelectorAll(".bar"), function (el) { el.style.width = el.getAttribute("data-w") + "%"; });
      statusCosignatures(box, s);
    }).catch(function (err) { box.replaceChildren(errorBox(err)); });
  }

  // auditors' cosignatures of checkpoints (docs/witness.md), the newest of each witness
  function statusCosignatures(box, s) {
    var cos = h("div", { id: "st-cosignatures" }, t("loading"));
    append(box, [h("h2", null, t("st_witnesses")), h("p", { class: "muted" }, t("st_witnesses_note")), cos]);
    api("/v1/checkpoint").then(function (c) {
      var list = c.cosignatures || [];
      if (!list.length) { cos.replaceChildren(h("p", { class: "muted" }, t("st_witnesses_none"))); return; }
      cos.replaceChildren(h("table", { class: "table" },
        h("thead", null, h("tr", null, h("th", null, t("st_witness")), h("th", null, t("st_cosigned")), h("th", null, t("st_log")), h("th", null, t("st_behind")))),
        h("tbody", null, list.map(function (x) {
          return h("tr", null, h("td", null, h("strong", null, x.witness)),
            h("td", null, link("/explorer/block/" + x.height, t("ex_block", { h: x.height }))),
            h("td", null, x.log_size + " / ", mono(short(x.log_root, 16))),
            h("td", { class: "num" }, String(s.log_size - x.log_size)));
        }))));
    }).catch(function (err) { cos.replaceChildren(errorBox(err)); });
  }

  // --- start -----------------------------------------------------------------------------

  api("/v1/genesis").then(function (g) {
    genesisHash = SM3.hex(new TextEncoder().encode(Ledger.jcs(g)));
    chrome();
  }).catch(function () { /* the footer just shows no fingerprint */ });
  render();
})();
