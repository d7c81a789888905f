package app_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wallboard/wallboard/app"
	"github.com/wallboard/wallboard/app/apptest"
)

// standupConfig is a team board with an alerts tile and a deployment feed,
// fed only by the HTTP event APIs.
const standupConfig = `
sources:
  - {id: hooks, kind: webhooks}
  - {id: dora, kind: events}
webhooks:
  events:
    secret: {env: WB_TEST_STANDUP_TOKEN}
boards:
  - id: team
    title: Team
    tiles:
      - {id: alerts, kind: alerts, title: Open alerts, source: hooks, interval: 1h}
      - {id: feed, kind: deploys, title: Deploys, source: dora, query: {service: api}, interval: 1h}
`

// post sends an authorised JSON body to the events API and fails on any
// answer but 200.
func post(t *testing.T, base, path, token, body string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, base+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST %s: HTTP %d %s", path, resp.StatusCode, b)
	}
}

func getPage(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: HTTP %d %s", url, resp.StatusCode, b)
	}
	return string(b)
}

// TestStandupListsStoredEvents: a deployment and an alert posted through the
// HTTP APIs of a real app are listed on the board's standup page, and an
// alert closed before the period is not.
func TestStandupListsStoredEvents(t *testing.T) {
	const token = "standup-token"
	t.Setenv("WB_TEST_STANDUP_TOKEN", token)
	a := apptest.Start(t, app.Options{ConfigPath: apptest.WriteConfig(t, standupConfig)})
	base := "http://" + a.Addr()
	now := time.Now().UTC()
	ts := func(d time.Duration) string { return now.Add(-d).Format(time.RFC3339) }

	post(t, base, "/api/v1/events/deployments", token,
		fmt.Sprintf(`{"id":"d1","service":"api","sha":"4f2a9c1d","finished_at":%q,"author":"ann"}`, ts(2*time.Hour)))
	post(t, base, "/api/v1/events/alerts", token,
		fmt.Sprintf(`{"id":"disk","title":"Disk almost full on db-1","severity":"warning","started_at":%q}`, ts(time.Hour)))
	post(t, base, "/api/v1/events/alerts", token,
		fmt.Sprintf(`{"id":"cpu","title":"CPU saturated","severity":"critical","started_at":%q}`, ts(3*time.Hour)))
	post(t, base, "/api/v1/events/alerts", token,
		fmt.Sprintf(`{"id":"cpu","state":"closed","ended_at":%q}`, ts(90*time.Minute)))
	post(t, base, "/api/v1/events/alerts", token,
		fmt.Sprintf(`{"id":"old","title":"Last week's outage","severity":"critical","started_at":%q}`, ts(50*time.Hour)))
	post(t, base, "/api/v1/events/alerts", token,
		fmt.Sprintf(`{"id":"old","state":"closed","ended_at":%q}`, ts(49*time.Hour)))

	html := getPage(t, base+"/boards/team?since=24h")
	for _, want := range []string{"api", "4f2a9c1", "Disk almost full on db-1", "CPU saturated"} {
		if !strings.Contains(html, want) {
			t.Errorf("standup page lacks %q", want)
		}
	}
	if strings.Contains(html, "No deployments, incidents or alerts") {
		t.Error("standup page says nothing happened")
	}
	if strings.Contains(html, "Last week") {
		t.Error("standup page lists an alert of before the period")
	}
	// Each transition once: the resolved CPU alert is listed opened and closed.
	if n := strings.Count(html, "CPU saturated</span>"); n != 2 {
		t.Errorf("CPU saturated listed %d times, want 2 (opened, resolved)", n)
	}
	if t.Failed() {
		t.Logf("page: %s", html[strings.Index(html, "standup-view"):])
	}
}
