package web

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/wallboard/wallboard/store"
)

// FuzzPingHandler posts arbitrary bodies to the ping receiver (behind the
// shared webhook middleware, with a real store): every answer is one of the
// documented statuses, never a 500 or a panic.
//
// The store is on a memory file system when there is one: every first
// delivery is a durable commit (synchronous=FULL), and an fsync per input on
// a disk left the fuzzer a handful of executions per run.
func FuzzPingHandler(f *testing.F) {
	dir := f.TempDir()
	if d, err := os.MkdirTemp("/dev/shm", "wallboard-fuzz-"); err == nil {
		dir = d
		f.Cleanup(func() { os.RemoveAll(d) })
	}
	st, err := store.Open(context.Background(), filepath.Join(dir, "f.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { st.Close() })
	h := serveReceivers(Receivers{Events: NewEventsHandler("secret", st, slog.New(slog.NewTextHandler(io.Discard, nil)))})
	for _, s := range []string{`{"id":"d-1","note":"hello"}`, `{"id":""}`, `{"id":"x","extra":1}`, `[]`, `{"id":"` + "\xff" + `"}`, ``} {
		f.Add([]byte(s), true)
	}
	f.Add([]byte(`{"id":"d-2"}`), false)
	f.Fuzz(func(t *testing.T, body []byte, auth bool) {
		r := httptest.NewRequest("POST", "/api/v1/events/ping", bytes.NewReader(body))
		if auth {
			r.Header.Set("Authorization", "Bearer secret")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		switch w.Code {
		case 200, 400, 413:
			if !auth {
				t.Fatalf("status %d without the secret", w.Code)
			}
		case 401, 429: // 429: too many failed authentications
			if auth {
				t.Fatalf("%d with the right secret", w.Code)
			}
		default:
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
	})
}
