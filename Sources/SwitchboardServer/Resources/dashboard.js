// Draws the dashboard's charts as SVG from the series the page carries (#series): one chart per
// <figure data-measure="...">, bars for counts and spend, a line for latency. No library, no network.
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var source = document.getElementById("series");
  if (!source) return;
  var data = JSON.parse(source.textContent);
  var points = data.points;
  var daily = data.bucket_seconds >= 86400;

  function el(name, attributes, text) {
    var node = document.createElementNS(NS, name);
    for (var key in attributes) node.setAttribute(key, attributes[key]);
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function label(t) {
    var d = new Date(t * 1000).toISOString();
    return daily ? d.slice(0, 10) : d.slice(5, 10) + " " + d.slice(11, 16);
  }

  function format(v) {
    if (v >= 1000000) return (v / 1000000).toFixed(1) + "M";
    if (v >= 1000) return (v / 1000).toFixed(1) + "k";
    return v >= 10 || v === 0 ? String(Math.round(v)) : v.toPrecision(2);
  }

  function draw(figure) {
    var measure = figure.getAttribute("data-measure");
    var line = measure === "p50" || measure === "p95";
    var values = points.map(function (p) { return p[measure]; });
    var known = values.filter(function (v) { return v !== null; });
    var max = Math.max.apply(null, known.concat([0]));
    var W = 600, H = 160, left = 58, bottom = 20, top = 8;
    var plotW = W - left - 6, plotH = H - bottom - top;
    var svg = el("svg", { viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": measure });
    svg.appendChild(el("line", { x1: left, y1: top + plotH, x2: W - 6, y2: top + plotH, stroke: "#9aa3b2" }));
    svg.appendChild(el("text", { x: left - 4, y: top + 10, "text-anchor": "end", "font-size": 11, fill: "#5b6474" }, format(max)));
    svg.appendChild(el("text", { x: left - 4, y: top + plotH, "text-anchor": "end", "font-size": 11, fill: "#5b6474" }, "0"));
    if (points.length > 0) {
      svg.appendChild(el("text", { x: left, y: H - 4, "font-size": 11, fill: "#5b6474" }, label(points[0].t)));
      svg.appendChild(el("text", { x: W - 6, y: H - 4, "text-anchor": "end", "font-size": 11, fill: "#5b6474" },
        label(points[points.length - 1].t)));
    }
    var step = plotW / Math.max(points.length, 1);
    var path = [];
    values.forEach(function (v, i) {
      if (v === null) return;
      var h = max > 0 ? (v / max) * plotH : 0;
      var x = left + i * step;
      if (line) {
        var cx = (x + step / 2).toFixed(1), cy = (top + plotH - h).toFixed(1);
        path.push((path.length ? "L" : "M") + cx + " " + cy);
        var dot = el("circle", { cx: cx, cy: cy, r: 3, fill: "#7c3aed" });
        dot.appendChild(el("title", {}, label(points[i].t) + ": " + Math.round(v) + " ms"));
        svg.appendChild(dot);
      } else if (v > 0) {
        var bar = el("rect", { x: (x + step * 0.1).toFixed(1), y: (top + plotH - h).toFixed(1),
          width: Math.max(step * 0.8, 1).toFixed(1), height: Math.max(h, 1).toFixed(1),
          fill: measure === "errors" ? "#c2410c" : "#2563eb" });
        bar.appendChild(el("title", {}, label(points[i].t) + ": " + v));
        svg.appendChild(bar);
      }
    });
    if (line && path.length) {
      svg.appendChild(el("path", { d: path.join(" "), fill: "none", stroke: "#7c3aed", "stroke-width": 2 }));
    }
    figure.appendChild(svg);
    figure.setAttribute("data-rendered", String(known.length));
  }

  Array.prototype.forEach.call(document.querySelectorAll("figure.chart"), draw);
  document.body.setAttribute("data-charts", "ready");
})();
