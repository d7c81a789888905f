package web

// Screens you can manage: a TV pairs itself at /pair with a short
// code that an admin approves at /admin/screens; it then holds its own
// credential (a cookie; only its SHA-256 is stored) and the fleet page shows
// and steers every paired screen over the screen's own websocket.
//
// Pending codes live in the store, not in this process: replicas behind a
// load balancer share them, so the TV's /pair and /pair/wait and the
// admin's approval may each reach a different replica.

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/store"
	"github.com/wallboard/wallboard/views"
)

// tvCookieName holds a paired screen's credential in the TV's browser.
const tvCookieName = "wallboard_tv"

// pairCookie ties a TV's browser to the code it shows: only the browser that
// asked for a code can collect the credential once it is approved, so
// knowing (or guessing) a code gives nobody a credential. Its value (the
// nonce, 32 random bytes) becomes the screen's credential on approval, and
// the code is derived from it (codeOf): the store keeps only hashes of both.
const pairCookie = "wallboard_pair"

// Pairing limits.
const (
	// pairCodeTTL is how long a code shown on a TV can be approved.
	pairCodeTTL = 10 * time.Minute
	// pairCodeLen characters from pairAlphabet: 31^6 ≈ 887 million codes.
	pairCodeLen = 6
	// pairAlphabet leaves out 0/O, 1/I/L and U/V, which a person copying
	// from a TV across the room confuses.
	pairAlphabet = "23456789ABCDEFGHJKMNPQRSTWXYZ"
	// pairFailLimit wrong codes per address in pairFailWindow, then 429.
	pairFailLimit  = 5
	pairFailWindow = 10 * time.Minute
	// pairCodesPerAddr is how many unexpired codes one address may hold:
	// a TV needs one, so a loop asking for codes cannot fill the table.
	pairCodesPerAddr = 4
	// pairCodesMax is how many unexpired codes the store holds in all,
	// whoever asked: many addresses together cannot grow the table past
	// it (new codes are refused until some expire).
	pairCodesMax = 1000
	// identifyFor is how long "which TV is this?" shows the name.
	identifyFor = 10 * time.Second
)

// errCodeRefused is the one answer to a wrong, expired or used code: which
// of them it was is not said.
const errCodeRefused = "code not accepted: it is wrong, expired or already used"

// Fleet is the paired screens: what is stored (name, target, lobby,
// revocation) and what is seen live (connections, viewport, browser).
type Fleet struct {
	st  *store.Store
	log *slog.Logger

	mu      sync.Mutex
	screens map[string]*fleetScreen // id -> screen
	byHash  map[[32]byte]string     // credential hash -> id
	now     func() time.Time

	// replica names this process in the store's presence rows; "" while
	// it runs alone (SharePresence not running).
	replica string
	// seen receives when a screen's live state changed (SharePresence
	// writes it); never blocks.
	seen chan struct{}
}

type fleetScreen struct {
	store.Screen
	conns      int
	seen       bool // connected at least once since the server started
	lostSince  time.Time
	opens      []time.Time // websocket opens (24 h kept)
	beat       time.Time   // last report from its page
	w, h       int
	dpr        float64
	ua, build  string
	autoplay   *bool
	identUntil time.Time
	// dirty: the live state changed since SharePresence last wrote it.
	dirty bool
}

// NewFleet loads the paired screens from st.
func NewFleet(ctx context.Context, st *store.Store, log *slog.Logger) (*Fleet, error) {
	f := &Fleet{st: st, log: log, screens: map[string]*fleetScreen{}, byHash: map[[32]byte]string{},
		now: time.Now, seen: make(chan struct{}, 1)}
	list, err := st.Screens(ctx)
	if err != nil {
		return nil, fmt.Errorf("fleet: %w", err)
	}
	for _, sc := range list {
		f.screens[sc.ID] = &fleetScreen{Screen: sc}
		f.byHash[sc.TokenSHA256] = sc.ID
	}
	return f, nil
}

// lookup returns the valid (not revoked) screen holding token; known
// reports a credential that was issued, valid or not.
func (f *Fleet) lookup(token string) (sc *fleetScreen, known bool) {
	if token == "" {
		return nil, false
	}
	id, ok := f.byHash[sha256.Sum256([]byte(token))]
	if !ok {
		return nil, false
	}
	sc = f.screens[id]
	if !sc.Revoked.IsZero() {
		return nil, true
	}
	return sc, true
}

// resolve is lookup by a credential, asking the store when this process
// does not know it: a screen paired on another replica a moment ago, whose
// notice has not arrived (or was lost). valid is false for a revoked
// screen; known reports a credential that was issued, valid or not.
func (f *Fleet) resolve(ctx context.Context, token string) (sc store.Screen, valid, known bool) {
	if token == "" {
		return sc, false, false
	}
	f.mu.Lock()
	if x, known := f.lookup(token); known {
		if x != nil {
			sc, valid = x.Screen, true
		}
		f.mu.Unlock()
		return sc, valid, true
	}
	f.mu.Unlock()
	got, err := f.st.ScreenByToken(ctx, sha256.Sum256([]byte(token)))
	if err != nil {
		if !errors.Is(err, store.ErrNoScreen) {
			f.log.Warn("fleet: looking up a screen credential", "error", err)
		}
		return sc, false, false
	}
	f.mu.Lock()
	f.learn(got)
	f.mu.Unlock()
	return got, got.Revoked.IsZero(), true
}

// learn adds or updates a screen read from the store. f.mu held.
func (f *Fleet) learn(sc store.Screen) {
	if old := f.screens[sc.ID]; old != nil {
		old.Screen = sc
		return
	}
	f.screens[sc.ID] = &fleetScreen{Screen: sc}
	f.byHash[sc.TokenSHA256] = sc.ID
}

// paired reports the name of the valid screen holding token (for Access).
func (f *Fleet) paired(token string) (string, bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	sc, valid, _ := f.resolve(ctx, token)
	return sc.Name, valid
}

func randomToken(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// codeOf is the code a TV holding pairing nonce shows: derived from the
// nonce, so a reload shows the same code while the store keeps only its
// hash, and unguessable as the nonce is random. Knowing the code tells
// nothing of the nonce (SHA-256 is one-way).
func codeOf(nonce string) string {
	h := sha256.Sum256([]byte("wallboard pairing code\x00" + nonce))
	b := make([]byte, pairCodeLen)
	for i := range b {
		// 256 % 29 leaves a small bias towards the first letters; it costs
		// well under one bit of the ~29 bits a code has.
		b[i] = pairAlphabet[int(h[i])%len(pairAlphabet)]
	}
	return string(b)
}

func hashString(s string) [32]byte { return sha256.Sum256([]byte(s)) }

// normCode upper-cases a typed code and drops spaces and dashes.
func normCode(s string) string {
	s = strings.ToUpper(s)
	return strings.Map(func(r rune) rune {
		if r == ' ' || r == '-' {
			return -1
		}
		return r
	}, s)
}

// fleetAdmin guards the fleet page and its actions with the admin token,
// like /admin and through its throttle; without an admin token they do not
// exist (404).
func (s *Server) fleetAdmin(h http.HandlerFunc) http.HandlerFunc {
	return s.admin(func(w http.ResponseWriter, r *http.Request) {
		// Basic auth is sent by the browser on its own: a form posted
		// from another site must not steer the screens.
		if r.Method == http.MethodPost && !sameOrigin(r) {
			http.Error(w, "forbidden: cross-site request", http.StatusForbidden)
			return
		}
		w.Header().Set("Cache-Control", "no-store")
		h(w, r)
	})
}

func sameOrigin(r *http.Request) bool {
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	o := r.Header.Get("Origin")
	if o == "" {
		return true // not a browser, or a browser that sends none: Sec-Fetch-Site said enough
	}
	u, err := url.Parse(o)
	return err == nil && strings.EqualFold(u.Host, r.Host)
}

func tvCookie(r *http.Request) string {
	if c, err := r.Cookie(tvCookieName); err == nil {
		return c.Value
	}
	return ""
}

// isPagePath reports the paths a TV shows: where its credential sends it
// back to its own target, or to /pair once revoked.
func isPagePath(p string) bool {
	return p == "/" || strings.HasPrefix(p, "/boards/") && !strings.HasSuffix(p, "/ws") || strings.HasPrefix(p, "/playlists/")
}

// fleetWrap sends a paired TV to what it should show, and a TV whose
// credential was revoked to the pairing page.
func (s *Server) fleetWrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := s.fleet
		tok := tvCookie(r)
		if f == nil || tok == "" || r.Method != http.MethodGet || isUpgrade(r) || !isPagePath(r.URL.Path) {
			next.ServeHTTP(w, r)
			return
		}
		sc, valid, known := f.resolve(r.Context(), tok)
		target := sc.Target
		w.Header().Set("Cache-Control", "no-store")
		switch {
		case !valid:
			// Revoked (or a credential from another server): forget it and
			// show a new code, so someone can pair it again.
			if known {
				s.log.Info("revoked screen opened a board: sent to pairing", "remote", r.RemoteAddr)
			}
			http.SetCookie(w, &http.Cookie{Name: tvCookieName, Value: "", Path: "/", MaxAge: -1, HttpOnly: true})
			http.Redirect(w, r, "/pair", http.StatusSeeOther)
		case r.URL.Path != target:
			http.Redirect(w, r, target, http.StatusSeeOther)
		default:
			// Set again on every page load, like a screen link's cookie, so
			// it never reaches its Max-Age on a TV that reloads now and then.
			http.SetCookie(w, &http.Cookie{Name: tvCookieName, Value: tok, Path: "/", MaxAge: screenCookieMaxAge,
				HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
			next.ServeHTTP(w, r)
		}
	})
}

// fleetPage marks a page for a paired screen: its name (the page script
// then reports its viewport) and lobby mode.
func (s *Server) fleetPage(p *views.PageData, r *http.Request) {
	f := s.fleet
	if f == nil {
		return
	}
	if sc, valid, _ := f.resolve(r.Context(), tvCookie(r)); valid {
		p.Screen, p.Lobby = sc.Name, sc.Lobby
	}
}

func (s *Server) handlePair(w http.ResponseWriter, r *http.Request) {
	f := s.fleet
	ctx := r.Context()
	w.Header().Set("Cache-Control", "no-store")
	now := f.now()
	if sc, valid, _ := f.resolve(ctx, tvCookie(r)); valid {
		http.Redirect(w, r, sc.Target, http.StatusSeeOther)
		return
	}
	show := func(nonce string, expires time.Time) {
		code := codeOf(nonce)
		approve := baseURL(r) + "/admin/screens?code=" + code
		writeHTML(w, r, http.StatusOK, views.Pair(views.PairData{Code: code, ApproveURL: approve, Expires: expires, Build: s.opts.Build}))
	}
	// The same browser reloading keeps its code.
	if c, err := r.Cookie(pairCookie); err == nil && c.Value != "" {
		p, err := f.st.PairingByNonce(ctx, hashString(c.Value), now)
		if err == nil && p.ScreenID == "" {
			show(c.Value, p.Expires)
			return
		}
	}
	addr := s.clientKey(r)
	// A new code is drawn again in the rare case it is already waiting.
	for range 8 {
		nonce := randomToken(32)
		p := store.Pairing{CodeSHA256: hashString(codeOf(nonce)), NonceSHA256: hashString(nonce), Addr: addr, Expires: now.Add(pairCodeTTL)}
		err := f.st.AddPairing(ctx, p, now, pairCodesPerAddr, pairCodesMax)
		switch {
		case errors.Is(err, store.ErrCodeTaken):
			continue
		case errors.Is(err, store.ErrTooManyFromAddr):
			w.Header().Set("Retry-After", strconv.Itoa(int(pairCodeTTL.Seconds())))
			http.Error(w, "too many pairing codes from this address: use one of the codes shown, or wait", http.StatusTooManyRequests)
			return
		case errors.Is(err, store.ErrTooManyPairings):
			s.log.Warn("pairing: the store holds its limit of waiting codes", "limit", pairCodesMax, "remote", addr)
			w.Header().Set("Retry-After", strconv.Itoa(int(pairCodeTTL.Seconds())))
			http.Error(w, "too many pairing codes waiting: try again in a few minutes", http.StatusTooManyRequests)
			return
		case err != nil:
			s.log.Error("pairing: store", "error", err)
			http.Error(w, "pairing code not stored: see the server log", http.StatusServiceUnavailable)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: pairCookie, Value: nonce, Path: "/pair", MaxAge: int(pairCodeTTL.Seconds()),
			HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteStrictMode})
		show(nonce, p.Expires)
		return
	}
	http.Error(w, "no free pairing code: try again", http.StatusServiceUnavailable)
}

// baseURL is how the browser reached us (for the QR code's approve URL).
func baseURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || strings.EqualFold(r.Header.Get("X-Forwarded-Proto"), "https") {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// clientKey is the address pairing limits count by: the client's address
// as the webhook guard sees it (behind trusted proxies, the forwarded one;
// an IPv6 client by its /64), so the two kinds of limit agree.
func (s *Server) clientKey(r *http.Request) string {
	return addrKey(s.ingress.clientIP(r)).String()
}

// handlePairWait is the TV's light poll: "waiting", "expired" (show a new
// code) or "paired" with the URL to go to, once, setting the credential.
func (s *Server) handlePairWait(w http.ResponseWriter, r *http.Request) {
	f := s.fleet
	ctx := r.Context()
	w.Header().Set("Cache-Control", "no-store")
	state := map[string]string{"state": "expired"}
	c, err := r.Cookie(pairCookie)
	if err != nil || c.Value == "" {
		writeJSON(w, r, state)
		return
	}
	nonce, now := hashString(c.Value), f.now()
	p, err := f.st.PairingByNonce(ctx, nonce, now)
	if err == nil && p.ScreenID != "" {
		// Single use: the row goes with the collection.
		var sc store.Screen
		if sc, err = f.st.CollectPairing(ctx, nonce, now); err == nil {
			f.mu.Lock()
			f.learn(sc)
			f.mu.Unlock()
			// The credential is the nonce this browser already holds: it
			// moves to a cookie every page sends.
			http.SetCookie(w, &http.Cookie{Name: tvCookieName, Value: c.Value, Path: "/", MaxAge: screenCookieMaxAge,
				HttpOnly: true, Secure: r.TLS != nil, SameSite: http.SameSiteLaxMode})
			http.SetCookie(w, &http.Cookie{Name: pairCookie, Value: "", Path: "/pair", MaxAge: -1})
			writeJSON(w, r, map[string]string{"state": "paired", "url": sc.Target})
			return
		}
	}
	switch {
	case err == nil:
		state["state"] = "waiting"
	case errors.Is(err, store.ErrNoPairing):
	default:
		// The page tries again on anything but JSON.
		s.log.Error("pairing: store", "error", err)
		http.Error(w, "pairing state not read: see the server log", http.StatusServiceUnavailable)
		return
	}
	writeJSON(w, r, state)
}

// handleApprove pairs a code: POST /admin/screens/pair with code, name,
// target (/boards/ID or /playlists/ID) and lobby.
func (s *Server) handleApprove(w http.ResponseWriter, r *http.Request) {
	f := s.fleet
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form: "+err.Error(), http.StatusBadRequest)
		return
	}
	name := strings.TrimSpace(r.PostForm.Get("name"))
	target := r.PostForm.Get("target")
	if name == "" || len(name) > 80 {
		http.Error(w, "name: 1 to 80 characters", http.StatusBadRequest)
		return
	}
	if !s.validTarget(target) {
		http.Error(w, "target: not a board or playlist of this config", http.StatusBadRequest)
		return
	}
	code := normCode(r.PostForm.Get("code"))
	addr := s.clientKey(r)
	now := f.now()
	// Wrong codes are counted in the store: the limit holds across
	// replicas.
	fails, err := f.st.PairFailures(ctx, addr, now.Add(-pairFailWindow))
	if err != nil {
		s.log.Error("pairing: store", "error", err)
		http.Error(w, "pairing not checked: see the server log", http.StatusServiceUnavailable)
		return
	}
	if fails >= pairFailLimit {
		s.log.Warn("pairing: too many wrong codes", "remote", addr)
		w.Header().Set("Retry-After", strconv.Itoa(int(pairFailWindow.Seconds())))
		http.Error(w, "too many wrong codes from this address: try again later", http.StatusTooManyRequests)
		return
	}
	sc := store.Screen{ID: randomToken(6), Name: name, Target: target, Lobby: r.PostForm.Get("lobby") != "", CreatedAt: now}
	err = store.ErrNoPairing
	if len(code) == pairCodeLen {
		// Stored before the TV is told: a credential that is handed out
		// is always one a restart (and every replica) knows.
		sc, err = f.st.ApprovePairing(ctx, hashString(code), sc, now)
	}
	switch {
	case errors.Is(err, store.ErrNoPairing):
		if err := f.st.AddPairFailure(ctx, addr, now, now.Add(-pairFailWindow)); err != nil {
			s.log.Error("pairing: store", "error", err)
		}
		s.log.Info("pairing: code refused", "remote", addr)
		http.Error(w, errCodeRefused, http.StatusForbidden)
		return
	case err != nil:
		s.log.Error("pairing: store", "error", err)
		http.Error(w, "pairing not stored: see the server log", http.StatusServiceUnavailable)
		return
	}
	f.mu.Lock()
	f.learn(sc)
	f.mu.Unlock()
	s.fleetChange(StepScreens)
	s.log.Info("screen paired", "screen", sc.ID, "name", name, "target", target)
	if wantsJSON(r) {
		writeJSON(w, r, map[string]string{"id": sc.ID, "name": name, "target": target})
		return
	}
	http.Redirect(w, r, "/admin/screens", http.StatusSeeOther)
}

func wantsJSON(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), "application/json")
}

// validTarget reports whether t is /boards/ID or /playlists/ID of the config.
func (s *Server) validTarget(t string) bool {
	cfg := s.live().Config()
	if id, ok := strings.CutPrefix(t, "/boards/"); ok {
		return slices.ContainsFunc(cfg.Boards, func(b board.BoardConfig) bool { return b.ID == id })
	}
	if id, ok := strings.CutPrefix(t, "/playlists/"); ok {
		return slices.ContainsFunc(cfg.Playlists, func(p board.Playlist) bool { return p.ID == id })
	}
	return false
}

// targetBoards is the boards a target shows.
func (s *Server) targetBoards(t string) []string {
	cfg := s.live().Config()
	if id, ok := strings.CutPrefix(t, "/boards/"); ok {
		return []string{id}
	}
	if id, ok := strings.CutPrefix(t, "/playlists/"); ok {
		for _, p := range cfg.Playlists {
			if p.ID == id {
				return p.BoardIDs()
			}
		}
	}
	return nil
}

// handleSteer runs an action on one screen: reload, show (target=…),
// identify, lobby (on=1 or empty), revoke.
func (s *Server) handleSteer(w http.ResponseWriter, r *http.Request) {
	f := s.fleet
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form: "+err.Error(), http.StatusBadRequest)
		return
	}
	id, action := r.PathValue("id"), r.PathValue("action")
	f.mu.Lock()
	_, ok := f.screens[id]
	f.mu.Unlock()
	if !ok {
		// Paired on another replica, and its notice not here (yet).
		if err := s.ApplyFleetChange(r.Context(), StepScreens); err != nil {
			s.log.Warn("fleet: reloading screens", "error", err)
		}
	}
	f.mu.Lock()
	sc := f.screens[id]
	if sc == nil || !sc.Revoked.IsZero() {
		f.mu.Unlock()
		http.Error(w, "no such screen (or revoked)", http.StatusNotFound)
		return
	}
	next := sc.Screen
	var cmd, arg string
	switch action {
	case "reload":
		cmd = "reload"
	case "identify":
		cmd, arg = "identify", sc.Name
		sc.identUntil = f.now().Add(identifyFor)
	case "show":
		t := r.PostForm.Get("target")
		if !s.validTarget(t) {
			f.mu.Unlock()
			http.Error(w, "target: not a board or playlist of this config", http.StatusBadRequest)
			return
		}
		next.Target, cmd, arg = t, "go", t
	case "lobby":
		next.Lobby = r.PostForm.Get("on") != ""
		// The page is rendered differently in lobby mode: reload it.
		cmd = "reload"
	case "revoke":
		next.Revoked = f.now()
	default:
		f.mu.Unlock()
		http.Error(w, "unknown action "+action, http.StatusNotFound)
		return
	}
	changed := next != sc.Screen
	if changed {
		// Stored first: what a screen should show survives a restart.
		if err := f.st.UpdateScreen(r.Context(), next); err != nil {
			f.mu.Unlock()
			s.log.Error("fleet: store", "screen", id, "error", err)
			http.Error(w, "not stored: see the server log", http.StatusServiceUnavailable)
			return
		}
		sc.Screen = next
	}
	f.mu.Unlock()
	if changed {
		s.fleetChange(StepScreens)
	}
	n := 0
	if action == "revoke" {
		n = s.hub.revokeScreen(id)
	} else {
		n = s.sendCommand(id, cmd, arg)
		s.fleetChange(stepCommand + id + ":" + cmd + ":" + arg)
	}
	s.log.Info("screen steered", "screen", id, "action", action, "connections", n)
	if wantsJSON(r) {
		writeJSON(w, r, map[string]any{"screen": id, "action": action, "connections": n})
		return
	}
	http.Redirect(w, r, "/admin/screens", http.StatusSeeOther)
}

// sendCommand pushes a command to every websocket of a screen; it returns
// how many got it.
func (s *Server) sendCommand(screen, cmd, arg string) int {
	e, err := s.render(s.nextSeq(), views.Command(cmd, arg, strconv.FormatInt(time.Now().UnixNano(), 36)))
	if err != nil {
		return 0
	}
	return s.hub.sendScreen(screen, e)
}

// screenConnected counts a websocket of a paired screen and, when the board
// it opened is not what the screen should show (switched while it was away,
// or before a restart), sends it there. The command is offered before the
// screen counts as connected.
func (s *Server) screenConnected(c *client, screen, boardID string, r *http.Request) {
	f := s.fleet
	now := f.now()
	f.mu.Lock()
	sc := f.screens[screen]
	if sc == nil {
		f.mu.Unlock()
		return
	}
	target := sc.Target
	f.mu.Unlock()
	if !slices.Contains(s.targetBoards(target), boardID) {
		if e, err := s.render(s.nextSeq(), views.Command("go", target, strconv.FormatInt(now.UnixNano(), 36))); err == nil {
			s.hub.sendClient(c, e)
		}
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	sc.conns++
	sc.seen = true
	sc.lostSince = time.Time{}
	sc.opens = append(slices.DeleteFunc(sc.opens, func(t time.Time) bool { return now.Sub(t) > 24*time.Hour }), now)
	if sc.ua == "" {
		sc.ua = browserOf(r.UserAgent())
	}
	f.changed(sc)
}

func (s *Server) screenDisconnected(screen string) {
	f := s.fleet
	f.mu.Lock()
	defer f.mu.Unlock()
	if sc := f.screens[screen]; sc != nil {
		sc.conns--
		if sc.conns <= 0 {
			sc.conns = 0
			sc.lostSince = f.now()
		}
		f.changed(sc)
	}
}

// wsScreen is the paired screen a websocket upgrade comes from ("" for
// none).
func (s *Server) wsScreen(r *http.Request) string {
	f := s.fleet
	if f == nil {
		return ""
	}
	if sc, valid, _ := f.resolve(r.Context(), tvCookie(r)); valid {
		return sc.ID
	}
	return ""
}

// handleHello takes a paired screen's report: viewport, device pixel
// ratio, whether its chime can play, the build its page runs. It is the
// screen's heartbeat on the fleet page.
func (s *Server) handleHello(w http.ResponseWriter, r *http.Request) {
	f := s.fleet
	var h struct {
		W        int     `json:"w"`
		H        int     `json:"h"`
		DPR      float64 `json:"dpr"`
		Autoplay *bool   `json:"autoplay"`
		Build    string  `json:"build"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 1<<10))
	if err := dec.Decode(&h); err != nil {
		http.Error(w, "bad report: "+err.Error(), http.StatusBadRequest)
		return
	}
	tok := tvCookie(r)
	f.resolve(r.Context(), tok) // learns a screen paired on another replica
	f.mu.Lock()
	defer f.mu.Unlock()
	sc, _ := f.lookup(tok)
	if sc == nil {
		http.Error(w, "forbidden: not a paired screen", http.StatusForbidden)
		return
	}
	sc.w, sc.h = min(max(h.W, 0), 100000), min(max(h.H, 0), 100000)
	sc.dpr = min(max(h.DPR, 0), 16)
	sc.autoplay = h.Autoplay
	if len(h.Build) <= 64 {
		sc.build = h.Build
	}
	sc.ua = browserOf(r.UserAgent())
	sc.beat = f.now()
	f.changed(sc)
	w.WriteHeader(http.StatusNoContent)
}

var uaParts = []struct {
	re   *regexp.Regexp
	name string
}{
	{regexp.MustCompile(`Silk/(\d+)`), "Silk"},
	{regexp.MustCompile(`Edg/(\d+)`), "Edge"},
	{regexp.MustCompile(`(?:Chrome|Chromium)/(\d+)`), "Chrome"},
	{regexp.MustCompile(`Firefox/(\d+)`), "Firefox"},
	{regexp.MustCompile(`Version/(\d+)[.\d]* .*Safari/`), "Safari"},
}

var uaOS = []struct{ sub, name string }{
	{"CrOS", "ChromeOS"}, {"AFT", "Fire TV"}, {"Android", "Android"}, {"Tizen", "Tizen"}, {"Web0S", "webOS"},
	{"iPad", "iPadOS"}, {"iPhone", "iOS"}, {"Mac OS X", "macOS"}, {"Windows", "Windows"}, {"Linux", "Linux"},
}

// browserOf summarises a User-Agent: "Chrome 131 on Linux".
func browserOf(ua string) string {
	name := "unknown browser"
	for _, p := range uaParts {
		if m := p.re.FindStringSubmatch(ua); m != nil {
			name = p.name + " " + m[1]
			break
		}
	}
	if strings.Contains(ua, "HeadlessChrome") {
		name = "Headless " + name
	}
	for _, o := range uaOS {
		if strings.Contains(ua, o.sub) {
			return name + " on " + o.name
		}
	}
	return name
}

// handleFleet is the fleet page (?part=table: only the table, which the
// page fetches again every 2 s).
func (s *Server) handleFleet(w http.ResponseWriter, r *http.Request) {
	d := s.fleetData(r.Context(), r.URL.Query().Get("code"))
	if r.URL.Query().Get("part") == "table" {
		writeHTML(w, r, http.StatusOK, views.FleetTable(d))
		return
	}
	if wantsJSON(r) {
		writeJSON(w, r, d.Screens)
		return
	}
	writeHTML(w, r, http.StatusOK, views.Fleet(d))
}

func (s *Server) fleetData(ctx context.Context, code string) views.FleetData {
	f := s.fleet
	cfg := s.live().Config()
	d := views.FleetData{Code: normCode(code), Now: f.now()}
	if len(d.Code) > pairCodeLen {
		d.Code = ""
	}
	for _, b := range cfg.Boards {
		d.Targets = append(d.Targets, views.FleetTarget{Path: "/boards/" + b.ID, Title: "Board: " + b.Title})
	}
	for _, p := range cfg.Playlists {
		d.Targets = append(d.Targets, views.FleetTarget{Path: "/playlists/" + p.ID, Title: "Playlist: " + p.ID})
	}
	now := f.now()
	remote := f.othersPresence(ctx, now)
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, sc := range f.screens {
		v := views.FleetScreen{
			ID: sc.ID, Name: sc.Name, Target: sc.Target, Lobby: sc.Lobby, Revoked: sc.Revoked,
			Connected: sc.conns > 0, Seen: sc.seen, LostSince: sc.lostSince, Beat: sc.beat,
			W: sc.w, H: sc.h, DPR: sc.dpr, Browser: sc.ua, Build: sc.build, Autoplay: sc.autoplay,
			Identifying: now.Before(sc.identUntil),
		}
		for _, t := range sc.opens {
			if now.Sub(t) <= 24*time.Hour {
				v.Reconnects++
			}
		}
		for _, p := range remote[sc.ID] {
			mergePresence(&v, p, now)
		}
		v.Reconnects = max(v.Reconnects-1, 0) // the first open is a connect, not a reconnect
		d.Screens = append(d.Screens, v)
	}
	slices.SortFunc(d.Screens, func(a, b views.FleetScreen) int {
		if (a.Revoked.IsZero()) != (b.Revoked.IsZero()) {
			if a.Revoked.IsZero() {
				return -1
			}
			return 1
		}
		return strings.Compare(a.Name+a.ID, b.Name+b.ID)
	})
	return d
}
