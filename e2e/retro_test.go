package e2e

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"
)

// Issue 16 point 6: the retrospective view, filled (ten deployments, open,
// due, overdue and written postmortems, noisy alerts), fits every screen
// size in English and Japanese: no scrolling, nothing off screen, standup
// type sizes.
func TestRetroLayout(t *testing.T) {
	t.Setenv("WB_TEST_EVENTS_TOKEN", "tok-e2e")
	cfg := `
sources:
  - {id: dora, kind: events}
webhooks:
  events:
    secret: {env: WB_TEST_EVENTS_TOKEN}
boards:
  - id: team
    title: Team
    tiles:
      - {id: keys, kind: fourkeys, source: dora, interval: 1h}
  - id: team-ja
    title: チーム
    locale: ja
    tiles:
      - {id: keys, kind: fourkeys, source: dora, interval: 1h}
`
	s := StartServer(t, ServerOptions{Config: cfg})
	send := func(path, body string) { t.Helper(); s.PostEvent(t, "tok-e2e", path, body) }
	now := time.Now().UTC()
	ts := func(d time.Duration) string { return now.Add(-d).Format(time.RFC3339) }
	day := 24 * time.Hour
	for i := 0; i < 24; i++ {
		ago := time.Duration(i+1) * 26 * time.Hour
		send("/api/v1/events/deployments", fmt.Sprintf(`{"id":"d%d","service":"checkout-frontend-service","sha":"%07x0000","finished_at":%q,"author":"someone-with-a-long-name","changes":[{"sha":"c%d","authored_at":%q}]}`,
			i, 0xabc000+i, ts(ago), i, ts(ago+3*time.Hour)))
	}
	titles := []string{"Checkout answers 500 to a third of the requests after the payment provider's certificate rotation", "Slow search", "Queue backlog", "Login loop on Safari"}
	for i, title := range titles {
		labels := ""
		if i == 1 {
			labels = `,"labels":["postmortem"]`
		}
		resolved := fmt.Sprintf(`,"resolved_at":%q`, ts(time.Duration(2*i+1)*day-time.Hour))
		if i == 2 {
			resolved = ""
		}
		send("/api/v1/events/incidents", fmt.Sprintf(`{"id":"inc-%d","service":"checkout-frontend-service","title":%q,"started_at":%q%s%s}`, i, title, ts(time.Duration(2*i+1)*day), resolved, labels))
	}
	for i := 0; i < 12; i++ {
		send("/api/v1/events/alerts", fmt.Sprintf(`{"id":"a%d","title":"Alert policy number %d with a fairly long name that needs shortening","severity":"warning"}`, i, i%6))
	}
	b := StartBrowser(t)
	for _, path := range []string{"/boards/team/retro", "/boards/team-ja/retro"} {
		for _, sc := range screens {
			b.Open(s.Base+path, sc.w, sc.h)
			name := "retro-" + strings.Split(path, "/")[2] + "-" + sc.name
			b.Screenshot(name)
			var r struct {
				Scrolls  bool
				MinFont  float64
				Short    float64
				Overflow []string
				Items    int
			}
			b.Eval(`(() => {
			  const se = document.scrollingElement, short = Math.min(innerWidth, innerHeight);
			  let min = 1e9; const over = [];
			  document.querySelectorAll('.retro-view *').forEach(el => {
			    const own = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim() !== '');
			    const r = el.getBoundingClientRect();
			    if (!own || r.width === 0) return;
			    min = Math.min(min, parseFloat(getComputedStyle(el).fontSize));
			    if (r.bottom > innerHeight + 0.5 || r.right > innerWidth + 0.5) over.push(el.className + ' ' + el.textContent.trim().slice(0, 20));
			  });
			  return {Scrolls: se.scrollHeight > innerHeight || se.scrollWidth > innerWidth, MinFont: min, Short: short, Overflow: over,
			    Items: document.querySelectorAll('.retro-view li').length};
			})()`, &r)
			if r.Items < 10 {
				t.Errorf("%s: %d items listed, want the filled retro", name, r.Items)
			}
			if r.Scrolls || len(r.Overflow) > 0 {
				t.Errorf("%s: scrolls=%v, off screen: %v", name, r.Scrolls, r.Overflow)
			}
			if r.MinFont < 0.018*r.Short {
				t.Errorf("%s: smallest text %.1f px, want >= %.1f", name, r.MinFont, 0.018*r.Short)
			}
			t.Logf("%s: %d items, smallest text %.1f px", name, r.Items, r.MinFont)
		}
	}
}

// Issue 16 point 6: the retro is updated live. A deployment and an incident
// recorded through the webhook API reach an open retro without a reload,
// alone and as the "team/retro" entry of a playlist (which rotates to it
// like to any board). The board's retro.refresh (2 s here, 60 s by default)
// is how often the view re-fetches itself.
func TestRetroLiveInPlaylist(t *testing.T) {
	t.Setenv("WB_TEST_EVENTS_TOKEN", "tok-e2e")
	cfg := `
sources:
  - {id: dora, kind: events}
webhooks:
  events:
    secret: {env: WB_TEST_EVENTS_TOKEN}
boards:
  - id: team
    title: Team
    retro: {refresh: 2s}
    tiles:
      - {id: keys, kind: fourkeys, source: dora, interval: 1h, span: 2}
playlists:
  - {id: office, boards: [team, team/retro], every: 2s}
`
	s := StartServer(t, ServerOptions{Config: cfg})
	send := func(path, body string) { t.Helper(); s.PostEvent(t, "tok-e2e", path, body) }
	now := time.Now().UTC()
	deploy := func(n int) {
		send("/api/v1/events/deployments", fmt.Sprintf(`{"id":"d%d","service":"api","sha":"%d%06d","finished_at":%q}`,
			n, n, 0, now.Add(-time.Duration(10-n)*time.Hour).Format(time.RFC3339)))
	}
	count := func(sel string) string {
		return `((document.querySelector('` + sel + ` .retro-count') || {}).textContent || '')`
	}
	deploy(1)
	b := StartBrowser(t)

	b.Open(s.Base+"/boards/team/retro", 1280, 720)
	b.WaitJS(count("")+`.startsWith('1 deployments')`, 10*time.Second)
	b.Eval(`window.__sameContext = 'kept'; true`, nil)
	deploy(2)
	send("/api/v1/events/incidents", fmt.Sprintf(`{"id":"inc-1","service":"api","title":"Checkout answers 500","started_at":%q}`, now.Add(-time.Hour).Format(time.RFC3339)))
	b.WaitJS(count("")+`.startsWith('2 deployments') && document.querySelector('.retro-view').textContent.includes('Checkout answers 500')`, 20*time.Second)
	var kept string
	b.Eval(`window.__sameContext || 'lost'`, &kept)
	if kept != "kept" {
		t.Fatalf("the retro reloaded to show the new deployment (JS global is %q)", kept)
	}
	b.CheckConsole("retro")

	b.Open(s.Base+"/playlists/office", 1280, 720)
	b.Eval(`window.__sameContext = 'kept'; true`, nil)
	seq := visits(t, b, 2, 30*time.Second)
	checkCycle(t, seq, []string{"team", "team/retro"})
	if !slices.Contains(seq, "team/retro") {
		t.Fatalf("the playlist showed %v, never the retro", seq)
	}
	var tiles int
	b.Eval(`document.querySelectorAll('#retro-team .tile').length + document.querySelectorAll('#board-team .retro-view').length`, &tiles)
	if tiles != 0 {
		t.Errorf("the retro section shows tiles, or the board section a retro (%d)", tiles)
	}
	b.WaitJS(count("#retro-team")+`.startsWith('2 deployments')`, 10*time.Second)
	deploy(3)
	b.WaitJS(count("#retro-team")+`.startsWith('3 deployments')`, 20*time.Second)
	b.WaitJS(`document.querySelector('#tile-team-keys .key-count').textContent.includes('3 deployments')`, 20*time.Second)
	b.Eval(`window.__sameContext || 'lost'`, &kept)
	if kept != "kept" {
		t.Fatalf("the playlist reloaded (JS global is %q)", kept)
	}
	b.CheckConsole("playlist with a retro")

	// A lobby screen (body.lobby, set by the server for a paired screen in
	// lobby mode; the fleet test covers that) shows the retro's counts but
	// no incident titles, deployments or alert names.
	b.Eval(`document.body.classList.add('lobby'); true`, nil)
	var named []string
	b.Eval(`Array.from(document.querySelectorAll('#retro-team .event-title, #retro-team .event-detail')).filter(e => getComputedStyle(e).visibility !== 'hidden').map(e => e.textContent)`, &named)
	if len(named) > 0 {
		t.Errorf("a lobby screen's retro shows names: %q", named)
	}
}
