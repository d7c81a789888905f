package app

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/poller/alertmanager"
)

func init() {
	kinds["alertmanager"] = sourceKind{
		New: func(a *App, cfg board.SourceConfig) (poller.Source, error) {
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
				tc, err := alertsTLS(cfg.TLS)
				if err != nil {
					return nil, err
				}
				tr := http.DefaultTransport.(*http.Transport).Clone()
				tr.TLSClientConfig = tc
				o.Client = &http.Client{Transport: tr}
			}
			return alertmanager.New(o)
		},
		Check: alertmanager.CheckQuery,
	}
}

// alertsTLS builds the TLS client config of an alertmanager source.
func alertsTLS(c *board.TLSConfig) (*tls.Config, error) {
	tc := &tls.Config{ServerName: c.ServerName, InsecureSkipVerify: c.InsecureSkipVerify}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("tls.ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls.ca_file %s: no PEM certificates in it", c.CAFile)
		}
		tc.RootCAs = pool
	}
	if c.CertFile != "" || c.KeyFile != "" {
		cert, err := tls.LoadX509KeyPair(c.CertFile, c.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("tls.cert_file/key_file: %w", err)
		}
		tc.Certificates = []tls.Certificate{cert}
	}
	return tc, nil
}
