package app

import (
	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/poller/github"
)

// newGitHubSource builds a "github" source: deployments, changes and
// incident issues polled from GitHub (or GitHub Enterprise at url:) into the
// store.
func newGitHubSource(a *App, cfg board.SourceConfig) (poller.Source, error) {
	return github.New(cfg, a.Store(), nil)
}
