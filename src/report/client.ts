/**
 * The report's one inline script, as text. The Content-Security-Policy allows
 * exactly this script by its SHA-256 hash; nothing from the data can run.
 *
 * It never parses data as HTML: token strings and tips reach the page only
 * through `textContent` and `createElement`, so hostile text stays text.
 *
 * What it does:
 * - a tooltip (#tip) for every element with `data-tip` and every token (`.tk`),
 *   on mouse hover and on keyboard focus; Escape hides it;
 * - token views (`.tokens`): reads the page's JSON data block (type
 *   application/json, inert), pages through it (`tokensPerPage` per page) and moves
 *   focus between tokens with the arrow keys (a roving tabindex: one Tab stop per view);
 *   where positions jump (unscored tokens between chunks) it shows a visible break.
 */
export const CLIENT_SCRIPT = `"use strict";
(function () {
  var tip = document.getElementById("tip");
  var views = [];
  function q(s) { return JSON.stringify(s); }
  function f(x) {
    if (x === null || x === undefined) return "?";
    var a = Math.abs(x);
    if (a !== 0 && (a < 1e-4 || a >= 1e7)) return x.toExponential(3);
    return String(Number(x.toPrecision(4)));
  }
  function line(k, v) {
    var row = document.createElement("div");
    var a = document.createElement("span"); a.className = "k"; a.textContent = k;
    var b = document.createElement("span"); b.className = "v"; b.textContent = v;
    row.appendChild(a); row.appendChild(b); return row;
  }
  function tokenTip(view, i) {
    var d = view.data, frag = document.createDocumentFragment();
    frag.appendChild(line("token", q(d.text[i]) + "  (id " + d.id[i] + ", position " + d.pos[i] + ")"));
    frag.appendChild(line("surprisal", f(d.bits[i]) + " bits = " + f(d.bits[i] * Math.LN2) + " nats"));
    frag.appendChild(line("p(token)", f(d.p[i])));
    frag.appendChild(line("rank", String(d.rank[i]) + (d.rank[i] === 1 ? " (model's top choice)" : "")));
    var top = d.top[i] === null ? "id " + d.topId[i] : q(d.top[i]) + " (id " + d.topId[i] + ")";
    frag.appendChild(line("model's top", top + (d.topP && d.topP[i] !== null ? ", p = " + f(d.topP[i]) : "")));
    return frag;
  }
  function show(el) {
    var content;
    if (el.classList.contains("tk")) {
      var view = views[Number(el.parentNode.getAttribute("data-view"))];
      if (!view) return;
      content = tokenTip(view, Number(el.getAttribute("data-i")));
    } else if (el.hasAttribute("data-tip")) {
      content = document.createTextNode(el.getAttribute("data-tip"));
    } else return;
    tip.textContent = "";
    tip.appendChild(content);
    tip.hidden = false;
    var r = el.getBoundingClientRect(), t = tip.getBoundingClientRect();
    var x = Math.max(4, Math.min(window.innerWidth - t.width - 4, r.left + r.width / 2 - t.width / 2));
    var y = r.top - t.height - 8;
    if (y < 4) y = r.bottom + 8;
    tip.style.left = (x + window.scrollX) + "px";
    tip.style.top = (y + window.scrollY) + "px";
    el.setAttribute("aria-describedby", "tip");
  }
  function hide(el) {
    tip.hidden = true;
    if (el && el.removeAttribute) el.removeAttribute("aria-describedby");
  }
  function target(e) {
    var el = e.target;
    while (el && el.nodeType === 1) {
      if (el.classList.contains("tk") || el.hasAttribute("data-tip")) return el;
      el = el.parentNode;
    }
    return null;
  }
  document.addEventListener("mouseover", function (e) { var el = target(e); if (el) show(el); });
  document.addEventListener("mouseout", function (e) { var el = target(e); if (el && el !== document.activeElement) hide(el); });
  document.addEventListener("focusin", function (e) { var el = target(e); if (el) show(el); });
  document.addEventListener("focusout", function (e) { var el = target(e); if (el) hide(el); });
  document.addEventListener("keydown", function (e) { if (e.key === "Escape") hide(document.activeElement); });

  function render(view) {
    var d = view.data, per = view.per, start = view.page * per, end = Math.min(d.text.length, start + per);
    var box = view.text, frag = document.createDocumentFragment();
    for (var i = start; i < end; i++) {
      if (i > start && d.pos[i] !== d.pos[i - 1] + 1) {
        // Unscored tokens between chunks (llama.cpp scores each chunk's second half): a visible break.
        var g = document.createElement("span");
        g.className = "gap"; g.setAttribute("aria-hidden", "true");
        var skipped = d.pos[i] - d.pos[i - 1] - 1;
        g.textContent = skipped > 0 ? " \u22ef " + skipped + " unscored tokens \u22ef " : " \u22ef ";
        frag.appendChild(g);
      }
      var s = document.createElement("span");
      var b = 0; while (b < d.edges.length && d.bits[i] >= d.edges[b]) b++;
      s.className = "tk t" + b;
      s.setAttribute("data-i", String(i));
      s.tabIndex = i === start ? 0 : -1;
      s.textContent = d.text[i];
      frag.appendChild(s);
    }
    box.textContent = "";
    box.appendChild(frag);
    view.pageInput.value = String(view.page + 1);
    view.prev.disabled = view.page === 0;
    view.next.disabled = view.page >= view.pages - 1;
    view.status.textContent = "tokens " + (start + 1) + "\\u2013" + end + " of " + d.text.length;
  }
  function go(view, page, focus) {
    view.page = Math.max(0, Math.min(view.pages - 1, page));
    render(view);
    if (focus) { var first = view.text.firstChild; if (first) first.focus(); }
  }
  var nodes = document.querySelectorAll(".tokens");
  for (var n = 0; n < nodes.length; n++) (function (root, idx) {
    var src = document.getElementById(root.getAttribute("data-src"));
    if (!src) return;
    var view = {
      data: JSON.parse(src.textContent), per: Number(root.getAttribute("data-per")), page: 0,
      text: root.querySelector(".tk-text"), prev: root.querySelector(".prev"), next: root.querySelector(".next"),
      pageInput: root.querySelector(".page"), status: root.querySelector(".status")
    };
    view.pages = Math.max(1, Math.ceil(view.data.text.length / view.per));
    views[idx] = view;
    view.text.setAttribute("data-view", String(idx));
    view.prev.addEventListener("click", function () { go(view, view.page - 1, false); });
    view.next.addEventListener("click", function () { go(view, view.page + 1, false); });
    view.pageInput.addEventListener("change", function () { var p = parseInt(view.pageInput.value, 10); go(view, isFinite(p) ? p - 1 : 0, false); });
    view.text.addEventListener("keydown", function (e) {
      var el = e.target; if (!el.classList || !el.classList.contains("tk")) return;
      var nextEl = null;
      if (e.key === "ArrowRight" || e.key === "ArrowDown") { nextEl = el.nextElementSibling; while (nextEl && !nextEl.classList.contains("tk")) nextEl = nextEl.nextElementSibling; }
      else if (e.key === "ArrowLeft" || e.key === "ArrowUp") { nextEl = el.previousElementSibling; while (nextEl && !nextEl.classList.contains("tk")) nextEl = nextEl.previousElementSibling; }
      else if (e.key === "Home") nextEl = view.text.firstElementChild;
      else if (e.key === "End") nextEl = view.text.lastElementChild;
      else if (e.key === "PageDown") { e.preventDefault(); go(view, view.page + 1, true); return; }
      else if (e.key === "PageUp") { e.preventDefault(); go(view, view.page - 1, true); return; }
      else return;
      e.preventDefault();
      if (!nextEl) return;
      el.tabIndex = -1; nextEl.tabIndex = 0; nextEl.focus();
    });
    render(view);
  })(nodes[n], n);
  document.documentElement.setAttribute("data-ready", "1");
})();
`;
