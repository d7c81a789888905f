package app

import (
	"fmt"
	"net/http"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/poller/alertmanager"
)

// newAlertmanagerSource builds an "alertmanager" source: the open alerts
// of an Alertmanager, polled.
func newAlertmanagerSource(_ *App, cfg board.SourceConfig) (poller.Source, error) {
	o := alertmanager.Options{URL: cfg.URL, Headers: cfg.Headers}
	var err error
	if o.Token, err = cfg.Token.Resolve(); err != nil {
		return nil, fmt.Errorf("token: %w", err)
	}
	if cfg.BasicAuth != nil {
		o.Username = cfg.BasicAuth.Username
		if o.Password, err = cfg.BasicAuth.Password.Resolve(); err != nil {
			return nil, fmt.Errorf("basic_auth.password: %w", err)
		}
	}
	if cfg.TLS != nil {
		tc, err := poller.TLSConfig(cfg.TLS)
		if err != nil {
			return nil, err
		}
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.TLSClientConfig = tc
		o.Client = &http.Client{Transport: tr}
	}
	return alertmanager.New(o)
}
