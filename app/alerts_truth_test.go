package app_test

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/wallboard/wallboard/app"

	"github.com/wallboard/wallboard/app/apptest"
)

// alertLayer is the board's takeover/banner fragment a screen connecting
// now is sent: the current state, read from a fresh websocket.
func alertLayer(t *testing.T, addr, board string) string {
	t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/boards/"+board+"/ws", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The initial state comes at once; a short quiet period ends it.
	c.SetReadDeadline(time.Now().Add(time.Second))
	layer := ""
	for {
		_, msg, err := c.ReadMessage()
		if err != nil {
			return layer
		}
		if s := string(msg); strings.Contains(s, `id="wb-alert-`+board+`"`) {
			layer = s
		}
	}
}

// postRaw posts body with the given headers and returns status and answer.
func postRaw(t *testing.T, url string, headers map[string]string, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, strings.TrimSpace(string(b))
}

// TestReopenedAlertIsNotADuplicate: open → close → open of the same alert
// in quick succession, without an Idempotency-Key, through the generic
// endpoint and the Cloud Monitoring receiver: the alert ends open and takes
// over. Sending the same state again is still acknowledged as a duplicate.
func TestReopenedAlertIsNotADuplicate(t *testing.T) {
	const evToken, cmToken = "ev-token", "cm-token"
	a := apptest.Start(t, app.Options{ConfigPath: apptest.WriteConfig(t, fmt.Sprintf(`
sources:
  - id: hooks
    kind: webhooks
webhooks:
  events:
    secret: {file: %s}
  cloudmonitoring:
    secret: {file: %s}
boards:
  - id: wall
    takeover: 60s
    tiles:
      - {id: alerts, kind: alerts, source: hooks, interval: 1h}
`, writeSecret(t, evToken), writeSecret(t, cmToken)))})
	events := "http://" + a.Addr() + "/api/v1/events/alerts"
	auth := map[string]string{"Authorization": "Bearer " + evToken}
	open := `{"id":"db-primary","title":"Primary database down","severity":"critical","next_action":"Fail over to db-2"}`
	closed := `{"id":"db-primary","state":"closed"}`
	var answers []string
	for _, body := range []string{open, open, closed, closed, open} {
		code, ans := postRaw(t, events, auth, body)
		if code != 200 {
			t.Fatalf("events: HTTP %d %s", code, ans)
		}
		answers = append(answers, ans)
	}
	want := []string{`{"stored":1,"duplicate":false}`, `{"stored":1,"duplicate":true}`, `{"stored":1,"duplicate":false}`,
		`{"stored":1,"duplicate":true}`, `{"stored":1,"duplicate":false}`}
	if !slices.Equal(answers, want) {
		t.Errorf("answers to open, open, close, close, open:\n got %q\nwant %q", answers, want)
	}

	cm := "http://" + a.Addr() + "/hooks/cloudmonitoring?token=" + cmToken
	cmOpen := `{"version":"1.2","incident":{"incident_id":"0.flap","state":"open","started_at":null,"ended_at":null,
		"policy_name":"Checkout latency p99 above 500 ms","severity":"Critical","documentation":{"content":"Roll back."}}}`
	cmClosed := `{"version":"1.2","incident":{"incident_id":"0.flap","state":"closed","started_at":null,"ended_at":null,
		"policy_name":"Checkout latency p99 above 500 ms","severity":"Critical"}}`
	answers = answers[:0]
	for _, body := range []string{cmOpen, cmClosed, cmOpen} {
		code, ans := postRaw(t, cm, nil, body)
		if code != 200 {
			t.Fatalf("cloudmonitoring: HTTP %d %s", code, ans)
		}
		answers = append(answers, ans)
	}
	if want := []string{`{"stored":1,"duplicate":false}`, `{"stored":1,"duplicate":false}`, `{"stored":1,"duplicate":false}`}; !slices.Equal(answers, want) {
		t.Errorf("cloud monitoring answers to open, closed, open:\n got %q\nwant %q", answers, want)
	}

	// The tile is refreshed right after each delivery is committed.
	apptest.Eventually(t, 10*time.Second, "after open → close → open both alerts are open and take over", func() (bool, string) {
		rows := tileRows(getBoard(t, a, "wall"), "alerts")
		got := strings.Join(rows, "\n")
		layer := alertLayer(t, a.Addr(), "wall")
		return len(rows) == 2 && strings.Contains(got, "Primary database down|critical") && strings.Contains(got, "Checkout latency p99 above 500 ms|critical") &&
			strings.Contains(layer, "is-takeover") && strings.Contains(layer, "+1 more"), fmt.Sprintf("rows %q layer %q", rows, layer)
	})
}

// TestDocumentedEventCurlExamples runs the generic webhook's curl examples
// of docs/alerts.md as written (only the address changed): open, close,
// open again. The alert must end open.
func TestDocumentedEventCurlExamples(t *testing.T) {
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatal("curl is needed to run the documented examples: " + err.Error())
	}
	doc, err := os.ReadFile("../docs/alerts.md")
	if err != nil {
		t.Fatal(err)
	}
	var cmds []string
	for _, block := range regexp.MustCompile("(?s)```sh\n(.*?)```").FindAllStringSubmatch(string(doc), -1) {
		for _, c := range strings.Split(block[1], "\n\n") {
			if strings.Contains(c, "curl") && strings.Contains(c, "/api/v1/events/alerts") {
				cmds = append(cmds, strings.TrimSpace(c))
			}
		}
	}
	if len(cmds) != 2 || strings.Contains(cmds[0], `"closed"`) || !strings.Contains(cmds[1], `"closed"`) {
		t.Fatalf("docs/alerts.md: want an open and a close example of /api/v1/events/alerts, got %q", cmds)
	}
	const token = "doc-token"
	a := apptest.Start(t, app.Options{ConfigPath: apptest.WriteConfig(t, fmt.Sprintf(`
sources:
  - id: hooks
    kind: webhooks
webhooks:
  events:
    secret: {file: %s}
boards:
  - id: wall
    tiles:
      - {id: alerts, kind: alerts, source: hooks, interval: 1h}
`, writeSecret(t, token)))})
	run := func(c string) string {
		t.Helper()
		c = strings.ReplaceAll(c, "http://localhost:8080", "http://"+a.Addr())
		cmd := exec.Command("bash", "-c", c)
		cmd.Env = append(os.Environ(), "WALLBOARD_EVENTS_TOKEN="+token)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s: %v\n%s", c, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	var answers []string
	for _, c := range []string{cmds[0], cmds[1], cmds[0]} {
		answers = append(answers, run(c))
	}
	apptest.Eventually(t, 10*time.Second, "documented open, close, open: the alert is open", func() (bool, string) {
		rows := tileRows(getBoard(t, a, "wall"), "alerts")
		return len(rows) == 1 && strings.HasPrefix(rows[0], "Primary database down|critical"), fmt.Sprintf("answers %q, rows %q", answers, rows)
	})
}
