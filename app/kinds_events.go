package app

import (
	"fmt"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/fourkeys"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/store"
)

// newEventsSource builds an "events" source: the Four Keys from whatever
// the webhooks stored (generic events and GitHub). It has no backend of its
// own to poll.
func newEventsSource(a *App, cfg board.SourceConfig) (poller.Source, error) {
	set, err := board.FourKeysOf(cfg)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	return &store.FourKeysComputer{Store: a.Store(), Scope: fourkeys.Scope{Service: cfg.Service}, PostmortemLabel: cfg.PostmortemLabel, Settings: set}, nil
}
