package app

import (
	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/poller/prom"
)

func init() {
	kinds["prometheus"] = sourceKind{
		New: func(_ *App, cfg board.SourceConfig) (poller.Source, error) {
			return prom.New(cfg)
		},
		Check: prom.CheckQuery,
	}
}
