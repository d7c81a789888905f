package e2e

import (
	"context"
	"encoding/json"
	"io"
	"math"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/wallboard/wallboard/app/apptest"
	"github.com/wallboard/wallboard/store"
)

const fleetConfig = `admin:
  token: {env: WALLBOARD_FLEET_ADMIN}
sources:
  - {id: demo, kind: demo}
boards:
  - id: ops
    title: Ops
    tiles:
      - {id: req, kind: stat, title: Requests, source: demo, query: requests, interval: 1s}
  - id: team
    title: Team
    tiles:
      - {id: lat, kind: stat, title: Latency, source: demo, query: latency_p95, interval: 1s}
`

const fleetToken = "fleet-e2e-admin-token"

func adminPost(t *testing.T, base, path string, form url.Values) []byte {
	t.Helper()
	req, _ := http.NewRequest("POST", base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+fleetToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("POST %s: %d %s", path, resp.StatusCode, b)
	}
	return b
}

type fleetRow struct {
	ID, Name, Target string
	Connected        bool
	W, H             int
	DPR              float64
	Autoplay         *bool
	Browser          string
}

func fleetRows(t *testing.T, base string) []fleetRow {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/admin/screens", nil)
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+fleetToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return nil
	}
	defer resp.Body.Close()
	var rows []fleetRow
	json.NewDecoder(resp.Body).Decode(&rows)
	return rows
}

// pageLayoutJS checks a page that is not a board: nothing wider than the
// screen, no text clipped by its box, the smallest text; fit reports
// whether the whole page fits the screen without scrolling.
const pageLayoutJS = `(() => {
  const W = innerWidth, H = innerHeight, problems = [];
  if (document.documentElement.scrollWidth > W + 1) problems.push('page is ' + document.documentElement.scrollWidth + ' px wide');
  let minFont = Infinity, minFontEl = '';
  document.querySelectorAll('body *').forEach(el => {
    const r = el.getBoundingClientRect();
    if (r.width === 0 || r.height === 0 || getComputedStyle(el).visibility === 'hidden') return;
    if (r.right > W + 1 || r.left < -1) problems.push((el.id || el.className || el.tagName) + ' sticks out sideways');
    if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible') problems.push((el.id || el.className || el.tagName) + ' clips its text');
    const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
    if (own) { const f = parseFloat(getComputedStyle(el).fontSize); if (f < minFont) { minFont = f; minFontEl = el.tagName + '.' + el.className; } }
  });
  return {problems, minFont, minFontEl, fit: document.documentElement.scrollHeight <= H + 1, H, W};
})()`

var fleetScreens = append([]struct {
	name string
	w, h int
}{{"firetv-960x540", 960, 540}}, screens...)

func checkPageLayout(t *testing.T, b *Browser, prefix string, mustFit bool) {
	t.Helper()
	for _, sc := range fleetScreens {
		b.Run(30*time.Second, chromedp.EmulateViewport(int64(sc.w), int64(sc.h)))
		b.Eval(`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`, nil)
		b.Screenshot(prefix + "-" + sc.name)
		var rep struct {
			Problems  []string
			MinFont   float64
			MinFontEl string
			Fit       bool
			H, W      float64
		}
		b.Eval(pageLayoutJS, &rep)
		if len(rep.Problems) > 0 {
			t.Errorf("%s %s: %d layout problems:\n  %s", prefix, sc.name, len(rep.Problems), strings.Join(rep.Problems, "\n  "))
		}
		if min := minFontShare * math.Min(rep.H, rep.W); rep.MinFont < min {
			t.Errorf("%s %s: smallest text %.1f px (%s) is below %.1f px", prefix, sc.name, rep.MinFont, rep.MinFontEl, min)
		}
		if mustFit && !rep.Fit {
			t.Errorf("%s %s: the page does not fit the screen", prefix, sc.name)
		}
		t.Logf("%s %s: smallest text %.1f px (%s), fits: %v", prefix, sc.name, rep.MinFont, rep.MinFontEl, rep.Fit)
	}
}

// A TV pairs by code and is then steered from the fleet page's actions
// (switch board, reload, show its name, revoke) without anyone touching it;
// a restart keeps it on its board.
func TestFleetPairSteerRestartRevoke(t *testing.T) {
	t.Setenv("WALLBOARD_FLEET_ADMIN", fleetToken)
	dataDir := t.TempDir()
	opts := ServerOptions{Config: fleetConfig, DataDir: dataDir, Heartbeat: time.Second}
	srv := StartServer(t, opts)
	base := srv.Base
	opts.Addr = srv.App.Addr()

	tv := StartBrowser(t)
	tv.Run(30*time.Second, chromedp.EmulateViewport(960, 540), chromedp.Navigate(base+"/pair"))
	tv.WaitJS(`document.getElementById('pair-code')`, 10*time.Second)
	var code string
	tv.Eval(`document.getElementById('pair-code').textContent`, &code)
	t.Logf("pairing code %s", code)
	checkPageLayout(t, tv, "pair", true)
	// The layout checks reloaded nothing: the same code is still shown.
	tv.Run(10*time.Second, chromedp.EmulateViewport(960, 540))

	adminPost(t, base, "/admin/screens/pair", url.Values{"code": {code}, "name": {"Kitchen TV"}, "target": {"/boards/ops"}})
	tv.WaitJS(`location.pathname === '/boards/ops' && window.wallboard && wallboard.connected()`, 15*time.Second)

	var row fleetRow
	apptest.Eventually(t, 10*time.Second, "the fleet page to show the TV's viewport", func() (bool, string) {
		for _, r := range fleetRows(t, base) {
			if r.Name == "Kitchen TV" && r.Connected && r.W == 960 && r.H == 540 {
				row = r
				return true, ""
			}
		}
		return false, ""
	})
	t.Logf("fleet row: %+v (autoplay %v)", row, row.Autoplay != nil && *row.Autoplay)
	var soundNote bool
	tv.Eval(`!document.getElementById('wb-sound').hidden`, &soundNote)
	if row.Autoplay == nil || soundNote == *row.Autoplay {
		t.Errorf("sound: fleet says autoplay %v, the TV shows the tap note %v", row.Autoplay, soundNote)
	}

	if row.Autoplay != nil && !*row.Autoplay {
		// Headless Chromium blocks audio without a gesture, as a TV does:
		// a tap on the note (a real input event) enables the chime, and
		// the fleet page says so.
		var at struct{ X, Y float64 }
		tv.Eval(`(() => { const r = document.getElementById('wb-sound').getBoundingClientRect(); return {X: r.x + r.width / 2, Y: r.y + r.height / 2}; })()`, &at)
		tv.Run(10*time.Second, chromedp.MouseClickXY(at.X, at.Y))
		tv.WaitJS(`document.getElementById('wb-sound').hidden`, 5*time.Second)
		apptest.Eventually(t, 5*time.Second, "the fleet page to say the chime can play", func() (bool, string) {
			for _, r := range fleetRows(t, base) {
				if r.ID == row.ID && r.Autoplay != nil && *r.Autoplay {
					return true, ""
				}
			}
			return false, ""
		})
	}

	// The fleet page in an admin's browser (a second tab) shows it too.
	admin, cancel := chromedp.NewContext(tv.Ctx)
	defer cancel()
	ab := &Browser{Ctx: admin, t: t}
	if err := chromedp.Do(admin); err != nil {
		t.Fatalf("admin tab: %v", err)
	}
	Call(ab, network.Enable, network.EnableParams{})
	Call(ab, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": "Bearer " + fleetToken}})
	ab.Run(30*time.Second, chromedp.EmulateViewport(1280, 720), chromedp.Navigate(base+"/admin/screens"))
	ab.WaitJS(`[...document.querySelectorAll('.f-viewport')].some(e => e.textContent.includes('960×540'))`, 10*time.Second)
	checkPageLayout(t, ab, "fleet", false)

	// Switch its board.
	adminPost(t, base, "/admin/screens/"+row.ID+"/show", url.Values{"target": {"/boards/team"}})
	tv.WaitJS(`location.pathname === '/boards/team' && wallboard.connected()`, 10*time.Second)

	// Reload: the page's state is gone afterwards.
	tv.Eval(`window.beforeReload = 1`, nil)
	adminPost(t, base, "/admin/screens/"+row.ID+"/reload", nil)
	tv.WaitJS(`window.beforeReload === undefined && location.pathname === '/boards/team' && window.wallboard && wallboard.connected()`, 10*time.Second)

	// "Which TV is this?"
	adminPost(t, base, "/admin/screens/"+row.ID+"/identify", nil)
	tv.WaitJS(`!document.getElementById('wb-ident').hidden && document.getElementById('wb-ident').textContent === 'Kitchen TV'`, 5*time.Second)

	// Lobby mode: the page comes back with status only; names, alert
	// titles and next actions are not shown.
	adminPost(t, base, "/admin/screens/"+row.ID+"/lobby", url.Values{"on": {"1"}})
	tv.WaitJS(`document.body.classList.contains('lobby') && window.wallboard && wallboard.connected()`, 10*time.Second)
	var shown []string
	tv.Eval(`(() => {
	  document.body.insertAdjacentHTML('beforeend', '<div class="alert-layer is-takeover"><p class="to-sev">critical</p><h2 class="to-title">db-primary down</h2><p class="to-next">fail over to db-2</p></div><div class="tile"><span class="row-label">alice</span><span class="row-detail">deploy</span></div>');
	  return [...document.querySelectorAll('.to-title, .to-next, .row-label, .row-detail')].filter(e => getComputedStyle(e).visibility !== 'hidden').map(e => e.textContent);
	})()`, &shown)
	if len(shown) > 0 {
		t.Errorf("lobby screen shows %q", shown)
	}
	adminPost(t, base, "/admin/screens/"+row.ID+"/lobby", url.Values{})
	tv.WaitJS(`!document.body.classList.contains('lobby') && window.wallboard && wallboard.connected()`, 10*time.Second)

	// Restart on the same address and data dir: the TV reconnects and stays
	// on its board; the fleet still knows it.
	srv.Stop()
	srv2 := StartServer(t, opts)
	if srv2.Base != base {
		t.Fatalf("restart on %s, want %s", srv2.Base, base)
	}
	apptest.Eventually(t, 20*time.Second, "the TV to reconnect after the restart", func() (bool, string) {
		for _, r := range fleetRows(t, base) {
			if r.ID == row.ID && r.Connected && r.Target == "/boards/team" {
				return true, ""
			}
		}
		return false, ""
	})
	tv.WaitJS(`location.pathname === '/boards/team' && wallboard.connected()`, 10*time.Second)
	// A fresh load of / still goes to its board.
	tv.Run(30*time.Second, chromedp.Navigate(base+"/"))
	tv.WaitJS(`location.pathname === '/boards/team' && window.wallboard && wallboard.connected()`, 15*time.Second)

	// Switched while it was away: the stored target wins when it comes back.
	srv2.Stop()
	st, err := store.Open(context.Background(), filepath.Join(dataDir, "wallboard.db"))
	if err != nil {
		t.Fatal(err)
	}
	list, err := st.Screens(context.Background())
	if err != nil || len(list) != 1 {
		t.Fatalf("stored screens: %v %v", list, err)
	}
	list[0].Target = "/boards/ops"
	if err := st.UpdateScreen(context.Background(), list[0]); err != nil {
		t.Fatal(err)
	}
	st.Close()
	StartServer(t, opts)
	tv.WaitJS(`location.pathname === '/boards/ops' && window.wallboard && wallboard.connected()`, 20*time.Second)

	// Revoke: it shows the pairing page.
	adminPost(t, base, "/admin/screens/"+row.ID+"/revoke", nil)
	tv.WaitJS(`location.pathname === '/pair' && document.getElementById('pair-code') !== null`, 10*time.Second)
}
