package prom

import (
	"context"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"log"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"go.uber.org/goleak"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
)

// fakeProm is an httptest Prometheus API: it answers every query with the
// status and body the test sets, and records the requests it got.
type fakeProm struct {
	srv *httptest.Server

	mu      sync.Mutex
	status  int
	body    string
	header  http.Header
	got     []*http.Request
	form    []map[string]string
	handler http.HandlerFunc // when set, answers instead
}

func newFake(t *testing.T) *fakeProm {
	t.Helper()
	f := &fakeProm{status: http.StatusOK, header: http.Header{}}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.got = append(f.got, r.Clone(context.Background()))
		form := map[string]string{"path": r.URL.Path}
		for k := range r.Form {
			form[k] = r.Form.Get(k)
		}
		f.form = append(f.form, form)
		h, status, body := f.handler, f.status, f.body
		for k, v := range f.header {
			w.Header()[k] = v
		}
		f.mu.Unlock()
		if h != nil {
			h(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeProm) answer(status int, body string) {
	f.mu.Lock()
	f.status, f.body = status, body
	f.mu.Unlock()
}

func (f *fakeProm) last(t *testing.T) (*http.Request, map[string]string) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.got) == 0 {
		t.Fatal("the server got no request")
	}
	return f.got[len(f.got)-1], f.form[len(f.form)-1]
}

func (f *fakeProm) source(t *testing.T, cfg board.SourceConfig) *Source {
	t.Helper()
	cfg.URL = f.srv.URL
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func fetch(t *testing.T, s *Source, q board.Query) (board.Result, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return s.Fetch(ctx, q)
}

func success(resultType, result string) string {
	return `{"status":"success","data":{"resultType":"` + resultType + `","result":` + result + `}}`
}

func TestAuthAndHeadersAreSent(t *testing.T) {
	pwFile := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pwFile, []byte("s3cret pass\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("WB_TEST_PROM_TOKEN", "tok-123")
	cases := []struct {
		name  string
		cfg   board.SourceConfig
		check func(t *testing.T, r *http.Request)
	}{
		{"bearer token", board.SourceConfig{Token: &board.Secret{Env: "WB_TEST_PROM_TOKEN"}}, func(t *testing.T, r *http.Request) {
			if got := r.Header.Get("Authorization"); got != "Bearer tok-123" {
				t.Errorf("Authorization = %q, want the bearer token", got)
			}
		}},
		{"basic auth", board.SourceConfig{BasicAuth: &board.BasicAuth{Username: "wall", Password: &board.Secret{File: pwFile}}}, func(t *testing.T, r *http.Request) {
			u, p, ok := r.BasicAuth()
			if !ok || u != "wall" || p != "s3cret pass" {
				t.Errorf("basic auth = %q %q %v, want wall / the file's password", u, p, ok)
			}
		}},
		{"custom headers", board.SourceConfig{Headers: map[string]string{"X-Scope-OrgID": "team-a", "X-Extra": "1"}}, func(t *testing.T, r *http.Request) {
			if r.Header.Get("X-Scope-OrgID") != "team-a" || r.Header.Get("X-Extra") != "1" {
				t.Errorf("headers = %v, want X-Scope-OrgID and X-Extra", r.Header)
			}
			if r.Header.Get("Authorization") != "" {
				t.Errorf("Authorization sent without credentials configured: %q", r.Header.Get("Authorization"))
			}
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.answer(200, success("scalar", `[1700000000,"1"]`))
			s := f.source(t, tc.cfg)
			if _, err := fetch(t, s, board.Query{Text: "1"}); err != nil {
				t.Fatal(err)
			}
			r, form := f.last(t)
			if form["query"] != "1" || form["path"] != "/api/v1/query" {
				t.Errorf("request = %v, want an instant query of 1", form)
			}
			tc.check(t, r)
		})
	}
}

func TestMissingSecretIsNamedOnTheTile(t *testing.T) {
	f := newFake(t)
	f.answer(200, success("scalar", `[1700000000,"1"]`))
	s := f.source(t, board.SourceConfig{Token: &board.Secret{Env: "WB_TEST_PROM_UNSET_VAR"}})
	_, err := fetch(t, s, board.Query{Text: "1"})
	if err == nil || !strings.Contains(err.Error(), "WB_TEST_PROM_UNSET_VAR") || !strings.HasPrefix(err.Error(), "prom: token:") {
		t.Fatalf("err = %v, want a token error naming the variable", err)
	}
	f.mu.Lock()
	n := len(f.got)
	f.mu.Unlock()
	if n != 0 {
		t.Errorf("%d requests sent without the credentials", n)
	}
}

func TestTimeoutReturnsAndLeaksNothing(t *testing.T) {
	f := newFake(t)
	release := make(chan struct{})
	f.handler = func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
	s := f.source(t, board.SourceConfig{})
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	res, err := s.Fetch(ctx, board.Query{Text: "up"})
	if err == nil {
		t.Fatalf("Fetch against a server slower than the deadline returned %+v, no error", res)
	}
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("err = %v, want it to wrap context.DeadlineExceeded (the poller words it)", err)
	}
	close(release)
	s.Close()
	f.srv.Close()
}

func TestWarningsAreKept(t *testing.T) {
	f := newFake(t)
	f.answer(200, `{"status":"success","warnings":["partial response: store-2 unreachable"],"data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000,"7"]}]}}`)
	res, err := fetch(t, f.source(t, board.SourceConfig{}), board.Query{Text: "sum(x)"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 1 || res.Warnings[0] != "partial response: store-2 unreachable" {
		t.Errorf("warnings = %q", res.Warnings)
	}
	if res.Value == nil || *res.Value != 7 {
		t.Errorf("value = %v, want 7", res.Value)
	}
}

func TestErrorsInWordsAUserCanActOn(t *testing.T) {
	cases := []struct {
		name   string
		status int
		header map[string]string
		body   string
		want   string // substring of the error
	}{
		{"malformed JSON", 200, nil, `{"status":"success","data":{"resultType":"vector","result":[`, "prom: malformed response from"},
		{"not JSON at all", 200, nil, `<html>login page</html>`, "prom: malformed response from"},
		{"wrong shape", 200, nil, success("vector", `{"a":1}`), "prom: malformed response from"},
		{"unknown result type", 200, nil, success("histogram", `[]`), "prom: malformed response from"},
		{"bad_data 422", 422, nil, `{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:9: parse error: unclosed left parenthesis"}`,
			"prom: bad query: parse error: unclosed left parenthesis (at 1:9)"},
		{"bad_data 400", 400, nil, `{"status":"error","errorType":"bad_data","error":"exceeded maximum resolution of 11,000 points per timeseries"}`,
			"prom: bad query: exceeded maximum resolution"},
		{"execution error", 422, nil, `{"status":"error","errorType":"execution","error":"found duplicate series for the match group"}`,
			"prom: query failed: found duplicate series"},
		{"server timeout", 503, nil, `{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}`,
			"prom: query timed out on the server: query timed out in expression evaluation"},
		{"internal error", 500, nil, "upstream exploded\nstack...", "answered HTTP 500: upstream exploded"},
		{"unauthorized", 401, nil, "no", "refused the credentials (HTTP 401): check token or basic_auth"},
		{"wrong path", 404, nil, "404 page not found", "(HTTP 404): check the url"},
		{"429 without Retry-After", 429, nil, "slow down", "rate limiting (HTTP 429)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			for k, v := range tc.header {
				f.header.Set(k, v)
			}
			f.answer(tc.status, tc.body)
			res, err := fetch(t, f.source(t, board.SourceConfig{}), board.Query{Text: "sum(rate(x[5m]))"})
			if err == nil {
				t.Fatalf("no error, result %+v", res)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %q, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	for _, tc := range []struct {
		status int
		header string
		want   time.Duration
	}{
		{429, "30", 30 * time.Second},
		{503, time.Now().Add(2 * time.Minute).UTC().Format(http.TimeFormat), 2 * time.Minute},
	} {
		t.Run(strconv.Itoa(tc.status), func(t *testing.T) {
			f := newFake(t)
			f.header.Set("Retry-After", tc.header)
			f.answer(tc.status, "busy")
			_, err := fetch(t, f.source(t, board.SourceConfig{}), board.Query{Text: "up"})
			var ra poller.RetryAfterError
			if !errors.As(err, &ra) {
				t.Fatalf("err = %v (%T), want a poller.RetryAfterError", err, err)
			}
			// An HTTP date has one-second resolution.
			if d := ra.RetryAfter(); d > tc.want || d < tc.want-2*time.Second {
				t.Errorf("RetryAfter = %s, want about %s", d, tc.want)
			}
			// The poller's ±10 % jitter applies on top.
			if got := poller.NextDelay(time.Second, 1, err, 5*time.Minute); got < tc.want*9/10-2*time.Second {
				t.Errorf("the poller would retry after %s, before Retry-After", got)
			}
		})
	}
}

func TestUnreachable(t *testing.T) {
	f := newFake(t)
	s := f.source(t, board.SourceConfig{})
	f.srv.Close()
	_, err := fetch(t, s, board.Query{Text: "up"})
	if err == nil || !strings.Contains(err.Error(), "unreachable") || !strings.Contains(err.Error(), f.srv.URL) {
		t.Fatalf("err = %v, want 'unreachable' naming the server", err)
	}
}

func TestResponseTooLarge(t *testing.T) {
	old := maxBody
	maxBody = 1024
	t.Cleanup(func() { maxBody = old })
	f := newFake(t)
	f.answer(200, success("vector", `[{"metric":{"x":"`+strings.Repeat("a", 4096)+`"},"value":[1,"1"]}]`))
	_, err := fetch(t, f.source(t, board.SourceConfig{}), board.Query{Text: "x"})
	if err == nil || !strings.Contains(err.Error(), "response larger than") {
		t.Fatalf("err = %v, want 'response larger than'", err)
	}
}

func TestResultTypes(t *testing.T) {
	const ts = 1700000000
	at := time.Unix(ts, 0)
	nan := math.NaN()
	cases := []struct {
		name       string
		q          board.Query
		resultType string
		result     string
		value      *float64 // nil: no data
		rows       []string // "label=value"
		series     int
		warnings   int
		err        string
	}{
		{name: "scalar", q: board.Query{Text: "scalar(x)"}, resultType: "scalar", result: `[1700000000,"3.5"]`, value: board.F(3.5)},
		{name: "one sample", q: board.Query{Text: "x"}, resultType: "vector", result: `[{"metric":{"service":"api"},"value":[1700000000,"42"]}]`,
			value: board.F(42), rows: []string{`{service="api"}=42`}},
		{name: "grouped, sorted, default labels", q: board.Query{Text: "sum by (service) (x)"}, resultType: "vector",
			result: `[{"metric":{"service":"db"},"value":[1700000000,"5"]},{"metric":{"service":"api"},"value":[1700000000,"120"]},{"metric":{"service":"web"},"value":[1700000000,"NaN"]},{"metric":{"service":"edge"},"value":[1700000000,"30"]}]`,
			rows:   []string{`{service="api"}=120`, `{service="edge"}=30`, `{service="db"}=5`, `{service="web"}=NaN`}},
		{name: "grouped with template", q: board.Query{Text: "sum by (service, region) (x)", Label: "{{.service}} in {{.region}}"}, resultType: "vector",
			result: `[{"metric":{"service":"db","region":"eu"},"value":[1700000000,"1"]},{"metric":{"service":"api","region":"us"},"value":[1700000000,"+Inf"]}]`,
			rows:   []string{"api in us=+Inf", "db in eu=1"}},
		{name: "NaN", q: board.Query{Text: "0/0"}, resultType: "vector", result: `[{"metric":{},"value":[1700000000,"NaN"]}]`, value: &nan, rows: []string{"{}=NaN"}},
		{name: "-Inf", q: board.Query{Text: "-1/0"}, resultType: "scalar", result: `[1700000000,"-Inf"]`, value: board.F(math.Inf(-1))},
		{name: "empty vector is no data", q: board.Query{Text: "nonexistent_metric"}, resultType: "vector", result: `[]`},
		{name: "range, one series", q: board.Query{Text: "x", Range: time.Hour}, resultType: "matrix",
			result: `[{"metric":{"job":"a"},"values":[[1699999940,"1"],[1699999970,"2"],[1700000000,"NaN"]]}]`, value: &nan, series: 3},
		{name: "range, empty", q: board.Query{Text: "x", Range: time.Hour}, resultType: "matrix", result: `[]`},
		{name: "range, several series", q: board.Query{Text: "x", Range: time.Hour, Label: "{{.job}}"}, resultType: "matrix",
			result: `[{"metric":{"job":"a"},"values":[[1699999970,"1"],[1700000000,"2"]]},{"metric":{"job":"b"},"values":[[1700000000,"9"]]}]`,
			rows:   []string{"b=9", "a=2"}, series: 1, warnings: 1},
		{name: "range vector in an instant query", q: board.Query{Text: "x[5m]"}, resultType: "matrix", result: `[]`, err: "range vector"},
		{name: "string", q: board.Query{Text: `"a"`}, resultType: "string", result: `[1700000000,"a"]`, err: "string, not a number"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(t)
			f.answer(200, success(tc.resultType, tc.result))
			res, err := fetch(t, f.source(t, board.SourceConfig{}), tc.q)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tc.value == nil && res.Value != nil:
				t.Errorf("value = %v, want no data (nil)", *res.Value)
			case tc.value != nil && res.Value == nil:
				t.Errorf("value = nil, want %v", *tc.value)
			case tc.value != nil && !same(*tc.value, *res.Value):
				t.Errorf("value = %v, want %v", *res.Value, *tc.value)
			}
			var rows []string
			for _, r := range res.Rows {
				rows = append(rows, r.Label+"="+strconv.FormatFloat(*r.Value, 'g', -1, 64))
				if r.Status != "" {
					t.Errorf("row %q has status %q: the board judges rows", r.Label, r.Status)
				}
			}
			// FormatFloat writes +Inf; the table too.
			if strings.Join(rows, ", ") != strings.Join(tc.rows, ", ") {
				t.Errorf("rows = %q, want %q", rows, tc.rows)
			}
			if len(res.Series) != tc.series {
				t.Errorf("series has %d points, want %d", len(res.Series), tc.series)
			}
			if len(res.Warnings) != tc.warnings {
				t.Errorf("warnings = %q, want %d", res.Warnings, tc.warnings)
			}
			if (tc.value != nil || len(tc.rows) > 0) && !res.At.Equal(at) {
				t.Errorf("At = %s, want the sample time %s", res.At, at)
			}
		})
	}
}

func same(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

func TestRangeQueryParameters(t *testing.T) {
	for _, tc := range []struct {
		rng  time.Duration
		step string
	}{
		{time.Hour, "30"},
		{time.Minute, "1"},
		{10 * time.Second, "1"},
	} {
		f := newFake(t)
		f.answer(200, success("matrix", `[]`))
		s := f.source(t, board.SourceConfig{})
		now := time.Unix(1700000000, 0)
		s.now = func() time.Time { return now }
		if _, err := fetch(t, s, board.Query{Text: "up", Range: tc.rng}); err != nil {
			t.Fatal(err)
		}
		_, form := f.last(t)
		start, _ := strconv.ParseFloat(form["start"], 64)
		end, _ := strconv.ParseFloat(form["end"], 64)
		if form["path"] != "/api/v1/query_range" || form["step"] != tc.step || end != 1700000000 || end-start != tc.rng.Seconds() {
			t.Errorf("range %s: request %v, want query_range with step %s over the range ending now", tc.rng, form, tc.step)
		}
		// The server parses it as a PromQL duration, which has no fractions.
		if _, err := model.ParseDuration(form["timeout"]); err != nil {
			t.Errorf("range %s: timeout parameter %q: %v", tc.rng, form["timeout"], err)
		}
	}
}

func TestCheckQuery(t *testing.T) {
	for _, tc := range []struct {
		q    board.Query
		want string // "" = accepted
	}{
		{board.Query{Text: `sum by (service) (rate(http_requests_total{code=~"5.."}[5m]))`}, ""},
		{board.Query{Text: `up{job="a)"} # a comment with ( in it`}, ""},
		{board.Query{Text: "  "}, "empty PromQL query"},
		{board.Query{Params: map[string]any{"filter": "x"}}, "not a mapping"},
		{board.Query{Text: "sum(rate(x[5m])"}, `'(' at character 4 is never closed`},
		{board.Query{Text: "rate(x[5m)]"}, `unexpected ')' at character 10`},
		{board.Query{Text: `up{job="a}`}, "unterminated string"},
		{board.Query{Text: "up", Label: "{{.service"}, "label template"},
	} {
		err := CheckQuery(board.TileConfig{}, tc.q)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v, want accepted", tc.q.Text, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: %v, want %q", tc.q.Text, err, tc.want)
		}
	}
}

func TestNewRefusesBadConfig(t *testing.T) {
	for _, tc := range []struct {
		cfg  board.SourceConfig
		want string
	}{
		{board.SourceConfig{URL: ""}, "want http(s)://"},
		{board.SourceConfig{URL: "prometheus:9090"}, "want http(s)://"},
		{board.SourceConfig{URL: "http://user:pw@h:9090"}, "credentials in the URL"},
		{board.SourceConfig{URL: "http://h", Token: &board.Secret{Env: "A"}, BasicAuth: &board.BasicAuth{Username: "u"}}, "both set"},
		{board.SourceConfig{URL: "http://h", TLS: &board.TLSConfig{CAFile: "/nonexistent/ca.pem"}}, "tls.ca_file"},
		{board.SourceConfig{URL: "http://h", TLS: &board.TLSConfig{CertFile: "c.pem"}}, "go together"},
	} {
		_, err := New(tc.cfg)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("New(%+v) = %v, want %q", tc.cfg, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "pw@") {
			t.Errorf("error %q echoes a password", err)
		}
	}
}

func TestTLS(t *testing.T) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, success("scalar", `[1700000000,"1"]`))
	}))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the refused handshake is expected
	srv.StartTLS()
	t.Cleanup(srv.Close)
	// Without the CA the certificate is refused; with it, the query works.
	s, err := New(board.SourceConfig{URL: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fetch(t, s, board.Query{Text: "1"}); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted certificate: err = %v, want a certificate error", err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pemOf(srv.Certificate().Raw), 0o600); err != nil {
		t.Fatal(err)
	}
	s, err = New(board.SourceConfig{URL: srv.URL, TLS: &board.TLSConfig{CAFile: ca, ServerName: "example.com"}})
	if err != nil {
		t.Fatal(err)
	}
	if res, err := fetch(t, s, board.Query{Text: "1"}); err != nil || res.Value == nil || *res.Value != 1 {
		t.Errorf("with ca_file: %+v, %v", res, err)
	}
}

func pemOf(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestServerTimeoutIsAPromQLDuration(t *testing.T) {
	for _, left := range []time.Duration{4997 * time.Millisecond, 61500 * time.Millisecond, 999900 * time.Microsecond, 2 * time.Hour, time.Millisecond} {
		d := serverTimeout(left)
		if d <= 0 || d > left {
			t.Errorf("serverTimeout(%s) = %s", left, d)
		}
		if _, err := model.ParseDuration(d.String()); err != nil {
			t.Errorf("serverTimeout(%s) = %s, which the server refuses: %v", left, d, err)
		}
	}
}
