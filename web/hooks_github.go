package web

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/go-github/v82/github"

	ghsrc "github.com/wallboard/wallboard/poller/github"
	"github.com/wallboard/wallboard/store"
)

// MaxGitHubBody is GitHub's own cap on webhook payloads (25 MB).
const MaxGitHubBody = 25 << 20

// GitHubRepoSettings is how one repository's events become Four Keys
// events (package github's mapping, shared with the poll).
type GitHubRepoSettings = ghsrc.RepoSettings

// GitHubHandler receives POST /hooks/github: deployment_status, push, issues
// and workflow_run events, verified with X-Hub-Signature-256.
type GitHubHandler struct {
	secret   []byte
	store    TxRunner
	settings func(repo string) GitHubRepoSettings
	kick     func()
	log      *slog.Logger
	now      func() time.Time
}

// NewGitHubHandler builds the receiver; secret must not be empty (without
// one the endpoint is off: no route). settings may be nil (defaults).
func NewGitHubHandler(secret string, st TxRunner, settings func(repo string) GitHubRepoSettings, kick func(), log *slog.Logger) *GitHubHandler {
	if settings == nil {
		settings = func(string) GitHubRepoSettings { return GitHubRepoSettings{} }
	}
	if kick == nil {
		kick = func() {}
	}
	return &GitHubHandler{secret: []byte(secret), store: st, settings: settings, kick: kick, log: log, now: time.Now}
}

// githubEvents are the events stored; any other is acknowledged and ignored.
var githubEvents = []string{"deployment_status", "push", "issues", "workflow_run"}

func (h *GitHubHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r, MaxGitHubBody)
	if !ok {
		return
	}
	sig := r.Header.Get("X-Hub-Signature-256")
	if sig == "" {
		http.Error(w, "missing X-Hub-Signature-256", http.StatusUnauthorized)
		return
	}
	// Only sha256: the legacy sha1 header is refused. ValidateSignature
	// compares with hmac.Equal (constant time).
	if !strings.HasPrefix(sig, "sha256=") || github.ValidateSignature(sig, body, h.secret) != nil {
		http.Error(w, "bad X-Hub-Signature-256", http.StatusUnauthorized)
		return
	}
	event := github.WebHookType(r)
	delivery := github.DeliveryID(r)
	if event == "ping" {
		writeAccepted(w, http.StatusOK, map[string]any{"ok": "pong"})
		return
	}
	if !slices.Contains(githubEvents, event) {
		writeAccepted(w, http.StatusAccepted, map[string]any{"ignored": event})
		return
	}
	if delivery == "" {
		http.Error(w, "missing X-GitHub-Delivery", http.StatusBadRequest)
		return
	}
	payload, err := github.ParseWebHook(event, body)
	if err != nil {
		http.Error(w, fmt.Sprintf("%s payload: malformed JSON: %v", event, err), http.StatusBadRequest)
		return
	}
	var stored int
	var duplicate bool
	err = h.store.InTx(r.Context(), func(tx *sql.Tx) error {
		first, err := store.FirstDelivery(r.Context(), tx, "github", delivery, h.now())
		if err != nil || !first {
			duplicate = !first
			return err
		}
		stored, err = h.apply(r.Context(), tx, payload)
		return err
	})
	if err != nil {
		var bad ghsrc.BadPayloadError
		if errors.As(err, &bad) {
			http.Error(w, event+" payload: "+bad.Msg, http.StatusBadRequest)
			return
		}
		h.log.Error("github webhook: storing", "event", event, "delivery", delivery, "error", err)
		http.Error(w, "could not store the event; GitHub may redeliver it", http.StatusServiceUnavailable)
		return
	}
	if duplicate {
		writeAccepted(w, http.StatusOK, map[string]any{"duplicate": delivery})
		return
	}
	if stored > 0 {
		h.kick()
	}
	writeAccepted(w, http.StatusOK, map[string]any{"event": event, "stored": stored})
}

// apply stores what a parsed event means for the Four Keys (the mapping
// is package github's, shared with the poll); it returns how many events
// were stored (0: not relevant, e.g. a staging deployment).
func (h *GitHubHandler) apply(ctx context.Context, tx *sql.Tx, payload any) (int, error) {
	return ghsrc.ApplyWebhook(ctx, tx, "github", payload, h.settings)
}
