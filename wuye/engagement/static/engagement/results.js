// Draws the survey results charts with ECharts (served from node_modules, never a CDN). The data comes from the
// page's <script id="survey-charts" type="application/json">; each chart box names its key in data-chart.
(function () {
  "use strict";

  function bar(labels, values, horizontal) {
    var category = { type: "category", data: labels, axisLabel: { interval: 0 } };
    var value = { type: "value", minInterval: 1 };
    return {
      grid: { left: horizontal ? 120 : 40, right: 20, top: 20, bottom: 30, containLabel: true },
      tooltip: { trigger: "axis" },
      xAxis: horizontal ? value : category,
      yAxis: horizontal ? category : value,
      series: [{ type: "bar", data: values, label: { show: true, position: horizontal ? "right" : "top" } }],
    };
  }

  function stacked(labels, series) {
    return {
      grid: { left: 40, right: 20, top: 40, bottom: 30, containLabel: true },
      tooltip: { trigger: "axis" },
      legend: { top: 0, data: series.map(function (s) { return s.name; }) },
      xAxis: { type: "category", data: labels, axisLabel: { interval: 0 } },
      yAxis: { type: "value", minInterval: 1 },
      series: series.map(function (s) {
        return { name: s.name, type: "bar", stack: "all", data: s.values, itemStyle: { color: s.color } };
      }),
    };
  }

  function line(points) {
    return {
      grid: { left: 40, right: 20, top: 20, bottom: 30, containLabel: true },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: points.map(function (p) { return p[0]; }) },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ type: "line", data: points.map(function (p) { return p[1]; }), areaStyle: {} }],
    };
  }

  function draw() {
    var source = document.getElementById("survey-charts");
    if (!source || typeof echarts === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    document.querySelectorAll(".survey-chart").forEach(function (box) {
      var key = box.getAttribute("data-chart");
      var option = null;
      if (key === "per_day") {
        option = line(data.per_day);
      } else {
        var chart = data.questions[key];
        if (!chart) { return; }
        if (chart.type === "choices") { option = bar(chart.labels, chart.values, true); }
        else if (chart.type === "distribution") { option = bar(chart.labels, chart.values, false); }
        else if (chart.type === "sentiment") { option = stacked(chart.labels, chart.series); }
      }
      if (option) {
        var instance = echarts.init(box);
        instance.setOption(option);
        window.addEventListener("resize", function () { instance.resize(); });
        box.setAttribute("data-drawn", "true");
      }
    });
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", draw); } else { draw(); }
})();
