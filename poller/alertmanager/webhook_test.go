package alertmanager

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/wallboard/wallboard/board"
)

func webhookFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzAlertmanagerPayload: whatever a webhook body holds, an accepted alert
// has an id and a state.
func FuzzAlertmanagerPayload(f *testing.F) {
	f.Add(webhookFixture(f, "webhook-firing.json"))
	f.Add(webhookFixture(f, "webhook-resolved.json"))
	f.Fuzz(func(t *testing.T, body []byte) {
		as, err := ParseWebhook(body)
		if err != nil {
			return
		}
		for _, a := range as {
			if a.ID == "" || (a.State != board.AlertOpen && a.State != board.AlertClosed) {
				t.Fatalf("accepted an alert without id or state: %+v", a)
			}
		}
	})
}
