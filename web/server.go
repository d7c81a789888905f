// Package web is where HTML goes out and webhooks come in: the HTTP server,
// its routes, the hub that pushes tile fragments to screens over websockets,
// the JSON API, and Prometheus metrics of the board itself.
//
// It renders with views and reads state from board.Live; it never polls a
// source itself, so its cost grows with screens, never with backend calls.
package web

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/a-h/templ"
	"github.com/gorilla/websocket"

	"github.com/wallboard/wallboard/alerts"
	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/views"
)

// Options tune the server.
type Options struct {
	Build          string   // build id; screens reload when it changes
	allowedOrigins []string // extra websocket origins besides the page's own host
	Compression    bool     // offer permessage-deflate
	DemoSources    []string // source ids whose tiles are labelled DEMO
	// Access enforces viewer access (access: in the config); nil lets
	// everyone in, which app.New allows only on loopback.
	Access *Access
	// FrameAncestors are origins allowed to embed the board (CSP
	// frame-ancestors); empty forbids framing.
	FrameAncestors []string
	// Ingress bounds what unauthenticated requests may cost (webhook.go).
	Ingress IngressLimits
	// What the app builds and the routes serve (routes.go).
	Ready       http.Handler        // GET /readyz; nil: no route
	Fleet       *Fleet              // pairing and the fleet page; nil: no routes
	AdminStatus func() ConfigStatus // what GET /admin shows
	Receivers   Receivers           // the webhook receivers
	// Alerts, when set, stores each polled alert set and gives alert and
	// hygiene tiles what they show (Sink, package alerts).
	Alerts *alerts.Alerts
}

// Server serves boards and pushes their changes.
type Server struct {
	world   atomic.Pointer[shown]
	hub     *Hub
	log     *slog.Logger
	opts    Options
	metrics *Metrics
	mux     *http.ServeMux
	seq     atomic.Uint64
	up      websocket.Upgrader
	conns   sync.WaitGroup
	connMu  sync.Mutex
	// connsClosed is set once WaitConns started: no writer may be added.
	connsClosed bool
	csp         atomic.Pointer[string]
	ingress     *ingress // the webhook and admin guard's state (webhook.go)

	genMu sync.Mutex
	gens  map[string]uint64 // board id -> config generation (see boardBuild)

	feedMu       sync.Mutex
	standupFeeds []StandupFeed // see AddStandupFeed
	// standupHistory: see SetStandupHistory.
	standupHistory atomic.Pointer[StandupHistory]
	retro          atomic.Pointer[RetroSource] // see SetRetroSource

	polls pollLog // the sink's log of failing queries (publish.go)
	// saveResult: see SaveResult.
	saveResult func(j *poller.Job, states []board.TileState)

	fleet *Fleet // paired screens; nil without pairing
	// fleetChanged runs after this process changed the fleet (replicas).
	fleetChanged func(step string)
}

// NewServer wires routes around live state and a hub.
func NewServer(live *board.Live, hub *Hub, metrics *Metrics, log *slog.Logger, opts Options) *Server {
	s := &Server{hub: hub, log: log, opts: opts, metrics: metrics, mux: http.NewServeMux(), fleet: opts.Fleet}
	s.SetWorld(live, opts.DemoSources)
	s.SetFrameAncestors(opts.FrameAncestors)
	s.ingress = newIngress(opts.Ingress, log)
	s.ingress.clientIP = s.clientIP
	s.up = websocket.Upgrader{
		ReadBufferSize:    512,
		WriteBufferSize:   4096,
		WriteBufferPool:   &sync.Pool{}, // buffers only while a write is in progress
		EnableCompression: opts.Compression,
		CheckOrigin:       s.checkOrigin,
		HandshakeTimeout:  10 * time.Second,
	}
	hub.metrics = metrics
	hub.onScreenGone = s.screenDisconnected
	if acc := opts.Access; acc != nil && opts.Fleet != nil {
		acc.setPaired(opts.Fleet.paired)
	}
	if acc := opts.Access; acc != nil {
		// Revocation bites at once: a screen whose link was removed, or
		// any viewer the new access rules refuse, loses its websocket now.
		acc.subscribe(func() {
			if n := hub.revokeDenied(acc.allows); n > 0 {
				log.Info("access changed: websockets closed", "closed", n)
			}
		})
	}
	s.routes()
	return s
}

// Handler is the server's root handler with its middleware: security
// headers on every response, then viewer access.
func (s *Server) Handler() http.Handler {
	var h http.Handler = s.mux
	if s.opts.Access != nil {
		h = s.throttleMetricsToken(s.opts.Access.wrap(h))
	}
	return s.securityHeaders(s.fleetWrap(h))
}

// Access is the viewer access in force (nil: open).
func (s *Server) Access() *Access { return s.opts.Access }

// SetFrameAncestors changes who may embed the board (after a config reload).
func (s *Server) SetFrameAncestors(origins []string) {
	csp := contentSecurityPolicy(origins)
	s.csp.Store(&csp)
}

// contentSecurityPolicy is the CSP every response carries: only our own
// scripts, styles and connections; no inline script or style, no eval;
// framing only by the given origins (none when empty).
func contentSecurityPolicy(frameAncestors []string) string {
	fa := "'none'"
	if len(frameAncestors) > 0 {
		fa = strings.Join(frameAncestors, " ")
	}
	return "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors " + fa
}

// Mux is the route table (routes.go). Only tools add to it (the load
// generator's pprof and fetch counter); the product's routes are all in
// routes.go.
func (s *Server) Mux() *http.ServeMux { return s.mux }

// isDemo reports whether a board shows demo data anywhere.
func (s *Server) isDemo(b board.BoardConfig) bool {
	for _, t := range b.Tiles {
		if slices.Contains(s.demoSources(), t.Source) {
			return true
		}
	}
	return false
}

// PageData builds the view model of a whole board at time now. With
// ?rotate=30s&boards=a,b the page rotates through the board and the others.
func (s *Server) PageData(id string, now time.Time, q url.Values) (views.PageData, bool) {
	ids := []string{id}
	var every time.Duration
	if r := q.Get("rotate"); r != "" {
		d, err := board.ParseDuration(r, 0)
		if err != nil || d <= 0 {
			d = 30 * time.Second
		}
		every = d
		for _, o := range strings.Split(q.Get("boards"), ",") {
			if o = strings.TrimSpace(o); o != "" && !slices.Contains(ids, o) {
				ids = append(ids, o)
			}
		}
	}
	p, ok := s.pageData(ids, every, now, q)
	if err := s.loadRetros(context.Background(), &p, now, ""); err != nil {
		// A retro of ?boards= that cannot be read is left out of the
		// rotation; the boards themselves are still worth showing.
		s.log.Warn("retro failed", "error", err)
		p.Boards = slices.DeleteFunc(p.Boards, func(b views.BoardView) bool { return b.Retro != nil })
	}
	if ok && (q.Has("standup") || q.Get("since") != "") && len(p.Boards) == 1 {
		s.addStandup(&p, now, q)
	}
	return p, ok
}

// columnsOf is the board's column count: configured, or chosen so that the
// tiles fill a 16:9 screen in roughly square cells.
func columnsOf(b board.BoardConfig) int {
	if b.Columns > 0 {
		return b.Columns
	}
	cells := 0
	for _, t := range b.Tiles {
		cells += max(t.Span, 1) * max(t.RowSpan, 1)
	}
	c := 1
	for c*c*2 < cells*3 { // c ≈ sqrt(1.5 × cells)
		c++
	}
	return min(max(c, 1), 12)
}

func (s *Server) handleIndex(w http.ResponseWriter, r *http.Request) {
	cfg := s.live().Config()
	if len(cfg.Boards) == 1 {
		http.Redirect(w, r, "/boards/"+cfg.Boards[0].ID, http.StatusFound)
		return
	}
	writeHTML(w, r, http.StatusOK, views.Index(cfg.Boards, cfg.Playlists, views.English))
}

func (s *Server) handleBoard(w http.ResponseWriter, r *http.Request) {
	p, ok := s.PageData(r.PathValue("id"), time.Now(), r.URL.Query())
	if !ok {
		http.Error(w, "no board "+r.PathValue("id"), http.StatusNotFound)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	s.fleetPage(&p, r)
	writeHTML(w, r, http.StatusOK, views.Page(p))
}

// writeHTML renders into a buffer first so a failing render sends a 500, not
// half a page, then gzips when the browser accepts it.
func writeHTML(w http.ResponseWriter, r *http.Request, code int, c templ.Component) {
	var buf bytes.Buffer
	if err := c.Render(r.Context(), &buf); err != nil {
		http.Error(w, "render failed", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	writeMaybeGzip(w, r, code, buf.Bytes())
}

func writeMaybeGzip(w http.ResponseWriter, r *http.Request, code int, body []byte) {
	w.Header().Add("Vary", "Accept-Encoding")
	if !acceptsGzip(r) || len(body) < 512 {
		w.WriteHeader(code)
		w.Write(body)
		return
	}
	w.Header().Set("Content-Encoding", "gzip")
	w.WriteHeader(code)
	zw := gzipPool.Get().(*gzip.Writer)
	zw.Reset(w)
	zw.Write(body)
	zw.Close()
	gzipPool.Put(zw)
}

var gzipPool = sync.Pool{New: func() any { zw, _ := gzip.NewWriterLevel(nil, gzip.BestCompression); return zw }}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		if strings.TrimSpace(strings.SplitN(part, ";", 2)[0]) == "gzip" {
			return true
		}
	}
	return false
}

// gzipStatic serves static files gzipped, compressing each file once.
func gzipStatic(next http.Handler) http.Handler {
	var mu sync.Mutex
	cache := map[string][]byte{}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !acceptsGzip(r) {
			next.ServeHTTP(w, r)
			return
		}
		mu.Lock()
		z, ok := cache[r.URL.Path]
		mu.Unlock()
		rec := &recorder{header: http.Header{}}
		next.ServeHTTP(rec, r)
		if rec.code != 0 && rec.code != http.StatusOK {
			copyHeader(w.Header(), rec.header)
			w.WriteHeader(rec.code)
			w.Write(rec.body.Bytes())
			return
		}
		if !ok {
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			zw.Write(rec.body.Bytes())
			zw.Close()
			z = buf.Bytes()
			mu.Lock()
			cache[r.URL.Path] = z
			mu.Unlock()
		}
		copyHeader(w.Header(), rec.header)
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Add("Vary", "Accept-Encoding")
		w.Write(z)
	})
}

type recorder struct {
	header http.Header
	code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
func (r *recorder) WriteHeader(c int)           { r.code = c }

func copyHeader(dst, src http.Header) {
	for k, v := range src {
		dst[k] = v
	}
}

func (s *Server) handleWS(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if _, _, ok := s.live().Board(id); !ok {
		http.Error(w, "no board "+id, http.StatusNotFound)
		return
	}
	acc := s.opts.Access
	var grant *grant
	if acc != nil {
		grant = acc.grant(r)
	}
	conn, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		return // Upgrade has replied with the error
	}
	meta, err := s.render(s.nextSeq(), views.Meta(id, s.boardBuild(id), time.Now()))
	if err != nil {
		conn.Close()
		return
	}
	v := viewer{grant: grant, screen: s.wsScreen(r)}
	if r.URL.Query().Has("standup") || r.URL.Query().Has("retro") {
		// The standup and retro views show no tiles: they get the heartbeat
		// and the alert layer only, never tile fragments with nowhere to go.
		v.keep = func(key string) bool { return key == metaKey || key == alertLayerKey }
	}
	c := s.hub.attach(id, conn, meta, v, s.addConn, &s.conns)
	if c != nil && v.screen != "" {
		s.screenConnected(c, v.screen, id, r)
	}
	// Judged again once subscribed: an access change between the check in
	// Access.wrap and the subscription was not seen by its Revoke.
	if c != nil && acc != nil && !acc.allows(grant) {
		s.hub.revoke(c, "access revoked")
	}
	// Likewise a reload that removed the board since the check above.
	if _, _, ok := s.live().Board(id); c != nil && !ok {
		s.hub.revoke(c, "board removed")
	}
}

// addConn counts a websocket connection, unless shutdown has begun. A mutex
// orders it with WaitConns: WaitGroup.Add must not race with Wait.
func (s *Server) addConn() bool {
	s.connMu.Lock()
	defer s.connMu.Unlock()
	if s.connsClosed {
		return false
	}
	s.conns.Add(1)
	return true
}

// WaitConns waits until the hub's writers have sent their close frames and
// every websocket connection has ended (after Hub.Close).
func (s *Server) WaitConns(ctx context.Context) {
	s.connMu.Lock()
	s.connsClosed = true
	s.connMu.Unlock()
	s.hub.wait(ctx)
	done := make(chan struct{})
	go func() { s.conns.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// checkOrigin allows browsers from the page's own host and configured
// origins; non-browser clients send no Origin and are allowed.
func (s *Server) checkOrigin(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	if strings.EqualFold(u.Host, r.Host) {
		return true
	}
	return slices.ContainsFunc(s.opts.allowedOrigins, func(o string) bool { return strings.EqualFold(o, origin) })
}

// APIBoard is the JSON shape of GET /api/v1/boards/{id}.
type APIBoard struct {
	Board       string    `json:"board"`
	Title       string    `json:"title"`
	GeneratedAt time.Time `json:"generated_at"`
	Tiles       []APITile `json:"tiles"`
}

// APITile is one tile in the JSON API: numbers in base units (seconds,
// ratios 0–1, per-day rates), null for no data.
type APITile struct {
	ID        string       `json:"id"`
	Kind      string       `json:"kind"`
	Title     string       `json:"title"`
	Value     *jsonFloat   `json:"value"`
	Unit      string       `json:"unit"`
	Status    board.Status `json:"status"`
	UpdatedAt *time.Time   `json:"updated_at"`
	// At is the time of the data itself (a Cloud Monitoring point's end,
	// a Prometheus sample's time), at or before UpdatedAt; AgeSeconds and
	// Stale count from it.
	At         *time.Time     `json:"at"`
	Stale      bool           `json:"stale"`
	AgeSeconds *float64       `json:"age_seconds"`
	Error      string         `json:"error,omitempty"`
	Warnings   []string       `json:"warnings,omitempty"`
	Series     []apiPoint     `json:"series,omitempty"`
	Rows       []board.Row    `json:"rows,omitempty"`
	Extra      map[string]any `json:"extra,omitempty"`
}

// apiPoint is a series sample.
type apiPoint struct {
	T time.Time `json:"t"`
	V jsonFloat `json:"v"`
}

// jsonFloat encodes NaN and ±Inf as strings, which encoding/json refuses.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	x := float64(f)
	switch {
	case x != x:
		return []byte(`"NaN"`), nil
	case x > 1.7976931348623157e308:
		return []byte(`"+Inf"`), nil
	case x < -1.7976931348623157e308:
		return []byte(`"-Inf"`), nil
	}
	return json.Marshal(x)
}

func (s *Server) handleAPIBoards(w http.ResponseWriter, r *http.Request) {
	type item struct {
		ID    string `json:"id"`
		Title string `json:"title"`
		URL   string `json:"url"`
	}
	out := []item{}
	for _, b := range s.live().Config().Boards {
		out = append(out, item{ID: b.ID, Title: b.Title, URL: "/boards/" + b.ID})
	}
	writeJSON(w, r, out)
}

func (s *Server) handleAPIBoard(w http.ResponseWriter, r *http.Request) {
	b, states, ok := s.live().Board(r.PathValue("id"))
	if !ok {
		http.Error(w, "no board "+r.PathValue("id"), http.StatusNotFound)
		return
	}
	now := time.Now()
	out := APIBoard{Board: b.ID, Title: b.Title, GeneratedAt: now, Tiles: []APITile{}}
	for i, t := range b.Tiles {
		out.Tiles = append(out.Tiles, apiTileOf(t, states[i], now))
	}
	writeJSON(w, r, out)
}

// apiTileOf converts a tile's state to its JSON form.
func apiTileOf(t board.TileConfig, st board.TileState, now time.Time) APITile {
	a := APITile{ID: t.ID, Kind: t.Kind, Title: t.Title, Unit: t.Unit, Status: st.Status,
		Stale: st.Stale(now), Error: st.Error, Warnings: st.Warnings, Rows: st.Rows}
	if st.Value != nil {
		v := jsonFloat(*st.Value)
		if t.Unit == "ms" { // base units: seconds
			v /= 1000
			a.Unit = "s"
		}
		if t.Unit == "%" {
			v /= 100
			a.Unit = "ratio"
		}
		a.Value = &v
	}
	if !st.UpdatedAt.IsZero() {
		u, at := st.UpdatedAt.UTC(), st.DataAt().UTC()
		a.UpdatedAt, a.At = &u, &at
		age := st.Age(now).Seconds()
		a.AgeSeconds = &age
	}
	for _, p := range st.Series {
		a.Series = append(a.Series, apiPoint{T: p.T, V: jsonFloat(p.V)})
	}
	if st.FourKeys != nil {
		a.Extra = fourKeysExtra(t.Kind, st.FourKeys)
	}
	if st.Security != nil {
		a.Extra = securityExtra(st.Security, now)
	}
	return a
}

func writeJSON(w http.ResponseWriter, r *http.Request, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		http.Error(w, "encode failed: "+err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	writeMaybeGzip(w, r, http.StatusOK, append(b, '\n'))
}

// securityHeaders sets the headers every response carries: a strict CSP (no
// inline script or style, no eval), no sniffing, no referrer.
func (s *Server) securityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		csp := *s.csp.Load()
		h.Set("Content-Security-Policy", csp)
		if strings.HasSuffix(csp, "frame-ancestors 'none'") {
			h.Set("X-Frame-Options", "DENY") // for browsers without CSP 2
		}
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		next.ServeHTTP(w, r)
	})
}

// IsLoopback reports whether addr ("host:port") binds only to loopback.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
