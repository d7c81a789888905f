package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wallboard/wallboard/board"
)

// echo answers with the length of the body it saw.
var echo = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	w.Write([]byte(strconv.Itoa(len(b))))
})

// tokenAuth accepts "Authorization: Bearer tok".
var tokenAuth = webhookAuth{request: func(r *http.Request) bool { return bearerAuthorized(r, "tok") }}

func TestWebhookBodyLimit(t *testing.T) {
	h := newIngress(IngressLimits{}, nil).webhook("test", webhookLimits{maxBytes: 100}, tokenAuth, echo)
	for _, tc := range []struct {
		name    string
		size    int
		chunked bool
		want    int
	}{
		{"small", 10, false, 200},
		{"at the limit", 100, false, 200},
		{"over, with length", 101, false, 413},
		{"over, chunked", 5000, true, 413},
		{"under, chunked", 50, true, 200},
	} {
		var body io.Reader = strings.NewReader(strings.Repeat("x", tc.size))
		if tc.chunked {
			body = io.MultiReader(body) // hides the length: no Content-Length
		}
		r := httptest.NewRequest("POST", "/hooks/test", body)
		r.Header.Set("Authorization", "Bearer tok")
		if tc.chunked {
			r.ContentLength = -1
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, w.Code, tc.want)
		}
		if tc.want == 200 && w.Body.String() != strconv.Itoa(tc.size) {
			t.Errorf("%s: handler saw %s bytes, want %d", tc.name, w.Body.String(), tc.size)
		}
	}
}

// Only failed authentications count, per address: the right token is never
// refused, a stranger over its budget gets 429 with Retry-After, and another
// address is not affected.
func TestWebhookFailedAuthLimit(t *testing.T) {
	g := newIngress(IngressLimits{failedAuthPerMinute: 1, failedAuthBurst: 3}, nil)
	h := g.webhook("test", webhookLimits{maxBytes: 100}, tokenAuth, echo)
	send := func(addr, auth string) (int, string) {
		r := httptest.NewRequest("POST", "/hooks/test", strings.NewReader("{}"))
		r.RemoteAddr = addr
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code, w.Header().Get("Retry-After")
	}
	var codes []int
	retry := ""
	for range 5 {
		code, ra := send("192.0.2.1:1000", "Bearer wrong")
		codes = append(codes, code)
		if code == 429 {
			retry = ra
		}
	}
	if want := []int{401, 401, 401, 429, 429}; !equalInts(codes, want) {
		t.Errorf("wrong tokens: statuses %v, want %v", codes, want)
	}
	if n, err := strconv.Atoi(retry); err != nil || n < 1 || n > 60 {
		t.Errorf("Retry-After %q, want 1 to 60 seconds", retry)
	}
	for i := range 500 {
		if code, _ := send("192.0.2.1:1000", "Bearer tok"); code != 200 {
			t.Fatalf("right token #%d from the throttled address: %d, want 200", i, code)
		}
	}
	if code, _ := send("192.0.2.2:1000", ""); code != 401 {
		t.Errorf("another address: %d, want 401", code)
	}
	if code, _ := send("[2001:db8::1]:1", "Bearer x"); code != 401 {
		t.Errorf("IPv6 address: %d, want 401", code)
	}
}

// Unsigned bodies wait for the byte budget: with room for one body per
// address, a second upload from the same address waits, and gets 503 with
// Retry-After when the wait is too long; another address is not held up.
func TestWebhookBodyBudget(t *testing.T) {
	g := newIngress(IngressLimits{unauthBodyBytes: 1000, unauthBodyBytesPerAddr: 600, bodyQueueWait: 50 * time.Millisecond}, nil)
	bodyAuth := webhookAuth{body: func(_ *http.Request, b []byte) bool { return string(b) == "{}" }}
	h := g.webhook("test", webhookLimits{maxBytes: 600}, bodyAuth, echo)
	rel, err := g.bodies.acquire(t.Context(), netip.MustParseAddr("192.0.2.1"), 600)
	if err != nil {
		t.Fatal(err)
	}
	send := func(addr, body string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/hooks/test", strings.NewReader(body))
		r.RemoteAddr = addr
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := send("192.0.2.1:1", "{}"); w.Code != 503 || w.Header().Get("Retry-After") == "" {
		t.Errorf("upload while its address holds its share: %d, Retry-After %q; want 503 with Retry-After", w.Code, w.Header().Get("Retry-After"))
	}
	if w := send("192.0.2.2:1", "{}"); w.Code != 200 {
		t.Errorf("upload from another address: %d %s, want 200", w.Code, w.Body)
	}
	if w := send("192.0.2.2:1", "{ }"); w.Code != 401 {
		t.Errorf("badly signed upload: %d, want 401", w.Code)
	}
	rel()
	if w := send("192.0.2.1:1", "{}"); w.Code != 200 {
		t.Errorf("upload after release: %d, want 200", w.Code)
	}
	if g.bodies.held != 0 || len(g.bodies.byAddr) != 0 {
		t.Errorf("budget not given back: held %d, by address %v", g.bodies.held, g.bodies.byAddr)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSecretEqual(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"s3cret", "s3cret", true},
		{"s3cret", "s3creT", false},
		{"s3cret", "s3cret ", false},
		{"", "", false},
		{"x", "", false},
	} {
		if got := secretEqual(tc.a, tc.b); got != tc.want {
			t.Errorf("SecretEqual(%q, %q) = %v", tc.a, tc.b, got)
		}
	}
}

func TestAdminAuthorized(t *testing.T) {
	for _, tc := range []struct {
		header, token string
		want          bool
	}{
		{"Bearer tok-1", "tok-1", true},
		{"bearer tok-1", "tok-1", true},
		{"Bearer tok-2", "tok-1", false},
		{"Basic tok-1", "tok-1", false},
		{"tok-1", "tok-1", false},
		{"", "tok-1", false},
		{"Bearer ", "", false},
	} {
		r := httptest.NewRequest("POST", "/admin/reload", nil)
		if tc.header != "" {
			r.Header.Set("Authorization", tc.header)
		}
		if got := adminAuthorized(r, tc.token); got != tc.want {
			t.Errorf("AdminAuthorized(%q, %q) = %v", tc.header, tc.token, got)
		}
	}
}

// Per-address limits are kept for the client: behind a trusted proxy, the
// last X-Forwarded-For address that is not a trusted proxy; from anywhere
// else, the peer (a forged header changes nothing).
func TestClientIPBehindTrustedProxy(t *testing.T) {
	acc, err := NewAccess(board.AccessConfig{Mode: board.AccessOpen, TrustedProxies: []string{"10.0.0.0/24"}}, "", nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{opts: Options{Access: acc}}
	for _, tc := range []struct{ peer, xff, want string }{
		{"192.0.2.7:5000", "", "192.0.2.7"},
		{"192.0.2.7:5000", "198.51.100.1", "192.0.2.7"},                // not from a proxy: header ignored
		{"10.0.0.5:5000", "198.51.100.1", "198.51.100.1"},              // through the proxy
		{"10.0.0.5:5000", "203.0.113.9, 198.51.100.1", "198.51.100.1"}, // the client's own prefix is not believed
		{"10.0.0.5:5000", "198.51.100.1, 10.0.0.6", "198.51.100.1"},    // two proxies
		{"10.0.0.5:5000", "garbage", "10.0.0.5"},
		{"10.0.0.5:5000", "", "10.0.0.5"},
	} {
		r := httptest.NewRequest("POST", "/hooks/x", nil)
		r.RemoteAddr = tc.peer
		if tc.xff != "" {
			r.Header.Set("X-Forwarded-For", tc.xff)
		}
		if got := s.clientIP(r).String(); got != tc.want {
			t.Errorf("peer %s, X-Forwarded-For %q: client %s, want %s", tc.peer, tc.xff, got, tc.want)
		}
	}
}

// A flood from very many addresses keeps the failure table bounded.
func TestAddrLimiterBounded(t *testing.T) {
	l := newAddrLimiter(60, 3)
	now := time.Now()
	for i := range 3 * maxAddrs {
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		l.fail(ip, now.Add(time.Duration(i)*time.Millisecond))
	}
	if len(l.m) > maxAddrs {
		t.Errorf("%d addresses kept, want at most %d", len(l.m), maxAddrs)
	}
}
