package app_test

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// newBrowser starts Debian's headless Chromium with the project's flags
// (no network beyond loopback: the dead proxy keeps its calls home off it)
// and a fresh profile. (The lead's shared e2e helper will replace this.)
func newBrowser(t *testing.T) context.Context {
	t.Helper()
	const bin = "/usr/bin/chromium"
	if _, err := os.Stat(bin); err != nil {
		t.Fatal("run make test-deps: " + bin + " is missing")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(bin),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.ProxyServer("http://127.0.0.1:9"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1920, 1080),
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelCtx(); cancelAlloc() })
	// Start the browser now, so a broken install fails here, clearly.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := filepath.Join("testdata", "artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

// evalUntil evaluates a JS expression until it returns want.
func evalUntil(t *testing.T, ctx context.Context, within time.Duration, what, expr, want string) {
	t.Helper()
	deadline := time.Now().Add(within)
	var got string
	for time.Now().Before(deadline) {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		var err error
		got, err = chromedp.Run(c, chromedp.Evaluate[string](expr))
		cancel()
		if err == nil && got == want {
			return
		}
		if err != nil {
			got = "error: " + err.Error()
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s: %s gave %q, want %q, within %s", what, expr, got, want, within)
}

func postEvent(t *testing.T, addr, token, body string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, "http://"+addr+"/api/v1/events/alerts", bytes.NewBufferString(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("post event: HTTP %d %s", resp.StatusCode, b)
	}
}

// TestTakeoverInChromium: a critical alert takes over the screen of a real
// browser (title, next action, runbook QR), turns into a banner after the
// board's takeover time, and both go when the alert closes.
func TestTakeoverInChromium(t *testing.T) {
	const token = "events-token"
	a := startApp(t, fmt.Sprintf(`
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
`, writeSecret(t, token)))
	ctx := newBrowser(t)
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+a.Addr()+"/boards/wall")); err != nil {
		t.Fatal(err)
	}
	const layer = `document.getElementById('wb-alert-wall')`
	// The websocket is up once the server's heartbeat element has a clock.
	evalUntil(t, ctx, 15*time.Second, "page connected", `String(+document.getElementById('wb-meta-wall').dataset.now > 0 && !!document.querySelector('#tile-wall-alerts .alerts-none'))`, "true")

	postEvent(t, a.Addr(), token, `{"id":"pay-1","title":"Payments API down","severity":"critical",
		"started_at":"`+time.Now().Add(-3*time.Minute).UTC().Format(time.RFC3339)+`","resource":"payments-api",
		"next_action":"Fail over to the secondary region:\nmake failover REGION=eu-west4","runbook_url":"https://runbooks.example.com/payments-down"}`)

	evalUntil(t, ctx, 5*time.Second, "takeover shown", `(function(){var l=`+layer+`;var to=l&&l.querySelector('.takeover');
		return String(!!to && l.classList.contains('is-takeover') && getComputedStyle(to).display!=='none' && to.getBoundingClientRect().width>=1900)})()`, "true")
	text, err := chromedp.Run(ctx, chromedp.Evaluate[string](layer+`.querySelector('.takeover').innerText`))
	if err != nil {
		t.Fatal(err)
	}
	qr, err := chromedp.Run(ctx, chromedp.Evaluate[int](layer+`.querySelectorAll('.to-qr svg path').length`))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Payments API down", "CRITICAL", "Fail over to the secondary region", "3 m", "payments-api"} {
		if !strings.Contains(text, want) {
			t.Errorf("takeover text lacks %q:\n%s", want, text)
		}
	}
	if qr != 1 {
		t.Errorf("runbook QR code paths = %d, want 1", qr)
	}
	evalUntil(t, ctx, 2*time.Second, "chime played once", `document.body.getAttribute('data-chimes')`, "1")
	screenshot(t, ctx, "alerts-takeover.png")

	// A second critical alert does not stack: one layer, "+1 more".
	postEvent(t, a.Addr(), token, `{"id":"pay-2","title":"Card processor timeouts","severity":"critical","next_action":"Switch processor"}`)
	evalUntil(t, ctx, 5*time.Second, "second alert folds into the one layer", `String(document.querySelectorAll('.alert-layer').length + ':' + document.querySelectorAll('.takeover').length + ':' + /\+1 more/.test(`+layer+`.innerText))`, "1:1:true")

	// After the takeover time, a banner.
	evalUntil(t, ctx, 8*time.Second, "banner after the takeover time", `(function(){var l=`+layer+`;var b=l.querySelector('.banner');
		return String(l.classList.contains('is-banner') && getComputedStyle(l.querySelector('.takeover')).display==='none' && getComputedStyle(b).display!=='none')})()`, "true")
	evalUntil(t, ctx, 5*time.Second, "alert list shows both, with age", `String(document.querySelectorAll('#tile-wall-alerts .alert').length)`, "2")
	screenshot(t, ctx, "alerts-banner.png")

	// Both close: takeover and banner go, the tile says so.
	postEvent(t, a.Addr(), token, `[{"id":"pay-1","state":"closed"},{"id":"pay-2","state":"closed"}]`)
	evalUntil(t, ctx, 5*time.Second, "layer gone after close", `String(`+layer+`.hidden && !`+layer+`.querySelector('.banner,.takeover'))`, "true")
	evalUntil(t, ctx, 10*time.Second, "no open alerts", `String(!!document.querySelector('#tile-wall-alerts .alerts-none'))`, "true")
	screenshot(t, ctx, "alerts-closed.png")
}
