// Package e2e drives a whole Wallboard server with a real Chromium through
// chromedp: layout at several screen sizes, rotation, config reload, locale,
// contrast and a long soak. The harness here starts a server (app.New on port
// 0, the demo or a given config) and a tab of one headless Chromium shared by
// the test binary (a fresh incognito browser context per test), and offers
// small helpers to evaluate JS and take screenshots.
//
// Chromium runs with its own network calls pointed at a dead proxy, so the
// tests never leave loopback.
package e2e

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/wallboard/wallboard/app"
	"github.com/wallboard/wallboard/app/apptest"
	"github.com/wallboard/wallboard/poller"
)

// ChromiumPath is Debian's chromium; `make test-deps` installs it.
const ChromiumPath = "/usr/bin/chromium"

// Server is a running Wallboard for one test.
type Server struct {
	App        *app.App
	Base       string // http://127.0.0.1:port
	ConfigPath string // "" for the demo
	stop       func()
}

// Stop shuts the server down (as a restart or a crash would) before the
// test ends; the pages open on it lose their connection.
func (s *Server) Stop() { s.stop() }

// ServerOptions configure StartServer.
type ServerOptions struct {
	Config  string // YAML written to a temp file; "" runs the built-in demo
	Sources map[string]poller.Source
	Logger  *slog.Logger
	// Heartbeat is how often screens get the server clock; 0 is the app's
	// default (15 s). A long one shows what the page does between heartbeats.
	Heartbeat time.Duration
	// Addr and DataDir, when set, are those of a server that stopped: a
	// restart, as a screen sees it. Empty: a free port and a fresh store.
	Addr, DataDir string
	// Build is the build id the pages are served with ("" the binary's);
	// screens reload when it changes.
	Build string
}

// StartServer runs a Wallboard on a free loopback port until the test ends.
func StartServer(t testing.TB, o ServerOptions) *Server {
	t.Helper()
	s := &Server{}
	if o.Config != "" {
		s.ConfigPath = filepath.Join(t.TempDir(), "wallboard.yaml")
		if err := os.WriteFile(s.ConfigPath, []byte(o.Config), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	a, stop := apptest.StartStoppable(t, app.Options{ConfigPath: s.ConfigPath, Sources: o.Sources, Logger: o.Logger,
		Heartbeat: o.Heartbeat, Addr: o.Addr, DataDir: o.DataDir, Build: o.Build})
	s.App, s.stop = a, stop
	s.Base = "http://" + a.Addr()
	apptest.Eventually(t, 10*time.Second, s.Base+"/healthz up", func() (bool, string) {
		resp, err := http.Get(s.Base + "/healthz")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	return s
}

// Browser is one tab of the test binary's shared headless Chromium, in a
// fresh incognito browser context of its own (no cookies, storage or cache
// shared with other tests); Ctx is that tab. It records the errors the pages
// write to the console (CheckConsole).
type Browser struct {
	Ctx context.Context
	t   testing.TB

	mu      sync.Mutex
	console []string // errors and exceptions since the last CheckConsole
}

// chromium is the one Chromium process of the test binary: starting one per
// test cost about a second of the two cores each time. TestMain stops it.
var chromium struct {
	once    sync.Once
	ctx     context.Context // the browser's first tab, never used by a test
	cancel  func()
	profile string
	err     error
}

// sharedChromium starts the binary's Chromium on first use.
func sharedChromium() (context.Context, error) {
	chromium.once.Do(func() {
		if _, err := exec.LookPath(ChromiumPath); err != nil {
			chromium.err = errors.New("chromium not found at " + ChromiumPath + ": run make test-deps")
			return
		}
		dir, err := os.MkdirTemp("", "wallboard-e2e-chromium-")
		if err != nil {
			chromium.err = err
			return
		}
		chromium.profile = dir
		opts := []chromedp.ExecAllocatorOption{
			chromedp.ExecPath(ChromiumPath),
			chromedp.Headless,
			chromedp.NoSandbox,
			chromedp.DisableGPU,
			chromedp.NoFirstRun,
			chromedp.NoDefaultBrowserCheck,
			chromedp.Flag("disable-quic", true),
			chromedp.Flag("disable-background-networking", true),
			chromedp.Flag("disable-component-update", true),
			chromedp.Flag("disable-sync", true),
			chromedp.Flag("disable-dev-shm-usage", true),
			chromedp.Flag("hide-scrollbars", false),
			chromedp.ProxyServer("http://127.0.0.1:9"),
			chromedp.UserDataDir(dir),
			chromedp.WindowSize(1280, 720),
		}
		actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
		ctx, cancel := chromedp.NewContext(actx)
		chromium.ctx = ctx
		chromium.cancel = func() { cancel(); acancel(); os.RemoveAll(dir) }
		// The first run starts the browser; it must not carry a timeout.
		if err := chromedp.Do(ctx); err != nil {
			chromium.err = fmt.Errorf("start chromium: %w", err)
		}
	})
	return chromium.ctx, chromium.err
}

// TestMain stops the shared Chromium after the tests, so no browser outlives
// the test binary.
func TestMain(m *testing.M) {
	code := m.Run()
	if chromium.cancel != nil {
		chromium.cancel()
	}
	os.Exit(code)
}

// StartBrowser opens a tab in a fresh incognito browser context of the
// shared Chromium for the test and closes it at the end. It fails (never
// skips) when Chromium is missing.
func StartBrowser(t testing.TB) *Browser {
	t.Helper()
	root, err := sharedChromium()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
	if err := chromedp.Do(ctx); err != nil {
		cancel()
		t.Fatalf("open a tab: %v", err)
	}
	t.Cleanup(cancel)
	b := &Browser{Ctx: ctx, t: t}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				b.mu.Lock()
				b.console = append(b.console, m.String()+" "+m.URL)
				b.mu.Unlock()
			}
		}
	}()
	return b
}

// CheckConsole fails the test when a page wrote an error or threw since the
// last check, and starts over.
func (b *Browser) CheckConsole(what string) {
	b.t.Helper()
	if errs := b.TakeConsole(); len(errs) > 0 {
		b.t.Errorf("%s: %d console errors:\n  %s", what, len(errs), strings.Join(errs, "\n  "))
	}
}

// TakeConsole returns the console errors since the last check and starts over.
func (b *Browser) TakeConsole() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	errs := b.console
	b.console = nil
	return errs
}

// Resize gives the tab a new viewport (Emulation.setDeviceMetricsOverride)
// without reloading, and waits until the page has laid itself out again.
func (b *Browser) Resize(w, h int) {
	b.t.Helper()
	o := chromedp.EmulateLandscape
	if h > w {
		o = chromedp.EmulatePortrait
	}
	b.Run(30*time.Second, chromedp.EmulateViewport(int64(w), int64(h), o))
	b.Eval(`new Promise(r => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`, nil)
	b.Eval(`document.fonts.ready.then(() => true)`, nil)
}

// Load sets the viewport and loads url, waiting until ready (a JS boolean
// expression) holds; for pages without the board script (the index).
func (b *Browser) Load(url string, w, h int, ready string) {
	b.t.Helper()
	b.Resize(w, h)
	b.Run(30*time.Second, chromedp.Navigate(url))
	b.WaitJS(ready, 20*time.Second)
}

// Run runs chromedp actions with a timeout, failing the test on error.
func (b *Browser) Run(timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("chromedp: %v", err)
	}
}

// Call sends one DevTools protocol command to the page's target with a
// timeout, failing the test on error.
func Call[P, R any](b *Browser, c cdp.Command[P, R], params P) R {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 60*time.Second)
	defer cancel()
	r, err := chromedp.Run(ctx, func(ctx context.Context, t *chromedp.Target) (R, error) {
		return cdp.Call(ctx, t, c, params)
	})
	if err != nil {
		b.t.Fatalf("cdp %s: %v", c.Method, err)
	}
	return r
}

// Open sets the viewport and loads url, waiting until the page script ran
// and every board section's websocket is open.
func (b *Browser) Open(url string, w, h int) {
	b.t.Helper()
	emu := []chromedp.EmulateViewportOption{}
	if h > w {
		emu = append(emu, chromedp.EmulatePortrait)
	} else {
		emu = append(emu, chromedp.EmulateLandscape)
	}
	b.Run(30*time.Second, chromedp.EmulateViewport(int64(w), int64(h), emu...), chromedp.Navigate(url))
	b.WaitJS(`window.wallboard !== undefined && wallboard.connected()`, 20*time.Second)
}

// Eval evaluates a JS expression and decodes its JSON value into out
// (out may be nil).
func (b *Browser) Eval(js string, out any) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 60*time.Second)
	defer cancel()
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[[]byte](js, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("eval %s: %v", short(js), err)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			b.t.Fatalf("eval %s: decode %s: %v", short(js), raw, err)
		}
	}
}

// WaitJS polls a JS boolean expression until true or the timeout passes.
func (b *Browser) WaitJS(js string, timeout time.Duration) {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		ctx, cancel := context.WithTimeout(b.Ctx, 10*time.Second)
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+js+`)`))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			b.t.Fatalf("waited %s for %s (last error: %v)", timeout, short(js), err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Screenshot saves a PNG of the viewport to testdata/artifacts/name.png.
func (b *Browser) Screenshot(name string) string {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.Ctx, 60*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		b.t.Fatalf("screenshot: %v", err)
	}
	dir := filepath.Join("testdata", "artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	return p
}

// SmallScreenshot saves a PNG of the viewport scaled by scale (0.5: half
// the size) to testdata/artifacts/name.png; the docs' pictures are made so.
func (b *Browser) SmallScreenshot(name string, scale float64) string {
	b.t.Helper()
	var vp struct{ W, H float64 }
	b.Eval(`({W: innerWidth, H: innerHeight})`, &vp)
	shot := Call(b, page.CaptureScreenshot, page.CaptureScreenshotParams{
		Format: page.CaptureScreenshotFormatPng,
		Clip:   &page.Viewport{Width: vp.W, Height: vp.H, Scale: scale},
	})
	dir := filepath.Join("testdata", "artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.t.Fatal(err)
	}
	p := filepath.Join(dir, name+".png")
	if err := os.WriteFile(p, shot.Data, 0o644); err != nil {
		b.t.Fatal(err)
	}
	return p
}

// WriteArtifact saves text to testdata/artifacts/name.
func WriteArtifact(t testing.TB, name, text string) {
	t.Helper()
	dir := filepath.Join("testdata", "artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

func short(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}

// PostAlert sends one alert to the generic alerts webhook
// (POST /api/v1/events/alerts) with the bearer token, failing on any status
// but 200.
func (s *Server) PostAlert(t testing.TB, token, body string) {
	t.Helper()
	s.PostEvent(t, token, "/api/v1/events/alerts", body)
}

// PostEvent posts a JSON body to a generic events webhook (path such as
// /api/v1/events/deployments) with the bearer token and fails unless it
// is stored (200).
func (s *Server) PostEvent(t testing.TB, token, path, body string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, s.Base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("POST %s: HTTP %d %s", path, resp.StatusCode, b)
	}
}

// SecretFile writes a secret to a temp file for a config's {file: …} reference.
func SecretFile(t testing.TB, value string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(p, []byte(value+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
