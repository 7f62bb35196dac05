// Draws an item's reading charts with ECharts (served from node_modules, never a CDN): the last 24 hours of raw
// readings, or the last 30 days of hourly means with their min–max band. Data: <script id="equipment-charts">.
(function () {
  "use strict";

  function dayOption(chart) {
    return {
      animation: false,
      grid: { left: 40, right: 8, top: 8, bottom: 24 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "time" },
      yAxis: { type: "value", scale: true },
      series: [{ type: "line", data: chart.day, showSymbol: false, lineStyle: { width: 1.5 } }],
    };
  }

  function monthOption(chart, labels) {
    var mean = chart.month.map(function (p) { return [p[0], p[1]]; });
    var low = chart.month.map(function (p) { return [p[0], p[2]]; });
    var band = chart.month.map(function (p) { return [p[0], p[3] - p[2]]; });
    return {
      animation: false,
      grid: { left: 40, right: 8, top: 8, bottom: 24 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "time" },
      yAxis: { type: "value", scale: true },
      series: [
        { name: labels.min, type: "line", data: low, stack: "band", showSymbol: false, lineStyle: { opacity: 0 } },
        { name: labels.max, type: "line", data: band, stack: "band", showSymbol: false, lineStyle: { opacity: 0 },
          areaStyle: { opacity: 0.15 }, tooltip: { show: false } },
        { type: "line", data: mean, showSymbol: false, lineStyle: { width: 1.5 } },
      ],
    };
  }

  function draw() {
    var source = document.getElementById("equipment-charts");
    if (!source || typeof echarts === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var drawn = [];
    document.querySelectorAll(".equipment-chart").forEach(function (box) {
      var chart = data.charts[Number(box.getAttribute("data-index"))];
      if (!chart) { return; }
      var instance = echarts.init(box);
      instance.setOption(dayOption(chart));
      box.setAttribute("data-drawn", "1");
      drawn.push({ instance: instance, chart: chart });
    });
    document.querySelectorAll("[data-range]").forEach(function (button) {
      button.addEventListener("click", function () {
        var range = button.getAttribute("data-range");
        document.querySelectorAll("[data-range]").forEach(function (b) { b.classList.toggle("active", b === button); });
        drawn.forEach(function (d) {
          d.instance.setOption(range === "day" ? dayOption(d.chart) : monthOption(d.chart, data.labels), true);
        });
      });
    });
    window.addEventListener("resize", function () { drawn.forEach(function (d) { d.instance.resize(); }); });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
