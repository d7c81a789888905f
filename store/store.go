// Package store is Wallboard's persistence in one SQLite file (pure Go,
// modernc.org/sqlite, WAL): the last known state of every tile, and the events
// that webhooks and pollers deliver (alerts, deployments, incidents).
//
// A write that returns nil is durable: webhooks acknowledge only after it.
// The store never holds up live values: callers keep showing what they have
// when a write fails.
package store

import (
	"context"
	"database/sql"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/wallboard/wallboard/board"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is an open database.
type Store struct {
	DB       *sql.DB
	path     string
	readOnly bool
}

// Open opens (creating if needed) the database at path and brings its schema
// up to date.
func Open(ctx context.Context, path string) (*Store, error) {
	q := url.Values{}
	for _, p := range []string{
		"journal_mode(WAL)",
		"busy_timeout(5000)", // ms to wait for another writer
		"synchronous(FULL)",  // an acknowledged webhook survives a power cut, not only kill -9
		"foreign_keys(1)",
	} {
		q.Add("_pragma", p)
	}
	// BEGIN IMMEDIATE: a transaction that reads before it writes would
	// otherwise fail at once with "database is locked" when it upgrades,
	// without waiting on busy_timeout (SQLite does not retry that upgrade).
	q.Set("_txlock", "immediate")
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	db, err := sql.Open("sqlite", "file:"+abs+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// One writer at a time is SQLite's rule; a few readers may run beside it.
	db.SetMaxOpenConns(4)
	s := &Store{DB: db, path: path}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		if why := notWritable(abs); why != "" || strings.Contains(err.Error(), "readonly") {
			if why == "" {
				why = "SQLite refuses to write it"
			}
			return nil, fmt.Errorf("store: %s is read-only (%s): %w", path, why, ErrReadOnly)
		}
		return nil, err
	}
	return s, nil
}

// ErrReadOnly means the database exists but cannot be written (read-only
// file or directory, read-only file system).
var ErrReadOnly = errors.New("tile state will not be saved and webhooks will answer 503 until it is writable")

// notWritable says why the database file or its directory cannot be
// written ("" when both can).
func notWritable(abs string) string {
	if f, err := os.OpenFile(abs, os.O_RDWR, 0); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return "file not writable: " + err.Error()
	} else if err == nil {
		f.Close()
	}
	f, err := os.CreateTemp(filepath.Dir(abs), ".wallboard-write-check-*")
	if err != nil {
		return "directory not writable: " + err.Error()
	}
	f.Close()
	os.Remove(f.Name())
	return ""
}

// OpenReadOnly opens an existing database for reading only, for when Open
// said ErrReadOnly: the board restores and shows what it has, and every
// write fails with a clear error instead of the board not starting.
// It reads the main file as it is (immutable): changes still only in a WAL
// that cannot be replayed are not seen.
func OpenReadOnly(ctx context.Context, path string) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	var last error
	for _, params := range []string{"mode=ro", "mode=ro&immutable=1"} {
		db, err := sql.Open("sqlite", "file:"+abs+"?"+params+"&_pragma=query_only(1)")
		if err != nil {
			return nil, fmt.Errorf("store: open %s read-only: %w", path, err)
		}
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master`).Scan(&n); err != nil {
			db.Close()
			last = err
			continue
		}
		db.SetMaxOpenConns(4)
		return &Store{DB: db, path: path, readOnly: true}, nil
	}
	return nil, fmt.Errorf("store: open %s read-only: %w", path, last)
}

// ReadOnly reports whether the store was opened read-only.
func (s *Store) ReadOnly() bool { return s.readOnly }

// Close closes the database, checkpointing the WAL.
func (s *Store) Close() error { return s.DB.Close() }

// Path is the database file.
func (s *Store) Path() string { return s.path }

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.DB.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		return fmt.Errorf("store: open %s: %w", s.path, err)
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/")
		var one int
		err := s.DB.QueryRowContext(ctx, `SELECT 1 FROM schema_migrations WHERE name = ?`, base).Scan(&one)
		if err == nil {
			continue
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: migration %s: %w", base, err)
		}
		body, err := migrations.ReadFile(name)
		if err != nil {
			return err
		}
		tx, err := s.DB.BeginTx(ctx, nil)
		if err != nil {
			return fmt.Errorf("store: migration %s: %w", base, err)
		}
		if _, err := tx.ExecContext(ctx, string(body)); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: migration %s: %w", base, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (name, applied_at) VALUES (?, ?)`, base, time.Now().Unix()); err != nil {
			tx.Rollback()
			return fmt.Errorf("store: migration %s: %w", base, err)
		}
		if err := tx.Commit(); err != nil {
			return fmt.Errorf("store: migration %s: %w", base, err)
		}
	}
	return nil
}

// SaveTiles writes the given tile states in one transaction, and their
// values to the tile history (see RecordHistory).
func (s *Store) SaveTiles(ctx context.Context, states []board.TileState) error {
	if len(states) == 0 {
		return nil
	}
	tx, err := s.DB.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: save tiles: %w", err)
	}
	defer tx.Rollback()
	stmt, err := tx.PrepareContext(ctx, `INSERT INTO tile_state (board, tile, state, updated_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (board, tile) DO UPDATE SET state = excluded.state, updated_at = excluded.updated_at`)
	if err != nil {
		return fmt.Errorf("store: save tiles: %w", err)
	}
	defer stmt.Close()
	for _, st := range states {
		st.Restored = false
		b, err := json.Marshal(st)
		if err != nil {
			return fmt.Errorf("store: save tile %s/%s: %w", st.Board, st.Tile, err)
		}
		if _, err := stmt.ExecContext(ctx, st.Board, st.Tile, string(b), st.UpdatedAt.UnixMilli()); err != nil {
			return fmt.Errorf("store: save tile %s/%s: %w", st.Board, st.Tile, err)
		}
		if st.Value != nil && st.Error == "" {
			if err := recordHistory(ctx, tx, st.Board, st.Tile, st.UpdatedAt, *st.Value); err != nil {
				return err
			}
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: save tiles: %w", err)
	}
	return nil
}

// LoadTiles returns every stored tile state. A row that does not decode is
// skipped and reported in the error, the others are still returned.
func (s *Store) LoadTiles(ctx context.Context) ([]board.TileState, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT board, tile, state FROM tile_state`)
	if err != nil {
		return nil, fmt.Errorf("store: load tiles: %w", err)
	}
	defer rows.Close()
	var out []board.TileState
	var bad []string
	for rows.Next() {
		var b, t, js string
		if err := rows.Scan(&b, &t, &js); err != nil {
			return out, fmt.Errorf("store: load tiles: %w", err)
		}
		var st board.TileState
		if err := json.Unmarshal([]byte(js), &st); err != nil {
			bad = append(bad, b+"/"+t)
			continue
		}
		st.Board, st.Tile = b, t
		out = append(out, st)
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("store: load tiles: %w", err)
	}
	if len(bad) > 0 {
		return out, fmt.Errorf("store: load tiles: undecodable state for %s", strings.Join(bad, ", "))
	}
	return out, nil
}
