// Draws the satisfaction index per dimension with ECharts (served from node_modules, never a CDN): bars for this
// year and last year, and the profile's target as a line. Data: <script id="satisfaction-data" type="application/json">.
(function () {
  "use strict";

  function draw() {
    var source = document.getElementById("satisfaction-data");
    var box = document.getElementById("satisfaction-chart");
    if (!source || !box || typeof echarts === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var series = [
      { name: data.labels.this_year, type: "bar", data: data.this_year, barMaxWidth: 28 },
      { name: data.labels.last_year, type: "bar", data: data.last_year, barMaxWidth: 28, itemStyle: { opacity: 0.45 } },
    ];
    if (data.target !== null) {
      series[0].markLine = { symbol: "none", data: [{ yAxis: data.target, name: data.labels.target }],
        lineStyle: { type: "dashed", color: "#dc3545" }, label: { formatter: data.labels.target + " {c}" } };
    }
    var chart = echarts.init(box);
    chart.setOption({
      animation: false,
      legend: { top: 0 },
      grid: { left: 36, right: 12, top: 32, bottom: 28 },
      tooltip: { trigger: "axis", valueFormatter: function (v) { return v === null || v === undefined ? "—" : v; } },
      xAxis: { type: "category", data: data.dimensions, axisLabel: { interval: 0, fontSize: 11 } },
      yAxis: { type: "value", min: 0, max: 100 },
      series: series,
    });
    box.setAttribute("data-drawn", "1");
    window.addEventListener("resize", function () { chart.resize(); });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
