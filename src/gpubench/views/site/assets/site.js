/* gpubench site: the charts of every page, drawn with plotly from the page's JSON block.
   Every string from data is escaped before plotly sees it (plotly reads a few HTML tags in
   labels and hover text); copied once into assets/, never inlined. */
"use strict";
(function () {
  function esc(value) {
    return String(value === null || value === undefined ? "-" : value)
      .replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
  }
  function read(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }
  function fmt(v) { return v === null || v === undefined ? "-" : Number(v).toPrecision(4); }
  var CONFIG = { displaylogo: false, responsive: true, modeBarButtonsToRemove: ["toImage"] };
  var MARK_STYLE = {
    regression: { color: "#c62828", symbol: "x" },
    accepted: { color: "#2e7d32", symbol: "diamond" },
    transient: { color: "#ef8f00", symbol: "triangle-up" }
  };

  function band(points, name, colour, visible) {
    var xs = [], ys = [];
    points.forEach(function (p) { if (p.high !== null) { xs.push(p.t); ys.push(p.high); } });
    for (var i = points.length - 1; i >= 0; i--) { if (points[i].low !== null) { xs.push(points[i].t); ys.push(points[i].low); } }
    return { x: xs, y: ys, fill: "toself", fillcolor: colour, line: { width: 0 }, hoverinfo: "skip",
             name: esc(name), showlegend: true, visible: visible, type: "scatter", mode: "lines" };
  }
  function hover(p, unit, limit) {
    var text = "run " + esc(p.runs ? p.first + " .. " + p.last + " (" + p.runs + " runs, median)" : p.run_id) +
      "<br>commit " + esc(p.commit ? String(p.commit).slice(0, 12) : "-") +
      "<br>median " + fmt(p.value) + " " + esc(unit) + "<br>IQR " + fmt(p.low) + " .. " + fmt(p.high);
    if (limit && p.value !== null) { text += "<br>" + (100 * p.value / limit.value).toFixed(1) + "% of " + esc(limit.label); }
    if (p.mark) { text += "<br>nightly: " + esc(p.mark); }
    return text;
  }
  function line(points, name, colour, unit, limit, visible) {
    return { x: points.map(function (p) { return p.t; }), y: points.map(function (p) { return p.value; }),
             text: points.map(function (p) { return hover(p, unit, limit); }), hovertemplate: "%{text}<extra>" + esc(name) + "</extra>",
             mode: "lines+markers", marker: { size: 4, color: colour }, line: { color: colour, width: 1.5 },
             name: esc(name), visible: visible, type: "scatter" };
  }

  function caseChart(node, data) {
    var traces = [band(data.points, "IQR band", "rgba(21,101,192,0.18)", true),
                  line(data.points, "median per run", "#1565c0", data.unit, data.limit, true)];
    Object.keys(MARK_STYLE).forEach(function (mark) {
      var marked = data.points.filter(function (p) { return p.mark === mark; });
      if (!marked.length) { return; }
      traces.push({ x: marked.map(function (p) { return p.t; }), y: marked.map(function (p) { return p.value; }),
                    mode: "markers", type: "scatter", name: mark + " night",
                    marker: { size: 11, color: MARK_STYLE[mark].color, symbol: MARK_STYLE[mark].symbol },
                    hoverinfo: "skip" });
    });
    var palette = ["#8e24aa", "#00897b", "#f4511e", "#6d4c41", "#546e7a", "#c0ca33"];
    var firstPeer = traces.length;
    data.peers.forEach(function (peer, i) {
      traces.push(line(peer.points, "peer " + peer.machine, palette[i % palette.length], data.unit, data.limit, false));
    });
    var shapes = [], annotations = [];
    data.change_points.forEach(function (c) {
      shapes.push({ type: "line", xref: "x", yref: "paper", x0: c.t, x1: c.t, y0: 0, y1: 1,
                    line: { color: "#c62828", width: 2, dash: "dot" } });
      annotations.push({ x: c.t, xref: "x", y: 1, yref: "paper", yanchor: "bottom", showarrow: false,
                         font: { size: 11, color: "#c62828" }, bgcolor: "rgba(255,255,255,0.85)",
                         text: (c.change === null ? "" : (c.change * 100).toFixed(1) + "% ") + esc(c.label) });
    });
    if (data.limit) {
      shapes.push({ type: "line", xref: "paper", x0: 0, x1: 1, yref: "y", y0: data.limit.value, y1: data.limit.value,
                    line: { color: "#555", width: 1, dash: "dash" } });
      annotations.push({ xref: "paper", x: 0, y: data.limit.value, yref: "y", yanchor: "bottom", xanchor: "left",
                         showarrow: false, font: { size: 10, color: "#555" },
                         text: esc(data.limit.label) + " " + fmt(data.limit.value) });
    }
    var layout = { margin: { t: 40, r: 20, b: 40, l: 60 }, hovermode: "closest", shapes: shapes, annotations: annotations,
                   xaxis: { type: "date", title: { text: "run start (UTC)" } },
                   yaxis: { title: { text: esc(data.metric + " (" + data.unit + ")") }, rangemode: "tozero" },
                   legend: { orientation: "h", y: -0.15 } };
    Plotly.newPlot(node, traces, layout, CONFIG);
    var toggle = document.getElementById("peers-toggle");
    if (toggle) {
      toggle.addEventListener("change", function () {
        var indices = data.peers.map(function (_, i) { return firstPeer + i; });
        Plotly.restyle(node, { visible: toggle.checked }, indices);
      });
    }
  }

  function seriesChart(node, data) {
    var palette = ["#1565c0", "#c62828", "#2e7d32", "#8e24aa", "#ef6c00", "#00838f", "#6d4c41", "#546e7a"];
    var traces = data.series.map(function (s, i) {
      return line(s.points, s.name, palette[i % palette.length], data.unit, null, true);
    });
    var layout = { margin: { t: 30, r: 20, b: 40, l: 60 }, hovermode: "closest",
                   xaxis: { type: data.xtype || "date", title: { text: esc(data.xtitle || "run start (UTC)") } },
                   yaxis: { title: { text: esc(data.ytitle) }, type: data.ytype || "linear" },
                   shapes: (data.hlines || []).map(function (y) {
                     return { type: "line", xref: "paper", x0: 0, x1: 1, yref: "y", y0: y, y1: y, line: { color: "#555", dash: "dash", width: 1 } };
                   }), legend: { orientation: "h", y: -0.2 } };
    Plotly.newPlot(node, traces, layout, CONFIG);
  }

  function stripChart(node, data) {
    var traces = [{ x: data.x, y: data.y, text: data.text.map(esc), mode: "markers", type: "scatter",
                    hovertemplate: "%{text}<extra></extra>", name: "cases",
                    marker: { size: 7, color: data.colour } }];
    var layout = { margin: { t: 20, r: 20, b: 120, l: 60 }, hovermode: "closest",
                   xaxis: { type: "category", tickvals: data.machines, ticktext: data.machines.map(esc) },
                   yaxis: { type: "log", title: { text: "time ratio to peers' median (> 1 slower)" } },
                   shapes: [{ type: "line", xref: "paper", x0: 0, x1: 1, yref: "y", y0: 1, y1: 1, line: { color: "#555", width: 1 } }] };
    Plotly.newPlot(node, traces, layout, CONFIG);
  }

  function draw() {
    if (typeof Plotly === "undefined") { return; }
    var kase = read("case-data");
    if (kase) { caseChart(document.getElementById("chart"), kase); }
    document.querySelectorAll("[data-series]").forEach(function (node) {
      seriesChart(node, read(node.getAttribute("data-series")));
    });
    document.querySelectorAll("[data-strip]").forEach(function (node) {
      stripChart(node, read(node.getAttribute("data-strip")));
    });
  }
  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
}());
