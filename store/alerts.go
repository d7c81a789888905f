package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/wallboard/wallboard/board"
)

// StoredAlert is an alert as the store knows it: the alert and when this
// board first recorded it open (the takeover's clock, which must not depend
// on how late the sender reported it).
type StoredAlert struct {
	board.Alert
	OpenedAt time.Time `json:"opened_at,omitzero"`
}

// How an alert was closed.
const (
	closedByEvent = "event" // the source said so: only a later start reopens it
	closedByPoll  = "poll"  // it vanished from a complete poll: seeing it again reopens it
)

type alertRow struct {
	state    board.AlertState
	started  int64
	ended    int64
	closedBy string
	opened   int64
	alert    board.Alert
}

// recordAlertEvent applies one open or close event to the stored alert (source,
// id) inside tx, and reports whether anything visible changed. Events may
// arrive late, twice, or out of order, and the result is the same:
//
//   - a close ends the occurrence that started at or before its end time; a
//     close older than the stored start (of an earlier occurrence) is ignored;
//   - an open after a close reopens only when it started after that close
//     ended (a new occurrence); an older open (the late open of a close that
//     came first) only fills in details and the alert stays closed. An open
//     without a start time starts when received: it reopens a stored close,
//     and repeated on an open alert it keeps the stored start;
//   - repeating an event changes nothing.
//
// Every opening and every closing is written to alert_transitions.
func recordAlertEvent(ctx context.Context, tx *sql.Tx, a board.Alert, now time.Time) (bool, error) {
	return recordAlert(ctx, tx, a, now, closedByEvent)
}

func recordAlert(ctx context.Context, tx *sql.Tx, a board.Alert, now time.Time, by string) (bool, error) {
	if a.Source == "" || a.ID == "" {
		return false, fmt.Errorf("store: record alert: source and id are required")
	}
	if a.State != board.AlertOpen && a.State != board.AlertClosed {
		return false, fmt.Errorf("store: record alert %s/%s: state %q is neither open nor closed", a.Source, a.ID, a.State)
	}
	// A sender that gives no start time means "now": then arrival order is
	// the only order there is.
	startGiven := !a.StartedAt.IsZero()
	if !startGiven {
		a.StartedAt = now
	}
	if a.State == board.AlertClosed && a.EndedAt.IsZero() {
		a.EndedAt = now
	}
	if a.State == board.AlertOpen {
		a.EndedAt = time.Time{}
	}
	old, found, err := loadAlert(ctx, tx, a.Source, a.ID)
	if err != nil {
		return false, err
	}
	if !found {
		opened := int64(0)
		if a.State == board.AlertOpen {
			opened = ms(now)
		}
		closedBy := ""
		if a.State == board.AlertClosed {
			closedBy = by
		}
		if err := writeAlert(ctx, tx, a, closedBy, opened, now); err != nil {
			return false, err
		}
		// It opened at some point even when its close is the first we hear of.
		if err := transition(ctx, tx, a, board.AlertOpen, a.StartedAt, now); err != nil {
			return false, err
		}
		if a.State == board.AlertClosed {
			if err := transition(ctx, tx, a, board.AlertClosed, a.EndedAt, now); err != nil {
				return false, err
			}
		}
		return true, nil
	}

	next := merge(old.alert, a)
	closedBy, opened := old.closedBy, old.opened
	switch {
	case old.state == board.AlertOpen && a.State == board.AlertOpen:
		next.State = board.AlertOpen
		next.StartedAt = a.StartedAt
		if !startGiven {
			// The same open again, without a time of its own: a repeat,
			// not a later start.
			next.StartedAt = fromMS(old.started)
		}
	case old.state == board.AlertOpen && a.State == board.AlertClosed:
		if ms(a.EndedAt) < old.started {
			return false, nil // the close of an earlier occurrence, arriving late
		}
		next.State, next.StartedAt, next.EndedAt = board.AlertClosed, fromMS(old.started), a.EndedAt
		closedBy = by
		if err := transition(ctx, tx, next, board.AlertClosed, a.EndedAt, now); err != nil {
			return false, err
		}
	case old.state == board.AlertClosed && a.State == board.AlertOpen:
		reopen := ms(a.StartedAt) > old.ended || (by == closedByPoll && old.closedBy == closedByPoll) ||
			// An open without a start time arrived after the stored close
			// (even within the same millisecond): a new occurrence.
			(!startGiven && ms(now) >= old.ended)
		if reopen {
			next.State, next.StartedAt, next.EndedAt = board.AlertOpen, a.StartedAt, time.Time{}
			closedBy, opened = "", ms(now)
			if err := transition(ctx, tx, next, board.AlertOpen, a.StartedAt, now); err != nil {
				return false, err
			}
		} else {
			// The late open of an occurrence already closed: keep it closed,
			// take its details (a close payload may carry fewer).
			next.State, next.EndedAt = board.AlertClosed, fromMS(old.ended)
			next.StartedAt = fromMS(min(old.started, ms(a.StartedAt)))
		}
	default: // closed, closed again
		next.State = board.AlertClosed
		next.StartedAt, next.EndedAt = fromMS(old.started), fromMS(old.ended)
	}
	next.StartedAt, next.EndedAt = fromMS(ms(next.StartedAt)), fromMS(ms(next.EndedAt))
	if next == old.alert && closedBy == old.closedBy && opened == old.opened {
		return false, nil
	}
	if err := writeAlert(ctx, tx, next, closedBy, opened, now); err != nil {
		return false, err
	}
	return true, nil
}

// merge takes the incoming alert's details where it has them, keeping what
// the stored one knew otherwise.
func merge(old, in board.Alert) board.Alert {
	out := old
	set := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	set(&out.Title, in.Title)
	if in.Severity != "" {
		out.Severity = in.Severity
	}
	set(&out.Resource, in.Resource)
	set(&out.Summary, in.Summary)
	set(&out.NextAction, in.NextAction)
	set(&out.RunbookURL, in.RunbookURL)
	set(&out.ConsoleURL, in.ConsoleURL)
	set(&out.Policy, in.Policy)
	return out
}

func loadAlert(ctx context.Context, tx *sql.Tx, source, id string) (alertRow, bool, error) {
	var r alertRow
	var state, js string
	err := tx.QueryRowContext(ctx, `SELECT state, started_at, ended_at, closed_by, opened_at, alert FROM alerts WHERE source = ? AND id = ?`,
		source, id).Scan(&state, &r.started, &r.ended, &r.closedBy, &r.opened, &js)
	if errors.Is(err, sql.ErrNoRows) {
		return r, false, nil
	}
	if err != nil {
		return r, false, fmt.Errorf("store: load alert %s/%s: %w", source, id, err)
	}
	if err := json.Unmarshal([]byte(js), &r.alert); err != nil {
		return r, false, fmt.Errorf("store: load alert %s/%s: %w", source, id, err)
	}
	r.state = board.AlertState(state)
	// JSON round trips lose the monotonic clock and location; compare on
	// what is stored.
	r.alert.StartedAt, r.alert.EndedAt = fromMS(r.started), fromMS(r.ended)
	return r, true, nil
}

func writeAlert(ctx context.Context, tx *sql.Tx, a board.Alert, closedBy string, opened int64, now time.Time) error {
	a.StartedAt, a.EndedAt = fromMS(ms(a.StartedAt)), fromMS(ms(a.EndedAt))
	js, err := json.Marshal(a)
	if err != nil {
		return fmt.Errorf("store: write alert %s/%s: %w", a.Source, a.ID, err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO alerts (source, id, state, severity, policy, started_at, ended_at, closed_by, opened_at, updated_at, alert)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (source, id) DO UPDATE SET state = excluded.state, severity = excluded.severity, policy = excluded.policy,
			started_at = excluded.started_at, ended_at = excluded.ended_at, closed_by = excluded.closed_by,
			opened_at = excluded.opened_at, updated_at = excluded.updated_at, alert = excluded.alert`,
		a.Source, a.ID, string(a.State), string(a.Severity), policyOf(a), ms(a.StartedAt), ms(a.EndedAt), closedBy, opened, ms(now), string(js))
	if err != nil {
		return fmt.Errorf("store: write alert %s/%s: %w", a.Source, a.ID, err)
	}
	return nil
}

// policyOf is what the hygiene tile groups openings by: the alert policy or
// rule name, else the title, else the id.
func policyOf(a board.Alert) string {
	switch {
	case a.Policy != "":
		return a.Policy
	case a.Title != "":
		return a.Title
	}
	return a.ID
}

func transition(ctx context.Context, tx *sql.Tx, a board.Alert, state board.AlertState, at, now time.Time) error {
	policy := policyOf(a)
	_, err := tx.ExecContext(ctx, `INSERT INTO alert_transitions (source, id, policy, state, at, recorded_at) VALUES (?, ?, ?, ?, ?, ?)`,
		a.Source, a.ID, policy, string(state), ms(at), ms(now))
	if err != nil {
		return fmt.Errorf("store: record transition %s/%s: %w", a.Source, a.ID, err)
	}
	return nil
}

// SyncPolled stores the complete set of open alerts a poll of source found:
// each is recorded open, and every stored open alert of source missing from
// the set is closed now (marked as closed by the poll, so that a later poll
// that shows it again reopens it). It reports whether anything changed.
func (s *Store) SyncPolled(ctx context.Context, source string, open []board.Alert, now time.Time) (bool, error) {
	return s.SyncPolledFollowers(ctx, source, open, nil, nil, now, now)
}

// SyncPolledFollowers is SyncPolled, and then makes the alerts of each
// follower source (a webhook receiver fed by the same system) follow the
// poll, in the same transaction: the poll is the truth about every alert
// the polled source knows (it has a stored row of it, or the poll names it
// in suppressed). A follower's copy of such an alert that is neither in open
// nor... open is closed now (closed by the poll, like the polled copy), and
// one the poll closed that the poll shows open again is reopened. Alerts
// the polled source never saw are left to their own feed: another system
// may send them to the same receiver. asOf is when the poll asked (its
// request's start): a follower copy stored after that is newer than the
// poll's view and is not closed by it.
func (s *Store) SyncPolledFollowers(ctx context.Context, source string, open []board.Alert, suppressed, followers []string, asOf, now time.Time) (bool, error) {
	changed := false
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		changed = false
		seen := map[string]bool{}
		for _, a := range open {
			a.Source, a.State, a.EndedAt = source, board.AlertOpen, time.Time{}
			seen[a.ID] = true
			c, err := recordAlert(ctx, tx, a, now, closedByPoll)
			if err != nil {
				return err
			}
			changed = changed || c
		}
		rows, err := tx.QueryContext(ctx, `SELECT id FROM alerts WHERE source = ? AND state = 'open'`, source)
		if err != nil {
			return fmt.Errorf("store: sync %s: %w", source, err)
		}
		var gone []string
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				rows.Close()
				return fmt.Errorf("store: sync %s: %w", source, err)
			}
			if !seen[id] {
				gone = append(gone, id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("store: sync %s: %w", source, err)
		}
		for _, id := range gone {
			c, err := recordAlert(ctx, tx, board.Alert{Source: source, ID: id, State: board.AlertClosed, EndedAt: now}, now, closedByPoll)
			if err != nil {
				return err
			}
			changed = changed || c
		}
		for _, f := range followers {
			c, err := follow(ctx, tx, source, f, open, suppressed, asOf, now)
			if err != nil {
				return err
			}
			changed = changed || c
		}
		return nil
	})
	return changed, err
}

// follow makes follower's copies of the alerts source knows match the
// poll of source that was just stored (see SyncPolledFollowers).
func follow(ctx context.Context, tx *sql.Tx, source, follower string, open []board.Alert, suppressed []string, asOf, now time.Time) (bool, error) {
	known := map[string]bool{}
	for _, id := range suppressed {
		known[id] = true
	}
	ids, err := tx.QueryContext(ctx, `SELECT id FROM alerts WHERE source = ?`, source)
	if err != nil {
		return false, fmt.Errorf("store: follow %s: %w", source, err)
	}
	for ids.Next() {
		var id string
		if err := ids.Scan(&id); err != nil {
			ids.Close()
			return false, fmt.Errorf("store: follow %s: %w", source, err)
		}
		known[id] = true
	}
	ids.Close()
	if err := ids.Err(); err != nil {
		return false, fmt.Errorf("store: follow %s: %w", source, err)
	}
	polled := map[string]board.Alert{}
	for _, a := range open {
		polled[a.ID] = a
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, state, updated_at FROM alerts WHERE source = ? AND (state = 'open' OR closed_by = ?)`, follower, closedByPoll)
	if err != nil {
		return false, fmt.Errorf("store: follow %s: %w", source, err)
	}
	var toClose []string
	var toOpen []board.Alert
	for rows.Next() {
		var id, state string
		var updated int64
		if err := rows.Scan(&id, &state, &updated); err != nil {
			rows.Close()
			return false, fmt.Errorf("store: follow %s: %w", source, err)
		}
		a, active := polled[id]
		switch {
		case !known[id]:
		case state == string(board.AlertOpen) && !active && updated <= ms(asOf):
			toClose = append(toClose, id)
		case state == string(board.AlertClosed) && active:
			toOpen = append(toOpen, a)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("store: follow %s: %w", source, err)
	}
	changed := false
	for _, id := range toClose {
		c, err := recordAlert(ctx, tx, board.Alert{Source: follower, ID: id, State: board.AlertClosed, EndedAt: now}, now, closedByPoll)
		if err != nil {
			return false, err
		}
		changed = changed || c
	}
	for _, a := range toOpen {
		a.Source, a.State, a.EndedAt = follower, board.AlertOpen, time.Time{}
		c, err := recordAlert(ctx, tx, a, now, closedByPoll)
		if err != nil {
			return false, err
		}
		changed = changed || c
	}
	return changed, nil
}

func placeholders(n int) string {
	return strings.TrimSuffix(strings.Repeat("?,", n), ",")
}

// OpenAlerts returns the open alerts of the given sources, most severe
// first, then oldest first.
func (s *Store) OpenAlerts(ctx context.Context, sources []string) ([]StoredAlert, error) {
	if len(sources) == 0 {
		return nil, nil
	}
	args := make([]any, len(sources))
	for i, src := range sources {
		args[i] = src
	}
	rows, err := s.DB.QueryContext(ctx, `SELECT started_at, ended_at, opened_at, alert FROM alerts
		WHERE state = 'open' AND source IN (`+placeholders(len(sources))+`)`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: open alerts: %w", err)
	}
	defer rows.Close()
	var out []StoredAlert
	for rows.Next() {
		var started, ended, opened int64
		var js string
		if err := rows.Scan(&started, &ended, &opened, &js); err != nil {
			return nil, fmt.Errorf("store: open alerts: %w", err)
		}
		var a StoredAlert
		if err := json.Unmarshal([]byte(js), &a.Alert); err != nil {
			return nil, fmt.Errorf("store: open alerts: %w", err)
		}
		a.State = board.AlertOpen
		a.StartedAt, a.EndedAt, a.OpenedAt = fromMS(started), fromMS(ended), fromMS(opened)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: open alerts: %w", err)
	}
	SortAlerts(out)
	return out, nil
}

// Alert returns one stored alert.
func (s *Store) Alert(ctx context.Context, source, id string) (StoredAlert, bool, error) {
	var started, ended, opened int64
	var state, js string
	err := s.DB.QueryRowContext(ctx, `SELECT state, started_at, ended_at, opened_at, alert FROM alerts WHERE source = ? AND id = ?`,
		source, id).Scan(&state, &started, &ended, &opened, &js)
	if errors.Is(err, sql.ErrNoRows) {
		return StoredAlert{}, false, nil
	}
	if err != nil {
		return StoredAlert{}, false, fmt.Errorf("store: alert %s/%s: %w", source, id, err)
	}
	var a StoredAlert
	if err := json.Unmarshal([]byte(js), &a.Alert); err != nil {
		return StoredAlert{}, false, fmt.Errorf("store: alert %s/%s: %w", source, id, err)
	}
	a.State = board.AlertState(state)
	a.StartedAt, a.EndedAt, a.OpenedAt = fromMS(started), fromMS(ended), fromMS(opened)
	return a, true, nil
}

// CountAlerts counts stored alerts and transitions (tests: "nothing stored").
func (s *Store) CountAlerts(ctx context.Context) (alerts, transitions int, err error) {
	if err := s.DB.QueryRowContext(ctx, `SELECT count(*) FROM alerts`).Scan(&alerts); err != nil {
		return 0, 0, fmt.Errorf("store: count alerts: %w", err)
	}
	if err := s.DB.QueryRowContext(ctx, `SELECT count(*) FROM alert_transitions`).Scan(&transitions); err != nil {
		return 0, 0, fmt.Errorf("store: count alerts: %w", err)
	}
	return alerts, transitions, nil
}

// PolicyOpenings is how often alerts of one policy opened in a window.
type PolicyOpenings struct {
	Source string `json:"source"`
	Policy string `json:"policy"`
	Count  int    `json:"count"`
}

// Openings counts, per source and policy, the alerts that opened at or after
// since (event time), for the given sources; most frequent first.
func (s *Store) Openings(ctx context.Context, sources []string, since time.Time) ([]PolicyOpenings, error) {
	if len(sources) == 0 {
		return nil, nil
	}
	args := []any{ms(since)}
	for _, src := range sources {
		args = append(args, src)
	}
	// Grouped by the alert's current policy: a close that arrived before its
	// open was recorded before the policy name was known.
	rows, err := s.DB.QueryContext(ctx, `SELECT t.source, a.policy, count(*) FROM alert_transitions t
		JOIN alerts a ON a.source = t.source AND a.id = t.id
		WHERE t.state = 'open' AND t.at >= ? AND t.source IN (`+placeholders(len(sources))+`)
		GROUP BY t.source, a.policy ORDER BY count(*) DESC, a.policy`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: openings: %w", err)
	}
	defer rows.Close()
	var out []PolicyOpenings
	for rows.Next() {
		var p PolicyOpenings
		if err := rows.Scan(&p.Source, &p.Policy, &p.Count); err != nil {
			return nil, fmt.Errorf("store: openings: %w", err)
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: openings: %w", err)
	}
	return out, nil
}

// severityRank orders severities, most severe first (unknown ones last).
func severityRank(s board.Severity) int {
	switch s {
	case board.SeverityCritical:
		return 0
	case board.SeverityError:
		return 1
	case board.SeverityWarning:
		return 2
	case board.SeverityInfo:
		return 3
	}
	return 4
}

// SortAlerts orders alerts for the wall: most severe first, then oldest
// first (the longest-burning problem on top), then by source and id so the
// order is stable between renders.
func SortAlerts(as []StoredAlert) {
	sort.SliceStable(as, func(i, j int) bool {
		a, b := as[i], as[j]
		if ra, rb := severityRank(a.Severity), severityRank(b.Severity); ra != rb {
			return ra < rb
		}
		if !a.StartedAt.Equal(b.StartedAt) {
			return a.StartedAt.Before(b.StartedAt)
		}
		if a.Source != b.Source {
			return a.Source < b.Source
		}
		return a.ID < b.ID
	})
}

// RecordAlertDelivery stores one alert webhook delivery of receiver in one
// transaction: each alert's event under Source receiver (recordAlertEvent). A
// keyed delivery (the sender's own id) seen before is not applied again and
// is a duplicate. A delivery id made up from the body is applied anyway,
// since repeating an event changes nothing and the same body may be the
// same alert opening again: it is a duplicate only when seen before and it
// changed nothing. When it returns nil the delivery is durable.
func (s *Store) RecordAlertDelivery(ctx context.Context, receiver, delivery string, keyed bool, alerts []board.Alert, now time.Time) (duplicate bool, err error) {
	first, changed := false, false
	err = s.InTx(ctx, func(tx *sql.Tx) error {
		var err error
		changed = false
		first, err = firstDelivery(ctx, tx, receiver, delivery, now)
		if err != nil || (!first && keyed) {
			return err
		}
		for _, a := range alerts {
			a.Source = receiver
			c, err := recordAlertEvent(ctx, tx, a, now)
			if err != nil {
				return err
			}
			changed = changed || c
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	return !first && (keyed || !changed), nil
}
