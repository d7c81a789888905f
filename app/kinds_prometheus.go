package app

import (
	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/poller/prom"
)

// newPrometheusSource builds a "prometheus" source: PromQL tiles against
// Prometheus and servers speaking its query API (docs/prometheus.md).
func newPrometheusSource(_ *App, cfg board.SourceConfig) (poller.Source, error) {
	s, err := prom.New(cfg)
	if err != nil {
		return nil, err // not a typed nil inside the interface
	}
	return s, nil
}
