// Render every [data-figure] element with plotly.js: on page load, after each HTMX swap, and again
// after the Back button. HTMX restores the page from its history snapshot, whose charts are
// Plotly's drawn SVG without Plotly's state (pictures that no longer resize or hover); the
// back/forward cache restores a page whose container widths may have changed. Both re-render.
//
// Charts follow their container: Plotly's `responsive` handles the window, a ResizeObserver the
// container, and the layout is adapted to the width it is drawn at: the title left-aligned (and
// wrapped when narrow) in a band under the hover-only toolbar, the legend (and on narrow charts a
// heatmap's colour bar) between the title and the plot, category tick labels turned, shrunk or
// thinned until they no longer collide.
(function () {
  var NARROW = 560; // chart width (px) below which the phone layout applies
  var TOOLBAR = 30; // height of Plotly's toolbar row, kept free above the title
  var LINE = 18; // height of one title line (14 px font)
  var CONFIG = { responsive: true, displaylogo: false, displayModeBar: "hover" };
  var charts = []; // the elements this page renders (resized and re-adapted)

  function copy(value) {
    return JSON.parse(JSON.stringify(value));
  }

  // Break ``text`` into lines of at most ``width`` characters (at spaces), joined by <br>.
  function wrap(text, width) {
    var lines = [];
    var line = "";
    String(text)
      .split(/\s+/)
      .forEach(function (word) {
        if (line && (line + " " + word).length > width) {
          lines.push(line);
          line = word;
        } else {
          line = line ? line + " " + word : word;
        }
      });
    if (line) lines.push(line);
    return lines;
  }

  function categoryLabels(fig, axis) {
    // The category labels along ``axis`` ("x" or "y") of bar/box traces, or [] for numbers.
    var labels = [];
    (fig.data || []).forEach(function (trace) {
      var values = trace[axis] || [];
      if (values.length && typeof values[0] === "string" && !/^\d{4}-\d\d-\d\d/.test(values[0])) {
        labels = labels.concat(values);
      }
    });
    return labels;
  }

  // The figure's {data, layout} as drawn on ``el`` at ``width`` px (``fig`` is not modified).
  function adapt(el, fig, width) {
    el._sigmaAbove = null; // selector of what adapt puts above the plot (legend, colour bar)
    var layout = copy(fig.layout || {});
    var narrow = width > 0 && width < NARROW;
    var margin = Object.assign({ l: 70, r: 20, t: 40, b: 60 }, layout.margin || {});
    layout.autosize = true;
    delete layout.width;
    if (narrow) {
      margin.l = Math.min(margin.l, 50);
      margin.r = Math.min(margin.r, 10);
    }

    var title = typeof layout.title === "string" ? { text: layout.title } : layout.title;
    var lines = 0;
    if (title && title.text) {
      var size = (title.font && title.font.size) || 14;
      var perLine = Math.max(12, Math.floor((width - 16) / (size * 0.55)));
      var parts = wrap(title.text.replace(/<br\s*\/?>/g, " "), perLine);
      lines = parts.length;
      title.text = parts.join("<br>");
      title.x = 0; // pad.l: set by fitTitle once drawn
      title.xref = "container";
      title.xanchor = "left";
      title.y = 1;
      title.yref = "container";
      title.yanchor = "top";
      title.pad = { l: 8, t: TOOLBAR + 2 }; // corrected by fitTitle once drawn
      layout.title = title;
    }
    var top = (lines ? TOOLBAR + lines * LINE : TOOLBAR) + 12;

    // A legend goes above the plot, under the title: never on tick labels, an axis title or the
    // toolbar, and as wide as the plot (fitTitle measures its height once drawn).
    var named = (fig.data || []).filter(function (t) {
      return t.showlegend !== false && t.name;
    });
    if (named.length > 1 || (layout.legend && named.length)) {
      var text = named.reduce(function (n, t) {
        return n + String(t.name).length * 7 + 40;
      }, 0);
      top += 22 * Math.max(1, Math.ceil(text / Math.max(200, width - margin.l - margin.r)));
      layout.legend = Object.assign(layout.legend || {}, {
        orientation: "h",
        x: 0,
        xanchor: "left",
        y: 1,
        yanchor: "bottom",
        yref: "paper",
      });
      el._sigmaAbove = ".legend";
    }
    margin.t = Math.max(top, lines ? 0 : margin.t);
    layout.margin = margin;

    // Heatmap colour bars: on a narrow chart, a thin bar above the plot instead of a column.
    var data = copy(fig.data || []);
    data.forEach(function (trace) {
      if (trace.type !== "heatmap" || !narrow) return;
      trace.colorbar = Object.assign(trace.colorbar || {}, {
        orientation: "h",
        x: 0,
        xanchor: "left",
        y: 1,
        yanchor: "bottom",
        len: 1,
        thickness: 10,
        ypad: 4,
        title: { text: ((trace.colorbar || {}).title || {}).text || "", side: "top" },
      });
      el._sigmaAbove = ".colorbar";
      margin.t += 66;
    });

    // Category labels along x: turned further as they crowd (up to vertical), then smaller,
    // then only every n-th one labelled (hovering still names each).
    var plotWidth = width - margin.l - margin.r;
    ["x", "y"].forEach(function (axis) {
      var key = axis + "axis";
      var ax = layout[key] || {};
      ax.automargin = true;
      // Labels under the plot kept off the y axis's bottom label at the corner.
      if (axis === "x") ax.ticklabelstandoff = Math.max(ax.ticklabelstandoff || 0, 6);
      var labels = categoryLabels(fig, axis);
      var longest;
      if (axis === "y" && labels.length && narrow) {
        // Long labels beside the plot (horizontal bars) wrapped onto at most two lines, about 40%
        // of the width, the rest for the bars; every row as tall as the tallest label.
        var rows = Array.from(new Set(labels));
        var longest = rows.reduce(function (n, l) {
          return Math.max(n, String(l).length);
        }, 0);
        var perLine = Math.max(10, Math.floor((width * 0.4) / 6.5), Math.ceil(longest / 2) + 4);
        var wrapped = rows.map(function (label) {
          return wrap(label, perLine).join("<br>");
        });
        if (wrapped.some(function (text, i) { return text !== String(rows[i]); })) {
          ax.tickmode = "array";
          ax.tickvals = rows;
          ax.ticktext = wrapped;
          var tallest = wrapped.reduce(function (n, t) {
            return Math.max(n, t.split("<br>").length);
          }, 1);
          layout.height = Math.max(layout.height || 360, rows.length * (tallest * 14 + 8) + 140);
        }
      }
      if (axis === "x" && labels.length) {
        var unique = Array.from(new Set(labels));
        longest = unique.reduce(function (n, l) {
          return Math.max(n, String(l).length);
        }, 0);
        var room = plotWidth / unique.length; // px per category
        if (room < longest * 7 + 6) {
          ax.tickangle = room < 30 ? -90 : -45;
          // Turned labels take height from the plot: give it back.
          var drop = Math.round(longest * 6.5 * (room < 30 ? 1 : 0.7));
          if (drop > 60) layout.height = (layout.height || 360) + drop - 60;
          if (room < 15) ax.tickfont = Object.assign(ax.tickfont || {}, { size: 9 });
          if (room < 11) {
            var every = Math.ceil(11 / room);
            ax.tickmode = "array";
            ax.tickvals = unique.filter(function (_, i) {
              return i % every === 0;
            });
          }
        } else if (ax.tickangle !== undefined) {
          ax.tickangle = 0;
        }
      }
      layout[key] = ax;
    });
    return { data: data, layout: layout };
  }

  function widthOf(el) {
    return Math.round(el.getBoundingClientRect().width);
  }

  // Once drawn, measure: Plotly places a wrapped title higher than a one-line one, and a legend or
  // colour bar above the plot is as tall as its rows. Move the title's top just under the toolbar
  // row, its left edge over the plot's (clear of a long y-axis title) as far as it fits, and the
  // plot just under the title and what sits above the plot.
  function fitTitle(el) {
    var origin = el.getBoundingClientRect().top;
    var above = 0;
    if (el._sigmaAbove) {
      el.querySelectorAll(el._sigmaAbove).forEach(function (item) {
        above = Math.max(above, item.getBoundingClientRect().height);
      });
    }
    var update = {};
    var bottom = TOOLBAR;
    var title = el.querySelector(".gtitle");
    if (title && el.layout.title && el.layout.title.pad) {
      var box = title.getBoundingClientRect();
      var shift = TOOLBAR + 2 - Math.round(box.top - origin);
      if (Math.abs(shift) > 1) update["title.pad.t"] = el.layout.title.pad.t + shift;
      var room = el.getBoundingClientRect().width - box.width - 4;
      var plotLeft = (el._fullLayout._size || el._fullLayout.margin).l; // after automargin
      var left = Math.round(Math.max(8, Math.min(plotLeft, room)));
      if (Math.abs(left - el.layout.title.pad.l) > 1) update["title.pad.l"] = left;
      bottom = Math.round(box.bottom - origin) + shift + 4;
    }
    var top = bottom + (above ? Math.ceil(above) + 6 : 4);
    if (Math.abs(top - el._fullLayout.margin.t) > 1) update["margin.t"] = top;
    return Object.keys(update).length ? Plotly.relayout(el, update) : Promise.resolve();
  }

  function draw(el) {
    var fig = JSON.parse(el.dataset.figure);
    var width = widthOf(el);
    el._sigmaWidth = width;
    if (charts.indexOf(el) < 0) charts.push(el);
    var drawn = adapt(el, fig, width);
    Plotly.newPlot(el, drawn.data, drawn.layout, CONFIG)
      .then(function () {
        return fitTitle(el);
      })
      .then(function () {
        el.dataset.rendered = "1"; // drawn, title placed: what the browser tests wait for
        if (observer) observer.observe(el);
      });
  }

  // A restored snapshot: drop Plotly's drawn SVG (and the class saying it is a Plotly chart).
  function reset(el) {
    if (window.Plotly && el._fullLayout) Plotly.purge(el);
    el.replaceChildren();
    el.classList.remove("js-plotly-plot");
    delete el.dataset.rendered;
    delete el._sigmaWidth;
  }

  function render(root, force) {
    root.querySelectorAll("[data-figure]").forEach(function (el) {
      if (el._sigmaWidth !== undefined && !force) return; // drawn (or being drawn) here
      reset(el);
      draw(el);
    });
    // Charts swapped out of the page are no longer watched.
    charts = charts.filter(function (el) {
      var attached = document.contains(el);
      if (!attached && observer) observer.unobserve(el);
      return attached;
    });
  }

  function resized(el) {
    if (!el._fullLayout || !document.contains(el)) return;
    var width = widthOf(el);
    if (!width || width === el._sigmaWidth) return;
    el._sigmaWidth = width;
    var fig = JSON.parse(el.dataset.figure);
    var drawn = adapt(el, fig, width);
    Plotly.react(el, drawn.data, drawn.layout, CONFIG).then(function () {
      return fitTitle(el);
    });
  }

  // Containers that changed size, re-adapted once per frame.
  var resizing = new Set();
  var observer = window.ResizeObserver
    ? new ResizeObserver(function (entries) {
        entries.forEach(function (entry) {
          resizing.add(entry.target);
        });
        requestAnimationFrame(function () {
          resizing.forEach(resized);
          resizing.clear();
        });
      })
    : null;

  htmx.onLoad(function (el) {
    render(el.querySelectorAll ? el : document, false);
  });
  document.addEventListener("htmx:historyRestore", function () {
    render(document, true);
  });
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) render(document, true);
  });
})();
