package store

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/fourkeys"
)

// The store methods the other tests do not reach, on both stores: the
// queries where SQLite and PostgreSQL differ most (numbered placeholders,
// JSON fields, case-insensitive repos, booleans, bytes, grouping).

func TestScreensRoundTrip(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		created := time.UnixMilli(1_780_000_000_123)
		sc := Screen{ID: "s1", Name: "Lobby TV", TokenSHA256: [32]byte{1, 2, 255}, Target: "/boards/ops", Lobby: true, CreatedAt: created}
		if err := s.addScreen(ctx, sc); err != nil {
			t.Fatal(err)
		}
		if err := s.addScreen(ctx, Screen{ID: "s2", TokenSHA256: sc.TokenSHA256, CreatedAt: created}); err == nil {
			t.Error("a second screen with the same token hash was accepted")
		}
		sc.Lobby, sc.Revoked = false, created.Add(time.Hour)
		if err := s.UpdateScreen(ctx, sc); err != nil {
			t.Fatal(err)
		}
		if err := s.UpdateScreen(ctx, Screen{ID: "nope"}); !errors.Is(err, sql.ErrNoRows) {
			t.Errorf("update of a missing screen: %v", err)
		}
		got, err := s.Screens(ctx)
		if err != nil || len(got) != 1 {
			t.Fatalf("screens %+v, %v", got, err)
		}
		g := got[0]
		if g.TokenSHA256 != sc.TokenSHA256 || g.Lobby || !g.Revoked.Equal(sc.Revoked) || !g.CreatedAt.Equal(created) || g.Name != "Lobby TV" {
			t.Errorf("screen %+v, want %+v", g, sc)
		}
	})
}

func TestRetroAndStandupQueries(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		t0 := time.Date(2026, 11, 20, 9, 0, 0, 0, time.UTC)
		err := s.InTx(ctx, func(tx *sql.Tx) error {
			for _, a := range []board.Alert{
				{Source: "am", ID: "a1", State: board.AlertOpen, StartedAt: t0, Policy: "cpu", NextAction: "scale up?"},
				{Source: "am", ID: "a2", State: board.AlertOpen, StartedAt: t0.Add(time.Minute), Policy: "disk"},
				{Source: "am", ID: "a3", State: board.AlertOpen, StartedAt: t0.Add(2 * time.Minute), Policy: "cpu"},
				{Source: "other", ID: "o1", State: board.AlertOpen, StartedAt: t0, Policy: "cpu", NextAction: "x"},
			} {
				if _, err := recordAlertEvent(ctx, tx, a, t0.Add(5*time.Minute)); err != nil {
					return err
				}
			}
			for _, d := range []fourkeys.Deployment{
				{ID: "d1", Service: "api", Repo: "Org/API", FinishedAt: t0.Add(time.Hour)},
				{ID: "d2", Service: "web", Repo: "org/web", FinishedAt: t0.Add(2 * time.Hour)},
			} {
				if err := UpsertDeployment(ctx, tx, "test", d); err != nil {
					return err
				}
			}
			if err := UpsertIncident(ctx, tx, "test", fourkeys.Incident{ID: "i1", Service: "api", Repo: "org/api", StartedAt: t0.Add(-time.Hour), ResolvedAt: t0.Add(30 * time.Minute)}); err != nil {
				return err
			}
			if err := UpsertIncident(ctx, tx, "test", fourkeys.Incident{ID: "i2", Service: "web", StartedAt: t0.Add(3 * time.Hour)}); err != nil {
				return err
			}
			if err := recordPush(ctx, tx, "org/api", "c0", []PushedCommit{{SHA: "C1", AuthoredAt: t0}, {SHA: "c2", AuthoredAt: t0.Add(time.Minute)}}); err != nil {
				return err
			}
			return recordPing(ctx, tx, "p1", "hello", t0)
		})
		if err != nil {
			t.Fatal(err)
		}
		next, err := s.PoliciesWithNextAction(ctx, []string{"am"}, t0)
		if err != nil || len(next) != 1 || !next["am\x00cpu"] {
			t.Errorf("policies with a next action = %v, %v; want am/cpu only", next, err)
		}
		open, err := s.Openings(ctx, []string{"am"}, t0)
		if err != nil || len(open) != 2 || open[0] != (PolicyOpenings{Source: "am", Policy: "cpu", Count: 2}) || open[1].Policy != "disk" {
			t.Errorf("openings = %+v, %v", open, err)
		}
		tr, err := s.AlertTransitionsBetween(ctx, []string{"am"}, t0, t0.Add(90*time.Second))
		if err != nil || len(tr) != 2 || tr[0].Alert.ID != "a2" || tr[1].Alert.ID != "a1" {
			t.Errorf("transitions = %+v, %v; want a2, a1", tr, err)
		}
		ins, err := s.IncidentsBetween(ctx, t0, t0.Add(4*time.Hour), []string{"api"})
		if err != nil || len(ins) != 1 || ins[0].ID != "i1" {
			t.Errorf("incidents between (resolved in the range) = %+v, %v; want i1", ins, err)
		}
		ins, err = s.IncidentsBetween(ctx, t0, t0.Add(4*time.Hour), nil)
		if err != nil || len(ins) != 2 || ins[0].ID != "i2" {
			t.Errorf("incidents between = %+v, %v; want i2, i1", ins, err)
		}
		ds, err := s.DeploymentsBetween(ctx, t0, t0.Add(4*time.Hour), []string{"api", "web"})
		if err != nil || len(ds) != 2 || ds[0].ID != "d2" {
			t.Errorf("deployments between = %+v, %v; want d2, d1", ds, err)
		}
		for _, c := range []struct {
			scope fourkeys.Scope
			want  bool
		}{{fourkeys.Scope{Repo: "ORG/api"}, true}, {fourkeys.Scope{Service: "web"}, true}, {fourkeys.Scope{Service: "db"}, false}} {
			if got, err := s.HasIncidents(ctx, c.scope); err != nil || got != c.want {
				t.Errorf("has incidents %+v = %v, %v; want %v", c.scope, got, err, c.want)
			}
		}
		if err := s.InTx(ctx, func(tx *sql.Tx) error {
			cs, ok, err := pushedBetween(ctx, tx, "org/api", "c0", "c2")
			if err != nil || !ok || len(cs) != 2 || cs[0].SHA != "c2" || cs[1].SHA != "c1" {
				t.Errorf("pushed between = %+v, %v, %v", cs, ok, err)
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		var n int
		if err := s.DB.QueryRow(`SELECT count(*) FROM pings WHERE delivery_id = ?`, "p1").Scan(&n); err != nil || n != 1 {
			t.Errorf("pings = %d, %v", n, err)
		}
	})
}
