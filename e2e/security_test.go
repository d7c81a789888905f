package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
)

// securityFake answers the security tile as a github source would.
type securityFake struct{}

func (securityFake) Fetch(ctx context.Context, q board.Query) (board.Result, error) {
	now := time.Now()
	five, none := 5, 0
	rep := &board.SecurityReport{CriticalAfter: board.DefaultCriticalAfter,
		Totals:            board.SeverityCounts{Critical: 3, High: 12, Medium: 40, Low: 128},
		Secrets:           5,
		SecretsUnreadable: []string{"platform-org/legacy-billing-service"},
		OldestCritical:    now.Add(-12 * 24 * time.Hour), OldestHigh: now.Add(-40 * 24 * time.Hour),
		Repos: []board.RepoSecurity{
			{Repo: "platform-org/checkout-frontend", Secrets: &five, Status: board.StatusCritical},
			{Repo: "platform-org/payments-api", Secrets: &none, Status: board.StatusWarn},
			{Repo: "platform-org/legacy-billing-service", Status: board.StatusOK},
		}}
	res := board.Result{Security: rep, Value: board.F(15)}
	for i, r := range rep.Repos {
		res.Rows = append(res.Rows, board.Row{Label: r.Repo, Value: board.F(float64(9 - 4*i)), Status: r.Status, Text: "3 C · 6 H"})
	}
	return res, nil
}

// Issue 16 point 8: the security tile, big numbers by severity and the
// oldest critical, fits every screen size in English and Japanese, as a
// wide tile and as a single cell.
func TestLayoutSecurityTile(t *testing.T) {
	cfg := `
sources:
  - {id: demo, kind: demo}
  - {id: gh, kind: github, repos: [platform-org/checkout-frontend]}
boards:
  - id: sec
    title: Security
    columns: 4
    tiles:
      - {id: baseline, kind: security, title: Security baseline, source: gh, span: 2, row_span: 2, interval: 1s}
      - {id: one, kind: security, title: Security, source: gh, query: {critical_after: 3d}, interval: 1s}
      - {id: req, kind: stat, title: Requests, source: demo, query: requests, interval: 1s}
      - {id: err, kind: stat, title: Errors, source: demo, query: error_ratio, unit: ratio, interval: 1s}
      - {id: p99, kind: stat, title: Latency, source: demo, query: latency_p99, unit: s, interval: 1s}
  - id: sec-ja
    title: セキュリティ
    locale: ja
    tiles:
      - {id: baseline, kind: security, title: セキュリティの基準, source: gh, span: 2, interval: 1s}
      - {id: req, kind: stat, title: リクエスト, source: demo, query: requests, interval: 1s}
`
	s := StartServer(t, ServerOptions{Config: cfg, Sources: map[string]poller.Source{"gh": securityFake{}}})
	b := StartBrowser(t)
	checkLayout(t, b, s.Base+"/boards/sec", "security", "")
	checkLayout(t, b, s.Base+"/boards/sec-ja", "security-ja", "")
}
