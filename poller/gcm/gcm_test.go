package gcm

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"google.golang.org/genproto/googleapis/api/distribution"
	"google.golang.org/genproto/googleapis/api/metric"
	"google.golang.org/genproto/googleapis/api/monitoredres"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	rpcstatus "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func at(min int) time.Time { return t0.Add(time.Duration(min) * time.Minute) }

func pt(t time.Time, v *monitoringpb.TypedValue) *monitoringpb.Point {
	return &monitoringpb.Point{Interval: &monitoringpb.TimeInterval{StartTime: timestamppb.New(t.Add(-time.Minute)), EndTime: timestamppb.New(t)}, Value: v}
}
func dbl(v float64) *monitoringpb.TypedValue {
	return &monitoringpb.TypedValue{Value: &monitoringpb.TypedValue_DoubleValue{DoubleValue: v}}
}
func i64(v int64) *monitoringpb.TypedValue {
	return &monitoringpb.TypedValue{Value: &monitoringpb.TypedValue_Int64Value{Int64Value: v}}
}
func dist(count int64, mean float64) *monitoringpb.TypedValue {
	return &monitoringpb.TypedValue{Value: &monitoringpb.TypedValue_DistributionValue{DistributionValue: &distribution.Distribution{Count: count, Mean: mean}}}
}

func series1(mlabels, rlabels map[string]string, pts ...*monitoringpb.Point) *monitoringpb.TimeSeries {
	return &monitoringpb.TimeSeries{
		Metric:   &metric.Metric{Type: "run.googleapis.com/request_count", Labels: mlabels},
		Resource: &monitoredres.MonitoredResource{Type: "cloud_run_revision", Labels: rlabels},
		Points:   pts,
	}
}

func respond(series ...*monitoringpb.TimeSeries) func(context.Context, int, *monitoringpb.ListTimeSeriesRequest) (*monitoringpb.ListTimeSeriesResponse, error) {
	return func(context.Context, int, *monitoringpb.ListTimeSeriesRequest) (*monitoringpb.ListTimeSeriesResponse, error) {
		return &monitoringpb.ListTimeSeriesResponse{TimeSeries: series}, nil
	}
}

func query(p map[string]any) board.Query { return board.Query{Source: "gcp", Params: p} }

func setup(t *testing.T) (*fake, *Source) {
	f := &fake{}
	s := newTestSource(t, startFake(t, f), "", 0)
	s.now = func() time.Time { return at(10) }
	return f, s
}

func TestPresetSendsFilterAndAggregation(t *testing.T) {
	f, s := setup(t)
	// Points newest first, as the API sends them.
	f.setSeries(respond(series1(nil, nil, pt(at(9), dbl(12.5)), pt(at(8), dbl(10)))))
	res, err := s.Fetch(context.Background(), query(map[string]any{"preset": "cloudrun_request_rate", "service": "api", "location": "europe-west1"}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Value == nil || *res.Value != 12.5 {
		t.Fatalf("value = %v, want the newest point 12.5", res.Value)
	}
	if !res.At.Equal(at(9)) {
		t.Errorf("at = %v, want the newest point's time %v", res.At, at(9))
	}
	reqs := f.requests()
	if len(reqs) != 1 {
		t.Fatalf("%d calls, want 1", len(reqs))
	}
	r := reqs[0]
	wantFilter := `metric.type = "run.googleapis.com/request_count" AND resource.type = "cloud_run_revision" AND resource.label.service_name = "api" AND resource.label.location = "europe-west1"`
	if r.GetName() != "projects/proj" || r.GetFilter() != wantFilter {
		t.Errorf("name %q filter %q,\nwant projects/proj and %q", r.GetName(), r.GetFilter(), wantFilter)
	}
	if !r.GetInterval().GetEndTime().AsTime().Equal(at(10)) || !r.GetInterval().GetStartTime().AsTime().Equal(at(5)) {
		t.Errorf("interval %v..%v, want the 5 min lookback ending now", r.GetInterval().GetStartTime().AsTime(), r.GetInterval().GetEndTime().AsTime())
	}
	a := r.GetAggregation()
	if a.GetPerSeriesAligner() != monitoringpb.Aggregation_ALIGN_RATE || a.GetCrossSeriesReducer() != monitoringpb.Aggregation_REDUCE_SUM ||
		a.GetAlignmentPeriod().AsDuration() != time.Minute || len(a.GetGroupByFields()) != 0 {
		t.Errorf("aggregation = %v", a)
	}
}

func TestExplicitAggregationAndGroupedRows(t *testing.T) {
	f, s := setup(t)
	f.setSeries(respond(
		series1(nil, map[string]string{"service_name": "api", "location": "eu"}, pt(at(9), dbl(3))),
		series1(nil, map[string]string{"service_name": "web", "location": "us"}, pt(at(9), dbl(7))),
		series1(nil, map[string]string{"service_name": "idle", "location": "us"}),
	))
	q := query(map[string]any{
		"filter": `metric.type = "run.googleapis.com/request_count"`, "aligner": "ALIGN_DELTA", "reducer": "sum",
		"group_by": []any{"resource.labels.service_name", "resource.label.location"}, "alignment_period": "2m", "lookback": "15m",
	})
	q.Label = "{{.service_name}} ({{.location}})"
	res, err := s.Fetch(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	a := f.requests()[0].GetAggregation()
	if a.GetPerSeriesAligner() != monitoringpb.Aggregation_ALIGN_DELTA || a.GetCrossSeriesReducer() != monitoringpb.Aggregation_REDUCE_SUM ||
		a.GetAlignmentPeriod().AsDuration() != 2*time.Minute ||
		strings.Join(a.GetGroupByFields(), ",") != "resource.label.service_name,resource.label.location" {
		t.Errorf("aggregation = %v", a)
	}
	if st := f.requests()[0].GetInterval().GetStartTime().AsTime(); !st.Equal(at(-5)) {
		t.Errorf("start = %v, want 15 min before now", st)
	}
	if res.Value != nil {
		t.Errorf("grouped query has value %v, want rows only", *res.Value)
	}
	if len(res.Rows) != 3 || res.Rows[0].Label != "web (us)" || *res.Rows[0].Value != 7 || res.Rows[1].Label != "api (eu)" || res.Rows[2].Value != nil {
		t.Fatalf("rows = %+v", res.Rows)
	}
}

func TestPagination(t *testing.T) {
	f, s := setup(t)
	f.setSeries(func(_ context.Context, n int, req *monitoringpb.ListTimeSeriesRequest) (*monitoringpb.ListTimeSeriesResponse, error) {
		page := map[string]int{"": 0, "t1": 1, "t2": 2}[req.GetPageToken()]
		next := []string{"t1", "t2", ""}[page]
		var ts []*monitoringpb.TimeSeries
		for i := range 2 {
			ts = append(ts, series1(map[string]string{"route": fmt.Sprintf("/r%d", page*2+i)}, nil, pt(at(9), dbl(float64(page*2+i)))))
		}
		return &monitoringpb.ListTimeSeriesResponse{TimeSeries: ts, NextPageToken: next}, nil
	})
	res, err := s.Fetch(context.Background(), query(map[string]any{"filter": `metric.type = "x"`, "group_by": "metric.label.route"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 6 {
		t.Fatalf("%d rows, want 6 from 3 pages: %+v", len(res.Rows), res.Rows)
	}
	reqs := f.requests()
	if len(reqs) != 3 || reqs[1].GetPageToken() != "t1" || reqs[2].GetPageToken() != "t2" || reqs[2].GetFilter() != `metric.type = "x"` {
		t.Errorf("requests: %d, tokens %q %q", len(reqs), reqs[1].GetPageToken(), reqs[2].GetPageToken())
	}
}

func TestEmptyIsNoData(t *testing.T) {
	f, s := setup(t)
	for name, h := range map[string]func(context.Context, int, *monitoringpb.ListTimeSeriesRequest) (*monitoringpb.ListTimeSeriesResponse, error){
		"no series":            respond(),
		"series without point": respond(series1(nil, nil)),
		"empty distribution":   respond(series1(nil, nil, pt(at(9), dist(0, 0)))),
	} {
		f.setSeries(h)
		res, err := s.Fetch(context.Background(), query(map[string]any{"preset": "cloudrun_instances", "service": "api"}))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if res.Value != nil || len(res.Rows) != 0 {
			t.Errorf("%s: value %v rows %v, want no data (nil, never 0)", name, res.Value, res.Rows)
		}
	}
}

func TestGapsNaNAndInf(t *testing.T) {
	f, s := setup(t)
	f.setSeries(respond(series1(nil, nil,
		pt(at(9), dbl(math.NaN())), pt(at(8), dbl(math.Inf(1))), pt(at(6), dbl(4)), pt(at(2), dbl(math.Inf(-1))), pt(at(1), dbl(2)),
	)))
	q := query(map[string]any{"filter": `metric.type = "x"`})
	q.Range = time.Hour
	res, err := s.Fetch(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	if res.Value == nil || *res.Value != 4 || !res.At.Equal(at(6)) {
		t.Fatalf("value %v at %v, want the newest finite point 4 at %v", res.Value, res.At, at(6))
	}
	if len(res.Series) != 2 || res.Series[0].V != 2 || res.Series[1].V != 4 || !res.Series[0].T.Equal(at(1)) {
		t.Errorf("series = %+v, want the 2 finite points oldest first (gaps stay gaps)", res.Series)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "3 non-finite") {
		t.Errorf("warnings = %q", res.Warnings)
	}
	// A timeseries tile over 1h asks for 60 one-minute points.
	r := f.requests()[0]
	if d := r.GetInterval().GetEndTime().AsTime().Sub(r.GetInterval().GetStartTime().AsTime()); d != time.Hour || r.GetAggregation().GetAlignmentPeriod().AsDuration() != time.Minute {
		t.Errorf("range query: window %s period %s", d, r.GetAggregation().GetAlignmentPeriod().AsDuration())
	}
}

func TestPercentileOfDistribution(t *testing.T) {
	f, s := setup(t)
	// After REDUCE_PERCENTILE_99 the API returns doubles in the metric's unit (ms).
	f.setSeries(respond(series1(nil, nil, pt(at(9), dbl(250)))))
	res, err := s.Fetch(context.Background(), query(map[string]any{"preset": "cloudrun_latency_p99", "service": "api"}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Value == nil || math.Abs(*res.Value-0.25) > 1e-12 {
		t.Fatalf("p99 = %v, want 250 ms as 0.25 s", res.Value)
	}
	a := f.requests()[0].GetAggregation()
	if a.GetPerSeriesAligner() != monitoringpb.Aggregation_ALIGN_DELTA || a.GetCrossSeriesReducer() != monitoringpb.Aggregation_REDUCE_PERCENTILE_99 {
		t.Errorf("aggregation = %v, want ALIGN_DELTA + REDUCE_PERCENTILE_99", a)
	}
	if !strings.Contains(f.requests()[0].GetFilter(), `"run.googleapis.com/request_latencies"`) {
		t.Errorf("filter = %s", f.requests()[0].GetFilter())
	}

	// A raw distribution (no percentile asked) shows its mean.
	f.setSeries(respond(series1(nil, nil, pt(at(9), dist(10, 42)))))
	res, err = s.Fetch(context.Background(), query(map[string]any{"filter": `metric.type = "x"`, "aligner": "ALIGN_DELTA", "percentile": nil}))
	if err == nil {
		t.Fatal("percentile with an aligner accepted")
	}
	res, err = s.Fetch(context.Background(), query(map[string]any{"filter": `metric.type = "x"`, "aligner": "ALIGN_DELTA"}))
	if err != nil || res.Value == nil || *res.Value != 42 {
		t.Fatalf("distribution mean: %v %v", res.Value, err)
	}
}

func TestRatioFromOneCall(t *testing.T) {
	f, s := setup(t)
	class := func(c string, v float64) *monitoringpb.TimeSeries {
		return series1(map[string]string{"response_code_class": c}, nil, pt(at(9), dbl(v)), pt(at(8), dbl(v*2)))
	}
	f.setSeries(respond(class("2xx", 90), class("4xx", 5), class("5xx", 5)))
	res, err := s.Fetch(context.Background(), query(map[string]any{"preset": "cloudrun_5xx_ratio", "service": "api"}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Value == nil || math.Abs(*res.Value-0.05) > 1e-12 {
		t.Fatalf("ratio = %v, want 5/100", res.Value)
	}
	reqs := f.requests()
	if len(reqs) != 1 || strings.Join(reqs[0].GetAggregation().GetGroupByFields(), ",") != "metric.label.response_code_class" {
		t.Fatalf("%d calls, group_by %v: want one call grouped by response_code_class", len(reqs), reqs[0].GetAggregation().GetGroupByFields())
	}

	// The same written by hand is recognised as one call too.
	den := `metric.type = "run.googleapis.com/request_count" AND resource.label.service_name = "api"`
	_, err = s.Fetch(context.Background(), query(map[string]any{"numerator": den + ` AND metric.label.response_code_class = one_of("5xx")`, "denominator": den}))
	if err != nil {
		t.Fatal(err)
	}
	if n := f.calls(); n != 2 || f.requests()[1].GetFilter() != den {
		t.Errorf("hand-written ratio: %d calls total, filter %q", n, f.requests()[1].GetFilter())
	}

	// No 5xx series at all: 0 errors, not no data. No traffic: no data.
	f.setSeries(respond(class("2xx", 10)))
	res, _ = s.Fetch(context.Background(), query(map[string]any{"preset": "cloudrun_5xx_ratio", "service": "api"}))
	if res.Value == nil || *res.Value != 0 {
		t.Errorf("no 5xx: %v, want 0", res.Value)
	}
	f.setSeries(respond(class("2xx", 0)))
	res, _ = s.Fetch(context.Background(), query(map[string]any{"preset": "cloudrun_5xx_ratio", "service": "api"}))
	if res.Value != nil {
		t.Errorf("no traffic: %v, want no data", *res.Value)
	}
}

func TestHandWrittenLBRatioIsOneCall(t *testing.T) {
	f, s := setup(t)
	class := func(c string, v float64) *monitoringpb.TimeSeries {
		return series1(map[string]string{"response_code_class": c}, nil, pt(at(9), dbl(v)))
	}
	f.setSeries(respond(class("200", 97), class("500", 3)))
	den := `metric.type = "loadbalancing.googleapis.com/https/request_count" AND resource.type = "https_lb_rule"`
	res, err := s.Fetch(context.Background(), query(map[string]any{"numerator": den + " AND metric.labels.response_code_class=500", "denominator": den}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Value == nil || math.Abs(*res.Value-0.03) > 1e-12 || f.calls() != 1 {
		t.Fatalf("ratio %v after %d calls, want 0.03 after 1", res.Value, f.calls())
	}
}

func TestRatioFromTwoCalls(t *testing.T) {
	f, s := setup(t)
	f.setSeries(func(_ context.Context, _ int, req *monitoringpb.ListTimeSeriesRequest) (*monitoringpb.ListTimeSeriesResponse, error) {
		v := 200.0
		if strings.Contains(req.GetFilter(), "errors") {
			v = 50
		}
		return &monitoringpb.ListTimeSeriesResponse{TimeSeries: []*monitoringpb.TimeSeries{series1(nil, nil, pt(at(9), dbl(v)))}}, nil
	})
	res, err := s.Fetch(context.Background(), query(map[string]any{"numerator": `metric.type = "custom.googleapis.com/errors"`, "denominator": `metric.type = "custom.googleapis.com/requests"`}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Value == nil || *res.Value != 0.25 || f.calls() != 2 {
		t.Fatalf("ratio %v after %d calls, want 0.25 after 2", res.Value, f.calls())
	}
}

func TestUnavailableThenSuccess(t *testing.T) {
	f, s := setup(t)
	f.setSeries(func(_ context.Context, n int, _ *monitoringpb.ListTimeSeriesRequest) (*monitoringpb.ListTimeSeriesResponse, error) {
		if n == 1 {
			return nil, status.Error(codes.Unavailable, "backend restarting")
		}
		return &monitoringpb.ListTimeSeriesResponse{TimeSeries: []*monitoringpb.TimeSeries{series1(nil, nil, pt(at(9), i64(7)))}}, nil
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	res, err := s.Fetch(ctx, query(map[string]any{"filter": `metric.type = "x"`}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Value == nil || *res.Value != 7 || f.calls() != 2 {
		t.Fatalf("value %v after %d calls, want 7 after a retry", res.Value, f.calls())
	}
}

func TestResourceExhaustedBacksOffAndRecovers(t *testing.T) {
	f, s := setup(t)
	var exhausted atomic.Bool
	exhausted.Store(true)
	f.setSeries(func(context.Context, int, *monitoringpb.ListTimeSeriesRequest) (*monitoringpb.ListTimeSeriesResponse, error) {
		if exhausted.Load() {
			st, _ := status.New(codes.ResourceExhausted, "Quota exceeded for quota metric 'Time series queries'").
				WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(42 * time.Second)})
			return nil, st.Err()
		}
		return &monitoringpb.ListTimeSeriesResponse{TimeSeries: []*monitoringpb.TimeSeries{series1(nil, nil, pt(at(9), dbl(1)))}}, nil
	})
	q := query(map[string]any{"filter": `metric.type = "x"`})
	_, err := s.Fetch(context.Background(), q)
	var ra poller.RetryAfterError
	if !errors.As(err, &ra) || ra.RetryAfter() != 42*time.Second {
		t.Fatalf("err = %v, want a RetryAfterError of 42s", err)
	}
	if f.calls() != 1 {
		t.Errorf("%d calls: RESOURCE_EXHAUSTED must not be retried by the client", f.calls())
	}
	// The poller waits that long, however short the interval (its ±10 %
	// jitter applies on top of the Retry-After).
	if d := poller.NextDelay(10*time.Second, 1, err, 5*time.Minute); d < 42*time.Second*9/10 {
		t.Errorf("next poll in %s, want about 42s", d)
	}
	// Without RetryInfo the default back-off applies.
	f.setSeries(func(context.Context, int, *monitoringpb.ListTimeSeriesRequest) (*monitoringpb.ListTimeSeriesResponse, error) {
		if exhausted.Load() {
			return nil, status.Error(codes.ResourceExhausted, "quota")
		}
		return &monitoringpb.ListTimeSeriesResponse{TimeSeries: []*monitoringpb.TimeSeries{series1(nil, nil, pt(at(9), dbl(1)))}}, nil
	})
	if _, err = s.Fetch(context.Background(), q); !errors.As(err, &ra) || ra.RetryAfter() != defaultQuotaBackoff {
		t.Fatalf("err = %v, want the default back-off", err)
	}
	exhausted.Store(false)
	res, err := s.Fetch(context.Background(), q)
	if err != nil || res.Value == nil || *res.Value != 1 {
		t.Fatalf("after quota recovered: %v %v", res.Value, err)
	}
}

func TestRequestBudget(t *testing.T) {
	f := &fake{}
	s := newTestSource(t, startFake(t, f), "", 6) // burst of 1, one more every 10 s
	f.setSeries(respond(series1(nil, nil, pt(at(9), dbl(1)))))
	q := query(map[string]any{"filter": `metric.type = "x"`})
	if _, err := s.Fetch(context.Background(), q); err != nil {
		t.Fatal(err)
	}
	_, err := s.Fetch(context.Background(), q)
	var ra poller.RetryAfterError
	if !errors.As(err, &ra) || ra.RetryAfter() <= 0 || !strings.Contains(err.Error(), "6/min") {
		t.Fatalf("err = %v, want a RetryAfterError naming the budget", err)
	}
	if f.calls() != 1 {
		t.Errorf("%d calls: a spent budget must not call Google", f.calls())
	}
}

func TestSlowServerPastDeadline(t *testing.T) {
	f, s := setup(t)
	release := make(chan struct{})
	defer close(release)
	f.setSeries(func(ctx context.Context, _ int, _ *monitoringpb.ListTimeSeriesRequest) (*monitoringpb.ListTimeSeriesResponse, error) {
		select {
		case <-ctx.Done():
		case <-release:
		}
		return nil, status.Error(codes.DeadlineExceeded, "too slow")
	})
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err := s.Fetch(ctx, query(map[string]any{"filter": `metric.type = "x"`}))
	if err == nil || status.Code(errors.Unwrap(err)) != codes.DeadlineExceeded && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want a deadline error", err)
	}
}

func TestMalformedResponses(t *testing.T) {
	f, s := setup(t)
	f.setSeries(respond(
		&monitoringpb.TimeSeries{}, // no metric, no resource, no points
		&monitoringpb.TimeSeries{Points: []*monitoringpb.Point{
			{},              // no interval, no value
			{Value: dbl(3)}, // no interval
			{Interval: &monitoringpb.TimeInterval{EndTime: timestamppb.New(at(9))}}, // no value
			{Interval: &monitoringpb.TimeInterval{EndTime: &timestamppb.Timestamp{Seconds: -1 << 62}}, Value: dbl(1)},
			pt(at(8), &monitoringpb.TypedValue{Value: &monitoringpb.TypedValue_StringValue{StringValue: "up"}}),
			pt(at(7), &monitoringpb.TypedValue{}),
			pt(at(6), &monitoringpb.TypedValue{Value: &monitoringpb.TypedValue_DistributionValue{}}),
			pt(at(5), i64(5)),
		}},
	))
	res, err := s.Fetch(context.Background(), query(map[string]any{"filter": `metric.type = "x"`}))
	if err != nil {
		t.Fatal(err)
	}
	// Both series have no labels, so they are one group: the one good point wins.
	if res.Value == nil || *res.Value != 5 {
		t.Fatalf("value = %v rows %v, want 5", res.Value, res.Rows)
	}
	if len(res.Warnings) < 3 {
		t.Errorf("warnings = %q, want each kind of bad point named", res.Warnings)
	}

	f.setSeries(func(context.Context, int, *monitoringpb.ListTimeSeriesRequest) (*monitoringpb.ListTimeSeriesResponse, error) {
		return nil, status.Error(codes.InvalidArgument, `Field filter had an invalid value of "metric.type = x"`)
	})
	_, err = s.Fetch(context.Background(), query(map[string]any{"filter": `metric.type = x`}))
	if err == nil || !strings.Contains(err.Error(), "gcm: list time series") || !strings.Contains(err.Error(), "invalid value") {
		t.Errorf("err = %v, want the filter and the API's message", err)
	}
}

func TestExecutionErrorsBecomeWarnings(t *testing.T) {
	f, s := setup(t)
	f.setSeries(func(context.Context, int, *monitoringpb.ListTimeSeriesRequest) (*monitoringpb.ListTimeSeriesResponse, error) {
		return &monitoringpb.ListTimeSeriesResponse{
			TimeSeries:      []*monitoringpb.TimeSeries{series1(nil, nil, pt(at(9), dbl(1)))},
			ExecutionErrors: []*rpcstatus.Status{{Code: int32(codes.Unavailable), Message: "some data in europe-west1 is unavailable"}},
		}, nil
	})
	res, err := s.Fetch(context.Background(), query(map[string]any{"filter": `metric.type = "x"`}))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Warnings) != 1 || !strings.Contains(res.Warnings[0], "europe-west1 is unavailable") {
		t.Errorf("warnings = %q", res.Warnings)
	}
}

func TestSLOQueries(t *testing.T) {
	f, s := setup(t)
	f.setSeries(respond(&monitoringpb.TimeSeries{Points: []*monitoringpb.Point{pt(at(9), dbl(0.42))}}))
	name := "projects/proj/services/checkout/serviceLevelObjectives/availability"
	res, err := s.Fetch(context.Background(), query(map[string]any{"slo": name, "budget": true}))
	if err != nil {
		t.Fatal(err)
	}
	if res.Value == nil || *res.Value != 0.42 {
		t.Fatalf("budget = %v", res.Value)
	}
	if _, err := s.Fetch(context.Background(), query(map[string]any{"slo": name, "burn_rate": "1h"})); err != nil {
		t.Fatal(err)
	}
	reqs := f.requests()
	if got := reqs[0].GetFilter(); got != `select_slo_budget_fraction("`+name+`")` {
		t.Errorf("budget filter = %s", got)
	}
	if got := reqs[1].GetFilter(); got != `select_slo_burn_rate("`+name+`", "3600s")` {
		t.Errorf("burn rate filter = %s", got)
	}

	f.services = []*monitoringpb.Service{{Name: "projects/proj/services/checkout", DisplayName: "Checkout"}}
	f.slos = map[string][]*monitoringpb.ServiceLevelObjective{"projects/proj/services/checkout": {
		{Name: name, DisplayName: "99.9% available", Goal: 0.999, Period: &monitoringpb.ServiceLevelObjective_RollingPeriod{RollingPeriod: durationpb.New(28 * 24 * time.Hour)}},
	}}
	res, err = s.Fetch(context.Background(), query(map[string]any{"slos": "list"}))
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != 1 || res.Rows[0].Label != "99.9% available" || *res.Rows[0].Value != 0.999 || res.Rows[0].Detail != "Checkout · rolling 28d" {
		t.Errorf("rows = %+v", res.Rows)
	}
}

func TestCheckQuery(t *testing.T) {
	for _, c := range []struct {
		q    board.Query
		want string // "" = valid
	}{
		{query(map[string]any{"preset": "cloudrun_5xx_ratio", "service": "api"}), ""},
		{query(map[string]any{"preset": "cloudsql_cpu", "instance": "proj:main-db"}), ""},
		{query(map[string]any{"preset": "pubsub_oldest_unacked_age", "subscription": "orders-worker"}), ""},
		{query(map[string]any{"slo": "projects/p/services/s/serviceLevelObjectives/o", "burn_rate": "1h"}), ""},
		{query(map[string]any{"alerts": "open"}), ""},
		{query(map[string]any{"policies": "undocumented"}), ""},
		{query(map[string]any{"filter": `metric.type="x"`, "percentile": 95}), ""},
		{board.Query{Text: "up"}, "must be a mapping"},
		{board.Query{}, "empty query"},
		{query(map[string]any{"preset": "cloudrun_nope", "service": "api"}), "preset \"cloudrun_nope\" unknown"},
		{query(map[string]any{"preset": "cloudrun_request_rate"}), "needs service"},
		{query(map[string]any{"preset": "cloudrun_request_rate", "service": `api" OR true`}), "use the resource's name"},
		{query(map[string]any{"preset": "cloudrun_request_rate", "service": "api", "cluster": "x"}), "does not take cluster"},
		{query(map[string]any{"filter": "x", "aligner": "ALIGN_SOMETIMES"}), "aligner \"ALIGN_SOMETIMES\" unknown"},
		{query(map[string]any{"filter": "x", "reducer": "often"}), "reducer \"often\" unknown (e.g. REDUCE_SUM"},
		{query(map[string]any{"filter": "x", "aligner": "rate", "reducer": "Mean"}), ""},
		{query(map[string]any{"filter": "x", "reducer": "REDUCE_SUM", "aligner": "ALIGN_NONE"}), "needs an aligner"},
		{query(map[string]any{"filter": "x", "percentile": 90}), "use 5, 50, 95 or 99"},
		{query(map[string]any{"filter": "x", "group_by": []any{"service_name"}}), "group_by \"service_name\""},
		{query(map[string]any{"filter": "x", "lookback": "soon"}), "lookback"},
		{query(map[string]any{"filter": "x", "colour": "red"}), "unknown query key \"colour\""},
		{query(map[string]any{"numerator": "x"}), "both numerator"},
		{query(map[string]any{"slo": "checkout", "budget": true}), "projects/PROJECT/services"},
		{query(map[string]any{"slo": "projects/p/services/s/serviceLevelObjectives/o"}), "budget: true"},
		{query(map[string]any{"slo": "projects/p/services/s/serviceLevelObjectives/o", "burn_rate": "1s"}), "at least 1m"},
		{query(map[string]any{"alerts": "closed"}), "only alerts: open"},
		{query(map[string]any{"filter": "x", "budget": true}), "belongs to slo"},
		{query(map[string]any{"filter": "x", "service": "api"}), "add preset:"},
		{query(map[string]any{"alerts": "open", "filter": "x"}), "take no other keys"},
	} {
		err := CheckQuery(board.TileConfig{}, c.q)
		switch {
		case c.want == "" && err != nil:
			t.Errorf("%v: %v", c.q.Params, err)
		case c.want != "" && (err == nil || !strings.Contains(err.Error(), c.want)):
			t.Errorf("%v: err = %v, want %q", c.q.Params, err, c.want)
		}
	}
}

func TestNewNeedsProjectAndNoNetwork(t *testing.T) {
	if _, err := New(board.SourceConfig{ID: "gcp", Kind: "gcm"}, nil); err == nil || !strings.Contains(err.Error(), "project is required") {
		t.Errorf("err = %v", err)
	}
	// Nothing listens there: creating the clients must still succeed.
	s, err := New(board.SourceConfig{ID: "gcp", Kind: "gcm", Project: "p", Endpoint: "127.0.0.1:1", Insecure: true}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	_, err = s.Fetch(context.Background(), query(map[string]any{"alerts": "open"}))
	if err == nil || !strings.Contains(err.Error(), "alerts_endpoint") {
		t.Errorf("alerts without REST endpoint: %v", err)
	}
}

func TestPresetsAreComplete(t *testing.T) {
	for _, name := range presetNames() {
		p := presets[name]
		if p.Name != name || p.Metric == "" || p.Resource == "" || p.Unit == "" || p.Doc == "" || len(p.Need) == 0 {
			t.Errorf("preset %s is incomplete: %+v", name, p)
		}
		params := map[string]any{"preset": name}
		for _, k := range p.Need {
			params[k] = "x"
		}
		if err := CheckQuery(board.TileConfig{}, query(params)); err != nil {
			t.Errorf("preset %s: %v", name, err)
		}
	}
}

func TestCredentialsFileErrors(t *testing.T) {
	dir := t.TempDir()
	for name, c := range map[string]struct{ body, want string }{
		"missing.json": {"", "no such file"},
		"garbage.json": {"{not json", "not a JSON credentials file"},
		"odd.json":     {`{"type":"api_key"}`, `type "api_key" not supported`},
	} {
		path := filepath.Join(dir, name)
		if c.body != "" {
			if err := os.WriteFile(path, []byte(c.body), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		s, err := New(board.SourceConfig{ID: "gcp", Kind: "gcm", Project: "p", CredentialsFile: path}, nil)
		if err != nil {
			t.Fatal(err) // clients are built on the first poll, not here
		}
		_, err = s.Fetch(context.Background(), query(map[string]any{"filter": `metric.type = "x"`}))
		if err == nil || !strings.Contains(err.Error(), "credentials_file") || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: err = %v, want %q", name, err, c.want)
		}
	}
}
