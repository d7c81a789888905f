package app

import (
	"context"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/wallboard/wallboard/poller"
)

// chrome starts Debian's headless Chromium with the flags that keep it off
// the network, sized like a 1080p TV.
func chrome(t *testing.T, w, h int) context.Context {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		t.Fatal("chromium not installed: run make test-deps")
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("proxy-server", "http://127.0.0.1:9"),
		chromedp.Flag("hide-scrollbars", false),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(w, h),
	}
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx)
	t.Cleanup(func() { cancelC(); cancelA() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(int64(w), int64(h))); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

func evalInt(t *testing.T, ctx context.Context, js string) int {
	t.Helper()
	n, err := chromedp.Run(ctx, chromedp.Evaluate[int](js))
	if err != nil {
		t.Fatalf("%s: %v", js, err)
	}
	return n
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatal(err)
	}
	artifact(t, name, png)
}

func artifact(t *testing.T, name string, png []byte) {
	dir := filepath.Join("testdata", "artifacts")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
		t.Fatal(err)
	}
}

func evalTrue(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			// Say what the page shows, so a failure can be read.
			state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + " build=" + (document.querySelector('meta[name="wb-build"]') || {}).content +
				" conn=" + ((document.querySelector('.conn') || {}).textContent || "") + " title=" + document.title`))
			t.Fatalf("%s: not true within 20s (last error: %v); page: %s", what, err, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestBrowserDemoBoard: the built-in demo at 1920x1080 is complete on first
// paint, fits the screen, and changes live without a reload.
func TestBrowserDemoBoard(t *testing.T) {
	ctx := chrome(t, 1920, 1080)
	actx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a, err := New(actx, Options{Addr: "127.0.0.1:0", DataDir: t.TempDir(), Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(actx) }()
	defer func() { cancel(); <-done }()
	// Let every tile poll once so first paint has data.
	time.Sleep(1500 * time.Millisecond)

	// First paint: the HTML as served, before any script ran, has every tile
	// filled (no "waiting for data").
	if err := chromedp.Do(ctx, chromedp.Navigate(a.URL()), chromedp.WaitReady(chromedp.CSS(".grid"))); err != nil {
		t.Fatal(err)
	}
	tiles := evalInt(t, ctx, `document.querySelectorAll('.tile').length`)
	waiting := evalInt(t, ctx, `document.querySelectorAll('.tile .nodata').length`)
	scroll := evalInt(t, ctx, `(document.scrollingElement.scrollHeight > innerHeight || document.scrollingElement.scrollWidth > innerWidth) ? 1 : 0`)
	if tiles != 9 || waiting != 0 {
		t.Fatalf("first paint: %d tiles, %d without data; want 9 and 0", tiles, waiting)
	}
	if scroll != 0 {
		t.Error("the board scrolls at 1920x1080")
	}
	evalTrue(t, ctx, "DEMO label", `document.querySelector('.demo-badge') && document.querySelector('.demo-badge').textContent === 'DEMO'`)
	// Nothing sticks out of its tile.
	evalTrue(t, ctx, "no overflow", `[...document.querySelectorAll('.tile')].every(t => {
		const r = t.getBoundingClientRect();
		return [...t.querySelectorAll('.value, .tile-title, .row')].every(e => {
			const q = e.getBoundingClientRect();
			return q.right <= r.right + 1 && q.bottom <= r.bottom + 1 && q.left >= r.left - 1;
		});
	})`)

	// A value changes on screen without a reload.
	first, err := chromedp.Run(ctx, chromedp.Evaluate[string](`window.__sameDoc = 1; document.querySelector('#tile-demo-requests').getAttribute('data-updated')`))
	if err != nil {
		t.Fatal(err)
	}
	evalTrue(t, ctx, "live update", `document.querySelector('#tile-demo-requests').getAttribute('data-updated') !== '`+first+`' && window.__sameDoc === 1`)
	screenshot(t, ctx, "demo-1920x1080.png")
}

// TestBrowserSurvivesServerRestart: the server goes away under an open page;
// the page says so, then reconnects by itself and shows current values.
func TestBrowserSurvivesServerRestart(t *testing.T) {
	ctx := chrome(t, 1280, 720)
	data := t.TempDir()
	src := &fakeSource{}
	src.set(111, nil)
	r := start(t, fakeConfig, data, map[string]poller.Source{"fake": src})
	addr := r.Addr()
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+addr+"/boards/ops"), chromedp.WaitReady(chromedp.CSS(".grid"))); err != nil {
		t.Fatal(err)
	}
	evalTrue(t, ctx, "mark the document", `(window.__sameDoc = 1) === 1`)
	evalTrue(t, ctx, "value 111", `document.querySelector('#tile-ops-a .value').textContent === '111'`)
	evalTrue(t, ctx, "connected", `document.querySelector('.conn').hidden === true`)

	r.stop()
	evalTrue(t, ctx, "lost-connection indicator", `!document.querySelector('.conn').hidden &&
		/connection lost since \d\d:\d\d/.test(document.querySelector('.conn').textContent)`)
	screenshot(t, ctx, "connection-lost.png")

	// Next process, same address and store, a new value.
	src2 := &fakeSource{}
	src2.set(222, nil)
	restartOn(t, addr, data, src2, "test-build")

	evalTrue(t, ctx, "reconnected with the current value, same page", `document.querySelector('#tile-ops-a .value').textContent === '222' &&
		document.querySelector('.conn').hidden && window.__sameDoc === 1`)
}

// TestBrowserReloadsOnceOnNewBuild: after an upgrade the page reloads itself
// once to get the new build's page and assets, then stays.
func TestBrowserReloadsOnceOnNewBuild(t *testing.T) {
	ctx := chrome(t, 1280, 720)
	data := t.TempDir()
	src := &fakeSource{}
	src.set(1, nil)
	r := start(t, fakeConfig, data, map[string]poller.Source{"fake": src})
	addr := r.Addr()
	if err := chromedp.Do(ctx, chromedp.Navigate("http://"+addr+"/boards/ops"), chromedp.WaitReady(chromedp.CSS(".grid"))); err != nil {
		t.Fatal(err)
	}
	evalTrue(t, ctx, "old build", `(window.__oldDoc = 1) === 1 && document.querySelector('meta[name="wb-build"]').content === 'test-build'`)
	r.stop()

	restartOn(t, addr, data, src, "test-build-2")

	evalTrue(t, ctx, "reloaded into the new build", `window.__oldDoc === undefined &&
		document.querySelector('meta[name="wb-build"]').content === 'test-build-2'`)
	// And it stays: mark the new document, wait for two heartbeats, check the mark.
	evalTrue(t, ctx, "mark", `(window.__newDoc = 1) === 1`)
	time.Sleep(2500 * time.Millisecond)
	evalTrue(t, ctx, "no second reload", `window.__newDoc === 1`)
}

// restartOn starts the next server process at the address and store of one
// that just stopped (the port may take a moment to be free), until the test ends.
func restartOn(t *testing.T, addr, data string, src poller.Source, build string) {
	t.Helper()
	cfgPath := filepath.Join(t.TempDir(), "board.yaml")
	if err := os.WriteFile(cfgPath, []byte(fakeConfig), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var a *App
	var err error
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		a, err = New(ctx, Options{ConfigPath: cfgPath, Addr: addr, DataDir: data, Sources: map[string]poller.Source{"fake": src},
			Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Build: build, Heartbeat: time.Second})
		if err == nil || time.Now().After(deadline) || !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
}
