package github

import (
	"fmt"
	"net/http"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
)

// transportFor is the HTTP transport for a GitHub Enterprise server with a
// private CA or client certificates (tls:), plus any extra headers:.
func transportFor(cfg board.SourceConfig) (http.RoundTripper, error) {
	base := http.DefaultTransport.(*http.Transport).Clone()
	tc, err := poller.TLSConfig(cfg.TLS)
	if err != nil {
		return nil, fmt.Errorf("github: %w", err)
	}
	if tc != nil {
		base.TLSClientConfig = tc
	}
	if len(cfg.Headers) == 0 {
		return base, nil
	}
	return headerTransport{next: base, headers: cfg.Headers}, nil
}

type headerTransport struct {
	next    http.RoundTripper
	headers map[string]string
}

func (t headerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	for k, v := range t.headers {
		req.Header.Set(k, v)
	}
	return t.next.RoundTrip(req)
}
