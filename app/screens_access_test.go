package app

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// The documented admin command works in screens mode with the admin token
// alone: the route checks its own token, not a screen cookie.
func TestReloadScreensAdminTokenInScreensMode(t *testing.T) {
	_, sum := newToken(t)
	t.Setenv("TEST_WALLBOARD_ADMIN", "admin-secret-1")
	_, base, _ := start(t, Options{}, boardYAML+`
access:
  mode: screens
  screens:
    - {name: lobby-tv, token_sha256: `+sum+`}
admin:
  token: {env: TEST_WALLBOARD_ADMIN}
`)
	post := func(auth string) (int, map[string]any) {
		t.Helper()
		// curl -X POST -H "Authorization: Bearer $WALLBOARD_ADMIN_TOKEN" https://board.example/api/v1/reload-screens
		r, err := http.NewRequest(http.MethodPost, base+"/api/v1/reload-screens", nil)
		if err != nil {
			t.Fatal(err)
		}
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		resp, err := noRedirect.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		if resp.StatusCode == http.StatusOK {
			if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
				t.Fatalf("reload-screens: body: %v", err)
			}
		}
		return resp.StatusCode, body
	}
	code, body := post("Bearer admin-secret-1")
	if code != http.StatusOK {
		t.Fatalf("POST /api/v1/reload-screens with the admin token in screens mode: status %d, want 200", code)
	}
	if _, ok := body["reloading"]; !ok {
		t.Errorf("reload-screens answered %v, want a reloading count", body)
	}
	if code, _ := post(""); code != http.StatusUnauthorized {
		t.Errorf("reload-screens without a token: status %d, want 401", code)
	}
	if code, _ := post("Bearer admin-secret-2"); code != http.StatusUnauthorized {
		t.Errorf("reload-screens with a wrong token: status %d, want 401", code)
	}
}

// Only the configured identity header is believed, and only one value of
// it: a header the user adds themselves, a repeated header or comma-joined
// e-mails are refused.
func TestAccessProxyHeaderStrict(t *testing.T) {
	_, oauth2, _ := start(t, Options{}, boardYAML+`
access:
  mode: proxy
  trusted_proxies: [127.0.0.1/32, "::1"]
  proxy:
    header: X-Forwarded-Email
    allow: ["@example.com"]
`)
	_, deflt, _ := start(t, Options{}, boardYAML+`
access:
  mode: proxy
  trusted_proxies: [127.0.0.1/32, "::1"]
  proxy:
    allow: ["@example.com"]
`)
	const iap, fwd = "X-Goog-Authenticated-User-Email", "X-Forwarded-Email"
	for _, tc := range []struct {
		name    string
		base    string
		headers http.Header
		want    int
	}{
		{"oauth2-proxy: its header", oauth2, http.Header{fwd: {"ana@example.com"}}, 200},
		{"oauth2-proxy: user adds the IAP header", oauth2, http.Header{fwd: {"eve@evil.example"}, iap: {"accounts.google.com:ana@example.com"}}, 403},
		{"oauth2-proxy: only the IAP header", oauth2, http.Header{iap: {"accounts.google.com:ana@example.com"}}, 403},
		{"oauth2-proxy: comma-joined", oauth2, http.Header{fwd: {"eve@evil.example, ana@example.com"}}, 403},
		{"oauth2-proxy: comma-joined, allowed first", oauth2, http.Header{fwd: {"ana@example.com,eve@evil.example"}}, 403},
		{"oauth2-proxy: repeated header", oauth2, http.Header{fwd: {"ana@example.com", "eve@evil.example"}}, 403},
		{"default: oauth2-proxy header", deflt, http.Header{fwd: {"ana@example.com"}}, 200},
		{"default: iap header", deflt, http.Header{iap: {"accounts.google.com:ana@example.com"}}, 200},
		{"default: both headers", deflt, http.Header{fwd: {"eve@evil.example"}, iap: {"accounts.google.com:ana@example.com"}}, 403},
		{"default: repeated iap header", deflt, http.Header{iap: {"accounts.google.com:ana@example.com", "accounts.google.com:eve@evil.example"}}, 403},
		{"default: comma-joined", deflt, http.Header{fwd: {"eve@evil.example,ana@example.com"}}, 403},
	} {
		r, err := http.NewRequest(http.MethodGet, tc.base+"/boards/ops", nil)
		if err != nil {
			t.Fatal(err)
		}
		r.Header = tc.headers
		resp, err := noRedirect.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
}

// wsWithCookie connects a screen's websocket with its cookie.
func wsWithCookie(t *testing.T, base, cookie string) *websocket.Conn {
	t.Helper()
	d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
	c, _, err := d.Dial("ws"+strings.TrimPrefix(base, "http")+"/boards/ops/ws", http.Header{"Cookie": {cookie}})
	if err != nil {
		t.Fatalf("ws with cookie: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// readsUntilClosed reads a live socket (a tile is published every second)
// until it is closed or a deadline far past the config poll (2 s) passes;
// it returns how many frames came and the close error.
func readsUntilClosed(c *websocket.Conn) (int, error) {
	c.SetReadDeadline(time.Now().Add(15 * time.Second))
	n := 0
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			return n, err
		}
		n++
	}
}

// Revoking a screen (its line removed from the config, applied by the
// config watcher) closes its websocket at once with 1008; the other screen
// stays. Changing the access mode closes the sockets the new mode does not
// let in.
func TestRevocationClosesWebsockets(t *testing.T) {
	token, sum := newToken(t)
	other, otherSum := newToken(t)
	cfg := boardYAML + `
access:
  mode: screens
  screens:
    - {name: lobby-tv, token_sha256: ` + sum + `}
    - {name: kitchen, token_sha256: ` + otherSum + `}
`
	a, base, _ := start(t, Options{}, cfg)
	lobby := wsWithCookie(t, base, ScreenCookieHeader(token))
	kitchen := wsWithCookie(t, base, ScreenCookieHeader(other))
	for _, c := range []*websocket.Conn{lobby, kitchen} {
		readUntil(t, c, "the tile", func(f map[string]string) bool { return f["tile-ops-req"] != "" })
	}

	// Revoke lobby-tv the way the docs say: delete its line.
	writeFile(t, a.opts.ConfigPath, strings.Replace(cfg, "    - {name: lobby-tv, token_sha256: "+sum+"}\n", "", 1))
	n, err := readsUntilClosed(lobby)
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation {
		t.Fatalf("revoked screen's websocket: %d frames, then %v; want it closed with 1008 within the config poll", n, err)
	}
	t.Logf("revoked screen: %d frames before its close (%v)", n, err)
	if _, _, err := lobby.ReadMessage(); err == nil {
		t.Fatal("revoked screen got a frame after its close")
	}
	// The other screen still gets its tile.
	readUntil(t, kitchen, "the kept screen's next frame", func(f map[string]string) bool { return len(f) > 0 })

	// Another mode: screen cookies no longer let anyone in.
	writeFile(t, a.opts.ConfigPath, boardYAML+`
access:
  mode: proxy
  trusted_proxies: [10.0.0.1]
`)
	n, err = readsUntilClosed(kitchen)
	if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation {
		t.Fatalf("screen after the mode changed to proxy: %d frames, then %v; want it closed with 1008", n, err)
	}
}
