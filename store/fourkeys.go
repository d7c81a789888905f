package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/fourkeys"
)

// Execer is a transaction or the database: upserts run in the caller's
// transaction so a webhook stores its events and its delivery id atomically.
type Execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

// UpsertDeployment stores d; an earlier report of the same id keeps the
// earlier finished_at: a deployment is done at its first success, and a
// later success (a re-run, a second status) never moves it. The changes
// already stored for it follow the stored time.
func UpsertDeployment(ctx context.Context, tx Execer, source string, d fourkeys.Deployment) error {
	if d.ID == "" || d.FinishedAt.IsZero() {
		return fmt.Errorf("store: deployment %q: id and finished_at are required", d.ID)
	}
	labels := d.Labels
	if labels == nil {
		labels = []string{}
	}
	lb, _ := json.Marshal(labels) // []string always marshals
	// A later report without an incident reference or labels (a second
	// status) keeps those of an earlier one.
	_, err := tx.ExecContext(ctx, `INSERT INTO deployments (id, service, repo, sha, finished_at, author, source, incident_ref, labels) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET service = excluded.service, repo = excluded.repo, sha = excluded.sha,
			finished_at = CASE WHEN excluded.finished_at < deployments.finished_at THEN excluded.finished_at ELSE deployments.finished_at END,
			author = excluded.author, source = excluded.source,
			incident_ref = CASE WHEN excluded.incident_ref != '' THEN excluded.incident_ref ELSE deployments.incident_ref END,
			labels = CASE WHEN excluded.labels != '[]' THEN excluded.labels ELSE deployments.labels END`,
		d.ID, d.Service, d.Repo, d.SHA, ms(d.FinishedAt), d.Author, source, d.IncidentRef, string(lb))
	if err != nil {
		return fmt.Errorf("store: deployment %s: %w", d.ID, err)
	}
	if _, err := tx.ExecContext(ctx, `UPDATE changes SET deployed_at = (SELECT finished_at FROM deployments WHERE id = ?1), service = ?2, repo = ?3
		WHERE deployment_id = ?1 AND (deployed_at != (SELECT finished_at FROM deployments WHERE id = ?1) OR service != ?2 OR repo != ?3)`,
		d.ID, d.Service, d.Repo); err != nil {
		return fmt.Errorf("store: deployment %s: %w", d.ID, err)
	}
	return nil
}

// deploymentByID is the stored deployment id, ok=false if none.
func deploymentByID(ctx context.Context, q Execer, id string) (fourkeys.Deployment, bool, error) {
	return oneDeployment(ctx, q, "deployment "+id, `WHERE id = ?`, id)
}

// oneDeployment is the first deployment selected by tail (the WHERE clause
// and what follows it), ok=false if none; what names the lookup in errors.
func oneDeployment(ctx context.Context, q Execer, what, tail string, args ...any) (fourkeys.Deployment, bool, error) {
	rows, err := q.QueryContext(ctx, `SELECT id, service, repo, sha, finished_at, author FROM deployments `+tail, args...)
	if err != nil {
		return fourkeys.Deployment{}, false, fmt.Errorf("store: %s: %w", what, err)
	}
	ds, err := scanDeployments(rows)
	if err != nil || len(ds) == 0 {
		return fourkeys.Deployment{}, false, err
	}
	return ds[0], true, nil
}

// nextDeployment is the earliest deployment of service finished after t,
// or ok=false when there is none.
func nextDeployment(ctx context.Context, q Execer, service string, t time.Time) (fourkeys.Deployment, bool, error) {
	return oneDeployment(ctx, q, "next deployment of "+service,
		`WHERE service = ? AND finished_at > ? ORDER BY finished_at, id LIMIT 1`, service, ms(t))
}

// UpsertChanges stores the changes deployment d shipped; their time and
// service are copied from the stored deployment d.ID.
func UpsertChanges(ctx context.Context, tx Execer, d fourkeys.Deployment, cs []fourkeys.Change) error {
	if len(cs) == 0 {
		return nil
	}
	var dep, at int64
	if err := tx.QueryRowContext(ctx, `SELECT rowid, finished_at FROM deployments WHERE id = ?`, d.ID).Scan(&dep, &at); err != nil {
		return fmt.Errorf("store: changes of deployment %s (store the deployment first): %w", d.ID, err)
	}
	for _, c := range cs {
		if c.SHA == "" || c.AuthoredAt.IsZero() {
			return fmt.Errorf("store: change %q of deployment %s: sha and authored_at are required", c.SHA, d.ID)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO changes (deployment_id, dep, sha, service, repo, authored_at, deployed_at) VALUES (?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (deployment_id, sha) DO UPDATE SET authored_at = excluded.authored_at, deployed_at = excluded.deployed_at,
				service = excluded.service, repo = excluded.repo, dep = excluded.dep`,
			d.ID, dep, c.SHA, d.Service, d.Repo, ms(c.AuthoredAt), at); err != nil {
			return fmt.Errorf("store: change %s of deployment %s: %w", c.SHA, d.ID, err)
		}
	}
	return nil
}

// ReplaceChanges makes cs the only changes of the stored deployment d.
func ReplaceChanges(ctx context.Context, tx Execer, d fourkeys.Deployment, cs []fourkeys.Change) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM changes WHERE deployment_id = ?`, d.ID); err != nil {
		return fmt.Errorf("store: changes of deployment %s: %w", d.ID, err)
	}
	return UpsertChanges(ctx, tx, d, cs)
}

// markUnlinked records whether deployment id of repo still waits for pushed
// commits to know its changes.
func markUnlinked(ctx context.Context, tx Execer, id, repo string, unlinked bool) error {
	var err error
	if unlinked {
		_, err = tx.ExecContext(ctx, `INSERT INTO unlinked_deployments (id, repo) VALUES (?, ?) ON CONFLICT (id) DO NOTHING`, id, strings.ToLower(repo))
	} else {
		_, err = tx.ExecContext(ctx, `DELETE FROM unlinked_deployments WHERE id = ?`, id)
	}
	if err != nil {
		return fmt.Errorf("store: deployment %s: %w", id, err)
	}
	return nil
}

// unlinkedDeployments lists the deployments of repo still waiting for
// pushed commits that finished at or after since (a deployment cannot ship
// a commit authored after it finished).
func unlinkedDeployments(ctx context.Context, q Execer, repo string, since time.Time) ([]fourkeys.Deployment, error) {
	rows, err := q.QueryContext(ctx, `SELECT d.id, d.service, d.repo, d.sha, d.finished_at, d.author FROM unlinked_deployments u
		JOIN deployments d ON d.id = u.id WHERE u.repo = ? AND d.finished_at >= ? ORDER BY d.finished_at`, strings.ToLower(repo), ms(since))
	if err != nil {
		return nil, fmt.Errorf("store: unlinked deployments of %s: %w", repo, err)
	}
	return scanDeployments(rows)
}

// UpsertIncident stores in, replacing an earlier report of the same id (a
// reopened issue clears its resolution; a relabelled one gets its new
// labels). With UpdatedAt set, only a report at least as new as the stored
// one (and newer than a removal) replaces it; on equal times the resolved,
// then the greater, report wins, so the outcome never depends on order.
func UpsertIncident(ctx context.Context, tx Execer, source string, in fourkeys.Incident) error {
	if in.ID == "" || in.StartedAt.IsZero() {
		return fmt.Errorf("store: incident %q: id and started_at are required", in.ID)
	}
	var resolved any
	if !in.ResolvedAt.IsZero() {
		resolved = ms(in.ResolvedAt)
	}
	labels := in.Labels
	if labels == nil {
		labels = []string{}
	}
	var rev int64
	if !in.UpdatedAt.IsZero() {
		rev = ms(in.UpdatedAt)
		var gone int64
		err := tx.QueryRowContext(ctx, `SELECT rev FROM incident_tombstones WHERE id = ?`, in.ID).Scan(&gone)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("store: incident %s: %w", in.ID, err)
		}
		if err == nil && gone >= rev {
			return nil // removed by a report at least as new
		}
	}
	lb, _ := json.Marshal(labels) // []string always marshals
	_, err := tx.ExecContext(ctx, `INSERT INTO incidents (id, service, repo, title, url, started_at, resolved_at, deployment_ref, labels, source, rev, postmortem_url)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET service = excluded.service, repo = excluded.repo, title = excluded.title, url = excluded.url,
			started_at = excluded.started_at, resolved_at = excluded.resolved_at, deployment_ref = excluded.deployment_ref,
			labels = excluded.labels, source = excluded.source, rev = excluded.rev, postmortem_url = excluded.postmortem_url
		WHERE excluded.rev = 0 OR excluded.rev > incidents.rev OR (excluded.rev = incidents.rev AND
			(COALESCE(excluded.resolved_at, 0), excluded.labels, excluded.title, excluded.deployment_ref) >=
			(COALESCE(incidents.resolved_at, 0), incidents.labels, incidents.title, incidents.deployment_ref))`,
		in.ID, in.Service, in.Repo, in.Title, in.URL, ms(in.StartedAt), resolved, in.DeploymentRef, string(lb), source, rev, in.PostmortemURL)
	if err != nil {
		return fmt.Errorf("store: incident %s: %w", in.ID, err)
	}
	return nil
}

// previousDeployment is the latest deployment of service finished before t,
// or ok=false when there is none (t's deployment is the first).
func previousDeployment(ctx context.Context, q Execer, service string, t time.Time) (fourkeys.Deployment, bool, error) {
	return oneDeployment(ctx, q, "previous deployment of "+service,
		`WHERE service = ? AND finished_at < ? ORDER BY finished_at DESC, id DESC LIMIT 1`, service, ms(t))
}

func scanDeployments(rows *sql.Rows) ([]fourkeys.Deployment, error) {
	defer rows.Close()
	var out []fourkeys.Deployment
	for rows.Next() {
		var d fourkeys.Deployment
		var at int64
		if err := rows.Scan(&d.ID, &d.Service, &d.Repo, &d.SHA, &at, &d.Author); err != nil {
			return out, fmt.Errorf("store: deployments: %w", err)
		}
		d.FinishedAt = fromMS(at)
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("store: deployments: %w", err)
	}
	return out, nil
}

func scanIncidents(rows *sql.Rows) ([]fourkeys.Incident, error) {
	defer rows.Close()
	var out []fourkeys.Incident
	for rows.Next() {
		var in fourkeys.Incident
		var started int64
		var resolved sql.NullInt64
		var labels string
		if err := rows.Scan(&in.ID, &in.Service, &in.Repo, &in.Title, &in.URL, &started, &resolved, &in.DeploymentRef, &labels, &in.PostmortemURL); err != nil {
			return out, fmt.Errorf("store: incidents: %w", err)
		}
		in.StartedAt = fromMS(started)
		if resolved.Valid {
			in.ResolvedAt = fromMS(resolved.Int64)
		}
		if err := json.Unmarshal([]byte(labels), &in.Labels); err != nil {
			return out, fmt.Errorf("store: incident %s: labels: %w", in.ID, err)
		}
		out = append(out, in)
	}
	if err := rows.Err(); err != nil {
		return out, fmt.Errorf("store: incidents: %w", err)
	}
	return out, nil
}

const incidentCols = `id, service, repo, title, url, started_at, resolved_at, deployment_ref, labels, postmortem_url`

// LoadFourKeys loads what fourkeys.Compute needs for scope over windows
// inside [from, to) with the default attribution window.
func (s *Store) LoadFourKeys(ctx context.Context, scope fourkeys.Scope, from, to time.Time) (fourkeys.Events, error) {
	return s.loadFourKeys(ctx, scope, from, to, fourkeys.AttributionWindow)
}

// loadFourKeys loads what fourkeys.Compute needs for scope over windows
// inside [from, to): every deployment finished from the attribution window
// `attr` before `from` (attribution looks back that far), the deployments incidents name, the
// scope's changes deployed in [from, to), the incidents that started or were
// resolved in range or are open, and the first deployment of each service.
//
// Every query is an index range scan, so the cost follows the range, not the
// size of the history.
func (s *Store) loadFourKeys(ctx context.Context, scope fourkeys.Scope, from, to time.Time, attr time.Duration) (fourkeys.Events, error) {
	var ev fourkeys.Events
	tx, err := s.DB.BeginTx(ctx, s.readTx())
	if err != nil {
		return ev, fmt.Errorf("store: load four keys: %w", err)
	}
	defer tx.Rollback()

	if attr <= 0 {
		attr = fourkeys.AttributionWindow
	}
	lo := ms(from.Add(-attr))
	rows, err := tx.QueryContext(ctx, `SELECT rowid, id, service, repo, sha, finished_at, author, incident_ref, labels FROM deployments
		WHERE finished_at >= ? AND finished_at < ? ORDER BY finished_at`, lo, ms(to))
	if err != nil {
		return ev, fmt.Errorf("store: load deployments: %w", err)
	}
	idOf := map[int64]string{} // rowid -> id, to name the changes' deployments
	for rows.Next() {
		var d fourkeys.Deployment
		var rowid, at int64
		var labels string
		if err := rows.Scan(&rowid, &d.ID, &d.Service, &d.Repo, &d.SHA, &at, &d.Author, &d.IncidentRef, &labels); err != nil {
			rows.Close()
			return ev, fmt.Errorf("store: load deployments: %w", err)
		}
		if labels != "[]" {
			if err := json.Unmarshal([]byte(labels), &d.Labels); err != nil {
				rows.Close()
				return ev, fmt.Errorf("store: deployment %s: labels: %w", d.ID, err)
			}
		}
		d.FinishedAt = fromMS(at)
		idOf[rowid] = d.ID
		ev.Deployments = append(ev.Deployments, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return ev, fmt.Errorf("store: load deployments: %w", err)
	}

	rows, err = tx.QueryContext(ctx, `SELECT `+incidentCols+` FROM incidents WHERE started_at >= ? AND started_at < ?
		UNION SELECT `+incidentCols+` FROM incidents WHERE resolved_at >= ? AND resolved_at < ?
		UNION SELECT `+incidentCols+` FROM incidents WHERE resolved_at IS NULL AND started_at < ?`,
		lo, ms(to), ms(from), ms(to), ms(to))
	if err != nil {
		return ev, fmt.Errorf("store: load incidents: %w", err)
	}
	if ev.Incidents, err = scanIncidents(rows); err != nil {
		return ev, err
	}

	// Deployments named by incidents but older than the range: attribution
	// must find them, or it would fall back to the 24-hour rule.
	known := make(map[string]bool, 2*len(ev.Deployments))
	for _, d := range ev.Deployments {
		known[d.ID] = true
		known[strings.ToLower(d.SHA)] = true
	}
	for _, in := range ev.Incidents {
		ref := strings.TrimSpace(in.DeploymentRef)
		if ref == "" || known[ref] || known[strings.ToLower(ref)] {
			continue
		}
		known[ref] = true
		rows, err := tx.QueryContext(ctx, `SELECT id, service, repo, sha, finished_at, author FROM deployments WHERE id = ?
			UNION SELECT id, service, repo, sha, finished_at, author FROM deployments WHERE sha = ?`, ref, strings.ToLower(ref))
		if err != nil {
			return ev, fmt.Errorf("store: load deployment %q: %w", ref, err)
		}
		more, err := scanDeployments(rows)
		if err != nil {
			return ev, err
		}
		ev.Deployments = append(ev.Deployments, more...)
	}

	// Changes are distinct by (deployment, sha) in the table: their shas
	// need not be read, only the deployment and the author date.
	ev.ChangesDistinct = true
	where, args := scopeWhere(scope)
	rows, err = tx.QueryContext(ctx, `SELECT dep, authored_at FROM changes WHERE deployed_at >= ? AND deployed_at < ?`+where,
		append([]any{ms(from), ms(to)}, args...)...)
	if err != nil {
		return ev, fmt.Errorf("store: load changes: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var dep, at int64
		if err := rows.Scan(&dep, &at); err != nil {
			return ev, fmt.Errorf("store: load changes: %w", err)
		}
		// deployed_at in [from, to) means its deployment was loaded above.
		if id, ok := idOf[dep]; ok {
			ev.Changes = append(ev.Changes, fourkeys.Change{DeploymentID: id, AuthoredAt: fromMS(at)})
		}
	}
	if err := rows.Err(); err != nil {
		return ev, fmt.Errorf("store: load changes: %w", err)
	}

	// Each service's first deployment: the earliest (of several at the same
	// millisecond, the smallest id: listed last, it is the one kept below).
	// Two index lookups per service on both engines; a window function
	// over every deployment was three times slower on SQLite.
	rows, err = tx.QueryContext(ctx, `SELECT d.id, d.service, d.repo, d.sha, d.finished_at, d.author
		FROM (SELECT service, MIN(finished_at) AS first FROM deployments GROUP BY service) f
		JOIN deployments d ON d.service = f.service AND d.finished_at = f.first
		ORDER BY d.service, d.id DESC`)
	if err != nil {
		return ev, fmt.Errorf("store: first deployments: %w", err)
	}
	firsts, err := scanDeployments(rows)
	if err != nil {
		return ev, err
	}
	ev.FirstDeployment = make(map[string]fourkeys.Deployment, len(firsts))
	for _, d := range firsts {
		ev.FirstDeployment[d.Service] = d
	}
	return ev, nil
}

// ComputeFourKeys loads the events of scope and computes its report over the
// window [end − window, end), the previous window and the 12-week trend.
func (s *Store) ComputeFourKeys(ctx context.Context, scope fourkeys.Scope, end time.Time, window time.Duration, opts ...fourkeys.Options) (fourkeys.Report, error) {
	w := fourkeys.LastDays(end, window)
	from := w.Previous().Start
	if t := end.Add(-fourkeys.TrendWeeks * fourkeys.Week); t.Before(from) {
		from = t
	}
	var opt fourkeys.Options
	if len(opts) > 0 {
		opt = opts[0]
	}
	ev, err := s.loadFourKeys(ctx, scope, from, end, opt.AttributionWindow)
	if err != nil {
		return fourkeys.Report{}, err
	}
	return fourkeys.ComputeWith(ev, scope, w, opt), nil
}

// scopeWhere is the SQL condition (to add with AND, in a table with service
// and repo columns) that keeps rows of scope, and its arguments.
func scopeWhere(scope fourkeys.Scope) (string, []any) {
	var where string
	var args []any
	if scope.Service != "" {
		where += ` AND service = ?`
		args = append(args, scope.Service)
	}
	if scope.Repo != "" {
		where += ` AND lower(repo) = lower(?)`
		args = append(args, scope.Repo)
	}
	return where, args
}

// HasIncidents reports whether any incident of scope is stored (an
// incident feed covers it).
func (s *Store) HasIncidents(ctx context.Context, scope fourkeys.Scope) (bool, error) {
	where, args := scopeWhere(scope)
	var ok bool
	if err := s.DB.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM incidents WHERE 1 = 1`+where+`)`, args...).Scan(&ok); err != nil {
		return false, fmt.Errorf("store: incidents of %+v: %w", scope, err)
	}
	return ok, nil
}

// FourKeysReports is what a FourKeysComputer reads of the store (Store).
type FourKeysReports interface {
	ComputeFourKeys(ctx context.Context, scope fourkeys.Scope, end time.Time, window time.Duration, opts ...fourkeys.Options) (fourkeys.Report, error)
	// HasIncidents reports whether any incident of scope was ever stored.
	HasIncidents(ctx context.Context, scope fourkeys.Scope) (bool, error)
}

// FourKeysImporter is what a source that imports Four Keys events and
// computes its tiles from them (gitlog, github) needs of the store: a
// transaction to write the events in, and the reports.
type FourKeysImporter interface {
	FourKeysReports
	InTx(ctx context.Context, fn func(tx *sql.Tx) error) error
}

// FourKeysComputer turns the Four Keys events in the store into tile
// results: it is the "events" source kind, and the github and gitlog sources
// compute through it after importing their events. A tile's query selects
// the scope and window; every query over the same store shares the same
// numbers. It reads the store only; it never writes events.
type FourKeysComputer struct {
	Store FourKeysReports
	// Scope is used when a query names none (a gitlog source's service).
	Scope fourkeys.Scope
	// PostmortemLabel is the label that marks a written postmortem.
	PostmortemLabel string
	// NoIncidentFeed: the source itself reads no incidents (git history,
	// GitHub with incident_label: none). Its scopes' change failure rate and
	// time to restore are then "not measured" unless another feed (a
	// webhook) stored incidents of the scope.
	NoIncidentFeed bool
	// Settings are the source's Four Keys options (attribution window,
	// hotfix labels, postmortem due rule, benchmarks); zero: the defaults.
	Settings board.FourKeysSettings
}

// fourKeysParams are the keys a Four Keys tile query may hold.
var fourKeysParams = []string{"scope", "service", "repo", "window", "postmortem_days"}

// FourKeysQuery is a parsed Four Keys tile query.
type FourKeysQuery struct {
	Scope          fourkeys.Scope
	window         time.Duration
	postmortemDays int
}

// ParseFourKeysQuery reads a Four Keys tile's query: a mapping such as
// {service: api, window: 30d, postmortem_days: 5}, {repo: org/x}, or
// {scope: all}; a string query is a service name; empty is the source's
// default scope def.
func ParseFourKeysQuery(q board.Query, def fourkeys.Scope) (FourKeysQuery, error) {
	out := FourKeysQuery{Scope: def, window: fourkeys.DefaultWindow, postmortemDays: 5}
	if q.Text != "" {
		out.Scope = fourkeys.Scope{Service: q.Text}
	}
	for k := range q.Params {
		if !slices.Contains(fourKeysParams, k) {
			return out, fmt.Errorf("query: unknown key %q (known: %s)", k, strings.Join(fourKeysParams, ", "))
		}
	}
	svc, repo := q.Param("service"), q.Param("repo")
	switch q.Param("scope") {
	case "":
		if svc != "" || repo != "" {
			out.Scope = fourkeys.Scope{Service: svc, Repo: repo}
		}
	case "all":
		out.Scope = fourkeys.Scope{}
	case "service":
		if svc == "" {
			return out, fmt.Errorf("query: scope service needs service:")
		}
		out.Scope = fourkeys.Scope{Service: svc}
	case "repo", "repository":
		if repo == "" {
			return out, fmt.Errorf("query: scope repo needs repo:")
		}
		out.Scope = fourkeys.Scope{Repo: repo}
	default:
		return out, fmt.Errorf("query: scope %q: use all, service or repo", q.Param("scope"))
	}
	if w := q.Param("window"); w != "" {
		d, err := board.ParseDuration(w, fourkeys.DefaultWindow)
		if err != nil {
			return out, fmt.Errorf("query: window: %w", err)
		}
		if d < fourkeys.Day {
			return out, fmt.Errorf("query: window %s: use at least 1d", w)
		}
		out.window = d
	}
	if v, ok := q.Params["postmortem_days"]; ok {
		n := -1
		switch x := v.(type) {
		case int:
			n = x
		case int64:
			n = int(x)
		case uint64:
			n = int(min(x, 3650))
		case float64:
			if x == float64(int(x)) {
				n = int(x)
			}
		}
		if n < 0 {
			return out, fmt.Errorf("query: postmortem_days: want a whole number of days, got %v", v)
		}
		out.postmortemDays = n
	}
	return out, nil
}

// CheckFourKeysQuery validates a Four Keys tile's query without touching
// the store.
func CheckFourKeysQuery(tile board.TileConfig, q board.Query) error {
	_, err := ParseFourKeysQuery(q, fourkeys.Scope{})
	return err
}

// Fetch computes the report of the query's scope. Value is deployments per
// day (nil: no data); the report itself is in Result.FourKeys.
func (c *FourKeysComputer) Fetch(ctx context.Context, bq board.Query) (board.Result, error) {
	q, err := ParseFourKeysQuery(bq, c.Scope)
	if err != nil {
		return board.Result{}, err
	}
	end := time.Now().UTC()
	opt := fourkeys.Options{PostmortemLabel: c.PostmortemLabel, PostmortemAfter: time.Duration(q.postmortemDays) * fourkeys.Day,
		AttributionWindow: c.Settings.AttributionWindow, HotfixLabels: c.Settings.HotfixLabels, NoBenchmarks: c.Settings.NoBenchmarks}
	// The source's due rule, unless the tile's query names its own days
	// (counted the way the source counts them).
	opt.PostmortemBusinessDays = c.Settings.PostmortemBiz
	if _, ok := bq.Params["postmortem_days"]; !ok && c.Settings.PostmortemSet {
		opt.PostmortemAfter = time.Duration(c.Settings.PostmortemDays) * fourkeys.Day
	}
	r, err := c.Store.ComputeFourKeys(ctx, q.Scope, end, q.window, opt)
	if err != nil {
		return board.Result{}, fmt.Errorf("four keys: %w", err)
	}
	if c.NoIncidentFeed {
		seen, err := c.Store.HasIncidents(ctx, q.Scope)
		if err != nil {
			return board.Result{}, fmt.Errorf("four keys: %w", err)
		}
		if !seen {
			r.WithoutIncidentFeed()
		}
	}
	res := board.Result{Value: r.Current.DeploymentsPerDay, FourKeys: &r, At: end}
	for _, m := range r.Trend {
		if m.DeploymentsPerDay != nil {
			res.Series = append(res.Series, board.Point{T: m.Window.End, V: *m.DeploymentsPerDay})
		}
	}
	sort.Slice(res.Series, func(i, j int) bool { return res.Series[i].T.Before(res.Series[j].T) })
	return res, nil
}

// PushedCommit is a commit that arrived on a repository's default branch.
type PushedCommit struct {
	SHA        string
	AuthoredAt time.Time
}

// recordPush records commits pushed (oldest first) on repo's default
// branch after before (the branch's previous head): each commit's parent is
// the one before it. A commit already recorded keeps its first parent, and
// pushes may arrive in any order.
func recordPush(ctx context.Context, tx Execer, repo, before string, commits []PushedCommit) error {
	var seq int64
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM pushed_commits WHERE repo = ?`, repo).Scan(&seq); err != nil {
		return fmt.Errorf("store: push to %s: %w", repo, err)
	}
	parent := strings.ToLower(before)
	for _, c := range commits {
		seq++
		sha := strings.ToLower(c.SHA)
		if _, err := tx.ExecContext(ctx, `INSERT INTO pushed_commits (repo, sha, authored_at, seq, parent) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (repo, sha) DO UPDATE SET parent = excluded.parent WHERE pushed_commits.parent = ''`,
			repo, sha, ms(c.AuthoredAt), seq, parent); err != nil {
			return fmt.Errorf("store: push to %s: commit %s: %w", repo, c.SHA, err)
		}
		parent = sha
	}
	return nil
}

// maxWalk bounds the commits walked between two deployments.
const maxWalk = 100_000

// pushedBetween is the commits pushed to repo after sha `from` up to and
// including sha `to`, newest first, following each commit's parent back
// from `to`; ok=false when the history between them is not (yet) known
// (the changes are then unknown, not empty).
func pushedBetween(ctx context.Context, tx Execer, repo, from, to string) ([]PushedCommit, bool, error) {
	from, sha := strings.ToLower(from), strings.ToLower(to)
	var out []PushedCommit
	for range maxWalk {
		if sha == from {
			return out, true, nil
		}
		var at int64
		var parent string
		err := tx.QueryRowContext(ctx, `SELECT authored_at, parent FROM pushed_commits WHERE repo = ? AND sha = ?`, repo, sha).Scan(&at, &parent)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, false, nil
		}
		if err != nil {
			return nil, false, fmt.Errorf("store: commits of %s: %w", repo, err)
		}
		if parent == "" {
			return pushedBetweenBySeq(ctx, tx, repo, from, to)
		}
		out = append(out, PushedCommit{SHA: sha, AuthoredAt: fromMS(at)})
		sha = parent
	}
	return nil, false, nil
}

// pushedBetweenBySeq is pushedBetween by order of arrival, for commits
// stored before parents were (they have none).
func pushedBetweenBySeq(ctx context.Context, tx Execer, repo, from, to string) ([]PushedCommit, bool, error) {
	seqOf := func(sha string) (int64, bool, error) {
		var seq int64
		err := tx.QueryRowContext(ctx, `SELECT seq FROM pushed_commits WHERE repo = ? AND sha = ?`, repo, strings.ToLower(sha)).Scan(&seq)
		if errors.Is(err, sql.ErrNoRows) {
			return 0, false, nil
		}
		if err != nil {
			return 0, false, fmt.Errorf("store: commits of %s: %w", repo, err)
		}
		return seq, true, nil
	}
	lo, ok1, err := seqOf(from)
	if err != nil {
		return nil, false, err
	}
	hi, ok2, err := seqOf(to)
	if err != nil || !ok1 || !ok2 {
		return nil, false, err
	}
	rows, err := tx.QueryContext(ctx, `SELECT sha, authored_at FROM pushed_commits WHERE repo = ? AND seq > ? AND seq <= ? ORDER BY seq`, repo, lo, hi)
	if err != nil {
		return nil, false, fmt.Errorf("store: commits of %s: %w", repo, err)
	}
	defer rows.Close()
	var out []PushedCommit
	for rows.Next() {
		var c PushedCommit
		var at int64
		if err := rows.Scan(&c.SHA, &at); err != nil {
			return nil, false, fmt.Errorf("store: commits of %s: %w", repo, err)
		}
		c.AuthoredAt = fromMS(at)
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("store: commits of %s: %w", repo, err)
	}
	return out, true, nil
}

// DeploymentBefore is the latest deployment of service finished before t
// (pollers find the base of a compare with it); ok=false if none.
func (s *Store) DeploymentBefore(ctx context.Context, service string, t time.Time) (fourkeys.Deployment, bool, error) {
	return previousDeployment(ctx, s.DB, service, t)
}

// NextDeployment is the earliest deployment of service finished after t
// (a poller re-bases it on a deployment it found late); ok=false if none.
func (s *Store) NextDeployment(ctx context.Context, service string, t time.Time) (fourkeys.Deployment, bool, error) {
	return nextDeployment(ctx, s.DB, service, t)
}

// DeploymentIDs lists the ids of the deployments source reported (pollers
// skip what they stored before a restart).
func (s *Store) DeploymentIDs(ctx context.Context, source string) (map[string]bool, error) {
	rows, err := s.DB.QueryContext(ctx, `SELECT id FROM deployments WHERE source = ?`, source)
	if err != nil {
		return nil, fmt.Errorf("store: deployments of %s: %w", source, err)
	}
	defer rows.Close()
	out := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: deployments of %s: %w", source, err)
		}
		out[id] = true
	}
	return out, rows.Err()
}

// deleteIncident removes an incident (its issue lost the incident label or
// was deleted) as reported at updatedAt; deleting an unknown id is not an
// error. With updatedAt set, a newer stored report is kept and the removal
// is remembered, so an older report arriving later does not bring it back.
func deleteIncident(ctx context.Context, tx Execer, id string, updatedAt time.Time) error {
	if updatedAt.IsZero() {
		if _, err := tx.ExecContext(ctx, `DELETE FROM incidents WHERE id = ?`, id); err != nil {
			return fmt.Errorf("store: delete incident %s: %w", id, err)
		}
		return nil
	}
	rev := ms(updatedAt)
	if _, err := tx.ExecContext(ctx, `DELETE FROM incidents WHERE id = ? AND rev <= ?`, id, rev); err != nil {
		return fmt.Errorf("store: delete incident %s: %w", id, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO incident_tombstones (id, rev) VALUES (?, ?)
		ON CONFLICT (id) DO UPDATE SET rev = CASE WHEN excluded.rev > incident_tombstones.rev THEN excluded.rev ELSE incident_tombstones.rev END`, id, rev); err != nil {
		return fmt.Errorf("store: delete incident %s: %w", id, err)
	}
	return nil
}

// Push is commits pushed to a repository's default branch, oldest first;
// Before is the branch's head before them.
type Push struct {
	Repo    string
	Before  string
	Commits []PushedCommit
}

// GitHubEvent is what one GitHub delivery means for the Four Keys, as
// package github maps it; at most one part is set, none when the delivery
// changes nothing here (a staging deployment, a tag push).
type GitHubEvent struct {
	// Deployment is a deployment's success: its changes are linked from
	// the pushes stored before and after it.
	Deployment *fourkeys.Deployment
	Push       *Push
	Incident   *fourkeys.Incident
	// NotIncident is the id of an incident that no longer is one (its
	// issue lost the label, or was deleted or transferred), as of
	// NotIncidentAt: an older report of it does not bring it back.
	NotIncident   string
	NotIncidentAt time.Time
}

// WatchFourKeys returns a channel that receives after webhook deliveries
// stored Four Keys events (deployments, changes, incidents): the tiles that
// compute from them are then out of date. Each watcher has its own channel;
// deliveries in quick succession fold into one receive. stop ends the watch.
func (s *Store) WatchFourKeys() (c <-chan struct{}, stop func()) { return s.fourKeys.watch() }

// RecordGitHubDelivery stores one GitHub delivery under source in one
// transaction, once per delivery id: stored is how many events it
// stored (0: none concern the Four Keys), duplicate that the delivery was
// stored before (nothing is applied again). When it returns nil the
// delivery is durable, and WatchFourKeys's channels receive when it stored events.
// Deliveries may come in any order: the stored result is the same.
func (s *Store) RecordGitHubDelivery(ctx context.Context, source, delivery string, ev GitHubEvent, now time.Time) (stored int, duplicate bool, err error) {
	err = s.InTx(ctx, func(tx *sql.Tx) error {
		first, err := firstDelivery(ctx, tx, source, delivery, now)
		if err != nil || !first {
			duplicate = !first
			return err
		}
		stored, err = recordGitHub(ctx, tx, source, ev)
		return err
	})
	if err != nil {
		return 0, false, err
	}
	if stored > 0 {
		s.fourKeys.notify()
	}
	return stored, duplicate, nil
}

func recordGitHub(ctx context.Context, tx Execer, source string, ev GitHubEvent) (int, error) {
	switch {
	case ev.Deployment != nil:
		return 1, storeLinked(ctx, tx, source, *ev.Deployment)
	case ev.Push != nil:
		if len(ev.Push.Commits) == 0 {
			return 0, nil
		}
		key := strings.ToLower(ev.Push.Repo)
		if err := recordPush(ctx, tx, key, ev.Push.Before, ev.Push.Commits); err != nil {
			return 0, err
		}
		oldest := ev.Push.Commits[0].AuthoredAt
		for _, c := range ev.Push.Commits {
			if c.AuthoredAt.Before(oldest) {
				oldest = c.AuthoredAt
			}
		}
		// Deployments that arrived before these commits get their changes now.
		// A day of slack: author clocks may be ahead of the deployment's.
		waiting, err := unlinkedDeployments(ctx, tx, key, oldest.Add(-fourkeys.Day))
		if err != nil {
			return 0, err
		}
		for _, d := range waiting {
			if err := link(ctx, tx, d); err != nil {
				return 0, err
			}
		}
		return len(ev.Push.Commits), nil
	case ev.Incident != nil:
		return 1, UpsertIncident(ctx, tx, source, *ev.Incident)
	case ev.NotIncident != "":
		return 0, deleteIncident(ctx, tx, ev.NotIncident, ev.NotIncidentAt)
	}
	return 0, nil
}

// storeLinked stores d (its first success counts) and links the changes of
// d, of the deployment after it, and of the one that was after it before
// (when d's time moved earlier): every deployment whose previous deployment
// may have changed.
func storeLinked(ctx context.Context, tx Execer, source string, d fourkeys.Deployment) error {
	old, existed, err := deploymentByID(ctx, tx, d.ID)
	if err != nil {
		return err
	}
	if err := UpsertDeployment(ctx, tx, source, d); err != nil {
		return err
	}
	cur, _, err := deploymentByID(ctx, tx, d.ID)
	if err != nil {
		return err
	}
	if err := link(ctx, tx, cur); err != nil {
		return err
	}
	times := []time.Time{cur.FinishedAt}
	if existed && !old.FinishedAt.Equal(cur.FinishedAt) {
		times = append(times, old.FinishedAt)
	}
	for _, t := range times {
		next, ok, err := nextDeployment(ctx, tx, cur.Service, t)
		if err != nil {
			return err
		}
		if ok {
			if err := link(ctx, tx, next); err != nil {
				return err
			}
		}
	}
	return nil
}

// link sets the changes of stored deployment d to the commits pushed
// between the previous deployment of its service and it. The first
// deployment of a service has none; when the commits between are not all
// known yet, d waits (unlinked) for the push that completes them, keeping
// what it has.
func link(ctx context.Context, tx Execer, d fourkeys.Deployment) error {
	if !strings.HasPrefix(d.ID, "github:") {
		return nil // another source's deployment: its changes are its own
	}
	prev, ok, err := previousDeployment(ctx, tx, d.Service, d.FinishedAt)
	if err != nil {
		return err
	}
	if !ok {
		if err := markUnlinked(ctx, tx, d.ID, d.Repo, false); err != nil {
			return err
		}
		return ReplaceChanges(ctx, tx, d, nil)
	}
	commits, ok, err := pushedBetween(ctx, tx, strings.ToLower(d.Repo), prev.SHA, d.SHA)
	if err != nil {
		return err
	}
	if err := markUnlinked(ctx, tx, d.ID, d.Repo, !ok); err != nil || !ok {
		return err
	}
	cs := make([]fourkeys.Change, 0, len(commits))
	for _, c := range commits {
		cs = append(cs, fourkeys.Change{SHA: c.SHA, Service: d.Service, AuthoredAt: c.AuthoredAt, DeploymentID: d.ID})
	}
	return ReplaceChanges(ctx, tx, d, cs)
}

// RecordDeploymentEvent stores a deployment reported by the generic events
// webhook under source, with the changes it names, in one transaction.
func (s *Store) RecordDeploymentEvent(ctx context.Context, source string, d fourkeys.Deployment, cs []fourkeys.Change) error {
	err := s.InTx(ctx, func(tx *sql.Tx) error {
		if err := UpsertDeployment(ctx, tx, source, d); err != nil {
			return err
		}
		return UpsertChanges(ctx, tx, d, cs)
	})
	if err == nil {
		s.fourKeys.notify()
	}
	return err
}

// RecordIncidentEvent stores an incident reported by the generic events
// webhook under source, replacing an earlier report of the same id.
func (s *Store) RecordIncidentEvent(ctx context.Context, source string, in fourkeys.Incident) error {
	err := s.InTx(ctx, func(tx *sql.Tx) error { return UpsertIncident(ctx, tx, source, in) })
	if err == nil {
		s.fourKeys.notify()
	}
	return err
}
