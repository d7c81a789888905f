package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// Screen is a TV paired at /pair: its name, the hash of its credential and
// what it shows. Revoked is zero while its credential is valid.
type Screen struct {
	ID          string
	Name        string
	TokenSHA256 [32]byte
	Target      string // /boards/ID or /playlists/ID
	Lobby       bool
	CreatedAt   time.Time
	Revoked     time.Time
}

// AddScreen stores a newly paired screen.
func (s *Store) AddScreen(ctx context.Context, sc Screen) error {
	_, err := s.DB.ExecContext(ctx, `INSERT INTO screens (id, name, token_sha256, target, lobby, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
		sc.ID, sc.Name, sc.TokenSHA256[:], sc.Target, boolInt(sc.Lobby), sc.CreatedAt.UnixMilli())
	if err != nil {
		return fmt.Errorf("store: add screen %s: %w", sc.ID, err)
	}
	return nil
}

// UpdateScreen stores a screen's name, target, lobby flag and revocation.
func (s *Store) UpdateScreen(ctx context.Context, sc Screen) error {
	var revoked any
	if !sc.Revoked.IsZero() {
		revoked = sc.Revoked.UnixMilli()
	}
	res, err := s.DB.ExecContext(ctx, `UPDATE screens SET name = ?, target = ?, lobby = ?, revoked_at = ? WHERE id = ?`,
		sc.Name, sc.Target, boolInt(sc.Lobby), revoked, sc.ID)
	if err != nil {
		return fmt.Errorf("store: update screen %s: %w", sc.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("store: update screen %s: %w", sc.ID, sql.ErrNoRows)
	}
	return nil
}

// Screens returns every paired screen, revoked ones included, oldest first.
func (s *Store) Screens(ctx context.Context) ([]Screen, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT id, name, token_sha256, target, lobby, created_at, revoked_at FROM screens ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("store: screens: %w", err)
	}
	defer rows.Close()
	var out []Screen
	for rows.Next() {
		var sc Screen
		var hash []byte
		var lobby int
		var created int64
		var revoked sql.NullInt64
		if err := rows.Scan(&sc.ID, &sc.Name, &hash, &sc.Target, &lobby, &created, &revoked); err != nil {
			return nil, fmt.Errorf("store: screens: %w", err)
		}
		if len(hash) != len(sc.TokenSHA256) {
			return nil, fmt.Errorf("store: screens: screen %s: bad token hash", sc.ID)
		}
		copy(sc.TokenSHA256[:], hash)
		sc.Lobby = lobby == 1
		sc.CreatedAt = time.UnixMilli(created)
		if revoked.Valid {
			sc.Revoked = time.UnixMilli(revoked.Int64)
		}
		out = append(out, sc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: screens: %w", err)
	}
	return out, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
