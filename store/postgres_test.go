package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wallboard/wallboard/board"
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

// A server whose synchronous_commit is off would let a webhook be
// acknowledged before its commit is durable: Open refuses it.
func TestOpenRefusesAsynchronousCommit(t *testing.T) {
	url := pgtest.URL(t)
	s, err := Open(context.Background(), url)
	if err != nil {
		t.Fatal(err)
	}
	var db string
	if err := s.DB.QueryRow(`SELECT current_database()`).Scan(&db); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DB.Exec(`ALTER DATABASE ` + db + ` SET synchronous_commit = off`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if s, err := Open(context.Background(), url); err == nil || !strings.Contains(err.Error(), "synchronous_commit is off") {
		if err == nil {
			s.Close()
		}
		t.Errorf("open with synchronous_commit off: %v", err)
	}
}

// Two replicas receiving the same alert at once (a redelivery racing the
// original) record its opening once: their read-then-write transactions
// run one at a time across replicas, as in SQLite.
func TestReplicasWriteOneAtATime(t *testing.T) {
	url := pgtest.URL(t)
	var replicas []*Store
	for range 2 {
		s, err := Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		replicas = append(replicas, s)
	}
	now := time.Date(2026, 11, 20, 10, 0, 0, 0, time.UTC)
	for round := range 20 {
		a := board.Alert{Source: "am", ID: fmt.Sprintf("a%d", round), State: board.AlertOpen, StartedAt: now, Title: "CPU"}
		var wg sync.WaitGroup
		for i := range 4 {
			s := replicas[i%2]
			wg.Go(func() {
				err := s.InTx(context.Background(), func(tx *sql.Tx) error {
					_, err := recordAlertEvent(context.Background(), tx, a, now)
					return err
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
	}
	var n int
	if err := replicas[0].DB.QueryRow(`SELECT count(*) FROM alert_transitions`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 20 {
		t.Errorf("%d openings recorded for 20 alerts each delivered 4 times at once, want 20", n)
	}
}
