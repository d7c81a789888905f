// Wallboard page script: keeps a board honest without any server message.
// It ticks the clock and every tile's age, marks tiles stale when their data
// outlives its freshness limit, shows "connection lost since HH:MM" while the
// websocket is down, reconnects after any close, and reloads the page once
// when the server's build changes. Loaded with defer; no inline script.
(function () {
  'use strict';
  var body = document.body;
  var buildMeta = document.querySelector('meta[name="wb-build"]');
  var build = buildMeta ? buildMeta.content : '';
  var offset = 0;            // server clock minus this screen's clock, ms
  var lastMessage = Date.now();
  var connected = false;
  var lostSince = null;
  var socket = null;         // htmx-ext-ws socket wrapper
  var WATCHDOG_MS = 45000;   // 3 missed heartbeats (the server sends one every 15 s)
  var retries = 0;

  function now() { return Date.now() + offset; }
  function pad(n) { return n < 10 ? '0' + n : '' + n; }
  function hhmm(t) { var d = new Date(t); return pad(d.getHours()) + ':' + pad(d.getMinutes()); }
  function age(ms) {
    var s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' m';
    if (s < 172800) return Math.floor(s / 3600) + ' h';
    return Math.floor(s / 86400) + ' d';
  }
  function fmt(tpl, v) { return (tpl || '%s').replace('%s', v); }

  function tick() {
    var t = now();
    var clock = document.getElementById('wb-clock');
    if (clock) clock.textContent = hhmm(t);
    var newest = 0;
    var tiles = document.querySelectorAll('.tile[data-updated]');
    for (var i = 0; i < tiles.length; i++) {
      var el = tiles[i];
      var updated = +el.getAttribute('data-updated');
      var fresh = +el.getAttribute('data-fresh');
      var failing = el.hasAttribute('data-error');
      var restored = el.hasAttribute('data-restored');
      if (updated > newest) newest = updated;
      var stale = failing || restored || (updated > 0 && t - updated > fresh);
      el.classList.toggle('is-stale', stale);
      var st = el.querySelector('.stale-text');
      if (!st) continue;
      if (!stale) { st.textContent = ''; continue; }
      if (updated === 0) continue; // failing with no data: the server's text says since when
      var tpl = failing ? body.dataset.tStaleFailing : restored ? body.dataset.tStaleRestored : body.dataset.tStaleOld;
      st.textContent = fmt(tpl, age(t - updated));
    }
    var ages = document.querySelectorAll('[data-started]');
    for (var j = 0; j < ages.length; j++) {
      var started = +ages[j].getAttribute('data-started');
      if (started > 0) ages[j].textContent = age(t - started);
    }
    alertLayers();
    var up = document.getElementById('wb-updated');
    if (up) up.textContent = newest > 0 ? fmt(body.dataset.updated, age(t - newest)) : '';
    if (connected && Date.now() - lastMessage > WATCHDOG_MS && socket) {
      // The socket looks open but nothing arrives: a half-dead connection.
      showLost();
      socket.reconnect();
    }
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

  function showLost() {
    connected = false;
    if (lostSince === null) lostSince = now();
    var el = document.getElementById('wb-conn');
    if (!el) return;
    el.textContent = fmt(body.dataset.connLost, hhmm(lostSince));
    el.hidden = false;
  }

  // Backoff with full jitter, 0.5 s doubling to at most 30 s, so that after a
  // server restart hundreds of screens do not reconnect in the same instant.
  if (window.htmx) {
    htmx.config.wsReconnectDelay = function (n) {
      return Math.random() * Math.min(30000, 500 * Math.pow(2, n));
    };
  }

  body.addEventListener('htmx:wsOpen', function (e) {
    socket = e.detail.socketWrapper;
    connected = true;
    lostSince = null;
    retries = 0;
    lastMessage = Date.now();
    var el = document.getElementById('wb-conn');
    if (el) el.hidden = true;
  });

  body.addEventListener('htmx:wsClose', function (e) {
    socket = e.detail.socketWrapper;
    showLost();
    // htmx-ext-ws retries by itself only after 1006/1011/1012/1013. A server
    // shutting down says 1001 (going away); a TV must come back after that too.
    var code = e.detail.event && e.detail.event.code;
    if ([1006, 1011, 1012, 1013].indexOf(code) < 0) {
      var delay = Math.random() * Math.min(30000, 500 * Math.pow(2, retries++)) + 250;
      setTimeout(function () { if (!connected && socket) socket.reconnect(); }, delay);
    }
  });

  body.addEventListener('htmx:wsAfterMessage', function () {
    lastMessage = Date.now();
    alertLayers(); // a swapped layer arrives as rendered; set its mode now
    var meta = document.getElementById('wb-meta');
    if (!meta) return;
    var serverNow = +meta.getAttribute('data-now');
    if (serverNow > 0) offset = serverNow - Date.now();
    var b = meta.getAttribute('data-build');
    if (b && build && b !== build) {
      // A new server build: reload once to get its page and assets. The
      // guard stops a loop if the new build serves the old id by mistake.
      var key = 'wb-reloaded-for';
      try {
        if (sessionStorage.getItem(key) === b) return;
        sessionStorage.setItem(key, b);
      } catch (err) { /* storage off: reload anyway */ }
      location.reload();
    }
  });

  tick();
  setInterval(tick, 1000);
})();
