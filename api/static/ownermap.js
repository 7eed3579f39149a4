// Small progressive enhancements; every feature of the page works without this file.
(function () {
  "use strict";
  // Apply the filters as soon as a select changes.
  var form = document.getElementById("filters");
  if (form) {
    form.querySelectorAll("select").forEach(function (select) {
      select.addEventListener("change", function () { form.submit(); });
    });
  }
  // Keep the selected node in view on the map.
  var selected = document.querySelector(".map .node-highlight");
  if (selected && selected.scrollIntoView) {
    selected.scrollIntoView({ block: "nearest", inline: "nearest" });
  }
})();
