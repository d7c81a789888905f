// Package prom is the Prometheus source: it runs a tile's PromQL against
// Prometheus or any server speaking its HTTP API (Thanos, Mimir,
// VictoriaMetrics, Google Managed Prometheus) through the official client
// (github.com/prometheus/client_golang/api/prometheus/v1), and maps the answer
// to a board.Result: an instant query gives a value or one row per series, a
// range query gives a series.
//
// It never turns a missing answer into a number: an empty result is "no data"
// (Value nil), NaN and ±Inf are passed through as such, and every failure is
// an error in words the person looking at the tile can act on. It never logs
// or returns a secret.
package prom

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/api"
	v1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
)

const (
	// maxRows bounds the rows kept from a grouped query; a tile shows a
	// handful and the rest would only fill the store.
	maxRows = 100
	// rangePoints is about how many points a range query asks for.
	rangePoints = 120
)

// maxBody bounds a response body (bytes): a query matching millions of
// series must fail clearly, not exhaust memory. A variable for tests.
var maxBody int64 = 32 << 20

// Source runs PromQL queries against one server. It is safe for concurrent use.
type Source struct {
	api       v1.API
	base      string // URL without credentials, for error messages
	transport *http.Transport
	labels    labelCache
	now       func() time.Time
}

// New builds a source from its config. It checks the URL and loads TLS files
// now (a config mistake); credentials are resolved at every request so that a
// missing variable shows on the tile and a rotated token file is picked up.
func New(cfg board.SourceConfig) (*Source, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("prom: url %q: want http(s)://host[:port][/path]", redactURL(cfg.URL))
	}
	if u.User != nil {
		return nil, errors.New("prom: url: credentials in the URL are refused; use token or basic_auth")
	}
	if cfg.Token != nil && cfg.BasicAuth != nil {
		return nil, errors.New("prom: token and basic_auth are both set; use one")
	}
	if cfg.BasicAuth != nil && cfg.BasicAuth.Username == "" {
		return nil, errors.New("prom: basic_auth: username is empty")
	}
	tlsCfg, err := poller.TLSConfig(cfg.TLS)
	if err != nil {
		return nil, fmt.Errorf("prom: %w", err)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg
	tr.MaxIdleConnsPerHost = 4
	return newSource(cfg, u, tr)
}

// newSource builds the client over next (the network, or a fake in tests).
func newSource(cfg board.SourceConfig, u *url.URL, next http.RoundTripper) (*Source, error) {
	rt := &roundTripper{next: next, token: cfg.Token, basic: cfg.BasicAuth, headers: cfg.Headers}
	c, err := api.NewClient(api.Config{Address: u.String(), RoundTripper: rt})
	if err != nil {
		return nil, fmt.Errorf("prom: url %q: %w", u.String(), err)
	}
	s := &Source{api: v1.NewAPI(c), base: u.String(), now: time.Now}
	if tr, ok := next.(*http.Transport); ok {
		s.transport = tr
	}
	return s, nil
}

// Close drops idle connections.
func (s *Source) Close() error {
	if s.transport != nil {
		s.transport.CloseIdleConnections()
	}
	return nil
}

// CheckQuery is Source.CheckQuery without a source (for `wallboard check`).
func CheckQuery(_ board.TileConfig, q board.Query) error {
	if q.Params != nil {
		return errors.New("a prometheus query is a PromQL string, not a mapping")
	}
	if strings.TrimSpace(q.Text) == "" {
		return errors.New("empty PromQL query")
	}
	if err := checkBrackets(q.Text); err != nil {
		return fmt.Errorf("PromQL: %w", err)
	}
	if _, err := parseLabel(q.Label); err != nil {
		return err
	}
	return nil
}

// checkBrackets finds unbalanced (), [] and {} outside string literals and
// comments: the commonest typo, caught at load time with a position.
func checkBrackets(q string) error {
	var stack []rune
	var pos []int
	var quote rune
	pairs := map[rune]rune{')': '(', ']': '[', '}': '{'}
	for i := 0; i < len(q); i++ {
		c := rune(q[i])
		if quote != 0 {
			switch {
			case c == '\\' && quote != '`':
				i++
			case c == quote:
				quote = 0
			}
			continue
		}
		switch c {
		case '"', '\'', '`':
			quote = c
		case '#':
			for i < len(q) && q[i] != '\n' {
				i++
			}
		case '(', '[', '{':
			stack = append(stack, c)
			pos = append(pos, i)
		case ')', ']', '}':
			if len(stack) == 0 || stack[len(stack)-1] != pairs[c] {
				return fmt.Errorf("unexpected %q at character %d", c, i+1)
			}
			stack, pos = stack[:len(stack)-1], pos[:len(pos)-1]
		}
	}
	if quote != 0 {
		return errors.New("unterminated string")
	}
	if len(stack) > 0 {
		return fmt.Errorf("%q at character %d is never closed", stack[len(stack)-1], pos[len(pos)-1]+1)
	}
	return nil
}

// Fetch runs the query: an instant query when q.Range is 0, else a range
// query over the last q.Range with about rangePoints points.
func (s *Source) Fetch(ctx context.Context, q board.Query) (board.Result, error) {
	if err := CheckQuery(board.TileConfig{}, q); err != nil {
		return board.Result{}, fmt.Errorf("prom: bad query: %w", err)
	}
	tmpl, err := s.labels.get(q.Label)
	if err != nil {
		return board.Result{}, err
	}
	info := &respInfo{}
	ctx = context.WithValue(ctx, respInfoKey{}, info)
	now := s.now()
	var (
		val      model.Value
		warnings v1.Warnings
	)
	var opts []v1.Option
	if dl, ok := ctx.Deadline(); ok {
		// Let the server give up too, rather than evaluate for nobody.
		if d := serverTimeout(time.Until(dl)); d > 0 {
			opts = append(opts, v1.WithTimeout(d))
		}
	}
	// Infos (Prometheus 3 "PromQL info" notes) are not problems and are not shown.
	if q.Range > 0 {
		step := max((q.Range / rangePoints).Truncate(time.Second), time.Second)
		val, warnings, _, err = s.api.QueryRange(ctx, q.Text, v1.Range{Start: now.Add(-q.Range), End: now, Step: step}, opts...)
	} else {
		val, warnings, _, err = s.api.Query(ctx, q.Text, now, opts...)
	}
	if err != nil {
		return board.Result{}, s.fetchError(ctx, err, info)
	}
	res, err := mapValue(val, q.Range > 0, tmpl)
	if err != nil {
		return board.Result{}, err
	}
	res.Warnings = append(res.Warnings, warnings...)
	if res.At.IsZero() {
		res.At = now
	}
	return res, nil
}

// serverTimeout rounds the time left down to what the server can parse: the
// client sends Duration.String(), and Prometheus reads "4s", "1m0s" or
// "999ms" but refuses "4.997s" (no fractions in PromQL durations).
func serverTimeout(left time.Duration) time.Duration {
	if left >= time.Second {
		return left.Truncate(time.Second)
	}
	return left.Truncate(time.Millisecond)
}

// fetchError turns a client error into words for the tile.
func (s *Source) fetchError(ctx context.Context, err error, info *respInfo) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		// The poller words deadline errors itself ("no answer within 10s").
		return fmt.Errorf("prom: %s: %w", s.base, ctxErr)
	}
	var secretErr *secretError
	if errors.As(err, &secretErr) {
		return secretErr
	}
	var tooBig *bodyTooLargeError
	if errors.As(err, &tooBig) {
		return fmt.Errorf("prom: response larger than %d MiB: narrow the query", maxBody>>20)
	}
	code, retry := info.get()
	var apiErr *v1.Error
	if errors.As(err, &apiErr) {
		switch {
		case code == http.StatusUnauthorized || code == http.StatusForbidden:
			return fmt.Errorf("prom: %s refused the credentials (HTTP %d): check token or basic_auth", s.base, code)
		case code == http.StatusNotFound:
			return fmt.Errorf("prom: %s has no Prometheus query API (HTTP 404): check the url (path prefix?)", s.base)
		case (code == http.StatusTooManyRequests || code == http.StatusServiceUnavailable) && retry > 0:
			// Busy with Retry-After: the poller waits at least that long.
			return &poller.RetryError{After: retry, Err: fmt.Errorf("prom: server busy (HTTP %d): retrying in %s", code, retry)}
		case code == http.StatusTooManyRequests:
			return fmt.Errorf("prom: %s is rate limiting (HTTP 429)", s.base)
		}
		typ, msg := apiErr.Type, apiErr.Msg
		if typ == v1.ErrServer || typ == v1.ErrClient {
			// The client only decodes error bodies of 400 and 422; Prometheus
			// answers timeouts with 503 and the same JSON body.
			var body struct {
				ErrorType v1.ErrorType `json:"errorType"`
				Error     string       `json:"error"`
			}
			if json.Unmarshal([]byte(apiErr.Detail), &body) == nil && body.ErrorType != "" && body.Error != "" {
				typ, msg = body.ErrorType, body.Error
			}
		}
		apiErr = &v1.Error{Type: typ, Msg: msg, Detail: apiErr.Detail}
		switch apiErr.Type {
		case v1.ErrBadData:
			return fmt.Errorf("prom: bad query: %s", parseMessage(apiErr.Msg))
		case v1.ErrTimeout:
			return fmt.Errorf("prom: query timed out on the server: %s", apiErr.Msg)
		case v1.ErrCanceled:
			return fmt.Errorf("prom: query canceled on the server: %s", apiErr.Msg)
		case v1.ErrExec:
			return fmt.Errorf("prom: query failed: %s", apiErr.Msg)
		case v1.ErrBadResponse:
			if strings.Contains(apiErr.Msg, `unexpected value type "string"`) {
				return errors.New("prom: the query returns a string, not a number")
			}
			return fmt.Errorf("prom: malformed response from %s: %s", s.base, apiErr.Msg)
		case v1.ErrServer, v1.ErrClient:
			return fmt.Errorf("prom: %s answered HTTP %d: %s", s.base, code, firstLine(apiErr.Detail, apiErr.Msg))
		}
		return fmt.Errorf("prom: %s: %s", s.base, apiErr.Error())
	}
	var netErr *net.OpError
	if errors.As(err, &netErr) {
		return fmt.Errorf("prom: %s unreachable: %v", s.base, netErr)
	}
	return fmt.Errorf("prom: %s: %w", s.base, unwrapURLError(err))
}

// unwrapURLError drops *url.Error's "Post <full url>": the URL carries the
// query, which the tile already shows.
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// parseMessage shortens Prometheus' bad_data message
// `invalid parameter "query": 1:5: parse error: unexpected ...` to
// `parse error: unexpected ... (at 1:5)`.
func parseMessage(msg string) string {
	msg = strings.TrimPrefix(msg, `invalid parameter "query": `)
	if loc, rest, ok := strings.Cut(msg, ": parse error: "); ok && isPosition(loc) {
		return "parse error: " + rest + " (at " + loc + ")"
	}
	return msg
}

// isPosition matches "line:col" and "line:col-line:col" (positions as the
// PromQL parser prints them).
func isPosition(s string) bool {
	if s == "" || len(s) > 40 {
		return false
	}
	for _, c := range s {
		if (c < '0' || c > '9') && c != ':' && c != '-' {
			return false
		}
	}
	return strings.Contains(s, ":")
}

func firstLine(detail, fallback string) string {
	detail = strings.TrimSpace(detail)
	if detail == "" {
		return fallback
	}
	line, _, _ := strings.Cut(detail, "\n")
	if len(line) > 200 {
		line = line[:200] + "…"
	}
	return line
}

// mapValue turns the client's model.Value into a board.Result.
func mapValue(val model.Value, ranged bool, tmpl *labelTemplate) (board.Result, error) {
	switch v := val.(type) {
	case nil:
		return board.Result{}, errors.New("prom: malformed response: no result")
	case *model.Scalar:
		if v == nil {
			return board.Result{}, errors.New("prom: malformed response: empty scalar")
		}
		return board.Result{Value: board.F(float64(v.Value)), At: v.Timestamp.Time()}, nil
	case model.Vector:
		return mapVector(v, tmpl), nil
	case model.Matrix:
		if !ranged {
			return board.Result{}, errors.New("prom: the query returns a range vector (it ends in [duration]): wrap it in a function such as rate() or use a timeseries tile")
		}
		return mapMatrix(v, tmpl), nil
	case *model.String:
		return board.Result{}, errors.New("prom: the query returns a string, not a number")
	}
	return board.Result{}, fmt.Errorf("prom: malformed response: unexpected result type %s", val.Type())
}

// mapVector: no sample is no data; one sample is the value (and a row, so a
// list tile of a grouped query with one group still shows it); several are
// rows, sorted by value, highest first.
func mapVector(vec model.Vector, tmpl *labelTemplate) board.Result {
	var res board.Result
	if len(vec) == 0 {
		return res
	}
	rows := make([]board.Row, 0, len(vec))
	var latest time.Time
	for _, s := range vec {
		if s == nil {
			continue
		}
		at := s.Timestamp.Time()
		if at.After(latest) {
			latest = at
		}
		rows = append(rows, board.Row{Label: tmpl.format(s.Metric), Value: board.F(float64(s.Value)), At: at})
	}
	if len(rows) == 1 {
		res.Value = rows[0].Value
	}
	res.Rows, res.Warnings = limitRows(sortRows(rows))
	res.At = latest
	return res
}

// mapMatrix: one series is the series and its last point the value; several
// give a row per series (last value) and the series of the highest one, with
// a warning saying which one is drawn.
func mapMatrix(m model.Matrix, tmpl *labelTemplate) board.Result {
	var res board.Result
	type ser struct {
		row    board.Row
		points []board.Point
	}
	var all []ser
	for _, ss := range m {
		if ss == nil || len(ss.Values) == 0 {
			continue
		}
		pts := make([]board.Point, len(ss.Values))
		for i, p := range ss.Values {
			pts[i] = board.Point{T: p.Timestamp.Time(), V: float64(p.Value)}
		}
		last := pts[len(pts)-1]
		all = append(all, ser{row: board.Row{Label: tmpl.format(ss.Metric), Value: board.F(last.V), At: last.T}, points: pts})
	}
	if len(all) == 0 {
		return res
	}
	if len(all) == 1 {
		res.Series = all[0].points
		last := res.Series[len(res.Series)-1]
		res.Value, res.At = board.F(last.V), last.T
		return res
	}
	slices.SortStableFunc(all, func(a, b ser) int { return compareRows(a.row, b.row) })
	rows := make([]board.Row, len(all))
	for i, s := range all {
		rows[i] = s.row
	}
	res.Series = all[0].points
	res.Rows, res.Warnings = limitRows(rows)
	res.At = rows[0].At
	res.Warnings = append(res.Warnings, fmt.Sprintf("%d series: drawing %s; aggregate (sum, max) to draw one", len(rows), rows[0].Label))
	return res
}

// sortRows orders by value, highest first; NaN last; ties by label so the
// order is stable from poll to poll.
func sortRows(rows []board.Row) []board.Row {
	slices.SortStableFunc(rows, compareRows)
	return rows
}

func compareRows(a, b board.Row) int {
	nan := func(r board.Row) bool { return r.Value == nil || math.IsNaN(*r.Value) }
	switch na, nb := nan(a), nan(b); {
	case na && nb:
		return strings.Compare(a.Label, b.Label)
	case na:
		return 1
	case nb:
		return -1
	}
	if c := cmp.Compare(*b.Value, *a.Value); c != 0 {
		return c
	}
	return strings.Compare(a.Label, b.Label)
}

func limitRows(rows []board.Row) ([]board.Row, []string) {
	if len(rows) <= maxRows {
		return rows, nil
	}
	return rows[:maxRows], []string{fmt.Sprintf("%d series: showing the top %d", len(rows), maxRows)}
}

// respInfo carries what the client library does not return: the HTTP status
// and Retry-After of the last response of one Fetch.
type respInfo struct {
	mu    sync.Mutex
	code  int
	retry time.Duration
}

type respInfoKey struct{}

func (i *respInfo) set(code int, retry time.Duration) {
	i.mu.Lock()
	i.code, i.retry = code, retry
	i.mu.Unlock()
}

func (i *respInfo) get() (int, time.Duration) {
	i.mu.Lock()
	defer i.mu.Unlock()
	return i.code, i.retry
}

// roundTripper adds credentials and headers, bounds the body, and records the
// status and Retry-After for fetchError.
type roundTripper struct {
	next    http.RoundTripper
	token   *board.Secret
	basic   *board.BasicAuth
	headers map[string]string
}

// secretError says which secret could not be read, never its value.
type secretError struct{ what, msg string }

func (e *secretError) Error() string { return "prom: " + e.what + ": " + e.msg }

func (rt *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	for k, v := range rt.headers {
		req.Header.Set(k, v)
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "wallboard")
	}
	switch {
	case rt.token != nil:
		tok, err := rt.token.Resolve()
		if err != nil {
			return nil, &secretError{what: "token", msg: err.Error()}
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	case rt.basic != nil:
		pw, err := rt.basic.Password.Resolve()
		if err != nil {
			return nil, &secretError{what: "basic_auth.password", msg: err.Error()}
		}
		req.SetBasicAuth(rt.basic.Username, pw)
	}
	resp, err := rt.next.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if info, ok := req.Context().Value(respInfoKey{}).(*respInfo); ok {
		info.set(resp.StatusCode, retryAfter(resp.Header.Get("Retry-After"), time.Now()))
	}
	resp.Body = &limitedBody{rc: resp.Body, left: maxBody}
	return resp, nil
}

// retryAfter parses Retry-After (seconds or an HTTP date); 0 when absent or bad.
func retryAfter(h string, now time.Time) time.Duration {
	h = strings.TrimSpace(h)
	if h == "" {
		return 0
	}
	if n, err := strconv.Atoi(h); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, 3600)) * time.Second
	}
	if t, err := http.ParseTime(h); err == nil && t.After(now) {
		return min(t.Sub(now), time.Hour)
	}
	return 0
}

type bodyTooLargeError struct{}

func (*bodyTooLargeError) Error() string { return "response body too large" }

// limitedBody fails (instead of silently truncating) past its limit.
type limitedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *limitedBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		// Probe for one more byte: exactly at the limit is fine.
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, &bodyTooLargeError{}
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *limitedBody) Close() error { return b.rc.Close() }

// redactURL removes userinfo from a URL for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable)"
	}
	return u.Redacted()
}
