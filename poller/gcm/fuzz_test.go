package gcm

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/wallboard/wallboard/board"
)

// Seeds are ListTimeSeriesResponse bodies as the REST surface of the same
// API prints them (protojson), shaped like real answers.
var fuzzSeeds = []string{
	// Cloud Run request rate, aligned and summed: one series, newest first.
	`{"timeSeries":[{"metric":{"type":"run.googleapis.com/request_count"},"resource":{"type":"cloud_run_revision","labels":{"project_id":"proj"}},"metricKind":"GAUGE","valueType":"DOUBLE","points":[{"interval":{"startTime":"2026-11-25T11:59:00Z","endTime":"2026-11-25T12:00:00Z"},"value":{"doubleValue":12.5}},{"interval":{"startTime":"2026-11-25T11:58:00Z","endTime":"2026-11-25T11:59:00Z"},"value":{"doubleValue":11}}]}],"unit":"1/s"}`,
	// Grouped by response_code_class, INT64 deltas, one class with a gap.
	`{"timeSeries":[{"metric":{"labels":{"response_code_class":"2xx"},"type":"run.googleapis.com/request_count"},"resource":{"type":"cloud_run_revision","labels":{"project_id":"proj"}},"metricKind":"DELTA","valueType":"INT64","points":[{"interval":{"startTime":"2026-11-25T11:59:00Z","endTime":"2026-11-25T12:00:00Z"},"value":{"int64Value":"5400"}}]},{"metric":{"labels":{"response_code_class":"5xx"},"type":"run.googleapis.com/request_count"},"resource":{"type":"cloud_run_revision","labels":{"project_id":"proj"}},"metricKind":"DELTA","valueType":"INT64","points":[{"interval":{"startTime":"2026-11-25T11:57:00Z","endTime":"2026-11-25T11:58:00Z"},"value":{"int64Value":"12"}}]}]}`,
	// Raw latency distribution.
	`{"timeSeries":[{"metric":{"type":"run.googleapis.com/request_latencies","labels":{"response_code_class":"2xx"}},"resource":{"type":"cloud_run_revision","labels":{"service_name":"api","location":"europe-west1"}},"metricKind":"DELTA","valueType":"DISTRIBUTION","points":[{"interval":{"startTime":"2026-11-25T11:59:00Z","endTime":"2026-11-25T12:00:00Z"},"value":{"distributionValue":{"count":"120","mean":84.2,"bucketOptions":{"exponentialBuckets":{"numFiniteBuckets":64,"growthFactor":1.4,"scale":1}},"bucketCounts":["0","3","40","77"]}}}]}],"unit":"ms"}`,
	// SLO budget fraction, NaN and Infinity as the JSON form writes them, and execution errors.
	`{"timeSeries":[{"metricKind":"GAUGE","valueType":"DOUBLE","points":[{"interval":{"endTime":"2026-11-25T12:00:00Z"},"value":{"doubleValue":"NaN"}},{"interval":{"endTime":"2026-11-25T11:59:00Z"},"value":{"doubleValue":"Infinity"}},{"interval":{"endTime":"2026-11-25T11:58:00Z"},"value":{"doubleValue":0.42}}]}],"executionErrors":[{"code":14,"message":"some data is unavailable"}]}`,
	// Bool and string values, points without value or interval.
	`{"timeSeries":[{"points":[{"interval":{"endTime":"2026-11-25T12:00:00Z"},"value":{"boolValue":true}},{"value":{"stringValue":"up"}},{}]},{}]}`,
}

func FuzzMapResponse(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add([]byte(s), uint8(0))
		f.Add([]byte(s), uint8(1))
		f.Add([]byte(s), uint8(2))
	}
	specs := []*spec{
		{mode: modeMetric, scale: 1},
		{mode: modeMetric, scale: 0.001, groupBy: []string{"metric.label.response_code_class", "resource.label.service_name"}},
		{mode: modeRatio, scale: 1, ratioLabel: "metric.label.response_code_class", ratioValues: []string{"5xx"}, groupBy: []string{"metric.label.response_code_class"}},
	}
	now := time.Date(2026, 11, 25, 12, 0, 30, 0, time.UTC)
	f.Fuzz(func(t *testing.T, body []byte, which uint8) {
		var resp monitoringpb.ListTimeSeriesResponse
		if err := protojson.Unmarshal(body, &resp); err != nil {
			return
		}
		sp := specs[int(which)%len(specs)]
		m := &mapping{}
		all := m.toSeries(resp.GetTimeSeries(), sp.groupBy)
		if sp.ratioLabel != "" {
			all = ratioSeries(splitByLabel(all, sp.ratioLabel, sp.ratioValues))
		}
		res := sp.result(all, which%2 == 0, now)
		res.Warnings = m.finish()
		finite := func(what string, v *float64) {
			if v != nil && (math.IsNaN(*v) || math.IsInf(*v, 0)) {
				t.Fatalf("%s is %v: tiles and the JSON API need finite numbers or nil", what, *v)
			}
		}
		finite("value", res.Value)
		for _, r := range res.Rows {
			finite("row "+r.Label, r.Value)
		}
		for i, p := range res.Series {
			finite("series point", &p.V)
			if i > 0 && !res.Series[i-1].T.Before(p.T) {
				t.Fatalf("series not strictly oldest first at %d", i)
			}
		}
		if len(all) == 1 && res.Value == nil && len(all[0].points) > 0 && len(sp.groupBy) == 0 {
			t.Fatal("a series with points gave no value")
		}
		// What the tile state and the JSON API will do with it.
		if _, err := json.Marshal(board.TileState{Result: res}); err != nil {
			t.Fatalf("result does not marshal: %v", err)
		}
	})
}
