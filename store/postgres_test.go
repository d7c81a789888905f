package store

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/wallboard/wallboard/store/pgtest"
)

func TestRebind(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{`SELECT 1`, `SELECT 1`},
		{`SELECT a FROM t WHERE b = ? AND c = ?`, `SELECT a FROM t WHERE b = $1 AND c = $2`},
		{`WHERE x = ?1 OR y = ?1 AND z IN (?3, ?4)`, `WHERE x = $1 OR y = $1 AND z IN ($3, $4)`},
		{`WHERE x = ?2 AND y = ?`, `WHERE x = $2 AND y = $3`}, // SQLite: the largest so far + 1
		{`WHERE note = 'what?' AND x = ?`, `WHERE note = 'what?' AND x = $1`},
		{`WHERE note = 'it''s ?' AND x = ?`, `WHERE note = 'it''s ?' AND x = $1`},
		{`SELECT "odd?name" FROM t WHERE x = ?`, `SELECT "odd?name" FROM t WHERE x = $1`},
		{"SELECT 1 -- why?\nWHERE x = ?", "SELECT 1 -- why?\nWHERE x = $1"},
		{`SELECT /* ? */ x WHERE y = ?`, `SELECT /* ? */ x WHERE y = $1`},
		{`WHERE note = 'unterminated ?`, `WHERE note = 'unterminated ?`},
	} {
		if got := rebind(c.in); got != c.want {
			t.Errorf("rebind(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

// Three replicas starting at once on an empty database: each migration is
// applied exactly once and every replica opens.
func TestConcurrentOpensMigrateOnce(t *testing.T) {
	url := pgtest.URL(t)
	var wg sync.WaitGroup
	errs := make([]error, 3)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s, err := Open(context.Background(), url)
			if err == nil {
				s.Close()
			}
			errs[i] = err
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
	s, err := Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	names, _ := postgresMigrations()
	var n, distinct int
	if err := s.DB.QueryRow(`SELECT count(*), count(DISTINCT name) FROM schema_migrations`).Scan(&n, &distinct); err != nil {
		t.Fatal(err)
	}
	if n != len(names) || distinct != len(names) {
		t.Errorf("%d migrations recorded (%d distinct), want each of %d once", n, distinct, len(names))
	}
	if err := s.Ready(context.Background()); err != nil {
		t.Errorf("ready: %v", err)
	}
}

// Each SQLite migration has its PostgreSQL twin with the same number and
// name, so both stores are at the same step.
func TestMigrationsPaired(t *testing.T) {
	lite, _ := migrationNames("migrations/*.sql")
	pg, _ := migrationNames("migrations/postgres/*.sql")
	if strings.Join(lite, " ") != strings.Join(pg, " ") {
		t.Errorf("SQLite migrations %v, PostgreSQL migrations %v", lite, pg)
	}
}

func migrationNames(pattern string) ([]string, error) {
	names, err := fsGlob(pattern)
	for i, n := range names {
		names[i] = n[strings.LastIndexByte(n, '/')+1:]
	}
	return names, err
}

// A URL or server that would acknowledge before the commit is durable is
// refused; the password never shows in an error.
func TestPostgresURLChecks(t *testing.T) {
	if _, err := ParsePostgresURL("postgres://wb@db/wb?synchronous_commit=off", ""); err == nil {
		t.Error("synchronous_commit=off accepted")
	}
	_, err := ParsePostgresURL("postgres://wb:hunter2@db:notaport/wb", "")
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("bad port: %v", err)
	}
	if _, err := OpenPostgres(context.Background(), "postgres://wb:hunter2@127.0.0.1:1/wb?connect_timeout=1", ""); err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Errorf("open of an unreachable server: %v", err)
	}
}
