package github

import (
	"bytes"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
)

// etagTransport makes every GET conditional: it remembers the ETag and body
// of each URL's last 200 and sends If-None-Match; a 304 (free of rate-limit
// cost on GitHub) is answered from the remembered body. go-github has no
// cache of its own, and a general HTTP cache library would also cache by
// Cache-Control, which GitHub sets to 60 s of staleness we do not want.
type etagTransport struct {
	next http.RoundTripper
	max  int

	mu      sync.Mutex
	entries map[string]etagEntry

	notModified atomic.Int64 // 304s served from the cache (for tests and metrics)
}

type etagEntry struct {
	etag   string
	header http.Header
	body   []byte
}

func newETagTransport(next http.RoundTripper, max int) *etagTransport {
	return &etagTransport{next: next, max: max, entries: map[string]etagEntry{}}
}

func (t *etagTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Method != http.MethodGet {
		return t.next.RoundTrip(req)
	}
	// The key includes the token so two credentials never share a body.
	key := req.Header.Get("Authorization") + " " + req.URL.String()
	t.mu.Lock()
	e, cached := t.entries[key]
	t.mu.Unlock()
	if cached {
		req = req.Clone(req.Context())
		req.Header.Set("If-None-Match", e.etag)
	}
	resp, err := t.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode == http.StatusNotModified && cached:
		resp.Body.Close()
		t.notModified.Add(1)
		h := e.header.Clone()
		for _, k := range []string{"X-Ratelimit-Limit", "X-Ratelimit-Remaining", "X-Ratelimit-Reset", "X-Ratelimit-Used", "Date"} {
			if v := resp.Header.Get(k); v != "" {
				h.Set(k, v)
			}
		}
		return &http.Response{Status: "200 OK", StatusCode: http.StatusOK, Proto: resp.Proto, ProtoMajor: resp.ProtoMajor, ProtoMinor: resp.ProtoMinor,
			Header: h, Body: io.NopCloser(bytes.NewReader(e.body)), ContentLength: int64(len(e.body)), Request: req}, nil
	case resp.StatusCode == http.StatusOK && resp.Header.Get("ETag") != "":
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		t.mu.Lock()
		if len(t.entries) >= t.max {
			for k := range t.entries { // evict one arbitrary entry
				delete(t.entries, k)
				break
			}
		}
		t.entries[key] = etagEntry{etag: resp.Header.Get("ETag"), header: resp.Header.Clone(), body: body}
		t.mu.Unlock()
		resp.Body = io.NopCloser(bytes.NewReader(body))
		return resp, nil
	}
	return resp, nil
}
