package app

import (
	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/poller/gcm"
)

// newGCMSource builds a "gcm" source: Google Cloud Monitoring.
func newGCMSource(a *App, cfg board.SourceConfig) (poller.Source, error) {
	return gcm.New(cfg, a.log)
}
