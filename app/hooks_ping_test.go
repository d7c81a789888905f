package app

import (
	"context"
	"database/sql"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/wallboard/wallboard/board"
)

const eventsYAML = boardYAML + `
webhooks:
  events:
    secret: {env: TEST_EVENTS_SECRET}
`

func post(t *testing.T, url, auth, body string) (int, string) {
	t.Helper()
	r, _ := http.NewRequest("POST", url, strings.NewReader(body))
	if auth != "" {
		r.Header.Set("Authorization", auth)
	}
	r.Header.Set("Content-Type", "application/json")
	resp, err := noRedirect.Do(r)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	var sb strings.Builder
	b := make([]byte, 4096)
	n, _ := resp.Body.Read(b)
	sb.Write(b[:n])
	return resp.StatusCode, sb.String()
}

func TestPingReceiver(t *testing.T) {
	t.Setenv("TEST_EVENTS_SECRET", "ev-secret")
	// Screens mode: the webhook is still reachable, with its own secret.
	a, base, _ := start(t, Options{}, eventsYAML+"access:\n  mode: screens\n  screens:\n    - {name: tv, token_sha256: "+strings.Repeat("cd", 32)+"}\n")
	url := base + "/api/v1/events/ping"
	for _, tc := range []struct {
		name, auth, body string
		want             int
		contains         string
	}{
		{"no secret", "", `{"id":"a"}`, 401, "secret"},
		{"wrong secret", "Bearer ev-secreT", `{"id":"a"}`, 401, "secret"},
		{"secret as basic password without user config", "Basic " + "OmV2LXNlY3JldA==", `{"id":"a"}`, 401, "secret"},
		{"garbage", "Bearer ev-secret", `{"id":`, 400, "body"},
		{"unknown field", "Bearer ev-secret", `{"id":"a","x":1}`, 400, "unknown field"},
		{"no id", "Bearer ev-secret", `{"note":"hi"}`, 400, "id is required"},
		{"too large", "Bearer ev-secret", `{"id":"a","note":"` + strings.Repeat("x", 5000) + `"}`, 413, "larger"},
		{"first", "Bearer ev-secret", `{"id":"d-1","note":"hello"}`, 200, `"stored":true`},
		{"again", "Bearer ev-secret", `{"id":"d-1","note":"hello"}`, 200, `"stored":false`},
		{"second", "Bearer ev-secret", `{"id":"d-2"}`, 200, `"stored":true`},
	} {
		code, body := post(t, url, tc.auth, tc.body)
		if code != tc.want || !strings.Contains(body, tc.contains) {
			t.Errorf("%s: %d %q, want %d containing %q", tc.name, code, body, tc.want, tc.contains)
		}
	}
	if code, _ := getStatus(t, url); code != http.StatusMethodNotAllowed {
		t.Errorf("GET on the receiver: %d, want 405", code)
	}
	_, plain, _ := start(t, Options{}, boardYAML)
	if code, _ := post(t, plain+"/api/v1/events/ping", "Bearer ev-secret", `{"id":"a"}`); code != http.StatusNotFound {
		t.Errorf("receiver not configured: %d, want 404", code)
	}
	var n int
	if err := a.Store().DB.QueryRowContext(context.Background(), `SELECT count(*) FROM pings`).Scan(&n); err != nil || n != 2 {
		t.Errorf("pings stored: %d (%v), want 2", n, err)
	}
	if err := a.Store().InTx(context.Background(), func(tx *sql.Tx) error {
		return tx.QueryRow(`SELECT count(*) FROM deliveries WHERE receiver = 'ping'`).Scan(&n)
	}); err != nil || n != 2 {
		t.Errorf("deliveries: %d (%v), want 2", n, err)
	}
}

func TestWebhookSecretRequired(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{"webhooks:\n  github: {}\n", "b.yaml:11: webhooks.github: a receiver needs a secret"},
		{"webhooks:\n  alertmanager:\n", "b.yaml:11: webhooks.alertmanager: a receiver needs a secret"},
		{"webhooks:\n  events:\n    secret: {}\n", "b.yaml:11: webhooks.events.secret: give env"},
		{"webhooks:\n  cloudmonitoring:\n    basic_auth: {username: gcm}\n", "b.yaml:11: webhooks.cloudmonitoring.basic_auth: password is missing"},
		{"webhooks:\n  alertmanager: {basic_auth: {username: am, password: {file: /run/secrets/am}}}\n", "b.yaml:11: webhooks.alertmanager.basic_auth: only the cloudmonitoring receiver takes basic auth"},
	} {
		_, err := board.Parse("b.yaml", []byte(boardYAML+tc.yaml), nil)
		var ce *board.ConfigError
		if !errors.As(err, &ce) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.yaml, err, tc.want)
		}
	}
	for _, ok := range []string{
		"webhooks:\n  github: {secret: {env: GH}}\n",
		"webhooks:\n  cloudmonitoring: {basic_auth: {username: gcm, password: {file: /run/secrets/gcm}}}\n",
	} {
		if _, err := board.Parse("b.yaml", []byte(boardYAML+ok), nil); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	// An unset secret variable stops the start with its name, not its value.
	t.Setenv("TEST_EVENTS_SECRET", "")
	path := t.TempDir() + "/b.yaml"
	writeFile(t, path, eventsYAML)
	_, err := New(context.Background(), Options{ConfigPath: path, Addr: "127.0.0.1:0", DataDir: t.TempDir()})
	if err == nil || !strings.Contains(err.Error(), "webhooks.events.secret: environment variable TEST_EVENTS_SECRET is not set") {
		t.Errorf("start with unset secret: %v", err)
	}
}
