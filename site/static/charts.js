// Draws the charts whose Vega-Lite spec a page carries inline (<script type="application/json">) with the
// vendored vega-embed, as SVG. The spec is parsed as JSON, never run; vega draws every text as SVG text.
"use strict";

document.querySelectorAll("figure[data-vega]").forEach((figure) => {
  const spec = JSON.parse(figure.querySelector('script[type="application/json"]').textContent);
  const target = figure.querySelector(".vega-chart");
  vegaEmbed(target, spec, { renderer: "svg", actions: false }).catch((error) => {
    target.textContent = "This chart could not be drawn: " + error.message;
    console.error(error);
  });
});
