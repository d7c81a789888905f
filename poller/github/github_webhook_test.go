package github

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// webhookFixture is one of GitHub's published example payloads
// (testdata/webhook/README.md says which).
func webhookFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "webhook", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// FuzzParseWebhook feeds GitHub's example payloads, mutated, through the
// webhook's mapping (shared with the poll): nothing may panic, and whatever
// it accepts must be storable; whatever it refuses is the payload's fault.
func FuzzParseWebhook(f *testing.F) {
	// The event name is chosen from the ones the receiver handles by a
	// byte: a mutated name is only ever unknown, and the fuzzer spent its
	// time on inputs ParseWebHook refuses at once.
	events := webhookEvents
	for _, name := range []string{"deployment_status.success", "deployment_status.in_progress", "push.master", "push.tag", "issues.labeled", "issues.opened", "workflow_run.completed.success"} {
		event := strings.SplitN(name, ".", 2)[0]
		f.Add(byte(slices.Index(events, event)), webhookFixture(f, name))
	}
	settings := func(string) RepoSettings {
		return RepoSettings{service: "svc", environment: "production", Workflow: "test", IncidentLabel: "bug"}
	}
	f.Fuzz(func(t *testing.T, which byte, body []byte) {
		ev, err := parseWebhook(events[int(which)%len(events)], body, settings)
		if err != nil {
			// Anything else would be answered 503 (GitHub redelivers)
			// rather than 400.
			if !errors.Is(err, ErrBadPayload) {
				t.Fatalf("error %v is not an ErrBadPayload", err)
			}
			return
		}
		if d := ev.Deployment; d != nil && (d.ID == "" || d.Service == "" || d.FinishedAt.IsZero()) {
			t.Fatalf("accepted an unusable deployment %+v", *d)
		}
		if in := ev.Incident; in != nil && (in.ID == "" || in.StartedAt.IsZero()) {
			t.Fatalf("accepted an unusable incident %+v", *in)
		}
		if p := ev.Push; p != nil {
			for _, c := range p.Commits {
				if p.Repo == "" || c.SHA == "" || c.AuthoredAt.IsZero() {
					t.Fatalf("accepted an unusable push %+v", *p)
				}
			}
		}
	})
}
