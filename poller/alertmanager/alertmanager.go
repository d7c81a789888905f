// Package alertmanager reads open alerts from a Prometheus Alertmanager
// (GET /api/v2/alerts) and maps Alertmanager alerts, polled or delivered by
// its webhook, to board.Alert.
//
// It uses plain net/http and encoding/json: the API is one GET of a small,
// stable JSON document, and Alertmanager's own Go client would pull in its
// whole server module for it. It never writes to Alertmanager.
package alertmanager

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
)

// maxBody bounds what one poll reads (a few thousand alerts).
const maxBody = 16 << 20

// Source polls one Alertmanager.
type Source struct {
	base    *url.URL
	client  *http.Client
	token   string
	user    string
	pass    string
	headers map[string]string
}

// Options configure a Source.
type Options struct {
	URL      string // base URL, e.g. http://alertmanager:9093
	Token    string // bearer token; "" for none
	Username string // basic auth; "" for none
	Password string
	Headers  map[string]string
	Client   *http.Client // nil: a client with no overall timeout (the poller's context bounds each poll)
}

// New makes a source. The URL must be absolute http(s).
func New(o Options) (*Source, error) {
	u, err := url.Parse(strings.TrimRight(o.URL, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("alertmanager: url %q: want http(s)://host[:port][/path]", o.URL)
	}
	c := o.Client
	if c == nil {
		c = &http.Client{}
	}
	return &Source{base: u, client: c, token: o.Token, user: o.Username, pass: o.Password, headers: o.Headers}, nil
}

// CheckQuery validates a tile's query for an alertmanager source: an empty
// query or the mapping {alerts: open}, since an Alertmanager source has one
// thing to poll, its open alerts.
func CheckQuery(t board.TileConfig, q board.Query) error {
	if q.Text != "" {
		return fmt.Errorf("alertmanager: a query string means nothing here (%q); leave it out or use {alerts: open}", q.Text)
	}
	for k := range q.Params {
		if k != "alerts" {
			return fmt.Errorf("alertmanager: unknown query key %q (known: alerts)", k)
		}
	}
	if v := q.Param("alerts"); v != "" && v != "open" {
		return fmt.Errorf("alertmanager: alerts: %q: only open is supported", v)
	}
	if t.Kind != "alerts" && t.Kind != "hygiene" && t.Kind != board.KindList && t.Kind != board.KindStat {
		return fmt.Errorf("alertmanager: tile kind %q cannot show alerts (use alerts, hygiene, list or stat)", t.Kind)
	}
	return nil
}

// amAlert is the part of an Alertmanager alert the board uses; the API's
// gettableAlert and the webhook payload's alert both carry it, and convert
// maps it, so an alert polled and delivered gives the same board alert.
type amAlert struct {
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       time.Time         `json:"endsAt"`
	GeneratorURL string            `json:"generatorURL"`
	Fingerprint  string            `json:"fingerprint"`
}

func (a amAlert) board(firing bool) board.Alert {
	return convert(a.Labels, a.Annotations, a.Fingerprint, a.StartsAt, a.EndsAt, a.GeneratorURL, firing)
}

// gettableAlert is one alert of GET /api/v2/alerts (Alertmanager's OpenAPI
// spec, gettableAlerts); only the fields the board shows.
type gettableAlert struct {
	amAlert
	Status struct {
		State       string   `json:"state"` // active, suppressed, unprocessed
		SilencedBy  []string `json:"silencedBy"`
		InhibitedBy []string `json:"inhibitedBy"`
	} `json:"status"`
}

// Fetch returns the active alerts (neither silenced nor inhibited) as the
// complete set of open alerts of this source, and the ids of the silenced
// and inhibited ones as AlertsSuppressed, so that the copies the webhook
// delivered of those can follow Alertmanager's state. Rows list the open
// alerts too (title, severity, next action) for list and stat tiles; Value
// is their count.
func (s *Source) Fetch(ctx context.Context, q board.Query) (board.Result, error) {
	u := *s.base
	u.Path += "/api/v2/alerts"
	u.RawQuery = "active=true&silenced=true&inhibited=true"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return board.Result{}, fmt.Errorf("alertmanager: %w", err)
	}
	req.Header.Set("Accept", "application/json")
	for k, v := range s.headers {
		req.Header.Set(k, v)
	}
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	} else if s.user != "" {
		req.SetBasicAuth(s.user, s.pass)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return board.Result{}, fmt.Errorf("alertmanager: get %s: %w", u.Redacted(), err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return board.Result{}, fmt.Errorf("alertmanager: read %s: %w", u.Redacted(), err)
	}
	if resp.StatusCode != http.StatusOK {
		e := fmt.Errorf("alertmanager: HTTP %d: %s", resp.StatusCode, snippet(body))
		if secs, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && secs > 0 {
			// The poller waits at least as long as Alertmanager asked.
			return board.Result{}, &poller.RetryError{After: time.Duration(secs) * time.Second, Err: e}
		}
		return board.Result{}, e
	}
	if len(body) > maxBody {
		return board.Result{}, fmt.Errorf("alertmanager: response over %d bytes", maxBody)
	}
	alerts, suppressed, err := parseAlerts(body)
	if err != nil {
		return board.Result{}, err
	}
	res := board.Result{Alerts: alerts, AlertsComplete: true, AlertsSuppressed: suppressed, Value: board.F(float64(len(alerts)))}
	for _, a := range alerts {
		res.Rows = append(res.Rows, Row(a))
	}
	return res, nil
}

// parseAlerts decodes a GET /api/v2/alerts response into the open alerts
// and the ids of the suppressed ones (silenced or inhibited: Alertmanager
// sends no notification for them, so they are not open on the wall).
// Resolved alerts are not in the response at all.
func parseAlerts(body []byte) (open []board.Alert, suppressed []string, err error) {
	var in []gettableAlert
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, nil, fmt.Errorf("alertmanager: decode alerts: %w", err)
	}
	open = make([]board.Alert, 0, len(in))
	for _, g := range in {
		a := g.board(true)
		if g.Status.State == "suppressed" || len(g.Status.SilencedBy) > 0 || len(g.Status.InhibitedBy) > 0 {
			suppressed = append(suppressed, a.ID)
			continue
		}
		if g.Status.State != "" && g.Status.State != "active" {
			continue // unprocessed: not yet judged; the next poll will say
		}
		open = append(open, a)
	}
	return open, suppressed, nil
}

// webhookPayload is Alertmanager's webhook payload, version 4.
type webhookPayload struct {
	Version string `json:"version"`
	Status  string `json:"status"`
	Alerts  []struct {
		amAlert
		Status string `json:"status"` // firing or resolved
	} `json:"alerts"`
}

// ParseWebhook decodes an Alertmanager webhook payload (version 4) into
// alerts, with the same mapping as a poll: firing ones open, resolved ones
// closed.
func ParseWebhook(body []byte) ([]board.Alert, error) {
	var p webhookPayload
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, fmt.Errorf("alertmanager webhook: %w", err)
	}
	if p.Version != "" && p.Version != "4" {
		return nil, fmt.Errorf("alertmanager webhook: version %q: only version 4 is understood", p.Version)
	}
	out := make([]board.Alert, 0, len(p.Alerts))
	for i, a := range p.Alerts {
		var firing bool
		switch a.Status {
		case "firing":
			firing = true
		case "resolved":
		default:
			return nil, fmt.Errorf("alertmanager webhook: alerts[%d].status %q: want firing or resolved", i, a.Status)
		}
		if len(a.Labels) == 0 && a.Fingerprint == "" {
			return nil, fmt.Errorf("alertmanager webhook: alerts[%d]: no labels and no fingerprint", i)
		}
		out = append(out, a.board(firing))
	}
	return out, nil
}

// Row is an alert as a list row.
func Row(a board.Alert) board.Row {
	st := board.StatusWarn
	switch a.Severity {
	case board.SeverityCritical, board.SeverityError:
		st = board.StatusCritical
	case board.SeverityInfo:
		st = board.StatusOK
	}
	return board.Row{Label: a.Title, Text: string(a.Severity), Status: st, Detail: a.NextAction, URL: a.RunbookURL, At: a.StartedAt}
}

// convert maps an Alertmanager alert (polled or from a webhook) to the
// board's alert: alertname is the title and the policy, the severity label
// the severity, the summary annotation the summary, the description (or a
// next_action annotation) the next action, runbook_url the runbook, and the
// generator URL the console link. The id is Alertmanager's fingerprint, or
// a hash of the labels when the sender gives none.
func convert(labels, annotations map[string]string, fingerprint string, startsAt, endsAt time.Time, generatorURL string, firing bool) board.Alert {
	a := board.Alert{
		ID:         fingerprint,
		Title:      labels["alertname"],
		Severity:   Severity(labels["severity"]),
		State:      board.AlertOpen,
		StartedAt:  startsAt.UTC(),
		Summary:    annotations["summary"],
		NextAction: annotations["description"],
		RunbookURL: firstOf(annotations, "runbook_url", "runbook"),
		ConsoleURL: generatorURL,
		Policy:     labels["alertname"],
		Resource:   firstOf(labels, "resource", "service", "instance", "pod", "job"),
	}
	if na := firstOf(annotations, "next_action"); na != "" {
		a.NextAction = na
	}
	if a.Title == "" {
		a.Title = a.Summary
	}
	if a.ID == "" {
		a.ID = labelsHash(labels)
	}
	if !firing {
		a.State = board.AlertClosed
		a.EndedAt = endsAt.UTC()
	}
	return a
}

func firstOf(m map[string]string, keys ...string) string {
	for _, k := range keys {
		if v := strings.TrimSpace(m[k]); v != "" {
			return v
		}
	}
	return ""
}

// labelsHash identifies an alert by its label set, as Alertmanager's
// fingerprint does (not the same numbers, the same idea).
func labelsHash(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	h := sha256.New()
	for _, k := range keys {
		h.Write([]byte(k))
		h.Write([]byte{0})
		h.Write([]byte(labels[k]))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:8])
}

// Severity maps the severity names alerting rules and Cloud Monitoring use
// to the board's four levels. Unknown or missing severities are warnings:
// shown, never taking over the screen.
func Severity(s string) board.Severity {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "critical", "crit", "page", "p1", "fatal", "emergency", "alert":
		return board.SeverityCritical
	case "error", "err", "high", "major", "p2":
		return board.SeverityError
	case "info", "informational", "low", "none", "notice", "p4", "p5":
		return board.SeverityInfo
	}
	return board.SeverityWarning
}

func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
