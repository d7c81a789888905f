package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
)

// constant answers every query with one value.
type constant float64

func (c constant) Fetch(context.Context, board.Query) (board.Result, error) {
	return board.Result{Value: board.F(float64(c))}, nil
}

// restartConfig is two boards of one source, "fake", polled every second.
const restartConfig = `
sources:
  - {id: fake, kind: demo}
boards:
  - id: ops
    title: Ops
    tiles:
      - {id: a, kind: stat, title: Alpha, source: fake, query: requests, interval: 1s}
      - {id: b, kind: gauge, title: Beta, source: fake, query: cpu, interval: 1s, unit: ratio}
  - id: other
    title: Other
    tiles:
      - {id: c, kind: stat, source: fake, query: requests, interval: 1s}
`

// opsConfig is one board, ops, of the demo source.
const opsConfig = `
sources:
  - id: demo
    kind: demo
boards:
  - id: ops
    title: Ops
    tiles:
      - {id: req, kind: stat, title: Requests, source: demo, query: requests, interval: 1s}
`

// restartOptions is a server of restartConfig whose source says value, with
// a heartbeat every second and the given build id.
func restartOptions(value float64, build string) ServerOptions {
	return ServerOptions{Config: restartConfig, Sources: map[string]poller.Source{"fake": constant(value)},
		Heartbeat: time.Second, Build: build}
}

// The server goes away under an open page; the page says so, then
// reconnects by itself and shows current values.
func TestPageSurvivesServerRestart(t *testing.T) {
	o := restartOptions(111, "test-build")
	o.DataDir = t.TempDir()
	s := StartServer(t, o)
	b := StartBrowser(t)
	b.Open(s.Base+"/boards/ops", 1280, 720)
	b.WaitJS(`(window.__sameDoc = 1) === 1`, 20*time.Second)
	b.WaitJS(`document.querySelector('#tile-ops-a .value').textContent === '111'`, 20*time.Second)
	b.WaitJS(`document.querySelector('.conn').hidden === true`, 20*time.Second)

	s.Stop()
	b.WaitJS(`!document.querySelector('.conn').hidden &&
		/connection lost since \d\d:\d\d/.test(document.querySelector('.conn').textContent)`, 20*time.Second)
	b.Screenshot("connection-lost")

	// Next process, same address and store, a new value.
	o2 := restartOptions(222, "test-build")
	o2.Addr, o2.DataDir = s.App.Addr(), o.DataDir
	StartServer(t, o2)

	b.WaitJS(`document.querySelector('#tile-ops-a .value').textContent === '222' &&
		document.querySelector('.conn').hidden && window.__sameDoc === 1`, 20*time.Second)
}

// After an upgrade the page reloads itself once to get the new build's page
// and assets, then stays.
func TestPageReloadsOnceOnNewBuild(t *testing.T) {
	o := restartOptions(1, "test-build")
	o.DataDir = t.TempDir()
	s := StartServer(t, o)
	b := StartBrowser(t)
	b.Open(s.Base+"/boards/ops", 1280, 720)
	b.WaitJS(`(window.__oldDoc = 1) === 1 && document.querySelector('meta[name="wb-build"]').content === 'test-build'`, 20*time.Second)
	s.Stop()

	o2 := restartOptions(1, "test-build-2")
	o2.Addr, o2.DataDir = s.App.Addr(), o.DataDir
	StartServer(t, o2)

	b.WaitJS(`window.__oldDoc === undefined &&
		document.querySelector('meta[name="wb-build"]').content === 'test-build-2'`, 20*time.Second)
	// And it stays: mark the new document, wait for two heartbeats, check the mark.
	b.WaitJS(`(window.__newDoc = 1) === 1`, 20*time.Second)
	time.Sleep(2500 * time.Millisecond)
	b.WaitJS(`window.__newDoc === 1`, 20*time.Second)
}

// reconnectSchedule runs in the page: with Math.random pinned to rnd, it
// takes the delay of the first 40 reconnect attempts by both of the page's
// paths — htmx-ext-ws's own retry (after 1006: the server is down) and the
// page's retry after a close it does not retry (1001: the server restarts),
// the latter by firing htmx:wsClose and catching the timer it sets.
const reconnectSchedule = `(function (rnd) {
  var random = Math.random, setTimeout0 = window.setTimeout, delays = [], htmxDelays = [];
  Math.random = function () { return rnd; };
  window.setTimeout = function (f, d) { delays.push(d); return 0; };
  try {
    var board = document.querySelector('.board');
    for (var n = 0; n < 40; n++) {
      htmxDelays.push(htmx.config.wsReconnectDelay(n));
      board.dispatchEvent(new CustomEvent('htmx:wsClose', {bubbles: true,
        detail: {socketWrapper: null, event: {code: 1001}}}));
    }
  } finally {
    Math.random = random;
    window.setTimeout = setTimeout0;
  }
  return JSON.stringify({htmx: htmxDelays, page: delays});
})`

// After a restart, however long the server was down, a screen tries again
// at least every 3 s, so it is back within a few seconds of the server (the
// 10 s promise) whatever the outage; with jitter, so 500 screens do not
// arrive in the same instant. Asserted on the page's own schedule (no
// waiting): the longest delay any attempt can draw, and the shortest.
func TestReconnectDelayIsCapped(t *testing.T) {
	s := StartServer(t, ServerOptions{Config: opsConfig})
	b := StartBrowser(t)
	b.Open(s.Base+"/boards/ops", 1280, 720)
	const maxDelay, minDelay = 3000, 250 // ms
	for _, rnd := range []string{"0.999999", "0"} {
		var out string
		b.Eval(reconnectSchedule+"("+rnd+")", &out)
		var sched struct{ HTMX, Page []float64 }
		if err := json.Unmarshal([]byte(out), &sched); err != nil {
			t.Fatalf("schedule %q: %v", out, err)
		}
		if len(sched.HTMX) != 40 || len(sched.Page) != 40 {
			t.Fatalf("random %s: %d htmx delays, %d page delays, want 40 each: %s", rnd, len(sched.HTMX), len(sched.Page), out)
		}
		t.Logf("random %s: htmx %v…, page %v…", rnd, sched.HTMX[:8], sched.Page[:8])
		for name, ds := range map[string][]float64{"htmx-ext-ws retry (after 1006)": sched.HTMX, "page retry (after 1001)": sched.Page} {
			for n, d := range ds {
				if d > maxDelay {
					t.Errorf("%s, attempt %d, random %s: delay %.0f ms, want at most %d ms", name, n, rnd, d, maxDelay)
					break
				}
				if d < minDelay {
					t.Errorf("%s, attempt %d, random %s: delay %.0f ms, want at least %d ms", name, n, rnd, d, minDelay)
					break
				}
			}
		}
	}
}
