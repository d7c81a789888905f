package gcm

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"cloud.google.com/go/monitoring/apiv3/v2/monitoringpb"

	"github.com/wallboard/wallboard/board"
)

// sloList lists the project's services and their SLOs: one row per SLO,
// its goal as the value (0-1), its service and period as the detail. It is
// the inventory to copy slo: names from; it costs 1 + (number of services)
// requests per poll, so give it a long interval.
func (s *Source) sloList(ctx context.Context, cl *clients) (board.Result, error) {
	res := board.Result{At: s.now()}
	var services []*monitoringpb.Service
	it := cl.slo.ListServices(ctx, &monitoringpb.ListServicesRequest{Parent: s.project, PageSize: pageSize})
	if _, err := eachPage(s, it, "list services", 20, func(page []*monitoringpb.Service) {
		services = append(services, page...)
	}); err != nil {
		return board.Result{}, err
	}
	for _, svc := range services {
		if svc == nil || svc.GetName() == "" {
			continue
		}
		sit := cl.slo.ListServiceLevelObjectives(ctx, &monitoringpb.ListServiceLevelObjectivesRequest{Parent: svc.GetName(), PageSize: pageSize})
		_, err := eachPage(s, sit, fmt.Sprintf("list SLOs of %s", svc.GetName()), 20, func(page []*monitoringpb.ServiceLevelObjective) {
			for _, o := range page {
				if o == nil {
					continue
				}
				label := o.GetDisplayName()
				if label == "" {
					label = o.GetName()[strings.LastIndex(o.GetName(), "/")+1:]
				}
				detail := svc.GetDisplayName()
				if detail == "" {
					detail = svc.GetName()[strings.LastIndex(svc.GetName(), "/")+1:]
				}
				if d := o.GetRollingPeriod(); d != nil {
					detail += fmt.Sprintf(" · rolling %dd", int(d.AsDuration().Hours()/24))
				} else if p := o.GetCalendarPeriod(); p != 0 {
					detail += " · calendar " + strings.ToLower(p.String())
				}
				row := board.Row{Label: label, Detail: detail, Status: board.StatusOK}
				if g := o.GetGoal(); g > 0 && g < 1 {
					row.Value = board.F(g)
				}
				res.Rows = append(res.Rows, row)
			}
		})
		if err != nil {
			return board.Result{}, err
		}
	}
	sort.SliceStable(res.Rows, func(i, j int) bool { return res.Rows[i].Label < res.Rows[j].Label })
	return res, nil
}
