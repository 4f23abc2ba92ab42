// Spatial attribution: two panels (layer1, layer2); hovering one shows its link to the other.
(function () {
  var A = decode(DATA.attr, true), H1 = DATA.h1, W1 = DATA.w1, H2 = DATA.h2, W2 = DATA.w2, S = DATA.size;
  el("div", {cls: "lfv-title", text: DATA.title}, root);
  var row = el("div", {cls: "lfv-row"}, root);
  var label = el("div", {cls: "lfv-detail"}, root);
  function color(v) {  // Lucid's overlay: black for none, grey to white for positive, blue for negative
    var x = v / 127;
    return x >= 0 ? [255 * x, 255 * x, 255 * x, 255] : [0, 0, -255 * x, 255];
  }
  function side(parent, hint, h, w, name, onCell) {
    var col = el("div", {}, parent);
    var p = gridPanel(col, DATA.img, h, w, S, S, onCell);
    var over = el("div", {cls: "lfv-over", style: {position: "absolute", left: 0, top: 0, width: "100%",
                                                   height: "100%", opacity: 0.6}}, p);
    p.insertBefore(over, p.hit);
    el("div", {cls: "lfv-label", text: name}, col);
    p.showHint = function () {
      over.innerHTML = "";
      if (hint) el("img", {cls: "lfv-map", src: hint, alt: "", style: {width: "100%", height: "100%",
                                                                       imageRendering: "pixelated"}}, over);
      p.setAttribute("data-showing", "hint");
    };
    p.showMap = function (mh, mw, value, what) {
      over.innerHTML = "";
      var c = mapCanvas(mh, mw, function (k) { return color(value(k)); });
      c.style.width = "100%"; c.style.height = "100%"; c.style.imageRendering = "pixelated";
      over.appendChild(c);
      p.setAttribute("data-showing", what);
    };
    p.showHint();
    return p;
  }
  var p1, p2;
  function reset() { p1.showHint(); p2.showHint(); p1.box(null); p2.box(null); label.textContent = ""; }
  p1 = side(row, DATA.hint1, H1, W1, DATA.layer1, function (i, j) {
    if (i === null) { reset(); return; }
    // layer1 position (i, j): which layer2 positions it fed, attr[:, :, i, j]
    p1.box(i, j); p2.box(null); p1.showHint();
    p2.showMap(H2, W2, function (k) { return A[(k * H1 + i) * W1 + j]; }, DATA.layer1 + " " + i + "," + j);
    label.textContent = DATA.layer1 + " position " + i + ", " + j + ": what it contributes to " + DATA.layer2;
  });
  p2 = side(row, DATA.hint2, H2, W2, DATA.layer2, function (i, j) {
    if (i === null) { reset(); return; }
    // layer2 position (i, j): which layer1 positions it drew on, attr[i, j]
    p2.box(i, j); p1.box(null); p2.showHint();
    var base = (i * W2 + j) * H1 * W1;
    p1.showMap(H1, W1, function (k) { return A[base + k]; }, DATA.layer2 + " " + i + "," + j);
    label.textContent = DATA.layer2 + " position " + i + ", " + j + ": what it draws on in " + DATA.layer1;
  });
  root.classList.add("lfv-live");
})();
