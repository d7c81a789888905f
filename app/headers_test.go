package app

import (
	"net/http"
	"strings"
	"testing"
)

func TestSecurityHeaders(t *testing.T) {
	_, base, _ := start(t, Options{}, boardYAML)
	_, portal, _ := start(t, Options{}, boardYAML+"access:\n  frame_ancestors: [\"https://portal.example\", \"https://intranet.example:8443\"]\n")
	_, screens, _ := start(t, Options{}, boardYAML+"access:\n  mode: screens\n  screens:\n    - {name: tv, token_sha256: "+strings.Repeat("ab", 32)+"}\n")
	for _, tc := range []struct {
		name, base, path string
		code             int
		frame            string
		xfo              string
	}{
		{"page", base, "/boards/ops", 200, "frame-ancestors 'none'", "DENY"},
		{"api", base, "/api/v1/boards/ops", 200, "frame-ancestors 'none'", "DENY"},
		{"healthz", base, "/healthz", 200, "frame-ancestors 'none'", "DENY"},
		{"not found", base, "/boards/nope", 404, "frame-ancestors 'none'", "DENY"},
		{"refused viewer", screens, "/boards/ops", 403, "frame-ancestors 'none'", "DENY"},
		{"portal embedding", portal, "/boards/ops", 200, "frame-ancestors https://portal.example https://intranet.example:8443", ""},
	} {
		code, resp := do(t, tc.base, req{path: tc.path})
		if code != tc.code {
			t.Errorf("%s: status %d, want %d", tc.name, code, tc.code)
		}
		csp := resp.Header.Get("Content-Security-Policy")
		for _, want := range []string{"default-src 'self'", "script-src 'self';", "style-src 'self';", "object-src 'none'", "base-uri 'none'", tc.frame} {
			if !strings.Contains(csp, want) {
				t.Errorf("%s: CSP %q lacks %q", tc.name, csp, want)
			}
		}
		// No inline script, no eval: the script and style sources must not
		// be loosened anywhere in the policy.
		for _, bad := range []string{"'unsafe-inline'", "'unsafe-eval'", "*", "data: 'self'"} {
			if strings.Contains(csp, bad) {
				t.Errorf("%s: CSP %q contains %s", tc.name, csp, bad)
			}
		}
		if got := resp.Header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s: X-Content-Type-Options %q", tc.name, got)
		}
		if got := resp.Header.Get("Referrer-Policy"); got != "no-referrer" {
			t.Errorf("%s: Referrer-Policy %q", tc.name, got)
		}
		if got := resp.Header.Get("X-Frame-Options"); got != tc.xfo {
			t.Errorf("%s: X-Frame-Options %q, want %q", tc.name, got, tc.xfo)
		}
	}
	// The page itself must not need what the CSP forbids: no inline script
	// or style attributes in the server-rendered board.
	resp, err := http.Get(base + "/boards/ops")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	buf := make([]byte, 32<<10)
	for {
		n, err := resp.Body.Read(buf)
		sb.Write(buf[:n])
		if err != nil {
			break
		}
	}
	page := sb.String()
	for _, bad := range []string{"<script>", " style=\"", " onclick=", " onload="} {
		if strings.Contains(page, bad) {
			t.Errorf("board page contains %q, which the CSP blocks", bad)
		}
	}
}
