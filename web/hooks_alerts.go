package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller/alertmanager"
	"github.com/wallboard/wallboard/store"
)

// Alert webhook receiver ids: the Source of the alerts they store, and the
// receiver names of their deliveries.
const (
	ReceiverAlertmanager    = "alertmanager-webhook"
	ReceiverCloudMonitoring = "cloudmonitoring"
	ReceiverEvents          = "events"
)

// AlertReceivers lists the alert webhook receivers.
var AlertReceivers = []string{ReceiverAlertmanager, ReceiverCloudMonitoring, ReceiverEvents}

// MaxWebhookBody is the largest webhook body accepted (413 above).
const MaxWebhookBody = 1 << 20

// TxRunner runs fn in a transaction that is durable when it returns nil.
type TxRunner interface {
	InTx(ctx context.Context, fn func(tx *sql.Tx) error) error
}

// AlertHooks receives alerts by webhook: from Alertmanager, Cloud
// Monitoring notification channels, and the generic incident endpoint.
// A receiver whose credentials are empty is off and answers 404.
type AlertHooks struct {
	Store TxRunner
	Log   *slog.Logger
	// Stored is called after a new delivery is committed, with the
	// receiver id, so the board can show it at once.
	Stored func(receiver string)
	Now    func() time.Time

	AlertmanagerToken   string // bearer token
	CloudMonitoringAuth Credentials
	EventsToken         string // bearer token
}

// Credentials are a receiver's accepted credentials: a token (in the URL
// query ?token= for Cloud Monitoring) and/or HTTP basic auth.
type Credentials struct {
	Token    string
	Username string
	Password string
}

func (c Credentials) off() bool { return c.Token == "" && c.Username == "" }

func bearer(r *http.Request) string {
	h := r.Header.Get("Authorization")
	if len(h) > 7 && strings.EqualFold(h[:7], "bearer ") {
		return strings.TrimSpace(h[7:])
	}
	return ""
}

// Alertmanager handles POST /hooks/alertmanager (webhook_config, payload
// version 4), authenticated by `Authorization: Bearer <token>`.
func (h *AlertHooks) Alertmanager() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.AlertmanagerToken == "" {
			http.NotFound(w, r)
			return
		}
		if tok := bearer(r); tok == "" || !SecretEqual(tok, h.AlertmanagerToken) {
			unauthorized(w, `Bearer realm="wallboard"`)
			return
		}
		h.receive(w, r, ReceiverAlertmanager, ParseAlertmanagerWebhook)
	})
}

// CloudMonitoring handles POST /hooks/cloudmonitoring (notification channel
// type webhook_tokenauth with ?token=, or webhook_basicauth; schema 1.2).
func (h *AlertHooks) CloudMonitoring() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.CloudMonitoringAuth.off() {
			http.NotFound(w, r)
			return
		}
		if !h.cloudMonitoringAuthorized(r) {
			unauthorized(w, `Basic realm="wallboard"`)
			return
		}
		h.receive(w, r, ReceiverCloudMonitoring, func(b []byte) ([]board.Alert, error) {
			a, err := ParseCloudMonitoring(b)
			if err != nil {
				return nil, err
			}
			return []board.Alert{a}, nil
		})
	})
}

// cloudMonitoringAuthorized reports whether r carries the ?token= or the
// basic auth of the Cloud Monitoring receiver.
func (h *AlertHooks) cloudMonitoringAuthorized(r *http.Request) bool {
	c := h.CloudMonitoringAuth
	ok := false
	if tok := r.URL.Query().Get("token"); c.Token != "" && tok != "" {
		ok = SecretEqual(tok, c.Token)
	}
	if u, p, has := r.BasicAuth(); !ok && has && c.Username != "" {
		// Both compared, always, so the time taken says nothing about which was wrong.
		uok, pok := SecretEqual(u, c.Username), SecretEqual(p, c.Password)
		ok = uok && pok
	}
	return ok
}

// Events handles POST /api/v1/events/alerts: the generic incident webhook
// for anything else, authenticated by `Authorization: Bearer <token>`.
func (h *AlertHooks) Events() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.EventsToken == "" {
			http.NotFound(w, r)
			return
		}
		if tok := bearer(r); tok == "" || !SecretEqual(tok, h.EventsToken) {
			unauthorized(w, `Bearer realm="wallboard"`)
			return
		}
		h.receive(w, r, ReceiverEvents, ParseEventAlerts)
	})
}

func unauthorized(w http.ResponseWriter, challenge string) {
	w.Header().Set("WWW-Authenticate", challenge)
	http.Error(w, "unauthorized", http.StatusUnauthorized)
}

// receive reads, parses and stores one delivery, and answers 2xx only once
// it is committed. A delivery seen before (same Idempotency-Key header, or
// the same body when the sender gives no id) is acknowledged again without
// being applied twice.
func (h *AlertHooks) receive(w http.ResponseWriter, r *http.Request, receiver string, parse func([]byte) ([]board.Alert, error)) {
	body, ok := readBody(w, r, MaxWebhookBody)
	if !ok {
		return
	}
	alerts, err := parse(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	now := time.Now()
	if h.Now != nil {
		now = h.Now()
	}
	delivery := r.Header.Get("Idempotency-Key")
	if delivery == "" {
		// No delivery id: the same body within ten minutes is a retry. Not
		// for ever: the same close body must close the next occurrence of
		// the alert too. (Applying an event twice is harmless to the alert
		// store; the window only spares the work.)
		sum := sha256.Sum256(body)
		delivery = "sha256:" + hex.EncodeToString(sum[:]) + "@" + strconv.FormatInt(now.Unix()/600, 10)
	}
	first := false
	err = h.Store.InTx(r.Context(), func(tx *sql.Tx) error {
		var err error
		first, err = store.FirstDelivery(r.Context(), tx, receiver, delivery, now)
		if err != nil || !first {
			return err
		}
		for _, a := range alerts {
			a.Source = receiver
			if _, err := store.RecordAlert(r.Context(), tx, a, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		h.Log.Error("webhook not stored", "receiver", receiver, "error", err)
		http.Error(w, "not stored, retry", http.StatusServiceUnavailable)
		return
	}
	if first && h.Stored != nil {
		h.Stored(receiver)
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, "{\"stored\":%d,\"duplicate\":%t}\n", len(alerts), !first)
}

// amWebhook is Alertmanager's webhook payload, version 4.
type amWebhook struct {
	Version string `json:"version"`
	Status  string `json:"status"`
	Alerts  []struct {
		Status       string            `json:"status"` // firing or resolved
		Labels       map[string]string `json:"labels"`
		Annotations  map[string]string `json:"annotations"`
		StartsAt     time.Time         `json:"startsAt"`
		EndsAt       time.Time         `json:"endsAt"`
		GeneratorURL string            `json:"generatorURL"`
		Fingerprint  string            `json:"fingerprint"`
	} `json:"alerts"`
}

// ParseAlertmanagerWebhook decodes an Alertmanager webhook payload
// (version 4) into alerts: firing ones open, resolved ones closed.
func ParseAlertmanagerWebhook(body []byte) ([]board.Alert, error) {
	var p amWebhook
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("alertmanager webhook: %w", err)
	}
	if p.Version != "" && p.Version != "4" {
		return nil, fmt.Errorf("alertmanager webhook: version %q: only version 4 is understood", p.Version)
	}
	out := make([]board.Alert, 0, len(p.Alerts))
	for i, a := range p.Alerts {
		var firing bool
		switch a.Status {
		case "firing":
			firing = true
		case "resolved":
		default:
			return nil, fmt.Errorf("alertmanager webhook: alerts[%d].status %q: want firing or resolved", i, a.Status)
		}
		if err := checkID(fmt.Sprintf("alerts[%d].fingerprint", i), a.Fingerprint); err != nil {
			return nil, fmt.Errorf("alertmanager webhook: %w", err)
		}
		if len(a.Labels) == 0 && a.Fingerprint == "" {
			return nil, fmt.Errorf("alertmanager webhook: alerts[%d]: no labels and no fingerprint", i)
		}
		out = append(out, alertmanager.Convert(a.Labels, a.Annotations, a.Fingerprint, a.StartsAt, a.EndsAt, a.GeneratorURL, firing))
	}
	return out, nil
}

// cmPayload is a Cloud Monitoring webhook notification, schema version 1.2.
type cmPayload struct {
	Version  string      `json:"version"`
	Incident *cmIncident `json:"incident"`
}

type cmIncident struct {
	IncidentID          string      `json:"incident_id"`
	ScopingProjectID    string      `json:"scoping_project_id"`
	URL                 string      `json:"url"`
	State               string      `json:"state"`      // open, closed
	StartedAt           json.Number `json:"started_at"` // unix seconds
	EndedAt             json.Number `json:"ended_at"`   // unix seconds; null while open
	Summary             string      `json:"summary"`
	PolicyName          string      `json:"policy_name"`
	ConditionName       string      `json:"condition_name"`
	Severity            string      `json:"severity"`
	ResourceDisplayName string      `json:"resource_display_name"`
	ResourceName        string      `json:"resource_name"`
	Resource            struct {
		Type   string            `json:"type"`
		Labels map[string]string `json:"labels"`
	} `json:"resource"`
	Documentation *struct {
		Content  string `json:"content"`
		MimeType string `json:"mime_type"`
		Subject  string `json:"subject"`
		Links    []struct {
			DisplayName string `json:"display_name"`
			URL         string `json:"url"`
		} `json:"links"`
	} `json:"documentation"`
}

var urlPattern = regexp.MustCompile(`https?://[^\s)\]>"']+`)

// ParseCloudMonitoring decodes a Cloud Monitoring notification (schema 1.2;
// 1.1 has the same incident fields) into one alert: the policy name is the
// title, the policy documentation the next action, a documentation link (one
// named like a runbook first, else the first URL in the documentation) the
// runbook, and the incident URL the console link.
func ParseCloudMonitoring(body []byte) (board.Alert, error) {
	var p cmPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return board.Alert{}, fmt.Errorf("cloudmonitoring webhook: %w", err)
	}
	in := p.Incident
	if in == nil {
		return board.Alert{}, errors.New("cloudmonitoring webhook: no incident object")
	}
	if in.IncidentID == "" {
		return board.Alert{}, errors.New("cloudmonitoring webhook: incident.incident_id is empty")
	}
	if err := checkID("incident.incident_id", in.IncidentID); err != nil {
		return board.Alert{}, fmt.Errorf("cloudmonitoring webhook: %w", err)
	}
	a := board.Alert{
		ID:         in.IncidentID,
		Title:      in.PolicyName,
		Severity:   cmSeverity(in.Severity),
		Summary:    in.Summary,
		ConsoleURL: in.URL,
		Policy:     in.PolicyName,
		Resource:   cmResource(in),
	}
	if a.Title == "" {
		a.Title = in.ConditionName
	}
	if a.Title == "" {
		a.Title = in.Summary
	}
	switch strings.ToLower(in.State) {
	case "open":
		a.State = board.AlertOpen
	case "closed":
		a.State = board.AlertClosed
	default:
		return board.Alert{}, fmt.Errorf("cloudmonitoring webhook: incident.state %q: want open or closed", in.State)
	}
	var err error
	if a.StartedAt, err = unixSeconds(in.StartedAt); err != nil {
		return board.Alert{}, fmt.Errorf("cloudmonitoring webhook: incident.started_at: %w", err)
	}
	if a.EndedAt, err = unixSeconds(in.EndedAt); err != nil {
		return board.Alert{}, fmt.Errorf("cloudmonitoring webhook: incident.ended_at: %w", err)
	}
	if a.State == board.AlertOpen {
		a.EndedAt = time.Time{}
	}
	if d := in.Documentation; d != nil {
		a.NextAction = strings.TrimSpace(d.Content)
		for _, l := range d.Links {
			n := strings.ToLower(l.DisplayName)
			if strings.Contains(n, "runbook") || strings.Contains(n, "playbook") {
				a.RunbookURL = l.URL
				break
			}
		}
		if a.RunbookURL == "" && len(d.Links) > 0 {
			a.RunbookURL = d.Links[0].URL
		}
		if a.RunbookURL == "" {
			a.RunbookURL = urlPattern.FindString(d.Content)
		}
	}
	return a, nil
}

func unixSeconds(n json.Number) (time.Time, error) {
	if n == "" {
		return time.Time{}, nil
	}
	f, err := n.Float64()
	if err != nil || f < 0 || f > 1e11 {
		return time.Time{}, fmt.Errorf("%q is not unix seconds", string(n))
	}
	if f == 0 {
		return time.Time{}, nil
	}
	return time.UnixMilli(int64(f * 1000)).UTC(), nil
}

// cmSeverity maps Cloud Monitoring's policy severity (CRITICAL, ERROR,
// WARNING, or "No severity") to the board's; none given counts as error.
func cmSeverity(s string) board.Severity {
	if strings.TrimSpace(s) == "" || strings.EqualFold(s, "no severity") {
		return board.SeverityError
	}
	return alertmanager.Severity(s)
}

func cmResource(in *cmIncident) string {
	if in.ResourceDisplayName != "" {
		return in.ResourceDisplayName
	}
	keys := make([]string, 0, len(in.Resource.Labels))
	for k := range in.Resource.Labels {
		if k != "project_id" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := []string{}
	if in.Resource.Type != "" {
		parts = append(parts, in.Resource.Type)
	}
	for _, k := range keys {
		if v := in.Resource.Labels[k]; v != "" {
			parts = append(parts, v)
		}
	}
	return strings.Join(parts, " ")
}

// EventAlert is the JSON of the generic incident webhook
// (POST /api/v1/events/alerts): one object, or an array of them.
type EventAlert struct {
	ID         string    `json:"id"`
	State      string    `json:"state"` // open (default) or closed
	Title      string    `json:"title"`
	Severity   string    `json:"severity"` // critical, error, warning (default), info
	StartedAt  time.Time `json:"started_at"`
	EndedAt    time.Time `json:"ended_at"`
	Resource   string    `json:"resource"`
	Summary    string    `json:"summary"`
	NextAction string    `json:"next_action"`
	RunbookURL string    `json:"runbook_url"`
	ConsoleURL string    `json:"console_url"`
	Policy     string    `json:"policy"`
}

// ParseEventAlerts decodes the generic incident webhook's body.
func ParseEventAlerts(body []byte) ([]board.Alert, error) {
	var list []EventAlert
	if bytes.HasPrefix(bytes.TrimSpace(body), []byte("[")) { // no copy of the body
		if err := decodeStrict(body, &list); err != nil {
			return nil, fmt.Errorf("events webhook: %w", err)
		}
	} else {
		var one EventAlert
		if err := decodeStrict(body, &one); err != nil {
			return nil, fmt.Errorf("events webhook: %w", err)
		}
		list = []EventAlert{one}
	}
	if len(list) == 0 {
		return nil, errors.New("events webhook: no alerts")
	}
	out := make([]board.Alert, 0, len(list))
	for i, e := range list {
		if e.ID == "" {
			return nil, fmt.Errorf("events webhook: alert %d: id is required", i)
		}
		if err := checkID("id", e.ID); err != nil {
			return nil, fmt.Errorf("events webhook: alert %d: %w", i, err)
		}
		if e.Title == "" && e.State != "closed" {
			return nil, fmt.Errorf("events webhook: alert %q: title is required", e.ID)
		}
		a := board.Alert{ID: e.ID, Title: e.Title, Severity: alertmanager.Severity(e.Severity),
			StartedAt: e.StartedAt.UTC(), EndedAt: e.EndedAt.UTC(), Resource: e.Resource, Summary: e.Summary,
			NextAction: e.NextAction, RunbookURL: e.RunbookURL, ConsoleURL: e.ConsoleURL, Policy: e.Policy}
		if e.StartedAt.IsZero() {
			a.StartedAt = time.Time{}
		}
		if e.EndedAt.IsZero() {
			a.EndedAt = time.Time{}
		}
		switch e.State {
		case "", "open":
			a.State, a.EndedAt = board.AlertOpen, time.Time{}
		case "closed":
			a.State = board.AlertClosed
			if e.Severity == "" {
				a.Severity = "" // a bare close does not downgrade the stored severity
			}
		default:
			return nil, fmt.Errorf("events webhook: alert %q: state %q: want open or closed", e.ID, e.State)
		}
		out = append(out, a)
	}
	return out, nil
}
