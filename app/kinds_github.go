package app

import (
	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/poller/github"
	"github.com/wallboard/wallboard/poller/keysrc"
)

// Source kind "github": deployments, changes and incident issues polled
// from GitHub (or GitHub Enterprise at url:) into the store.
func init() {
	kinds["github"] = sourceKind{
		New: func(a *App, cfg board.SourceConfig) (poller.Source, error) {
			return github.New(cfg, a.Store(), nil)
		},
		Check: keysrc.CheckQuery,
	}
}
