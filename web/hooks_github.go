package web

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/google/go-github/v82/github"

	"github.com/wallboard/wallboard/board"
	ghsrc "github.com/wallboard/wallboard/poller/github"
	"github.com/wallboard/wallboard/store"
)

// MaxGitHubBody is GitHub's own cap on webhook payloads (25 MB).
const MaxGitHubBody = 25 << 20

// GitHubRepoSettings is how one repository's events become Four Keys
// events (package github's mapping, shared with the poll).
type GitHubRepoSettings = ghsrc.RepoSettings

// GitHubDeliveries stores GitHub deliveries: once per delivery id, durably
// when it returns nil (package store, which then has the Four Keys tiles
// recomputed).
type GitHubDeliveries interface {
	RecordGitHubDelivery(ctx context.Context, source, delivery string, ev store.GitHubEvent, now time.Time) (stored int, duplicate bool, err error)
}

// GitHubHandler receives POST /hooks/github: deployment_status, push, issues
// and workflow_run events, verified with X-Hub-Signature-256.
type GitHubHandler struct {
	secret   []byte
	store    GitHubDeliveries
	settings func(repo string) GitHubRepoSettings
	log      *slog.Logger
	now      func() time.Time
}

// NewGitHubHandler builds the receiver; secret must not be empty (without
// one the endpoint is off: no route). settings may be nil: the server then
// maps each delivery with the settings of the config it shows (withConfig).
func NewGitHubHandler(secret string, st GitHubDeliveries, settings func(repo string) GitHubRepoSettings, log *slog.Logger) *GitHubHandler {
	return &GitHubHandler{secret: []byte(secret), store: st, settings: settings, log: log, now: time.Now}
}

// withConfig is h mapping each delivery with the repositories' settings of
// cfg(), read per delivery so that they follow config reloads (those of the
// first github source that lists the repository, else the defaults: as the
// poll maps it). A handler given its own settings is kept as it is.
func (h *GitHubHandler) withConfig(cfg func() *board.Config) *GitHubHandler {
	if h.settings != nil {
		return h
	}
	c := *h
	c.settings = func(repo string) GitHubRepoSettings { return ghsrc.SettingsIn(cfg(), repo) }
	return &c
}

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
	if !slices.Contains(ghsrc.WebhookEvents, event) {
		writeAccepted(w, http.StatusAccepted, map[string]any{"ignored": event})
		return
	}
	if delivery == "" {
		http.Error(w, "missing X-GitHub-Delivery", http.StatusBadRequest)
		return
	}
	ev, err := ghsrc.ParseWebhook(event, body, h.settings)
	if err != nil {
		http.Error(w, event+" payload: "+err.Error(), http.StatusBadRequest)
		return
	}
	stored, duplicate, err := h.store.RecordGitHubDelivery(r.Context(), "github", delivery, ev, h.now())
	if err != nil {
		h.log.Error("github webhook: storing", "event", event, "delivery", delivery, "error", err)
		http.Error(w, "could not store the event; GitHub may redeliver it", http.StatusServiceUnavailable)
		return
	}
	if duplicate {
		writeAccepted(w, http.StatusOK, map[string]any{"duplicate": delivery})
		return
	}
	writeAccepted(w, http.StatusOK, map[string]any{"event": event, "stored": stored})
}
