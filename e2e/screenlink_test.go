package e2e

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

// newScreenToken returns a fresh screen link token and its SHA-256, as a
// config lists it.
func newScreenToken() (token, sum string) {
	var b [32]byte
	rand.Read(b[:])
	token = hex.EncodeToString(b[:])
	s := sha256.Sum256([]byte(token))
	return token, hex.EncodeToString(s[:])
}

// A screen whose link is revoked while its page is open does not keep
// showing the last numbers: its websocket is closed with 1008 and the page
// reloads into the 403 that says why.
func TestRevokedScreenShowsWhy(t *testing.T) {
	token, sum := newScreenToken()
	_, otherSum := newScreenToken()
	cfg := opsConfig + `
access:
  mode: screens
  screens:
    - {name: lobby-tv, token_sha256: ` + sum + `}
    - {name: kitchen, token_sha256: ` + otherSum + `}
`
	s := StartServer(t, ServerOptions{Config: cfg})
	b := StartBrowser(t)
	b.Open(s.Base+"/screen/"+token+"?next=/boards/ops", 1280, 720)
	replaceFile(t, s.ConfigPath, strings.Replace(cfg, "    - {name: lobby-tv, token_sha256: "+sum+"}\n", "", 1))
	b.WaitJS(`document.querySelector('.grid') === null &&
		document.body.innerText.indexOf('unknown or revoked screen link') >= 0`, 20*time.Second)
}
