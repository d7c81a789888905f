package app

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"
)

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
func TestBrowserReconnectDelayIsCapped(t *testing.T) {
	ctx := chrome(t, 1280, 720)
	_, base := startApp(t, boardYAML)
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/boards/ops"), chromedp.WaitReady(chromedp.CSS(".grid"))); err != nil {
		t.Fatal(err)
	}
	evalTrue(t, ctx, "connected", `window.wallboard.connected()`)
	const maxDelay, minDelay = 3000, 250 // ms
	for _, rnd := range []string{"0.999999", "0"} {
		out, err := chromedp.Run(ctx, chromedp.Evaluate[string](reconnectSchedule+"("+rnd+")"))
		if err != nil {
			t.Fatal(err)
		}
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

// A screen whose link is revoked while its page is open does not keep
// showing the last numbers: its websocket is closed with 1008 and the page
// reloads into the 403 that says why.
func TestBrowserRevokedScreenShowsWhy(t *testing.T) {
	ctx := chrome(t, 1280, 720)
	token, sum := newToken(t)
	_, otherSum := newToken(t)
	cfg := boardYAML + `
access:
  mode: screens
  screens:
    - {name: lobby-tv, token_sha256: ` + sum + `}
    - {name: kitchen, token_sha256: ` + otherSum + `}
`
	a, base := startApp(t, cfg)
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/screen/"+token+"?next=/boards/ops"), chromedp.WaitReady(chromedp.CSS(".grid"))); err != nil {
		t.Fatal(err)
	}
	evalTrue(t, ctx, "connected", `window.wallboard.connected()`)
	writeFile(t, a.opts.ConfigPath, strings.Replace(cfg, "    - {name: lobby-tv, token_sha256: "+sum+"}\n", "", 1))
	evalTrue(t, ctx, "the page shows the revocation", `document.querySelector('.grid') === null &&
		document.body.innerText.indexOf('unknown or revoked screen link') >= 0`)
}
