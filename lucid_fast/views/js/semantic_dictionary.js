// Semantic dictionary: hover the image; the top channels at that position appear with bars.
(function () {
  el("div", {cls: "lfv-title", text: DATA.title}, root);
  var row = el("div", {cls: "lfv-row"}, root);
  var left = el("div", {}, row);
  var dict = el("div", {cls: "lfv-dict", style: {alignSelf: "flex-end"}}, row);
  var label = el("div", {cls: "lfv-detail"}, root);
  var panel = gridPanel(left, DATA.img, DATA.h, DATA.w, DATA.size, DATA.size, function (i, j) {
    if (i !== null) show(i, j);
  });
  el("div", {cls: "lfv-label", text: "hover the image"}, left);
  function show(i, j) {
    panel.box(i, j);
    dict.innerHTML = "";
    var entries = DATA.top[i * DATA.w + j], s = DATA.spriteSize;
    for (var k = 0; k < entries.length; k++) {
      var c = entries[k][0], v = entries[k][1];
      var e = el("div", {cls: "lfv-entry", "data-channel": c}, dict);
      var r = el("div", {style: {display: "flex", alignItems: "flex-end", gap: "4px"}}, e);
      sprite(r, c, s);
      el("div", {cls: "lfv-bar", style: {width: "12px", height: Math.max(1, s * Math.max(v, 0) / DATA.vmax) + "px"}},
         r);
      el("div", {cls: "lfv-value", text: c + ": " + fmt(v)}, e);
    }
    label.textContent = "position " + i + ", " + j + (DATA.layer ? " of " + DATA.layer : "") +
      ": channels " + entries.map(function (e) { return e[0]; }).join(", ");
    root.setAttribute("data-pos", i + "," + j);
  }
  show(DATA.pos[0], DATA.pos[1]);
  root.classList.add("lfv-live");
})();
