package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/wallboard/wallboard/board"
)

// screenCookieName holds a screen link's token in the browser of a screen.
const screenCookieName = "wallboard_screen"

// screenCookieMaxAge is as far as browsers allow (Chrome caps Max-Age at 400
// days); the cookie is set again on every page load, so a TV that reloads
// its page at least once a year never signs out. Seconds.
const screenCookieMaxAge = 400 * 24 * 60 * 60

// Identity headers of authenticating proxies (see identityHeader).
const (
	headerIAPEmail    = "X-Goog-Authenticated-User-Email"
	headerIAPJWT      = "X-Goog-IAP-JWT-Assertion"
	headerForwardMail = "X-Forwarded-Email"
	iapIssuer         = "https://cloud.google.com/iap"
)

// Access decides who may view boards: the access: section of the config.
// It is safe for concurrent use; Update swaps the policy (config reload), so
// removing a screen from the config revokes its link at once.
type Access struct {
	pol    atomic.Pointer[accessPolicy]
	log    *slog.Logger
	client *http.Client // fetches a JWKS URL

	hookMu   sync.Mutex
	onUpdate []func() // run after every Update (see subscribe)

	// paired looks up a TV paired at /pair by its credential (setPaired).
	paired atomic.Pointer[func(token string) (name string, ok bool)]
}

// setPaired lets screens paired at /pair in, in screens mode, by the
// credential in their tvCookieName.
func (a *Access) setPaired(f func(token string) (string, bool)) { a.paired.Store(&f) }

type accessPolicy struct {
	mode    string
	screens map[[sha256.Size]byte]string // token hash -> screen name
	trusted []netip.Prefix
	headers []string
	allow   []string
	iap     *board.IAPConfig
	keys    *keySet
	admin   string // admin token: also lets Prometheus scrape /metrics
}

// NewAccess builds the access rules of cfg. adminToken ("" for none) is the
// resolved admin token.
func NewAccess(cfg board.AccessConfig, adminToken string, log *slog.Logger) (*Access, error) {
	if log == nil {
		log = slog.Default()
	}
	a := &Access{log: log, client: &http.Client{Timeout: 10 * time.Second}}
	if err := a.Update(cfg, adminToken); err != nil {
		return nil, err
	}
	return a, nil
}

// Update replaces the rules (after a config reload).
func (a *Access) Update(cfg board.AccessConfig, adminToken string) error {
	p := &accessPolicy{mode: cfg.Mode, screens: map[[sha256.Size]byte]string{}, admin: adminToken}
	if p.mode == "" {
		p.mode = board.AccessOpen
	}
	for _, s := range cfg.Screens {
		b, err := hex.DecodeString(strings.ToLower(s.TokenSHA256))
		if err != nil || len(b) != sha256.Size {
			return fmt.Errorf("access: screen %q: token_sha256 is not a SHA-256 in hex", s.Name)
		}
		p.screens[[sha256.Size]byte(b)] = s.Name
	}
	var err error
	if p.trusted, err = board.ParsePrefixes(cfg.TrustedProxies); err != nil {
		return fmt.Errorf("access: trusted_proxies: %w", err)
	}
	// The identity header: the configured one only; with IAP verified,
	// IAP's own; otherwise either default, but never both at once (see
	// identityHeader).
	p.headers = []string{headerIAPEmail, headerForwardMail}
	if pc := cfg.Proxy; pc != nil {
		switch {
		case pc.Header != "":
			p.headers = []string{pc.Header}
		case pc.IAP != nil:
			p.headers = []string{headerIAPEmail}
		}
		for _, e := range pc.Allow {
			p.allow = append(p.allow, strings.ToLower(e))
		}
		if pc.IAP != nil {
			p.iap = pc.IAP
			p.keys = &keySet{file: pc.IAP.JWKSFile, url: pc.IAP.JWKSURL, client: a.client}
			if pc.IAP.JWKSFile != "" {
				// A file is read now so a bad one stops the start, not a viewer.
				if _, err := p.keys.get(context.Background(), ""); err != nil {
					return fmt.Errorf("access: iap: %w", err)
				}
			}
		}
	}
	if old := a.pol.Load(); old != nil && old.keys != nil && p.keys != nil && p.keys.url != "" && old.keys.url == p.keys.url {
		// The same JWKS URL: keep the keys fetched, so a reload does not
		// fetch them again to check the open websockets.
		p.keys = old.keys
	}
	a.pol.Store(p)
	a.hookMu.Lock()
	hooks := slices.Clone(a.onUpdate)
	a.hookMu.Unlock()
	for _, f := range hooks {
		f()
	}
	return nil
}

// subscribe runs f after every Update, once the new rules are in force: the
// server closes the websockets the new rules no longer let in.
func (a *Access) subscribe(f func()) {
	a.hookMu.Lock()
	defer a.hookMu.Unlock()
	a.onUpdate = append(a.onUpdate, f)
}

// grant is what a websocket viewer was let in with: its address and the
// credentials of its upgrade request (the screen cookie, or the proxy's
// identity headers), kept so the connection can be judged again when the
// rules change. Nil in open mode (there was nothing to check). About 100
// bytes plus the credentials.
type grant struct {
	remote string
	hdr    []string // header name, value, name, value …
	at     time.Time
}

// grant records what r, a request that passed the viewer check, was let in
// with.
func (a *Access) grant(r *http.Request) *grant {
	p := a.pol.Load()
	g := &grant{remote: r.RemoteAddr, at: time.Now()}
	switch p.mode {
	case board.AccessScreens:
		for _, name := range []string{screenCookieName, tvCookieName} {
			if c, err := r.Cookie(name); err == nil {
				g.hdr = append(g.hdr, "Cookie", name+"="+c.Value)
			}
		}
	case board.AccessProxy:
		names := []string{headerIAPEmail, headerForwardMail, headerIAPJWT}
		for _, n := range p.headers {
			if !slices.Contains(names, http.CanonicalHeaderKey(n)) {
				names = append(names, http.CanonicalHeaderKey(n))
			}
		}
		for _, n := range names {
			for _, v := range r.Header.Values(n) {
				g.hdr = append(g.hdr, n, v)
			}
		}
	default:
		return nil
	}
	return g
}

// allows reports whether the rules in force still let in a viewer that was
// let in with g. A signed IAP assertion is judged as of the time of the
// grant: it expires within minutes while the connection may live for days.
func (a *Access) allows(g *grant) bool {
	p := a.pol.Load()
	if p.mode == board.AccessOpen {
		return true
	}
	if g == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	r := (&http.Request{RemoteAddr: g.remote, Header: http.Header{}}).WithContext(ctx)
	for i := 0; i+1 < len(g.hdr); i += 2 {
		r.Header.Add(g.hdr[i], g.hdr[i+1])
	}
	_, err := a.viewerAt(r, p, g.at)
	return err == nil
}

// adminToken is the admin token of the config in force ("" for none).
func (a *Access) adminToken() string { return a.pol.Load().admin }

// public reports paths that viewer access does not cover: static files and
// liveness, the screen link itself, webhooks (authenticated by their own
// secret) and admin routes (their own token: POST /api/v1/reload-screens is
// one, so a screen cookie or proxy identity must not be asked for it).
func public(path string) bool {
	// /pair: a TV asking for a code has no credential yet (the pairing
	// routes check their own cookies).
	if path == "/healthz" || path == "/readyz" || path == "/livez" || path == "/favicon.ico" || path == "/api/v1/reload-screens" || path == "/pair" {
		return true
	}
	for _, p := range []string{"/static/", "/screen/", "/hooks/", "/api/v1/events/", "/admin/", "/pair/"} {
		if strings.HasPrefix(path, p) {
			return true
		}
	}
	return path == "/admin"
}

// wrap enforces viewer access on every route except the public ones.
func (a *Access) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if public(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		p := a.pol.Load()
		if r.URL.Path == "/metrics" && adminAuthorized(r, p.admin) {
			next.ServeHTTP(w, r)
			return
		}
		if _, err := a.viewer(r, p); err != nil {
			a.log.Debug("viewer refused", "path", r.URL.Path, "remote", r.RemoteAddr, "reason", err)
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.Header().Set("Cache-Control", "no-store")
			w.WriteHeader(http.StatusForbidden)
			fmt.Fprintf(w, "forbidden: %v\n", err)
			return
		}
		if p.mode == board.AccessScreens && r.Method == http.MethodGet && !isUpgrade(r) {
			// Refresh the cookie so it never reaches its Max-Age on a
			// screen that reloads now and then.
			if c, err := r.Cookie(screenCookieName); err == nil {
				a.setScreenCookie(w, r, p, c.Value)
			}
		}
		next.ServeHTTP(w, r)
	})
}

func isUpgrade(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

// who reports who r is (a screen name, an e-mail, or "open"), or why it
// is refused.
func (a *Access) who(r *http.Request) (string, error) { return a.viewer(r, a.pol.Load()) }

func (a *Access) viewer(r *http.Request, p *accessPolicy) (string, error) {
	return a.viewerAt(r, p, time.Time{})
}

// viewerAt judges r under p; at is the time a signed assertion is checked
// against (zero: now).
func (a *Access) viewerAt(r *http.Request, p *accessPolicy, at time.Time) (string, error) {
	switch p.mode {
	case board.AccessOpen:
		return "open", nil
	case board.AccessScreens:
		if f := a.paired.Load(); f != nil {
			if c, err := r.Cookie(tvCookieName); err == nil && c.Value != "" {
				if name, ok := (*f)(c.Value); ok {
					return "paired:" + name, nil
				}
			}
		}
		c, err := r.Cookie(screenCookieName)
		if err != nil || c.Value == "" {
			return "", errors.New("this screen is not signed in: open its screen link (/screen/TOKEN)")
		}
		name, ok := p.screen(c.Value)
		if !ok {
			return "", errors.New("unknown or revoked screen link")
		}
		return "screen:" + name, nil
	case board.AccessProxy:
		return a.proxyIdentity(r, p, at)
	}
	return "", fmt.Errorf("access mode %q", p.mode)
}

// screen looks a token up by its hash. A map lookup keyed by the hash leaks
// nothing useful through timing: learning a prefix of a SHA-256 does not
// help anyone find a token that produces it.
func (p *accessPolicy) screen(token string) (string, bool) {
	name, ok := p.screens[sha256.Sum256([]byte(token))]
	return name, ok
}

// handleScreenLink signs a screen in: GET /screen/{token}[?next=/boards/x].
func (a *Access) handleScreenLink(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	p := a.pol.Load()
	token := r.PathValue("token")
	if p.mode != board.AccessScreens {
		http.Error(w, "screen links are not in use (access.mode is "+p.mode+")", http.StatusNotFound)
		return
	}
	name, ok := p.screen(token)
	if !ok || token == "" {
		a.log.Warn("unknown or revoked screen link", "remote", r.RemoteAddr)
		http.Error(w, "forbidden: unknown or revoked screen link", http.StatusForbidden)
		return
	}
	a.log.Info("screen signed in", "screen", name, "remote", r.RemoteAddr)
	a.setScreenCookie(w, r, p, token)
	next := r.URL.Query().Get("next")
	// Only a local path: never an open redirect to another site.
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") {
		next = "/"
	}
	http.Redirect(w, r, next, http.StatusSeeOther)
}

func (a *Access) setScreenCookie(w http.ResponseWriter, r *http.Request, p *accessPolicy, token string) {
	http.SetCookie(w, &http.Cookie{
		Name:     screenCookieName,
		Value:    token,
		Path:     "/",
		MaxAge:   screenCookieMaxAge,
		HttpOnly: true,
		Secure:   p.overTLS(r),
		SameSite: http.SameSiteLaxMode,
	})
}

// overTLS reports whether the browser reached us over TLS: directly, or
// through a trusted proxy that says so.
func (p *accessPolicy) overTLS(r *http.Request) bool {
	if r.TLS != nil {
		return true
	}
	return p.fromTrusted(r) && strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https")
}

func (p *accessPolicy) fromTrusted(r *http.Request) bool {
	ip, ok := remoteIP(r)
	if !ok {
		return false
	}
	return slices.ContainsFunc(p.trusted, func(pr netip.Prefix) bool { return pr.Contains(ip) })
}

func remoteIP(r *http.Request) (netip.Addr, bool) {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}, false
	}
	return ip.Unmap().WithZone(""), true
}

// proxyIdentity believes identity headers only from a trusted proxy, and
// with IAP configured only with a valid signed assertion.
func (a *Access) proxyIdentity(r *http.Request, p *accessPolicy, at time.Time) (string, error) {
	if !p.fromTrusted(r) {
		return "", errors.New("request did not come through the authenticating proxy (not in access.trusted_proxies)")
	}
	email, err := identityHeader(r.Header, p.headers)
	if err != nil {
		return "", err
	}
	if p.iap != nil {
		jwts := r.Header.Values(headerIAPJWT)
		if len(jwts) > 1 {
			return "", errors.New("iap assertion: " + headerIAPJWT + " sent more than once")
		}
		claimed, err := a.verifyIAP(r.Context(), p, r.Header.Get(headerIAPJWT), at)
		if err != nil {
			return "", fmt.Errorf("iap assertion: %w", err)
		}
		if email != "" && email != claimed {
			return "", errors.New("iap assertion: e-mail header and signed assertion disagree")
		}
		email = claimed
	}
	if email == "" {
		return "", errors.New("the proxy sent no user identity")
	}
	if len(p.allow) > 0 && !slices.ContainsFunc(p.allow, func(e string) bool {
		if strings.HasPrefix(e, "@") {
			return strings.HasSuffix(email, e)
		}
		return e == email
	}) {
		return "", fmt.Errorf("%s is not in access.proxy.allow", email)
	}
	return email, nil
}

// identityHeader reads the user's e-mail from the one identity header in
// force (names: the configured one, or the two defaults). Exactly one value
// is believed: a header sent twice, comma-joined e-mails, or both default
// headers at once are refused, because then one of them came from the user
// (an authenticating proxy sets its own header, and the user can add the
// other one, which the proxy passes on). "" means no identity was sent.
func identityHeader(h http.Header, names []string) (string, error) {
	email, from := "", ""
	for _, name := range names {
		vs := h.Values(name)
		if len(vs) == 0 {
			continue
		}
		if len(vs) > 1 {
			return "", fmt.Errorf("identity header %s sent more than once", name)
		}
		if from != "" {
			return "", fmt.Errorf("identity headers %s and %s both sent: set access.proxy.header to the one the proxy sets", from, name)
		}
		if strings.Contains(vs[0], ",") {
			return "", fmt.Errorf("identity header %s holds several values", name)
		}
		// IAP writes "accounts.google.com:ana@example.com".
		email = strings.ToLower(strings.TrimSpace(strings.TrimPrefix(vs[0], "accounts.google.com:")))
		from = name
	}
	return email, nil
}

// verifyIAP checks IAP's ES256 assertion: signature by a key of the JWK
// set, issuer, audience, expiry (as of at; zero: now); it returns the
// e-mail claim.
func (a *Access) verifyIAP(ctx context.Context, p *accessPolicy, raw string, at time.Time) (string, error) {
	if raw == "" {
		return "", errors.New("missing " + headerIAPJWT)
	}
	tok, err := jwt.ParseSigned(raw, []jose.SignatureAlgorithm{jose.ES256})
	if err != nil {
		return "", err
	}
	kid := ""
	if len(tok.Headers) > 0 {
		kid = tok.Headers[0].KeyID
	}
	keys, err := p.keys.get(ctx, kid)
	if err != nil {
		return "", err
	}
	var claims jwt.Claims
	var extra struct {
		Email string `json:"email"`
	}
	if err := tok.Claims(keys, &claims, &extra); err != nil {
		return "", err
	}
	if claims.Expiry == nil {
		return "", errors.New("no expiry")
	}
	if err := claims.ValidateWithLeeway(jwt.Expected{Issuer: iapIssuer, AnyAudience: jwt.Audience{p.iap.Audience}, Time: at}, 30*time.Second); err != nil {
		return "", err
	}
	if extra.Email == "" {
		return "", errors.New("no email claim")
	}
	return strings.ToLower(extra.Email), nil
}

// keySet is a JWK set from a file (read once) or a URL (cached for an
// hour, fetched again, at most once a minute, when a token names an
// unknown key: IAP rotates its keys).
type keySet struct {
	file, url string
	client    *http.Client
	// minRefetch is the least time between fetches for unknown key ids
	// (zero: a minute); a flood of forged kids costs one fetch a minute.
	minRefetch time.Duration

	mu      sync.Mutex
	set     *jose.JSONWebKeySet
	fetched time.Time
}

func (k *keySet) get(ctx context.Context, kid string) (*jose.JSONWebKeySet, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.set != nil {
		if k.file != "" {
			return k.set, nil
		}
		age := time.Since(k.fetched)
		known := kid == "" || len(k.set.Key(kid)) > 0
		minRefetch := k.minRefetch
		if minRefetch == 0 {
			minRefetch = time.Minute
		}
		if age < time.Hour && (known || age < minRefetch) {
			return k.set, nil
		}
	}
	set, err := k.load(ctx)
	if err != nil {
		if k.set != nil {
			return k.set, nil // keep verifying with the keys we have
		}
		return nil, err
	}
	k.set, k.fetched = set, time.Now()
	return set, nil
}

func (k *keySet) load(ctx context.Context) (*jose.JSONWebKeySet, error) {
	var data []byte
	if k.file != "" {
		b, err := os.ReadFile(k.file)
		if err != nil {
			return nil, fmt.Errorf("jwks: %w", err)
		}
		data = b
	} else {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.url, nil)
		if err != nil {
			return nil, fmt.Errorf("jwks: %w", err)
		}
		resp, err := k.client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("jwks: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("jwks: %s: %s", k.url, resp.Status)
		}
		if data, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20)); err != nil {
			return nil, fmt.Errorf("jwks: %w", err)
		}
	}
	var set jose.JSONWebKeySet
	if err := json.Unmarshal(data, &set); err != nil {
		return nil, fmt.Errorf("jwks: %w", err)
	}
	if len(set.Keys) == 0 {
		return nil, errors.New("jwks: no keys")
	}
	return &set, nil
}

// adminAuthorized reports whether r carries the admin token as
// "Authorization: Bearer TOKEN". An empty token authorizes nobody.
func adminAuthorized(r *http.Request, token string) bool { return bearerAuthorized(r, token) }

// bearerAuthorized reports whether r carries token as "Authorization: Bearer
// TOKEN", compared in constant time. An empty token authorizes nobody.
func bearerAuthorized(r *http.Request, token string) bool {
	if token == "" {
		return false
	}
	h := r.Header.Get("Authorization")
	scheme, cred, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	return secretEqual(strings.TrimSpace(cred), token)
}

// secretEqual compares two secrets in constant time (comparing their
// SHA-256 hashes, so not even the length leaks). Empty never matches.
func secretEqual(a, b string) bool {
	if a == "" || b == "" {
		return false
	}
	ha, hb := sha256.Sum256([]byte(a)), sha256.Sum256([]byte(b))
	return subtle.ConstantTimeCompare(ha[:], hb[:]) == 1
}
