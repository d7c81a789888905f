package github

import (
	"encoding/json"
	"testing"
	"time"

	gh "github.com/google/go-github/v82/github"
)

// A deployment naming an incident (description, payload, or a run's head
// commit) is rework; an issue linking its postmortem document has one.
func TestMappingFindsReworkAndPostmortemLinks(t *testing.T) {
	at := gh.Timestamp{Time: time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)}
	repo := &gh.Repository{FullName: gh.Ptr("org/api"), DefaultBranch: gh.Ptr("main")}
	for _, tc := range []struct {
		name, description, payload, want string
	}{
		{"description", "Hotfix for incident: inc-42", "", "inc-42"},
		{"payload", "", `{"incident": "inc-9"}`, "inc-9"},
		{"neither", "routine release, fixes #12", `{"x": 1}`, ""},
	} {
		dep := &gh.Deployment{ID: gh.Ptr(int64(7)), SHA: gh.Ptr("abc1234"), Environment: gh.Ptr("production"), Description: gh.Ptr(tc.description)}
		if tc.payload != "" {
			dep.Payload = json.RawMessage(tc.payload)
		}
		d, ok, err := deploymentFromStatus(&gh.DeploymentStatusEvent{Repo: repo, Deployment: dep,
			DeploymentStatus: &gh.DeploymentStatus{State: gh.Ptr("success"), CreatedAt: &at}}, nil)
		if err != nil || !ok || d.IncidentRef != tc.want {
			t.Errorf("%s: incident ref %q (ok %v, %v), want %q", tc.name, d.IncidentRef, ok, err, tc.want)
		}
	}
	run := &gh.WorkflowRun{ID: gh.Ptr(int64(9)), HeadSHA: gh.Ptr("abc1234"), HeadBranch: gh.Ptr("main"), Conclusion: gh.Ptr("success"),
		Name: gh.Ptr("deploy"), Path: gh.Ptr(".github/workflows/deploy.yml"), UpdatedAt: &at,
		HeadCommit: &gh.HeadCommit{Message: gh.Ptr("Roll back the cache (#31)\n\nincident #12")}}
	d, ok, err := deploymentFromRun(&gh.WorkflowRunEvent{Action: gh.Ptr("completed"), Repo: repo, WorkflowRun: run},
		func(string) RepoSettings { return RepoSettings{Workflow: "deploy.yml"} })
	if err != nil || !ok || d.IncidentRef != "12" {
		t.Errorf("workflow run: incident ref %q (ok %v, %v), want 12", d.IncidentRef, ok, err)
	}
	is := &gh.Issue{Number: gh.Ptr(5), CreatedAt: &at, Labels: []*gh.Label{{Name: gh.Ptr("incident")}},
		Body: gh.Ptr("Checkout down.\n\nPostmortem: https://docs.example.com/pm/5\n")}
	in, ok, err := incidentFromIssue("org/api", is, nil)
	if err != nil || !ok || in.PostmortemURL != "https://docs.example.com/pm/5" {
		t.Errorf("issue: postmortem url %q (ok %v, %v)", in.PostmortemURL, ok, err)
	}
}
