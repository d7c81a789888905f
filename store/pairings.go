package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// Pairing is a code shown on a TV at /pair, waiting for an admin. Only
// hashes are stored: of the code, and of the TV's pairing cookie (its
// nonce), which becomes the screen's credential once the code is approved.
type Pairing struct {
	CodeSHA256  [32]byte
	NonceSHA256 [32]byte
	Addr        string // the address key the per-address limit counts by
	Expires     time.Time
	ScreenID    string // "" while waiting; the screen once approved
}

// Pairing errors, for the caller to answer each as it should.
var (
	// ErrCodeTaken: an unexpired pairing has this code; draw another.
	ErrCodeTaken = errors.New("store: pairing code in use")
	// ErrTooManyFromAddr: the address holds its limit of unexpired codes.
	ErrTooManyFromAddr = errors.New("store: too many pairing codes from this address")
	// ErrTooManyPairings: the store holds its limit of unexpired codes.
	ErrTooManyPairings = errors.New("store: too many pairing codes waiting")
	// ErrNoPairing: no unexpired pairing matches (wrong, expired, used).
	ErrNoPairing = errors.New("store: no such pairing")
	// ErrNoScreen: no screen holds this credential.
	ErrNoScreen = errors.New("store: no such screen")
)

// AddPairing stores a new pending code. It first sweeps the expired codes,
// then refuses the code when p.Addr already holds perAddr unexpired codes
// (ErrTooManyFromAddr) or the store holds total (ErrTooManyPairings): the
// table stays small whoever asks. Limits and insert are one write
// transaction, so replicas asking together cannot pass them.
func (s *Store) AddPairing(ctx context.Context, p Pairing, now time.Time, perAddr, total int) error {
	ms := now.UnixMilli()
	return s.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM pairings WHERE expires_at <= ?`, ms); err != nil {
			return fmt.Errorf("store: add pairing: sweep: %w", err)
		}
		var mine, all int
		if err := tx.QueryRowContext(ctx, `SELECT count(*), coalesce(sum(CASE WHEN addr = ? THEN 1 ELSE 0 END), 0) FROM pairings`, p.Addr).Scan(&all, &mine); err != nil {
			return fmt.Errorf("store: add pairing: count: %w", err)
		}
		switch {
		case mine >= perAddr:
			return ErrTooManyFromAddr
		case all >= total:
			return ErrTooManyPairings
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO pairings (code_sha256, nonce_sha256, addr, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING`,
			p.CodeSHA256[:], p.NonceSHA256[:], p.Addr, p.Expires.UnixMilli())
		if err != nil {
			return fmt.Errorf("store: add pairing: %w", err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			return ErrCodeTaken
		}
		return nil
	})
}

// PairingByNonce is the unexpired pairing of the TV whose pairing cookie
// hashes to nonce (ErrNoPairing: none).
func (s *Store) PairingByNonce(ctx context.Context, nonce [32]byte, now time.Time) (Pairing, error) {
	var p Pairing
	var code []byte
	var expires int64
	var screen sql.NullString
	err := s.DB.QueryRowContext(ctx, `SELECT code_sha256, addr, expires_at, screen_id FROM pairings WHERE nonce_sha256 = ? AND expires_at > ?`,
		nonce[:], now.UnixMilli()).Scan(&code, &p.Addr, &expires, &screen)
	if errors.Is(err, sql.ErrNoRows) {
		return p, ErrNoPairing
	}
	if err != nil {
		return p, fmt.Errorf("store: pairing: %w", err)
	}
	copy(p.CodeSHA256[:], code)
	p.NonceSHA256 = nonce
	p.Expires = time.UnixMilli(expires)
	p.ScreenID = screen.String
	return p, nil
}

// ApprovePairing pairs the waiting, unexpired code: in one transaction it
// stores sc, whose credential is the TV's pairing cookie (sc.TokenSHA256 is
// taken from the pairing), and marks the code approved, so it cannot be
// approved twice. ErrNoPairing: no such code waiting.
func (s *Store) ApprovePairing(ctx context.Context, code [32]byte, sc Screen, now time.Time) (Screen, error) {
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		var nonce []byte
		err := tx.QueryRowContext(ctx, `SELECT nonce_sha256 FROM pairings WHERE code_sha256 = ? AND expires_at > ? AND screen_id IS NULL`,
			code[:], now.UnixMilli()).Scan(&nonce)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNoPairing
		}
		if err != nil {
			return fmt.Errorf("store: approve pairing: %w", err)
		}
		copy(sc.TokenSHA256[:], nonce)
		if _, err := tx.ExecContext(ctx, `INSERT INTO screens (id, name, token_sha256, target, lobby, created_at) VALUES (?, ?, ?, ?, ?, ?)`,
			sc.ID, sc.Name, sc.TokenSHA256[:], sc.Target, boolInt(sc.Lobby), sc.CreatedAt.UnixMilli()); err != nil {
			return fmt.Errorf("store: approve pairing: add screen %s: %w", sc.ID, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE pairings SET screen_id = ? WHERE code_sha256 = ?`, sc.ID, code[:]); err != nil {
			return fmt.Errorf("store: approve pairing: %w", err)
		}
		return nil
	})
	return sc, err
}

// CollectPairing ends the approved pairing of nonce and returns its screen
// as stored now; the row is gone after, so a code serves once.
// ErrNoPairing: none approved (waiting, expired or collected).
func (s *Store) CollectPairing(ctx context.Context, nonce [32]byte, now time.Time) (Screen, error) {
	var sc Screen
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		var id string
		err := tx.QueryRowContext(ctx, `DELETE FROM pairings WHERE nonce_sha256 = ? AND expires_at > ? AND screen_id IS NOT NULL RETURNING screen_id`,
			nonce[:], now.UnixMilli()).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			return ErrNoPairing
		}
		if err != nil {
			return fmt.Errorf("store: collect pairing: %w", err)
		}
		sc, err = scanScreen(tx.QueryRowContext(ctx, `SELECT `+screenCols+` FROM screens WHERE id = ?`, id))
		if err != nil {
			return fmt.Errorf("store: collect pairing: screen %s: %w", id, err)
		}
		return nil
	})
	return sc, err
}

// PairFailures counts the wrong codes of addr at or after since.
func (s *Store) PairFailures(ctx context.Context, addr string, since time.Time) (int, error) {
	var n int
	if err := s.DB.QueryRowContext(ctx, `SELECT count(*) FROM pair_failures WHERE addr = ? AND at >= ?`, addr, since.UnixMilli()).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: pair failures: %w", err)
	}
	return n, nil
}

// AddPairFailure records a wrong code of addr at at, and sweeps every
// failure before sweepBefore (out of the window).
func (s *Store) AddPairFailure(ctx context.Context, addr string, at, sweepBefore time.Time) error {
	return s.InTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM pair_failures WHERE at < ?`, sweepBefore.UnixMilli()); err != nil {
			return fmt.Errorf("store: pair failure: sweep: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO pair_failures (addr, at) VALUES (?, ?)`, addr, at.UnixMilli()); err != nil {
			return fmt.Errorf("store: pair failure: %w", err)
		}
		return nil
	})
}
