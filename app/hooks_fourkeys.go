package app

import (
	"slices"
	"strings"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller/github"
	"github.com/wallboard/wallboard/web"
)

// fourKeysReceivers builds the receivers of the Four Keys' events: the
// generic events (deployments, incidents and their delivery check) and
// GitHub, each nil when its secret is not configured (no route: 404). The
// sources they kick and the repositories' settings follow the config as it
// is reloaded.
func (a *App) fourKeysReceivers(sec secrets) (*web.EventsHandler, *web.GitHubHandler) {
	kick := func() {
		a.kickFourKeys()
		a.announce(stepFourKeys) // the holder of those polls may be another replica
	}
	var events *web.EventsHandler
	if sec.events != "" {
		events = web.NewEventsHandler(sec.events, a.Store(), kick, a.log)
	}
	var gh *web.GitHubHandler
	if sec.github != "" {
		gh = web.NewGitHubHandler(sec.github, a.Store(), func(repo string) web.GitHubRepoSettings { return githubSettings(a.Config(), repo) }, kick, a.log)
	}
	return events, gh
}

// githubSettings reads a repository's settings from the github source that
// lists it (the first one), or returns the defaults; the rule is the poll's.
func githubSettings(cfg *board.Config, repo string) web.GitHubRepoSettings {
	for _, s := range cfg.Sources {
		if s.Kind == "github" && slices.ContainsFunc(s.Repos, func(r string) bool { return strings.EqualFold(r, repo) }) {
			return github.SettingsOf(s, repo)
		}
	}
	return web.GitHubRepoSettings{}
}
