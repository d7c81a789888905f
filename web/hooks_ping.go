package web

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// pingStore stores deliveries of the delivery check, once per id, durably
// when it returns nil (package store).
type pingStore interface {
	RecordPingDelivery(ctx context.Context, receiver, id, note string, now time.Time) (first bool, err error)
}

// pingReceiver is the name of the delivery check receiver in the deliveries table.
const pingReceiver = "ping"

// pingLimits are the ping receiver's limits: small bodies.
var pingLimits = webhookLimits{maxBytes: 4 << 10}

// pingHandler serves POST /api/v1/events/ping, the delivery check endpoint:
// a sender (or an operator with curl) checks that it can reach the board,
// that its secret is right, and that a delivery is stored durably and only
// once. Body: {"id": "delivery id", "note": "optional text"}. It answers 200
// {"id", "stored": true} for a first delivery and "stored": false for a
// redelivery, only after the transaction committed. Wrap it in the guard
// (Ingress.Webhook with EventsHandler.pingAuth), which authenticates it.
func pingHandler(st pingStore, log *slog.Logger) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			ID   string `json:"id"`
			Note string `json:"note"`
		}
		dec := json.NewDecoder(r.Body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&in); err != nil {
			http.Error(w, fmt.Sprintf("ping: body: %v (want {\"id\": \"...\"})", err), http.StatusBadRequest)
			return
		}
		in.ID = strings.TrimSpace(in.ID)
		switch {
		case in.ID == "":
			http.Error(w, "ping: id is required (the delivery id that makes redeliveries count once)", http.StatusBadRequest)
			return
		case len(in.ID) > 200 || !utf8.ValidString(in.ID):
			http.Error(w, "ping: id must be valid UTF-8 of at most 200 bytes", http.StatusBadRequest)
			return
		case len(in.Note) > 1000 || !utf8.ValidString(in.Note):
			http.Error(w, "ping: note must be valid UTF-8 of at most 1000 bytes", http.StatusBadRequest)
			return
		}
		first, err := st.RecordPingDelivery(r.Context(), pingReceiver, in.ID, in.Note, time.Now())
		if err != nil {
			// Not acknowledged: the sender retries with the same id.
			log.Error("ping: storing delivery", "error", err)
			w.Header().Set("Retry-After", "5")
			http.Error(w, "ping: store unavailable, retry later", http.StatusServiceUnavailable)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"id": in.ID, "stored": first})
	})
}
