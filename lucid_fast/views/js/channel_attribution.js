// Channel attribution: distribution bars and the top positive / negative channels; hover for details.
(function () {
  var S = DATA.spriteSize, V = DATA.vmax, byChannel = {};
  DATA.all.forEach(function (cv, rank) { byChannel[cv[0]] = [cv[1], rank]; });
  el("div", {cls: "lfv-title", text: DATA.title}, root);
  var bars = el("div", {cls: "lfv-bars", style: {display: "flex", alignItems: "center", height: "124px",
                                                   cursor: "crosshair"}}, root);
  var detail = el("div", {cls: "lfv-detail", style: {display: "flex", alignItems: "center", gap: "8px",
                                                     minHeight: (S + 8) + "px"}}, root);
  var list = el("div", {cls: "lfv-row", style: {alignItems: "flex-end"}}, root);
  function colorOf(v, alpha) {
    var a = Math.min(1, Math.abs(v) / V);
    return "hsl(" + (v > 0 ? 210 : 0) + ", " + Math.round(40 + 60 * a) + "%, " + Math.round(85 - 35 * a) + "%)";
  }
  var barW = DATA.all.length > 450 ? 1 : 2, hot = null;
  DATA.all.forEach(function (cv) {
    var h = Math.max(1, 60 * Math.abs(cv[1]) / V);
    var cell = el("div", {"data-channel": cv[0], style: {width: barW + "px", height: "124px", display: "flex",
                  flexDirection: "column", justifyContent: cv[1] > 0 ? "flex-start" : "flex-end"}}, bars);
    var fill = el("div", {style: {width: barW + "px", height: h + "px", background: colorOf(cv[1]),
                                  marginTop: cv[1] > 0 ? (62 - h) + "px" : "0",
                                  marginBottom: cv[1] > 0 ? "0" : (62 - h) + "px"}}, cell);
    cell.addEventListener("mouseenter", function () { show(cv[0], cell); });
  });
  function show(c, node) {
    if (hot) hot.classList.remove("lfv-hot");
    hot = node; if (hot) hot.classList.add("lfv-hot");
    detail.innerHTML = "";
    sprite(detail, c, S);
    var vr = byChannel[c];
    el("div", {text: "channel " + c + ": " + (vr[0] > 0 ? "+" : "") + fmt(vr[0]) + "  (rank " + (vr[1] + 1) +
                     " of " + DATA.all.length + (DATA.layer ? " in " + DATA.layer : "") + ")"}, detail);
    root.setAttribute("data-channel", c);
  }
  function entries(chs) {
    chs.forEach(function (c) {
      var e = el("div", {cls: "lfv-entry", "data-channel": c}, list);
      sprite(e, c, S);
      var v = byChannel[c][0];
      el("div", {cls: "lfv-value", text: c + ": " + (v > 0 ? "+" : "") + fmt(v),
                 style: {background: colorOf(v)}}, e);
      e.addEventListener("mouseenter", function () { show(c, e); });
    });
  }
  entries(DATA.pos);
  el("div", {text: "\u2026", style: {fontSize: "32px", margin: "0 12px 24px 6px", color: "#888"}}, list);
  entries(DATA.neg);
  show(DATA.pos[0], null);
  root.classList.add("lfv-live");
})();
