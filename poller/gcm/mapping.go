package gcm

import (
	"bytes"
	"cmp"
	"fmt"
	"math"
	"slices"
	"sort"
	"strings"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"

	"github.com/wallboard/wallboard/board"
)

// point is one aligned sample.
type point struct {
	t time.Time
	v float64
}

// series is one time series of a response, reduced to what a tile needs:
// its group key, its labels (short names) and its finite points, oldest first.
type series struct {
	key    string
	labels map[string]string
	points []point
}

// mapping collects what converting a response found wrong but survivable.
type mapping struct {
	warnings []string
	dropped  int // non-finite points
	strings  int // string-valued points (no number to show)
}

func (m *mapping) warn(format string, args ...any) {
	w := fmt.Sprintf(format, args...)
	if !slices.Contains(m.warnings, w) {
		m.warnings = append(m.warnings, w)
	}
}

func (m *mapping) finish() []string {
	if m.dropped > 0 {
		m.warn("%d non-finite (NaN or Inf) points dropped", m.dropped)
	}
	if m.strings > 0 {
		m.warn("%d string-valued points ignored", m.strings)
	}
	return m.warnings
}

// toSeries converts API time series, grouping them by the group_by fields
// (or by all their labels when there are none). Series sharing a key (the
// API never sends two, a malformed response might) are merged point by point.
func (m *mapping) toSeries(in []*monitoringpb.TimeSeries, groupBy []string) []series {
	byKey := map[string]*series{}
	var order []string
	for i, ts := range in {
		if ts == nil {
			m.warn("time series %d is empty", i)
			continue
		}
		labels := labelsOf(ts, groupBy)
		key := keyOf(labels)
		s, ok := byKey[key]
		if !ok {
			s = &series{key: key, labels: labels}
			byKey[key] = s
			order = append(order, key)
		}
		for _, p := range ts.GetPoints() {
			t, v, ok := m.value(p)
			if ok {
				s.points = append(s.points, point{t, v})
			}
		}
	}
	out := make([]series, 0, len(order))
	for _, k := range order {
		s := byKey[k]
		// The API returns points newest first; tiles want oldest first.
		slices.SortStableFunc(s.points, func(a, b point) int { return a.t.Compare(b.t) })
		s.points = dedupe(s.points)
		out = append(out, *s)
	}
	return out
}

// sumSeries converts the series of a ratio's numerator or denominator: the
// join of a ratio is on the group_by labels only, so every series of one
// group is summed per timestamp (counts and rates add up), and without
// group_by all series sum into one. A label only one side has (a numerator's
// response code) then never makes the two sides miss each other.
func (m *mapping) sumSeries(in []*monitoringpb.TimeSeries, groupBy []string) []series {
	var sum seriesSum
	for i, ts := range in {
		if ts == nil {
			m.warn("time series %d is empty", i)
			continue
		}
		labels := map[string]string{}
		if len(groupBy) > 0 {
			labels = labelsOf(ts, groupBy)
		}
		pts := sum.group(labels)
		seen := map[time.Time]bool{}
		for _, p := range ts.GetPoints() {
			if t, v, ok := m.value(p); ok && !seen[t] {
				seen[t] = true // a malformed reply's repeated point counts once
				pts[t] += v
			}
		}
	}
	return sum.series()
}

// seriesSum adds up values per timestamp for each set of labels, and keeps
// the sets in the order they were first seen.
type seriesSum struct {
	byKey map[string]*summed
	order []string
}

type summed struct {
	labels map[string]string
	pts    map[time.Time]float64
}

// group is the running sums of the series with these labels, per timestamp.
func (s *seriesSum) group(labels map[string]string) map[time.Time]float64 {
	if s.byKey == nil {
		s.byKey = map[string]*summed{}
	}
	key := keyOf(labels)
	a := s.byKey[key]
	if a == nil {
		a = &summed{labels: labels, pts: map[time.Time]float64{}}
		s.byKey[key] = a
		s.order = append(s.order, key)
	}
	return a.pts
}

// series lists the sums, each with its points oldest first.
func (s *seriesSum) series() []series {
	out := make([]series, 0, len(s.order))
	for _, k := range s.order {
		a := s.byKey[k]
		se := series{key: k, labels: a.labels}
		for t, v := range a.pts {
			se.points = append(se.points, point{t, v})
		}
		slices.SortFunc(se.points, func(a, b point) int { return a.t.Compare(b.t) })
		out = append(out, se)
	}
	return out
}

// dedupe keeps one point per timestamp (the last), in order.
func dedupe(ps []point) []point {
	out := ps[:0]
	for _, p := range ps {
		if n := len(out); n > 0 && out[n-1].t.Equal(p.t) {
			out[n-1] = p
			continue
		}
		out = append(out, p)
	}
	return out
}

// value reads one point: its time (the interval's end) and number. Missing
// or unusable points are gaps, never zeros.
func (m *mapping) value(p *monitoringpb.Point) (time.Time, float64, bool) {
	if p == nil || p.GetInterval() == nil || p.GetInterval().GetEndTime() == nil || p.GetValue() == nil {
		m.warn("points without time or value skipped")
		return time.Time{}, 0, false
	}
	end := p.GetInterval().GetEndTime()
	if err := end.CheckValid(); err != nil {
		m.warn("points with an invalid time skipped")
		return time.Time{}, 0, false
	}
	t := end.AsTime()
	var v float64
	switch x := p.GetValue().GetValue().(type) {
	case *monitoringpb.TypedValue_DoubleValue:
		v = x.DoubleValue
	case *monitoringpb.TypedValue_Int64Value:
		v = float64(x.Int64Value)
	case *monitoringpb.TypedValue_BoolValue:
		if x.BoolValue {
			v = 1
		}
	case *monitoringpb.TypedValue_DistributionValue:
		// A distribution without a percentile aligner/reducer: show its
		// mean. An empty distribution (count 0) is a gap, not 0.
		d := x.DistributionValue
		if d == nil || d.GetCount() <= 0 {
			return t, 0, false
		}
		v = d.GetMean()
	case *monitoringpb.TypedValue_StringValue:
		m.strings++
		return t, 0, false
	default:
		m.warn("points with an unknown value type skipped")
		return t, 0, false
	}
	if math.IsNaN(v) || math.IsInf(v, 0) {
		m.dropped++
		return t, 0, false
	}
	return t, v, true
}

// labelsOf gives the series' labels by short name: the group_by fields when
// given (the only labels an aggregated series keeps), else every metric and
// resource label.
func labelsOf(ts *monitoringpb.TimeSeries, groupBy []string) map[string]string {
	out := map[string]string{}
	if len(groupBy) > 0 {
		for _, f := range groupBy {
			var v string
			switch {
			case strings.HasPrefix(f, "metric.label."):
				v = ts.GetMetric().GetLabels()[strings.TrimPrefix(f, "metric.label.")]
			case strings.HasPrefix(f, "resource.label."):
				v = ts.GetResource().GetLabels()[strings.TrimPrefix(f, "resource.label.")]
			case strings.HasPrefix(f, "metadata.system.label."):
				if sv := ts.GetMetadata().GetSystemLabels().GetFields()[strings.TrimPrefix(f, "metadata.system.label.")]; sv != nil {
					v = sv.GetStringValue()
				}
			case strings.HasPrefix(f, "metadata.user.label."):
				v = ts.GetMetadata().GetUserLabels()[strings.TrimPrefix(f, "metadata.user.label.")]
			}
			out[shortLabel(f)] = v
		}
		return out
	}
	for k, v := range ts.GetResource().GetLabels() {
		if k != "project_id" {
			out[k] = v
		}
	}
	for k, v := range ts.GetMetric().GetLabels() {
		out[k] = v
	}
	return out
}

func keyOf(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%s=%q,", k, labels[k])
	}
	return b.String()
}

// ratioSeries divides, per group and timestamp, the numerator by the
// denominator. A timestamp where the denominator has a point and the
// numerator none counts 0 errors: a DELTA counter of 5xx responses writes
// no point when there were none. A zero denominator is a gap (no traffic:
// no data, not 0 % and not NaN).
func ratioSeries(num, den []series) []series {
	nums := map[string]map[time.Time]float64{}
	for _, s := range num {
		m := nums[s.key]
		if m == nil {
			m = map[time.Time]float64{}
			nums[s.key] = m
		}
		for _, p := range s.points {
			m[p.t] += p.v
		}
	}
	out := make([]series, 0, len(den))
	for _, d := range den {
		r := series{key: d.key, labels: d.labels}
		for _, p := range d.points {
			if p.v <= 0 {
				continue
			}
			r.points = append(r.points, point{p.t, nums[d.key][p.t] / p.v})
		}
		out = append(out, r)
	}
	return out
}

// splitByLabel turns one call grouped by (group_by + label) into numerator
// and denominator series grouped by group_by alone: the denominator sums
// every value of label, the numerator those in values.
func splitByLabel(all []series, label string, values []string) (num, den []series) {
	short := shortLabel(label)
	add := func(dst *seriesSum, s series) {
		labels := map[string]string{}
		for k, v := range s.labels {
			if k != short {
				labels[k] = v
			}
		}
		pts := dst.group(labels)
		for _, p := range s.points {
			pts[p.t] += p.v
		}
	}
	var nsum, dsum seriesSum
	for _, s := range all {
		add(&dsum, s)
		if slices.Contains(values, s.labels[short]) {
			add(&nsum, s)
		}
	}
	return nsum.series(), dsum.series()
}

// result builds what the tile shows. One series: its latest value (and all
// its points for a timeseries tile). Several series, or a group_by: one row
// per series, largest value first. No series, or no point: no data.
func (s *spec) result(all []series, withSeries bool, now time.Time) board.Result {
	res := board.Result{At: now}
	grouped := len(s.groupBy) > 0 && !(s.ratioLabel != "" && len(s.groupBy) == 1)
	if len(all) == 1 && !grouped {
		ps := all[0].points
		if len(ps) == 0 {
			return res
		}
		last := ps[len(ps)-1]
		res.Value = board.F(last.v * s.scale)
		res.At = last.t
		if withSeries {
			res.Series = make([]board.Point, len(ps))
			for i, p := range ps {
				res.Series[i] = board.Point{T: p.t, V: p.v * s.scale}
			}
		}
		return res
	}
	var newest time.Time
	for _, se := range all {
		row := board.Row{Label: s.rowLabel(se.labels)}
		if n := len(se.points); n > 0 {
			row.Value = board.F(se.points[n-1].v * s.scale)
			row.At = se.points[n-1].t
			if row.At.After(newest) {
				newest = row.At
			}
		}
		res.Rows = append(res.Rows, row)
	}
	sort.SliceStable(res.Rows, func(i, j int) bool {
		a, b := res.Rows[i], res.Rows[j]
		switch {
		case a.Value == nil || b.Value == nil:
			return a.Value != nil && b.Value == nil
		case *a.Value != *b.Value:
			return *a.Value > *b.Value
		}
		return a.Label < b.Label
	})
	if !newest.IsZero() {
		res.At = newest
	}
	return res
}

// rowLabel renders the tile's label template, or joins the label values.
func (s *spec) rowLabel(labels map[string]string) string {
	if s.label != nil {
		var b bytes.Buffer
		if err := s.label.Execute(&b, labels); err == nil {
			return b.String()
		}
	}
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	// group_by order when given, else alphabetical.
	slices.SortFunc(keys, func(a, b string) int {
		ia, ib := indexShort(s.groupBy, a), indexShort(s.groupBy, b)
		if ia != ib {
			return cmp.Compare(ia, ib)
		}
		return cmp.Compare(a, b)
	})
	vals := make([]string, 0, len(keys))
	for _, k := range keys {
		if v := labels[k]; v != "" {
			vals = append(vals, v)
		}
	}
	if len(vals) == 0 {
		return "(no label)"
	}
	return strings.Join(vals, " · ")
}

func indexShort(fields []string, short string) int {
	for i, f := range fields {
		if shortLabel(f) == short {
			return i
		}
	}
	return len(fields)
}
