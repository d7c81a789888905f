package app

import (
	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/poller/gcm"
)

func init() {
	kinds["gcm"] = sourceKind{
		New: func(a *App, cfg board.SourceConfig) (poller.Source, error) {
			return gcm.New(cfg, a.Logger())
		},
		Check: gcm.CheckQuery,
	}
}
