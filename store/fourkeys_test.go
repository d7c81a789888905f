package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/fourkeys"
)

func TestFourKeysUpsertsAreIdempotent(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		end := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
		d0 := fourkeys.Deployment{ID: "d0", Service: "api", Repo: "org/api", SHA: "aaa", FinishedAt: end.Add(-20 * fourkeys.Day)}
		d1 := fourkeys.Deployment{ID: "d1", Service: "api", Repo: "org/api", SHA: "bbb", FinishedAt: end.Add(-2 * fourkeys.Day)}
		changes := []fourkeys.Change{{SHA: "c1", AuthoredAt: d1.FinishedAt.Add(-time.Hour)}, {SHA: "c2", AuthoredAt: d1.FinishedAt.Add(-3 * time.Hour)}}
		inc := fourkeys.Incident{ID: "i1", Service: "api", StartedAt: d1.FinishedAt.Add(time.Hour), Labels: []string{"incident"}}
		for range 2 { // the second round is a redelivery: nothing counts twice
			err := s.InTx(ctx, func(tx *sql.Tx) error {
				for _, d := range []fourkeys.Deployment{d0, d1} {
					if err := UpsertDeployment(ctx, tx, "test", d); err != nil {
						return err
					}
				}
				if err := UpsertChanges(ctx, tx, d1, changes); err != nil {
					return err
				}
				return UpsertIncident(ctx, tx, "test", inc)
			})
			if err != nil {
				t.Fatal(err)
			}
		}
		// The incident is resolved later: the upsert updates it.
		inc.ResolvedAt = inc.StartedAt.Add(40 * time.Minute)
		if err := s.InTx(ctx, func(tx *sql.Tx) error { return UpsertIncident(ctx, tx, "test", inc) }); err != nil {
			t.Fatal(err)
		}
		r, err := s.ComputeFourKeys(ctx, fourkeys.Scope{Repo: "org/api"}, end, 30*fourkeys.Day)
		if err != nil {
			t.Fatal(err)
		}
		m := r.Current
		if m.Deployments != 2 || m.Changes != 2 || m.FailedDeployments != 1 {
			t.Fatalf("deployments %d, changes %d, failed %d; want 2, 2, 1", m.Deployments, m.Changes, m.FailedDeployments)
		}
		if *m.LeadTime != 2*time.Hour || *m.TimeToRestore != 40*time.Minute || *m.ChangeFailureRate != 0.5 {
			t.Fatalf("lead %v, restore %v, cfr %v; want 2h, 40m, 0.5", *m.LeadTime, *m.TimeToRestore, *m.ChangeFailureRate)
		}
		// An old deployment outside the loaded range is still known as the
		// service's first: d1's changes count.
		if r.Current.Changes != 2 {
			t.Fatalf("changes = %d", r.Current.Changes)
		}
		prev, ok, err := previousDeployment(ctx, s.DB, "api", d1.FinishedAt)
		if err != nil || !ok || prev.ID != "d0" {
			t.Fatalf("previous deployment = %v %v %v, want d0", prev.ID, ok, err)
		}
	})
}

func TestFourKeysStoreMatchesCompute(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		end := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
		ev := busyYear(end, 2000, 10, 200, 5)
		if err := seed(ctx, s, ev); err != nil {
			t.Fatal(err)
		}
		for _, scope := range []fourkeys.Scope{{}, {Service: "svc-3"}, {Repo: "org/svc-4"}} {
			got, err := s.ComputeFourKeys(ctx, scope, end, 30*fourkeys.Day)
			if err != nil {
				t.Fatal(err)
			}
			want := fourkeys.Compute(ev, scope, fourkeys.LastDays(end, 30*fourkeys.Day))
			for i, pair := range [][2]fourkeys.Metrics{{got.Current, want.Current}, {got.Previous, want.Previous}, {got.Trend[0], want.Trend[0]}, {got.Trend[11], want.Trend[11]}} {
				if g, w := fmt.Sprintf("%+v", summary(pair[0])), fmt.Sprintf("%+v", summary(pair[1])); g != w {
					t.Errorf("scope %+v, figure set %d: from the store %s, computed over all events %s", scope, i, g, w)
				}
			}
		}
	})
}

func summary(m fourkeys.Metrics) []any {
	out := []any{m.Deployments, m.FailedDeployments, m.Changes, m.Restored}
	if m.DeploymentsPerDay != nil {
		out = append(out, *m.DeploymentsPerDay)
	}
	if m.LeadTime != nil {
		out = append(out, *m.LeadTime)
	}
	if m.ChangeFailureRate != nil {
		out = append(out, *m.ChangeFailureRate)
	}
	if m.TimeToRestore != nil {
		out = append(out, *m.TimeToRestore)
	}
	return out
}

// busyYear makes a deterministic year of events ending at end.
func busyYear(end time.Time, deployments, changesPer, incidents, services int) fourkeys.Events {
	var ev fourkeys.Events
	start := end.Add(-365 * fourkeys.Day)
	step := 365 * fourkeys.Day / time.Duration(deployments)
	for i := range deployments {
		svc := fmt.Sprintf("svc-%d", i%services)
		d := fourkeys.Deployment{ID: fmt.Sprintf("dep-%d", i), Service: svc, Repo: "org/" + svc,
			SHA: fmt.Sprintf("%040x", i), FinishedAt: start.Add(time.Duration(i) * step)}
		ev.Deployments = append(ev.Deployments, d)
		for j := range changesPer {
			ev.Changes = append(ev.Changes, fourkeys.Change{SHA: fmt.Sprintf("%08x%08x", i, j), Service: svc, DeploymentID: d.ID,
				AuthoredAt: d.FinishedAt.Add(-time.Duration(1+(i*7+j*13)%300) * time.Minute)})
		}
	}
	istep := 365 * fourkeys.Day / time.Duration(incidents)
	for i := range incidents {
		in := fourkeys.Incident{ID: fmt.Sprintf("inc-%d", i), Service: fmt.Sprintf("svc-%d", (i*3)%services),
			StartedAt: start.Add(time.Duration(i)*istep + 17*time.Minute)}
		if i%5 != 4 {
			in.ResolvedAt = in.StartedAt.Add(time.Duration(5+(i*11)%600) * time.Minute)
		}
		if i%7 == 0 {
			in.DeploymentRef = fmt.Sprintf("dep-%d", (i*deployments/incidents+3)%deployments)
		}
		ev.Incidents = append(ev.Incidents, in)
	}
	return ev
}

func seed(ctx context.Context, s *Store, ev fourkeys.Events) error {
	return s.InTx(ctx, func(tx *sql.Tx) error {
		byDep := map[string][]fourkeys.Change{}
		for _, c := range ev.Changes {
			byDep[c.DeploymentID] = append(byDep[c.DeploymentID], c)
		}
		for _, d := range ev.Deployments {
			if err := UpsertDeployment(ctx, tx, "seed", d); err != nil {
				return err
			}
			if err := UpsertChanges(ctx, tx, d, byDep[d.ID]); err != nil {
				return err
			}
		}
		for _, in := range ev.Incidents {
			if err := UpsertIncident(ctx, tx, "seed", in); err != nil {
				return err
			}
		}
		return nil
	})
}

// BenchmarkBusyYear loads a busy year from the store and computes the four
// keys (window, previous window, 12-week trend): 50,000 deployments, 500,000
// changes, 5,000 incidents, 50 services. Target: under 200 ms per op.
func BenchmarkBusyYear(b *testing.B) {
	ctx := context.Background()
	s := openKind(b, "sqlite")
	end := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	if err := seed(ctx, s, busyYear(end, 50_000, 10, 5_000, 50)); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		r, err := s.ComputeFourKeys(ctx, fourkeys.Scope{}, end, 30*fourkeys.Day)
		if err != nil {
			b.Fatal(err)
		}
		if r.Current.LeadTime == nil {
			b.Fatal("no lead time")
		}
	}
}

// Rework and postmortem fields survive the store, a later report without
// them keeps them, and a wide attribution window loads the deployments it
// reaches back to.
func TestFourKeysStoreKeepsReworkAndTheAttributionWindow(t *testing.T) {
	forEachStore(t, func(t *testing.T, s *Store) {
		ctx := context.Background()
		end := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
		from := end.Add(-fourkeys.TrendWeeks * fourkeys.Week) // the start of what ComputeFourKeys loads
		early := fourkeys.Deployment{ID: "early", Service: "api", FinishedAt: from.Add(-47 * time.Hour)}
		fix := fourkeys.Deployment{ID: "fix", Service: "api", FinishedAt: end.Add(-2 * fourkeys.Day), IncidentRef: "inc-7", Labels: []string{"hotfix"}}
		inc := fourkeys.Incident{ID: "i1", Service: "api", StartedAt: from.Add(time.Hour), ResolvedAt: from.Add(3 * time.Hour),
			PostmortemURL: "https://docs.example.com/pm/1"}
		err := s.InTx(ctx, func(tx *sql.Tx) error {
			for _, d := range []fourkeys.Deployment{early, fix} {
				if err := UpsertDeployment(ctx, tx, "test", d); err != nil {
					return err
				}
			}
			// A second report of fix without its reference or labels keeps them.
			if err := UpsertDeployment(ctx, tx, "test", fourkeys.Deployment{ID: "fix", Service: "api", FinishedAt: fix.FinishedAt}); err != nil {
				return err
			}
			return UpsertIncident(ctx, tx, "test", inc)
		})
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			window    time.Duration
			recovered int
		}{{24 * time.Hour, 0}, {48 * time.Hour, 1}} {
			r, err := s.ComputeFourKeys(ctx, fourkeys.Scope{Service: "api"}, end, 30*fourkeys.Day, fourkeys.Options{AttributionWindow: tc.window})
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Trend[0].Recovered; got != tc.recovered {
				t.Errorf("attribution window %s: the incident 48 h after a deployment recovered %d, want %d", tc.window, got, tc.recovered)
			}
			if r.Current.Rework != 1 || r.Recent[0].IncidentRef != "inc-7" || len(r.Recent[0].Labels) != 1 {
				t.Errorf("rework %d, recent %+v; want fix as rework with its reference and label", r.Current.Rework, r.Recent[0])
			}
			if len(r.PostmortemsDue) != 0 {
				t.Errorf("postmortems due %v, want none: its document is linked", r.PostmortemsDue)
			}
		}
	})
}

func TestParseFourKeysQuery(t *testing.T) {
	def := fourkeys.Scope{Service: "shop"}
	ok := []struct {
		name string
		q    board.Query
		want FourKeysQuery
	}{
		{"empty: the source's scope", board.Query{}, FourKeysQuery{Scope: def, window: 30 * fourkeys.Day, postmortemDays: 5}},
		{"string: a service", board.Query{Text: "api"}, FourKeysQuery{Scope: fourkeys.Scope{Service: "api"}, window: 30 * fourkeys.Day, postmortemDays: 5}},
		{"repo", board.Query{Params: map[string]any{"repo": "org/x"}}, FourKeysQuery{Scope: fourkeys.Scope{Repo: "org/x"}, window: 30 * fourkeys.Day, postmortemDays: 5}},
		{"all", board.Query{Params: map[string]any{"scope": "all"}}, FourKeysQuery{window: 30 * fourkeys.Day, postmortemDays: 5}},
		{"window and days", board.Query{Params: map[string]any{"service": "api", "window": "14d", "postmortem_days": uint64(3)}},
			FourKeysQuery{Scope: fourkeys.Scope{Service: "api"}, window: 14 * fourkeys.Day, postmortemDays: 3}},
	}
	for _, tc := range ok {
		got, err := ParseFourKeysQuery(tc.q, def)
		if err != nil || got != tc.want {
			t.Errorf("%s: %+v, %v; want %+v", tc.name, got, err, tc.want)
		}
	}
	bad := []struct {
		q    map[string]any
		want string
	}{
		{map[string]any{"servce": "api"}, `unknown key "servce"`},
		{map[string]any{"scope": "team"}, `scope "team"`},
		{map[string]any{"scope": "service"}, "needs service"},
		{map[string]any{"window": "a month"}, "window"},
		{map[string]any{"window": "2h"}, "at least 1d"},
		{map[string]any{"postmortem_days": "five"}, "postmortem_days"},
	}
	for _, tc := range bad {
		if _, err := ParseFourKeysQuery(board.Query{Params: tc.q}, def); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ParseFourKeysQuery(%v) = %v, want an error mentioning %q", tc.q, err, tc.want)
		}
	}
}

// Every watcher of stored Four Keys events hears of a delivery (the
// running scheduler, the next config's during a reload, the replicas'
// announcer): one watcher's receive does not take another's. A burst folds
// into one receive per watcher; a watcher that stopped hears nothing more.
func TestEveryFourKeysWatcherHearsADelivery(t *testing.T) {
	s := openKind(t, "sqlite")
	a, stopA := s.WatchFourKeys()
	b, stopB := s.WatchFourKeys()
	defer stopB()
	ctx := context.Background()
	for i := range 3 {
		d := fourkeys.Deployment{ID: fmt.Sprintf("d%d", i), Service: "api", FinishedAt: time.Date(2026, 12, 1, 10, i, 0, 0, time.UTC)}
		if err := s.RecordDeploymentEvent(ctx, "events", d, nil); err != nil {
			t.Fatal(err)
		}
	}
	for name, c := range map[string]<-chan struct{}{"first": a, "second": b} {
		select {
		case <-c:
		default:
			t.Fatalf("the %s watcher did not hear of the deliveries", name)
		}
		select {
		case <-c:
			t.Fatalf("the %s watcher heard a burst of 3 deliveries more than once", name)
		default:
		}
	}
	stopA()
	if err := s.RecordDeploymentEvent(ctx, "events", fourkeys.Deployment{ID: "d9", Service: "api", FinishedAt: time.Date(2026, 12, 1, 11, 0, 0, 0, time.UTC)}, nil); err != nil {
		t.Fatal(err)
	}
	select {
	case <-a:
		t.Fatal("a stopped watcher still hears deliveries")
	default:
	}
	select {
	case <-b:
	default:
		t.Fatal("the second watcher did not hear of the last delivery")
	}
}
