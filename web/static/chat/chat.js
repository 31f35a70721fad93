// The web chat page: posts each message to /chat/api/message, shows the replies, asks /chat/api/inbox for
// notifications every few seconds. Everything is shown with textContent: nothing from the server or the
// person becomes markup.
(function () {
  "use strict";
  var root = document.querySelector(".chat");
  if (!root) return;
  var log = document.getElementById("chat-log");
  var form = document.getElementById("chat-form");
  var input = document.getElementById("chat-input");
  var locationButton = document.getElementById("chat-location");
  var csrf = document.querySelector('meta[name="csrf-token"]').getAttribute("content");
  var texts = root.dataset;
  var STORE = "xijin-chat-log";
  var POLL_MS = 4000;
  var history = [];

  function messageId() {
    var bytes = new Uint8Array(12);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return ("0" + b.toString(16)).slice(-2); }).join("");
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function scrollDown() { log.scrollTop = log.scrollHeight; }

  // Text with its web addresses as links (the status page's link in a confirmation); built from text nodes
  // and anchors, so nothing in the text becomes markup.
  var URL_IN_TEXT = /https?:\/\/[^\s<>"]+/g;
  function linkified(node, text) {
    var at = 0;
    text.replace(URL_IN_TEXT, function (url, offset) {
      node.appendChild(document.createTextNode(text.slice(at, offset)));
      var link = el("a", "", url);
      link.href = url;
      link.rel = "noopener noreferrer";
      node.appendChild(link);
      at = offset + url.length;
      return url;
    });
    node.appendChild(document.createTextNode(text.slice(at)));
  }

  function remember(entry) {
    history.push(entry);
    if (history.length > 100) history = history.slice(-100);
    try { sessionStorage.setItem(STORE, JSON.stringify(history)); } catch (e) { /* private mode: no memory */ }
  }

  function addUser(text, keep) {
    var item = el("li", "from-user");
    item.appendChild(el("span", "bubble", text));
    log.appendChild(item);
    if (keep !== false) remember({ who: "user", text: text });
    scrollDown();
  }

  function buttonRow(buttons, onPress) {
    var row = el("div", "buttons");
    buttons.forEach(function (b) {
      var button = el("button", "", b.title);
      button.type = "button";
      // What the button sends, for people's assistive tools and the browser tests (nothing secret).
      if (b.payload !== undefined) button.dataset.payload = b.payload;
      if (b.data !== undefined) button.dataset.data = b.data;
      button.addEventListener("click", function () {
        Array.prototype.forEach.call(row.querySelectorAll("button"), function (x) { x.disabled = true; });
        onPress(b);
      });
      row.appendChild(button);
    });
    return row;
  }

  function addReply(reply, kind, live) {
    var item = el("li", kind === "note" ? "from-note" : "from-bot");
    var bubble = el("div", "bubble");
    item.appendChild(bubble);
    if (reply.type === "text") {
      linkified(bubble, reply.text || "…");
      if (live && reply.buttons && reply.buttons.length) {
        item.appendChild(buttonRow(reply.buttons, function (b) {
          addUser(b.title);
          if (b.data !== undefined) post("/chat/api/press", { data: b.data });
          else post("/chat/api/message", { payload: b.payload });
        }));
      }
    } else if (reply.type === "venue") {
      bubble.classList.add("venue");
      bubble.appendChild(el("strong", "", "📍 " + (reply.title || "")));
      var facts = [];
      if (reply.address) facts.push(reply.address);
      if (reply.distance_m !== null && reply.distance_m !== undefined) facts.push(reply.distance_m + " m");
      if (reply.walk_min !== null && reply.walk_min !== undefined) facts.push(texts.walk.replace("{minutes}", reply.walk_min));
      if (reply.open_now === true) facts.push(texts.open);
      if (reply.open_now === false) facts.push(texts.closed);
      bubble.appendChild(el("span", "", facts.join(" · ")));
      if (reply.map_url) {
        var link = el("a", "", texts.mapLink);
        link.href = reply.map_url;
        link.rel = "noopener";
        link.target = "_blank";
        bubble.appendChild(document.createElement("br"));
        bubble.appendChild(link);
      }
    } else if (reply.type === "location_request") {
      bubble.textContent = reply.text;
      if (live) {
        var row = buttonRow([{ title: reply.button || texts.locationButton }], shareLocation);
        row.firstChild.dataset.action = "location";
        item.appendChild(row);
      }
    } else if (reply.type === "photo") {
      var img = el("img", "chat-photo");
      img.src = reply.url;
      img.alt = reply.caption || "";
      bubble.appendChild(img);
      if (reply.caption) bubble.appendChild(el("div", "", reply.caption));
    } else {
      return;
    }
    log.appendChild(item);
    remember({ who: kind, reply: reply });
    scrollDown();
  }

  function show(answer, kind) {
    (answer.replies || []).forEach(function (reply) { addReply(reply, kind, true); });
  }

  function post(url, body) {
    body.message_id = messageId();
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify(body)
    }).then(function (response) {
      if (response.status === 429) { addReply({ type: "text", text: texts.busy }, "bot", true); return; }
      return response.json().then(function (answer) { show(answer, "bot"); }, function () {
        addReply({ type: "text", text: texts.error }, "bot", true);
      });
    }, function () {
      addReply({ type: "text", text: texts.error }, "bot", true);
    });
  }

  function shareLocation() {
    if (!navigator.geolocation) { addReply({ type: "text", text: texts.locationDenied }, "bot", true); return; }
    navigator.geolocation.getCurrentPosition(function (position) {
      addUser("📍");
      post("/chat/api/message", {
        location: { latitude: position.coords.latitude, longitude: position.coords.longitude }
      });
    }, function () {
      addReply({ type: "text", text: texts.locationDenied }, "bot", true);
    }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  function poll() {
    if (document.hidden) return;
    fetch("/chat/api/inbox", { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : { replies: [] }; })
      .then(function (answer) { show(answer, "note"); }, function () { /* offline: the next poll retries */ });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) return;
    input.value = "";
    addUser(text);
    post("/chat/api/message", { text: text });
  });
  locationButton.addEventListener("click", shareLocation);

  try { history = JSON.parse(sessionStorage.getItem(STORE) || "[]"); } catch (e) { history = []; }
  var earlier = history;
  history = [];
  earlier.forEach(function (entry) {
    if (entry.who === "user") addUser(entry.text);
    else if (entry.reply) addReply(entry.reply, entry.who, false);
  });
  poll();
  window.setInterval(poll, POLL_MS);
  input.focus();
})();
