package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// ScreenPresence is what one replica sees live of one paired screen: its
// websockets there and the page's last report. Every replica writes its own
// rows, so every replica's fleet page can show every screen.
type ScreenPresence struct {
	Replica  string
	ScreenID string
	Conns    int       // websockets open on that replica
	LostAt   time.Time // when the last of them closed (zero while connected)
	BeatAt   time.Time // the page's last report (zero: none yet)
	W, H     int
	DPR      float64
	Browser  string
	Build    string
	Autoplay *bool
	Opens    int // websocket opens in the last 24 h
	// UpdatedAt is the replica's last write: a row it stopped touching
	// belongs to a replica that is gone.
	UpdatedAt time.Time
}

// SavePresence writes the rows of replica that changed, marks every row of
// replica as current at now, and sweeps every replica's rows untouched
// since sweepBefore; one transaction.
func (s *Store) SavePresence(ctx context.Context, replica string, changed []ScreenPresence, now, sweepBefore time.Time) error {
	ms := now.UnixMilli()
	return s.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `UPDATE screen_presence SET updated_at = ? WHERE replica = ?`, ms, replica); err != nil {
			return fmt.Errorf("store: save presence: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM screen_presence WHERE updated_at < ?`, sweepBefore.UnixMilli()); err != nil {
			return fmt.Errorf("store: save presence: sweep: %w", err)
		}
		for _, p := range changed {
			var autoplay any
			if p.Autoplay != nil {
				autoplay = boolInt(*p.Autoplay)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO screen_presence
				(replica, screen_id, conns, lost_at, beat_at, w, h, dpr, browser, build, autoplay, opens, updated_at)
				VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (replica, screen_id) DO UPDATE SET conns = excluded.conns, lost_at = excluded.lost_at,
				beat_at = excluded.beat_at, w = excluded.w, h = excluded.h, dpr = excluded.dpr, browser = excluded.browser,
				build = excluded.build, autoplay = excluded.autoplay, opens = excluded.opens, updated_at = excluded.updated_at`,
				replica, p.ScreenID, p.Conns, nullMillis(p.LostAt), nullMillis(p.BeatAt), p.W, p.H, p.DPR, p.Browser, p.Build,
				autoplay, p.Opens, ms); err != nil {
				return fmt.Errorf("store: save presence of screen %s: %w", p.ScreenID, err)
			}
		}
		return nil
	})
}

// Presence returns every replica's rows.
func (s *Store) Presence(ctx context.Context) ([]ScreenPresence, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT replica, screen_id, conns, lost_at, beat_at, w, h, dpr, browser, build, autoplay, opens, updated_at
		FROM screen_presence ORDER BY screen_id, replica`)
	if err != nil {
		return nil, fmt.Errorf("store: presence: %w", err)
	}
	defer rows.Close()
	var out []ScreenPresence
	for rows.Next() {
		var p ScreenPresence
		var lost, beat, autoplay sql.NullInt64
		var updated int64
		if err := rows.Scan(&p.Replica, &p.ScreenID, &p.Conns, &lost, &beat, &p.W, &p.H, &p.DPR, &p.Browser, &p.Build,
			&autoplay, &p.Opens, &updated); err != nil {
			return nil, fmt.Errorf("store: presence: %w", err)
		}
		if lost.Valid {
			p.LostAt = time.UnixMilli(lost.Int64)
		}
		if beat.Valid {
			p.BeatAt = time.UnixMilli(beat.Int64)
		}
		if autoplay.Valid {
			b := autoplay.Int64 == 1
			p.Autoplay = &b
		}
		p.UpdatedAt = time.UnixMilli(updated)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: presence: %w", err)
	}
	return out, nil
}

// nullMillis is t in unix milliseconds, NULL for the zero time.
func nullMillis(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMilli()
}
