package web

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"

	"golang.org/x/time/rate"
)

// WebhookLimits bound what one receiver accepts.
type WebhookLimits struct {
	// MaxBytes is the largest body accepted; larger gets 413. Default 1 MiB.
	MaxBytes int64
	// PerSecond is the sustained rate of requests accepted by the receiver
	// (all senders together); beyond it, 429 with Retry-After. Default 10.
	PerSecond float64
	// Burst is how many requests may arrive at once above the rate. Default 60.
	Burst int
	// Logger receives one line per refused request (never the body); nil:
	// slog.Default().
	Logger *slog.Logger
}

// DefaultWebhookLimits suit GitHub, Alertmanager and Cloud Monitoring: their
// payloads are tens of KiB, and a busy organisation sends a few per second.
var DefaultWebhookLimits = WebhookLimits{MaxBytes: 1 << 20, PerSecond: 10, Burst: 60}

// Webhook wraps a receiver with the protections every receiver needs: a
// token-bucket rate limit per receiver (429 with Retry-After), and a body
// size limit (413). The body is read in full before h runs, so h sees a
// complete body and never a half-read one; h must still check its secret
// (SecretEqual) and answer 2xx only after the events are committed.
//
// Each call makes its own bucket: call it once per receiver name.
func Webhook(name string, limits WebhookLimits, h http.Handler) http.Handler {
	if limits.MaxBytes <= 0 {
		limits.MaxBytes = DefaultWebhookLimits.MaxBytes
	}
	if limits.PerSecond <= 0 {
		limits.PerSecond = DefaultWebhookLimits.PerSecond
	}
	if limits.Burst <= 0 {
		limits.Burst = DefaultWebhookLimits.Burst
	}
	log := limits.Logger
	if log == nil {
		log = slog.Default()
	}
	bucket := rate.NewLimiter(rate.Limit(limits.PerSecond), limits.Burst)
	// Refusals are logged at most a few a minute: a flood must not flood the log too.
	logBucket := rate.NewLimiter(rate.Every(10*time.Second), 3)
	warn := func(msg string, args ...any) {
		if logBucket.Allow() {
			log.Warn(msg, append([]any{"receiver", name}, args...)...)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		now := time.Now()
		res := bucket.ReserveN(now, 1)
		if delay := res.DelayFrom(now); delay > 0 {
			// Give the token back: a refused request must not use up the
			// rate for the ones that come after it.
			res.CancelAt(now)
			secs := int(math.Ceil(delay.Seconds()))
			w.Header().Set("Retry-After", strconv.Itoa(max(secs, 1)))
			warn("webhook rate limited", "remote", r.RemoteAddr)
			http.Error(w, fmt.Sprintf("%s: too many requests, retry later", name), http.StatusTooManyRequests)
			return
		}
		if r.ContentLength > limits.MaxBytes {
			warn("webhook body too large", "bytes", r.ContentLength, "limit", limits.MaxBytes)
			http.Error(w, fmt.Sprintf("%s: body larger than %d bytes", name, limits.MaxBytes), http.StatusRequestEntityTooLarge)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limits.MaxBytes))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				warn("webhook body too large", "limit", limits.MaxBytes)
				http.Error(w, fmt.Sprintf("%s: body larger than %d bytes", name, limits.MaxBytes), http.StatusRequestEntityTooLarge)
				return
			}
			http.Error(w, fmt.Sprintf("%s: reading body: %v", name, err), http.StatusBadRequest)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		h.ServeHTTP(w, r)
	})
}

// BearerOrBasic reports whether r carries secret as "Authorization: Bearer
// SECRET", or as the password of HTTP basic auth with the given user (user
// "" skips the basic form). Constant time.
func BearerOrBasic(r *http.Request, secret, user string) bool {
	if AdminAuthorized(r, secret) {
		return true
	}
	if user == "" {
		return false
	}
	u, p, ok := r.BasicAuth()
	// Both compared, always, so timing tells nothing about which was wrong.
	uok, pok := SecretEqual(u, user), SecretEqual(p, secret)
	return ok && uok && pok
}
