// The door sign's print button (a script file, not an inline handler: the pages need no 'unsafe-inline').
(function () {
  "use strict";
  var button = document.getElementById("print");
  if (button) { button.addEventListener("click", function () { window.print(); }); }
})();
