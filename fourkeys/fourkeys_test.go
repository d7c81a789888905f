package fourkeys

import (
	"fmt"
	"testing"
	"time"
)

// now is the end of every test window: Wednesday 2026-11-25 12:00 UTC.
var now = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) time.Time { return now.Add(-d) }

func dep(id, svc string, at time.Time) Deployment {
	return Deployment{ID: id, Service: svc, Repo: "org/" + svc, SHA: "sha-" + id, FinishedAt: at}
}

func chg(sha, depID string, at time.Time) Change {
	return Change{SHA: sha, DeploymentID: depID, AuthoredAt: at}
}

func fptr(v float64) *float64             { return &v }
func dptr(v time.Duration) *time.Duration { return &v }

func eqF(a, b *float64) bool {
	if a == nil || b == nil {
		return a == b
	}
	d := *a - *b
	return d < 1e-9 && d > -1e-9
}

func eqD(a, b *time.Duration) bool {
	if a == nil || b == nil {
		return a == b
	}
	return *a == *b
}

func show[T any](p *T) any {
	if p == nil {
		return "nil"
	}
	return *p
}

func TestCompute(t *testing.T) {
	w := LastDays(now, 30*Day)
	tokyo := time.FixedZone("JST", 9*3600)
	newYork := time.FixedZone("EST", -5*3600)
	cases := []struct {
		name  string
		ev    Events
		scope Scope
		// want
		deploys int
		perDay  *float64
		lead    *time.Duration
		cfr     *float64
		ttr     *time.Duration
	}{
		{
			name: "no data at all",
		},
		{
			name: "first deployment of a service has no changes counted",
			ev: Events{
				Deployments: []Deployment{dep("d1", "api", ago(10*Day)), dep("d2", "api", ago(5*Day))},
				Changes: []Change{
					chg("a", "d1", ago(12*Day)), // first deployment: not counted
					chg("b", "d2", ago(5*Day+2*time.Hour)),
				},
			},
			deploys: 2, perDay: fptr(2.0 / 30), lead: dptr(2 * time.Hour), cfr: fptr(0),
		},
		{
			name: "first deployment known from the store, outside the loaded slice",
			ev: Events{
				Deployments:     []Deployment{dep("d2", "api", ago(5*Day))},
				Changes:         []Change{chg("b", "d2", ago(5*Day+3*time.Hour))},
				FirstDeployment: map[string]Deployment{"api": dep("d0", "api", ago(200*Day))},
			},
			deploys: 1, perDay: fptr(1.0 / 30), lead: dptr(3 * time.Hour), cfr: fptr(0),
		},
		{
			name: "duplicate deployment ids count once",
			ev: Events{
				Deployments: []Deployment{dep("d0", "api", ago(20*Day)), dep("d1", "api", ago(3*Day)), dep("d1", "api", ago(3*Day)), dep("d1", "api", ago(2*Day))},
				Changes:     []Change{chg("x", "d1", ago(3*Day+time.Hour)), chg("x", "d1", ago(3*Day+time.Hour))},
			},
			deploys: 2, perDay: fptr(2.0 / 30), lead: dptr(time.Hour), cfr: fptr(0),
		},
		{
			name: "commits with non-positive durations are dropped",
			ev: Events{
				Deployments: []Deployment{dep("d0", "api", ago(20*Day)), dep("d1", "api", ago(3*Day))},
				Changes: []Change{
					chg("future", "d1", ago(2*Day)), // authored after the deployment (clock skew)
					chg("same", "d1", ago(3*Day)),   // zero duration
					chg("ok", "d1", ago(3*Day+4*time.Hour)),
				},
			},
			deploys: 2, perDay: fptr(2.0 / 30), lead: dptr(4 * time.Hour), cfr: fptr(0),
		},
		{
			name: "squash merge is one change with the squash commit's author date",
			ev: Events{
				Deployments: []Deployment{dep("d0", "api", ago(20*Day)), dep("d1", "api", ago(1*Day))},
				// The branch's own commits (days older) never reached
				// production as such; only the squash commit did.
				Changes: []Change{chg("squash", "d1", ago(1*Day+90*time.Minute))},
			},
			deploys: 2, perDay: fptr(2.0 / 30), lead: dptr(90 * time.Minute), cfr: fptr(0),
		},
		{
			name: "median of an even count is the mean of the middle two",
			ev: Events{
				Deployments: []Deployment{dep("d0", "api", ago(20*Day)), dep("d1", "api", ago(1*Day))},
				Changes: []Change{
					chg("a", "d1", ago(1*Day+1*time.Hour)), chg("b", "d1", ago(1*Day+2*time.Hour)),
					chg("c", "d1", ago(1*Day+4*time.Hour)), chg("d", "d1", ago(1*Day+9*time.Hour)),
				},
			},
			deploys: 2, perDay: fptr(2.0 / 30), lead: dptr(3 * time.Hour), cfr: fptr(0),
		},
		{
			name: "incident naming its deployment by id",
			ev: Events{
				Deployments: []Deployment{dep("d1", "api", ago(10*Day)), dep("d2", "api", ago(2*Day))},
				// Starts 3 days after d1 and 8 h after d2, yet names d1.
				Incidents: []Incident{{ID: "i1", Service: "api", StartedAt: ago(2*Day - 8*time.Hour), ResolvedAt: ago(2*Day - 9*time.Hour), DeploymentRef: "d1"}},
			},
			deploys: 2, perDay: fptr(2.0 / 30), cfr: fptr(0.5), ttr: dptr(time.Hour),
		},
		{
			name: "incident naming its deployment by short sha",
			ev: Events{
				Deployments: []Deployment{
					{ID: "d1", Service: "api", SHA: "0123456789abcdef0123456789abcdef01234567", FinishedAt: ago(10 * Day)},
					{ID: "d2", Service: "api", SHA: "fedcba9876543210fedcba9876543210fedcba98", FinishedAt: ago(9 * Day)},
					{ID: "d3", Service: "api", SHA: "aaaaaaa876543210fedcba9876543210fedcba98", FinishedAt: ago(8 * Day)},
				},
				Incidents: []Incident{{ID: "i1", Service: "api", StartedAt: ago(2 * Day), ResolvedAt: ago(1 * Day), DeploymentRef: "0123456"}},
			},
			deploys: 3, perDay: fptr(3.0 / 30), cfr: fptr(1.0 / 3), ttr: dptr(Day),
		},
		{
			name: "incident 23 hours after the last deployment of its service",
			ev: Events{
				Deployments: []Deployment{dep("d1", "api", ago(10*Day)), dep("d2", "api", ago(5*Day)), dep("w1", "web", ago(5*Day-time.Hour))},
				Incidents:   []Incident{{ID: "i1", Service: "api", StartedAt: ago(5*Day - 23*time.Hour), ResolvedAt: ago(5*Day - 24*time.Hour)}},
			},
			deploys: 3, perDay: fptr(3.0 / 30), cfr: fptr(1.0 / 3), ttr: dptr(time.Hour),
		},
		{
			name: "incident exactly 24 hours after a deployment is attributed",
			ev: Events{
				Deployments: []Deployment{dep("d1", "api", ago(5*Day))},
				Incidents:   []Incident{{ID: "i1", Service: "api", StartedAt: ago(4 * Day)}},
			},
			deploys: 1, perDay: fptr(1.0 / 30), cfr: fptr(1),
		},
		{
			name: "incident 25 hours after the last deployment is caused by none",
			ev: Events{
				Deployments: []Deployment{dep("d1", "api", ago(5*Day))},
				Incidents:   []Incident{{ID: "i1", Service: "api", StartedAt: ago(5*Day - 25*time.Hour), ResolvedAt: ago(5*Day - 27*time.Hour)}},
			},
			deploys: 1, perDay: fptr(1.0 / 30), cfr: fptr(0), ttr: dptr(2 * time.Hour),
		},
		{
			name: "incidents with no deployment still count for time to restore",
			ev: Events{
				Incidents: []Incident{
					{ID: "i1", Service: "db", StartedAt: ago(3 * Day), ResolvedAt: ago(3*Day - 10*time.Minute)},
					{ID: "i2", Service: "db", StartedAt: ago(2 * Day), ResolvedAt: ago(2*Day - 50*time.Minute)},
					{ID: "i3", Service: "db", StartedAt: ago(1 * Day), ResolvedAt: ago(1*Day - 30*time.Minute)},
					{ID: "open", Service: "db", StartedAt: ago(time.Hour)},
				},
			},
			ttr: dptr(30 * time.Minute),
		},
		{
			name: "a deployment causing two incidents counts once",
			ev: Events{
				Deployments: []Deployment{dep("d1", "api", ago(5*Day)), dep("d2", "api", ago(3*Day))},
				Incidents: []Incident{
					{ID: "i1", Service: "api", StartedAt: ago(3*Day - time.Hour)},
					{ID: "i2", Service: "api", StartedAt: ago(3*Day - 2*time.Hour)},
				},
			},
			deploys: 2, perDay: fptr(2.0 / 30), cfr: fptr(0.5),
		},
		{
			name: "window boundaries: start inclusive, end exclusive",
			ev: Events{
				Deployments: []Deployment{
					dep("before", "api", ago(30*Day+time.Nanosecond)),
					dep("at-start", "api", ago(30*Day)),
					dep("at-end", "api", now),
				},
				Changes: []Change{chg("s", "at-start", ago(30*Day+time.Hour)), chg("e", "at-end", ago(time.Minute))},
				Incidents: []Incident{
					{ID: "resolved-at-start", StartedAt: ago(31 * Day), ResolvedAt: ago(30 * Day)},
					{ID: "resolved-at-end", StartedAt: ago(time.Hour), ResolvedAt: now},
				},
			},
			deploys: 1, perDay: fptr(1.0 / 30), lead: dptr(time.Hour), cfr: fptr(0), ttr: dptr(Day),
		},
		{
			name: "deployments in several time zones are compared as instants",
			ev: Events{
				Deployments: []Deployment{
					dep("d0", "api", ago(10*Day).In(tokyo)),
					// 2026-11-24 09:00 JST = 00:00 UTC, and 2026-11-23 20:00 EST =
					// 2026-11-24 01:00 UTC: d2 is the later one, whatever the wall clocks say.
					{ID: "d1", Service: "api", FinishedAt: time.Date(2026, 11, 24, 9, 0, 0, 0, tokyo)},
					{ID: "d2", Service: "api", FinishedAt: time.Date(2026, 11, 23, 20, 0, 0, 0, newYork)},
				},
				Changes: []Change{
					// Authored 2026-11-23 23:00 UTC, written in New York time.
					{SHA: "c", DeploymentID: "d1", AuthoredAt: time.Date(2026, 11, 23, 18, 0, 0, 0, newYork)},
				},
				// Starts 2026-11-24 10:00 JST = 01:30 UTC: the latest
				// deployment before it is d2 (01:00 UTC), not d1.
				Incidents: []Incident{{ID: "i", Service: "api", StartedAt: time.Date(2026, 11, 24, 10, 30, 0, 0, tokyo), DeploymentRef: ""}},
			},
			deploys: 3, perDay: fptr(3.0 / 30), lead: dptr(time.Hour), cfr: fptr(1.0 / 3),
		},
		{
			name: "scope by service",
			ev: Events{
				Deployments: []Deployment{dep("a1", "api", ago(9*Day)), dep("a2", "api", ago(2*Day)), dep("w1", "web", ago(9*Day)), dep("w2", "web", ago(1*Day))},
				Changes:     []Change{chg("x", "a2", ago(2*Day+time.Hour)), chg("y", "w2", ago(1*Day+5*time.Hour))},
				Incidents: []Incident{
					{ID: "i-web", Service: "web", StartedAt: ago(1*Day - time.Hour), ResolvedAt: ago(1*Day - 3*time.Hour)},
					{ID: "i-api", Service: "api", StartedAt: ago(20 * Day), ResolvedAt: ago(20*Day - 20*time.Minute)},
				},
			},
			scope:   Scope{Service: "api"},
			deploys: 2, perDay: fptr(2.0 / 30), lead: dptr(time.Hour), cfr: fptr(0), ttr: dptr(20 * time.Minute),
		},
		{
			name: "scope by repository",
			ev: Events{
				Deployments: []Deployment{dep("a1", "api", ago(9*Day)), dep("a2", "api", ago(2*Day)), dep("w1", "web", ago(9*Day))},
				Incidents:   []Incident{{ID: "i-api", Service: "api", StartedAt: ago(2*Day - time.Hour), ResolvedAt: ago(2*Day - 3*time.Hour)}},
			},
			scope:   Scope{Repo: "org/api"},
			deploys: 2, perDay: fptr(2.0 / 30), cfr: fptr(0.5), ttr: dptr(2 * time.Hour),
		},
		{
			name: "no deployment in the loaded slice, but the store knows the service deployed before",
			ev: Events{
				FirstDeployment: map[string]Deployment{"api": dep("d0", "api", ago(200*Day))},
			},
			perDay: fptr(0),
		},
		{
			name: "no deployment in the window after earlier ones is zero per day, not no data",
			ev: Events{
				Deployments: []Deployment{dep("old", "api", ago(90*Day))},
			},
			perDay: fptr(0),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := Compute(tc.ev, tc.scope, w)
			m := r.Current
			if m.Deployments != tc.deploys {
				t.Errorf("deployments = %d, want %d", m.Deployments, tc.deploys)
			}
			if !eqF(m.DeploymentsPerDay, tc.perDay) {
				t.Errorf("deployments per day = %v, want %v", show(m.DeploymentsPerDay), show(tc.perDay))
			}
			if !eqD(m.LeadTime, tc.lead) {
				t.Errorf("lead time = %v, want %v", show(m.LeadTime), show(tc.lead))
			}
			if !eqF(m.ChangeFailureRate, tc.cfr) {
				t.Errorf("change failure rate = %v, want %v", show(m.ChangeFailureRate), show(tc.cfr))
			}
			if !eqD(m.TimeToRestore, tc.ttr) {
				t.Errorf("time to restore = %v, want %v", show(m.TimeToRestore), show(tc.ttr))
			}
			if len(r.Trend) != TrendWeeks {
				t.Fatalf("trend has %d weeks, want %d", len(r.Trend), TrendWeeks)
			}
		})
	}
}

func TestTrendAndPrevious(t *testing.T) {
	w := LastDays(now, 30*Day)
	var ev Events
	// One deployment a day for the last 14 days, one a week before that.
	for i := range 14 {
		ev.Deployments = append(ev.Deployments, dep("day"+string(rune('a'+i)), "api", ago(time.Duration(i)*Day+time.Hour)))
	}
	for i := range 6 {
		ev.Deployments = append(ev.Deployments, dep("week"+string(rune('a'+i)), "api", ago(14*Day+time.Duration(i)*Week+time.Hour)))
	}
	r := Compute(ev, Scope{}, w)
	last := r.Trend[TrendWeeks-1]
	if !last.Window.End.Equal(now) || !last.Window.Start.Equal(ago(Week)) {
		t.Fatalf("last trend week = %v, want the 7 days ending now", last.Window)
	}
	if last.Deployments != 7 || !eqF(last.DeploymentsPerDay, fptr(1)) {
		t.Errorf("last week: %d deployments, %v/day; want 7, 1/day", last.Deployments, show(last.DeploymentsPerDay))
	}
	if got := r.Trend[0]; got.DeploymentsPerDay != nil {
		t.Errorf("12 weeks ago, before the first deployment: %v/day, want no data", *got.DeploymentsPerDay)
	}
	// Current: 14 daily + deployments at 14d+1h, 21d+1h, 28d+1h = 17.
	if r.Current.Deployments != 17 {
		t.Errorf("current deployments = %d, want 17", r.Current.Deployments)
	}
	// Previous window [60d, 30d): weekly at 35d+1h, 42d+1h, 49d+1h = 3.
	if r.Previous.Deployments != 3 {
		t.Errorf("previous deployments = %d, want 3", r.Previous.Deployments)
	}
	if len(r.Recent) == 0 || r.Recent[0].ID != "daya" {
		t.Errorf("recent deployments should start with the newest, got %+v", r.Recent[:1])
	}
}

func TestTiers(t *testing.T) {
	cases := []struct {
		name string
		got  Tier
		want Tier
	}{
		{"df none", FrequencyTier(nil), TierNone},
		{"df 1/day", FrequencyTier(fptr(1)), TierElite},
		{"df just below 1/day", FrequencyTier(fptr(0.99)), TierHigh},
		{"df 1/week", FrequencyTier(fptr(1.0 / 7)), TierHigh},
		{"df 1/month", FrequencyTier(fptr(1.0 / 30)), TierMedium},
		{"df below", FrequencyTier(fptr(0.01)), TierLow},
		{"lt 23h", LeadTimeTier(dptr(23 * time.Hour)), TierElite},
		{"lt 1 day", LeadTimeTier(dptr(Day)), TierHigh},
		{"lt 1 week", LeadTimeTier(dptr(Week)), TierMedium},
		{"lt 30 days", LeadTimeTier(dptr(30 * Day)), TierLow},
		{"cfr 5%", FailureRateTier(fptr(1.0 / 20)), TierElite},
		{"cfr 10%", FailureRateTier(fptr(0.1)), TierHigh},
		{"cfr 15%", FailureRateTier(fptr(0.15)), TierMedium},
		{"cfr 16%", FailureRateTier(fptr(0.16)), TierLow},
		{"ttr 59m", RestoreTier(dptr(59 * time.Minute)), TierElite},
		{"ttr 1h", RestoreTier(dptr(time.Hour)), TierHigh},
		{"ttr 1d", RestoreTier(dptr(Day)), TierMedium},
		{"ttr 1w", RestoreTier(dptr(Week)), TierLow},
		{"ttr none", RestoreTier(nil), TierNone},
	}
	for _, tc := range cases {
		if tc.got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

func TestFrequency(t *testing.T) {
	for _, tc := range []struct {
		perDay float64
		v      float64
		per    string
	}{{3.4, 3.4, "day"}, {1, 1, "day"}, {0.5, 3.5, "week"}, {0, 0, "day"}} {
		v, per := Frequency(tc.perDay)
		if v != tc.v || per != tc.per {
			t.Errorf("Frequency(%v) = %v / %s, want %v / %s", tc.perDay, v, per, tc.v, tc.per)
		}
	}
}

func TestPostmortemsDue(t *testing.T) {
	ev := Events{Incidents: []Incident{
		{ID: "old-done", StartedAt: ago(10 * Day), ResolvedAt: ago(9 * Day), Labels: []string{"Postmortem"}},
		{ID: "linked", StartedAt: ago(10 * Day), ResolvedAt: ago(9 * Day), PostmortemURL: "https://docs.example.com/pm/1"},
		{ID: "old-due", StartedAt: ago(10 * Day), ResolvedAt: ago(8 * Day)},
		{ID: "older-due", StartedAt: ago(20 * Day), ResolvedAt: ago(19 * Day)},
		{ID: "exactly-5d", StartedAt: ago(6 * Day), ResolvedAt: ago(5 * Day)},
		{ID: "recent", StartedAt: ago(2 * Day), ResolvedAt: ago(1 * Day)},
		{ID: "open", StartedAt: ago(30 * Day)},
	}}
	r := ComputeWith(ev, Scope{}, LastDays(now, 30*Day), Options{})
	var got []string
	for _, in := range r.PostmortemsDue {
		got = append(got, fmt.Sprintf("%s overdue=%v", in.ID, in.Overdue))
	}
	// Due 5 days after resolution: overdue at that instant (exactly-5d).
	want := "[older-due overdue=true old-due overdue=true exactly-5d overdue=true recent overdue=false]"
	if fmt.Sprint(got) != want {
		t.Fatalf("postmortems due = %s,\nwant %s (resolved, no label, no link, oldest first)", got, want)
	}
	if n := r.PostmortemsOverdue(); n != 3 {
		t.Errorf("overdue = %d, want 3", n)
	}
}

func TestPostmortemDueAt(t *testing.T) {
	fri := time.Date(2026, 11, 27, 15, 0, 0, 0, time.UTC) // a Friday
	sat := time.Date(2026, 11, 28, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name     string
		at       time.Time
		days     int
		business bool
		want     time.Time
	}{
		{"calendar: 5 days later, same time", fri, 5, false, fri.Add(5 * Day)},
		{"business: Friday + 5 is next Friday", fri, 5, true, fri.Add(7 * Day)},
		{"business: Friday + 1 is Monday", fri, 1, true, fri.Add(3 * Day)},
		{"business: Saturday counts from Monday 00:00", sat, 1, true, time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)},
		{"business: 0 days on a weekday is the resolution", fri, 0, true, fri},
		{"in another zone: compared as an instant", fri.In(time.FixedZone("JST", 9*3600)), 1, true, fri.Add(3 * Day)},
	} {
		if got := PostmortemDueAt(tc.at, tc.days, tc.business); !got.Equal(tc.want) {
			t.Errorf("%s: due %s, want %s", tc.name, got, tc.want)
		}
	}
}

// TestReworkRate pins every edge of the rework definition: a deployment of
// a service finished while an incident of that service was open
// [started, resolved), or naming an incident, or carrying a hotfix label.
func TestReworkRate(t *testing.T) {
	w := LastDays(now, 30*Day)
	base := []Deployment{dep("d0", "api", ago(20*Day))} // a plain deployment in every case
	inc := func(id, svc string, start, end time.Time) Incident {
		return Incident{ID: id, Service: svc, StartedAt: start, ResolvedAt: end}
	}
	labelled := func(d Deployment, l ...string) Deployment { d.Labels = l; return d }
	naming := func(d Deployment, ref string) Deployment { d.IncidentRef = ref; return d }
	cases := []struct {
		name   string
		deps   []Deployment
		incs   []Incident
		opt    Options
		rework int
		rate   *float64
	}{
		{name: "no deployments: no data", deps: nil, rate: nil},
		{name: "no incident, no label: 0 of 1", deps: base, rework: 0, rate: fptr(0)},
		{name: "finished while the service's incident was open",
			deps: append(base, dep("fix", "api", ago(10*Day))), incs: []Incident{inc("i", "api", ago(10*Day+time.Hour), ago(10*Day-time.Hour))},
			rework: 1, rate: fptr(0.5)},
		{name: "finished at the instant the incident started: during it (and not its cause when it names another)",
			deps:   append(base, dep("d1", "api", ago(10*Day)), dep("fix", "api", ago(10*Day))),
			incs:   []Incident{{ID: "i", Service: "api", StartedAt: ago(10 * Day), ResolvedAt: ago(9 * Day), DeploymentRef: "d1"}},
			rework: 1, rate: fptr(1.0 / 3)},
		{name: "the deployment that caused the incident is not rework for it",
			deps: append(base, dep("bad", "api", ago(10*Day))), incs: []Incident{inc("i", "api", ago(10*Day), ago(9*Day))},
			rework: 0, rate: fptr(0)},
		{name: "finished at the instant it was resolved: after it",
			deps: append(base, dep("late", "api", ago(9*Day))), incs: []Incident{inc("i", "api", ago(10*Day), ago(9*Day))},
			rework: 0, rate: fptr(0)},
		{name: "still open: every later deployment of the service is rework",
			deps: append(base, dep("a", "api", ago(5*Day)), dep("b", "api", ago(1*Day))), incs: []Incident{inc("i", "api", ago(6*Day), time.Time{})},
			rework: 2, rate: fptr(2.0 / 3)},
		{name: "an incident of another service does not make rework",
			deps: append(base, dep("x", "api", ago(10*Day))), incs: []Incident{inc("i", "web", ago(10*Day+time.Hour), ago(9*Day))},
			rework: 0, rate: fptr(0)},
		{name: "an incident without service takes its cause's service",
			deps:   append(base, dep("bad", "api", ago(11*Day)), dep("fix", "api", ago(10*Day))),
			incs:   []Incident{{ID: "i", StartedAt: ago(10*Day + time.Hour), ResolvedAt: ago(9 * Day), DeploymentRef: "bad"}},
			rework: 1, rate: fptr(1.0 / 3)},
		{name: "naming an incident, long after it",
			deps: append(base, naming(dep("fix", "api", ago(2*Day)), "inc-7")), rework: 1, rate: fptr(0.5)},
		{name: "hotfix label (any case)",
			deps: append(base, labelled(dep("hf", "api", ago(2*Day)), "HotFix")), rework: 1, rate: fptr(0.5)},
		{name: "a configured label replaces the default",
			deps: append(base, labelled(dep("hf", "api", ago(2*Day)), "hotfix"), labelled(dep("em", "api", ago(1*Day)), "emergency")),
			opt:  Options{HotfixLabels: []string{"emergency"}}, rework: 1, rate: fptr(1.0 / 3)},
		{name: "two reasons count once",
			deps: append(base, labelled(naming(dep("fix", "api", ago(10*Day)), "i"), "hotfix")), incs: []Incident{inc("i", "api", ago(10*Day+time.Hour), ago(9*Day))},
			rework: 1, rate: fptr(0.5)},
		{name: "rework before the window is not counted in it",
			deps:   []Deployment{dep("old", "api", ago(40*Day)), labelled(dep("hf", "api", ago(31*Day)), "hotfix"), dep("new", "api", ago(1*Day))},
			rework: 0, rate: fptr(0)},
	}
	for _, tc := range cases {
		r := ComputeWith(Events{Deployments: tc.deps, Incidents: tc.incs}, Scope{Service: "api"}, w, tc.opt)
		if r.Current.Rework != tc.rework || !eqF(r.Current.ReworkRate, tc.rate) {
			t.Errorf("%s: rework %d rate %v, want %d rate %v", tc.name, r.Current.Rework, show(r.Current.ReworkRate), tc.rework, show(tc.rate))
		}
	}

	// Not measured without an incident feed, like the change failure rate.
	r := ComputeWith(Events{Deployments: append(base, labelled(dep("hf", "api", ago(2*Day)), "hotfix"))}, Scope{}, w, Options{})
	r.WithoutIncidentFeed()
	if r.Current.ReworkRate != nil || r.Current.Rework != 0 || r.Recent[0].Rework {
		t.Errorf("without an incident feed: rework %d rate %v, want not measured", r.Current.Rework, show(r.Current.ReworkRate))
	}
}

// TestRecoveryTime: the failed deployment recovery time counts only the
// incidents a deployment caused; the restore time of all incidents stays.
func TestRecoveryTime(t *testing.T) {
	w := LastDays(now, 30*Day)
	cases := []struct {
		name                string
		deps                []Deployment
		incs                []Incident
		recovery, restore   *time.Duration
		recovered, restored int
	}{
		{name: "no incidents: no data"},
		{name: "an incident no deployment caused: restore only",
			incs:    []Incident{{ID: "i", Service: "api", StartedAt: ago(10 * Day), ResolvedAt: ago(10*Day - time.Hour)}},
			restore: dptr(time.Hour), restored: 1},
		{name: "caused (by time) and uncaused: recovery of the caused one, restore of both",
			deps: []Deployment{dep("d1", "api", ago(10*Day+time.Hour))},
			incs: []Incident{
				{ID: "caused", Service: "api", StartedAt: ago(10 * Day), ResolvedAt: ago(10*Day - 30*time.Minute)},
				{ID: "other", Service: "api", StartedAt: ago(5 * Day), ResolvedAt: ago(5*Day - 2*time.Hour)},
			},
			recovery: dptr(30 * time.Minute), recovered: 1, restore: dptr(75 * time.Minute), restored: 2},
		{name: "caused by a named deployment outside the attribution window",
			deps:     []Deployment{dep("d1", "api", ago(20*Day))},
			incs:     []Incident{{ID: "i", Service: "api", StartedAt: ago(10 * Day), ResolvedAt: ago(10*Day - time.Hour), DeploymentRef: "d1"}},
			recovery: dptr(time.Hour), recovered: 1, restore: dptr(time.Hour), restored: 1},
		{name: "still open: neither",
			deps: []Deployment{dep("d1", "api", ago(10*Day+time.Hour))},
			incs: []Incident{{ID: "i", Service: "api", StartedAt: ago(10 * Day)}}},
		{name: "resolved before the window: neither in it",
			deps: []Deployment{dep("d1", "api", ago(40*Day+time.Hour))},
			incs: []Incident{{ID: "i", Service: "api", StartedAt: ago(40 * Day), ResolvedAt: ago(30*Day + time.Second)}}},
		{name: "started before the window, resolved in it: counted when resolved",
			deps:     []Deployment{dep("d1", "api", ago(31*Day+time.Hour))},
			incs:     []Incident{{ID: "i", Service: "api", StartedAt: ago(31 * Day), ResolvedAt: ago(29 * Day)}},
			recovery: dptr(2 * Day), recovered: 1, restore: dptr(2 * Day), restored: 1},
		{name: "resolved before it started is bad data: left out of both",
			deps: []Deployment{dep("d1", "api", ago(10*Day+time.Hour))},
			incs: []Incident{{ID: "i", Service: "api", StartedAt: ago(10 * Day), ResolvedAt: ago(11 * Day)}}},
	}
	for _, tc := range cases {
		r := Compute(Events{Deployments: tc.deps, Incidents: tc.incs}, Scope{Service: "api"}, w)
		m := r.Current
		if !eqD(m.RecoveryTime, tc.recovery) || m.Recovered != tc.recovered || !eqD(m.TimeToRestore, tc.restore) || m.Restored != tc.restored {
			t.Errorf("%s: recovery %v of %d, restore %v of %d; want recovery %v of %d, restore %v of %d", tc.name,
				show(m.RecoveryTime), m.Recovered, show(m.TimeToRestore), m.Restored, show(tc.recovery), tc.recovered, show(tc.restore), tc.restored)
		}
		if _, _, _, rec := m.Tiers(); rec != RestoreTier(tc.recovery) {
			t.Errorf("%s: the fourth tier is %q, want the recovery time's %q", tc.name, rec, RestoreTier(tc.recovery))
		}
	}
}

// TestAttributionWindow: an incident naming no deployment is caused by the
// latest deployment of its service finished in [start − window, start].
func TestAttributionWindow(t *testing.T) {
	w := LastDays(now, 30*Day)
	start := ago(10 * Day)
	cases := []struct {
		name   string
		window time.Duration // 0: the default 24 h
		depAt  time.Time
		caused bool
	}{
		{"default: exactly 24 h before counts", 0, start.Add(-24 * time.Hour), true},
		{"default: 24 h and 1 ms before does not", 0, start.Add(-24*time.Hour - time.Millisecond), false},
		{"default: at the very instant it started counts", 0, start, true},
		{"after it started never counts", 0, start.Add(time.Millisecond), false},
		{"2 h window: 2 h before counts", 2 * time.Hour, start.Add(-2 * time.Hour), true},
		{"2 h window: 3 h before does not", 2 * time.Hour, start.Add(-3 * time.Hour), false},
		{"72 h window: 3 days before counts", 72 * time.Hour, start.Add(-72 * time.Hour), true},
		{"in another zone: an instant", 0, start.Add(-23 * time.Hour).In(time.FixedZone("JST", 9*3600)), true},
	}
	for _, tc := range cases {
		ev := Events{
			Deployments: []Deployment{dep("d", "api", tc.depAt)},
			Incidents:   []Incident{{ID: "i", Service: "api", StartedAt: start, ResolvedAt: start.Add(time.Hour)}},
		}
		r := ComputeWith(ev, Scope{Service: "api"}, w, Options{AttributionWindow: tc.window})
		wantWin := tc.window
		if wantWin == 0 {
			wantWin = AttributionWindow
		}
		if got := r.Current.FailedDeployments == 1; got != tc.caused || (r.Current.Recovered == 1) != tc.caused {
			t.Errorf("%s: caused = %v (recovered %d), want %v", tc.name, got, r.Current.Recovered, tc.caused)
		}
		if r.AttributionWindow != wantWin {
			t.Errorf("%s: report says window %s, want %s", tc.name, r.AttributionWindow, wantWin)
		}
	}
	// The latest candidate wins, even with a wide window.
	ev := Events{
		Deployments: []Deployment{dep("early", "api", start.Add(-48*time.Hour)), dep("late", "api", start.Add(-time.Hour))},
		Incidents:   []Incident{{ID: "i", Service: "api", StartedAt: start}},
	}
	r := ComputeWith(ev, Scope{Service: "api"}, w, Options{AttributionWindow: 72 * time.Hour})
	for _, d := range r.Recent {
		if d.Failed != (d.ID == "late") {
			t.Errorf("wide window: %s failed = %v, want only the latest deployment before the incident", d.ID, d.Failed)
		}
	}
}
