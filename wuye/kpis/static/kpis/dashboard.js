// Draws each KPI card's 12-month trend with ECharts (served from node_modules, never a CDN): this year, the same
// months last year (dashed) and the target (a flat line). Data: <script id="kpi-trend" type="application/json">.
(function () {
  "use strict";

  function option(months, kpi, labels) {
    var series = [
      { name: labels.this_year, type: "line", data: kpi.values, connectNulls: false, symbolSize: 4 },
      { name: labels.last_year, type: "line", data: kpi.last_year, lineStyle: { type: "dashed", opacity: 0.6 },
        symbol: "none", connectNulls: false },
    ];
    if (kpi.target !== null) {
      series.push({ name: labels.target, type: "line", data: months.map(function () { return kpi.target; }),
        symbol: "none", lineStyle: { type: "dotted", color: "#6c757d" } });
    }
    return {
      animation: false,
      grid: { left: 4, right: 4, top: 6, bottom: 4, containLabel: false },
      tooltip: {
        trigger: "axis",
        valueFormatter: function (v) { return v === null || v === undefined ? "—" : Math.round(v * 10) / 10; },
      },
      xAxis: { type: "category", data: months, show: false },
      yAxis: { type: "value", show: false, scale: true },
      series: series,
    };
  }

  function draw() {
    var source = document.getElementById("kpi-trend");
    if (!source || typeof echarts === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    var byCode = {};
    data.kpis.forEach(function (kpi) { byCode[kpi.code] = kpi; });
    document.querySelectorAll(".kpi-chart").forEach(function (box) {
      var kpi = byCode[box.getAttribute("data-chart")];
      if (!kpi) { box.remove(); return; }
      var chart = echarts.init(box);
      chart.setOption(option(data.months, kpi, data.labels));
      box.setAttribute("data-drawn", "1");
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
