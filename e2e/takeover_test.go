package e2e

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// A critical alert takes over the screen of a real browser (title, next
// action, runbook QR), turns into a banner after the board's takeover time,
// and both go when the alert closes.
func TestAlertTakeover(t *testing.T) {
	const token = "events-token"
	s := StartServer(t, ServerOptions{Config: fmt.Sprintf(`
sources:
  - id: hooks
    kind: webhooks
webhooks:
  events:
    secret: {file: %s}
boards:
  - id: wall
    title: Payments
    takeover: 3s
    chime: true
    tiles:
      - id: alerts
        title: Open alerts
        kind: alerts
        source: hooks
        interval: 5s
        span: 2
      - id: hygiene
        title: Alert hygiene
        kind: hygiene
        source: hooks
        interval: 5s
`, SecretFile(t, token))})
	b := StartBrowser(t)
	b.Open(s.Base+"/boards/wall", 1920, 1080)
	const layer = `document.getElementById('wb-alert-wall')`
	// The websocket is up once the server's heartbeat element has a clock.
	b.WaitJS(`+document.getElementById('wb-meta-wall').dataset.now > 0 && !!document.querySelector('#tile-wall-alerts .alerts-none')`, 15*time.Second)

	s.PostAlert(t, token, `{"id":"pay-1","title":"Payments API down","severity":"critical",
		"started_at":"`+time.Now().Add(-3*time.Minute).UTC().Format(time.RFC3339)+`","resource":"payments-api",
		"next_action":"Fail over to the secondary region:\nmake failover REGION=eu-west4","runbook_url":"https://runbooks.example.com/payments-down"}`)

	b.WaitJS(`(function(){var l=`+layer+`;var to=l&&l.querySelector('.takeover');
		return !!to && l.classList.contains('is-takeover') && getComputedStyle(to).display!=='none' && to.getBoundingClientRect().width>=1900})()`, 5*time.Second)
	var text string
	b.Eval(layer+`.querySelector('.takeover').innerText`, &text)
	var qr int
	b.Eval(layer+`.querySelectorAll('.to-qr svg path').length`, &qr)
	for _, want := range []string{"Payments API down", "CRITICAL", "Fail over to the secondary region", "3 m", "payments-api"} {
		if !strings.Contains(text, want) {
			t.Errorf("takeover text lacks %q:\n%s", want, text)
		}
	}
	if qr != 1 {
		t.Errorf("runbook QR code paths = %d, want 1", qr)
	}
	// The page counts the chime whether or not the browser lets it sound.
	b.WaitJS(`document.body.getAttribute('data-chimes') === '1'`, 2*time.Second)
	b.Screenshot("alerts-takeover")

	// A second critical alert does not stack: one layer, "+1 more".
	s.PostAlert(t, token, `{"id":"pay-2","title":"Card processor timeouts","severity":"critical","next_action":"Switch processor"}`)
	b.WaitJS(`document.querySelectorAll('.alert-layer').length + ':' + document.querySelectorAll('.takeover').length + ':' + /\+1 more/.test(`+layer+`.innerText) === '1:1:true'`, 5*time.Second)

	// After the takeover time, a banner.
	b.WaitJS(`(function(){var l=`+layer+`;var b=l.querySelector('.banner');
		return l.classList.contains('is-banner') && getComputedStyle(l.querySelector('.takeover')).display==='none' && getComputedStyle(b).display!=='none'})()`, 8*time.Second)
	b.WaitJS(`document.querySelectorAll('#tile-wall-alerts .alert').length === 2`, 5*time.Second)
	b.Screenshot("alerts-banner")

	// Both close: takeover and banner go, the tile says so.
	s.PostAlert(t, token, `[{"id":"pay-1","state":"closed"},{"id":"pay-2","state":"closed"}]`)
	b.WaitJS(layer+`.hidden && !`+layer+`.querySelector('.banner,.takeover')`, 5*time.Second)
	b.WaitJS(`!!document.querySelector('#tile-wall-alerts .alerts-none')`, 10*time.Second)
	b.Screenshot("alerts-closed")
}
