package github

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"
)

// Per-call retries of transient failures: a 5xx or a lost connection is
// retried a few times with exponential backoff and jitter, and a 429 or
// secondary limit whose Retry-After is short is waited out; a longer limit
// goes back to the source (poller.RetryError) so the poller waits instead.
const (
	retryAttempts    = 4                      // tries per call
	defaultRetryBase = 500 * time.Millisecond // first backoff; doubles each try
	maxRetryWait     = 10 * time.Second       // longest Retry-After waited out inside a call
)

// retryBase is the first backoff (tests shorten it).
var retryBase = defaultRetryBase

type retryTransport struct {
	next http.RoundTripper
}

func (t retryTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet || req.Body != nil && req.Body != http.NoBody {
		return t.next.RoundTrip(req) // the source only reads; never replay a body
	}
	wait := retryBase
	for attempt := 1; ; attempt++ {
		resp, err := t.next.RoundTrip(req)
		if attempt == retryAttempts || req.Context().Err() != nil {
			return resp, err
		}
		delay, retry := retryDelay(resp, err, wait)
		if !retry {
			return resp, err
		}
		if resp != nil {
			resp.Body.Close()
		}
		if err := sleep(req.Context(), delay); err != nil {
			return nil, err
		}
		wait *= 2
	}
}

// retryDelay says whether an outcome is transient and how long to wait.
func retryDelay(resp *http.Response, err error, backoff time.Duration) (time.Duration, bool) {
	jittered := backoff/2 + time.Duration(rand.Int64N(int64(backoff)+1))
	if err != nil {
		var cert *tls.CertificateVerificationError
		var unknown x509.UnknownAuthorityError
		var host x509.HostnameError
		if errors.As(err, &cert) || errors.As(err, &unknown) || errors.As(err, &host) {
			return 0, false // a wrong certificate stays wrong
		}
		return jittered, true // connection reset, timeout of one attempt…
	}
	switch {
	case resp.StatusCode >= 500:
		return jittered, true
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusForbidden:
		n, perr := strconv.Atoi(resp.Header.Get("Retry-After"))
		if perr != nil || n <= 0 || time.Duration(n)*time.Second > maxRetryWait {
			return 0, false // a primary limit, or too long: the source backs off
		}
		return time.Duration(n) * time.Second, true
	}
	return 0, false
}

func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
