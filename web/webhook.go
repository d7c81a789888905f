package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"mime"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"weak"

	"github.com/google/go-github/v82/github"
	"golang.org/x/time/rate"

	"github.com/wallboard/wallboard/board"
	ghsrc "github.com/wallboard/wallboard/poller/github"
)

// The guard every webhook receiver (and the admin routes) sits behind. Its
// rules, in order:
//
//  1. Authenticate before reading the body whatever can be: tokens and
//     basic auth in headers or the URL. A request that fails is answered
//     at once, its body never read.
//  2. A body whose authentication needs the body (GitHub's HMAC) is read
//     only within a byte budget of unauthenticated bodies, global and per
//     client address; a request that waits too long for the budget gets
//     503 with Retry-After.
//  3. Every body is read under a deadline (IngressLimits.BodyTimeout):
//     a slow upload is answered 408 and its connection closed.
//  4. Only failed authentications are counted, per client address; an
//     address over its budget gets 429 with Retry-After instead of 401. An
//     authenticated request is never refused for rate, whatever else comes
//     from its address or anywhere else.
//  5. The body is held once: the receiver reads the guard's copy.

// IngressLimits bound what strangers can cost a server before they are
// authenticated; every receiver of a server and its admin routes share them.
// Zero fields take the defaults of defaultIngressLimits.
type IngressLimits struct {
	// failedAuthPerMinute is how many failed webhook authentications a
	// client address may make per minute, after a burst of FailedAuthBurst;
	// beyond, its unauthenticated requests get 429 with Retry-After.
	failedAuthPerMinute float64
	failedAuthBurst     int
	// adminFailedPerMinute and AdminFailedBurst are the same for wrong
	// admin tokens; an address over them gets 429 on admin routes even with
	// the right token, until its budget refills (that is the throttle).
	adminFailedPerMinute float64
	adminFailedBurst     int
	// unauthBodyBytes bounds the bytes of bodies held before their sender
	// is authenticated (GitHub deliveries, whose signature covers the
	// body), all receivers and addresses together; UnauthBodyBytesPerAddr
	// what one client address may hold of it.
	unauthBodyBytes        int64
	unauthBodyBytesPerAddr int64
	// bodyQueueWait is how long such a body may wait for the budget before
	// the request gets 503 with Retry-After.
	bodyQueueWait time.Duration
	// BodyTimeout is how long a webhook request's body may take to arrive,
	// counted from when the guard sees its headers; slower uploads are
	// answered 408 and their connection closed.
	BodyTimeout time.Duration
}

// defaultIngressLimits: a sender that gets its secret wrong a few times
// learns it from the 401s before it is slowed down; a guesser gets one try a
// second (webhooks) or one every ten seconds (admin). The body budget holds
// one GitHub payload of the largest size GitHub sends, and more small ones.
var defaultIngressLimits = IngressLimits{
	failedAuthPerMinute:    60,
	failedAuthBurst:        30,
	adminFailedPerMinute:   6,
	adminFailedBurst:       5,
	unauthBodyBytes:        32 << 20,
	unauthBodyBytesPerAddr: maxGitHubBody,
	bodyQueueWait:          10 * time.Second,
	BodyTimeout:            30 * time.Second,
}

func (l IngressLimits) withDefaults() IngressLimits {
	d := defaultIngressLimits
	l.failedAuthPerMinute = positiveOr(l.failedAuthPerMinute, d.failedAuthPerMinute)
	l.failedAuthBurst = positiveOr(l.failedAuthBurst, d.failedAuthBurst)
	l.adminFailedPerMinute = positiveOr(l.adminFailedPerMinute, d.adminFailedPerMinute)
	l.adminFailedBurst = positiveOr(l.adminFailedBurst, d.adminFailedBurst)
	l.unauthBodyBytes = positiveOr(l.unauthBodyBytes, d.unauthBodyBytes)
	l.unauthBodyBytesPerAddr = positiveOr(l.unauthBodyBytesPerAddr, d.unauthBodyBytesPerAddr)
	l.bodyQueueWait = positiveOr(l.bodyQueueWait, d.bodyQueueWait)
	l.BodyTimeout = positiveOr(l.BodyTimeout, d.BodyTimeout)
	return l
}

// positiveOr is v, or d where v is zero or negative (a limit left unset).
func positiveOr[T ~int | ~int64 | ~float64](v, d T) T {
	if v <= 0 {
		return d
	}
	return v
}

// webhookLimits bound what one receiver accepts.
type webhookLimits struct {
	// maxBytes is the largest body accepted; larger gets 413. Default 1 MiB.
	maxBytes int64
	// logger receives at most a few lines a minute about refused requests
	// (never the body or a credential); nil: the Ingress's logger.
	logger *slog.Logger
}

// maxGitHubBody is GitHub's own cap on webhook payloads (25 MB).
const maxGitHubBody = 25 << 20

// defaultWebhookLimits suit Alertmanager, Cloud Monitoring and the generic
// events: their payloads are tens of KiB.
var defaultWebhookLimits = webhookLimits{maxBytes: maxWebhookBody}

// maxIDBytes is the longest id accepted (delivery ids, deployment, incident
// and alert ids, service names): longer gets 400 naming the field.
const maxIDBytes = 256

// checkID refuses an id longer than MaxIDBytes, naming its field.
func checkID(field, v string) error {
	if len(v) > maxIDBytes {
		return fmt.Errorf("%s: longer than %d bytes", field, maxIDBytes)
	}
	return nil
}

// checkIDs is checkID of each (field, value) pair, in order.
func checkIDs(fieldValues ...string) error {
	for i := 0; i+1 < len(fieldValues); i += 2 {
		if err := checkID(fieldValues[i], fieldValues[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// idHeaders are the request headers that carry delivery ids.
var idHeaders = []string{"X-GitHub-Delivery", "Idempotency-Key"}

// webhookAuth is how the guard authenticates a receiver's requests.
type webhookAuth struct {
	// off: the receiver is not configured; every request gets 404.
	off bool
	// request checks credentials carried in headers or the URL, before a
	// byte of the body is read. With Body set it is only a pre-check that
	// refuses what cannot succeed (no signature header) without reading.
	request func(r *http.Request) bool
	// body checks credentials that need the body (an HMAC of it). The
	// body is then read within the unauthenticated byte budget.
	body func(r *http.Request, body []byte) bool
	// challenge is the WWW-Authenticate header of a 401 ("": none).
	challenge string
}

// ingress is the state the guard keeps for a server: failed authentications
// per client address, and the budget of unauthenticated bodies.
type ingress struct {
	lim    IngressLimits
	fails  *addrLimiter // webhooks
	admin  *addrLimiter // admin token
	bodies *byteBudget
	log    *slog.Logger
	// clientIP is whom limits are kept for (see Server.clientIP).
	clientIP func(r *http.Request) netip.Addr
}

// newIngress makes the guard's state; zero limits take the defaults.
func newIngress(lim IngressLimits, log *slog.Logger) *ingress {
	lim = lim.withDefaults()
	if log == nil {
		log = slog.Default()
	}
	return &ingress{
		lim:    lim,
		fails:  newAddrLimiter(lim.failedAuthPerMinute, lim.failedAuthBurst),
		admin:  newAddrLimiter(lim.adminFailedPerMinute, lim.adminFailedBurst),
		bodies: newByteBudget(lim.unauthBodyBytes, lim.unauthBodyBytesPerAddr),
		log:    log,
		clientIP: func(r *http.Request) netip.Addr {
			ip, _ := remoteIP(r)
			return ip
		},
	}
}

// bodyKey is the request context key of the body the guard read.
type bodyKey struct{}

// guardedBody is the body the guard already read for r, if any: receivers
// use it instead of reading (and copying) the body again.
func guardedBody(r *http.Request) ([]byte, bool) {
	b, ok := r.Context().Value(bodyKey{}).([]byte)
	return b, ok
}

// webhook wraps receiver h in the guard (see the rules above). h sees a
// complete body of at most limits.MaxBytes from an authenticated sender, and
// must answer 2xx only after the events are committed; its 503s get a
// Retry-After when they have none.
func (g *ingress) webhook(name string, limits webhookLimits, auth webhookAuth, h http.Handler) http.Handler {
	if limits.maxBytes <= 0 {
		limits.maxBytes = defaultWebhookLimits.maxBytes
	}
	log := limits.logger
	if log == nil {
		log = g.log
	}
	// Refusals are logged at most a few a minute: a flood must not flood the log too.
	logBucket := rate.NewLimiter(rate.Every(10*time.Second), 3)
	warn := func(msg string, r *http.Request, args ...any) {
		if logBucket.Allow() {
			log.Warn(msg, append([]any{"receiver", name, "remote", r.RemoteAddr}, args...)...)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Not supported by every writer (tests' recorders): then the
		// server's own timeouts are all there is.
		rc := http.NewResponseController(w)
		_ = rc.SetReadDeadline(time.Now().Add(g.lim.BodyTimeout))
		w = retryAfterWriter{w}
		if auth.off {
			http.NotFound(w, r)
			return
		}
		ip := g.clientIP(r)
		if auth.request != nil && !auth.request(r) {
			warn("webhook authentication failed", r)
			g.refuse(w, name, ip, auth.challenge)
			return
		}
		if ct := r.Header.Get("Content-Type"); !isJSON(ct) {
			warn("webhook content type refused", r, "content_type", ct)
			http.Error(w, fmt.Sprintf("%s: Content-Type %q: send application/json", name, ct), http.StatusUnsupportedMediaType)
			return
		}
		for _, hd := range idHeaders {
			if err := checkID(hd, r.Header.Get(hd)); err != nil {
				http.Error(w, name+": "+err.Error(), http.StatusBadRequest)
				return
			}
		}
		if r.ContentLength > limits.maxBytes {
			warn("webhook body too large", r, "bytes", r.ContentLength, "limit", limits.maxBytes)
			w.Header().Set("Connection", "close")
			http.Error(w, fmt.Sprintf("%s: body larger than %d bytes", name, limits.maxBytes), http.StatusRequestEntityTooLarge)
			return
		}
		release := func() {}
		if auth.body != nil {
			n := r.ContentLength
			if n < 0 {
				n = limits.maxBytes
			}
			ctx, cancel := context.WithTimeout(r.Context(), g.lim.bodyQueueWait)
			rel, err := g.bodies.acquire(ctx, ip, n)
			cancel()
			if err != nil {
				warn("webhook body budget exhausted", r, "bytes", n)
				w.Header().Set("Retry-After", "10")
				w.Header().Set("Connection", "close")
				http.Error(w, name+": too many unauthenticated uploads in progress, retry later", http.StatusServiceUnavailable)
				return
			}
			release = rel
			defer rel()
			// The upload's time starts now, not while it waited for room.
			_ = rc.SetReadDeadline(time.Now().Add(g.lim.BodyTimeout))
		}
		body, err := readAtMost(w, r, limits.maxBytes, auth.body != nil)
		if err != nil {
			w.Header().Set("Connection", "close")
			var tooBig *http.MaxBytesError
			var ne net.Error
			switch {
			case errors.As(err, &tooBig):
				warn("webhook body too large", r, "limit", limits.maxBytes)
				http.Error(w, fmt.Sprintf("%s: body larger than %d bytes", name, limits.maxBytes), http.StatusRequestEntityTooLarge)
			case errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
				warn("webhook body too slow", r, "timeout", g.lim.BodyTimeout)
				http.Error(w, fmt.Sprintf("%s: body not received within %s", name, g.lim.BodyTimeout), http.StatusRequestTimeout)
			default:
				http.Error(w, fmt.Sprintf("%s: reading body: %v", name, err), http.StatusBadRequest)
			}
			return
		}
		// The body is in: the handler's work (a commit) is not bounded by
		// the upload deadline, and must not be cancelled by it.
		_ = rc.SetReadDeadline(time.Time{})
		if auth.body != nil {
			ok := auth.body(r, body)
			release()
			if !ok {
				// Never handed out: its memory serves the next upload
				// instead of waiting for the collector.
				recycle(body)
				warn("webhook authentication failed", r)
				g.refuse(w, name, ip, auth.challenge)
				return
			}
		}
		r = r.WithContext(context.WithValue(r.Context(), bodyKey{}, body))
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		h.ServeHTTP(w, r)
	})
}

// readBody is the body the guard (Webhook) read, or reads it within the size
// limit, writing the error response itself; ok=false means the request is
// answered.
func readBody(w http.ResponseWriter, r *http.Request, limit int64) ([]byte, bool) {
	if b, ok := guardedBody(r); ok {
		return b, true
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	if err != nil {
		var mb *http.MaxBytesError
		if errors.As(err, &mb) {
			http.Error(w, fmt.Sprintf("body larger than %d bytes", limit), http.StatusRequestEntityTooLarge)
			return nil, false
		}
		http.Error(w, "reading body: "+err.Error(), http.StatusBadRequest)
		return nil, false
	}
	return body, true
}

// writeAccepted answers a webhook that was stored (200) or ignored (202).
func writeAccepted(w http.ResponseWriter, code int, v any) {
	b, _ := json.Marshal(v) // maps of strings and ints always marshal
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	w.Write(append(b, '\n'))
}

// readAtMost reads the whole body into one buffer: of exactly its length
// when the request gives one (no growing, no second copy), else growing up
// to limit. reuse takes a recycled buffer when one is large enough (only for
// bodies that are not yet authenticated: see recycle).
func readAtMost(w http.ResponseWriter, r *http.Request, limit int64, reuse bool) ([]byte, error) {
	if r.ContentLength >= 0 {
		var buf []byte
		if reuse {
			buf = spareBuffer(r.ContentLength)
		}
		if buf == nil {
			buf = make([]byte, r.ContentLength)
		}
		if _, err := io.ReadFull(r.Body, buf); err != nil {
			recycle(buf)
			return nil, err
		}
		return buf, nil
	}
	return io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
}

// spare is the buffer of the last large body that failed authentication,
// for the next unauthenticated upload: a flood of large unsigned bodies then
// reuses the same memory rather than making garbage faster than it is
// collected. The pointer is weak: the collector may still free the buffer.
var spare struct {
	sync.Mutex
	p weak.Pointer[[]byte]
}

// minRecycled is the smallest buffer worth recycling (bytes).
const minRecycled = 64 << 10

// recycle keeps a buffer that no handler has seen as the spare.
func recycle(b []byte) {
	if cap(b) < minRecycled {
		return
	}
	spare.Lock()
	defer spare.Unlock()
	if old := spare.p.Value(); old == nil || cap(*old) <= cap(b) {
		spare.p = weak.Make(&b)
	}
}

// spareBuffer takes the spare when it holds n bytes; nil when it does not.
func spareBuffer(n int64) []byte {
	if n < minRecycled {
		return nil
	}
	spare.Lock()
	defer spare.Unlock()
	if p := spare.p.Value(); p != nil && int64(cap(*p)) >= n {
		spare.p = weak.Pointer[[]byte]{}
		return (*p)[:n]
	}
	return nil
}

// refuse answers a request that failed authentication: 401, or 429 once
// its address is over its budget of failures.
func (g *ingress) refuse(w http.ResponseWriter, name string, ip netip.Addr, challenge string) {
	if wait := g.fails.fail(ip, time.Now()); wait > 0 {
		tooMany(w, wait, name+": too many failed authentications from your address, retry later")
		return
	}
	if challenge != "" {
		w.Header().Set("WWW-Authenticate", challenge)
	}
	http.Error(w, name+": missing or wrong secret", http.StatusUnauthorized)
}

// tooMany answers 429 with Retry-After in whole seconds (at least 1).
func tooMany(w http.ResponseWriter, wait time.Duration, msg string) {
	w.Header().Set("Retry-After", strconv.Itoa(max(int(math.Ceil(wait.Seconds())), 1)))
	http.Error(w, msg, http.StatusTooManyRequests)
}

// isJSON accepts application/json with any parameters (charset), and a
// missing Content-Type (some senders give none).
func isJSON(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}

// retryAfterWriter gives every 503 a Retry-After (5 s) when the handler set
// none: senders are promised one.
type retryAfterWriter struct{ http.ResponseWriter }

func (w retryAfterWriter) WriteHeader(code int) {
	if code == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", "5")
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w retryAfterWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// addrLimiter keeps a token bucket of failures per client address (IPv6 per
// /64, what one host usually has). Its memory is bounded: buckets that
// refilled are dropped when there are many, and all of them beyond maxAddrs.
type addrLimiter struct {
	mu    sync.Mutex
	every rate.Limit
	burst int
	m     map[netip.Prefix]*rate.Limiter
	swept time.Time // last sweep: at most one a second, so a flood from many addresses costs little
}

const maxAddrs = 65536

func newAddrLimiter(perMinute float64, burst int) *addrLimiter {
	return &addrLimiter{every: rate.Limit(perMinute / 60), burst: burst, m: map[netip.Prefix]*rate.Limiter{}}
}

func addrKey(ip netip.Addr) netip.Prefix {
	if ip.Is4() || !ip.IsValid() {
		p, _ := ip.Prefix(32)
		return p
	}
	p, _ := ip.Prefix(64)
	return p
}

func (l *addrLimiter) get(ip netip.Addr, now time.Time) *rate.Limiter {
	k := addrKey(ip)
	lim, ok := l.m[k]
	if ok {
		return lim
	}
	if len(l.m) >= maxAddrs/16 && now.Sub(l.swept) >= time.Second {
		l.swept = now
		for k, b := range l.m {
			if b.TokensAt(now) >= float64(l.burst) {
				delete(l.m, k)
			}
		}
	}
	if len(l.m) >= maxAddrs {
		clear(l.m) // from this many addresses, per-address limits say little
	}
	lim = rate.NewLimiter(l.every, l.burst)
	l.m[k] = lim
	return lim
}

// blocked is how long until ip may fail again (0: now).
func (l *addrLimiter) blocked(ip netip.Addr, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.get(ip, now).TokensAt(now)
	if t >= 1 {
		return 0
	}
	return time.Duration((1 - t) / float64(l.every) * float64(time.Second))
}

// fail counts a failure of ip; when ip is over its budget it counts
// nothing and returns how long until it may fail again.
func (l *addrLimiter) fail(ip netip.Addr, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	res := l.get(ip, now).ReserveN(now, 1)
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d
	}
	return 0
}

// byteBudget is a semaphore of bytes, with a cap per client address.
type byteBudget struct {
	mu             sync.Mutex
	total, perAddr int64
	held           int64
	byAddr         map[netip.Prefix]int64
	changed        chan struct{} // closed (and replaced) whenever bytes are released
}

func newByteBudget(total, perAddr int64) *byteBudget {
	return &byteBudget{total: total, perAddr: min(perAddr, total), byAddr: map[netip.Prefix]int64{}, changed: make(chan struct{})}
}

// acquire waits until n bytes (at most one address's share) can be held
// for ip, or ctx ends. release gives them back; calling it again does nothing.
func (b *byteBudget) acquire(ctx context.Context, ip netip.Addr, n int64) (release func(), err error) {
	n = min(n, b.perAddr)
	k := addrKey(ip)
	for {
		b.mu.Lock()
		if b.held+n <= b.total && b.byAddr[k]+n <= b.perAddr {
			b.held += n
			b.byAddr[k] += n
			b.mu.Unlock()
			return sync.OnceFunc(func() { b.release(k, n) }), nil
		}
		ch := b.changed
		b.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("waiting for %d bytes of the unauthenticated body budget: %w", n, ctx.Err())
		}
	}
}

func (b *byteBudget) release(k netip.Prefix, n int64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.held -= n
	if b.byAddr[k] -= n; b.byAddr[k] <= 0 {
		delete(b.byAddr, k)
	}
	close(b.changed)
	b.changed = make(chan struct{})
}

// clientIP is whom per-address limits are kept for: the peer, or, when the
// peer is one of access.trusted_proxies, the last address of
// X-Forwarded-For that is not one of them (what the proxy saw).
func (s *Server) clientIP(r *http.Request) netip.Addr {
	ip, ok := remoteIP(r)
	if !ok || s.opts.Access == nil {
		return ip
	}
	trusted := s.opts.Access.pol.Load().trusted
	isTrusted := func(a netip.Addr) bool {
		return slices.ContainsFunc(trusted, func(p netip.Prefix) bool { return p.Contains(a) })
	}
	if !isTrusted(ip) {
		return ip
	}
	hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
	for i := len(hops) - 1; i >= 0; i-- {
		a, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return ip
		}
		if a = a.Unmap(); !isTrusted(a) {
			return a
		}
	}
	return ip
}

// adminBudget answers 429 when the client's address is over its budget of
// wrong admin tokens (false); else it gives the address and time to charge a
// wrong token to.
func (s *Server) adminBudget(w http.ResponseWriter, r *http.Request) (netip.Addr, time.Time, bool) {
	ip, now := s.ingress.clientIP(r), time.Now()
	if wait := s.ingress.admin.blocked(ip, now); wait > 0 {
		tooMany(w, wait, "too many wrong admin tokens from your address, retry later")
		return ip, now, false
	}
	return ip, now, true
}

// throttleMetricsToken counts a wrong bearer token on /metrics (which also
// takes the admin token, for Prometheus) as a wrong admin token, so /metrics
// is no way around the admin throttle. Requests without a bearer token pass
// untouched (viewer access decides).
func (s *Server) throttleMetricsToken(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		admin := s.opts.Access.pol.Load().admin
		scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " ")
		if r.URL.Path != "/metrics" || admin == "" || !strings.EqualFold(scheme, "Bearer") {
			next.ServeHTTP(w, r)
			return
		}
		ip, now, ok := s.adminBudget(w, r)
		if !ok {
			return
		}
		if !adminAuthorized(r, admin) {
			s.ingress.admin.fail(ip, now)
		}
		next.ServeHTTP(w, r)
	})
}

// GitHubReceiver maps and stores a GitHub delivery whose signature the
// guard verified, with the repositories' settings of cfg (package github's
// Receiver). Its errors: github.ErrNoDeliveryID and github.ErrBadPayload
// (the sender's), else the store's.
type GitHubReceiver interface {
	Receive(ctx context.Context, cfg *board.Config, d ghsrc.Delivery) (ghsrc.Receipt, error)
}

// GitHubHandler is POST /hooks/github: deliveries verified with
// X-Hub-Signature-256 (Auth), handed to a GitHubReceiver.
type GitHubHandler struct {
	secret []byte
	recv   GitHubReceiver
	log    *slog.Logger
}

// NewGitHubHandler builds the handler; secret must not be empty (without
// one the endpoint is off: no route).
func NewGitHubHandler(secret string, recv GitHubReceiver, log *slog.Logger) *GitHubHandler {
	return &GitHubHandler{secret: []byte(secret), recv: recv, log: log}
}

// receive answers deliveries behind the guard, each mapped with the config
// that config() gives when it arrives (the one the server shows), so that
// the repositories' settings follow config reloads.
func (h *GitHubHandler) receive(config func() *board.Config) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, ok := readBody(w, r, maxGitHubBody)
		if !ok {
			return
		}
		event, delivery := github.WebHookType(r), github.DeliveryID(r)
		rc, err := h.recv.Receive(r.Context(), config(), ghsrc.Delivery{Event: event, ID: delivery, Body: body})
		switch {
		case errors.Is(err, ghsrc.ErrNoDeliveryID):
			http.Error(w, err.Error(), http.StatusBadRequest)
		case errors.Is(err, ghsrc.ErrBadPayload):
			http.Error(w, event+" payload: "+err.Error(), http.StatusBadRequest)
		case err != nil:
			h.log.Error("github webhook: storing", "event", event, "delivery", delivery, "error", err)
			http.Error(w, "could not store the event; GitHub may redeliver it", http.StatusServiceUnavailable)
		case rc.Outcome == ghsrc.Pong:
			writeAccepted(w, http.StatusOK, map[string]any{"ok": "pong"})
		case rc.Outcome == ghsrc.Ignored:
			writeAccepted(w, http.StatusAccepted, map[string]any{"ignored": event})
		case rc.Outcome == ghsrc.Duplicate:
			writeAccepted(w, http.StatusOK, map[string]any{"duplicate": delivery})
		default:
			writeAccepted(w, http.StatusOK, map[string]any{"event": event, "stored": rc.Events})
		}
	})
}

// The receivers' credentials, as the guard checks them.

// auth authenticates GitHub deliveries: a well-formed X-Hub-Signature-256
// (sha256 only: the legacy sha1 header is refused) before the body is read,
// its HMAC of the body after. This is the one check of the signature.
func (h *GitHubHandler) auth() webhookAuth {
	return webhookAuth{
		request: func(r *http.Request) bool {
			sig := r.Header.Get("X-Hub-Signature-256")
			return len(sig) == len("sha256=")+64 && strings.HasPrefix(sig, "sha256=")
		},
		body: func(r *http.Request, body []byte) bool {
			// ValidateSignature compares with hmac.Equal (constant time).
			return github.ValidateSignature(r.Header.Get("X-Hub-Signature-256"), body, h.secret) == nil
		},
	}
}

// auth authenticates the generic events: the bearer token.
func (h *EventsHandler) auth() webhookAuth {
	return webhookAuth{request: h.authorized, challenge: `Bearer realm="wallboard events"`}
}

// pingAuth authenticates the delivery check: the events' bearer token.
func (h *EventsHandler) pingAuth() webhookAuth {
	return webhookAuth{request: h.authorized, challenge: `Bearer realm="wallboard"`}
}

// authAlertmanager authenticates Alertmanager: the bearer token (off without one).
func (h *AlertHooks) authAlertmanager() webhookAuth {
	return webhookAuth{off: h.AlertmanagerToken == "", challenge: `Bearer realm="wallboard"`,
		request: func(r *http.Request) bool { return secretEqual(bearer(r), h.AlertmanagerToken) }}
}

// authCloudMonitoring authenticates Cloud Monitoring: ?token= or basic auth.
func (h *AlertHooks) authCloudMonitoring() webhookAuth {
	return webhookAuth{off: h.CloudMonitoringAuth.off(), challenge: `Basic realm="wallboard"`, request: h.cloudMonitoringAuthorized}
}

// authEvents authenticates the generic alert events: the bearer token.
func (h *AlertHooks) authEvents() webhookAuth {
	return webhookAuth{off: h.EventsToken == "", challenge: `Bearer realm="wallboard"`,
		request: func(r *http.Request) bool { return secretEqual(bearer(r), h.EventsToken) }}
}
