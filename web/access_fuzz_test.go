package web

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/wallboard/wallboard/board"
)

// FuzzIAPAssertion: whatever arrives in the IAP header and e-mail header
// from the trusted proxy, nothing but a token signed with the configured key
// gets in, and nothing panics. Seeded with a real signed token and mangled
// copies of it.
func FuzzIAPAssertion(f *testing.F) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	rogue, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	js, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	jwks := filepath.Join(f.TempDir(), "jwks.json")
	os.WriteFile(jwks, js, 0o600)
	acc, err := NewAccess(board.AccessConfig{Mode: board.AccessProxy, TrustedProxies: []string{"192.0.2.1"},
		Proxy: &board.ProxyConfig{IAP: &board.IAPConfig{Audience: "aud", JWKSFile: jwks}}}, "", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		f.Fatal(err)
	}
	signer, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: rogue}, (&jose.SignerOptions{}).WithHeader("kid", "k1"))
	now := time.Now()
	tok, _ := jwt.Signed(signer).Claims(jwt.Claims{Issuer: iapIssuer, Audience: jwt.Audience{"aud"}, Expiry: jwt.NewNumericDate(now.Add(time.Hour))}).
		Claims(map[string]any{"email": "ana@example.com"}).Serialize()
	f.Add(tok, "accounts.google.com:ana@example.com")
	f.Add(strings.Replace(tok, ".", "..", 1), "")
	f.Add("eyJhbGciOiJub25lIn0.eyJlbWFpbCI6ImFuYUBleGFtcGxlLmNvbSJ9.", "ana@example.com")
	f.Add("", "ana@example.com")
	f.Fuzz(func(t *testing.T, assertion, email string) {
		r := httptest.NewRequest("GET", "/boards/ops", nil)
		r.RemoteAddr = "192.0.2.1:4000"
		if assertion != "" {
			r.Header.Set(headerIAPJWT, assertion)
		}
		if email != "" {
			r.Header.Set(headerIAPEmail, email)
		}
		if who, err := acc.who(r); err == nil {
			t.Fatalf("let in %q with a token not signed by the configured key", who)
		}
	})
}
