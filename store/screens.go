package store

import (
	"context"
	"database/sql"
	"errors"
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

// addScreen stores a newly paired screen.
func (s *Store) addScreen(ctx context.Context, sc Screen) error {
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

// screenCols are the columns scanScreen reads, in its order.
const screenCols = `id, name, token_sha256, target, lobby, created_at, revoked_at`

// rowScanner is a *sql.Row or *sql.Rows.
type rowScanner interface{ Scan(dest ...any) error }

func scanScreen(r rowScanner) (Screen, error) {
	var sc Screen
	var hash []byte
	var lobby int
	var created int64
	var revoked sql.NullInt64
	if err := r.Scan(&sc.ID, &sc.Name, &hash, &sc.Target, &lobby, &created, &revoked); err != nil {
		return sc, err
	}
	if len(hash) != len(sc.TokenSHA256) {
		return sc, fmt.Errorf("screen %s: bad token hash", sc.ID)
	}
	copy(sc.TokenSHA256[:], hash)
	sc.Lobby = lobby == 1
	sc.CreatedAt = time.UnixMilli(created)
	if revoked.Valid {
		sc.Revoked = time.UnixMilli(revoked.Int64)
	}
	return sc, nil
}

// Screens returns every paired screen, revoked ones included, oldest first.
func (s *Store) Screens(ctx context.Context) ([]Screen, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT `+screenCols+` FROM screens ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("store: screens: %w", err)
	}
	defer rows.Close()
	var out []Screen
	for rows.Next() {
		sc, err := scanScreen(rows)
		if err != nil {
			return nil, fmt.Errorf("store: screens: %w", err)
		}
		out = append(out, sc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: screens: %w", err)
	}
	return out, nil
}

// ScreenByToken is the screen whose credential hashes to hash, revoked or
// not (ErrNoScreen: none).
func (s *Store) ScreenByToken(ctx context.Context, hash [32]byte) (Screen, error) {
	sc, err := scanScreen(s.DB.QueryRowContext(ctx, `SELECT `+screenCols+` FROM screens WHERE token_sha256 = ?`, hash[:]))
	if errors.Is(err, sql.ErrNoRows) {
		return sc, ErrNoScreen
	}
	if err != nil {
		return sc, fmt.Errorf("store: screen by token: %w", err)
	}
	return sc, nil
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
