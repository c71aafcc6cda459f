// Render every [data-figure] element with plotly.js, on page load and after each HTMX swap.
(function () {
  function render(root) {
    root.querySelectorAll("[data-figure]").forEach(function (el) {
      if (el.dataset.rendered) return;
      var fig = JSON.parse(el.dataset.figure);
      Plotly.newPlot(el, fig.data, fig.layout, {responsive: true, displaylogo: false});
      el.dataset.rendered = "1";
    });
  }
  htmx.onLoad(function (el) { render(el.querySelectorAll ? el : document); });
})();
