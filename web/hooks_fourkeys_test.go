package web

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wallboard/wallboard/fourkeys"
	ghsrc "github.com/wallboard/wallboard/poller/github"
	"github.com/wallboard/wallboard/store"
	"github.com/wallboard/wallboard/store/storetest"
)

func count(t *testing.T, s *store.Store, table string) int {
	t.Helper()
	var n int
	if err := s.DB.QueryRow(`SELECT COUNT(*) FROM ` + table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

func post(t *testing.T, h http.Handler, path string, hdr map[string]string, body []byte) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body))
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestDeployEventsWebhook(t *testing.T) {
	s := storetest.SQLite(t)
	mux := serveReceivers(Receivers{Events: NewEventsHandler("s3cret", s, quietLog())})
	stored, stop := s.WatchFourKeys()
	t.Cleanup(stop)
	auth := map[string]string{"Authorization": "Bearer s3cret", "Content-Type": "application/json"}
	dep := []byte(`{"id":"deploy-7","service":"api","repo":"org/api","sha":"ABCDEF1234567","finished_at":"2026-11-25T10:00:00+09:00",
		"author":"alice","changes":[{"sha":"c1","authored_at":"2026-11-24T22:00:00Z"}]}`)

	t.Run("no token", func(t *testing.T) {
		w := post(t, mux, "/api/v1/events/deployments", nil, dep)
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401", w.Code)
		}
	})
	t.Run("wrong token", func(t *testing.T) {
		w := post(t, mux, "/api/v1/events/deployments", map[string]string{"Authorization": "Bearer s3cre"}, dep)
		if w.Code != http.StatusUnauthorized || count(t, s, "deployments") != 0 {
			t.Fatalf("status %d, want 401 and nothing stored", w.Code)
		}
	})
	t.Run("deployment stored once, however often it is sent", func(t *testing.T) {
		for i := range 3 {
			if w := post(t, mux, "/api/v1/events/deployments", auth, dep); w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
			// Each delivery has the Four Keys tiles recomputed.
			select {
			case <-stored:
			default:
				t.Fatalf("delivery %d: the store did not signal stored Four Keys events", i+1)
			}
		}
		if n, c := count(t, s, "deployments"), count(t, s, "changes"); n != 1 || c != 1 {
			t.Fatalf("%d deployments, %d changes stored; want 1, 1", n, c)
		}
		var at int64
		s.DB.QueryRow(`SELECT finished_at FROM deployments WHERE id = 'deploy-7'`).Scan(&at)
		if want := time.Date(2026, 11, 25, 1, 0, 0, 0, time.UTC); !time.UnixMilli(at).Equal(want) {
			t.Fatalf("finished_at = %v, want %v", time.UnixMilli(at).UTC(), want)
		}
	})
	bad := []struct{ name, path, body, want string }{
		{"missing finished_at", "deployments", `{"id":"x","service":"api"}`, "finished_at: required"},
		{"missing service", "deployments", `{"id":"x","finished_at":"2026-11-25T10:00:00Z"}`, "service: required"},
		{"bad time", "deployments", `{"id":"x","service":"a","finished_at":"yesterday"}`, "RFC 3339"},
		{"wrong type", "deployments", `{"id":7,"service":"a"}`, "id: expected string"},
		{"unknown field", "deployments", `{"id":"x","servce":"a"}`, `unknown field "servce"`},
		{"change without date", "deployments", `{"id":"x","service":"a","finished_at":"2026-11-25T10:00:00Z","changes":[{"sha":"c"}]}`, "changes[0].authored_at"},
		{"malformed", "incidents", `{"id":`, "malformed JSON"},
		{"empty", "incidents", ``, "empty body"},
		{"resolved before started", "incidents", `{"id":"i","started_at":"2026-11-25T10:00:00Z","resolved_at":"2026-11-25T09:00:00Z"}`, "resolved_at: before started_at"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			w := post(t, mux, "/api/v1/events/"+tc.path, auth, []byte(tc.body))
			if w.Code != http.StatusBadRequest || !strings.Contains(w.Body.String(), tc.want) {
				t.Fatalf("status %d %q, want 400 mentioning %q", w.Code, w.Body, tc.want)
			}
		})
	}
	t.Run("body over 1 MiB", func(t *testing.T) {
		big := append([]byte(`{"id":"x","title":"`), bytes.Repeat([]byte("a"), maxWebhookBody)...)
		w := post(t, mux, "/api/v1/events/incidents", auth, append(big, `"}`...))
		if w.Code != http.StatusRequestEntityTooLarge {
			t.Fatalf("status %d, want 413", w.Code)
		}
	})
	t.Run("incident opened then resolved", func(t *testing.T) {
		open := `{"id":"inc-1","service":"api","started_at":"2026-11-25T02:00:00Z","deployment":"deploy-7","labels":["sev2"]}`
		if w := post(t, mux, "/api/v1/events/incidents", auth, []byte(open)); w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		resolved := strings.Replace(open, `"labels"`, `"resolved_at":"2026-11-25T02:42:00Z","labels"`, 1)
		if w := post(t, mux, "/api/v1/events/incidents", auth, []byte(resolved)); w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		r, err := s.ComputeFourKeys(context.Background(), fourkeys.Scope{Service: "api"}, time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC), 30*fourkeys.Day)
		if err != nil {
			t.Fatal(err)
		}
		if r.Current.TimeToRestore == nil || *r.Current.TimeToRestore != 42*time.Minute || *r.Current.ChangeFailureRate != 1 {
			t.Fatalf("time to restore %v, cfr %v; want 42m, 1", r.Current.TimeToRestore, r.Current.ChangeFailureRate)
		}
	})
}

// githubFixture is one of GitHub's published example payloads, kept beside
// the mapping that reads them (package github).
func githubFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "poller", "github", "testdata", "webhook", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// edit changes a fixture's JSON with fn.
func edit(t *testing.T, b []byte, fn func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	fn(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func sign(secret string, body []byte) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

func TestGitHubWebhook(t *testing.T) {
	const secret = "It's a Secret to Everybody"
	s := storetest.SQLite(t)
	stored, stop := s.WatchFourKeys()
	t.Cleanup(stop)
	settings := func(repo string) ghsrc.RepoSettings {
		return ghsrc.RepoSettings{IncidentLabel: "bug", Workflow: "test"}
	}
	// Through the route table, behind the guard that checks the signature.
	h := serveReceivers(Receivers{GitHub: NewGitHubHandler(secret, ghsrc.NewReceiver(s, settings), quietLog())})
	seq := 0
	deliver := func(event string, body []byte) *httptest.ResponseRecorder {
		seq++
		return post(t, h, "/hooks/github", map[string]string{
			"X-GitHub-Event": event, "X-GitHub-Delivery": "delivery-" + strings.Repeat("x", seq),
			"X-Hub-Signature-256": sign(secret, body), "Content-Type": "application/json",
		}, body)
	}

	t.Run("missing signature", func(t *testing.T) {
		w := post(t, h, "/hooks/github", map[string]string{"X-GitHub-Event": "deployment_status", "X-GitHub-Delivery": "a"}, githubFixture(t, "deployment_status.success"))
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("status %d, want 401", w.Code)
		}
	})
	t.Run("bad signature stores nothing", func(t *testing.T) {
		body := githubFixture(t, "deployment_status.success")
		w := post(t, h, "/hooks/github", map[string]string{"X-GitHub-Event": "deployment_status", "X-GitHub-Delivery": "b",
			"X-Hub-Signature-256": sign("wrong", body)}, body)
		if w.Code != http.StatusUnauthorized || count(t, s, "deployments")+count(t, s, "deliveries") != 0 {
			t.Fatalf("status %d, want 401 and nothing stored", w.Code)
		}
		w = post(t, h, "/hooks/github", map[string]string{"X-GitHub-Event": "deployment_status", "X-GitHub-Delivery": "b",
			"X-Hub-Signature": "sha1=" + strings.Repeat("0", 40)}, body)
		if w.Code != http.StatusUnauthorized {
			t.Fatalf("sha1 only: status %d, want 401", w.Code)
		}
	})
	t.Run("unknown event is acknowledged and ignored", func(t *testing.T) {
		w := deliver("star", []byte(`{"action":"created"}`))
		if w.Code != http.StatusAccepted || count(t, s, "deliveries") != 0 {
			t.Fatalf("status %d, want 202 and nothing stored", w.Code)
		}
	})
	t.Run("ping", func(t *testing.T) {
		if w := deliver("ping", githubFixture(t, "ping")); w.Code != http.StatusOK {
			t.Fatalf("status %d", w.Code)
		}
	})
	t.Run("malformed JSON", func(t *testing.T) {
		w := deliver("issues", []byte(`{"action": "opened", "issue": {`))
		if w.Code != http.StatusBadRequest || count(t, s, "deliveries") != 0 {
			t.Fatalf("status %d, want 400 and nothing stored", w.Code)
		}
	})
	t.Run("deployment in progress is not a deployment", func(t *testing.T) {
		if w := deliver("deployment_status", githubFixture(t, "deployment_status.in_progress")); w.Code != http.StatusOK || count(t, s, "deployments") != 0 {
			t.Fatalf("status %d, %d deployments; want 200, 0", w.Code, count(t, s, "deployments"))
		}
	})

	// A realistic sequence built from the fixtures: a first deployment of
	// commit A, a push of commit B, a deployment of B, and an incident.
	first := edit(t, githubFixture(t, "deployment_status.success"), func(m map[string]any) {
		m["deployment"].(map[string]any)["id"] = 1
		m["deployment"].(map[string]any)["sha"] = "aaaaaaa000000000000000000000000000000000"
		m["deployment_status"].(map[string]any)["created_at"] = "2019-05-15T12:00:00Z"
	})
	push := edit(t, githubFixture(t, "push.master"), func(m map[string]any) {
		c := m["commits"].([]any)[0].(map[string]any)
		m["commits"] = []any{
			map[string]any{"id": "aaaaaaa000000000000000000000000000000000", "timestamp": "2019-05-15T11:00:00Z", "message": "a"},
			c, // 6113728f…, 2019-05-15T15:19:25Z
		}
	})
	second := edit(t, githubFixture(t, "deployment_status.success"), func(m map[string]any) {
		m["deployment"].(map[string]any)["sha"] = "6113728f27ae82c7b1a177c8d03f9e96e0adf246"
	})
	t.Run("deployments and pushes become deployments and changes", func(t *testing.T) {
		for _, d := range []struct {
			event string
			body  []byte
		}{{"push", push}, {"deployment_status", first}, {"deployment_status", second}, {"push", githubFixture(t, "push.tag")}} {
			if w := deliver(d.event, d.body); w.Code != http.StatusOK {
				t.Fatalf("%s: status %d: %s", d.event, w.Code, w.Body)
			}
		}
		if n, c := count(t, s, "deployments"), count(t, s, "changes"); n != 2 || c != 1 {
			t.Fatalf("%d deployments, %d changes; want 2, 1 (the first deployment has no changes)", n, c)
		}
		var id, sha string
		var at, authored int64
		s.DB.QueryRow(`SELECT d.id, c.sha, d.finished_at, c.authored_at FROM changes c JOIN deployments d ON d.id = c.deployment_id`).Scan(&id, &sha, &at, &authored)
		if id != "github:codertocat/hello-world:deployment:145988746" || sha != "6113728f27ae82c7b1a177c8d03f9e96e0adf246" {
			t.Fatalf("change %s of %s", sha, id)
		}
		// deployment_status.created_at 15:20:55 − commit 15:19:25 = 90 s.
		if lead := time.UnixMilli(at).Sub(time.UnixMilli(authored)); lead != 90*time.Second {
			t.Fatalf("lead time %v, want 1m30s", lead)
		}
	})
	t.Run("duplicate delivery is stored once", func(t *testing.T) {
		before := count(t, s, "deliveries")
		hdr := map[string]string{"X-GitHub-Event": "issues", "X-GitHub-Delivery": "same-id", "X-Hub-Signature-256": sign(secret, githubFixture(t, "issues.labeled"))}
		for range 2 {
			if w := post(t, h, "/hooks/github", hdr, githubFixture(t, "issues.labeled")); w.Code != http.StatusOK {
				t.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
		if count(t, s, "deliveries") != before+1 || count(t, s, "incidents") != 1 {
			t.Fatalf("%d deliveries (was %d), %d incidents; want one more delivery and 1 incident", count(t, s, "deliveries"), before, count(t, s, "incidents"))
		}
	})
	t.Run("closed issue resolves the incident", func(t *testing.T) {
		closed := edit(t, githubFixture(t, "issues.labeled"), func(m map[string]any) {
			is := m["issue"].(map[string]any)
			is["state"], is["closed_at"] = "closed", "2019-05-15T16:00:18Z"
			m["action"] = "closed"
		})
		if w := deliver("issues", closed); w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		r, err := s.ComputeFourKeys(context.Background(), fourkeys.Scope{Repo: "Codertocat/Hello-World"}, time.Date(2019, 5, 20, 0, 0, 0, 0, time.UTC), 30*fourkeys.Day)
		if err != nil {
			t.Fatal(err)
		}
		m := r.Current
		// The issue (created 15:20:18) started 23 s before the second
		// deployment finished, 3 h 20 m after the first: the first caused it.
		if m.Deployments != 2 || *m.ChangeFailureRate != 0.5 || *m.TimeToRestore != 40*time.Minute || *m.LeadTime != 90*time.Second {
			t.Fatalf("deployments %d, cfr %v, restore %v, lead %v", m.Deployments, *m.ChangeFailureRate, *m.TimeToRestore, *m.LeadTime)
		}
	})
	t.Run("removing the incident label forgets the incident", func(t *testing.T) {
		unlabeled := edit(t, githubFixture(t, "issues.labeled"), func(m map[string]any) {
			m["action"] = "unlabeled"
			m["issue"].(map[string]any)["labels"] = []any{}
		})
		if w := deliver("issues", unlabeled); w.Code != http.StatusOK {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		if n := count(t, s, "incidents"); n != 0 {
			t.Fatalf("%d incidents after the label was removed, want 0", n)
		}
	})
	t.Run("workflow run of the configured workflow on the default branch", func(t *testing.T) {
		if w := deliver("workflow_run", githubFixture(t, "workflow_run.requested")); w.Code != http.StatusOK {
			t.Fatalf("status %d", w.Code)
		}
		if w := deliver("workflow_run", githubFixture(t, "workflow_run.completed.success")); w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"stored":1`) {
			t.Fatalf("status %d: %s", w.Code, w.Body)
		}
		var n int
		s.DB.QueryRow(`SELECT COUNT(*) FROM deployments WHERE id = 'github:octo-org/octo-repo:run:289782451'`).Scan(&n)
		if n != 1 {
			t.Fatalf("%d run deployments, want 1", n)
		}
	})
	select {
	case <-stored:
	default:
		t.Fatal("the store did not signal the Four Keys events the deliveries stored")
	}
}

// What GitHub reads back from each kind of delivery: the status and the
// reply, exactly (GitHub shows them in the webhook's delivery log).
func TestGitHubWebhookReplies(t *testing.T) {
	const secret = "gh-secret"
	gh := func(st ghsrc.Deliveries) http.Handler {
		return serveReceivers(Receivers{GitHub: NewGitHubHandler(secret, ghsrc.NewReceiver(st, nil), quietLog())})
	}
	ok, down := gh(storetest.SQLite(t)), gh(failingStore{})
	success := githubFixture(t, "deployment_status.success")
	for _, tc := range []struct {
		name            string
		h               http.Handler
		event, delivery string
		body            []byte
		code            int
		reply           string
	}{
		{"ping", ok, "ping", "p-1", githubFixture(t, "ping"), 200, `{"ok":"pong"}`},
		{"ping without a delivery id", ok, "ping", "", githubFixture(t, "ping"), 200, `{"ok":"pong"}`},
		{"event that never counts", ok, "star", "", []byte(`{"action":"created"}`), 202, `{"ignored":"star"}`},
		{"counted event without a delivery id", ok, "deployment_status", "", success, 400, "missing X-GitHub-Delivery"},
		{"malformed JSON", ok, "issues", "m-1", []byte(`{"action":`), 400, "issues payload: malformed JSON: unexpected end of JSON input"},
		{"payload without what its event needs", ok, "push", "b-1", []byte(`{"ref":"refs/heads/main"}`), 400, "push payload: repository.full_name: required"},
		{"stored", ok, "deployment_status", "d-1", success, 200, `{"event":"deployment_status","stored":1}`},
		{"stored again", ok, "deployment_status", "d-1", success, 200, `{"duplicate":"d-1"}`},
		{"not a deployment: stored as nothing", ok, "deployment_status", "d-2", githubFixture(t, "deployment_status.in_progress"), 200, `{"event":"deployment_status","stored":0}`},
		{"store down", down, "deployment_status", "d-3", success, 503, "could not store the event; GitHub may redeliver it"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := post(t, tc.h, "/hooks/github", map[string]string{"X-GitHub-Event": tc.event, "X-GitHub-Delivery": tc.delivery,
				"X-Hub-Signature-256": sign(secret, tc.body), "Content-Type": "application/json"}, tc.body)
			if reply := strings.TrimSpace(w.Body.String()); w.Code != tc.code || reply != tc.reply {
				t.Errorf("%d %q, want %d %q", w.Code, reply, tc.code, tc.reply)
			}
		})
	}
}

// FuzzEventBodies: the generic webhook parsers never panic and never accept
// an event without its required fields.
func FuzzEventBodies(f *testing.F) {
	f.Add([]byte(`{"id":"d","service":"api","finished_at":"2026-11-25T10:00:00Z","changes":[{"sha":"c","authored_at":"2026-11-25T09:00:00Z"}]}`))
	f.Add([]byte(`{"id":"i","started_at":"2026-11-25T10:00:00Z","resolved_at":"2026-11-25T11:00:00Z","deployment":"d"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		if d, cs, err := parseDeploymentEvent(body); err == nil {
			if d.ID == "" || d.Service == "" || d.FinishedAt.IsZero() {
				t.Fatalf("accepted %+v", d)
			}
			for _, c := range cs {
				if c.SHA == "" || c.AuthoredAt.IsZero() {
					t.Fatalf("accepted change %+v", c)
				}
			}
		}
		if in, err := parseIncidentEvent(body); err == nil && (in.ID == "" || in.StartedAt.IsZero()) {
			t.Fatalf("accepted %+v", in)
		}
	})
}
