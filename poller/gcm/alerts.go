package gcm

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"
	"google.golang.org/api/googleapi"
	monrest "google.golang.org/api/monitoring/v3"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
)

// openAlerts lists the project's open alerts (projects.alerts.list, REST:
// the gRPC surface has no alerts) and enriches each with its alert policy
// (display name, severity, documentation, links), reading each policy once
// per poll.
func (s *Source) openAlerts(ctx context.Context, cl *clients) (board.Result, error) {
	if cl.alerts == nil {
		return board.Result{}, errors.New("gcm: alerts: no alerts_endpoint for an insecure endpoint (the alerts API is REST)")
	}
	var raw []*monrest.Alert
	token := ""
	for pages := 0; ; pages++ {
		if err := s.take(); err != nil {
			return board.Result{}, err
		}
		var resp *monrest.ListAlertsResponse
		err := retryUnavailable(ctx, func() error {
			var err error
			call := cl.alerts.Projects.Alerts.List(s.project).Filter(`state="OPEN"`).PageSize(pageSize).Context(ctx)
			if token != "" {
				call = call.PageToken(token)
			}
			resp, err = call.Do()
			return err
		})
		if err != nil {
			return board.Result{}, s.apiError("list open alerts", err)
		}
		raw = append(raw, resp.Alerts...)
		token = resp.NextPageToken
		if token == "" {
			break
		}
		if pages > 50 {
			return board.Result{}, errors.New("gcm: list open alerts: more than 50 pages of open alerts")
		}
	}
	res := board.Result{AlertsComplete: true, At: s.now()}
	policies := map[string]*monitoringpb.AlertPolicy{} // this poll's cache
	failed := map[string]bool{}
	for i, a := range raw {
		if a == nil || a.Name == "" {
			res.Warnings = appendOnce(res.Warnings, fmt.Sprintf("alert %d has no name: skipped", i))
			continue
		}
		in, err := polledIncident(s.cfg.Project, a)
		if err != nil {
			res.Warnings = appendOnce(res.Warnings, err.Error())
		}
		if in.policy != "" && !failed[in.policy] {
			p, ok := policies[in.policy]
			if !ok {
				var err error
				p, err = s.policy(ctx, cl, in.policy)
				if err != nil {
					var re *poller.RetryError
					if errors.As(err, &re) {
						return board.Result{}, err
					}
					failed[in.policy] = true
					res.Warnings = appendOnce(res.Warnings, fmt.Sprintf("policy %s: %v", in.policy, err))
				}
				policies[in.policy] = p
			}
			in.withPolicy(p)
		}
		al := in.alert()
		al.Source = s.id
		res.Alerts = append(res.Alerts, al)
	}
	sort.SliceStable(res.Alerts, func(i, j int) bool { return res.Alerts[i].StartedAt.After(res.Alerts[j].StartedAt) })
	return res, nil
}

// policy reads an alert policy, reusing one read within policyTTL: polls of
// open alerts (which every webhook delivery asks for) then cost one list
// call, not one more per policy.
func (s *Source) policy(ctx context.Context, cl *clients, name string) (*monitoringpb.AlertPolicy, error) {
	now := s.now()
	s.mu.Lock()
	c, ok := s.policies[name]
	s.mu.Unlock()
	if ok && now.Sub(c.at) < policyTTL {
		return c.p, nil
	}
	if err := s.take(); err != nil {
		return nil, err
	}
	p, err := cl.policy.GetAlertPolicy(ctx, &monitoringpb.GetAlertPolicyRequest{Name: name})
	if err != nil {
		return nil, s.apiError("get alert policy", err)
	}
	s.mu.Lock()
	if s.policies == nil {
		s.policies = map[string]cachedPolicy{}
	}
	// Drop expired entries so deleted policies do not stay for ever.
	for k, v := range s.policies {
		if now.Sub(v.at) >= policyTTL {
			delete(s.policies, k)
		}
	}
	s.policies[name] = cachedPolicy{p: p, at: now}
	s.mu.Unlock()
	return p, nil
}

type cachedPolicy struct {
	p  *monitoringpb.AlertPolicy
	at time.Time
}

// runbook picks the documentation link a person should open: one named
// like a runbook or playbook, else the first.
func runbook(links []docLink) string {
	first := ""
	for _, l := range links {
		u := strings.TrimSpace(l.url)
		if u == "" {
			continue
		}
		if pu, err := url.Parse(u); err != nil || (pu.Scheme != "https" && pu.Scheme != "http") {
			continue // only web links become clickable on the wall
		}
		name := strings.ToLower(l.name)
		if strings.Contains(name, "runbook") || strings.Contains(name, "playbook") {
			return u
		}
		if first == "" {
			first = u
		}
	}
	return first
}

// severity reads a policy severity name ("CRITICAL", "ERROR", "WARNING");
// anything else (unset, "No severity") is "" and counts as a warning.
func severity(s string) board.Severity {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "CRITICAL":
		return board.SeverityCritical
	case "ERROR":
		return board.SeverityError
	case "WARNING":
		return board.SeverityWarning
	}
	return ""
}

func resourceText(typ string, labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		if k != "project_id" {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	parts := []string{typ}
	for _, k := range keys {
		parts = append(parts, k+"="+labels[k])
	}
	return strings.Join(parts, " ")
}

func consoleURL(project, alertName string) string {
	id := alertName[strings.LastIndex(alertName, "/")+1:]
	return "https://console.cloud.google.com/monitoring/alerting/alerts/" + url.PathEscape(id) + "?project=" + url.QueryEscape(project)
}

func appendOnce(ws []string, w string) []string {
	for _, x := range ws {
		if x == w {
			return ws
		}
	}
	return append(ws, w)
}

// retryUnavailable retries a REST call on 502/503/504 (the generated REST
// client does not), a few times, bounded by ctx.
func retryUnavailable(ctx context.Context, call func() error) error {
	wait := 200 * time.Millisecond
	for attempt := 0; ; attempt++ {
		err := call()
		var ge *googleapi.Error
		if err == nil || attempt == 2 || !errors.As(err, &ge) ||
			(ge.Code != http.StatusServiceUnavailable && ge.Code != http.StatusBadGateway && ge.Code != http.StatusGatewayTimeout) {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
		wait *= 2
	}
}

// undocumented lists the enabled alert policies that give no next action:
// no documentation content and no link. Each is an alert that would page
// someone with nothing to do. Value is how many there are.
func (s *Source) undocumented(ctx context.Context, cl *clients) (board.Result, error) {
	it := cl.policy.ListAlertPolicies(ctx, &monitoringpb.ListAlertPoliciesRequest{Name: s.project, PageSize: pageSize})
	res := board.Result{At: s.now()}
	_, err := eachPage(s, it, "list alert policies", 50, func(page []*monitoringpb.AlertPolicy) {
		for _, p := range page {
			if p == nil || (p.GetEnabled() != nil && !p.GetEnabled().GetValue()) {
				continue // disabled policies page nobody
			}
			doc := p.GetDocumentation()
			var links []docLink
			for _, l := range doc.GetLinks() {
				links = append(links, docLink{name: l.GetDisplayName(), url: l.GetUrl()})
			}
			if strings.TrimSpace(doc.GetContent()) != "" || runbook(links) != "" {
				continue
			}
			label := p.GetDisplayName()
			if label == "" {
				label = p.GetName()
			}
			res.Rows = append(res.Rows, board.Row{
				Label:  label,
				Text:   "no next action",
				Status: board.StatusWarn,
				URL:    policyURL(s.cfg.Project, p.GetName()),
			})
		}
	})
	if err != nil {
		return board.Result{}, err
	}
	sort.SliceStable(res.Rows, func(i, j int) bool { return res.Rows[i].Label < res.Rows[j].Label })
	res.Value = board.F(float64(len(res.Rows)))
	return res, nil
}

func policyURL(project, name string) string {
	id := name[strings.LastIndex(name, "/")+1:]
	return "https://console.cloud.google.com/monitoring/alerting/policies/" + url.PathEscape(id) + "?project=" + url.QueryEscape(project)
}

// policyTTL is how long a policy read by GetAlertPolicy is reused by later
// polls of open alerts.
const policyTTL = 5 * time.Minute
