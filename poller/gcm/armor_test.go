package gcm

import (
	"context"
	"math"
	"strings"
	"testing"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"google.golang.org/genproto/googleapis/api/metric"
	"google.golang.org/genproto/googleapis/api/monitoredres"

	"github.com/wallboard/wallboard/board"
)

// armorSeries is one Cloud Armor request_count series as the API returns
// it for a request grouped by metric.label.blocked (only that label kept).
func armorSeries(blocked string, perSecond float64) *monitoringpb.TimeSeries {
	return &monitoringpb.TimeSeries{
		Metric:   &metric.Metric{Type: "networksecurity.googleapis.com/https/request_count", Labels: map[string]string{"blocked": blocked}},
		Resource: &monitoredres.MonitoredResource{Type: "network_security_policy"},
		Points:   []*monitoringpb.Point{pt(at(9), dbl(perSecond)), pt(at(8), dbl(perSecond*3))},
	}
}

// Issue 16 point 9: the Cloud Armor presets send the WAF's metric and
// resource, the policy's name, and (blocked) the blocked label; the value
// is the newest point's rate, or blocked over evaluated from one call.
func TestCloudArmorPresets(t *testing.T) {
	const base = `metric.type = "networksecurity.googleapis.com/https/request_count" AND resource.type = "network_security_policy" AND resource.label.policy_name = "edge-waf"`
	for _, tc := range []struct {
		preset     string
		series     []*monitoringpb.TimeSeries
		wantFilter string
		wantGroup  string
		want       float64
	}{
		{"armor_request_rate", []*monitoringpb.TimeSeries{armorSeries("", 40)}, base, "", 40},
		{"armor_blocked_rate", []*monitoringpb.TimeSeries{armorSeries("", 2.5)}, base + ` AND metric.label.blocked = "true"`, "", 2.5},
		{"armor_blocked_ratio", []*monitoringpb.TimeSeries{armorSeries("false", 30), armorSeries("true", 10)}, base, "metric.label.blocked", 0.25},
	} {
		t.Run(tc.preset, func(t *testing.T) {
			f, s := setup(t)
			f.setSeries(respond(tc.series...))
			res, err := s.Fetch(context.Background(), query(map[string]any{"preset": tc.preset, "policy": "edge-waf"}))
			if err != nil {
				t.Fatal(err)
			}
			if res.Value == nil || math.Abs(*res.Value-tc.want) > 1e-12 {
				t.Fatalf("value = %v, want %g", res.Value, tc.want)
			}
			reqs := f.requests()
			if len(reqs) != 1 {
				t.Fatalf("%d calls, want 1", len(reqs))
			}
			if got := reqs[0].GetFilter(); got != tc.wantFilter {
				t.Errorf("filter\n %s\nwant\n %s", got, tc.wantFilter)
			}
			a := reqs[0].GetAggregation()
			if a.GetPerSeriesAligner() != monitoringpb.Aggregation_ALIGN_RATE || a.GetCrossSeriesReducer() != monitoringpb.Aggregation_REDUCE_SUM ||
				strings.Join(a.GetGroupByFields(), ",") != tc.wantGroup {
				t.Errorf("aggregation = %v, want ALIGN_RATE, REDUCE_SUM, group_by %q", a, tc.wantGroup)
			}
		})
	}
	// The policy is required and must be a name, never filter syntax.
	for q, want := range map[string]string{"": "needs policy", `waf" OR true`: "use the resource's name"} {
		p := map[string]any{"preset": "armor_blocked_rate"}
		if q != "" {
			p["policy"] = q
		}
		if err := CheckQuery(board.TileConfig{}, query(p)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("policy %q: err = %v, want %q", q, err, want)
		}
	}
}
