package gcm

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	monrest "google.golang.org/api/monitoring/v3"

	"github.com/wallboard/wallboard/board"
)

// incident is one Cloud Monitoring incident as this package knows it,
// whichever way it came: an open alert polled (projects.alerts.list and its
// policy) or a notification pushed to the webhook receiver. Both fill an
// incident and alert() maps it to the board's alert in one place, so the same
// incident reads the same on the wall whichever way it arrived.
type incident struct {
	name     string // projects/PROJECT/alerts/ID, the alert's resource name
	project  string // the scoping project, for the Console link
	console  string // the sender's Console link, used only without a project
	closed   bool
	started  time.Time
	ended    time.Time
	policy   string // the policy's resource name
	title    string // the policy's display name
	severity string // CRITICAL, ERROR, WARNING, or "" (no severity)
	resType  string
	resLbls  map[string]string
	metric   string // metric type
	content  string // documentation content (markdown)
	subject  string // documentation subject
	links    []docLink
}

type docLink struct{ name, url string }

// alert maps an incident to the board's alert: title = the policy's display
// name, severity = the policy's (warning when it has none), next action =
// the documentation as text (markdown rendered to its text, never its
// syntax), else its subject; runbook = the http(s) documentation link named
// like a runbook or playbook, else the first http(s) link; resource = its
// type and labels (k=v, no project_id); summary = the metric type; the
// Console link is built from the alert's name.
func (in incident) alert() board.Alert {
	a := board.Alert{
		ID:         in.name,
		State:      board.AlertOpen,
		Title:      in.title,
		Severity:   severity(in.severity),
		StartedAt:  in.started,
		Summary:    in.metric,
		Policy:     in.policy,
		ConsoleURL: in.console,
	}
	if in.project != "" {
		a.ConsoleURL = consoleURL(in.project, in.name)
	}
	if a.Title == "" {
		a.Title = in.name
	}
	if a.Severity == "" {
		a.Severity = board.SeverityWarning
	}
	if in.closed {
		a.State, a.EndedAt = board.AlertClosed, in.ended
	}
	if in.resType != "" || len(in.resLbls) > 0 {
		a.Resource = resourceText(in.resType, in.resLbls)
	}
	a.NextAction = markdownText(in.content)
	if a.NextAction == "" {
		a.NextAction = strings.TrimSpace(in.subject)
	}
	a.RunbookURL = runbook(in.links)
	return a
}

// withPolicy completes an incident from its alert policy as read now (the
// polled path; a webhook notification carries the policy's fields itself).
func (in *incident) withPolicy(p *monitoringpb.AlertPolicy) {
	if p == nil {
		return
	}
	if p.GetDisplayName() != "" {
		in.title = p.GetDisplayName()
	}
	if p.GetSeverity() != monitoringpb.AlertPolicy_SEVERITY_UNSPECIFIED {
		in.severity = p.GetSeverity().String()
	}
	doc := p.GetDocumentation()
	in.content, in.subject, in.links = doc.GetContent(), doc.GetSubject(), nil
	for _, l := range doc.GetLinks() {
		in.links = append(in.links, docLink{name: l.GetDisplayName(), url: l.GetUrl()})
	}
}

// polledIncident reads an open alert of projects.alerts.list.
func polledIncident(project string, a *monrest.Alert) (incident, error) {
	in := incident{name: a.Name, project: project, title: a.Name}
	var err error
	if in.started, err = time.Parse(time.RFC3339Nano, a.OpenTime); err != nil {
		err = fmt.Errorf("alert %s: open time %q unreadable", a.Name, a.OpenTime)
	}
	if a.Resource != nil {
		in.resType, in.resLbls = a.Resource.Type, a.Resource.Labels
	}
	if a.Metric != nil {
		in.metric = a.Metric.Type
	}
	if snap := a.Policy; snap != nil {
		in.policy, in.severity = snap.Name, snap.Severity
		if snap.DisplayName != "" {
			in.title = snap.DisplayName
		}
	}
	return in, err
}

// webhookPayload is a Cloud Monitoring webhook notification, schema 1.2
// (1.1 has the same incident fields but condition).
type webhookPayload struct {
	Version  string `json:"version"`
	Incident *struct {
		IncidentID       string      `json:"incident_id"`
		ScopingProjectID string      `json:"scoping_project_id"`
		URL              string      `json:"url"`
		State            string      `json:"state"`      // open, closed
		StartedAt        json.Number `json:"started_at"` // unix seconds
		EndedAt          json.Number `json:"ended_at"`   // unix seconds; null while open
		PolicyName       string      `json:"policy_name"`
		Severity         string      `json:"severity"` // Critical, Error, Warning, No severity
		Resource         struct {
			Type   string            `json:"type"`
			Labels map[string]string `json:"labels"`
		} `json:"resource"`
		Metric struct {
			Type string `json:"type"`
		} `json:"metric"`
		Condition struct {
			Name string `json:"name"` // projects/P/alertPolicies/ID/conditions/ID
		} `json:"condition"`
		Documentation *struct {
			Content string `json:"content"`
			Subject string `json:"subject"`
			Links   []struct {
				DisplayName string `json:"display_name"`
				URL         string `json:"url"`
			} `json:"links"`
		} `json:"documentation"`
	} `json:"incident"`
}

// ParseWebhook decodes a Cloud Monitoring webhook notification (schema 1.2)
// into the alert the same incident gives when polled: its id is the alert's
// resource name (projects/SCOPING_PROJECT/alerts/INCIDENT_ID), so a tile fed
// both ways shows it once, and an open then a closed notification are one
// alert.
func ParseWebhook(body []byte) (board.Alert, error) {
	var p webhookPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return board.Alert{}, fmt.Errorf("cloudmonitoring webhook: %w", err)
	}
	w := p.Incident
	if w == nil {
		return board.Alert{}, errors.New("cloudmonitoring webhook: no incident object")
	}
	if w.IncidentID == "" {
		return board.Alert{}, errors.New("cloudmonitoring webhook: incident.incident_id is empty")
	}
	in := incident{name: w.IncidentID, project: w.ScopingProjectID, console: w.URL, title: w.PolicyName, metric: w.Metric.Type,
		resType: w.Resource.Type, resLbls: w.Resource.Labels}
	if w.ScopingProjectID != "" && !strings.Contains(w.IncidentID, "/") {
		in.name = "projects/" + w.ScopingProjectID + "/alerts/" + w.IncidentID
	}
	// The policy's resource name, as the polled alert has it; the display
	// name when the notification has no condition (schema 1.1).
	in.policy = w.PolicyName
	if i := strings.Index(w.Condition.Name, "/conditions/"); i > 0 {
		in.policy = w.Condition.Name[:i]
	}
	in.severity = w.Severity // "No severity" reads as none, as an unset policy severity does
	switch strings.ToLower(w.State) {
	case "open":
	case "closed":
		in.closed = true
	default:
		return board.Alert{}, fmt.Errorf("cloudmonitoring webhook: incident.state %q: want open or closed", w.State)
	}
	var err error
	if in.started, err = unixSeconds(w.StartedAt); err != nil {
		return board.Alert{}, fmt.Errorf("cloudmonitoring webhook: incident.started_at: %w", err)
	}
	if in.ended, err = unixSeconds(w.EndedAt); err != nil {
		return board.Alert{}, fmt.Errorf("cloudmonitoring webhook: incident.ended_at: %w", err)
	}
	if d := w.Documentation; d != nil {
		in.content, in.subject = d.Content, d.Subject
		for _, l := range d.Links {
			in.links = append(in.links, docLink{name: l.DisplayName, url: l.URL})
		}
	}
	return in.alert(), nil
}

func unixSeconds(n json.Number) (time.Time, error) {
	if n == "" {
		return time.Time{}, nil
	}
	f, err := n.Float64()
	if err != nil || f < 0 || f > 1e11 {
		return time.Time{}, fmt.Errorf("%q is not unix seconds", string(n))
	}
	if f == 0 {
		return time.Time{}, nil
	}
	return time.UnixMilli(int64(f * 1000)).UTC(), nil
}
