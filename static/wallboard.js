// Wallboard page script: keeps a board honest without any server message.
// It ticks the clock and the data's age in the header, shows each fresh tile's
// data time (HH:MM) and each stale tile's age, marks tiles stale when their data
// outlives its freshness limit, shows "connection lost since HH:MM" while a
// websocket is down, reconnects after any close, and reloads the page once
// when the server's build (or the board's config) changes.
//
// A page holds one board, or several for a rotation: each board is a
// `.board` section with its own websocket, so hidden boards stay live and
// switching never reloads. While an alert takes over one of the boards,
// rotation shows that board and pauses. Alert layers switch from takeover
// to banner on the page's clock (the server's heartbeat time advanced by
// the screen's monotonic clock).
// On kiosk screens (?kiosk) the board shifts by a few px every minute so that
// static parts do not burn into the panel; boards with a night schedule dim.
// Loaded with defer; no inline script (the CSP forbids it).
(function () {
  'use strict';
  var body = document.body;
  // The page's clock: the server's time at the last heartbeat, advanced by
  // this screen's monotonic clock (performance.now, ms) since then. The
  // offset is taken once per heartbeat, never from other messages (they
  // carry no clock), so time runs between heartbeats and a wrong or jumping
  // wall clock on the TV does not matter.
  var clockServer = Date.now(); // server time at clockMono, unix ms
  var clockMono = performance.now();
  var lastHeartbeat = {};       // board id -> data-now of its last heartbeat
  var WATCHDOG_MS = 45000;   // 3 missed heartbeats (the server sends one every 15 s)
  var sections = [];         // one state object per .board section

  function now() { return clockServer + (performance.now() - clockMono); }
  function pad(n) { return n < 10 ? '0' + n : '' + n; }
  function hhmm(t) { var d = new Date(t); return pad(d.getHours()) + ':' + pad(d.getMinutes()); }
  // age formats like views.Text.Age: units from data-t-age-units ("s,m,h,d"
  // or "秒,分,時間,日"); a space between number and unit for Latin units only.
  function age(ms, units) {
    var u = (units || 's,m,h,d').split(',');
    var sep = /^[a-z]/i.test(u[0]) ? ' ' : '';
    var s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return s + sep + u[0];
    if (s < 3600) return Math.floor(s / 60) + sep + u[1];
    if (s < 172800) return Math.floor(s / 3600) + sep + u[2];
    return Math.floor(s / 86400) + sep + u[3];
  }
  function fmt(tpl, v) { return (tpl || '%s').replace('%s', v); }
  // setText writes a text only when it changed: writing the same text still
  // replaces the text node, which costs a style recalculation and layout of
  // the tile on every tick, on a TV's weak CPU.
  function setText(el, s) { if (el.textContent !== s) el.textContent = s; }

  function sectionOf(el) { return el && el.closest ? el.closest('.board') : null; }
  function stateOf(el) {
    var sec = sectionOf(el);
    for (var i = 0; i < sections.length; i++) if (sections[i].el === sec) return sections[i];
    return null;
  }

  var boardEls = document.querySelectorAll('.board');
  for (var i = 0; i < boardEls.length; i++) {
    var meta = boardEls[i].querySelector('.wb-meta');
    var view = boardEls[i].getAttribute('data-view');
    sections.push({
      el: boardEls[i], id: boardEls[i].getAttribute('data-board'),
      // name is the playlist entry: the board id, or "id/retro" for its view.
      name: boardEls[i].getAttribute('data-board') + (view ? '/' + view : ''),
      build: meta ? meta.getAttribute('data-build') : '',
      socket: null, connected: false, lostSince: null, lastMessage: Date.now(), retries: 0
    });
  }

  // inNight reports whether minutes-of-day m falls in "HH:MM-HH:MM"
  // (which may wrap past midnight).
  function inNight(spec, m) {
    var p = /^(\d\d):(\d\d)-(\d\d):(\d\d)$/.exec(spec || '');
    if (!p) return false;
    var from = +p[1] * 60 + +p[2], to = +p[3] * 60 + +p[4];
    return from <= to ? (m >= from && m < to) : (m >= from || m < to);
  }

  function tickSection(s, t) {
    var d = s.el.dataset;
    var clock = s.el.querySelector('.clock');
    if (clock) setText(clock, hhmm(t));
    var newest = 0;
    var tiles = s.el.querySelectorAll('.tile[data-updated]');
    for (var i = 0; i < tiles.length; i++) {
      var el = tiles[i];
      var updated = +el.getAttribute('data-updated');
      var fresh = +el.getAttribute('data-fresh');
      var failing = el.hasAttribute('data-error');
      var restored = el.hasAttribute('data-restored');
      if (updated > newest) newest = updated;
      var stale = failing || restored || (updated > 0 && t - updated > fresh);
      el.classList.toggle('is-stale', stale);
      var ta = el.querySelector('.tile-age');
      if (ta) {
        setText(ta, updated > 0 && !stale ? fmt(d.tAsOf, hhmm(updated)) : '');
      }
      var st = el.querySelector('.stale-text');
      if (!st) continue;
      if (!stale) { setText(st, ''); continue; }
      if (updated === 0) continue; // failing with no data: the server's text says since when
      var tpl = failing ? d.tStaleFailing : restored ? d.tStaleRestored : d.tStaleOld;
      setText(st, fmt(tpl, age(t - updated, d.tAgeUnits)));
    }
    var ages = s.el.querySelectorAll('[data-started]');
    for (var j = 0; j < ages.length; j++) {
      var started = +ages[j].getAttribute('data-started');
      if (started > 0) setText(ages[j], age(t - started, d.tAgeUnits));
    }
    // While the connection is lost, the data was last known current when it
    // was lost: anything that still arrives on a socket given up for dead
    // does not make the header say "0 s ago" beside "connection lost".
    if (s.lostSince !== null && newest > s.lostSince) newest = s.lostSince;
    // Under 5 s the header says "just now": on a busy board the newest data
    // is always that fresh, and a header ticking "0 s", "1 s", "0 s" made
    // the TV lay the page out again every second for nothing a viewer needs.
    var up = s.el.querySelector('.updated');
    if (up) setText(up, newest <= 0 ? '' : t - newest < 5000 ? d.tJustNow : fmt(d.updated, age(t - newest, d.tAgeUnits)));
    var dt = new Date(t);
    s.el.classList.toggle('night', inNight(d.night, dt.getHours() * 60 + dt.getMinutes()));
    if (s.connected && Date.now() - s.lastMessage > WATCHDOG_MS && s.socket) {
      // The socket looks open but nothing arrives: a half-dead connection.
      showLost(s);
      s.socket.reconnect();
    }
  }

  function tick() {
    var t = now();
    for (var i = 0; i < sections.length; i++) tickSection(sections[i], t);
    alertLayers();
    rotateTick();
    shiftTick();
  }

  // The alert layer (one per board, swapped whole by the server) is a
  // full-screen takeover for data-takeover ms after the alert opened, then a
  // banner; it goes when the server sends it empty. The chime sounds once
  // per alert, only while its takeover is on.
  var chimed = {};
  var audio = null;
  function alertLayers() {
    var layers = document.querySelectorAll('.alert-layer[data-opened]');
    for (var i = 0; i < layers.length; i++) {
      var el = layers[i];
      var opened = +el.getAttribute('data-opened');
      var takeover = +el.getAttribute('data-takeover');
      var on = now() - opened < takeover;
      el.classList.toggle('is-takeover', on);
      el.classList.toggle('is-banner', !on);
      var key = el.getAttribute('data-key');
      if (on && key && !chimed[key]) {
        chimed[key] = true;
        if (el.hasAttribute('data-chime')) chime();
      }
    }
  }

  // A short two-tone chime made with the Web Audio API (no audio file). A
  // kiosk browser needs --autoplay-policy=no-user-gesture-required for it.
  function chime() {
    body.setAttribute('data-chimes', String((+body.getAttribute('data-chimes') || 0) + 1));
    try {
      var Ctx = window.AudioContext || window.webkitAudioContext;
      if (!Ctx) return;
      if (!audio) audio = new Ctx();
      if (audio.state === 'suspended') audio.resume();
      var t0 = audio.currentTime + 0.05;
      [880, 660].forEach(function (freq, i) {
        var o = audio.createOscillator();
        var g = audio.createGain();
        var t = t0 + i * 0.25;
        o.type = 'sine';
        o.frequency.value = freq;
        g.gain.setValueAtTime(0.0001, t);
        g.gain.exponentialRampToValueAtTime(0.3, t + 0.02);
        g.gain.exponentialRampToValueAtTime(0.0001, t + 0.4);
        o.connect(g);
        g.connect(audio.destination);
        o.start(t);
        o.stop(t + 0.45);
      });
    } catch (err) { /* no sound: the takeover still shows */ }
  }

  function showLost(s) {
    s.connected = false;
    if (s.lostSince === null) s.lostSince = now();
    var el = s.el.querySelector('.conn');
    if (!el) return;
    el.textContent = fmt(s.el.dataset.connLost, hhmm(s.lostSince));
    el.hidden = false;
  }

  // Delay before reconnect attempt n (0, 1, …), ms: 250 ms plus full jitter
  // over a window that doubles from 0.5 s and stops at 2.75 s, so a delay is
  // never over 3 s. However long the server was down, a screen tries again
  // within 3 s of it being back (the promise is 10 s), and hundreds of
  // screens spread their reconnects over those 3 s instead of arriving in
  // the same instant. A refused attempt costs the server next to nothing.
  function reconnectDelay(n) {
    return 250 + Math.random() * Math.min(2750, 500 * Math.pow(2, n));
  }
  if (window.htmx) htmx.config.wsReconnectDelay = reconnectDelay;

  body.addEventListener('htmx:wsOpen', function (e) {
    var s = stateOf(e.target);
    if (!s) return;
    s.socket = e.detail.socketWrapper;
    s.connected = true;
    s.lostSince = null;
    s.retries = 0;
    s.lastMessage = Date.now();
    var el = s.el.querySelector('.conn');
    if (el) el.hidden = true;
  });

  body.addEventListener('htmx:wsClose', function (e) {
    var s = stateOf(e.target);
    if (!s) return;
    s.socket = e.detail.socketWrapper;
    showLost(s);
    // htmx-ext-ws retries by itself only after 1006/1011/1012/1013. A server
    // shutting down says 1001 (going away); a TV must come back after that too.
    var code = e.detail.event && e.detail.event.code;
    if (code === 1008) {
      // Access revoked (the screen's link was removed, or the access rules
      // changed): reload, so the screen shows why instead of old numbers.
      location.reload();
      return;
    }
    if ([1006, 1011, 1012, 1013].indexOf(code) < 0) {
      setTimeout(function () { if (!s.connected && s.socket) s.socket.reconnect(); }, reconnectDelay(s.retries++));
    }
  });

  body.addEventListener('htmx:wsAfterMessage', function (e) {
    var s = stateOf(e.target);
    if (!s) return;
    s.lastMessage = Date.now();
    alertLayers(); // a swapped layer arrives as rendered; set its mode now
    var meta = document.getElementById('wb-meta-' + s.id);
    if (!meta) return;
    var serverNow = +meta.getAttribute('data-now');
    if (serverNow > 0 && serverNow !== lastHeartbeat[s.id]) {
      // A new heartbeat (or the first message of a connection).
      lastHeartbeat[s.id] = serverNow;
      clockServer = serverNow;
      clockMono = performance.now();
    }
    var b = meta.getAttribute('data-build');
    if (b && s.build && b !== s.build) {
      // A new server build or a new config for this board: reload once to
      // get the new page. The guard stops a loop if the server serves the
      // old id by mistake.
      // The guard remembers the change (old > new), not only the new id,
      // so the same id coming back later still reloads.
      var key = 'wb-reloaded-for-' + s.id, change = s.build + '>' + b;
      try {
        if (sessionStorage.getItem(key) === change) return;
        sessionStorage.setItem(key, change);
      } catch (err) { /* storage off: reload anyway */ }
      location.reload();
    }
  });

  // A tile update keeps the tile's element and changes only what differs
  // in it (attributes, texts, the sparkline's path): a new element in the
  // grid made the browser lay out the whole grid and re-resolve every tile's
  // container queries, several times a second on a busy board. A tile is a
  // size container of a size the grid fixes, so a change inside it is laid
  // out inside it.
  function patch(a, b) {
    var i, n, at = b.attributes;
    for (i = a.attributes.length - 1; i >= 0; i--) {
      n = a.attributes[i].name;
      if (!b.hasAttribute(n)) a.removeAttribute(n);
    }
    for (i = 0; i < at.length; i++) if (a.getAttribute(at[i].name) !== at[i].value) a.setAttribute(at[i].name, at[i].value);
    var ac = a.firstChild, bc = b.firstChild, next;
    while (bc) {
      next = bc.nextSibling;
      if (ac && ac.nodeName === bc.nodeName) {
        if (ac.nodeType === 1) patch(ac, bc);
        else if (ac.nodeValue !== bc.nodeValue) ac.nodeValue = bc.nodeValue;
        ac = ac.nextSibling;
      } else {
        a.insertBefore(bc, ac);
      }
      bc = next;
    }
    while (ac) { next = ac.nextSibling; a.removeChild(ac); ac = next; }
  }
  body.addEventListener('htmx:oobBeforeSwap', function (e) {
    var d = e.detail, old = d.target, nu = d.fragment && d.fragment.firstElementChild;
    if (!nu || nu.id !== old.id || !old.classList.contains('tile')) return;
    patch(old, nu);
    d.shouldSwap = false;
  });

  // A message of tile updates and heartbeats only (nearly every message)
  // does not go through htmx: htmx parses each message into a new document
  // (two, counting its template's) and runs every element through its swap
  // and event machinery, the larger part of the page's script time per
  // message. Such elements carry no hx- or ws- attribute, so htmx would have
  // nothing to wire up in them. The page parses the message into one
  // template kept for it, patches the elements in place, and says
  // htmx:wsAfterMessage as htmx would. Anything else (an alert layer, the
  // standup's parts, a screen command, an element not on the page) goes
  // through htmx as before.
  var inbox = document.createElement('template');
  var HTMX_ATTR = /\s(data-)?(hx|ws)-/;
  body.addEventListener('htmx:wsBeforeMessage', function (e) {
    var msg = e.detail.message;
    if (typeof msg !== 'string' || HTMX_ATTR.test(msg)) return;
    inbox.innerHTML = msg;
    var els = inbox.content.children, pairs = [], i;
    for (i = 0; i < els.length; i++) {
      var nu = els[i], old = nu.id ? document.getElementById(nu.id) : null;
      if (!old || old.tagName !== nu.tagName || !(old.classList.contains('tile') || old.classList.contains('wb-meta'))) {
        pairs = [];
        break;
      }
      pairs.push(old, nu);
    }
    if (pairs.length) {
      e.preventDefault();
      for (i = 0; i < pairs.length; i += 2) patch(pairs[i], pairs[i + 1]);
    }
    inbox.content.textContent = ''; // not innerHTML = '': that runs the parser again
    if (pairs.length) htmx.trigger(e.target, 'htmx:wsAfterMessage', { message: msg, socketWrapper: e.detail.socketWrapper });
  });

  // Rotation: show one section at a time for data-rotate-ms each. The clock
  // of a board's turn only runs while no alert takeover is visible.
  var rotateMs = +body.getAttribute('data-rotate-ms') || 0;
  var current = 0, shownFor = 0, rotations = 0;
  var shown = sections.length ? [sections[0].name] : []; // recent entries shown, at most 50
  var bar = document.getElementById('wb-rotate-bar');

  // takeoverSection is the index of the section whose alert takeover is on,
  // or -1: rotation moves to that board and stays there while it lasts.
  function takeoverSection() {
    var layer = document.querySelector('.alert-layer.is-takeover:not([hidden])');
    if (!layer) return -1;
    for (var i = 0; i < sections.length; i++) if (sections[i].el.contains(layer)) return i;
    return -1;
  }

  function show(i) {
    current = (i + sections.length) % sections.length;
    for (var k = 0; k < sections.length; k++) sections[k].el.hidden = k !== current;
    shownFor = 0;
    rotations++;
    shown.push(sections[current].name);
    if (shown.length > 50) shown.shift();
    if (bar) {
      bar.classList.add('reset');
      bar.style.transform = 'scaleX(0)';
      void bar.offsetWidth; // apply the reset before the transition resumes
      bar.classList.remove('reset');
    }
  }

  function rotateTick() {
    if (sections.length < 2 || rotateMs <= 0) return;
    var up = takeoverSection();
    body.classList.toggle('rotate-paused', up >= 0);
    if (up >= 0) {
      if (up !== current) show(up);
      return;
    }
    shownFor += 1000;
    if (shownFor >= rotateMs) { show(current + 1); return; }
    if (bar) bar.style.transform = 'scaleX(' + (shownFor / rotateMs).toFixed(3) + ')';
  }

  // Burn-in protection: a slow walk over a few positions, one step a minute.
  var shifts = [[0, 0], [2, 1], [1, -2], [-2, -1], [-1, 2], [2, -1], [-2, 2], [0, -2]];
  var shiftStep = 0, shiftTicks = 0;
  function shiftTick() {
    if (!body.classList.contains('kiosk') || ++shiftTicks < 60) return;
    shiftTicks = 0;
    var p = shifts[++shiftStep % shifts.length];
    body.style.setProperty('--shift-x', p[0] + 'px');
    body.style.setProperty('--shift-y', p[1] + 'px');
  }

  // A small handle for tests and for a remote control: which board shows,
  // how many switches happened, and a way to switch now.
  window.wallboard = {
    current: function () { return sections.length ? sections[current].name : ''; },
    rotations: function () { return rotations; },
    shown: function () { return shown.slice(); },
    connected: function () {
      for (var i = 0; i < sections.length; i++) if (!sections[i].connected) return false;
      return sections.length > 0;
    },
    next: function () { if (sections.length > 1) show(current + 1); },
    // The page's one AudioContext (the chime's), made on first use; null
    // without Web Audio. A paired screen's sound check uses it (screen.js).
    audio: function () {
      try {
        var Ctx = window.AudioContext || window.webkitAudioContext;
        if (Ctx && !audio) audio = new Ctx();
      } catch (err) { /* no sound */ }
      return audio;
    },
    shiftNow: function () { shiftTicks = 59; shiftTick(); }
  };

  tick();
  setInterval(tick, 1000);
})();
