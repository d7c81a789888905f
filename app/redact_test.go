package app

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestSourceErrorsRedacted: a source whose failure carries a credential (a
// redirect to a URL with ?access_token=, an upstream echoing the
// Authorization header it got) fails on the wall and in the log without
// the credential.
func TestSourceErrorsRedacted(t *testing.T) {
	redirect := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Port 1 on loopback refuses: the client's error names the URL.
		http.Redirect(w, r, "http://127.0.0.1:1/api/v1/query?access_token=leaked-token-123&x=1", http.StatusFound)
	}))
	defer redirect.Close()
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "bad request: Authorization: Bearer leaked-bearer-456 is not valid; retry https://u:leaked-pass-789@prom.example/api?access_token=leaked-token-123", http.StatusBadRequest)
	}))
	defer echo.Close()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "board.yaml")
	writeFile(t, cfg, `
sources:
  - {id: redir, kind: prometheus, url: "`+redirect.URL+`", timeout: 2s}
  - {id: echo, kind: prometheus, url: "`+echo.URL+`", timeout: 2s}
boards:
  - id: ops
    tiles:
      - {id: req, kind: stat, title: Redirected, source: redir, interval: 1s, query: up}
      - {id: echoed, kind: stat, title: Echoed, source: echo, interval: 1s, query: up}
`)
	var log syncBuffer
	_, base, _ := start(t, Options{ConfigPath: cfg, DataDir: filepath.Join(dir, "data"), Logger: slog.New(slog.NewTextHandler(&log, nil))}, "")
	redir := waitOps(t, base, "the redirected source fails", func(x apiTile) bool { return x.Error != "" })
	var echoed apiTile
	for range 150 { // up to 15 s
		if echoed = getTile(t, base, "ops", "echoed"); echoed.Error != "" {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, err := http.Get(base + "/boards/ops")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	t.Logf("tile errors: %q, %q", redir.Error, echoed.Error)
	if want := "Authorization: Bearer [redacted] is not valid; retry https://u:[redacted]@prom.example/api?access_token=[redacted]"; !strings.Contains(echoed.Error, want) {
		t.Errorf("echoing tile's error = %q, want it to contain %q", echoed.Error, want)
	}
	for _, secret := range []string{"leaked-token-123", "leaked-bearer-456", "leaked-pass-789"} {
		for where, text := range map[string]string{"tile error": redir.Error + "\n" + echoed.Error, "page": string(page), "log": log.String()} {
			if strings.Contains(text, secret) {
				t.Errorf("the %s shows the credential %q", where, secret)
			}
		}
	}
}
