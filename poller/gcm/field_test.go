package gcm

import (
	"context"
	"errors"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// aggregating answers like Cloud Monitoring does: with a cross-series
// reducer, the series are summed per group of the request's group_by fields
// and keep only those labels (no group_by: one series without labels).
// Without a reducer the series come back as they are. pick chooses the
// stored series a request's filter selects.
func aggregating(pick func(filter string) []*monitoringpb.TimeSeries) func(context.Context, int, *monitoringpb.ListTimeSeriesRequest) (*monitoringpb.ListTimeSeriesResponse, error) {
	return func(_ context.Context, _ int, req *monitoringpb.ListTimeSeriesRequest) (*monitoringpb.ListTimeSeriesResponse, error) {
		in := pick(req.GetFilter())
		agg := req.GetAggregation()
		if agg.GetCrossSeriesReducer() == monitoringpb.Aggregation_REDUCE_NONE {
			return &monitoringpb.ListTimeSeriesResponse{TimeSeries: in}, nil
		}
		type group struct {
			ml, rl map[string]string
			sums   map[int64]float64
		}
		groups := map[string]*group{}
		var order []string
		for _, ts := range in {
			ml, rl := map[string]string{}, map[string]string{}
			var key []string
			for _, f := range agg.GetGroupByFields() {
				f = normField(f)
				switch {
				case strings.HasPrefix(f, "metric.label."):
					k := strings.TrimPrefix(f, "metric.label.")
					ml[k] = ts.GetMetric().GetLabels()[k]
					key = append(key, f+"="+ml[k])
				case strings.HasPrefix(f, "resource.label."):
					k := strings.TrimPrefix(f, "resource.label.")
					rl[k] = ts.GetResource().GetLabels()[k]
					key = append(key, f+"="+rl[k])
				}
			}
			k := strings.Join(key, ",")
			g := groups[k]
			if g == nil {
				g = &group{ml: ml, rl: rl, sums: map[int64]float64{}}
				groups[k] = g
				order = append(order, k)
			}
			for _, p := range ts.GetPoints() {
				v := p.GetValue().GetDoubleValue() + float64(p.GetValue().GetInt64Value())
				g.sums[p.GetInterval().GetEndTime().AsTime().Unix()] += v
			}
		}
		var out []*monitoringpb.TimeSeries
		for _, k := range order {
			g := groups[k]
			var ends []int64
			for e := range g.sums {
				ends = append(ends, e)
			}
			sort.Slice(ends, func(i, j int) bool { return ends[i] > ends[j] }) // newest first, as the API sends them
			var pts []*monitoringpb.Point
			for _, e := range ends {
				pts = append(pts, pt(time.Unix(e, 0).UTC(), dbl(g.sums[e])))
			}
			out = append(out, series1(g.ml, g.rl, pts...))
		}
		return &monitoringpb.ListTimeSeriesResponse{TimeSeries: out}, nil
	}
}

// Issue 12 point 7: a ratio written by hand (not a preset) whose numerator
// is the denominator plus one label restriction is one call grouped by that
// label; against an API that keeps only the group_by labels, its value is
// the share of the numerator, not 0.
func TestHandWrittenOneCallRatioValue(t *testing.T) {
	f, s := setup(t)
	byClass := func(class, service string, v float64) *monitoringpb.TimeSeries {
		return series1(map[string]string{"response_code_class": class, "response_code": class[:1] + "00"},
			map[string]string{"service_name": service, "revision_name": service + "-001"}, pt(at(9), dbl(v)), pt(at(8), dbl(v)))
	}
	stored := []*monitoringpb.TimeSeries{byClass("2xx", "api", 90), byClass("4xx", "api", 6), byClass("5xx", "api", 4)}
	f.setSeries(aggregating(func(string) []*monitoringpb.TimeSeries { return stored }))
	den := `metric.type = "run.googleapis.com/request_count" AND resource.label.service_name = "api"`
	for _, num := range []string{
		den + ` AND metric.label.response_code_class = "5xx"`,
		den + ` AND metric.label.response_code_class = one_of("5xx")`,
		den + ` AND metric.labels.response_code_class = one_of("4xx", "5xx")`,
	} {
		before := f.calls()
		res, err := s.Fetch(context.Background(), query(map[string]any{"numerator": num, "denominator": den}))
		if err != nil {
			t.Fatal(err)
		}
		want := 0.04
		if strings.Contains(num, "4xx") {
			want = 0.10
		}
		if res.Value == nil || math.Abs(*res.Value-want) > 1e-12 {
			var got any = res.Value
			if res.Value != nil {
				got = *res.Value
			}
			t.Errorf("numerator %s: value %v (rows %+v), want %v", num, got, res.Rows, want)
		}
		if n := f.calls() - before; n != 1 {
			t.Errorf("numerator %s: %d calls, want 1", num, n)
		}
		last := f.requests()[f.calls()-1]
		if g := last.GetAggregation().GetGroupByFields(); len(g) != 1 || normField(g[0]) != "metric.label.response_code_class" {
			t.Errorf("numerator %s: group_by %v, want the ratio's label", num, g)
		}
	}

	// With a group_by of its own: one ratio per group, the label added to it.
	stored = append(stored, byClass("2xx", "web", 50), byClass("5xx", "web", 50))
	res, err := s.Fetch(context.Background(), query(map[string]any{"numerator": `metric.type = "run.googleapis.com/request_count" AND metric.label.response_code_class = "5xx"`,
		"denominator": `metric.type = "run.googleapis.com/request_count"`, "group_by": []any{"resource.label.service_name"}}))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, r := range res.Rows {
		if r.Value != nil {
			got[r.Label] = *r.Value
		}
	}
	if len(got) != 2 || math.Abs(got["api"]-0.04) > 1e-12 || math.Abs(got["web"]-0.5) > 1e-12 {
		t.Errorf("grouped hand-written ratio: rows %+v, want api 0.04 and web 0.5", res.Rows)
	}
}

// Issue 12 point 8: a two-call ratio joins numerator and denominator on the
// group_by labels only; without group_by, one series each (summed), so a
// numerator with a label the denominator lacks still divides.
func TestTwoCallRatioJoinsOnGroupByOnly(t *testing.T) {
	f, s := setup(t)
	errs := []*monitoringpb.TimeSeries{
		series1(map[string]string{"code": "500"}, map[string]string{"service_name": "api"}, pt(at(9), dbl(3))),
		series1(map[string]string{"code": "503"}, map[string]string{"service_name": "api"}, pt(at(9), dbl(2))),
		series1(map[string]string{"code": "500"}, map[string]string{"service_name": "web"}, pt(at(9), dbl(10))),
	}
	reqs := []*monitoringpb.TimeSeries{
		series1(nil, map[string]string{"service_name": "api"}, pt(at(9), dbl(100))),
		series1(nil, map[string]string{"service_name": "web"}, pt(at(9), dbl(20))),
	}
	pick := func(filter string) []*monitoringpb.TimeSeries {
		if strings.Contains(filter, "errors") {
			return errs
		}
		return reqs
	}
	// The series as stored (reducer: none): the numerator's series have a
	// code label the denominator's lack.
	f.setSeries(aggregating(pick))
	num, den := `metric.type = "custom.googleapis.com/errors"`, `metric.type = "custom.googleapis.com/requests"`
	res, err := s.Fetch(context.Background(), query(map[string]any{"numerator": num, "denominator": den, "reducer": "REDUCE_NONE", "aligner": "ALIGN_RATE"}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Value == nil || math.Abs(*res.Value-15.0/120) > 1e-12 {
		t.Errorf("no group_by: value %v rows %+v, want 15/120 (one series each)", res.Value, res.Rows)
	}
	res, err = s.Fetch(context.Background(), query(map[string]any{"numerator": num, "denominator": den, "reducer": "REDUCE_NONE", "aligner": "ALIGN_RATE",
		"group_by": []any{"resource.label.service_name"}}))
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]float64{}
	for _, r := range res.Rows {
		if r.Value != nil {
			got[r.Label] = *r.Value
		}
	}
	if len(got) != 2 || math.Abs(got["api"]-0.05) > 1e-12 || math.Abs(got["web"]-0.5) > 1e-12 {
		t.Errorf("group_by service: rows %+v, want api 5/100 and web 10/20", res.Rows)
	}
}

// Issue 12 point 10: on UNAVAILABLE the client retries a bounded, small
// number of times inside one poll (the poller backs off between polls), and
// the error names the cause instead of running into the poll's timeout.
func TestUnavailableIsBoundedAndNamed(t *testing.T) {
	f, s := setup(t)
	f.setSeries(func(context.Context, int, *monitoringpb.ListTimeSeriesRequest) (*monitoringpb.ListTimeSeriesResponse, error) {
		return nil, status.Error(codes.Unavailable, "connection reset by peer")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	_, err := s.Fetch(ctx, query(map[string]any{"filter": `metric.type = "x"`}))
	t.Logf("UNAVAILABLE poll took %s, %d calls", time.Since(start), f.calls())
	if err == nil || !strings.Contains(err.Error(), "UNAVAILABLE") || !strings.Contains(err.Error(), "connection reset by peer") {
		t.Errorf("err = %v, want it to name UNAVAILABLE and the server's message", err)
	}
	if errors.Is(err, context.DeadlineExceeded) || ctx.Err() != nil {
		t.Errorf("the poll ran into its deadline: %v", err)
	}
	if n := f.calls(); n < 2 || n > maxAttempts {
		t.Errorf("%d calls in one poll, want a retry but at most %d", n, maxAttempts)
	}
}
