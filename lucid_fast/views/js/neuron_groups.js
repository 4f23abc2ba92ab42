// Neuron groups: the image with the hovered group's spatial factor, all factors in their colours, and icons.
(function () {
  var G = DATA.g, H = DATA.h, W = DATA.w, S = DATA.size, F = decode(DATA.factors, false);
  function rgb(k) {  // hsl(k * 360 / G, 80%, 50%) as RGB
    var hue = k / G, s = 0.8, l = 0.5, q = l + s - l * s, p = 2 * l - q;
    function f(t) { t = (t + 1) % 1; return t < 1 / 6 ? p + (q - p) * 6 * t : t < 1 / 2 ? q :
                    t < 2 / 3 ? p + (q - p) * (2 / 3 - t) * 6 : p; }
    return [255 * f(hue + 1 / 3), 255 * f(hue), 255 * f(hue - 1 / 3)];
  }
  el("div", {cls: "lfv-title", text: DATA.title}, root);
  var row = el("div", {cls: "lfv-row"}, root);
  var photo = el("div", {cls: "lfv-panel", style: {width: S + "px", height: S + "px"}}, row);
  el("img", {src: DATA.img, alt: ""}, photo);
  var shade = el("div", {style: {position: "absolute", left: 0, top: 0, width: "100%", height: "100%"}}, photo);
  var comp = el("div", {cls: "lfv-panel", style: {width: S + "px", height: S + "px", background: "#000"}}, row);
  var icons = el("div", {cls: "lfv-row", style: {marginTop: "10px", gap: "6px"}}, root);
  var detail = el("div", {cls: "lfv-detail"}, root);
  function factorCanvas(k, mode) {
    var c = rgb(k);
    var cv = mapCanvas(H, W, function (i) {
      var v = F[k * H * W + i];
      return mode === "shade" ? [0, 0, 0, 200 * (1 - v / 255)] : [c[0] * v / 255, c[1] * v / 255, c[2] * v / 255,
                                                                   255];
    });
    cv.style.position = "absolute"; cv.style.left = 0; cv.style.top = 0;
    cv.style.width = "100%"; cv.style.height = "100%"; cv.style.imageRendering = "pixelated";
    if (mode !== "shade") cv.style.mixBlendMode = "lighten";
    return cv;
  }
  function show(n) {
    comp.innerHTML = ""; shade.innerHTML = "";
    for (var k = 0; k < G; k++) if (n === null || n === k) comp.appendChild(factorCanvas(k, "color"));
    if (n !== null) shade.appendChild(factorCanvas(n, "shade"));
    Array.prototype.forEach.call(icons.children, function (b, k) {
      b.style.outline = n === k ? "3px solid #222" : "none";
    });
    detail.textContent = n === null ? "hover a group" : "group " + n + (DATA.attrs.length ? ": " +
      DATA.attrs.map(function (a) { return a[0] + " " + (a[1][n] > 0 ? "+" : "") + fmt(a[1][n]); }).join(", ")
      : "");
    root.setAttribute("data-group", n === null ? "" : n);
  }
  for (var k = 0; k < G; k++) {
    (function (k) {
      var c = rgb(k), T = DATA.iconSize;
      var box = el("div", {cls: "lfv-entry", "data-group": k, style: {background: "rgb(" + c.join(",") + ")",
                   padding: "4px", borderRadius: "6px"}}, icons);
      if (DATA.icons) el("img", {src: DATA.icons[k], alt: "group " + k, style: {width: (T - 8) + "px",
                                                                              height: (T - 8) + "px"}}, box);
      else el("div", {text: "" + k, style: {width: (T - 8) + "px", height: (T - 8) + "px"}}, box);
      DATA.attrs.forEach(function (a) {
        el("div", {text: a[0] + " " + (a[1][k] > 0 ? "+" : "") + fmt(a[1][k]), style: {fontSize: "11px",
                   background: "#fff", marginTop: "2px", padding: "0 2px"}}, box);
      });
      box.addEventListener("mouseenter", function () { show(k); });
      box.addEventListener("mouseleave", function () { show(null); });
    })(k);
  }
  show(null);
  root.classList.add("lfv-live");
})();
