// Draws each dashboard chart from its data-chart attribute: the monthly rate (or count), the
// target as a dashed line and the projection to the deadline as a dotted line.
(function () {
  "use strict";
  var COLORS = { rate: "#b3261e", target: "#146c2e", projection: "#0b57a4" };

  function draw(element) {
    var data = JSON.parse(element.getAttribute("data-chart"));
    var chart = window.echarts.init(element, null, { renderer: "canvas" });
    var series = [{
      name: data.names.rate, type: "line", data: data.values, connectNulls: false,
      symbolSize: 5, lineStyle: { color: COLORS.rate, width: 2 }, itemStyle: { color: COLORS.rate }
    }];
    if (data.target !== null) {
      series.push({
        name: data.names.target, type: "line", symbol: "none",
        data: data.labels.map(function () { return data.target; }),
        lineStyle: { color: COLORS.target, type: "dashed", width: 2 }
      });
      series.push({
        name: data.names.projection, type: "line", symbol: "circle", symbolSize: 4,
        data: data.projection, connectNulls: true,
        lineStyle: { color: COLORS.projection, type: "dotted", width: 2 },
        itemStyle: { color: COLORS.projection }
      });
    }
    var top = data.unit === "%" ? 100 : null;
    chart.setOption({
      animation: false,
      aria: { enabled: true },
      grid: { left: 44, right: 12, top: 12, bottom: 28 },
      xAxis: { type: "category", data: data.labels, boundaryGap: false, axisLabel: { hideOverlap: true } },
      yAxis: {
        type: "value", min: 0, max: top,
        axisLabel: { formatter: data.unit === "%" ? "{value} %" : "{value}" }
      },
      series: series
    });
    return chart;
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.echarts) { return; }
    var charts = Array.prototype.map.call(document.querySelectorAll("[data-chart]"), draw);
    document.documentElement.setAttribute("data-charts-drawn", String(charts.length));
    if (window.performance && performance.mark) { performance.mark("charts-drawn"); }
    window.addEventListener("resize", function () {
      charts.forEach(function (chart) { chart.resize(); });
    });
  });
})();
