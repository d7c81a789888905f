package app

import (
	"github.com/wallboard/wallboard/poller/github"
	"github.com/wallboard/wallboard/web"
)

// fourKeysReceivers builds the receivers of the Four Keys' events: the
// generic events (deployments, incidents and their delivery check) and
// GitHub, each nil when its secret is not configured (no route: 404). The
// GitHub receiver maps each delivery with the repositories' settings of the
// config the server shows, which follows reloads (web.Server.SetWorld). The
// receivers only store: the store signals what they stored, and each
// world's scheduler polls the Four Keys sources on that signal (world.start).
func (a *App) fourKeysReceivers(sec secrets) (*web.EventsHandler, *web.GitHubHandler) {
	var events *web.EventsHandler
	if sec.events != "" {
		events = web.NewEventsHandler(sec.events, a.Store(), a.log)
	}
	var gh *web.GitHubHandler
	if sec.github != "" {
		gh = web.NewGitHubHandler(sec.github, github.NewReceiver(a.Store(), nil), a.log)
	}
	return events, gh
}
