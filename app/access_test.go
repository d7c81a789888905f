package app

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
	"github.com/gorilla/websocket"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/static"
)

const boardYAML = `
sources:
  - id: demo
    kind: demo
boards:
  - id: ops
    title: Ops
    tiles:
      - {id: req, kind: stat, title: Requests, source: demo, query: requests, interval: 1s}
`

// noRedirect is a client that shows redirects instead of following them.
var noRedirect = &http.Client{
	Timeout:       10 * time.Second,
	CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
}

type req struct {
	path    string
	headers map[string]string
	cookie  string
	ws      bool
}

// do sends r and returns the status (101 for a websocket upgrade) and the response.
func do(t *testing.T, base string, r req) (int, *http.Response) {
	t.Helper()
	h := http.Header{}
	for k, v := range r.headers {
		h.Set(k, v)
	}
	if r.cookie != "" {
		h.Set("Cookie", r.cookie)
	}
	if r.ws {
		d := websocket.Dialer{HandshakeTimeout: 10 * time.Second}
		conn, resp, err := d.Dial("ws"+strings.TrimPrefix(base, "http")+r.path, h)
		if err == nil {
			conn.Close()
			return resp.StatusCode, resp
		}
		if resp == nil {
			t.Fatalf("ws %s: %v", r.path, err)
		}
		return resp.StatusCode, resp
	}
	hr, err := http.NewRequest(http.MethodGet, base+r.path, nil)
	if err != nil {
		t.Fatal(err)
	}
	hr.Header = h
	resp, err := noRedirect.Do(hr)
	if err != nil {
		t.Fatalf("GET %s: %v", r.path, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp
}

func newToken(t *testing.T) (token, sum string) {
	t.Helper()
	var b [32]byte
	rand.Read(b[:])
	token = hex.EncodeToString(b[:])
	s := sha256.Sum256([]byte(token))
	return token, hex.EncodeToString(s[:])
}

func TestAccessNonLoopbackNeedsMode(t *testing.T) {
	for _, tc := range []struct {
		addr, mode string
		wantErr    bool
	}{
		{"127.0.0.1:8080", "", false},
		{"[::1]:8080", "", false},
		{"localhost:8080", "", false},
		{":8080", "", true},
		{"0.0.0.0:8080", "", true},
		{"192.168.1.10:8080", "", true},
		{":8080", "open", false},
	} {
		a := &App{log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		cfg := &board.Config{Access: board.AccessConfig{Mode: tc.mode}}
		_, err := a.buildAccess(cfg, tc.addr, "")
		if (err != nil) != tc.wantErr {
			t.Errorf("addr %s mode %q: err = %v, want error %v", tc.addr, tc.mode, err, tc.wantErr)
		}
		if err != nil && !strings.Contains(err.Error(), "access: {mode: open}") {
			t.Errorf("error does not say how to fix it: %v", err)
		}
	}
}

func TestAccessOpen(t *testing.T) {
	_, base, _ := start(t, Options{}, boardYAML)
	for _, r := range []req{
		{path: "/boards/ops"},
		{path: "/api/v1/boards/ops"},
		{path: "/boards/ops/ws", ws: true},
	} {
		want := http.StatusOK
		if r.ws {
			want = http.StatusSwitchingProtocols
		}
		if got, _ := do(t, base, r); got != want {
			t.Errorf("%s: status %d, want %d", r.path, got, want)
		}
	}
	// Cross-site websocket: refused even when open.
	if got, _ := do(t, base, req{path: "/boards/ops/ws", ws: true, headers: map[string]string{"Origin": "http://evil.example"}}); got != http.StatusForbidden {
		t.Errorf("ws from another origin: status %d, want 403", got)
	}
}

func TestAccessScreens(t *testing.T) {
	token, sum := newToken(t)
	other, otherSum := newToken(t)
	cfg := boardYAML + `
access:
  mode: screens
  trusted_proxies: [127.0.0.1]
  screens:
    - {name: lobby-tv, token_sha256: ` + sum + `}
    - {name: kitchen, token_sha256: ` + otherSum + `}
admin:
  token: {env: TEST_WALLBOARD_ADMIN}
`
	t.Setenv("TEST_WALLBOARD_ADMIN", "admin-secret-1")
	a, base, _ := start(t, Options{}, cfg)

	// Signing in sets the cookie and redirects to the local path asked for.
	code, resp := do(t, base, req{path: "/screen/" + token + "?next=/boards/ops"})
	if code != http.StatusSeeOther || resp.Header.Get("Location") != "/boards/ops" {
		t.Fatalf("screen link: %d to %q, want 303 to /boards/ops", code, resp.Header.Get("Location"))
	}
	c := cookieOf(t, resp)
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure || c.Path != "/" || c.MaxAge < 365*24*3600 || c.Value != token {
		t.Errorf("cookie %+v: want HttpOnly, SameSite=Lax, not Secure over plain http, Path=/, Max-Age ≥ a year", c)
	}
	// Over TLS at a trusted proxy: Secure.
	_, resp = do(t, base, req{path: "/screen/" + token, headers: map[string]string{"X-Forwarded-Proto": "https"}})
	if c := cookieOf(t, resp); !c.Secure {
		t.Errorf("behind a TLS proxy the cookie is not Secure: %+v", c)
	}
	// An open redirect to another site is not followed.
	if _, resp := do(t, base, req{path: "/screen/" + token + "?next=//evil.example/"}); resp.Header.Get("Location") != "/" {
		t.Errorf("next=//evil.example redirected to %q, want /", resp.Header.Get("Location"))
	}

	good := ScreenCookieHeader(token)
	// Every page load sets the cookie again, so it never runs out.
	if _, resp := do(t, base, req{path: "/boards/ops", cookie: good}); cookieOf(t, resp).Value != token {
		t.Error("page load did not refresh the screen cookie")
	}
	for _, tc := range []struct {
		name string
		r    req
		want int
	}{
		{"no cookie", req{path: "/boards/ops"}, 403},
		{"no cookie, api", req{path: "/api/v1/boards/ops"}, 403},
		{"no cookie, index", req{path: "/"}, 403},
		{"bad link", req{path: "/screen/not-a-token"}, 403},
		{"empty link", req{path: "/screen/"}, 403},
		{"hash as link", req{path: "/screen/" + sum}, 403},
		{"cookie", req{path: "/boards/ops", cookie: good}, 200},
		{"cookie, api", req{path: "/api/v1/boards/ops", cookie: good}, 200},
		{"forged cookie", req{path: "/boards/ops", cookie: ScreenCookieHeader(sum)}, 403},
		{"ws without cookie", req{path: "/boards/ops/ws", ws: true}, 403},
		{"ws with cookie", req{path: "/boards/ops/ws", ws: true, cookie: good}, 101},
		{"ws with cookie, same origin", req{path: "/boards/ops/ws", ws: true, cookie: good, headers: map[string]string{"Origin": base}}, 101},
		{"ws with cookie, other origin", req{path: "/boards/ops/ws", ws: true, cookie: good, headers: map[string]string{"Origin": "https://evil.example"}}, 403},
		{"healthz stays open", req{path: "/healthz"}, 200},
		{"static stays open", req{path: static.URL("wallboard.css")}, 200},
		{"metrics need a viewer", req{path: "/metrics"}, 403},
		{"metrics with admin token", req{path: "/metrics", headers: map[string]string{"Authorization": "Bearer admin-secret-1"}}, 200},
		{"metrics with wrong admin token", req{path: "/metrics", headers: map[string]string{"Authorization": "Bearer admin-secret-2"}}, 403},
	} {
		if got, _ := do(t, base, tc.r); got != tc.want {
			t.Errorf("%s: %s: status %d, want %d", tc.name, tc.r.path, got, tc.want)
		}
	}

	// Revoking: the screen removed from the config (reload) is out at once,
	// the other keeps working.
	cfg2 := board.AccessConfig{Mode: "screens", Screens: []board.ScreenConfig{{Name: "kitchen", TokenSHA256: otherSum}}}
	if err := a.Server().Access().Update(cfg2, ""); err != nil {
		t.Fatal(err)
	}
	if got, _ := do(t, base, req{path: "/boards/ops", cookie: good}); got != 403 {
		t.Errorf("revoked screen: status %d, want 403", got)
	}
	if got, _ := do(t, base, req{path: "/boards/ops/ws", ws: true, cookie: good}); got != 403 {
		t.Errorf("revoked screen, ws: status %d, want 403", got)
	}
	if got, _ := do(t, base, req{path: "/screen/" + token}); got != 403 {
		t.Errorf("revoked screen link: status %d, want 403", got)
	}
	if got, _ := do(t, base, req{path: "/boards/ops", cookie: ScreenCookieHeader(other)}); got != 200 {
		t.Errorf("remaining screen: status %d, want 200", got)
	}
}

func ScreenCookieHeader(v string) string { return "wallboard_screen=" + v }

func cookieOf(t *testing.T, resp *http.Response) *http.Cookie {
	t.Helper()
	for _, c := range resp.Cookies() {
		if c.Name == "wallboard_screen" {
			return c
		}
	}
	t.Fatalf("no wallboard_screen cookie in %v", resp.Header["Set-Cookie"])
	return nil
}

func TestAccessProxy(t *testing.T) {
	_, base, _ := start(t, Options{}, boardYAML+`
access:
  mode: proxy
  trusted_proxies: [127.0.0.1/32, "::1"]
  proxy:
    allow: ["@example.com"]
`)
	_, spoofBase, _ := start(t, Options{}, boardYAML+`
access:
  mode: proxy
  trusted_proxies: [10.0.0.0/8]
`)
	for _, tc := range []struct {
		name string
		base string
		r    req
		want int
	}{
		{"oauth2-proxy header", base, req{path: "/boards/ops", headers: map[string]string{"X-Forwarded-Email": "ana@example.com"}}, 200},
		{"iap header", base, req{path: "/boards/ops", headers: map[string]string{"X-Goog-Authenticated-User-Email": "accounts.google.com:ana@example.com"}}, 200},
		{"ws with header", base, req{path: "/boards/ops/ws", ws: true, headers: map[string]string{"X-Forwarded-Email": "ana@example.com"}}, 101},
		{"ws other origin", base, req{path: "/boards/ops/ws", ws: true, headers: map[string]string{"X-Forwarded-Email": "ana@example.com", "Origin": "http://evil.example"}}, 403},
		{"no identity", base, req{path: "/boards/ops"}, 403},
		{"ws no identity", base, req{path: "/boards/ops/ws", ws: true}, 403},
		{"not allowed domain", base, req{path: "/boards/ops", headers: map[string]string{"X-Forwarded-Email": "eve@evil.example"}}, 403},
		{"look-alike domain", base, req{path: "/boards/ops", headers: map[string]string{"X-Forwarded-Email": "eve@notexample.com"}}, 403},
		{"spoofed from non-proxy", spoofBase, req{path: "/boards/ops", headers: map[string]string{"X-Forwarded-Email": "ana@example.com"}}, 403},
		{"spoofed iap from non-proxy", spoofBase, req{path: "/api/v1/boards/ops", headers: map[string]string{"X-Goog-Authenticated-User-Email": "accounts.google.com:ana@example.com"}}, 403},
		{"spoofed ws from non-proxy", spoofBase, req{path: "/boards/ops/ws", ws: true, headers: map[string]string{"X-Forwarded-Email": "ana@example.com"}}, 403},
		{"healthz open", spoofBase, req{path: "/healthz"}, 200},
	} {
		if got, _ := do(t, tc.base, tc.r); got != tc.want {
			t.Errorf("%s: %s: status %d, want %d", tc.name, tc.r.path, got, tc.want)
		}
	}
}

func TestAccessIAPJWT(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rogue, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	set := jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}}
	js, _ := json.Marshal(set)
	jwks := filepath.Join(t.TempDir(), "jwks.json")
	os.WriteFile(jwks, js, 0o600)
	const aud = "/projects/123/global/backendServices/456"
	_, base, _ := start(t, Options{}, boardYAML+`
access:
  mode: proxy
  trusted_proxies: [127.0.0.1]
  proxy:
    iap: {audience: "`+aud+`", jwks_file: `+jwks+`}
`)
	sign := func(k any, alg jose.SignatureAlgorithm, kid string, c jwt.Claims, email string) string {
		s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: k}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", kid))
		if err != nil {
			t.Fatal(err)
		}
		tok, err := jwt.Signed(s).Claims(c).Claims(map[string]any{"email": email}).Serialize()
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	now := time.Now()
	valid := jwt.Claims{Issuer: "https://cloud.google.com/iap", Audience: jwt.Audience{aud}, Subject: "accounts.google.com:1",
		IssuedAt: jwt.NewNumericDate(now), Expiry: jwt.NewNumericDate(now.Add(10 * time.Minute))}
	with := func(f func(c *jwt.Claims)) jwt.Claims { c := valid; f(&c); return c }
	hdr := func(tok string, extra ...string) map[string]string {
		m := map[string]string{"X-Goog-IAP-JWT-Assertion": tok}
		for i := 0; i+1 < len(extra); i += 2 {
			m[extra[i]] = extra[i+1]
		}
		return m
	}
	for _, tc := range []struct {
		name    string
		headers map[string]string
		ws      bool
		want    int
	}{
		{"valid", hdr(sign(key, jose.ES256, "k1", valid, "ana@example.com")), false, 200},
		{"valid, matching email header", hdr(sign(key, jose.ES256, "k1", valid, "ana@example.com"), "X-Goog-Authenticated-User-Email", "accounts.google.com:ana@example.com"), false, 200},
		{"valid ws", hdr(sign(key, jose.ES256, "k1", valid, "ana@example.com")), true, 101},
		{"missing", map[string]string{"X-Goog-Authenticated-User-Email": "accounts.google.com:ana@example.com"}, false, 403},
		{"garbage", hdr("not.a.jwt"), false, 403},
		{"email header disagrees", hdr(sign(key, jose.ES256, "k1", valid, "ana@example.com"), "X-Goog-Authenticated-User-Email", "accounts.google.com:boss@example.com"), false, 403},
		{"rogue key, same kid", hdr(sign(rogue, jose.ES256, "k1", valid, "ana@example.com")), false, 403},
		{"unknown kid", hdr(sign(key, jose.ES256, "k2", valid, "ana@example.com")), false, 403},
		{"HS256", hdr(sign([]byte("0123456789abcdef0123456789abcdef"), jose.HS256, "k1", valid, "ana@example.com")), false, 403},
		{"wrong audience", hdr(sign(key, jose.ES256, "k1", with(func(c *jwt.Claims) { c.Audience = jwt.Audience{"/projects/9/apps/x"} }), "ana@example.com")), false, 403},
		{"wrong issuer", hdr(sign(key, jose.ES256, "k1", with(func(c *jwt.Claims) { c.Issuer = "https://evil.example" }), "ana@example.com")), false, 403},
		{"expired", hdr(sign(key, jose.ES256, "k1", with(func(c *jwt.Claims) { c.Expiry = jwt.NewNumericDate(now.Add(-time.Hour)) }), "ana@example.com")), false, 403},
		{"no expiry", hdr(sign(key, jose.ES256, "k1", with(func(c *jwt.Claims) { c.Expiry = nil }), "ana@example.com")), false, 403},
		{"no email", hdr(sign(key, jose.ES256, "k1", valid, "")), false, 403},
		{"bad jwt ws", hdr(sign(rogue, jose.ES256, "k1", valid, "ana@example.com")), true, 403},
	} {
		if got, _ := do(t, base, req{path: "/api/v1/boards/ops", headers: tc.headers, ws: false}); !tc.ws && got != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.want)
		}
		if tc.ws {
			if got, _ := do(t, base, req{path: "/boards/ops/ws", headers: tc.headers, ws: true}); got != tc.want {
				t.Errorf("%s: ws status %d, want %d", tc.name, got, tc.want)
			}
		}
	}
}

func TestAccessConfigErrors(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"access: {mode: everyone}", `access.mode "everyone"`},
		{"access: {mode: screens}", "needs at least one entry under access.screens"},
		{"access: {mode: screens, screens: [{name: tv, token_sha256: abc}]}", "64 hex digits"},
		{"access: {mode: proxy}", "needs access.trusted_proxies"},
		{"access: {mode: proxy, trusted_proxies: [nope]}", `"nope" is neither a CIDR`},
		{"access: {mode: proxy, trusted_proxies: [10.0.0.1], proxy: {iap: {audience: x}}}", "jwks_file or jwks_url"},
		{"access: {mode: proxy, trusted_proxies: [10.0.0.1], proxy: {iap: {audience: x, jwks_url: 'http://keys.example/jwk'}}}", "use https"},
		{"access: {frame_ancestors: [\"https://portal.example; script-src *\"]}", "frame_ancestors"},
		{"access: {frame_ancestors: [https://portal.example/path]}", "without a path"},
		{"admin: {}", "admin: token is missing"},
		{"admin: {token: {value: x}}", "unknown key"},
	} {
		_, err := board.Parse("b.yaml", []byte(boardYAML+tc.yaml), nil)
		var ce *board.ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "b.yaml:") {
			t.Errorf("%s: error %v, want one naming b.yaml:LINE and %q", tc.yaml, err, tc.want)
		}
	}
	ok := boardYAML + "access: {mode: open, frame_ancestors: [https://portal.example, \"'self'\"]}\nadmin: {token: {env: X}}\n"
	if _, err := board.Parse("b.yaml", []byte(ok), nil); err != nil {
		t.Errorf("valid config refused: %v", err)
	}
}

func writeFile(t *testing.T, path, data string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
}
