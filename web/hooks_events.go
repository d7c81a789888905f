package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/wallboard/wallboard/fourkeys"
)

// EventsHandler receives the generic deployment and incident webhooks
// (POST /api/v1/events/deployments, /api/v1/events/incidents), so that any
// CI system or shell script can report the Four Keys' events.
type EventsHandler struct {
	token string // bearer token (compared by SecretEqual, in constant time)
	store EventsStore
	log   *slog.Logger
}

// EventsStore stores the generic events durably (package store, which then
// has the Four Keys tiles recomputed).
type EventsStore interface {
	RecordDeploymentEvent(ctx context.Context, source string, d fourkeys.Deployment, cs []fourkeys.Change) error
	RecordIncidentEvent(ctx context.Context, source string, in fourkeys.Incident) error
	pingStore // the delivery check, served with the events' token
}

// NewEventsHandler answers requests bearing `Authorization: Bearer <token>`.
// token must not be empty: without one the receiver is off (no route).
func NewEventsHandler(token string, st EventsStore, log *slog.Logger) *EventsHandler {
	return &EventsHandler{token: token, store: st, log: log}
}

// deploymentEvent is the JSON body of POST /api/v1/events/deployments.
type deploymentEvent struct {
	ID         string        `json:"id"`
	Service    string        `json:"service"`
	Repo       string        `json:"repo"`
	SHA        string        `json:"sha"`
	FinishedAt *time.Time    `json:"finished_at"`
	Author     string        `json:"author"`
	Changes    []changeEvent `json:"changes"`
	// Incident names the incident this deployment was made for (it is then
	// rework); Labels may carry a hotfix label (rework too).
	Incident string   `json:"incident"`
	Labels   []string `json:"labels"`
}

// changeEvent is one commit a deployment shipped.
type changeEvent struct {
	SHA        string     `json:"sha"`
	AuthoredAt *time.Time `json:"authored_at"`
}

// incidentEvent is the JSON body of POST /api/v1/events/incidents. Posting
// the same id again updates it (e.g. with resolved_at).
type incidentEvent struct {
	ID         string     `json:"id"`
	Service    string     `json:"service"`
	Repo       string     `json:"repo"`
	Title      string     `json:"title"`
	URL        string     `json:"url"`
	StartedAt  *time.Time `json:"started_at"`
	ResolvedAt *time.Time `json:"resolved_at"`
	// Deployment names the deployment that caused it: a deployment id or a
	// commit sha. Empty: attributed by service and time.
	Deployment string   `json:"deployment"`
	Labels     []string `json:"labels"`
	// PostmortemURL links the written postmortem: it records the postmortem
	// as the postmortem label does.
	PostmortemURL string `json:"postmortem_url"`
}

// parseDeploymentEvent decodes and validates a deployment body; the error
// names the bad field.
func parseDeploymentEvent(body []byte) (fourkeys.Deployment, []fourkeys.Change, error) {
	var ev deploymentEvent
	if err := decodeStrict(body, &ev); err != nil {
		return fourkeys.Deployment{}, nil, err
	}
	switch {
	case strings.TrimSpace(ev.ID) == "":
		return fourkeys.Deployment{}, nil, errors.New("id: required")
	case strings.TrimSpace(ev.Service) == "":
		return fourkeys.Deployment{}, nil, errors.New("service: required")
	case ev.FinishedAt == nil || ev.FinishedAt.IsZero():
		return fourkeys.Deployment{}, nil, errors.New("finished_at: required (RFC 3339 time)")
	}
	if err := checkIDs("id", ev.ID, "service", ev.Service, "repo", ev.Repo, "sha", ev.SHA); err != nil {
		return fourkeys.Deployment{}, nil, err
	}
	d := fourkeys.Deployment{ID: ev.ID, Service: ev.Service, Repo: ev.Repo, SHA: strings.ToLower(ev.SHA), FinishedAt: ev.FinishedAt.UTC(), Author: ev.Author,
		IncidentRef: strings.TrimSpace(ev.Incident), Labels: ev.Labels}
	var cs []fourkeys.Change
	for i, c := range ev.Changes {
		if strings.TrimSpace(c.SHA) == "" {
			return d, nil, fmt.Errorf("changes[%d].sha: required", i)
		}
		if err := checkID(fmt.Sprintf("changes[%d].sha", i), c.SHA); err != nil {
			return d, nil, err
		}
		if c.AuthoredAt == nil || c.AuthoredAt.IsZero() {
			return d, nil, fmt.Errorf("changes[%d].authored_at: required (RFC 3339 time)", i)
		}
		cs = append(cs, fourkeys.Change{SHA: strings.ToLower(c.SHA), Service: d.Service, AuthoredAt: c.AuthoredAt.UTC(), DeploymentID: d.ID})
	}
	return d, cs, nil
}

// parseIncidentEvent decodes and validates an incident body.
func parseIncidentEvent(body []byte) (fourkeys.Incident, error) {
	var ev incidentEvent
	if err := decodeStrict(body, &ev); err != nil {
		return fourkeys.Incident{}, err
	}
	switch {
	case strings.TrimSpace(ev.ID) == "":
		return fourkeys.Incident{}, errors.New("id: required")
	case ev.StartedAt == nil || ev.StartedAt.IsZero():
		return fourkeys.Incident{}, errors.New("started_at: required (RFC 3339 time)")
	case ev.ResolvedAt != nil && ev.ResolvedAt.Before(*ev.StartedAt):
		return fourkeys.Incident{}, errors.New("resolved_at: before started_at")
	case ev.PostmortemURL != "" && !fourkeys.IsDocumentURL(ev.PostmortemURL):
		return fourkeys.Incident{}, errors.New("postmortem_url: want an absolute http or https URL")
	}
	if err := checkIDs("id", ev.ID, "service", ev.Service, "repo", ev.Repo, "deployment", ev.Deployment); err != nil {
		return fourkeys.Incident{}, err
	}
	in := fourkeys.Incident{ID: ev.ID, Service: ev.Service, Repo: ev.Repo, Title: ev.Title, URL: ev.URL,
		StartedAt: ev.StartedAt.UTC(), DeploymentRef: strings.TrimSpace(ev.Deployment), Labels: ev.Labels,
		PostmortemURL: strings.TrimSpace(ev.PostmortemURL)}
	if ev.ResolvedAt != nil {
		in.ResolvedAt = ev.ResolvedAt.UTC()
	}
	return in, nil
}

// decodeStrict decodes one JSON object, refusing unknown fields and trailing
// data, with errors that name the field.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		var pe *time.ParseError
		switch {
		case errors.As(err, &te):
			return fmt.Errorf("%s: expected %s, got %s", te.Field, te.Type, te.Value)
		case errors.As(err, &se):
			return fmt.Errorf("malformed JSON at byte %d: %v", se.Offset, se)
		case errors.As(err, &pe):
			return fmt.Errorf("time %q: use RFC 3339, e.g. 2026-11-25T10:00:00Z", pe.Value)
		case errors.Is(err, io.EOF):
			return errors.New("empty body: expected a JSON object")
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			// A misspelt field must not be dropped silently: name it.
			return fmt.Errorf("unknown field %s", strings.TrimPrefix(err.Error(), "json: unknown field "))
		}
		return fmt.Errorf("malformed JSON: %v", err)
	}
	if dec.More() {
		return errors.New("malformed JSON: more than one value")
	}
	return nil
}

func (h *EventsHandler) authorized(r *http.Request) bool { return bearerAuthorized(r, h.token) }

// authorizedBody checks the bearer token and reads the body; false: the
// answer is written.
func (h *EventsHandler) authorizedBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	if !h.authorized(r) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="wallboard events"`)
		http.Error(w, "missing or wrong bearer token", http.StatusUnauthorized)
		return nil, false
	}
	return readBody(w, r, maxWebhookBody)
}

func (h *EventsHandler) deployments(w http.ResponseWriter, r *http.Request) {
	body, ok := h.authorizedBody(w, r)
	if !ok {
		return
	}
	d, cs, err := parseDeploymentEvent(body)
	if err != nil {
		http.Error(w, "deployment: "+err.Error(), http.StatusBadRequest)
		return
	}
	if err := h.store.RecordDeploymentEvent(r.Context(), "events", d, cs); err != nil {
		h.log.Error("events webhook: storing deployment", "id", d.ID, "error", err)
		http.Error(w, "could not store the deployment; retry", http.StatusServiceUnavailable)
		return
	}
	writeAccepted(w, http.StatusOK, map[string]any{"stored": "deployment", "id": d.ID, "changes": len(cs)})
}

func (h *EventsHandler) incidents(w http.ResponseWriter, r *http.Request) {
	body, ok := h.authorizedBody(w, r)
	if !ok {
		return
	}
	in, err := parseIncidentEvent(body)
	if err != nil {
		http.Error(w, "incident: "+err.Error(), http.StatusBadRequest)
		return
	}
	if err := h.store.RecordIncidentEvent(r.Context(), "events", in); err != nil {
		h.log.Error("events webhook: storing incident", "id", in.ID, "error", err)
		http.Error(w, "could not store the incident; retry", http.StatusServiceUnavailable)
		return
	}
	writeAccepted(w, http.StatusOK, map[string]any{"stored": "incident", "id": in.ID})
}
