package e2e

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wallboard/wallboard/poller"
)

// seconds reads the leading number of an age text such as "12 s" or
// "failing · 7 s old data"; -1 when there is none.
func seconds(s string) int {
	f := strings.FieldsFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	if len(f) == 0 {
		return -1
	}
	n, err := strconv.Atoi(f[0])
	if err != nil {
		return -1
	}
	return n
}

// The page's clock runs on its own between the server's heartbeats: on a
// busy board (a tile update every second) with no heartbeat for ten minutes,
// the takeover's age and a failing tile's data age keep increasing.
func TestPageClockTicksBetweenHeartbeats(t *testing.T) {
	const token = "clock-token"
	cfg := fmt.Sprintf(`
sources:
  - {id: fake, kind: demo}
  - {id: hooks, kind: webhooks}
webhooks:
  events:
    secret: {file: %s}
boards:
  - id: busy
    title: Busy board
    takeover: 10m
    columns: 3
    tiles:
      - {id: req, kind: stat, title: Requests, source: fake, query: requests, interval: 1s}
      - {id: queue, kind: stat, title: Queue, source: fake, query: queue_age, unit: s, interval: 1s}
      - {id: alerts, kind: alerts, title: Alerts, source: hooks}
`, SecretFile(t, token))
	s := StartServer(t, ServerOptions{Config: cfg, Sources: map[string]poller.Source{"fake": &scripted{}}, Heartbeat: 10 * time.Minute})
	b := StartBrowser(t)
	b.Open(s.Base+"/boards/busy", 1920, 1080)
	b.Eval(`(() => { window.__msgs = 0; document.body.addEventListener('htmx:wsAfterMessage', () => window.__msgs++); return true; })()`, nil)
	started := time.Now().Add(-5 * time.Second).UTC().Format(time.RFC3339)
	s.PostAlert(t, token, `{"id":"c1","title":"Checkout down","severity":"critical","next_action":"Roll back","started_at":"`+started+`"}`)
	b.WaitJS(`document.querySelector('.alert-layer.is-takeover') && document.querySelector('#tile-busy-queue .stale-text').textContent !== ''`, 20*time.Second)

	type sample struct {
		Since, Stale, Age string
		Msgs              int
	}
	read := func() sample {
		var v sample
		b.Eval(`({Since: document.querySelector('.to-since .alert-age').textContent,
		  Stale: document.querySelector('#tile-busy-queue .stale-text').textContent,
		  Age: document.querySelector('#tile-busy-req .tile-age').textContent,
		  Msgs: window.__msgs})`, &v)
		return v
	}
	first := read()
	time.Sleep(4 * time.Second)
	last := read()
	t.Logf("takeover age %q -> %q, failing tile %q -> %q, %d websocket messages in between",
		first.Since, last.Since, first.Stale, last.Stale, last.Msgs-first.Msgs)
	if last.Msgs-first.Msgs < 2 {
		t.Fatalf("only %d websocket messages in 4 s: the board is not busy, the test proves nothing", last.Msgs-first.Msgs)
	}
	if d := seconds(last.Since) - seconds(first.Since); d < 3 {
		t.Errorf("takeover age went from %q to %q in 4 s without a heartbeat: the page clock stands still", first.Since, last.Since)
	}
	if !regexp.MustCompile(`^as of \d\d:\d\d$`).MatchString(last.Age) {
		t.Errorf("a fresh tile's own data time reads %q, want \"as of HH:MM\"", last.Age)
	}
	if d := seconds(last.Stale) - seconds(first.Stale); d < 3 {
		t.Errorf("failing tile's data age went from %q to %q in 4 s without a heartbeat", first.Stale, last.Stale)
	}
}
