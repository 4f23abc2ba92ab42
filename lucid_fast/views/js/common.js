// Shared helpers of lucid_fast's views (inlined into every view's script; nothing global).
var root = document.getElementById(ROOT_ID);
var DATA = JSON.parse(root.querySelector("script.lfv-data").textContent);

function el(tag, attrs, parent) {
  var e = document.createElement(tag);
  if (attrs) {
    for (var k in attrs) {
      if (k === "style") { for (var s in attrs.style) e.style[s] = attrs.style[s]; }
      else if (k === "text") e.textContent = attrs.text;
      else if (k === "cls") e.className = attrs.cls;
      else e.setAttribute(k, attrs[k]);
    }
  }
  if (parent) parent.appendChild(e);
  return e;
}

function decode(b64, signed) {
  // base64 bytes as Int8Array (values wrap: 255 -> -1) or Uint8Array
  var bin = atob(b64), n = bin.length;
  var out = signed ? new Int8Array(n) : new Uint8Array(n);
  for (var i = 0; i < n; i++) out[i] = bin.charCodeAt(i);
  return out;
}

// A canvas of h x w pixels; color(i) gives [r, g, b, a] (0..255) for flat index i.
function mapCanvas(h, w, color) {
  var c = document.createElement("canvas");
  c.width = w; c.height = h;
  var ctx = c.getContext("2d"), img = ctx.createImageData(w, h);
  for (var i = 0; i < h * w; i++) {
    var rgba = color(i);
    img.data[4 * i] = rgba[0]; img.data[4 * i + 1] = rgba[1]; img.data[4 * i + 2] = rgba[2];
    img.data[4 * i + 3] = rgba[3];
  }
  ctx.putImageData(img, 0, 0);
  return c;
}

// An image panel of size px with a transparent hit layer over an h x w grid; onCell(i, j) on hover (null when
// the pointer leaves), and a highlight box the caller moves with box(i, j) / box(null).
function gridPanel(parent, src, h, w, width, height, onCell) {
  var p = el("div", {cls: "lfv-panel", style: {width: width + "px", height: height + "px"}}, parent);
  if (src) el("img", {src: src, alt: ""}, p);
  var hit = el("div", {cls: "lfv-hit"}, p);
  var b = el("div", {cls: "lfv-box"}, p);
  var last = null;
  hit.addEventListener("mousemove", function (ev) {
    var r = hit.getBoundingClientRect();
    var i = Math.min(h - 1, Math.max(0, Math.floor((ev.clientY - r.top) / r.height * h)));
    var j = Math.min(w - 1, Math.max(0, Math.floor((ev.clientX - r.left) / r.width * w)));
    if (last && last[0] === i && last[1] === j) return;
    last = [i, j];
    onCell(i, j);
  });
  hit.addEventListener("mouseleave", function () { last = null; onCell(null, null); });
  p.box = function (i, j) {
    if (i === null) { b.style.display = "none"; return; }
    b.style.display = "block";
    b.style.left = (j * width / w) + "px"; b.style.top = (i * height / h) + "px";
    b.style.width = (width / w) + "px"; b.style.height = (height / h) + "px";
  };
  p.hit = hit;
  return p;
}

// A channel's sprite (from the page's sprite sheet) at size px, or a grey swatch with its number.
function sprite(parent, channel, size) {
  var sh = DATA.sprites;
  if (!sh || !(String(channel) in sh.index)) {
    return el("div", {cls: "lfv-swatch", text: "" + channel, style: {width: size + "px", height: size + "px"}},
              parent);
  }
  var rc = sh.index[String(channel)], k = size / sh.tile;
  return el("div", {cls: "lfv-sprite", "data-channel": channel, style: {
    width: size + "px", height: size + "px", backgroundImage: "url(" + sh.uri + ")",
    backgroundSize: (sh.cols * sh.tile * k) + "px " + (sh.rows * sh.tile * k) + "px",
    backgroundPosition: (-rc[1] * size) + "px " + (-rc[0] * size) + "px"}}, parent);
}

function fmt(v) { return (Math.abs(v) >= 100 ? v.toFixed(0) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3)); }
