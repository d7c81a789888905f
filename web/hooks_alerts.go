package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/wallboard/wallboard/alerts"
	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller/alertmanager"
	"github.com/wallboard/wallboard/poller/gcm"
)

// alertIDField names, per receiver, the payload field an alert's id comes
// from, so a refusal says what the sender must shorten.
var alertIDField = map[string]string{
	alerts.ReceiverAlertmanager:    "fingerprint",
	alerts.ReceiverCloudMonitoring: "incident.incident_id",
	alerts.ReceiverEvents:          "id",
}

// maxWebhookBody is the largest webhook body accepted (413 above).
const maxWebhookBody = 1 << 20

// AlertDeliveries store alert webhook deliveries durably and show them
// (package alerts, over the store): duplicate reports a delivery that
// changed nothing (see store.Store.RecordAlertDelivery).
type AlertDeliveries interface {
	RecordAlertDelivery(ctx context.Context, receiver, delivery string, keyed bool, list []board.Alert, now time.Time) (duplicate bool, err error)
}

// AlertHooks receives alerts by webhook: from Alertmanager, Cloud
// Monitoring notification channels, and the generic incident endpoint.
// A receiver whose credentials are empty is off and answers 404.
type AlertHooks struct {
	Alerts AlertDeliveries
	Log    *slog.Logger
	now    func() time.Time

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

// alertmanager handles POST /hooks/alertmanager (webhook_config, payload
// version 4), authenticated by `Authorization: Bearer <token>`.
func (h *AlertHooks) alertmanager() http.Handler {
	return h.bearerHook(&h.AlertmanagerToken, alerts.ReceiverAlertmanager, alertmanager.ParseWebhook)
}

// cloudMonitoring handles POST /hooks/cloudmonitoring (notification channel
// type webhook_tokenauth with ?token=, or webhook_basicauth; schema 1.2).
func (h *AlertHooks) cloudMonitoring() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if h.CloudMonitoringAuth.off() {
			http.NotFound(w, r)
			return
		}
		if !h.cloudMonitoringAuthorized(r) {
			unauthorized(w, `Basic realm="wallboard"`)
			return
		}
		h.receive(w, r, alerts.ReceiverCloudMonitoring, func(b []byte) ([]board.Alert, error) {
			// One mapping with the polled incidents: the source package's.
			a, err := gcm.ParseWebhook(b)
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
		ok = secretEqual(tok, c.Token)
	}
	if u, p, has := r.BasicAuth(); !ok && has && c.Username != "" {
		// Both compared, always, so the time taken says nothing about which was wrong.
		uok, pok := secretEqual(u, c.Username), secretEqual(p, c.Password)
		ok = uok && pok
	}
	return ok
}

// events handles POST /api/v1/events/alerts: the generic incident webhook
// for anything else, authenticated by `Authorization: Bearer <token>`.
func (h *AlertHooks) events() http.Handler {
	return h.bearerHook(&h.EventsToken, alerts.ReceiverEvents, parseEventAlerts)
}

// bearerHook receives receiver's deliveries, parsed by parse, from a sender
// authenticated by `Authorization: Bearer <*token>`; it answers 404 while
// *token is "" (the receiver is off). *token is read at each request.
func (h *AlertHooks) bearerHook(token *string, receiver string, parse func([]byte) ([]board.Alert, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if *token == "" {
			http.NotFound(w, r)
			return
		}
		if tok := bearer(r); tok == "" || !secretEqual(tok, *token) {
			unauthorized(w, `Bearer realm="wallboard"`)
			return
		}
		h.receive(w, r, receiver, parse)
	})
}

func unauthorized(w http.ResponseWriter, challenge string) {
	w.Header().Set("WWW-Authenticate", challenge)
	http.Error(w, "unauthorized", http.StatusUnauthorized)
}

// receive reads, parses and stores one delivery, and answers 2xx only once
// it is committed. A delivery seen before under the same Idempotency-Key
// header is acknowledged again without being applied twice. Without that
// header every delivery is applied (the store makes a repeated event a
// no-op), and the same body within ten minutes that changed nothing is
// acknowledged as a duplicate.
func (h *AlertHooks) receive(w http.ResponseWriter, r *http.Request, receiver string, parse func([]byte) ([]board.Alert, error)) {
	body, ok := readBody(w, r, maxWebhookBody)
	if !ok {
		return
	}
	list, err := parse(body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	// One length check for every vendor's alert id (fingerprint, incident
	// id, event id), whichever package mapped it.
	for i, a := range list {
		if err := checkID(fmt.Sprintf("%s: alerts[%d].%s", receiver, i, alertIDField[receiver]), a.ID); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
	}
	now := time.Now()
	if h.now != nil {
		now = h.now()
	}
	delivery := r.Header.Get("Idempotency-Key")
	keyed := delivery != ""
	if !keyed {
		// No delivery id: the same body within ten minutes may be a retry,
		// or the same event happening again (open, close, open of an
		// alert). Such a delivery is applied anyway, since repeating an
		// event changes nothing in the alert store, so a state change is
		// never swallowed; it is only answered as a duplicate when it
		// changed nothing.
		sum := sha256.Sum256(body)
		delivery = "sha256:" + hex.EncodeToString(sum[:]) + "@" + strconv.FormatInt(now.Unix()/600, 10)
	}
	duplicate, err := h.Alerts.RecordAlertDelivery(r.Context(), receiver, delivery, keyed, list, now)
	if err != nil {
		h.Log.Error("webhook not stored", "receiver", receiver, "error", err)
		http.Error(w, "not stored, retry", http.StatusServiceUnavailable)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	fmt.Fprintf(w, "{\"stored\":%d,\"duplicate\":%t}\n", len(list), duplicate)
}

// eventAlert is the JSON of the generic incident webhook
// (POST /api/v1/events/alerts): one object, or an array of them.
type eventAlert struct {
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

// parseEventAlerts decodes the generic incident webhook's body.
func parseEventAlerts(body []byte) ([]board.Alert, error) {
	var list []eventAlert
	if bytes.HasPrefix(bytes.TrimSpace(body), []byte("[")) { // no copy of the body
		if err := decodeStrict(body, &list); err != nil {
			return nil, fmt.Errorf("events webhook: %w", err)
		}
	} else {
		var one eventAlert
		if err := decodeStrict(body, &one); err != nil {
			return nil, fmt.Errorf("events webhook: %w", err)
		}
		list = []eventAlert{one}
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
