/* flask-funnel, on the host page of an iframe embed: sizes each
   <iframe data-flask-funnel src=".../<slug>/embed"> to the page it shows.
   Only a message from one of those frames, and only a height, is ever read. */
(function () {
  "use strict";
  window.addEventListener("message", function (event) {
    var data = event.data;
    if (!data || data.type !== "flask-funnel:height" || typeof data.height !== "number") return;
    document.querySelectorAll("iframe[data-flask-funnel]").forEach(function (frame) {
      if (frame.contentWindow === event.source) {
        frame.style.height = Math.max(200, Math.min(Math.ceil(data.height), 20000)) + "px";
      }
    });
  });
})();
