package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/fourkeys"
)

// DeploymentsBetween lists the deployments finished in [from, to), newest
// first; services, when not empty, keeps only theirs.
func (s *Store) DeploymentsBetween(ctx context.Context, from, to time.Time, services []string) ([]fourkeys.Deployment, error) {
	q := `SELECT id, service, repo, sha, finished_at, author FROM deployments WHERE finished_at >= ? AND finished_at < ?`
	args := []any{ms(from), ms(to)}
	if len(services) > 0 {
		q += ` AND service IN (` + placeholders(len(services)) + `)`
		for _, svc := range services {
			args = append(args, svc)
		}
	}
	rows, err := s.DB.QueryContext(ctx, q+` ORDER BY finished_at DESC, id DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: deployments between: %w", err)
	}
	return scanDeployments(rows)
}

// IncidentsBetween lists the incidents that started or were resolved in
// [from, to); services, when not empty, keeps only theirs.
func (s *Store) IncidentsBetween(ctx context.Context, from, to time.Time, services []string) ([]fourkeys.Incident, error) {
	q := `SELECT ` + incidentCols + ` FROM incidents WHERE ((started_at >= ?1 AND started_at < ?2) OR (resolved_at >= ?1 AND resolved_at < ?2))`
	args := []any{ms(from), ms(to)}
	if len(services) > 0 {
		q += ` AND service IN (` + placeholdersFrom(3, len(services)) + `)`
		for _, svc := range services {
			args = append(args, svc)
		}
	}
	rows, err := s.DB.QueryContext(ctx, q+` ORDER BY started_at DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: incidents between: %w", err)
	}
	return scanIncidents(rows)
}

// placeholdersFrom is "?first, ?first+1, …": n numbered parameters.
func placeholdersFrom(first, n int) string {
	out := ""
	for i := range n {
		if i > 0 {
			out += ", "
		}
		out += fmt.Sprintf("?%d", first+i)
	}
	return out
}

// AlertTransition is one opening or closing of a stored alert.
type AlertTransition struct {
	Alert board.Alert // the alert as stored now (title, severity…)
	State board.AlertState
	At    time.Time
}

// AlertTransitionsBetween lists the openings and closings in [from, to) of
// the alerts of sources (every source when empty), newest first.
func (s *Store) AlertTransitionsBetween(ctx context.Context, sources []string, from, to time.Time) ([]AlertTransition, error) {
	q := `SELECT t.state, t.at, a.alert FROM alert_transitions t JOIN alerts a ON a.source = t.source AND a.id = t.id
		WHERE t.at >= ? AND t.at < ?`
	args := []any{ms(from), ms(to)}
	if len(sources) > 0 {
		q += ` AND t.source IN (` + placeholders(len(sources)) + `)`
		for _, src := range sources {
			args = append(args, src)
		}
	}
	rows, err := s.DB.QueryContext(ctx, q+` ORDER BY t.at DESC`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: alert transitions: %w", err)
	}
	defer rows.Close()
	var out []AlertTransition
	seen := map[string]bool{} // a transition recorded twice (redelivery) is listed once
	for rows.Next() {
		var state, js string
		var at int64
		if err := rows.Scan(&state, &at, &js); err != nil {
			return out, fmt.Errorf("store: alert transitions: %w", err)
		}
		var a board.Alert
		if err := json.Unmarshal([]byte(js), &a); err != nil {
			return out, fmt.Errorf("store: alert transitions: %w", err)
		}
		key := fmt.Sprintf("%s\x00%s\x00%s\x00%d", a.Source, a.ID, state, at)
		if seen[key] {
			continue
		}
		seen[key] = true
		out = append(out, AlertTransition{Alert: a, State: board.AlertState(state), At: fromMS(at)})
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("store: alert transitions: %w", err)
	}
	return out, nil
}
