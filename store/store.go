// Package store is Wallboard's persistence: the last known state of every
// tile, and the events that webhooks and pollers deliver (alerts,
// deployments, incidents), from which FourKeysComputer answers the Four Keys
// tiles. By default it is one SQLite file (pure Go, modernc.org/sqlite, WAL);
// replicas share a PostgreSQL database instead (postgres.go says what
// differs). Both run the same SQL and pass the same tests.
//
// A write that returns nil is durable: webhooks acknowledge only after it.
// The store never holds up live values: callers keep showing what they have
// when a write fails.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
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
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/wallboard/wallboard/board"
)

// migrations/*.sql are SQLite's; migrations/postgres/*.sql are the same
// steps, with the same numbers, for PostgreSQL.
//
//go:embed migrations/*.sql migrations/postgres/*.sql
var migrations embed.FS

// Store is an open database.
type Store struct {
	DB       *sql.DB
	path     string
	readOnly atomic.Bool
	// pg: the database is PostgreSQL (OpenPostgres), not SQLite.
	pg bool
	// pgConfig is what PostgreSQL connections are opened with (nil for SQLite).
	pgConfig *pgx.ConnConfig
	// conn opens the read-only store's connections; Reopen points it at
	// the read-write database (nil for a store opened read-write).
	conn *switchConnector
	// writer queues this process's write transactions (see writeGate).
	writer writeGate
	// fourKeys signals Four Keys events stored by a webhook delivery.
	fourKeys signal
}

// Open opens the store target names and brings its schema up to date: a
// postgres:// or postgresql:// URL is a PostgreSQL database (see
// OpenPostgres), anything else the SQLite file at that path, created if
// needed.
func Open(ctx context.Context, target string) (*Store, error) {
	if IsPostgresURL(target) {
		return OpenPostgres(ctx, target, "")
	}
	return openSQLite(ctx, target)
}

func openSQLite(ctx context.Context, path string) (*Store, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	db, err := sql.Open("sqlite", rwDSN(abs))
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

// rwDSN is the read-write data source name of the database at abs.
func rwDSN(abs string) string {
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
	return "file:" + abs + "?" + q.Encode()
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
		probe, err := sql.Open("sqlite", "file:"+abs+"?"+params+"&_pragma=query_only(1)")
		if err != nil {
			return nil, fmt.Errorf("store: open %s read-only: %w", path, err)
		}
		conn := &switchConnector{drv: probe.Driver()}
		conn.dsn.Store("file:" + abs + "?" + params + "&_pragma=query_only(1)")
		probe.Close()
		db := sql.OpenDB(conn)
		var n int
		if err := db.QueryRowContext(ctx, `SELECT count(*) FROM sqlite_master`).Scan(&n); err != nil {
			db.Close()
			last = err
			continue
		}
		db.SetMaxOpenConns(4)
		// Read-only connections are not kept for long, so that after Reopen
		// none is left over that would refuse a write.
		db.SetConnMaxLifetime(30 * time.Second)
		s := &Store{DB: db, path: path, conn: conn}
		s.readOnly.Store(true)
		return s, nil
	}
	return nil, fmt.Errorf("store: open %s read-only: %w", path, last)
}

// ReadOnly reports whether the store is read-only (opened so, and not
// reopened for writing since).
func (s *Store) ReadOnly() bool { return s.readOnly.Load() }

// Reopen makes a store opened read-only writable once its database can be
// written again (space freed, permissions fixed), without a restart: it
// brings the schema up to date and proves a write on a connection of its
// own, then every new connection of the store is read-write. It returns
// an error, changing nothing, while the database still cannot be written.
func (s *Store) Reopen(ctx context.Context) error {
	if !s.readOnly.Load() || s.conn == nil {
		return nil
	}
	abs, err := filepath.Abs(s.path)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	if why := notWritable(abs); why != "" {
		return fmt.Errorf("store: %s is still read-only (%s)", s.path, why)
	}
	dsn := rwDSN(abs)
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return fmt.Errorf("store: reopen %s: %w", s.path, err)
	}
	defer db.Close()
	rw := &Store{DB: db, path: s.path}
	if err := rw.migrate(ctx); err != nil {
		return fmt.Errorf("store: reopen %s: %w", s.path, err)
	}
	// A real write: rewriting the header's user_version needs the journal,
	// the WAL index and room on the disk.
	var v int
	if err := db.QueryRowContext(ctx, `PRAGMA user_version`).Scan(&v); err != nil {
		return fmt.Errorf("store: reopen %s: %w", s.path, err)
	}
	if _, err := db.ExecContext(ctx, fmt.Sprintf(`PRAGMA user_version = %d`, v)); err != nil {
		return fmt.Errorf("store: reopen %s: %w", s.path, err)
	}
	s.conn.dsn.Store(dsn)
	// Drop the idle read-only connections now; busy ones end within their
	// lifetime (ConnMaxLifetime) and are replaced by read-write ones.
	s.DB.SetMaxIdleConns(0)
	s.DB.SetMaxIdleConns(2)
	s.readOnly.Store(false)
	return nil
}

// switchConnector opens connections with the data source name it holds now.
type switchConnector struct {
	drv driver.Driver
	dsn atomic.Value // string
}

func (c *switchConnector) Connect(context.Context) (driver.Conn, error) {
	return c.drv.Open(c.dsn.Load().(string))
}

func (c *switchConnector) Driver() driver.Driver { return c.drv }

// Close closes the database, checkpointing the WAL.
func (s *Store) Close() error { return s.DB.Close() }

// Path is the database file, or the PostgreSQL URL without its password.
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
		if err := applyMigration(ctx, s.DB, name, base); err != nil {
			return err
		}
	}
	return nil
}

// txBeginner is what a migration runs on: the pool (SQLite) or the one
// connection that holds the migration lock (PostgreSQL).
type txBeginner interface {
	BeginTx(ctx context.Context, opts *sql.TxOptions) (*sql.Tx, error)
}

// applyMigration runs one embedded migration and records it as applied, in
// one transaction: a migration is either whole or absent.
func applyMigration(ctx context.Context, db txBeginner, name, base string) error {
	body, err := migrations.ReadFile(name)
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
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
	return nil
}

// SaveTiles writes the given tile states in one transaction, and their
// values to the tile history (see RecordHistory).
func (s *Store) SaveTiles(ctx context.Context, states []board.TileState) error {
	if len(states) == 0 {
		return nil
	}
	if err := s.writer.acquire(ctx); err != nil {
		return fmt.Errorf("store: save tiles: %w", err)
	}
	defer s.writer.release()
	tx, err := s.beginWrite(ctx)
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
