package web

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
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

func TestWebhookBodyLimit(t *testing.T) {
	h := Webhook("test", WebhookLimits{MaxBytes: 100, PerSecond: 1000, Burst: 1000}, echo)
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

func TestWebhookRateLimit(t *testing.T) {
	// 0.5 per second, burst 3: three pass at once, the fourth waits ~2 s.
	h := Webhook("test", WebhookLimits{MaxBytes: 100, PerSecond: 0.5, Burst: 3}, echo)
	other := Webhook("other", WebhookLimits{MaxBytes: 100, PerSecond: 0.5, Burst: 3}, echo)
	codes := []int{}
	var retry string
	for range 5 {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("POST", "/hooks/test", strings.NewReader("{}")))
		codes = append(codes, w.Code)
		if w.Code == 429 {
			retry = w.Header().Get("Retry-After")
		}
	}
	if want := []int{200, 200, 200, 429, 429}; !equalInts(codes, want) {
		t.Errorf("statuses %v, want %v", codes, want)
	}
	if n, err := strconv.Atoi(retry); err != nil || n < 1 || n > 2 {
		t.Errorf("Retry-After %q, want 1 or 2 seconds", retry)
	}
	// Another receiver has its own bucket.
	w := httptest.NewRecorder()
	other.ServeHTTP(w, httptest.NewRequest("POST", "/hooks/other", strings.NewReader("{}")))
	if w.Code != 200 {
		t.Errorf("other receiver: status %d, want 200", w.Code)
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
		if got := SecretEqual(tc.a, tc.b); got != tc.want {
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
		if got := AdminAuthorized(r, tc.token); got != tc.want {
			t.Errorf("AdminAuthorized(%q, %q) = %v", tc.header, tc.token, got)
		}
	}
	r := httptest.NewRequest("POST", "/", nil)
	r.SetBasicAuth("alertmanager", "pw")
	if !BearerOrBasic(r, "pw", "alertmanager") || BearerOrBasic(r, "pw", "other") || BearerOrBasic(r, "pw2", "alertmanager") || BearerOrBasic(r, "pw", "") {
		t.Error("BearerOrBasic: basic auth checked wrongly")
	}
}
