package prom

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/prometheus/common/model"

	"github.com/wallboard/wallboard/board"
)

// FuzzFormatLabel: whatever the template in the config and whatever labels
// the server sends, a row gets a bounded, non-empty label and nothing panics.
func FuzzFormatLabel(f *testing.F) {
	f.Add("{{.service}}", "service", "api")
	f.Add("{{.service}} in {{.region}}", "region", "eu-west-1")
	f.Add("", "__name__", "up")
	f.Add("{{index . \"__name__\"}}/{{.job}}", "job", "node")
	f.Add("{{range $k, $v := .}}{{$k}}={{$v}} {{end}}", "a", strings.Repeat("x", 300))
	f.Add("{{.missing}}", "service", "日本語")
	f.Add("{{define \"r\"}}{{template \"r\" .}}{{end}}{{template \"r\" .}}", "a", "b")
	f.Fuzz(func(t *testing.T, text, name, value string) {
		tmpl, err := parseLabel(text)
		if err != nil {
			return // refused at config load
		}
		m := model.Metric{model.LabelName(name): model.LabelValue(value)}
		got := tmpl.format(m)
		if got == "" {
			t.Fatalf("empty label for template %q and %v", text, m)
		}
		if len(got) > maxLabel+len("…") && got != labelSet(m) {
			t.Fatalf("label of %d bytes: %q", len(got), got)
		}
		if utf8.ValidString(text) && utf8.ValidString(value) && utf8.ValidString(name) && !utf8.ValidString(got) {
			t.Fatalf("invalid UTF-8 from valid input: %q", got)
		}
	})
}

// bodyTransport answers every request with one body, without a network.
type bodyTransport struct {
	status int
	body   []byte
}

func (b bodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: b.status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(b.body)), Request: r}, nil
}

// FuzzDecodeResponse: any answer from a server (through the official client
// and our mapping) gives a result or an error, never a panic, and a result
// never invents a value: rows are sorted, and no data stays nil.
func FuzzDecodeResponse(f *testing.F) {
	seeds := []string{
		success("vector", `[{"metric":{"service":"api"},"value":[1700000000,"42"]}]`),
		success("vector", `[{"metric":{"a":"1"},"value":[1,"NaN"]},{"metric":{"a":"2"},"value":[1,"+Inf"]},{"metric":{"a":"3"},"value":[1,"-1"]}]`),
		success("vector", `[]`),
		success("matrix", `[{"metric":{},"values":[[1,"1"],[2,"2"]]},{"metric":{"x":"y"},"values":[]}]`),
		success("scalar", `[1700000000,"3"]`),
		success("string", `[1,"s"]`),
		`{"status":"success","warnings":["w"],"data":{"resultType":"vector","result":null}}`,
		`{"status":"error","errorType":"bad_data","error":"1:1: parse error: x"}`,
		`{"status":"success","data":{"resultType":"vector","result":[null]}}`,
		`{"status":"success","data":{"resultType":"matrix","result":[null]}}`,
		`{"status":"success","data":{"resultType":"scalar","result":null}}`,
		`{"status":"success","data":{"resultType":"vector","result":[{"histogram":[1,{"count":"1","sum":"1"}]}]}}`,
		// Answers of Debian's Prometheus 2.42, verbatim.
		`{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:9: parse error: unexpected end of input"}`,
		`{"status":"error","errorType":"bad_data","error":"invalid parameter \"timeout\": cannot parse \"1.997s\" to a valid duration"}`,
		`{"status":"success","data":{"resultType":"scalar","result":[1795622585.796,"1"]}}`,
		`[]`, `null`, ``,
	}
	for _, s := range seeds {
		f.Add(200, []byte(s), false, "")
		f.Add(422, []byte(s), true, "{{.a}}")
	}
	u, _ := url.Parse("http://prom.test")
	f.Fuzz(func(t *testing.T, status int, body []byte, ranged bool, label string) {
		if status < 100 || status > 599 {
			return
		}
		s, err := newSource(board.SourceConfig{}, u, bodyTransport{status: status, body: body})
		if err != nil {
			t.Fatal(err)
		}
		q := board.Query{Text: "x", Label: label}
		if ranged {
			q.Range = time.Minute
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		res, err := s.Fetch(ctx, q)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "prom: ") {
				t.Fatalf("error without prefix: %v", err)
			}
			return
		}
		if status/100 != 2 {
			t.Fatalf("HTTP %d gave a result: %+v", status, res)
		}
		for i := 1; i < len(res.Rows); i++ {
			a, b := *res.Rows[i-1].Value, *res.Rows[i].Value
			if b > a {
				t.Fatalf("rows not sorted: %v before %v", a, b)
			}
		}
		if len(res.Rows) > maxRows {
			t.Fatalf("%d rows", len(res.Rows))
		}
	})
}
