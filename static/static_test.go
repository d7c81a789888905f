package static

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestOwnFilesServedMinified: the page's own CSS and scripts go out
// minified (the first-load budget), under a URL whose hash is of the bytes
// served, while the vendored htmx files go out byte for byte as shipped.
func TestOwnFilesServedMinified(t *testing.T) {
	h := Handler()
	for _, name := range []string{"wallboard.css", "wallboard.js", "pair.js", "vendor/htmx-2.0.11.min.js", "vendor/htmx-ext-ws-2.0.4.min.js"} {
		t.Run(name, func(t *testing.T) {
			src, err := files.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			u := URL(name)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", u, nil))
			if rec.Code != 200 {
				t.Fatalf("GET %s: status %d", u, rec.Code)
			}
			got, _ := io.ReadAll(rec.Body)
			sum := sha256.Sum256(got)
			if want := hex.EncodeToString(sum[:5]); !strings.Contains(u, "."+want+".") {
				t.Errorf("URL %s does not carry the hash of the served bytes (%s)", u, want)
			}
			if strings.HasPrefix(name, "vendor/") {
				if !bytes.Equal(got, src) {
					t.Errorf("vendored %s served changed: %d B, source %d B", name, len(got), len(src))
				}
				return
			}
			want, err := minifyFile(name, src)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("%s served is not the minified source (%d B served, %d B minified)", name, len(got), len(want))
			}
			t.Logf("%s: %d B source, %d B served", name, len(src), len(got))
			if len(got) >= len(src)*9/10 {
				t.Errorf("%s served %d B, source %d B: not minified", name, len(got), len(src))
			}
			// Comments are the first thing minifying removes (the minifier
			// leaves the body of an @container rule as written, so
			// whitespace alone does not tell).
			if bytes.Contains(got, []byte("/*")) {
				t.Errorf("%s served still has comments", name)
			}
		})
	}
}
