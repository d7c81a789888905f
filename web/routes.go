package web

import (
	"net/http"

	"github.com/wallboard/wallboard/alerts"
	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/static"
)

// Receivers are the webhook handlers app builds from the config's secrets.
// A nil handler is a receiver that is off: its routes do not exist (404).
type Receivers struct {
	// Alerts receives Alertmanager, Cloud Monitoring and generic alert
	// events. Its three routes always exist; each answers 404 while its
	// secret is not configured.
	Alerts *AlertHooks
	// Events receives generic deployments and incidents, and answers the
	// delivery check (ping) with the same token.
	Events *EventsHandler
	// GitHub receives GitHub's deliveries (package github maps and stores them).
	GitHub *GitHubHandler
}

// routes registers every HTTP route of Wallboard. This is the one list:
// a route added anywhere else is a route the route-table test does not
// know. Viewer access (Access.wrap) and security headers wrap the whole mux
// (Handler); public() in access.go lists the paths viewer access skips.
func (s *Server) routes() {
	mux, g := s.mux, s.ingress

	// Boards: pages, their websocket, the JSON API.
	mux.HandleFunc("GET /{$}", s.handleIndex)
	mux.HandleFunc("GET /boards/{id}", s.handleBoard)
	mux.HandleFunc("GET /boards/{id}/ws", s.handleWS)
	mux.HandleFunc("GET /boards/{id}/retro", s.handleRetro)
	mux.HandleFunc("GET /playlists/{id}", s.handlePlaylist)
	mux.HandleFunc("GET /api/v1/boards", s.handleAPIBoards)
	mux.HandleFunc("GET /api/v1/boards/{id}", s.handleAPIBoard)

	// Health and the board's own metrics. Liveness checks no dependency,
	// so a supervisor never restarts a server for a store that is down;
	// readiness (app) checks the store and the config.
	mux.HandleFunc("GET /livez", alive)
	mux.HandleFunc("GET /healthz", alive)
	if s.opts.Ready != nil {
		mux.Handle("GET /readyz", s.opts.Ready)
	}
	mux.Handle("GET /metrics", s.metrics.handler())

	// Embedded files, under content-hashed names.
	mux.Handle("GET /static/", gzipStatic(static.Handler())) // static.Prefix
	mux.Handle("GET /favicon.ico", static.Favicon())

	// A screen link signs a TV in (access: {mode: screens}).
	if acc := s.opts.Access; acc != nil {
		mux.HandleFunc("GET /screen/{token...}", acc.handleScreenLink)
	}

	// Pairing a TV by code, and the fleet page (admin token).
	if s.fleet != nil {
		mux.HandleFunc("GET /pair", s.handlePair)
		mux.HandleFunc("GET /pair/wait", s.handlePairWait)
		mux.HandleFunc("POST /pair/hello", s.handleHello)
		mux.HandleFunc("GET /admin/screens", s.fleetAdmin(s.handleFleet))
		mux.HandleFunc("POST /admin/screens/pair", s.fleetAdmin(s.handleApprove))
		mux.HandleFunc("POST /admin/screens/{id}/{action}", s.fleetAdmin(s.handleSteer))
	}

	// Admin: the config's state, and reloading every screen (admin token).
	mux.HandleFunc("GET /admin", s.admin(s.handleAdmin))
	mux.HandleFunc("POST /api/v1/reload-screens", s.admin(s.handleReloadScreens))

	// Webhooks: authenticated before the body is read, bounded, 2xx only
	// once the delivery is stored.
	limits := defaultWebhookLimits
	limits.logger = s.log
	rc := s.opts.Receivers
	if h := rc.Alerts; h != nil {
		mux.Handle("POST /hooks/alertmanager", g.webhook(alerts.ReceiverAlertmanager, limits, h.authAlertmanager(), h.alertmanager()))
		mux.Handle("POST /hooks/cloudmonitoring", g.webhook(alerts.ReceiverCloudMonitoring, limits, h.authCloudMonitoring(), h.cloudMonitoring()))
		mux.Handle("POST /api/v1/events/alerts", g.webhook(alerts.ReceiverEvents, limits, h.authEvents(), h.events()))
	}
	if h := rc.Events; h != nil {
		mux.Handle("POST /api/v1/events/deployments", g.webhook("events-deployments", limits, h.auth(), http.HandlerFunc(h.deployments)))
		mux.Handle("POST /api/v1/events/incidents", g.webhook("events-incidents", limits, h.auth(), http.HandlerFunc(h.incidents)))
		ping := pingLimits
		ping.logger = s.log
		mux.Handle("POST /api/v1/events/ping", g.webhook(pingReceiver, ping, h.pingAuth(), pingHandler(h.store, s.log)))
	}
	if h := rc.GitHub; h != nil {
		gh := limits
		gh.maxBytes = maxGitHubBody // the payloads of large pushes exceed 1 MiB
		// Each delivery is mapped with the config shown when it arrives,
		// so the repositories' settings follow reloads.
		config := func() *board.Config { return s.live().Config() }
		mux.Handle("POST /hooks/github", g.webhook("github", gh, h.auth(), h.receive(config)))
	}
}

// alive answers liveness: the process serves requests.
func alive(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}
