package web

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// TestKeySetURL: a JWK set fetched from a URL is cached, fetched again when
// a token names a key it does not know (key rotation), but not more than
// once per minRefetch however many unknown kids arrive, and kept when the
// URL fails.
func TestKeySetURL(t *testing.T) {
	k1, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	k2, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	var mu sync.Mutex
	keys := []jose.JSONWebKey{{Key: &k1.PublicKey, KeyID: "k1", Algorithm: "ES256"}}
	var fetches atomic.Int64
	var failing atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		if failing.Load() {
			http.Error(w, "down", 500)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		json.NewEncoder(w).Encode(jose.JSONWebKeySet{Keys: keys})
	}))
	defer srv.Close()
	ks := &keySet{url: srv.URL, client: srv.Client(), minRefetch: time.Hour}
	ctx := context.Background()
	set, err := ks.get(ctx, "k1")
	if err != nil || len(set.Key("k1")) != 1 {
		t.Fatalf("first fetch: %v", err)
	}
	for range 5 {
		ks.get(ctx, "k1")
		ks.get(ctx, "forged") // unknown kid: no refetch within minRefetch
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d fetches, want 1 (cached, unknown kids rate limited)", n)
	}
	// Rotation: k2 published; once minRefetch has passed, an unknown kid fetches again.
	mu.Lock()
	keys = append(keys, jose.JSONWebKey{Key: &k2.PublicKey, KeyID: "k2", Algorithm: "ES256"})
	mu.Unlock()
	ks.minRefetch = time.Nanosecond
	if set, err := ks.get(ctx, "k2"); err != nil || len(set.Key("k2")) != 1 {
		t.Errorf("rotated key not found: %v", err)
	}
	// The URL fails: the keys we have keep working.
	failing.Store(true)
	if set, err := ks.get(ctx, "k3"); err != nil || len(set.Key("k1")) != 1 {
		t.Errorf("keys lost when the JWKS URL failed: %v", err)
	}
	// Nothing fetched yet and the URL fails: a clear error.
	fresh := &keySet{url: srv.URL, client: srv.Client()}
	if _, err := fresh.get(ctx, "k1"); err == nil {
		t.Error("no error when the JWKS URL fails and no keys are known")
	}
}
