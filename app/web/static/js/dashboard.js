// Draws each dashboard chart from its data-chart attribute with uPlot: the monthly rate (or
// count), the target as a dashed line and the projection to the deadline as a dotted line.
// The figures themselves are in the table beside each chart, for screen readers and without JS.
(function () {
  "use strict";
  var COLORS = { rate: "#b3261e", target: "#146c2e", projection: "#0b57a4", grid: "#e3e6ea", axis: "#4a5561" };
  var english = document.documentElement.lang === "en";
  var numbers = new Intl.NumberFormat(english ? "en" : "vi-VN", { maximumFractionDigits: 1 });

  function format(value, unit) {
    if (unit !== "%") { return numbers.format(value); }
    return numbers.format(value) + (english ? "%" : " %");
  }

  function size(element) {
    return { width: Math.max(element.clientWidth, 200), height: Math.max(element.clientHeight, 160) };
  }

  function draw(element) {
    var data = JSON.parse(element.getAttribute("data-chart"));
    var xs = data.labels.map(function (_, index) { return index; });
    var columns = [xs, data.values];
    var series = [
      {},
      { label: data.names.rate, stroke: COLORS.rate, width: 2, points: { size: 5, fill: COLORS.rate } }
    ];
    if (data.target !== null) {
      columns.push(xs.map(function () { return data.target; }));
      series.push({ label: data.names.target, stroke: COLORS.target, width: 2, dash: [6, 4], points: { show: false } });
      columns.push(data.projection);
      series.push({
        label: data.names.projection, stroke: COLORS.projection, width: 2, dash: [2, 3], spanGaps: true,
        points: { size: 4, fill: COLORS.projection }
      });
    }
    var axis = { stroke: COLORS.axis, grid: { stroke: COLORS.grid, width: 1 }, ticks: { show: false }, font: "11px system-ui, sans-serif" };
    var dimensions = size(element);
    var chart = new window.uPlot({
      width: dimensions.width,
      height: dimensions.height,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: false },
        y: { range: function (u, min, max) { return [0, data.unit === "%" ? 100 : Math.max(max || 0, data.target || 0, 1) * 1.1]; } }
      },
      axes: [
        Object.assign({}, axis, {
          incrs: [1, 2, 3, 6, 12], space: 56,
          values: function (u, splits) { return splits.map(function (i) { return data.labels[i] || ""; }); }
        }),
        Object.assign({}, axis, {
          size: 48,
          values: function (u, splits) { return splits.map(function (v) { return format(v, data.unit); }); }
        })
      ],
      series: series
    }, columns, element);
    return { chart: chart, element: element };
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.uPlot) { return; }
    var charts = Array.prototype.map.call(document.querySelectorAll("[data-chart]"), draw);
    document.documentElement.setAttribute("data-charts-drawn", String(charts.length));
    if (window.performance && performance.mark) { performance.mark("charts-drawn"); }
    var pending = null;
    window.addEventListener("resize", function () {
      cancelAnimationFrame(pending);
      pending = requestAnimationFrame(function () {
        charts.forEach(function (entry) { entry.chart.setSize(size(entry.element)); });
      });
    });
  });
})();
