package app

import (
	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/fourkeys"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/poller/keysrc"
)

// Source kind "events": the Four Keys from whatever the webhooks stored
// (generic events and GitHub). It has no backend of its own to poll.
func init() {
	kinds["events"] = sourceKind{
		New: func(a *App, cfg board.SourceConfig) (poller.Source, error) {
			return &keysrc.Computer{Store: a.Store(), Scope: fourkeys.Scope{Service: cfg.Service}, PostmortemLabel: cfg.PostmortemLabel}, nil
		},
		Check: keysrc.CheckQuery,
	}
}
