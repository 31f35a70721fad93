// The dashboard map: our grid polygons with their open / overdue / escalated counts, drawn by Leaflet with
// no tile layer (the page works where no tile server is reachable). Without Leaflet the table still says it all.
(function () {
  "use strict";
  function colour(p) {
    if (p.overdue > 0) return "#b71c1c";
    if (p.escalated > 0) return "#ef6c00";
    if (p.open > 0) return "#f9a825";
    return "#2e7d32";
  }
  function draw() {
    var box = document.getElementById("map");
    var data = document.getElementById("grids-data");
    if (!box || !data || typeof L === "undefined") {
      if (box) box.classList.add("no-map");
      return;
    }
    var geo = JSON.parse(data.textContent);
    var map = L.map(box, { attributionControl: false, zoomSnap: 0.25 });
    var micro = geo.features.filter(function (f) { return f.properties.level === "micro_grid"; });
    var shown = micro.length ? micro : geo.features;
    var layer = L.geoJSON({ type: "FeatureCollection", features: shown }, {
      style: function (f) {
        return { color: "#555", weight: 1, fillColor: colour(f.properties), fillOpacity: 0.45 };
      },
      onEachFeature: function (f, l) {
        var p = f.properties;
        l.bindTooltip(p.code + " · " + p.open + " / " + p.overdue + " / " + p.escalated,
          { permanent: true, direction: "center", className: "grid-label" });
      }
    }).addTo(map);
    L.geoJSON({ type: "FeatureCollection", features: geo.features.filter(function (f) {
      return f.properties.level === "grid";
    }) }, { style: { color: "#b71c1c", weight: 2.5, fill: false } }).addTo(map);
    if (layer.getLayers().length) map.fitBounds(layer.getBounds(), { padding: [8, 8] });
    box.dataset.ready = String(layer.getLayers().length);
  }
  document.addEventListener("DOMContentLoaded", draw);
})();
