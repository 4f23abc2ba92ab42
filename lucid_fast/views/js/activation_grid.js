// Activation grid: the image and the grid of cell visualizations; hovering either highlights the pair.
(function () {
  var H = DATA.h, W = DATA.w, S = DATA.size, D = DATA.detail;
  el("div", {cls: "lfv-title", text: DATA.title}, root);
  var row = el("div", {cls: "lfv-row"}, root);
  var left = el("div", {}, row);
  var detail = el("div", {cls: "lfv-detail"}, left);
  var zoom;
  var pi = gridPanel(left, DATA.img, H, W, S, S, function (i, j) { pick(i, j); });
  left.insertBefore(pi, detail);
  zoom = el("div", {cls: "lfv-zoom", style: {width: D + "px", height: D + "px", marginTop: "8px",
                   backgroundImage: "url(" + DATA.grid + ")", backgroundRepeat: "no-repeat",
                   backgroundSize: (W * D) + "px " + (H * D) + "px", imageRendering: "pixelated",
                   visibility: "hidden"}}, left);
  var pg = gridPanel(row, DATA.grid, H, W, 2 * S, 2 * S, function (i, j) { pick(i, j); });
  function pick(i, j) {
    pi.box(i, j); pg.box(i, j);
    if (i === null) { zoom.style.visibility = "hidden"; detail.textContent = "hover the image or the grid";
                      root.setAttribute("data-pos", ""); return; }
    zoom.style.visibility = "visible";
    zoom.style.backgroundPosition = (-j * D) + "px " + (-i * D) + "px";
    detail.textContent = "position " + i + ", " + j + (DATA.layer ? " of " + DATA.layer : "");
    root.setAttribute("data-pos", i + "," + j);
  }
  pick(null, null);
  root.classList.add("lfv-live");
})();
