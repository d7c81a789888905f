package web

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller/alertmanager"
	"github.com/wallboard/wallboard/poller/gcm"
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
		c := h.CloudMonitoringAuth
		if c.off() {
			http.NotFound(w, r)
			return
		}
		ok := false
		if tok := r.URL.Query().Get("token"); c.Token != "" && tok != "" {
			ok = SecretEqual(tok, c.Token)
		}
		if u, p, has := r.BasicAuth(); !ok && has && c.Username != "" {
			// Both compared, always, so the time taken says nothing about which was wrong.
			uok, pok := SecretEqual(u, c.Username), SecretEqual(p, c.Password)
			ok = uok && pok
		}
		if !ok {
			unauthorized(w, `Basic realm="wallboard"`)
			return
		}
		h.receive(w, r, ReceiverCloudMonitoring, func(b []byte) ([]board.Alert, error) {
			// One mapping with the polled incidents: the source package's.
			a, err := gcm.ParseWebhook(b)
			if err != nil {
				return nil, err
			}
			return []board.Alert{a}, nil
		})
	})
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
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			http.Error(w, fmt.Sprintf("%s: body over %d bytes", receiver, MaxWebhookBody), http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, receiver+": reading body: "+err.Error(), http.StatusBadRequest)
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
		if len(a.Labels) == 0 && a.Fingerprint == "" {
			return nil, fmt.Errorf("alertmanager webhook: alerts[%d]: no labels and no fingerprint", i)
		}
		out = append(out, alertmanager.Convert(a.Labels, a.Annotations, a.Fingerprint, a.StartsAt, a.EndsAt, a.GeneratorURL, firing))
	}
	return out, nil
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
	trimmed := strings.TrimSpace(string(body))
	if strings.HasPrefix(trimmed, "[") {
		if err := json.Unmarshal(body, &list); err != nil {
			return nil, fmt.Errorf("events webhook: %w", err)
		}
	} else {
		var one EventAlert
		if err := json.Unmarshal(body, &one); err != nil {
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
