package gcm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wallboard/wallboard/board"
)

func webhookFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "webhook", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestParseWebhook(t *testing.T) {
	a, err := ParseWebhook(webhookFixture(t, "open.json"))
	if err != nil {
		t.Fatal(err)
	}
	want := board.Alert{
		ID: "projects/shop-prod/alerts/0.nqz7x3j2ab1c", State: board.AlertOpen, Title: "Checkout latency p99 above 500 ms",
		Severity: board.SeverityCritical, Summary: "run.googleapis.com/request_latencies",
		Policy:     "projects/shop-prod/alertPolicies/1234567890123456789",
		Resource:   "cloud_run_revision configuration_name=checkout location=europe-west1 revision_name=checkout-00042-xyz service_name=checkout",
		NextAction: "Checkout is slow for customers. Check the latest deploy of checkout and roll it back if it started then. Then check Cloud SQL CPU on checkout-db.",
		RunbookURL: "https://runbooks.example.com/checkout-latency",
		ConsoleURL: "https://console.cloud.google.com/monitoring/alerting/alerts/0.nqz7x3j2ab1c?project=shop-prod",
	}
	want.StartedAt = a.StartedAt
	if a != want || a.StartedAt.Unix() != 1764061200 {
		t.Errorf("alert =\n%+v\nwant\n%+v", a, want)
	}
	c, err := ParseWebhook(webhookFixture(t, "closed.json"))
	if err != nil || c.ID != a.ID || c.State != board.AlertClosed || c.EndedAt.IsZero() {
		t.Errorf("closed = %+v, %v", c, err)
	}
	for body, msg := range map[string]string{
		`{"version":"1.2"}`: "no incident",
		`{"incident":{"incident_id":"1","state":"acked"}}`: "state",
		`{"incident":{"state":"open"}}`:                    "incident_id",
	} {
		if _, err := ParseWebhook([]byte(body)); err == nil || !strings.Contains(err.Error(), msg) {
			t.Errorf("%s: err %v, want it to mention %q", body, err, msg)
		}
	}
}

func TestMarkdownText(t *testing.T) {
	for in, want := range map[string]string{
		"**Roll back** the `api` deploy.":                             "Roll back the api deploy.",
		"# Steps\n\n1. Open [the runbook](https://x.example)\n2. Run": "Steps\n1. Open the runbook\n2. Run",
		"- one\n- two <script>alert(1)</script>":                      "• one\n• two alert(1)",
		"<div onclick=\"x()\">block html</div>\n\nafter":              "after",
		"see <https://runbooks.example.com/x>":                        "see https://runbooks.example.com/x",
		"plain\ntext":                                                 "plain text",
		"":                                                            "",
	} {
		if got := markdownText(in); got != want {
			t.Errorf("markdownText(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParseWebhook(f *testing.F) {
	f.Add(webhookFixture(f, "open.json"))
	f.Add(webhookFixture(f, "closed.json"))
	f.Add([]byte(`{"incident":{"incident_id":"1","state":"OPEN","started_at":"12"}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		a, err := ParseWebhook(body)
		if err != nil {
			return
		}
		if a.ID == "" || (a.State != board.AlertOpen && a.State != board.AlertClosed) {
			t.Fatalf("accepted an alert without id or state: %+v", a)
		}
		if a.State == board.AlertOpen && !a.EndedAt.IsZero() {
			t.Fatalf("open alert with an end: %+v", a)
		}
	})
}
