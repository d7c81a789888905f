package web

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path"
	"slices"
	"strings"
	"time"

	"github.com/google/go-github/v82/github"

	"github.com/wallboard/wallboard/fourkeys"
	"github.com/wallboard/wallboard/store"
)

// MaxGitHubBody is GitHub's own cap on webhook payloads (25 MB).
const MaxGitHubBody = 25 << 20

// GitHubRepoSettings is how one repository's events become Four Keys events
// (from the github source that lists the repository, or the defaults).
type GitHubRepoSettings struct {
	Service       string // default: the repository's full name
	Environment   string // deployment environment that counts; default "production"
	Workflow      string // workflow whose successful runs on the default branch are deployments; "" = none
	IncidentLabel string // issues with this label are incidents; default "incident"
}

// GitHubHandler receives POST /hooks/github: deployment_status, push, issues
// and workflow_run events, verified with X-Hub-Signature-256.
type GitHubHandler struct {
	secret   []byte
	store    TxRunner
	settings func(repo string) GitHubRepoSettings
	kick     func()
	log      *slog.Logger
	now      func() time.Time
}

// NewGitHubHandler builds the receiver; secret must not be empty (without
// one the endpoint is off: no route). settings may be nil (defaults).
func NewGitHubHandler(secret string, st TxRunner, settings func(repo string) GitHubRepoSettings, kick func(), log *slog.Logger) *GitHubHandler {
	if settings == nil {
		settings = func(string) GitHubRepoSettings { return GitHubRepoSettings{} }
	}
	if kick == nil {
		kick = func() {}
	}
	return &GitHubHandler{secret: []byte(secret), store: st, settings: settings, kick: kick, log: log, now: time.Now}
}

func (h *GitHubHandler) repoSettings(repo string) GitHubRepoSettings {
	s := h.settings(repo)
	if s.Service == "" {
		s.Service = repo
	}
	if s.Environment == "" {
		s.Environment = "production"
	}
	if s.IncidentLabel == "" {
		s.IncidentLabel = "incident"
	}
	return s
}

// githubEvents are the events stored; any other is acknowledged and ignored.
var githubEvents = []string{"deployment_status", "push", "issues", "workflow_run"}

func (h *GitHubHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, ok := readBody(w, r, MaxGitHubBody)
	if !ok {
		return
	}
	sig := r.Header.Get("X-Hub-Signature-256")
	if sig == "" {
		http.Error(w, "missing X-Hub-Signature-256", http.StatusUnauthorized)
		return
	}
	// Only sha256: the legacy sha1 header is refused. ValidateSignature
	// compares with hmac.Equal (constant time).
	if !strings.HasPrefix(sig, "sha256=") || github.ValidateSignature(sig, body, h.secret) != nil {
		http.Error(w, "bad X-Hub-Signature-256", http.StatusUnauthorized)
		return
	}
	event := github.WebHookType(r)
	delivery := github.DeliveryID(r)
	if event == "ping" {
		writeAccepted(w, http.StatusOK, map[string]any{"ok": "pong"})
		return
	}
	if !slices.Contains(githubEvents, event) {
		writeAccepted(w, http.StatusAccepted, map[string]any{"ignored": event})
		return
	}
	if delivery == "" {
		http.Error(w, "missing X-GitHub-Delivery", http.StatusBadRequest)
		return
	}
	payload, err := github.ParseWebHook(event, body)
	if err != nil {
		http.Error(w, fmt.Sprintf("%s payload: malformed JSON: %v", event, err), http.StatusBadRequest)
		return
	}
	var stored int
	var duplicate bool
	err = h.store.InTx(r.Context(), func(tx *sql.Tx) error {
		first, err := store.FirstDelivery(r.Context(), tx, "github", delivery, h.now())
		if err != nil || !first {
			duplicate = !first
			return err
		}
		stored, err = h.apply(r.Context(), tx, payload)
		return err
	})
	if err != nil {
		var bad badPayload
		if errors.As(err, &bad) {
			http.Error(w, event+" payload: "+bad.msg, http.StatusBadRequest)
			return
		}
		h.log.Error("github webhook: storing", "event", event, "delivery", delivery, "error", err)
		http.Error(w, "could not store the event; GitHub may redeliver it", http.StatusServiceUnavailable)
		return
	}
	if duplicate {
		writeAccepted(w, http.StatusOK, map[string]any{"duplicate": delivery})
		return
	}
	if stored > 0 {
		h.kick()
	}
	writeAccepted(w, http.StatusOK, map[string]any{"event": event, "stored": stored})
}

// badPayload is a payload that parses but lacks what the event needs.
type badPayload struct{ msg string }

func (b badPayload) Error() string { return b.msg }

// apply stores what a parsed event means for the Four Keys; it returns how
// many events were stored (0: not relevant, e.g. a staging deployment).
func (h *GitHubHandler) apply(ctx context.Context, tx *sql.Tx, payload any) (int, error) {
	switch ev := payload.(type) {
	case *github.DeploymentStatusEvent:
		d, ok, err := DeploymentFromStatus(ev, h.repoSettings)
		if err != nil || !ok {
			return 0, err
		}
		return 1, h.storeDeployment(ctx, tx, d)
	case *github.WorkflowRunEvent:
		d, ok, err := DeploymentFromRun(ev, h.repoSettings)
		if err != nil || !ok {
			return 0, err
		}
		return 1, h.storeDeployment(ctx, tx, d)
	case *github.PushEvent:
		repo := ev.GetRepo().GetFullName()
		if repo == "" {
			return 0, badPayload{"repository.full_name: required"}
		}
		if ev.GetRef() != "refs/heads/"+ev.GetRepo().GetDefaultBranch() {
			return 0, nil // tags and other branches have not reached production
		}
		var cs []store.PushedCommit
		for i, c := range ev.Commits {
			at := c.GetTimestamp().Time
			if c.GetAuthor() != nil && c.GetAuthor().Date != nil {
				at = c.GetAuthor().GetDate().Time
			}
			if c.GetID() == "" || at.IsZero() {
				return 0, badPayload{fmt.Sprintf("commits[%d]: id and timestamp are required", i)}
			}
			cs = append(cs, store.PushedCommit{SHA: c.GetID(), AuthoredAt: at})
		}
		if len(cs) == 0 {
			return 0, nil
		}
		return len(cs), store.RecordPush(ctx, tx, strings.ToLower(repo), cs)
	case *github.IssuesEvent:
		repo := ev.GetRepo().GetFullName()
		in, ok, err := IncidentFromIssue(repo, ev.GetIssue(), h.repoSettings)
		if err != nil {
			return 0, err
		}
		if !ok || ev.GetAction() == "deleted" || ev.GetAction() == "transferred" {
			// No longer an incident here (label removed, issue gone): forget
			// it, so a mislabelled issue stops counting.
			if !ev.GetIssue().IsPullRequest() && ev.GetIssue().GetNumber() != 0 {
				return 0, store.DeleteIncident(ctx, tx, fourkeys.GitHubIssueID(repo, ev.GetIssue().GetNumber()))
			}
			return 0, nil
		}
		return 1, store.UpsertIncident(ctx, tx, "github", in)
	}
	return 0, nil
}

// storeDeployment stores d and, when the previous deployment of its service
// and both shas are known from push events, the commits between them.
func (h *GitHubHandler) storeDeployment(ctx context.Context, tx *sql.Tx, d fourkeys.Deployment) error {
	if err := store.UpsertDeployment(ctx, tx, "github", d); err != nil {
		return err
	}
	prev, ok, err := store.PreviousDeployment(ctx, tx, d.Service, d.FinishedAt)
	if err != nil || !ok {
		return err // the first deployment of a service has no counted changes
	}
	commits, ok, err := store.PushedBetween(ctx, tx, strings.ToLower(d.Repo), prev.SHA, d.SHA)
	if err != nil || !ok {
		return err
	}
	cs := make([]fourkeys.Change, 0, len(commits))
	for _, c := range commits {
		cs = append(cs, fourkeys.Change{SHA: c.SHA, Service: d.Service, AuthoredAt: c.AuthoredAt, DeploymentID: d.ID})
	}
	return store.UpsertChanges(ctx, tx, d, cs)
}

// DeploymentFromStatus is the deployment a deployment_status event reports:
// ok only for state success in the repository's environment.
func DeploymentFromStatus(ev *github.DeploymentStatusEvent, settings func(string) GitHubRepoSettings) (fourkeys.Deployment, bool, error) {
	st, dep, repo := ev.GetDeploymentStatus(), ev.GetDeployment(), ev.GetRepo().GetFullName()
	if st == nil || dep == nil || repo == "" {
		return fourkeys.Deployment{}, false, badPayload{"deployment, deployment_status and repository are required"}
	}
	cfg := settings(repo)
	if st.GetState() != "success" || !strings.EqualFold(dep.GetEnvironment(), cfg.Environment) {
		return fourkeys.Deployment{}, false, nil
	}
	if dep.GetID() == 0 || dep.GetSHA() == "" || st.GetCreatedAt().IsZero() {
		return fourkeys.Deployment{}, false, badPayload{"deployment.id, deployment.sha and deployment_status.created_at are required"}
	}
	return fourkeys.Deployment{ID: fourkeys.GitHubDeploymentID(repo, dep.GetID()), Service: cfg.Service, Repo: repo,
		SHA: strings.ToLower(dep.GetSHA()), FinishedAt: st.GetCreatedAt().UTC(), Author: dep.GetCreator().GetLogin()}, true, nil
}

// DeploymentFromRun is the deployment a workflow_run event reports: ok only
// for a completed, successful run of the configured workflow on the default
// branch. The workflow matches by name, file name or path.
func DeploymentFromRun(ev *github.WorkflowRunEvent, settings func(string) GitHubRepoSettings) (fourkeys.Deployment, bool, error) {
	run, repo := ev.GetWorkflowRun(), ev.GetRepo().GetFullName()
	if run == nil || repo == "" {
		return fourkeys.Deployment{}, false, badPayload{"workflow_run and repository are required"}
	}
	cfg := settings(repo)
	if cfg.Workflow == "" || ev.GetAction() != "completed" || run.GetConclusion() != "success" ||
		run.GetHeadBranch() != ev.GetRepo().GetDefaultBranch() {
		return fourkeys.Deployment{}, false, nil
	}
	if !WorkflowMatches(cfg.Workflow, run.GetName(), ev.GetWorkflow().GetName(), run.GetPath()) {
		return fourkeys.Deployment{}, false, nil
	}
	if run.GetID() == 0 || run.GetHeadSHA() == "" || run.GetUpdatedAt().IsZero() {
		return fourkeys.Deployment{}, false, badPayload{"workflow_run.id, head_sha and updated_at are required"}
	}
	return fourkeys.Deployment{ID: fourkeys.GitHubRunID(repo, run.GetID()), Service: cfg.Service, Repo: repo,
		SHA: strings.ToLower(run.GetHeadSHA()), FinishedAt: run.GetUpdatedAt().UTC(), Author: run.GetActor().GetLogin()}, true, nil
}

// WorkflowMatches reports whether a configured workflow (a name, a file name
// like deploy.yml, or a path like .github/workflows/deploy.yml) is this one.
func WorkflowMatches(want, runName, workflowName, workflowPath string) bool {
	if want == "" {
		return false
	}
	p := strings.SplitN(workflowPath, "@", 2)[0] // paths may carry "@ref"
	return want == runName || want == workflowName || (p != "" && (want == p || want == path.Base(p)))
}

// IncidentFromIssue is the incident an issue is: ok only when it carries the
// incident label and is not a pull request. started = created_at,
// resolved = closed_at while closed.
func IncidentFromIssue(repo string, is *github.Issue, settings func(string) GitHubRepoSettings) (fourkeys.Incident, bool, error) {
	if is == nil || repo == "" {
		return fourkeys.Incident{}, false, badPayload{"issue and repository are required"}
	}
	if is.IsPullRequest() {
		return fourkeys.Incident{}, false, nil
	}
	cfg := settings(repo)
	var labels []string
	for _, l := range is.Labels {
		labels = append(labels, l.GetName())
	}
	if !slices.ContainsFunc(labels, func(l string) bool { return strings.EqualFold(l, cfg.IncidentLabel) }) {
		return fourkeys.Incident{}, false, nil
	}
	if is.GetNumber() == 0 || is.GetCreatedAt().IsZero() {
		return fourkeys.Incident{}, false, badPayload{"issue.number and issue.created_at are required"}
	}
	in := fourkeys.Incident{ID: fourkeys.GitHubIssueID(repo, is.GetNumber()), Service: cfg.Service, Repo: repo,
		Title: is.GetTitle(), URL: is.GetHTMLURL(), StartedAt: is.GetCreatedAt().UTC(),
		DeploymentRef: fourkeys.FindDeploymentRef(is.GetBody()), Labels: labels}
	if is.GetState() == "closed" && !is.GetClosedAt().IsZero() {
		in.ResolvedAt = is.GetClosedAt().UTC()
	}
	return in, true, nil
}
