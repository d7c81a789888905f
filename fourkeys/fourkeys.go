// Package fourkeys computes the DORA delivery metrics (deployment frequency,
// lead time for changes, change failure rate, deployment rework rate, failed
// deployment recovery time, and the restore time of all incidents) from
// deployment, change and incident events, as docs/fourkeys.md defines them.
//
// It is pure computation: no I/O, no clock (the caller passes the window), and
// it imports nothing of the project, so board, store and the sources may all
// use its types. Missing data is a nil pointer, never 0.
//
// Conventions fixed here and documented in docs/fourkeys.md:
//   - A window is [Start, End): an event exactly at Start is inside, an event
//     exactly at End belongs to the next window. Days in the window are
//     (End − Start) / 24 h.
//   - Times are compared as instants: a deployment reported in +09:00 and an
//     incident in UTC are ordered by the moment they happened, never by their
//     wall clocks.
//   - "The attribution window before the incident started" (default 24 h)
//     is [start − window, start]: a deployment finishing at the very instant
//     the incident starts, or exactly a window before, is a candidate.
//   - An incident is open over [started, resolved): a deployment finishing
//     at the instant it started is during it, one finishing at the instant
//     it was resolved is after it.
package fourkeys

import (
	"slices"
	"sort"
	"strings"
	"time"
)

// Day and Week are the calendar units of the definitions (no DST: 24 h days).
const (
	Day  = 24 * time.Hour
	Week = 7 * Day
	// DefaultWindow is the window when none is configured.
	DefaultWindow = 30 * Day
	// AttributionWindow is the default of how long before an incident a
	// deployment of the same service is presumed to have caused it.
	AttributionWindow = 24 * time.Hour
	// MaxAttributionWindow bounds a configured attribution window: beyond a
	// month every incident would blame some deployment.
	MaxAttributionWindow = 30 * Day
	// defaultHotfixLabel marks a deployment made because of an incident.
	defaultHotfixLabel = "hotfix"
	// Benchmarks names the tier table the board uses, with its year.
	Benchmarks = "DORA 2024 clusters"
	// TrendWeeks is the length of the weekly trend.
	TrendWeeks = 12
)

// Deployment is a successful production deployment.
type Deployment struct {
	ID         string    `json:"id"`
	Service    string    `json:"service"`
	Repo       string    `json:"repo,omitempty"`
	SHA        string    `json:"sha,omitempty"`
	FinishedAt time.Time `json:"finished_at"`
	Author     string    `json:"author,omitempty"`
	// IncidentRef is an incident the deployment names (its payload, PR or
	// commit message: "incident: inc-42", "incident #12"); "" if none. A
	// deployment naming an incident is rework.
	IncidentRef string `json:"incident_ref,omitempty"`
	// Labels of the deployment (its PR's labels, or given to the generic
	// webhook); a hotfix label makes it rework.
	Labels []string `json:"labels,omitempty"`
}

// Change is a commit that reached production with deployment DeploymentID.
type Change struct {
	SHA          string    `json:"sha"`
	Service      string    `json:"service,omitempty"`
	AuthoredAt   time.Time `json:"authored_at"`
	DeploymentID string    `json:"deployment_id"`
}

// Incident is a production incident. ResolvedAt is zero while it is open.
// DeploymentRef is a deployment id or a commit sha (full, or a prefix of at
// least 7 hex digits) named in the incident's body or payload; "" if none.
type Incident struct {
	ID            string    `json:"id"`
	Service       string    `json:"service,omitempty"`
	Repo          string    `json:"repo,omitempty"`
	Title         string    `json:"title,omitempty"`
	URL           string    `json:"url,omitempty"`
	StartedAt     time.Time `json:"started_at"`
	ResolvedAt    time.Time `json:"resolved_at,omitzero"`
	DeploymentRef string    `json:"deployment_ref,omitempty"`
	Labels        []string  `json:"labels,omitempty"`
	// PostmortemURL links the written postmortem; "" while none is linked.
	// A link, like the postmortem label, records the postmortem.
	PostmortemURL string `json:"postmortem_url,omitempty"`
	// UpdatedAt is when the source last changed the incident (GitHub's
	// issue updated_at): a store keeps the newest report, whatever order
	// reports arrive in. Zero: unknown, the last report wins.
	UpdatedAt time.Time `json:"updated_at,omitzero"`
}

// Events is everything known about a scope. Deployments, Changes and
// Incidents may come in any order and may hold duplicates.
type Events struct {
	Deployments []Deployment
	Changes     []Change
	Incidents   []Incident
	// FirstDeployment maps a service to the first deployment ever seen of
	// it, when the events are only a slice of history (a store loads a few
	// months). When nil, the first deployment of each service in Deployments
	// is taken as the first ever.
	FirstDeployment map[string]Deployment
	// ChangesDistinct promises that no (deployment, sha) pair repeats (a
	// store's primary key): changes are then not deduplicated, and their
	// SHA may be left empty.
	ChangesDistinct bool
}

// Scope selects events: a repository, a service, or everything (both empty).
type Scope struct {
	Repo    string `json:"repo,omitempty"`
	Service string `json:"service,omitempty"`
}

// Window is the half-open interval [Start, End).
type Window struct {
	Start time.Time `json:"start"`
	End   time.Time `json:"end"`
}

// LastDays is the window of length d ending at end.
func LastDays(end time.Time, d time.Duration) Window {
	if d <= 0 {
		d = DefaultWindow
	}
	return Window{Start: end.Add(-d), End: end}
}

// Days is the length of the window in days.
func (w Window) Days() float64 { return float64(w.End.Sub(w.Start)) / float64(Day) }

// Previous is the window of the same length just before w.
func (w Window) Previous() Window {
	return Window{Start: w.Start.Add(-w.End.Sub(w.Start)), End: w.Start}
}

// Tier is a DORA performance tier.
type Tier string

// The tiers, best first. TierNone means there is no data to judge.
const (
	TierElite  Tier = "elite"
	TierHigh   Tier = "high"
	TierMedium Tier = "medium"
	TierLow    Tier = "low"
	TierNone   Tier = ""
)

// Metrics are the four keys over one window. Nil means no data.
type Metrics struct {
	Window Window `json:"window"`
	// Deployments counts distinct deployments finished in the window.
	Deployments int `json:"deployments"`
	// FailedDeployments counts those that caused at least one incident.
	FailedDeployments int `json:"failed_deployments"`
	// Changes counts the changes whose lead time was measured.
	Changes int `json:"changes"`
	// Restored counts incidents resolved in the window (all of them).
	Restored int `json:"restored"`
	// Rework counts deployments finished in the window that were rework.
	Rework int `json:"rework"`
	// Recovered counts incidents resolved in the window that a deployment
	// caused (the base of RecoveryTime).
	Recovered int `json:"recovered"`

	DeploymentsPerDay *float64       `json:"deployments_per_day"`
	LeadTime          *time.Duration `json:"lead_time"`
	ChangeFailureRate *float64       `json:"change_failure_rate"`
	// ReworkRate = Rework / Deployments.
	ReworkRate *float64 `json:"rework_rate"`
	// RecoveryTime is the failed deployment recovery time: the median
	// restore time of the incidents a deployment caused.
	RecoveryTime *time.Duration `json:"recovery_time"`
	// TimeToRestore is the median restore time of all incidents resolved in
	// the window, caused by a deployment or not.
	TimeToRestore *time.Duration `json:"time_to_restore"`
}

// Tiers of each key (TierNone without data): the fourth is the failed
// deployment recovery time's.
func (m Metrics) Tiers() (df, lt, cfr, rec Tier) {
	return FrequencyTier(m.DeploymentsPerDay), LeadTimeTier(m.LeadTime), FailureRateTier(m.ChangeFailureRate), RestoreTier(m.RecoveryTime)
}

// Report is the four keys of a scope: the window, the one before it (for
// "change against the previous window"), and a 12-week weekly trend.
type Report struct {
	Scope    Scope   `json:"scope"`
	Current  Metrics `json:"current"`
	Previous Metrics `json:"previous"`
	// Trend holds TrendWeeks weeks ending at Current.Window.End, oldest first.
	Trend []Metrics `json:"trend"`
	// Recent are the latest deployments of the scope, newest first, with
	// their lead time (the median of their changes; nil if none counted).
	Recent []DeploymentLead `json:"recent,omitempty"`
	// Incidents are the scope's latest incidents, newest first.
	Incidents []Incident `json:"incidents,omitempty"`
	// PostmortemsDue are the scope's resolved incidents without a recorded
	// postmortem (neither Options.PostmortemLabel nor a PostmortemURL),
	// oldest resolution first, each with the time it is due.
	PostmortemsDue []PostmortemDue `json:"postmortems_due,omitempty"`
	// PostmortemAfter is the due rule: this many days after resolution,
	// business days (Monday to Friday, UTC) when PostmortemBusinessDays.
	PostmortemAfter        time.Duration `json:"postmortem_after"`
	PostmortemBusinessDays bool          `json:"postmortem_business_days,omitempty"`
	// AttributionWindow is the window used to attribute incidents.
	AttributionWindow time.Duration `json:"attribution_window"`
	// Benchmarks names the tier table (Benchmarks); "" when tiers are off.
	Benchmarks string `json:"benchmarks,omitempty"`
	// NoIncidentFeed: no incident feed covers the scope, so change failure
	// rate and time to restore are not measured (nil), never 0 or elite.
	NoIncidentFeed bool `json:"no_incident_feed,omitempty"`
}

// WithoutIncidentFeed marks r as computed where no incident feed covers
// the scope: the failure and restore figures of every window become nil.
func (r *Report) WithoutIncidentFeed() {
	r.NoIncidentFeed = true
	clear := func(m *Metrics) {
		m.FailedDeployments, m.ChangeFailureRate, m.Restored, m.TimeToRestore = 0, nil, 0, nil
		m.Rework, m.ReworkRate, m.Recovered, m.RecoveryTime = 0, nil, 0, nil
	}
	clear(&r.Current)
	clear(&r.Previous)
	for i := range r.Trend {
		clear(&r.Trend[i])
	}
	for i := range r.Recent {
		r.Recent[i].Failed, r.Recent[i].Rework = false, false
	}
}

// PostmortemDue is a resolved incident whose postmortem is not recorded.
type PostmortemDue struct {
	Incident
	// DueAt is when the postmortem is due by the rule.
	DueAt time.Time `json:"due_at"`
	// Overdue: DueAt is at or before the end of the window.
	Overdue bool `json:"overdue"`
}

// PostmortemsOverdue counts the postmortems past their due time.
func (r Report) PostmortemsOverdue() int {
	n := 0
	for _, p := range r.PostmortemsDue {
		if p.Overdue {
			n++
		}
	}
	return n
}

// PostmortemDueAt is when the postmortem of an incident resolved at t is due:
// days calendar days later, or days business days later (Saturdays and
// Sundays, in UTC, do not count; a resolution at the weekend counts from
// the next Monday 00:00 UTC).
func PostmortemDueAt(t time.Time, days int, business bool) time.Time {
	t = t.UTC()
	if !business {
		return t.Add(time.Duration(days) * Day)
	}
	for t.Weekday() == time.Saturday || t.Weekday() == time.Sunday {
		t = time.Date(t.Year(), t.Month(), t.Day()+1, 0, 0, 0, 0, time.UTC)
	}
	for n := 0; n < days; {
		t = t.Add(Day)
		if t.Weekday() != time.Saturday && t.Weekday() != time.Sunday {
			n++
		}
	}
	return t
}

// Options tune what a Report lists besides the four keys.
type Options struct {
	// PostmortemLabel marks an incident whose postmortem is written;
	// default "postmortem".
	PostmortemLabel string
	// PostmortemAfter is how long after resolution a postmortem is due, in
	// whole days; default 5 days.
	PostmortemAfter time.Duration
	// PostmortemBusinessDays counts PostmortemAfter in business days.
	PostmortemBusinessDays bool
	// AttributionWindow: an incident is caused by the latest deployment of
	// its service finished at most this long before it started (when it
	// names none); default AttributionWindow (24 h).
	AttributionWindow time.Duration
	// HotfixLabels mark a deployment as rework (case-insensitive); default
	// defaultHotfixLabel.
	HotfixLabels []string
	// NoBenchmarks turns tiers off (benchmarks: none).
	NoBenchmarks bool
}

// DefaultPostmortemAfter is the default grace period for postmortems.
const DefaultPostmortemAfter = 5 * Day

// DeploymentLead is a deployment with the median lead time of its changes.
type DeploymentLead struct {
	Deployment
	LeadTime *time.Duration `json:"lead_time"`
	Changes  int            `json:"changes"`
	// Failed: at least one incident is attributed to it.
	Failed bool `json:"failed"`
	// Rework: it was made because of an incident.
	Rework bool `json:"rework"`
}

// recentLimit is how many deployments and incidents a Report lists.
const recentLimit = 50

// prepared is the events of a scope, deduplicated, sorted and joined once so
// that every window after that is a binary search and a median.
type prepared struct {
	deps      []Deployment      // by FinishedAt, ID
	depIdx    map[string]int    // id -> index in deps
	leads     [][]time.Duration // per deployment: positive lead times of its counted changes
	failed    []bool            // per deployment: caused ≥ 1 incident
	rework    []bool            // per deployment: made because of an incident
	restores  []restore         // by resolvedAt: every incident in scope
	recovers  []restore         // by resolvedAt: those a deployment caused
	attr      time.Duration     // attribution window
	incidents []Incident        // in scope, newest first
	bySvc     map[string][]int  // service -> indexes into deps, by time
	bySHA     map[string][]int  // sha -> indexes into deps, by time
	// since is when the scope first deployed (zero: never): from then on,
	// zero deployments in a window is a measurement, before it no data.
	since time.Time
}

type restore struct {
	resolvedAt time.Time
	took       time.Duration
}

// Compute is the four keys of scope over w, the previous window, and the
// 12-week trend ending at w.End, with default Options.
func Compute(ev Events, scope Scope, w Window) Report { return ComputeWith(ev, scope, w, Options{}) }

// ComputeWith is Compute with options.
func ComputeWith(ev Events, scope Scope, w Window, opt Options) Report {
	if opt.PostmortemLabel == "" {
		opt.PostmortemLabel = "postmortem"
	}
	if opt.PostmortemAfter <= 0 {
		opt.PostmortemAfter = DefaultPostmortemAfter
	}
	if opt.AttributionWindow <= 0 {
		opt.AttributionWindow = AttributionWindow
	}
	if opt.HotfixLabels == nil {
		opt.HotfixLabels = []string{defaultHotfixLabel}
	}
	p := prepare(ev, scope, opt)
	r := Report{Scope: scope, Current: p.metrics(w), Previous: p.metrics(w.Previous()), AttributionWindow: opt.AttributionWindow, Benchmarks: Benchmarks}
	if opt.NoBenchmarks {
		r.Benchmarks = ""
	}
	r.Trend = make([]Metrics, TrendWeeks)
	for i := range TrendWeeks {
		end := w.End.Add(-time.Duration(TrendWeeks-1-i) * Week)
		r.Trend[i] = p.metrics(Window{Start: end.Add(-Week), End: end})
	}
	for i := len(p.deps) - 1; i >= 0 && len(r.Recent) < recentLimit; i-- {
		if !p.deps[i].FinishedAt.Before(w.End) {
			continue
		}
		dl := DeploymentLead{Deployment: p.deps[i], Changes: len(p.leads[i]), Failed: p.failed[i], Rework: p.rework[i]}
		if len(p.leads[i]) > 0 {
			m := median(slices.Clone(p.leads[i]))
			dl.LeadTime = &m
		}
		r.Recent = append(r.Recent, dl)
	}
	if len(p.incidents) > recentLimit {
		r.Incidents = p.incidents[:recentLimit]
	} else {
		r.Incidents = p.incidents
	}
	r.PostmortemAfter, r.PostmortemBusinessDays = opt.PostmortemAfter, opt.PostmortemBusinessDays
	days := int(opt.PostmortemAfter / Day)
	for _, in := range p.incidents {
		// Resolved after the end of the window is not resolved yet as of it.
		if in.ResolvedAt.IsZero() || !in.ResolvedAt.Before(w.End) || strings.TrimSpace(in.PostmortemURL) != "" ||
			slices.ContainsFunc(in.Labels, func(l string) bool { return strings.EqualFold(l, opt.PostmortemLabel) }) {
			continue
		}
		due := PostmortemDueAt(in.ResolvedAt, days, opt.PostmortemBusinessDays)
		r.PostmortemsDue = append(r.PostmortemsDue, PostmortemDue{Incident: in, DueAt: due, Overdue: !due.After(w.End)})
	}
	sort.SliceStable(r.PostmortemsDue, func(i, j int) bool { return r.PostmortemsDue[i].ResolvedAt.Before(r.PostmortemsDue[j].ResolvedAt) })
	if len(r.PostmortemsDue) > recentLimit {
		r.PostmortemsDue = r.PostmortemsDue[:recentLimit]
	}
	return r
}

// MatchDeployment reports whether d belongs to the scope (repository names
// compare without case, as GitHub's do).
func (s Scope) MatchDeployment(d Deployment) bool {
	return (s.Repo == "" || strings.EqualFold(d.Repo, s.Repo)) && (s.Service == "" || d.Service == s.Service)
}

// MatchIncident reports whether an incident belongs to the scope by its own
// service and repository (an incident a deployment caused belongs where that
// deployment does).
func (s Scope) MatchIncident(in Incident) bool {
	return (s.Service == "" || in.Service == s.Service) && (s.Repo == "" || strings.EqualFold(in.Repo, s.Repo))
}

func prepare(ev Events, scope Scope, opt Options) *prepared {
	// All deployments take part in attribution (an incident may name a
	// deployment of any scope); only those in scope are counted.
	all := slices.Clone(ev.Deployments)
	sort.SliceStable(all, func(i, j int) bool {
		if !all[i].FinishedAt.Equal(all[j].FinishedAt) {
			return all[i].FinishedAt.Before(all[j].FinishedAt)
		}
		return all[i].ID < all[j].ID
	})
	// Duplicates (same id) count once: the earliest report wins.
	seen := make(map[string]struct{}, len(all))
	deps := all[:0]
	for _, d := range all {
		if _, dup := seen[d.ID]; dup || d.ID == "" {
			continue
		}
		seen[d.ID] = struct{}{}
		deps = append(deps, d)
	}
	p := &prepared{deps: deps, depIdx: make(map[string]int, len(deps)), bySvc: map[string][]int{}, bySHA: map[string][]int{}, attr: opt.AttributionWindow}
	first := map[string]string{}
	if ev.FirstDeployment == nil {
		for _, d := range deps {
			if _, ok := first[d.Service]; !ok {
				first[d.Service] = d.ID
			}
		}
	}
	for svc, d := range ev.FirstDeployment {
		first[svc] = d.ID
		if scope.MatchDeployment(d) && (p.since.IsZero() || d.FinishedAt.Before(p.since)) {
			p.since = d.FinishedAt
		}
	}
	for _, d := range deps {
		if scope.MatchDeployment(d) && (p.since.IsZero() || d.FinishedAt.Before(p.since)) {
			p.since = d.FinishedAt
		}
	}
	for i, d := range deps {
		p.depIdx[d.ID] = i
		p.bySvc[d.Service] = append(p.bySvc[d.Service], i)
		if d.SHA != "" {
			p.bySHA[strings.ToLower(d.SHA)] = append(p.bySHA[strings.ToLower(d.SHA)], i)
		}
	}
	p.leads = make([][]time.Duration, len(deps))
	p.failed = make([]bool, len(deps))
	p.rework = make([]bool, len(deps))
	for i, d := range deps {
		p.rework[i] = strings.TrimSpace(d.IncidentRef) != "" || slices.ContainsFunc(d.Labels, func(l string) bool {
			return slices.ContainsFunc(opt.HotfixLabels, func(h string) bool { return strings.EqualFold(l, h) })
		})
	}

	// Changes: counted once per (deployment, sha), never for the first
	// deployment of a service, and only with a positive lead time.
	type key struct{ dep, sha string }
	var seenChange map[key]struct{}
	if !ev.ChangesDistinct {
		seenChange = make(map[key]struct{}, len(ev.Changes))
	}
	for _, c := range ev.Changes {
		i, ok := p.depIdx[c.DeploymentID]
		if !ok {
			continue
		}
		d := deps[i]
		if first[d.Service] == d.ID {
			continue
		}
		if !ev.ChangesDistinct {
			k := key{c.DeploymentID, strings.ToLower(c.SHA)}
			if _, dup := seenChange[k]; dup {
				continue
			}
			seenChange[k] = struct{}{}
		}
		if lt := d.FinishedAt.Sub(c.AuthoredAt); lt > 0 {
			p.leads[i] = append(p.leads[i], lt)
		}
	}

	// Incidents: deduplicated by id (the latest report of an incident wins,
	// since it carries the resolution), attributed, then kept if in scope.
	incByID := make(map[string]Incident, len(ev.Incidents))
	var order []string
	for _, in := range ev.Incidents {
		if _, ok := incByID[in.ID]; !ok {
			order = append(order, in.ID)
		}
		incByID[in.ID] = in
	}
	for _, id := range order {
		in := incByID[id]
		cause := p.attribute(in)
		p.markRework(in, cause)
		inScope := false
		switch {
		case cause >= 0 && scope.MatchDeployment(deps[cause]):
			inScope = true
			p.failed[cause] = true
		case cause >= 0:
			inScope = false
		default:
			inScope = scope.MatchIncident(in)
		}
		if !inScope {
			continue
		}
		p.incidents = append(p.incidents, in)
		if !in.ResolvedAt.IsZero() {
			// Resolved before it started is bad data: dropped from the median.
			if took := in.ResolvedAt.Sub(in.StartedAt); took >= 0 {
				p.restores = append(p.restores, restore{resolvedAt: in.ResolvedAt, took: took})
				if cause >= 0 {
					p.recovers = append(p.recovers, restore{resolvedAt: in.ResolvedAt, took: took})
				}
			}
		}
	}
	sort.Slice(p.restores, func(i, j int) bool { return p.restores[i].resolvedAt.Before(p.restores[j].resolvedAt) })
	sort.Slice(p.recovers, func(i, j int) bool { return p.recovers[i].resolvedAt.Before(p.recovers[j].resolvedAt) })
	sort.SliceStable(p.incidents, func(i, j int) bool { return p.incidents[i].StartedAt.After(p.incidents[j].StartedAt) })

	// Keep only deployments in scope for counting; attribution is done.
	if scope != (Scope{}) {
		kept := 0
		for i, d := range deps {
			if scope.MatchDeployment(d) {
				deps[kept], p.leads[kept], p.failed[kept], p.rework[kept] = d, p.leads[i], p.failed[i], p.rework[i]
				kept++
			}
		}
		p.deps, p.leads, p.failed, p.rework = deps[:kept], p.leads[:kept], p.failed[:kept], p.rework[:kept]
	}
	return p
}

// markRework marks the deployments of in's service (its own, else its
// cause's) that finished while in was open, [started, resolved), as rework;
// never the deployment that caused it.
func (p *prepared) markRework(in Incident, cause int) {
	svc := in.Service
	if svc == "" && cause >= 0 {
		svc = p.deps[cause].Service
	}
	if svc == "" {
		return
	}
	idx := p.bySvc[svc]
	k := sort.Search(len(idx), func(k int) bool { return !p.deps[idx[k]].FinishedAt.Before(in.StartedAt) })
	for ; k < len(idx); k++ {
		d := p.deps[idx[k]]
		if !in.ResolvedAt.IsZero() && !d.FinishedAt.Before(in.ResolvedAt) {
			break
		}
		if idx[k] != cause {
			p.rework[idx[k]] = true
		}
	}
}

// attribute returns the index of the deployment that caused in, or -1:
// the deployment it names (id, or sha / sha prefix), else the latest
// deployment of the same service finished within the attribution window
// before it started.
func (p *prepared) attribute(in Incident) int {
	if ref := strings.TrimSpace(in.DeploymentRef); ref != "" {
		if i, ok := p.depIdx[ref]; ok {
			return i
		}
		if idx := p.shaMatches(strings.ToLower(ref)); len(idx) > 0 {
			// A sha deployed more than once: the latest deployment of it
			// finished by the incident's start, else its first deployment.
			best := idx[0]
			for _, i := range idx {
				if !p.deps[i].FinishedAt.After(in.StartedAt) {
					best = i
				}
			}
			return best
		}
	}
	if in.Service == "" {
		return -1
	}
	idx := p.bySvc[in.Service]
	// Latest deployment finished at or before the start.
	k := sort.Search(len(idx), func(k int) bool { return p.deps[idx[k]].FinishedAt.After(in.StartedAt) }) - 1
	if k < 0 {
		return -1
	}
	d := p.deps[idx[k]]
	if in.StartedAt.Sub(d.FinishedAt) > p.attr {
		return -1
	}
	return idx[k]
}

// shaMatches finds deployments of a full sha or of an unambiguous prefix of
// at least 7 characters.
func (p *prepared) shaMatches(ref string) []int {
	if idx, ok := p.bySHA[ref]; ok {
		return idx
	}
	if len(ref) < 7 || !isHex(ref) {
		return nil
	}
	var found string
	for sha := range p.bySHA {
		if strings.HasPrefix(sha, ref) {
			if found != "" && found != sha {
				return nil // ambiguous prefix: names no deployment
			}
			found = sha
		}
	}
	if found == "" {
		return nil
	}
	return p.bySHA[found]
}

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// metrics computes the four keys over w.
func (p *prepared) metrics(w Window) Metrics {
	m := Metrics{Window: w}
	lo := sort.Search(len(p.deps), func(i int) bool { return !p.deps[i].FinishedAt.Before(w.Start) })
	hi := sort.Search(len(p.deps), func(i int) bool { return !p.deps[i].FinishedAt.Before(w.End) })
	m.Deployments = hi - lo
	// Frequency is known once the scope has ever deployed before the end of
	// the window: then zero deployments is a measurement. Before that, and
	// with no events at all, it is no data.
	if !p.since.IsZero() && p.since.Before(w.End) && w.Days() > 0 {
		v := float64(m.Deployments) / w.Days()
		m.DeploymentsPerDay = &v
	}
	var leads []time.Duration
	for i := lo; i < hi; i++ {
		leads = append(leads, p.leads[i]...)
		if p.failed[i] {
			m.FailedDeployments++
		}
		if p.rework[i] {
			m.Rework++
		}
	}
	m.Changes = len(leads)
	if len(leads) > 0 {
		v := median(leads)
		m.LeadTime = &v
	}
	if m.Deployments > 0 {
		v := float64(m.FailedDeployments) / float64(m.Deployments)
		m.ChangeFailureRate = &v
		rw := float64(m.Rework) / float64(m.Deployments)
		m.ReworkRate = &rw
	}
	m.TimeToRestore, m.Restored = medianIn(p.restores, w)
	m.RecoveryTime, m.Recovered = medianIn(p.recovers, w)
	return m
}

// medianIn is the median time taken of rs (sorted by resolution) resolved
// in w, and how many there were; nil for none.
func medianIn(rs []restore, w Window) (*time.Duration, int) {
	lo := sort.Search(len(rs), func(i int) bool { return !rs[i].resolvedAt.Before(w.Start) })
	hi := sort.Search(len(rs), func(i int) bool { return !rs[i].resolvedAt.Before(w.End) })
	if hi <= lo {
		return nil, 0
	}
	took := make([]time.Duration, 0, hi-lo)
	for _, r := range rs[lo:hi] {
		took = append(took, r.took)
	}
	v := median(took)
	return &v, len(took)
}

// median of ds (reordered in place); the mean of the two middle values for
// an even count, so a median of 1 h and 2 h is 1 h 30 m.
func median(ds []time.Duration) time.Duration {
	slices.Sort(ds)
	n := len(ds)
	if n%2 == 1 {
		return ds[n/2]
	}
	return ds[n/2-1] + (ds[n/2]-ds[n/2-1])/2
}

// FrequencyTier: elite ≥ 1/day, high ≥ 1/week, medium ≥ 1/month (30 days), else low.
func FrequencyTier(perDay *float64) Tier {
	switch {
	case perDay == nil:
		return TierNone
	case *perDay >= 1:
		return TierElite
	case *perDay >= 1.0/7:
		return TierHigh
	case *perDay >= 1.0/30:
		return TierMedium
	}
	return TierLow
}

// LeadTimeTier: elite < 1 day, high < 1 week, medium < 1 month (30 days), else low.
func LeadTimeTier(d *time.Duration) Tier {
	switch {
	case d == nil:
		return TierNone
	case *d < Day:
		return TierElite
	case *d < Week:
		return TierHigh
	case *d < 30*Day:
		return TierMedium
	}
	return TierLow
}

// FailureRateTier: elite ≤ 5 %, high ≤ 10 %, medium ≤ 15 %, else low.
func FailureRateTier(r *float64) Tier {
	// A small tolerance so 1/20 (0.05000000000000000277) is elite.
	const eps = 1e-12
	switch {
	case r == nil:
		return TierNone
	case *r <= 0.05+eps:
		return TierElite
	case *r <= 0.10+eps:
		return TierHigh
	case *r <= 0.15+eps:
		return TierMedium
	}
	return TierLow
}

// RestoreTier: elite < 1 hour, high < 1 day, medium < 1 week, else low.
func RestoreTier(d *time.Duration) Tier {
	switch {
	case d == nil:
		return TierNone
	case *d < time.Hour:
		return TierElite
	case *d < Day:
		return TierHigh
	case *d < Week:
		return TierMedium
	}
	return TierLow
}

// Frequency expresses a per-day rate the way people say it: per day when at
// least one a day, otherwise per week.
func Frequency(perDay float64) (value float64, per string) {
	if perDay >= 1 || perDay == 0 {
		return perDay, "day"
	}
	return perDay * 7, "week"
}
