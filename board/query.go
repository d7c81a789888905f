package board

import (
	"encoding/json"
	"fmt"
	"time"
)

// Query is what a tile asks of its source. Two tiles with equal Keys share one
// poll, whatever board they are on and however many screens show them.
type Query struct {
	Source string         `json:"source"`
	Text   string         `json:"text,omitempty"`   // a string query: PromQL, a demo signal
	Params map[string]any `json:"params,omitempty"` // a mapping query: a Cloud Monitoring filter…
	// Range > 0 asks for a series over that lookback (timeseries tiles); 0 asks
	// for the latest value only.
	Range time.Duration `json:"range,omitempty"`
	// Label is the row label template of grouped results (tile "label"),
	// e.g. "{{.service}} in {{.region}}"; part of the key because it changes
	// what the source returns.
	Label string `json:"label,omitempty"`
	// Kind is the tile kind, set only for kinds a source answers
	// differently from others on it (security), so other tiles' keys, and
	// the polls they share, are unchanged.
	Kind string `json:"kind,omitempty"`
}

// Key is the identity of a query: equal keys are polled once. encoding/json
// sorts map keys, so the key does not depend on YAML key order.
func (q Query) Key() string {
	b, err := json.Marshal(q)
	if err != nil {
		// YAML can hold .nan and .inf, which JSON cannot: fall back to Go's
		// printing (maps print sorted), still one key per distinct query.
		return fmt.Sprintf("%#v", q)
	}
	return string(b)
}

// QueryKey is the identity of what a tile asks its source, the one rule for
// "same query": tiles with equal keys are polled as one job, a poll's result
// belongs to the tiles whose key is still its job's, and a tile keeps its
// state across a reload only while its key is unchanged. "" when the tile's
// query is malformed (then it matches nothing).
func QueryKey(t TileConfig) string {
	q, err := QueryOf(t)
	if err != nil {
		return ""
	}
	return q.Key()
}

// QueryOf builds the Query a tile asks of its source.
func QueryOf(t TileConfig) (Query, error) {
	q := Query{Source: t.Source, Label: t.Label}
	if t.Kind == KindSecurity {
		q.Kind = t.Kind
	}
	switch v := t.Query.(type) {
	case nil:
	case string:
		q.Text = v
	case map[string]any:
		q.Params = v
	default:
		return q, fmt.Errorf("must be a string or a mapping, not %T", v)
	}
	if t.Kind == KindTimeSeries {
		q.Range = t.Range
	}
	return q, nil
}

// Param returns a mapping query's string parameter, or "".
func (q Query) Param(name string) string {
	if v, ok := q.Params[name]; ok {
		if s, ok := v.(string); ok {
			return s
		}
		return fmt.Sprint(v)
	}
	return ""
}
