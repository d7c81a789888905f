package gcm

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"text/template"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"

	"github.com/wallboard/wallboard/board"
)

// mode is what a tile query asks for.
type mode int

const (
	modeMetric   mode = iota // one filter, aggregated
	modeRatio                // numerator / denominator
	modeSLO                  // an SLO's error budget or burn rate (a time-series selector)
	modeSLOList              // the services and SLOs of the project
	modeAlerts               // open alerts, enriched with their policies
	modePolicies             // enabled alert policies without a next action
)

// spec is a parsed tile query: everything Fetch needs, validated once.
type spec struct {
	mode mode

	filter      string // modeMetric and modeSLO; the denominator in modeRatio
	numerator   string // modeRatio with two calls
	denominator string
	// ratioLabel/ratioValues: a one-call ratio. The denominator filter is
	// fetched grouped by ratioLabel (a group_by field); the numerator is the
	// sum of the groups whose label value is in ratioValues.
	ratioLabel  string
	ratioValues []string

	aligner  monitoringpb.Aggregation_Aligner
	reducer  monitoringpb.Aggregation_Reducer
	groupBy  []string
	period   time.Duration // alignment period; 0: chosen from lookback or range
	lookback time.Duration // window for the latest value
	scale    float64       // multiply every value (ms -> s: 0.001)

	label *template.Template // row label template (Query.Label)
}

// Defaults for a metric query.
const (
	defaultAlignmentPeriod = 60 * time.Second
	defaultLookback        = 5 * time.Minute
	// seriesPoints is how many points a timeseries tile gets when the
	// alignment period is not given: range / seriesPoints, at least 60 s.
	seriesPoints = 60
)

// knownParams lists every key a query mapping may have, for the error message.
var knownParams = []string{
	"filter", "aligner", "reducer", "group_by", "alignment_period", "lookback", "scale",
	"numerator", "denominator", "percentile",
	"preset", "service", "location", "instance", "cluster", "namespace", "url_map", "subscription", "policy",
	"slo", "budget", "burn_rate", "slos",
	"alerts", "policies",
}

var (
	sloNamePattern = regexp.MustCompile(`^projects/[^/"\s]+/services/[^/"\s]+/serviceLevelObjectives/[^/"\s]+$`)
	// groupField is a group_by field: metric.label.X, resource.label.X
	// (the API also accepts the plural "labels"), or metadata labels.
	groupField = regexp.MustCompile(`^(metric|resource|metadata\.system|metadata\.user)\.labels?\.[A-Za-z0-9_./-]+$`)
	// labelRestriction is the extra clause a one-call ratio's numerator may add
	// to its denominator: LABEL = "v", LABEL = one_of("a", "b"), or
	// LABEL = 500 for INT64 labels (the load balancer's response_code_class).
	labelRestriction = regexp.MustCompile(`^\s*((?:metric|resource)\.labels?\.[A-Za-z0-9_]+)\s*=\s*(?:"([^"\\]*)"|one_of\(\s*((?:"[^"\\]*"\s*,?\s*)+)\)|(-?[0-9]+))\s*$`)
	quoted           = regexp.MustCompile(`"([^"\\]*)"`)
)

// CheckQuery validates a tile's query for a gcm source without connecting.
func CheckQuery(_ board.TileConfig, q board.Query) error {
	_, err := parse(q)
	return err
}

// parse turns a tile query into a spec, or says what is wrong with it.
func parse(q board.Query) (*spec, error) {
	if q.Params == nil {
		if q.Text != "" {
			return nil, fmt.Errorf("gcm: the query must be a mapping (filter: ..., or preset: ...), not the string %q", q.Text)
		}
		return nil, fmt.Errorf("gcm: empty query: give filter:, preset:, slo:, alerts: open or policies: undocumented")
	}
	// A copy: presets fill in defaults, and the map is shared with the config.
	p := params(maps.Clone(q.Params))
	for k := range p {
		if !slices.Contains(knownParams, k) {
			return nil, fmt.Errorf("gcm: unknown query key %q (known: %s)", k, strings.Join(knownParams, ", "))
		}
	}
	s := &spec{scale: 1}
	if q.Label != "" {
		t, err := template.New("label").Option("missingkey=zero").Parse(q.Label)
		if err != nil {
			return nil, fmt.Errorf("gcm: label template: %w", err)
		}
		s.label = t
	}
	// The queries that are one key with one allowed value.
	for _, k := range []struct {
		key, value string
		mode       mode
	}{{"alerts", "open", modeAlerts}, {"policies", "undocumented", modePolicies}, {"slos", "list", modeSLOList}} {
		if !p.has(k.key) {
			continue
		}
		if v := p.str(k.key); v != k.value {
			return nil, fmt.Errorf("gcm: %s: %q: only %s: %s is supported", k.key, v, k.key, k.value)
		}
		if err := p.only(k.key); err != nil {
			return nil, err
		}
		s.mode = k.mode
		return s, nil
	}
	switch {
	case p.has("slo"):
		if err := parseSLO(p, s); err != nil {
			return nil, err
		}
		return s, nil
	case p.has("preset"):
		if err := applyPreset(p, s); err != nil {
			return nil, err
		}
	case p.has("numerator") || p.has("denominator"):
		s.mode = modeRatio
		s.numerator, s.denominator = p.str("numerator"), p.str("denominator")
		if s.numerator == "" || s.denominator == "" {
			return nil, fmt.Errorf("gcm: a ratio needs both numerator: and denominator: filters")
		}
		if p.has("filter") {
			return nil, fmt.Errorf("gcm: give filter: or numerator:/denominator:, not both")
		}
		s.aligner = monitoringpb.Aggregation_ALIGN_RATE
		s.reducer = monitoringpb.Aggregation_REDUCE_SUM
	case p.has("filter"):
		s.mode = modeMetric
		s.filter = p.str("filter")
		if strings.TrimSpace(s.filter) == "" {
			return nil, fmt.Errorf("gcm: filter is empty")
		}
		s.aligner = monitoringpb.Aggregation_ALIGN_MEAN
	default:
		return nil, fmt.Errorf("gcm: the query needs filter:, numerator:/denominator:, preset:, slo:, slos: list, alerts: open or policies: undocumented")
	}
	for _, k := range []string{"budget", "burn_rate"} {
		if p.has(k) {
			return nil, fmt.Errorf("gcm: %s belongs to slo: queries", k)
		}
	}
	if !p.has("preset") {
		for k := range keyLabel {
			if p.has(k) {
				return nil, fmt.Errorf("gcm: %s selects a preset's resource: add preset:, or put it in the filter", k)
			}
		}
	}
	if err := parseAggregation(p, s); err != nil {
		return nil, err
	}
	if s.mode == modeRatio && s.ratioLabel == "" {
		splitRatio(s)
		// The one call must be grouped by the ratio's label, or the reply
		// has no numerator series and the ratio reads 0.
		if s.ratioLabel != "" && !slices.Contains(s.groupBy, s.ratioLabel) {
			s.groupBy = append(s.groupBy, s.ratioLabel)
		}
	}
	return s, nil
}

// splitRatio recognises a numerator that is the denominator plus one label
// restriction (the usual "5xx / all requests"): then one call grouped by that
// label gives both, instead of two calls.
func splitRatio(s *spec) {
	rest, ok := strings.CutPrefix(strings.TrimSpace(s.numerator), strings.TrimSpace(s.denominator))
	if !ok {
		return
	}
	rest, ok = strings.CutPrefix(strings.TrimSpace(rest), "AND ")
	if !ok {
		return
	}
	m := labelRestriction.FindStringSubmatch(rest)
	if m == nil {
		return
	}
	field := normField(m[1])
	var values []string
	if m[3] != "" {
		for _, v := range quoted.FindAllStringSubmatch(m[3], -1) {
			values = append(values, v[1])
		}
	} else if m[4] != "" {
		values = []string{m[4]}
	} else {
		values = []string{m[2]}
	}
	s.ratioLabel, s.ratioValues = field, values
	s.filter = s.denominator
}

func parseAggregation(p params, s *spec) error {
	if err := enumParam(p, "aligner", "ALIGN_", monitoringpb.Aggregation_Aligner_value, &s.aligner,
		"ALIGN_RATE, ALIGN_MEAN, ALIGN_DELTA, ALIGN_PERCENTILE_99"); err != nil {
		return err
	}
	if err := enumParam(p, "reducer", "REDUCE_", monitoringpb.Aggregation_Reducer_value, &s.reducer,
		"REDUCE_SUM, REDUCE_MEAN, REDUCE_MAX, REDUCE_PERCENTILE_99"); err != nil {
		return err
	}
	if p.has("group_by") {
		g, err := p.list("group_by")
		if err != nil {
			return err
		}
		s.groupBy = nil
		for _, f := range g {
			if !groupField.MatchString(f) {
				return fmt.Errorf("gcm: group_by %q: use metric.label.NAME or resource.label.NAME", f)
			}
			s.groupBy = append(s.groupBy, normField(f))
		}
	}
	if p.has("percentile") {
		if p.has("aligner") || p.has("reducer") {
			return fmt.Errorf("gcm: percentile sets the aligner (ALIGN_DELTA) and reducer (REDUCE_PERCENTILE_N): remove aligner/reducer")
		}
		pc := p.str("percentile")
		r, ok := monitoringpb.Aggregation_Reducer_value["REDUCE_PERCENTILE_"+pc]
		if !ok {
			return fmt.Errorf("gcm: percentile %q: use 5, 50, 95 or 99 (what Cloud Monitoring computes)", pc)
		}
		// Delta-align each distribution series, then merge the
		// distributions across series and take the percentile of the merged
		// one: the percentile of all requests, not a mean of percentiles.
		s.aligner = monitoringpb.Aggregation_ALIGN_DELTA
		s.reducer = monitoringpb.Aggregation_Reducer(r)
	}
	var err error
	if s.period, err = p.duration("alignment_period", 0); err != nil {
		return err
	}
	if s.period != 0 && s.period < time.Second {
		return fmt.Errorf("gcm: alignment_period %s: use at least 1s (Cloud Monitoring wants 60s or more for most metrics)", s.period)
	}
	if s.lookback, err = p.duration("lookback", defaultLookback); err != nil {
		return err
	}
	if s.lookback < time.Minute {
		return fmt.Errorf("gcm: lookback %s: use at least 1m (metrics arrive once a minute)", s.lookback)
	}
	if p.has("scale") {
		f, err := strconv.ParseFloat(p.str("scale"), 64)
		if err != nil || f == 0 {
			return fmt.Errorf("gcm: scale %q: give a non-zero number, e.g. 0.001 for ms -> s", p.str("scale"))
		}
		s.scale = f
	}
	if s.reducer != monitoringpb.Aggregation_REDUCE_NONE && s.aligner == monitoringpb.Aggregation_ALIGN_NONE {
		return fmt.Errorf("gcm: reducer %s needs an aligner", s.reducer)
	}
	if s.ratioLabel != "" && !slices.Contains(s.groupBy, s.ratioLabel) {
		s.groupBy = append(s.groupBy, s.ratioLabel)
	}
	return nil
}

func parseSLO(p params, s *spec) error {
	name := p.str("slo")
	if !sloNamePattern.MatchString(name) {
		return fmt.Errorf("gcm: slo %q: use projects/PROJECT/services/SERVICE/serviceLevelObjectives/SLO", name)
	}
	budget := p.has("budget")
	if budget {
		b, err := strconv.ParseBool(p.str("budget"))
		if err != nil || !b {
			return fmt.Errorf("gcm: budget: %q: write budget: true", p.str("budget"))
		}
	}
	burn := p.has("burn_rate")
	if budget == burn {
		return fmt.Errorf("gcm: slo: give budget: true (error budget remaining) or burn_rate: 1h (burn rate over that window)")
	}
	for k := range p {
		if !slices.Contains([]string{"slo", "budget", "burn_rate", "lookback", "alignment_period"}, k) {
			return fmt.Errorf("gcm: slo queries take budget or burn_rate (and lookback), not %q", k)
		}
	}
	s.mode = modeSLO
	if budget {
		// Remaining error budget as a fraction (1 = untouched, <0 = spent).
		// https://cloud.google.com/stackdriver/docs/solutions/slo-monitoring/api/timeseries-selectors
		s.filter = fmt.Sprintf("select_slo_budget_fraction(%q)", name)
		s.aligner = monitoringpb.Aggregation_ALIGN_NEXT_OLDER
	} else {
		w, err := p.duration("burn_rate", 0)
		if err != nil {
			return err
		}
		if w < time.Minute || w%time.Second != 0 {
			return fmt.Errorf("gcm: burn_rate %s: give a window of whole seconds, at least 1m (e.g. 1h)", w)
		}
		// The selector's lookback takes ns/us/ms/s/m/h; seconds always work.
		s.filter = fmt.Sprintf("select_slo_burn_rate(%q, \"%ds\")", name, int64(w/time.Second))
		s.aligner = monitoringpb.Aggregation_ALIGN_MEAN
	}
	var err error
	if s.period, err = p.duration("alignment_period", 0); err != nil {
		return err
	}
	if s.lookback, err = p.duration("lookback", defaultLookback); err != nil {
		return err
	}
	if s.lookback < time.Minute {
		return fmt.Errorf("gcm: lookback %s: use at least 1m", s.lookback)
	}
	return nil
}

// normField writes a group_by field in its singular form (metric.label.x),
// which is also what shortLabel strips.
func normField(f string) string {
	f = strings.Replace(f, ".labels.", ".label.", 1)
	return f
}

// shortLabel is the key a row label template uses: the last path element.
func shortLabel(f string) string {
	return f[strings.LastIndex(f, ".")+1:]
}

// params reads a YAML mapping query.
type params map[string]any

func (p params) has(k string) bool { _, ok := p[k]; return ok }

func (p params) str(k string) string {
	v, ok := p[k]
	if !ok || v == nil {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return fmt.Sprint(v)
}

func (p params) list(k string) ([]string, error) {
	switch v := p[k].(type) {
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for i, x := range v {
			s, ok := x.(string)
			if !ok {
				return nil, fmt.Errorf("gcm: %s[%d]: want a string, got %v", k, i, x)
			}
			out = append(out, s)
		}
		return out, nil
	case []string:
		return v, nil
	default:
		return nil, fmt.Errorf("gcm: %s: want a list of fields, got %v", k, v)
	}
}

func (p params) duration(k string, def time.Duration) (time.Duration, error) {
	if !p.has(k) {
		return def, nil
	}
	d, err := board.ParseDuration(p.str(k), def)
	if err != nil {
		return 0, fmt.Errorf("gcm: %s: %w", k, err)
	}
	return d, nil
}

// enumParam sets *dst to the protobuf enum value p's key k names, in any
// case and with or without the enum's prefix (rate, ALIGN_RATE); *dst is
// left alone when k is absent. examples go in the error of an unknown name.
func enumParam[E ~int32](p params, k, prefix string, values map[string]int32, dst *E, examples string) error {
	if !p.has(k) {
		return nil
	}
	name := strings.ToUpper(p.str(k))
	if !strings.HasPrefix(name, prefix) {
		name = prefix + name
	}
	v, ok := values[name]
	if !ok {
		return fmt.Errorf("gcm: %s %q unknown (e.g. %s)", k, p.str(k), examples)
	}
	*dst = E(v)
	return nil
}

// only refuses keys other than k (alerts, policies and slos lists take none).
func (p params) only(k string) error {
	for _, x := range slices.Sorted(maps.Keys(p)) {
		if x != k {
			return fmt.Errorf("gcm: %s queries take no other keys, remove %q", k, x)
		}
	}
	return nil
}
