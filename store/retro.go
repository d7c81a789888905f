package store

import (
	"context"
	"fmt"
	"time"
)

// PoliciesWithNextAction lists, per source and policy ("source\x00policy"),
// the policies of alerts opened at or after since (event time) of which at
// least one alert carries a next action (the retro view's "with / without a
// next action").
func (s *Store) PoliciesWithNextAction(ctx context.Context, sources []string, since time.Time) (map[string]bool, error) {
	out := map[string]bool{}
	if len(sources) == 0 {
		return out, nil
	}
	args := []any{ms(since)}
	for _, src := range sources {
		args = append(args, src)
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT DISTINCT t.source, a.policy FROM alert_transitions t
		JOIN alerts a ON a.source = t.source AND a.id = t.id
		WHERE t.state = 'open' AND t.at >= ? AND t.source IN (`+placeholders(len(sources))+`)
		AND COALESCE(`+s.jsonField("a.alert", "next_action")+`, '') != ''`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: next actions: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var src, policy string
		if err := rows.Scan(&src, &policy); err != nil {
			return nil, fmt.Errorf("store: next actions: %w", err)
		}
		out[src+"\x00"+policy] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: next actions: %w", err)
	}
	return out, nil
}
