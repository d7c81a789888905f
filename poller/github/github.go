// Package github is the "github" source: deployments, the commits they
// shipped and incident issues of GitHub repositories (github.com or GitHub
// Enterprise), polled through go-github (sync.go) or pushed by GitHub's
// webhook (Receiver), mapped to Four Keys events by one mapping (this file)
// and stored; tiles then compute from the store (store.FourKeysComputer).
// Security tiles read the repositories' alerts (security.go).
//
// It backfills on first start (default 90 days), then polls incrementally
// with conditional requests (ETag → 304, which GitHub does not count against
// the rate limit), and it backs off on rate limits: it never hammers GitHub.
// It only reads from GitHub.
package github

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"path"
	"slices"
	"strings"
	"sync"
	"time"

	gh "github.com/google/go-github/v82/github"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/fourkeys"
	"github.com/wallboard/wallboard/poller"
	"github.com/wallboard/wallboard/store"
)

// Store is what the source needs of the store.
type Store interface {
	store.FourKeysImporter
	DeploymentBefore(ctx context.Context, service string, t time.Time) (fourkeys.Deployment, bool, error)
	NextDeployment(ctx context.Context, service string, t time.Time) (fourkeys.Deployment, bool, error)
	DeploymentIDs(ctx context.Context, source string) (map[string]bool, error)
}

// Defaults.
const (
	defaultBackfill    = 90 * fourkeys.Day
	defaultEnvironment = "production"
	defaultLabel       = "incident"
	// noIncidents as incident_label: the repositories' issues are not read;
	// change failure rate and time to restore are "not measured".
	noIncidents = "none"
	// minSync is the least time between two syncs with GitHub, however many
	// tiles poll the source.
	minSync = time.Minute
	// lowRemaining: below this many requests left, stop until the reset.
	lowRemaining = 20
	perPage      = 100
	maxPages     = 100 // per listing: 10,000 items
)

// Source polls GitHub for the Four Keys events of its repositories.
type Source struct {
	id                            string
	cfg                           board.SourceConfig
	client                        *gh.Client
	etags                         *etagTransport
	repos                         []*repoState
	env, workflow, label, service string
	backfill                      time.Duration
	store                         Store
	keys                          *store.FourKeysComputer
	now                           func() time.Time
	minSync                       time.Duration
	mu                            sync.Mutex               // guards the two below
	pauseUntil                    time.Time                // a rate limit: no call before
	pauseErr                      error                    // the rate limit's error
	sec                           map[*repoState]*secState // security alerts per repository (guarded by mu)
}

type repoState struct {
	mu                sync.Mutex // held during the repository's sync; guards the rest
	owner, name, full string
	defaultBranch     string
	since             time.Time       // deployments created before are done
	issuesSince       time.Time       // issues updated before are stored
	done              map[string]bool // deployment ids stored or given up on
	based             bool            // the compare base before the backfill horizon is stored (or there is none)
	lastSync          time.Time       // last successful sync
	err               error           // the last sync's failure; nil after a success
}

// New builds the source from its config; it does not call GitHub yet.
func New(cfg board.SourceConfig, st Store, httpClient *http.Client) (*Source, error) {
	if len(cfg.Repos) == 0 {
		return nil, errors.New("github: repos: list at least one owner/name")
	}
	backfill, err := board.ParseDuration(cfg.Backfill, defaultBackfill)
	if err != nil {
		return nil, fmt.Errorf("github: backfill: %w", err)
	}
	token, err := cfg.Token.Resolve()
	if err != nil {
		return nil, fmt.Errorf("github: token: %w", err)
	}
	if httpClient == nil {
		rt, err := transportFor(cfg)
		if err != nil {
			return nil, err
		}
		httpClient = &http.Client{Transport: rt}
	}
	timeout := cfg.Timeout
	if timeout <= 0 { // a config built in code, not parsed
		timeout = board.DefaultTimeout
	}
	base := httpClient.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	etags := newETagTransport(retryTransport{next: base}, 1024)
	hc := *httpClient
	hc.Transport = etags
	hc.Timeout = timeout
	client := gh.NewClient(&hc)
	if token != "" {
		client = client.WithAuthToken(token)
	}
	if cfg.URL != "" {
		if client, err = client.WithEnterpriseURLs(cfg.URL, cfg.URL); err != nil {
			return nil, fmt.Errorf("github: url %q: %w", cfg.URL, err)
		}
	}
	s := &Source{id: cfg.ID, cfg: cfg, client: client, etags: etags, env: cfg.Environment, workflow: cfg.Workflow,
		label: cfg.IncidentLabel, service: cfg.Service, backfill: backfill, store: st, now: time.Now, minSync: minSync}
	if s.env == "" {
		s.env = defaultEnvironment
	}
	if s.label == "" {
		s.label = defaultLabel
	}
	for _, r := range cfg.Repos {
		owner, name, ok := strings.Cut(r, "/")
		if !ok || owner == "" || name == "" || strings.Contains(name, "/") {
			return nil, fmt.Errorf("github: repos: %q is not owner/name", r)
		}
		s.repos = append(s.repos, &repoState{owner: owner, name: name, full: r, done: map[string]bool{}})
	}
	var scope fourkeys.Scope
	if len(s.repos) == 1 {
		scope.Repo = s.repos[0].full
	}
	set, err := board.FourKeysOf(cfg)
	if err != nil {
		return nil, fmt.Errorf("github: %w", err)
	}
	s.keys = &store.FourKeysComputer{Store: st, Scope: scope, PostmortemLabel: cfg.PostmortemLabel, NoIncidentFeed: s.label == noIncidents, Settings: set}
	return s, nil
}

// serviceOf is the service a repository's deployments count for (the
// GitHub webhook uses the same rule: settingsOf).
func (s *Source) serviceOf(repo string) string { return s.settingsOf(repo).service }

func (s *Source) settingsOf(repo string) RepoSettings { return settingsOf(s.cfg, repo) }

// Fetch syncs with GitHub (at most once a minute per repository) and
// computes the tile's Four Keys from the store. Only the tiles whose scope
// includes a repository whose sync failed get the error.
func (s *Source) Fetch(ctx context.Context, q board.Query) (board.Result, error) {
	if q.Kind == board.KindSecurity {
		return s.securityFetch(ctx, q)
	}
	s.sync(ctx, s.reposOf(q))
	if err := s.errFor(q); err != nil {
		return board.Result{}, err
	}
	return s.keys.Fetch(ctx, q)
}

// reposOf lists the repositories q's scope covers (a tile of one
// repository neither waits for nor fails with another).
func (s *Source) reposOf(q board.Query) []*repoState {
	kq, err := store.ParseFourKeysQuery(q, s.keys.Scope)
	if err != nil {
		return nil // the computation reports the bad query
	}
	var out []*repoState
	for _, r := range s.repos {
		if kq.Scope.Repo != "" && !strings.EqualFold(kq.Scope.Repo, r.full) ||
			kq.Scope.Service != "" && kq.Scope.Service != s.serviceOf(r.full) {
			continue
		}
		out = append(out, r)
	}
	return out
}

// errFor is the failure of the repositories q's scope covers.
func (s *Source) errFor(q board.Query) error {
	var errs []error
	for _, r := range s.reposOf(q) {
		r.mu.Lock()
		if r.err != nil {
			errs = append(errs, r.err)
		}
		r.mu.Unlock()
	}
	err := errors.Join(errs...)
	var ra *poller.RetryError
	if errors.As(err, &ra) {
		// Keep the retry-after hint visible to the poller.
		err = &poller.RetryError{After: ra.After, Err: err}
	}
	return err
}

func (s *Source) sync(ctx context.Context, repos []*repoState) error {
	var errs []error
	for _, r := range repos {
		if err := s.syncOne(ctx, r); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// syncOne syncs r unless it was synced within minSync or GitHub asked the
// client to wait. Repositories sync independently: a slow or failing one
// never holds up the tiles of another.
func (s *Source) syncOne(ctx context.Context, r *repoState) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := s.now()
	if pauseErr := s.paused(now); pauseErr != nil {
		r.err = pauseErr // the limit is the client's: every repository waits
		return r.err
	}
	if r.err == nil && !r.lastSync.IsZero() && now.Sub(r.lastSync) < s.minSync {
		return nil
	}
	r.lastSync, r.err = now, nil
	if err := s.syncRepo(ctx, r, now); err != nil {
		r.err = fmt.Errorf("github: %s: %w", r.full, err)
		s.pauseOnRetryAfter(err, now, r.err)
		return r.err
	}
	return nil
}

// paused is the error GitHub's request to wait failed with while that wait
// lasts past now, nil otherwise.
func (s *Source) paused(now time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if now.Before(s.pauseUntil) {
		return s.pauseErr // set with pauseUntil, never nil
	}
	return nil
}

// pauseOnRetryAfter pauses every repository's calls when err is GitHub
// asking the client to wait; reported is what they fail with meanwhile.
func (s *Source) pauseOnRetryAfter(err error, now time.Time, reported error) {
	var ra *poller.RetryError
	if errors.As(err, &ra) {
		s.mu.Lock()
		s.pauseUntil, s.pauseErr = now.Add(ra.After), reported
		s.mu.Unlock()
	}
}

// The one mapping from GitHub's objects (webhook payloads and REST API
// replies) to Four Keys events, used by the poll (sync.go) and by the
// webhook Receiver below (package web only verifies, reads and answers), so
// that what GitHub pushes and what the poll reads cannot disagree.

// RepoSettings is how one repository's events become Four Keys events
// (from the github source that lists the repository, or the defaults).
type RepoSettings struct {
	service       string // default: the repository's full name
	environment   string // deployment environment that counts; default "production"
	Workflow      string // workflow whose successful runs on the default branch are deployments; "" = none
	IncidentLabel string // issues with this label are incidents; default "incident"
}

// withDefaults fills the empty settings of repo's.
func (s RepoSettings) withDefaults(repo string) RepoSettings {
	if s.service == "" {
		s.service = repo
	}
	if s.environment == "" {
		s.environment = defaultEnvironment
	}
	if s.IncidentLabel == "" {
		s.IncidentLabel = defaultLabel
	}
	return s
}

// settingsOf is the settings of repo in the github source cfg: one service
// per repository unless the source names one for its only repository.
func settingsOf(cfg board.SourceConfig, repo string) RepoSettings {
	svc := cfg.Service
	if svc == "" || len(cfg.Repos) > 1 {
		svc = repo
	}
	return RepoSettings{service: svc, environment: cfg.Environment, Workflow: cfg.Workflow, IncidentLabel: cfg.IncidentLabel}.withDefaults(repo)
}

// settingsIn is the settings of repo in cfg: those of the first github
// source that lists it, or the defaults. A webhook delivery and the poll
// then map the same repository alike.
func settingsIn(cfg *board.Config, repo string) RepoSettings {
	for _, s := range cfg.Sources {
		if s.Kind == "github" && slices.ContainsFunc(s.Repos, func(r string) bool { return strings.EqualFold(r, repo) }) {
			return settingsOf(s, repo)
		}
	}
	return RepoSettings{}.withDefaults(repo)
}

// ErrBadPayload is what every error of a payload is (errors.Is): malformed
// JSON, or a payload without what its event needs. The sender's fault, not
// the store's.
var ErrBadPayload = errors.New("github: bad payload")

// badPayloadError is a payload that parses but lacks what its event needs.
type badPayloadError struct{ Msg string }

func (b badPayloadError) Error() string { return b.Msg }

func (b badPayloadError) Is(target error) bool { return target == ErrBadPayload }

// Settings gives a repository's configured settings; the mapping functions
// below fill in the defaults (nil: all defaults).
type Settings func(repo string) RepoSettings

func (f Settings) of(repo string) RepoSettings {
	var s RepoSettings
	if f != nil {
		s = f(repo)
	}
	return s.withDefaults(repo)
}

// deploymentFromStatus is the deployment a deployment_status event reports:
// ok only for state success in the repository's environment.
func deploymentFromStatus(ev *gh.DeploymentStatusEvent, settings Settings) (fourkeys.Deployment, bool, error) {
	st, dep, repo := ev.GetDeploymentStatus(), ev.GetDeployment(), ev.GetRepo().GetFullName()
	if st == nil || dep == nil || repo == "" {
		return fourkeys.Deployment{}, false, badPayloadError{"deployment, deployment_status and repository are required"}
	}
	cfg := settings.of(repo)
	if st.GetState() != "success" || !strings.EqualFold(dep.GetEnvironment(), cfg.environment) {
		return fourkeys.Deployment{}, false, nil
	}
	if dep.GetID() == 0 || dep.GetSHA() == "" || st.GetCreatedAt().IsZero() {
		return fourkeys.Deployment{}, false, badPayloadError{"deployment.id, deployment.sha and deployment_status.created_at are required"}
	}
	return deploymentOf(repo, cfg, dep, st.GetCreatedAt().Time), true, nil
}

// deploymentOf is a GitHub deployment that first succeeded at success.
func deploymentOf(repo string, cfg RepoSettings, dep *gh.Deployment, success time.Time) fourkeys.Deployment {
	// The description or payload may name the incident it was made for
	// ("incident: inc-42"): it is then rework.
	return fourkeys.Deployment{ID: fourkeys.GitHubDeploymentID(repo, dep.GetID()), Service: cfg.service, Repo: repo,
		SHA: strings.ToLower(dep.GetSHA()), FinishedAt: success.UTC(), Author: dep.GetCreator().GetLogin(),
		IncidentRef: fourkeys.FindIncidentRef(dep.GetDescription() + "\n" + string(dep.Payload))}
}

// deploymentFromRun is the deployment a workflow_run event reports: ok only
// for a completed, successful run of the configured workflow on the default
// branch. The workflow matches by name, file name or path.
func deploymentFromRun(ev *gh.WorkflowRunEvent, settings Settings) (fourkeys.Deployment, bool, error) {
	run, repo := ev.GetWorkflowRun(), ev.GetRepo().GetFullName()
	if run == nil || repo == "" {
		return fourkeys.Deployment{}, false, badPayloadError{"workflow_run and repository are required"}
	}
	cfg := settings.of(repo)
	if cfg.Workflow == "" || ev.GetAction() != "completed" || run.GetConclusion() != "success" ||
		run.GetHeadBranch() != ev.GetRepo().GetDefaultBranch() {
		return fourkeys.Deployment{}, false, nil
	}
	if !workflowMatches(cfg.Workflow, run.GetName(), ev.GetWorkflow().GetName(), run.GetPath()) {
		return fourkeys.Deployment{}, false, nil
	}
	if run.GetID() == 0 || run.GetHeadSHA() == "" || run.GetUpdatedAt().IsZero() {
		return fourkeys.Deployment{}, false, badPayloadError{"workflow_run.id, head_sha and updated_at are required"}
	}
	return runDeployment(repo, cfg, run), true, nil
}

// runDeployment is a successful workflow run as a deployment.
func runDeployment(repo string, cfg RepoSettings, run *gh.WorkflowRun) fourkeys.Deployment {
	// The head commit's message (a merged PR's title and body) may name the
	// incident it was made for: it is then rework.
	return fourkeys.Deployment{ID: fourkeys.GitHubRunID(repo, run.GetID()), Service: cfg.service, Repo: repo,
		SHA: strings.ToLower(run.GetHeadSHA()), FinishedAt: run.GetUpdatedAt().UTC(), Author: run.GetActor().GetLogin(),
		IncidentRef: fourkeys.FindIncidentRef(run.GetDisplayTitle() + "\n" + run.GetHeadCommit().GetMessage())}
}

// workflowMatches reports whether a configured workflow (a name, a file name
// like deploy.yml, or a path like .github/workflows/deploy.yml) is this one.
func workflowMatches(want, runName, workflowName, workflowPath string) bool {
	if want == "" {
		return false
	}
	p := strings.SplitN(workflowPath, "@", 2)[0] // paths may carry "@ref"
	return want == runName || want == workflowName || (p != "" && (want == p || want == path.Base(p)))
}

// incidentFromIssue is the incident an issue is: ok only when it carries the
// incident label and is not a pull request. started = created_at,
// resolved = closed_at while closed; UpdatedAt orders reports of it.
func incidentFromIssue(repo string, is *gh.Issue, settings Settings) (fourkeys.Incident, bool, error) {
	if is == nil || repo == "" {
		return fourkeys.Incident{}, false, badPayloadError{"issue and repository are required"}
	}
	if is.IsPullRequest() {
		return fourkeys.Incident{}, false, nil
	}
	cfg := settings.of(repo)
	if cfg.IncidentLabel == noIncidents {
		return fourkeys.Incident{}, false, nil
	}
	var labels []string
	for _, l := range is.Labels {
		labels = append(labels, l.GetName())
	}
	if !slices.ContainsFunc(labels, func(l string) bool { return strings.EqualFold(l, cfg.IncidentLabel) }) {
		return fourkeys.Incident{}, false, nil
	}
	if is.GetNumber() == 0 || is.GetCreatedAt().IsZero() {
		return fourkeys.Incident{}, false, badPayloadError{"issue.number and issue.created_at are required"}
	}
	in := fourkeys.Incident{ID: fourkeys.GitHubIssueID(repo, is.GetNumber()), Service: cfg.service, Repo: repo,
		Title: is.GetTitle(), URL: is.GetHTMLURL(), StartedAt: is.GetCreatedAt().UTC(),
		DeploymentRef: fourkeys.FindDeploymentRef(is.GetBody()), Labels: labels, UpdatedAt: is.GetUpdatedAt().UTC(),
		PostmortemURL: fourkeys.FindPostmortemURL(is.GetBody())}
	if is.GetState() == "closed" && !is.GetClosedAt().IsZero() {
		in.ResolvedAt = is.GetClosedAt().UTC()
	}
	return in, true, nil
}

// parseWebhook maps one webhook delivery (its X-GitHub-Event and body) to
// what it means for the Four Keys, through the mapping the poll uses. An
// error is an ErrBadPayload.
func parseWebhook(event string, body []byte, settings Settings) (store.GitHubEvent, error) {
	payload, err := gh.ParseWebHook(event, body)
	if err != nil {
		return store.GitHubEvent{}, badPayloadError{fmt.Sprintf("malformed JSON: %v", err)}
	}
	switch ev := payload.(type) {
	case *gh.DeploymentStatusEvent:
		d, ok, err := deploymentFromStatus(ev, settings)
		if err != nil || !ok {
			return store.GitHubEvent{}, err
		}
		return store.GitHubEvent{Deployment: &d}, nil
	case *gh.WorkflowRunEvent:
		d, ok, err := deploymentFromRun(ev, settings)
		if err != nil || !ok {
			return store.GitHubEvent{}, err
		}
		return store.GitHubEvent{Deployment: &d}, nil
	case *gh.PushEvent:
		p, ok, err := pushOf(ev)
		if err != nil || !ok {
			return store.GitHubEvent{}, err
		}
		return store.GitHubEvent{Push: &p}, nil
	case *gh.IssuesEvent:
		repo := ev.GetRepo().GetFullName()
		in, ok, err := incidentFromIssue(repo, ev.GetIssue(), settings)
		if err != nil {
			return store.GitHubEvent{}, err
		}
		gone := ev.GetAction() == "deleted" || ev.GetAction() == "transferred"
		if ok && !gone {
			return store.GitHubEvent{Incident: &in}, nil
		}
		// No longer an incident here (label removed, issue gone): forget
		// it, so a mislabelled issue stops counting.
		if ev.GetIssue().IsPullRequest() || ev.GetIssue().GetNumber() == 0 {
			return store.GitHubEvent{}, nil
		}
		at := ev.GetIssue().GetUpdatedAt().Time
		if gone {
			at = time.UnixMilli(1<<53 - 1) // gone for good: no report revives it
		}
		return store.GitHubEvent{NotIncident: fourkeys.GitHubIssueID(repo, ev.GetIssue().GetNumber()), NotIncidentAt: at}, nil
	}
	return store.GitHubEvent{}, nil
}

// pushOf is the commits a push event brought to the default branch; ok is
// false for tags, other branches and empty pushes (nothing reached
// production).
func pushOf(ev *gh.PushEvent) (store.Push, bool, error) {
	repo := ev.GetRepo().GetFullName()
	if repo == "" {
		return store.Push{}, false, badPayloadError{"repository.full_name: required"}
	}
	if ev.GetRef() != "refs/heads/"+ev.GetRepo().GetDefaultBranch() {
		return store.Push{}, false, nil
	}
	p := store.Push{Repo: repo, Before: ev.GetBefore()}
	for i, c := range ev.Commits {
		at := c.GetTimestamp().Time
		if c.GetAuthor() != nil && c.GetAuthor().Date != nil {
			at = c.GetAuthor().GetDate().Time
		}
		if c.GetID() == "" || at.IsZero() {
			return store.Push{}, false, badPayloadError{fmt.Sprintf("commits[%d]: id and timestamp are required", i)}
		}
		p.Commits = append(p.Commits, store.PushedCommit{SHA: c.GetID(), AuthoredAt: at})
	}
	return p, len(p.Commits) > 0, nil
}

// webhookEvents are the events a delivery may carry Four Keys events in;
// any other is acknowledged and ignored.
var webhookEvents = []string{"deployment_status", "push", "issues", "workflow_run"}

// Deliveries stores webhook deliveries: once per delivery id, durably when
// it returns nil (package store, which then has the Four Keys tiles
// recomputed).
type Deliveries interface {
	RecordGitHubDelivery(ctx context.Context, source, delivery string, ev store.GitHubEvent, now time.Time) (stored int, duplicate bool, err error)
}

// Delivery is one webhook delivery whose signature was verified: its
// X-GitHub-Event, X-GitHub-Delivery and body.
type Delivery struct {
	Event, ID string
	Body      []byte
}

// Outcome is what became of a delivery that was not refused.
type Outcome int

const (
	Pong      Outcome = iota // a ping: the webhook is set up
	Ignored                  // an event that never carries Four Keys events
	Duplicate                // a delivery id already stored: nothing is stored again
	stored                   // mapped and stored (perhaps as nothing: a tag push)
)

// Receipt is what a delivery came to; Events is how many Four Keys events
// it stored (Stored only).
type Receipt struct {
	Outcome Outcome
	Events  int
}

// ErrNoDeliveryID is a delivery of an event that counts without its
// X-GitHub-Delivery, which alone makes redeliveries harmless.
var ErrNoDeliveryID = errors.New("missing X-GitHub-Delivery")

// Receiver maps webhook deliveries through parseWebhook and stores them.
type Receiver struct {
	store    Deliveries
	settings Settings
}

// NewReceiver builds the receiver. settings may be nil: each delivery is
// then mapped with the settings of the config it is received with
// (settingsIn), as the poll maps the same repository.
func NewReceiver(st Deliveries, settings Settings) *Receiver {
	return &Receiver{store: st, settings: settings}
}

// Receive maps and stores d, with the repositories' settings of cfg (nil:
// the defaults) unless the receiver has its own. Its errors: ErrNoDeliveryID,
// ErrBadPayload (nothing stored), or the store's (nothing stored either:
// GitHub may redeliver).
func (rc *Receiver) Receive(ctx context.Context, cfg *board.Config, d Delivery) (Receipt, error) {
	if d.Event == "ping" {
		return Receipt{Outcome: Pong}, nil
	}
	if !slices.Contains(webhookEvents, d.Event) {
		return Receipt{Outcome: Ignored}, nil
	}
	if d.ID == "" {
		return Receipt{}, ErrNoDeliveryID
	}
	settings := rc.settings
	if settings == nil && cfg != nil {
		settings = func(repo string) RepoSettings { return settingsIn(cfg, repo) }
	}
	ev, err := parseWebhook(d.Event, d.Body, settings)
	if err != nil {
		return Receipt{}, err
	}
	n, duplicate, err := rc.store.RecordGitHubDelivery(ctx, "github", d.ID, ev, time.Now())
	if err != nil {
		return Receipt{}, fmt.Errorf("github: store delivery %s: %w", d.ID, err)
	}
	if duplicate {
		return Receipt{Outcome: Duplicate}, nil
	}
	return Receipt{Outcome: stored, Events: n}, nil
}
