package app

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/wallboard/wallboard/alerts"
	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/views"
)

// storeFeed lists, for a board's standup view, what the store recorded in
// the period: deployments and incidents (of the services the board's tiles
// name, else of every service) and the openings and closings of the alerts
// its tiles show. It reads the store on every request, so the view is live.
type storeFeed struct{ a *App }

func (f storeFeed) StandupItems(ctx context.Context, boardID string, since, until time.Time) ([]views.StandupItem, error) {
	var b *board.BoardConfig
	for i, x := range f.a.Config().Boards {
		if x.ID == boardID {
			b = &f.a.Config().Boards[i]
			break
		}
	}
	if b == nil {
		return nil, nil
	}
	var services, sources []string
	for _, t := range b.Tiles {
		if q, err := board.QueryOf(t); err == nil {
			if svc := q.Param("service"); svc != "" && !slices.Contains(services, svc) {
				services = append(services, svc)
			}
		}
		feeds := []string{t.Source}
		if f.a.alerts != nil && (t.Kind == alerts.KindAlerts || t.Kind == alerts.KindHygiene) {
			feeds = f.a.alerts.Feeds(t)
		}
		for _, s := range feeds {
			if s != "" && !slices.Contains(sources, s) {
				sources = append(sources, s)
			}
		}
	}
	st := f.a.Store()
	// The period includes its end: an event of this second is listed.
	end := until.Add(time.Second)
	var out []views.StandupItem
	deps, err := st.DeploymentsBetween(ctx, since, end, services)
	if err != nil {
		return nil, err
	}
	for _, d := range deps {
		var detail []string
		if d.SHA != "" {
			detail = append(detail, d.SHA[:min(7, len(d.SHA))])
		}
		if d.Author != "" {
			detail = append(detail, d.Author)
		}
		out = append(out, views.StandupItem{Kind: "deployment", State: "succeeded", At: d.FinishedAt, Title: d.Service, Detail: strings.Join(detail, " · ")})
	}
	incs, err := st.IncidentsBetween(ctx, since, end, services)
	if err != nil {
		return nil, err
	}
	for _, in := range incs {
		title := in.Title
		if title == "" {
			title = in.ID
		}
		if !in.StartedAt.Before(since) {
			out = append(out, views.StandupItem{Kind: "incident", State: "opened", At: in.StartedAt, Title: title, Detail: in.Service})
		}
		if !in.ResolvedAt.IsZero() && !in.ResolvedAt.Before(since) && in.ResolvedAt.Before(end) {
			out = append(out, views.StandupItem{Kind: "incident", State: "resolved", At: in.ResolvedAt, Title: title, Detail: in.Service})
		}
	}
	trs, err := st.AlertTransitionsBetween(ctx, sources, since, end)
	if err != nil {
		return nil, err
	}
	for _, tr := range trs {
		state := "opened"
		if tr.State == board.AlertClosed {
			state = "closed"
		}
		title := tr.Alert.Title
		if title == "" {
			title = tr.Alert.ID
		}
		out = append(out, views.StandupItem{Kind: "alert", State: state, At: tr.At, Title: title, Detail: string(tr.Alert.Severity)})
	}
	return out, nil
}
