// Page script of a paired screen (a board page with body[data-screen],
// loaded after wallboard.js): the server's commands and the fleet page's
// heartbeat. Boards on screens that are not paired never load it.
(function () {
  'use strict';
  var body = document.body;
  // A paired screen (body[data-screen]) obeys commands the server puts in
  // #wb-cmd (reload, go to a board or playlist, show its name for 10 s),
  // each once, and reports its viewport, pixel ratio, build and whether its
  // chime can play every 30 s: the fleet page's heartbeat.
  var lastCmd = '';
  function runCommand() {
    var el = document.getElementById('wb-cmd');
    if (!el) return;
    var id = el.getAttribute('data-id') || '';
    if (!id || id === lastCmd) return;
    lastCmd = id;
    var cmd = el.getAttribute('data-cmd'), arg = el.getAttribute('data-arg') || '';
    if (cmd === 'reload') location.reload();
    else if (cmd === 'go' && arg.charAt(0) === '/' && arg.charAt(1) !== '/') location.assign(arg);
    else if (cmd === 'identify') {
      var box = document.getElementById('wb-ident');
      if (!box) return;
      box.textContent = arg;
      box.hidden = false;
      clearTimeout(box.wbTimer);
      box.wbTimer = setTimeout(function () { box.hidden = true; }, 10000);
    }
  }
  body.addEventListener('htmx:wsAfterMessage', runCommand);

  // Sound: a browser that lets audio start without a touch starts an
  // AudioContext "running"; otherwise it stays "suspended" until a tap.
  function soundAllowed() {
    var audio = window.wallboard.audio();
    return !!audio && audio.state === 'running';
  }
  function hello() {
    var ok = soundAllowed();
    var note = document.getElementById('wb-sound');
    if (note) note.hidden = ok;
    var m = document.querySelector('meta[name="wb-build"]');
    try {
      fetch('/pair/hello', {
        method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ w: window.innerWidth, h: window.innerHeight, dpr: window.devicePixelRatio || 1,
          autoplay: ok, build: m ? m.getAttribute('content') : '' })
      }).catch(function () { /* server away: the next report says it */ });
    } catch (err) { /* no fetch: the fleet page shows no viewport */ }
  }
  if (body.hasAttribute('data-screen')) {
    var note = document.getElementById('wb-sound');
    if (note) note.addEventListener('click', function () {
      var audio = window.wallboard.audio();
      if (audio && audio.resume) audio.resume().then(hello, hello);
    });
    hello();
    setInterval(hello, 30000);
    window.addEventListener('resize', function () { clearTimeout(window.wbHello); window.wbHello = setTimeout(hello, 500); });
  }

})();
