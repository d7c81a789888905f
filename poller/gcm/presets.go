package gcm

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
)

// preset is a named query for what most teams on Google Cloud watch, so a
// tile says `preset: cloudrun_5xx_ratio` and `service: api` instead of a
// filter. Aggregation keys given next to the preset (aligner, reducer,
// group_by, lookback, alignment_period, scale) override its defaults.
//
// Metric types, kinds, value types, units and label names come from Google's
// metric lists (cloud.google.com/monitoring/api/metrics_gcp, the Cloud SQL
// metrics page cloud.google.com/sql/docs/mysql/admin-api/metrics, the load
// balancing metrics page cloud.google.com/load-balancing/docs/metrics and
// cloud.google.com/monitoring/api/metrics_kubernetes); each entry repeats
// what it relies on. Checked on 2026-11-25 against those pages where the
// search index held them (Cloud Run: request_count, request_latencies "in
// milliseconds", instance_count "broken down by state"; Cloud SQL's metric
// table), and against public dashboards and alert policies for the rest
// (kubernetes.io/*/limit_utilization and allocatable_utilization as 0-1
// fractions with a memory_type label of evictable/non-evictable; the load
// balancer's response_code_class written unquoted, =500, as an INT64).
type preset struct {
	Name   string
	Metric string // metric type
	Doc    string // what it shows, in the unit given
	Unit   string // the unit of the value the tile gets
	// Resource is the monitored resource type; Need names the query keys
	// that select it (required) and May the optional ones.
	Resource string
	Need     []string
	May      []string
	extra    string // extra filter clause

	aligner     monitoringpb.Aggregation_Aligner
	reducer     monitoringpb.Aggregation_Reducer
	percentile  string
	ratioLabel  string
	ratioValues []string
	scale       float64
}

// keyLabel maps a preset's selector key to the resource label it filters on.
var keyLabel = map[string]string{
	"service":      "resource.label.service_name",   // cloud_run_revision
	"location":     "resource.label.location",       // cloud_run_revision, k8s_node, k8s_container
	"instance":     "resource.label.database_id",    // cloudsql_database: "PROJECT:INSTANCE"
	"cluster":      "resource.label.cluster_name",   // k8s_node, k8s_container
	"namespace":    "resource.label.namespace_name", // k8s_container
	"url_map":      "resource.label.url_map_name",   // https_lb_rule
	"subscription": "resource.label.subscription_id",
	"policy":       "resource.label.policy_name", // network_security_policy (Cloud Armor)
}

// presets, by name.
var presets = completePresets(map[string]preset{
	// run.googleapis.com/request_count: DELTA, INT64, unit 1, resource
	// cloud_run_revision (labels service_name, revision_name, location,
	// configuration_name); metric labels response_code, response_code_class
	// ("2xx", "5xx"...), route. Aligned as a rate: requests per second.
	"cloudrun_request_rate": {
		Metric: "run.googleapis.com/request_count", Resource: "cloud_run_revision",
		Doc: "requests per second reaching the service", Unit: "req/s",
		Need: []string{"service"}, May: []string{"location"},
		aligner: monitoringpb.Aggregation_ALIGN_RATE, reducer: monitoringpb.Aggregation_REDUCE_SUM,
	},
	// Same metric, grouped by response_code_class in ONE call: the 5xx
	// group over the sum of all groups.
	"cloudrun_5xx_ratio": {
		Metric: "run.googleapis.com/request_count", Resource: "cloud_run_revision",
		Doc: "share of requests answered with a 5xx status (0-1)", Unit: "ratio",
		Need: []string{"service"}, May: []string{"location"},
		aligner: monitoringpb.Aggregation_ALIGN_RATE, reducer: monitoringpb.Aggregation_REDUCE_SUM,
		ratioLabel: "metric.label.response_code_class", ratioValues: []string{"5xx"},
	},
	// run.googleapis.com/request_latencies: DELTA, DISTRIBUTION, unit ms,
	// same resource and labels. Percentile of the merged distribution,
	// converted to seconds (the JSON API speaks base units).
	"cloudrun_latency_p95": {
		Metric: "run.googleapis.com/request_latencies", Resource: "cloud_run_revision",
		Doc: "95th percentile request latency", Unit: "s",
		Need: []string{"service"}, May: []string{"location"},
		percentile: "95", scale: 0.001,
	},
	"cloudrun_latency_p99": {
		Metric: "run.googleapis.com/request_latencies", Resource: "cloud_run_revision",
		Doc: "99th percentile request latency", Unit: "s",
		Need: []string{"service"}, May: []string{"location"},
		percentile: "99", scale: 0.001,
	},
	// run.googleapis.com/container/instance_count: GAUGE, INT64, unit 1,
	// metric labels state ("active", "idle") and container_name; summed
	// over revisions and states.
	"cloudrun_instances": {
		Metric: "run.googleapis.com/container/instance_count", Resource: "cloud_run_revision",
		Doc: "container instances (active and idle)", Unit: "instances",
		Need: []string{"service"}, May: []string{"location"},
		aligner: monitoringpb.Aggregation_ALIGN_MAX, reducer: monitoringpb.Aggregation_REDUCE_SUM,
	},
	// cloudsql.googleapis.com/database/cpu/utilization: GAUGE, DOUBLE, unit
	// 10^2.% (a fraction 0-1), resource cloudsql_database (database_id =
	// "PROJECT:INSTANCE").
	"cloudsql_cpu": {
		Metric: "cloudsql.googleapis.com/database/cpu/utilization", Resource: "cloudsql_database",
		Doc: "CPU utilisation of the instance (0-1)", Unit: "ratio",
		Need:    []string{"instance"},
		aligner: monitoringpb.Aggregation_ALIGN_MEAN, reducer: monitoringpb.Aggregation_REDUCE_MAX,
	},
	// cloudsql.googleapis.com/database/network/connections: GAUGE, INT64,
	// unit 1: connections to the instance (MySQL and SQL Server).
	"cloudsql_connections": {
		Metric: "cloudsql.googleapis.com/database/network/connections", Resource: "cloudsql_database",
		Doc: "open connections (MySQL, SQL Server)", Unit: "connections",
		Need:    []string{"instance"},
		aligner: monitoringpb.Aggregation_ALIGN_MEAN, reducer: monitoringpb.Aggregation_REDUCE_SUM,
	},
	// cloudsql.googleapis.com/database/postgresql/num_backends: GAUGE, INT64,
	// unit 1, metric label database: connections of a PostgreSQL instance,
	// summed over its databases.
	"cloudsql_postgres_connections": {
		Metric: "cloudsql.googleapis.com/database/postgresql/num_backends", Resource: "cloudsql_database",
		Doc: "open connections (PostgreSQL backends)", Unit: "connections",
		Need:    []string{"instance"},
		aligner: monitoringpb.Aggregation_ALIGN_MEAN, reducer: monitoringpb.Aggregation_REDUCE_SUM,
	},
	// kubernetes.io/node/cpu/allocatable_utilization: GAUGE, DOUBLE, unit 1
	// (fraction of allocatable CPU in use), resource k8s_node (cluster_name,
	// node_name, location). The hottest node.
	"gke_node_cpu": {
		Metric: "kubernetes.io/node/cpu/allocatable_utilization", Resource: "k8s_node",
		Doc: "CPU utilisation of the busiest node (0-1 of allocatable)", Unit: "ratio",
		Need: []string{"cluster"}, May: []string{"location"},
		aligner: monitoringpb.Aggregation_ALIGN_MEAN, reducer: monitoringpb.Aggregation_REDUCE_MAX,
	},
	// kubernetes.io/node/memory/allocatable_utilization: GAUGE, DOUBLE,
	// unit 1, metric labels memory_type ("evictable", "non-evictable") and
	// component. Non-evictable memory is what cannot be reclaimed: the part
	// that ends in OOM kills.
	"gke_node_memory": {
		Metric: "kubernetes.io/node/memory/allocatable_utilization", Resource: "k8s_node",
		Doc: "non-evictable memory of the fullest node (0-1 of allocatable)", Unit: "ratio",
		Need: []string{"cluster"}, May: []string{"location"},
		extra:   `metric.label.memory_type = "non-evictable"`,
		aligner: monitoringpb.Aggregation_ALIGN_MEAN, reducer: monitoringpb.Aggregation_REDUCE_MAX,
	},
	// kubernetes.io/container/cpu/limit_utilization: GAUGE, DOUBLE, unit 1
	// (fraction of the CPU limit), resource k8s_container (cluster_name,
	// namespace_name, pod_name, container_name, location).
	"gke_container_cpu": {
		Metric: "kubernetes.io/container/cpu/limit_utilization", Resource: "k8s_container",
		Doc: "CPU of the busiest container (0-1 of its limit)", Unit: "ratio",
		Need: []string{"cluster"}, May: []string{"namespace", "location"},
		aligner: monitoringpb.Aggregation_ALIGN_MEAN, reducer: monitoringpb.Aggregation_REDUCE_MAX,
	},
	// kubernetes.io/container/memory/limit_utilization: GAUGE, DOUBLE, unit
	// 1, metric label memory_type as for nodes.
	"gke_container_memory": {
		Metric: "kubernetes.io/container/memory/limit_utilization", Resource: "k8s_container",
		Doc: "non-evictable memory of the fullest container (0-1 of its limit)", Unit: "ratio",
		Need: []string{"cluster"}, May: []string{"namespace", "location"},
		extra:   `metric.label.memory_type = "non-evictable"`,
		aligner: monitoringpb.Aggregation_ALIGN_MEAN, reducer: monitoringpb.Aggregation_REDUCE_MAX,
	},
	// loadbalancing.googleapis.com/https/total_latencies: DELTA,
	// DISTRIBUTION, unit ms, resource https_lb_rule (url_map_name,
	// forwarding_rule_name, backend_service_name...): client to last byte.
	"lb_latency_p95": {
		Metric: "loadbalancing.googleapis.com/https/total_latencies", Resource: "https_lb_rule",
		Doc: "95th percentile latency at the external HTTPS load balancer", Unit: "s",
		Need: []string{"url_map"}, percentile: "95", scale: 0.001,
	},
	"lb_latency_p99": {
		Metric: "loadbalancing.googleapis.com/https/total_latencies", Resource: "https_lb_rule",
		Doc: "99th percentile latency at the external HTTPS load balancer", Unit: "s",
		Need: []string{"url_map"}, percentile: "99", scale: 0.001,
	},
	// loadbalancing.googleapis.com/https/request_count: DELTA, INT64, unit
	// 1; its response_code_class label is an INT64 (500 for 5xx, 0 for no
	// response), so the one-call ratio matches "500".
	"lb_5xx_ratio": {
		Metric: "loadbalancing.googleapis.com/https/request_count", Resource: "https_lb_rule",
		Doc: "share of requests answered with a 5xx status at the load balancer (0-1)", Unit: "ratio",
		Need:    []string{"url_map"},
		aligner: monitoringpb.Aggregation_ALIGN_RATE, reducer: monitoringpb.Aggregation_REDUCE_SUM,
		ratioLabel: "metric.label.response_code_class", ratioValues: []string{"500"},
	},
	// Cloud Armor (WAF). networksecurity.googleapis.com/https/request_count:
	// DELTA, INT64, unit 1, resource network_security_policy (labels
	// policy_name, backend_target_name, backend_target_type, region...),
	// metric label blocked (BOOL: "true" when the policy denied the
	// request). Every request a policy evaluated is counted once, allowed
	// or blocked. Google's Cloud Armor monitoring page names the metrics
	// (requests per policy by outcome, the "Network Security Policies"
	// dashboard); the metric type, resource type and label names are those
	// public alert policies and dashboards filter on, since the metric
	// reference table was not in the search index on 2026-12-02.
	"armor_request_rate": {
		Metric: "networksecurity.googleapis.com/https/request_count", Resource: "network_security_policy",
		Doc: "requests per second the Cloud Armor policy evaluated", Unit: "req/s",
		Need:    []string{"policy"},
		aligner: monitoringpb.Aggregation_ALIGN_RATE, reducer: monitoringpb.Aggregation_REDUCE_SUM,
	},
	"armor_blocked_rate": {
		Metric: "networksecurity.googleapis.com/https/request_count", Resource: "network_security_policy",
		Doc: "requests per second the Cloud Armor policy blocked", Unit: "req/s",
		Need:    []string{"policy"},
		extra:   `metric.label.blocked = "true"`,
		aligner: monitoringpb.Aggregation_ALIGN_RATE, reducer: monitoringpb.Aggregation_REDUCE_SUM,
	},
	// The same metric grouped by blocked in ONE call: blocked over evaluated.
	"armor_blocked_ratio": {
		Metric: "networksecurity.googleapis.com/https/request_count", Resource: "network_security_policy",
		Doc: "share of evaluated requests the Cloud Armor policy blocked (0-1)", Unit: "ratio",
		Need:    []string{"policy"},
		aligner: monitoringpb.Aggregation_ALIGN_RATE, reducer: monitoringpb.Aggregation_REDUCE_SUM,
		ratioLabel: "metric.label.blocked", ratioValues: []string{"true"},
	},
	// pubsub.googleapis.com/subscription/oldest_unacked_message_age: GAUGE,
	// INT64, unit s, resource pubsub_subscription (subscription_id).
	"pubsub_oldest_unacked_age": {
		Metric: "pubsub.googleapis.com/subscription/oldest_unacked_message_age", Resource: "pubsub_subscription",
		Doc: "age of the oldest unacknowledged message", Unit: "s",
		Need:    []string{"subscription"},
		aligner: monitoringpb.Aggregation_ALIGN_MAX, reducer: monitoringpb.Aggregation_REDUCE_MAX,
	},
})

// completePresets fills what each preset's entry leaves implicit: its name
// (the key) and a scale of 1.
func completePresets(m map[string]preset) map[string]preset {
	for name, p := range m {
		p.Name = name
		if p.scale == 0 {
			p.scale = 1
		}
		m[name] = p
	}
	return m
}

// presetNames lists the presets, sorted.
func presetNames() []string {
	names := make([]string, 0, len(presets))
	for n := range presets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// selectorValue is what a preset key may hold: resource names, never quotes
// or filter syntax.
var selectorValue = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.:-]{0,254}$`)

// filter is the preset's filter for the given selector values.
func (p preset) filter(values map[string]string) string {
	parts := []string{
		fmt.Sprintf("metric.type = %q", p.Metric),
		fmt.Sprintf("resource.type = %q", p.Resource),
	}
	for _, k := range append(slices.Clone(p.Need), p.May...) {
		if v, ok := values[k]; ok {
			parts = append(parts, fmt.Sprintf("%s = %q", keyLabel[k], v))
		}
	}
	if p.extra != "" {
		parts = append(parts, p.extra)
	}
	return strings.Join(parts, " AND ")
}

func applyPreset(pm params, s *spec) error {
	name := pm.str("preset")
	p, ok := presets[name]
	if !ok {
		return fmt.Errorf("gcm: preset %q unknown (known: %s)", name, strings.Join(presetNames(), ", "))
	}
	if pm.has("filter") || pm.has("numerator") || pm.has("denominator") {
		return fmt.Errorf("gcm: preset %s builds its own filter: remove filter/numerator/denominator", name)
	}
	values := map[string]string{}
	for k := range keyLabel {
		if !pm.has(k) {
			continue
		}
		if !slices.Contains(p.Need, k) && !slices.Contains(p.May, k) {
			return fmt.Errorf("gcm: preset %s does not take %s (it takes %s)", name, k, strings.Join(append(slices.Clone(p.Need), p.May...), ", "))
		}
		v := pm.str(k)
		if !selectorValue.MatchString(v) {
			return fmt.Errorf("gcm: preset %s: %s %q: use the resource's name (letters, digits, _ . : -)", name, k, v)
		}
		values[k] = v
	}
	for _, k := range p.Need {
		if _, ok := values[k]; !ok {
			return fmt.Errorf("gcm: preset %s needs %s:", name, k)
		}
	}
	s.mode = modeMetric
	s.filter = p.filter(values)
	s.aligner, s.reducer, s.scale = p.aligner, p.reducer, p.scale
	if p.ratioLabel != "" {
		s.mode = modeRatio
		s.denominator = s.filter
		s.ratioLabel, s.ratioValues = p.ratioLabel, p.ratioValues
	}
	if p.percentile != "" && !pm.has("percentile") && !pm.has("aligner") && !pm.has("reducer") {
		pm["percentile"] = p.percentile // parseAggregation sets aligner and reducer
	}
	return nil
}
