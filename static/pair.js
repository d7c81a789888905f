// Pairing page script: asks the server once a second whether an admin has
// approved the code shown, then goes to the screen's board. An expired code
// reloads the page, which shows a new one. No inline script (the CSP).
(function () {
  'use strict';
  function poll() {
    fetch('/pair/wait', { credentials: 'same-origin', cache: 'no-store' })
      .then(function (r) { return r.json(); })
      .then(function (s) {
        if (s.state === 'paired' && s.url) { location.assign(s.url); return; }
        if (s.state === 'expired') { location.reload(); return; }
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); }); // server away: keep trying
  }
  poll();
})();
