"use strict";
// Live updates: each element with data-live follows that Server-Sent Events stream; every message
// is the element's new HTML, rendered (and escaped) by the venue. No framework, nothing fetched
// from anywhere but the console itself.
for (const el of document.querySelectorAll("[data-live]")) {
  const source = new EventSource(el.dataset.live);
  source.onopen = () => { el.dataset.state = "live"; };
  source.onmessage = (event) => { el.innerHTML = event.data; el.dataset.state = "live"; };
  source.onerror = () => { el.dataset.state = "lost"; };
  source.addEventListener("end", () => { source.close(); window.location.reload(); });
}
