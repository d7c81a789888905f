package web

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the board's own Prometheus metrics, on a registry of their own
// so that tests can run several servers in one process.
type Metrics struct {
	Registry       *prometheus.Registry
	Viewers        prometheus.Gauge
	Polls          *prometheus.CounterVec
	pollErrors     *prometheus.CounterVec
	pollSeconds    *prometheus.HistogramVec
	bytesPushed    prometheus.Counter
	messagesPushed prometheus.Counter
	renderSeconds  prometheus.Histogram
	renderErrors   prometheus.Counter
	StoreErrors    prometheus.Counter
}

// NewMetrics registers every metric on a new registry.
func NewMetrics() *Metrics {
	r := prometheus.NewRegistry()
	m := &Metrics{
		Registry: r,
		Viewers:  prometheus.NewGauge(prometheus.GaugeOpts{Name: "wallboard_viewers", Help: "Screens connected by websocket."}),
		Polls:    prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wallboard_polls_total", Help: "Polls of sources, by source id."}, []string{"source"}),
		pollErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "wallboard_poll_errors_total", Help: "Failed polls, by source id."},
			[]string{"source"}),
		pollSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "wallboard_poll_duration_seconds", Help: "Time a poll took, by source id.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 10)}, []string{"source"}),
		bytesPushed:    prometheus.NewCounter(prometheus.CounterOpts{Name: "wallboard_pushed_bytes_total", Help: "Payload bytes written to screens (before compression)."}),
		messagesPushed: prometheus.NewCounter(prometheus.CounterOpts{Name: "wallboard_pushed_messages_total", Help: "Websocket messages written to screens."}),
		renderSeconds: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "wallboard_render_duration_seconds", Help: "Time to render one fragment.",
			Buckets: prometheus.ExponentialBuckets(0.00001, 3, 10)}),
		renderErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "wallboard_render_errors_total", Help: "Fragments that failed to render (not sent)."}),
		StoreErrors:  prometheus.NewCounter(prometheus.CounterOpts{Name: "wallboard_store_errors_total", Help: "Failed writes to the SQLite store."}),
	}
	r.MustRegister(m.Viewers, m.Polls, m.pollErrors, m.pollSeconds, m.bytesPushed, m.messagesPushed,
		m.renderSeconds, m.renderErrors, m.StoreErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// handler serves the metrics in the Prometheus text format.
func (m *Metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}
