package web

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/wallboard/wallboard/board"
)

// A websocket let in behind IAP is judged again on every access change: as
// of its upgrade for the assertion's expiry (IAP's assertions live minutes,
// a screen's connection days), under the new rules for everything else.
func TestGrantJudgedAgainOnUpdate(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	js, _ := json.Marshal(jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}})
	jwks := filepath.Join(t.TempDir(), "jwks.json")
	if err := os.WriteFile(jwks, js, 0o600); err != nil {
		t.Fatal(err)
	}
	const aud = "/projects/1/global/backendServices/2"
	policy := func(aud string, allow ...string) board.AccessConfig {
		return board.AccessConfig{Mode: board.AccessProxy, TrustedProxies: []string{"192.0.2.1"},
			Proxy: &board.ProxyConfig{Allow: allow, IAP: &board.IAPConfig{Audience: aud, JWKSFile: jwks}}}
	}
	acc, err := NewAccess(policy(aud), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	updates := 0
	acc.subscribe(func() { updates++ })

	// An assertion that was valid an hour ago, when the screen connected.
	then := time.Now().Add(-time.Hour)
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key}, (&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: iapIssuer, Audience: jwt.Audience{aud},
		IssuedAt: jwt.NewNumericDate(then), Expiry: jwt.NewNumericDate(then.Add(10 * time.Minute))}).
		Claims(map[string]any{"email": "ana@example.com"}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest("GET", "/boards/ops/ws", nil)
	r.RemoteAddr = "192.0.2.1:4000"
	r.Header.Set(headerIAPJWT, tok)
	g := acc.grant(r)
	g.at = then

	if _, err := acc.who(r); err == nil {
		t.Fatal("a new request with the expired assertion was let in")
	}
	if !acc.allows(g) {
		t.Fatal("the screen let in an hour ago is refused under unchanged rules")
	}
	for _, tc := range []struct {
		name string
		cfg  board.AccessConfig
		want bool
	}{
		{"unrelated change", policy(aud, "@example.com"), true},
		{"user no longer allowed", policy(aud, "@partner.example"), false},
		{"other audience", policy("/projects/1/global/backendServices/3"), false},
		{"proxy no longer trusted", board.AccessConfig{Mode: board.AccessProxy, TrustedProxies: []string{"192.0.2.9"}, Proxy: policy(aud).Proxy}, false},
		{"screens mode", board.AccessConfig{Mode: board.AccessScreens}, false},
		{"open mode", board.AccessConfig{Mode: board.AccessOpen}, true},
	} {
		if err := acc.Update(tc.cfg, ""); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := acc.allows(g); got != tc.want {
			t.Errorf("%s: allows = %v, want %v", tc.name, got, tc.want)
		}
	}
	if updates != 6 {
		t.Errorf("subscribe hooks ran %d times for 6 updates", updates)
	}
}
