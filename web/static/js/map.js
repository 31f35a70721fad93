// The red service map: our GeoJSON on Leaflet, with map tiles only when a tile server is configured.
// The list beside the map is rendered by the server; this script draws the map, re-applies the filters on
// change, and answers "near me" with the browser's location.
(function () {
  "use strict";
  var element = document.getElementById("map");
  if (!element || !window.L) { return; }

  // Marker colour and a short glyph per service type: shapes and letters still read in greyscale print.
  var STYLE = {
    toilet: ["#1f77b4", "WC"], first_aid: ["#d62728", "+"], charging: ["#ff7f0e", "⚡"],
    luggage: ["#8c564b", "L"], drinking_water: ["#17becf", "W"], guide: ["#9467bd", "i"],
    volunteer_station: ["#c0392b", "♥"], police: ["#2c3e50", "P"], atm: ["#2ca02c", "¥"],
    lost_and_found: ["#7f7f7f", "?"], service_point: ["#e377c2", "S"]
  };
  var GRID_FILLS = ["#6fa8dc", "#93c47d", "#f6b26b", "#b4a7d6", "#ffd966"];

  var map = L.map(element, { zoomSnap: 0.25, attributionControl: Boolean(element.dataset.tiles) });
  if (element.dataset.tiles) {
    L.tileLayer(element.dataset.tiles, { maxZoom: 20, attribution: element.dataset.attribution || "" }).addTo(map);
  } else {
    element.classList.add("no-tiles");
  }
  L.control.scale({ imperial: false }).addTo(map);

  function text(tag, className, content) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    node.textContent = content;
    return node;
  }

  function popup(props) {
    var box = document.createElement("div");
    box.appendChild(text("strong", "", props.title));
    box.appendChild(document.createElement("br"));
    box.appendChild(text("span", "", props.type_label + " · " + props.status_text));
    box.appendChild(document.createElement("br"));
    box.appendChild(text("span", "muted", props.hours_text));
    box.appendChild(document.createElement("br"));
    var link = text("a", "", element.dataset.details);
    link.href = props.url;
    box.appendChild(link);
    return box;
  }

  var fills = 0;
  var fillOf = {};
  function gridStyle(feature) {
    var p = feature.properties;
    if (p.level === "community") {
      return { color: "#000", weight: 3, fill: false, className: "community-grid" };
    }
    if (p.level === "grid") {
      fillOf[p.id] = fillOf[p.id] || (p.red ? "#e74c3c" : GRID_FILLS[fills++ % GRID_FILLS.length]);
      return { color: p.red ? "#b71c1c" : "#37474f", weight: 2, fillColor: fillOf[p.id],
               fillOpacity: p.red ? 0.35 : 0.22, className: "grid" + (p.red ? " red-grid" : "") };
    }
    return { color: "#555", weight: 1, dashArray: "4 3", fill: true, fillOpacity: 0,
             className: "micro-grid" };
  }

  var layers = { grids: L.featureGroup(), landmarks: L.featureGroup(), points: L.featureGroup() };

  function draw(data) {
    data.features.forEach(function (feature) {
      var p = feature.properties;
      if (p.kind === "grid") {
        var shape = L.geoJSON(feature, { style: gridStyle });
        if (p.level === "micro_grid") {
          shape.bindTooltip(p.id, { permanent: true, direction: "center", className: "label micro-grid-label" });
        } else if (p.level === "grid") {
          shape.bindTooltip(p.title, { permanent: false, sticky: true, className: "label grid-label" });
        }
        shape.addTo(layers.grids);
      } else if (p.kind === "landmark") {
        var c = feature.geometry.coordinates;
        L.circleMarker([c[1], c[0]], { radius: 3, color: "#111", weight: 1, fillOpacity: 1, className: "landmark" })
          .bindTooltip(p.title, { permanent: true, direction: "right", offset: [4, 0], className: "label landmark-label" })
          .addTo(layers.landmarks);
      } else if (p.kind === "service_point") {
        var xy = feature.geometry.coordinates;
        var style = STYLE[p.type] || ["#000", "•"];
        var icon = L.divIcon({
          className: "sp-marker sp-" + p.type + (p.open_now ? " is-open" : " is-closed"),
          html: '<span style="background:' + style[0] + '">' + style[1] + "</span>",
          iconSize: [22, 22], iconAnchor: [11, 11], popupAnchor: [0, -10]
        });
        var marker = L.marker([xy[1], xy[0]], { icon: icon, title: p.title, alt: p.title, keyboard: true });
        marker.bindPopup(popup(p));
        marker.on("add", function () {
          var el = marker.getElement();
          if (el) { el.dataset.code = p.id; el.dataset.type = p.type; el.dataset.open = String(p.open_now); }
        });
        marker.addTo(layers.points);
      }
    });
    layers.grids.addTo(map);
    layers.landmarks.addTo(map);
    layers.points.addTo(map);
    // Landmark names crowd the street at the community's scale: they appear once the reader zooms in.
    var labels = function () { element.classList.toggle("zoomed-out", map.getZoom() < 17); };
    map.on("zoomend", labels);
    var bounds = layers.grids.getBounds();
    if (bounds.isValid()) { map.fitBounds(bounds, { padding: [8, 8] }); } else { map.setView([32.21, 119.43], 16); }
    labels();
    element.dataset.ready = "true";
  }

  fetch(element.dataset.geojson, { headers: { Accept: "application/geo+json" } })
    .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.json(); })
    .then(draw)
    .catch(function () { element.dataset.ready = "error"; });

  // The filters are query parameters: a change reloads the page with them (the list and the map agree).
  var form = document.getElementById("filters");
  ["filter-type", "filter-open"].forEach(function (id) {
    var input = document.getElementById(id);
    if (input) { input.addEventListener("change", function () { form.submit(); }); }
  });

  // "Near me": only where the browser can tell where it is.
  var button = document.getElementById("near-me");
  var near = document.getElementById("near");
  var here = null;
  if (button && near && navigator.geolocation) {
    button.hidden = false;
    button.addEventListener("click", function () {
      var status = document.getElementById("near-status");
      var list = document.getElementById("near-list");
      near.hidden = false;
      status.textContent = near.dataset.searching;
      list.textContent = "";
      navigator.geolocation.getCurrentPosition(function (position) {
        var lat = position.coords.latitude, lon = position.coords.longitude;
        if (here) { map.removeLayer(here); }
        here = L.circleMarker([lat, lon], { radius: 7, color: "#1565c0", fillOpacity: 0.8, className: "you-are-here" })
          .bindTooltip(element.dataset.you, { direction: "top" }).addTo(map);
        fetch(near.dataset.url + "&lat=" + encodeURIComponent(lat) + "&lon=" + encodeURIComponent(lon))
          .then(function (response) { return response.json(); })
          .then(function (data) {
            status.textContent = data.points.length ? "" : data.none_text;
            data.points.forEach(function (point) {
              var item = document.createElement("li");
              item.className = "near-item";
              item.dataset.code = point.id;
              item.dataset.type = point.type;
              var link = text("a", "", point.title);
              link.href = point.url;
              item.appendChild(link);
              item.appendChild(text("span", "type", " " + point.type_label));
              item.appendChild(text("span", "badge " + (point.open_now ? "open" : "closed"),
                point.open_now ? near.dataset.open : near.dataset.closed));
              item.appendChild(text("div", "muted",
                point.distance_text + " · " + near.dataset.walk.replace("{minutes}", point.walk_min)));
              list.appendChild(item);
            });
            map.setView([lat, lon], Math.max(map.getZoom(), 17), { animate: false });
          });
      }, function () {
        status.textContent = near.dataset.denied;
      }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });
  }
})();
