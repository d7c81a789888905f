package app_test

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/wallboard/wallboard/app"
	"github.com/wallboard/wallboard/app/apptest"
)

// After a reload that changes the admin token, the new token opens every
// admin door (the admin page, the fleet page, reloading screens, and the
// metrics scrape that viewer access would refuse) and the old one none: the
// config applies as a whole once its reload succeeded.
func TestAdminTokenFollowsReload(t *testing.T) {
	t.Setenv("WB_ADMIN_OLD", "old-admin-token")
	t.Setenv("WB_ADMIN_NEW", "new-admin-token")
	sum := sha256.Sum256([]byte("some-screen-token"))
	config := func(env string) string {
		return fmt.Sprintf(`
sources:
  - {id: demo, kind: demo}
boards:
  - id: ops
    tiles:
      - {id: rps, kind: stat, source: demo, query: requests}
access:
  mode: screens
  screens:
    - {name: tv, token_sha256: %s}
admin:
  token: {env: %s}
`, hex.EncodeToString(sum[:]), env)
	}
	path := apptest.WriteConfig(t, config("WB_ADMIN_OLD"))
	a := apptest.Start(t, app.Options{ConfigPath: path})

	status := func(method, path, token string) int {
		t.Helper()
		req, err := http.NewRequest(method, a.BaseURL()+path, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	doors := []struct{ method, path string }{
		{"GET", "/admin"},
		{"GET", "/admin/screens"},
		{"POST", "/api/v1/reload-screens"},
		{"GET", "/metrics"},
	}
	// check says which doors the token opens and which it does not.
	check := func(token string, open bool) string {
		var wrong []string
		for _, d := range doors {
			code := status(d.method, d.path, token)
			if (code == http.StatusOK) != open {
				wrong = append(wrong, fmt.Sprintf("%s %s: %d", d.method, d.path, code))
			}
		}
		return strings.Join(wrong, "; ")
	}
	if w := check("old-admin-token", true); w != "" {
		t.Fatalf("before the reload, the configured token is refused: %s", w)
	}
	if w := check("new-admin-token", false); w != "" {
		t.Fatalf("before the reload, a token not configured yet is accepted: %s", w)
	}

	if err := os.WriteFile(path, []byte(config("WB_ADMIN_NEW")), 0o600); err != nil {
		t.Fatal(err)
	}
	apptest.Eventually(t, 20*time.Second, "the reload", func() (bool, string) {
		return a.ConfigStatus().Reloads == 1, fmt.Sprintf("%+v", a.ConfigStatus())
	})
	if w := check("new-admin-token", true); w != "" {
		t.Errorf("after the reload, the new token is refused: %s", w)
	}
	if w := check("old-admin-token", false); w != "" {
		t.Errorf("after the reload, the old token still opens: %s", w)
	}
}
