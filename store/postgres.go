package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/wallboard/wallboard/board"
)

// The PostgreSQL store (for replicas that share one database) runs the same
// SQL as SQLite through pgx's database/sql driver. What differs is kept here:
//
//   - placeholders: the store's SQL is written with SQLite's ? and ?NNN;
//     every statement is rebound to $n on its way to PostgreSQL (rebind),
//     by the connection itself, so no call site can forget it;
//   - schema: its own numbered migrations (migrations/postgres, the same
//     numbers and meaning; BIGINT for the millisecond times), applied under
//     an advisory lock so that replicas starting together apply each once;
//   - writes: every write transaction first takes one transaction-scoped
//     advisory lock (writerLockKey), so writers run one at a time across all
//     replicas, as SQLite's single writer does within one process. The
//     store's read-then-write logic (alerts, Four Keys upserts) relies on
//     that and stays correct under READ COMMITTED;
//   - durability: COMMIT returns once PostgreSQL has flushed the commit
//     (synchronous_commit on, the default); a URL or server that turns it
//     off is refused, since webhooks answer 2xx on COMMIT's return.
//
// An outage (server down, network gone) makes every call fail with an error:
// webhooks answer 503 (their senders retry), tile states are not saved and
// screens keep the live state they have, /readyz answers 503. database/sql
// drops the broken connections (pgx's ResetSession pings one idle for over a
// second) and opens new ones once the server answers again: nothing needs a
// restart.

// Advisory lock keys (pg_advisory_lock's bigint space is shared by the
// whole database: these are Wallboard's, "WBmigrat" and "WBwriter" in ASCII).
const (
	migrationLockKey int64 = 0x57426d6967726174
	writerLockKey    int64 = 0x5742777269746572
)

// IsPostgresURL reports whether target names a PostgreSQL database
// (postgres:// or postgresql://) rather than a SQLite file.
func IsPostgresURL(target string) bool {
	return strings.HasPrefix(target, "postgres://") || strings.HasPrefix(target, "postgresql://")
}

// ParsePostgresURL checks a PostgreSQL URL the way Open will use it, with
// password (if not "") replacing any in the URL. It returns pgx's config.
func ParsePostgresURL(rawURL, password string) (*pgx.ConnConfig, error) {
	cfg, err := pgx.ParseConfig(rawURL)
	if err != nil {
		// pgx's message may quote the URL.
		return nil, fmt.Errorf("store: %s", board.Redact(err.Error()))
	}
	if password != "" {
		cfg.Password = password
	}
	if cfg.ConnectTimeout == 0 {
		// Without one, a server that drops packets holds a start or a
		// request for the system's TCP timeout (minutes).
		cfg.ConnectTimeout = 10 * time.Second
	}
	if v, ok := cfg.RuntimeParams["synchronous_commit"]; ok && v == "off" {
		return nil, fmt.Errorf("store: synchronous_commit=off would acknowledge webhooks before they are durable")
	}
	return cfg, nil
}

// OpenPostgres opens the PostgreSQL database at rawURL (password, if not "",
// replaces any in the URL) and brings its schema up to date.
func OpenPostgres(ctx context.Context, rawURL, password string) (*Store, error) {
	cfg, err := ParsePostgresURL(rawURL, password)
	if err != nil {
		return nil, err
	}
	name := board.Redact(rawURL)
	db := sql.OpenDB(pgConnector{stdlib.GetConnector(*cfg)})
	// A handful per replica: writes run one at a time anyway (writerLockKey)
	// and reads are short. Idle ones are closed, so that a database restart
	// leaves few broken connections behind.
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(4)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &Store{DB: db, path: name, pg: true, pgConfig: cfg}
	var sc string
	if err := db.QueryRowContext(ctx, `SHOW synchronous_commit`).Scan(&sc); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", name, err)
	}
	if sc == "off" {
		db.Close()
		return nil, fmt.Errorf("store: open %s: the server's synchronous_commit is off: webhooks would be acknowledged before they are durable", name)
	}
	if err := s.migratePostgres(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

// postgresMigrations are the names of the embedded PostgreSQL migrations,
// in order.
func postgresMigrations() ([]string, error) { return fsGlob("migrations/postgres/*.sql") }

// migratePostgres applies the migrations not applied yet, each in its own
// transaction, holding a session advisory lock the whole time: replicas
// that start together wait for the first, then find nothing left to do.
func (s *Store) migratePostgres(ctx context.Context) error {
	conn, err := s.DB.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: open %s: %w", s.path, err)
	}
	defer conn.Close()
	if _, err := conn.ExecContext(ctx, `SELECT pg_advisory_lock(?)`, migrationLockKey); err != nil {
		return fmt.Errorf("store: open %s: migration lock: %w", s.path, err)
	}
	defer conn.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock(?)`, migrationLockKey)
	if _, err := conn.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (name TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("store: open %s: %w", s.path, err)
	}
	names, err := postgresMigrations()
	if err != nil {
		return err
	}
	for _, name := range names {
		base := strings.TrimPrefix(name, "migrations/postgres/")
		var one int
		err := conn.QueryRowContext(ctx, `SELECT 1 FROM schema_migrations WHERE name = ?`, base).Scan(&one)
		if err == nil {
			continue
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: migration %s: %w", base, err)
		}
		if err := applyMigration(ctx, conn, name, base); err != nil {
			return err
		}
	}
	return nil
}

// ErrNotMigrated means the database lacks migrations this binary knows.
var ErrNotMigrated = errors.New("migrations not applied")

// Ready reports why the store cannot take writes now ("" error: it can):
// for PostgreSQL, the server does not answer or a migration this binary
// knows is not applied (another version's replica is mid-upgrade, or the
// database was reset). A SQLite store is always ready: it is a local file,
// and its read-only mode is reported by the app.
func (s *Store) Ready(ctx context.Context) error {
	if !s.pg {
		return nil
	}
	names, err := postgresMigrations()
	if err != nil {
		return err
	}
	var applied int
	if err := s.DB.QueryRowContext(ctx, `SELECT count(*) FROM schema_migrations`).Scan(&applied); err != nil {
		return fmt.Errorf("store: %s: %w", s.path, err)
	}
	if applied < len(names) {
		return fmt.Errorf("store: %s: %d of %d applied: %w", s.path, applied, len(names), ErrNotMigrated)
	}
	return nil
}

// jsonField is the SQL for the text of field name of the JSON object in
// column col (NULL when absent).
func (s *Store) jsonField(col, name string) string {
	if s.pg {
		return col + "::jsonb ->> '" + name + "'"
	}
	return "json_extract(" + col + ", '$." + name + "')"
}

// ConnConfig is a copy of the PostgreSQL connection settings (password
// included) for a connection of its own outside the pool, e.g. one that
// LISTENs or holds session advisory locks; nil for SQLite.
func (s *Store) ConnConfig() *pgx.ConnConfig {
	if s.pgConfig == nil {
		return nil
	}
	return s.pgConfig.Copy()
}

// Postgres reports whether the store is PostgreSQL (else SQLite).
func (s *Store) Postgres() bool { return s.pg }

// pgConnector opens pgx connections that rebind the store's ? placeholders.
type pgConnector struct{ inner driver.Connector }

func (c pgConnector) Connect(ctx context.Context) (driver.Conn, error) {
	cn, err := c.inner.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return pgConn{cn.(*stdlib.Conn)}, nil
}

func (c pgConnector) Driver() driver.Driver { return c.inner.Driver() }

// pgConn is a pgx connection whose statements are rebound; everything else
// (transactions, pings, session resets) is pgx's own.
type pgConn struct{ *stdlib.Conn }

func (c pgConn) Prepare(query string) (driver.Stmt, error) {
	return c.Conn.Prepare(rebind(query))
}

func (c pgConn) PrepareContext(ctx context.Context, query string) (driver.Stmt, error) {
	return c.Conn.PrepareContext(ctx, rebind(query))
}

func (c pgConn) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	return c.Conn.ExecContext(ctx, rebind(query), args)
}

func (c pgConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	return c.Conn.QueryContext(ctx, rebind(query), args)
}

// rebind turns SQLite placeholders into PostgreSQL's: ? is the next
// parameter ($1, $2, …; after a ?NNN it is NNN+1, as in SQLite) and ?NNN is
// $NNN. Question marks inside string literals, quoted identifiers and
// comments are left alone.
func rebind(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	next := 1
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'' || c == '"':
			j := i + 1
			for j < len(q) {
				if q[j] == c {
					if j+1 < len(q) && q[j+1] == c { // doubled quote
						j += 2
						continue
					}
					break
				}
				j++
			}
			end := min(j+1, len(q))
			b.WriteString(q[i:end])
			i = end - 1
		case c == '-' && i+1 < len(q) && q[i+1] == '-':
			j := strings.IndexByte(q[i:], '\n')
			if j < 0 {
				j = len(q) - i
			}
			b.WriteString(q[i : i+j])
			i += j - 1
		case c == '/' && i+1 < len(q) && q[i+1] == '*':
			j := strings.Index(q[i+2:], "*/")
			end := len(q)
			if j >= 0 {
				end = i + 2 + j + 2
			}
			b.WriteString(q[i:end])
			i = end - 1
		case c == '?':
			j := i + 1
			for j < len(q) && q[j] >= '0' && q[j] <= '9' {
				j++
			}
			n := next
			if j > i+1 {
				n, _ = strconv.Atoi(q[i+1 : j])
			}
			next = max(next, n+1)
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			i = j - 1
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// fsGlob is the embedded files matching pattern, sorted.
func fsGlob(pattern string) ([]string, error) {
	names, err := fs.Glob(migrations, pattern)
	sort.Strings(names)
	return names, err
}
