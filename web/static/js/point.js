// A service point's page: the walking time from where the reader stands, when the browser can tell. The
// server computes it (the same formula as the bot's), so the page reloads with the position in its query.
(function () {
  "use strict";
  var walk = document.getElementById("walk");
  var button = document.getElementById("walk-button");
  if (!walk || !button || !navigator.geolocation) { return; }
  button.hidden = false;
  button.addEventListener("click", function () {
    var out = document.getElementById("walk-text");
    out.textContent = walk.dataset.searching;
    navigator.geolocation.getCurrentPosition(function (position) {
      var query = new URLSearchParams(window.location.search);
      query.set("lat", position.coords.latitude.toFixed(6));
      query.set("lon", position.coords.longitude.toFixed(6));
      window.location.search = query.toString();
    }, function () { out.textContent = walk.dataset.denied; }, { timeout: 15000, maximumAge: 60000 });
  });
})();
