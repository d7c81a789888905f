package e2e

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/poller"
)

// scripted answers demo-signal queries with chosen values: latency_p99 is
// 5 h 20 m, requests 1234, and queue_age answers once, then fails.
type scripted struct{ queueCalls atomic.Int64 }

func (s *scripted) Fetch(ctx context.Context, q board.Query) (board.Result, error) {
	switch q.Text {
	case "latency_p99":
		return board.Result{Value: board.F(5*3600 + 20*60)}, nil
	case "queue_age":
		if s.queueCalls.Add(1) > 1 {
			return board.Result{}, errors.New("queue backend unreachable")
		}
		return board.Result{Value: board.F(42)}, nil
	}
	return board.Result{Value: board.F(1234)}, nil
}

func TestJapaneseLocale(t *testing.T) {
	cfg := `
sources:
  - {id: fake, kind: demo}
boards:
  - id: ja
    title: 決済基盤
    locale: ja
    columns: 3
    tiles:
      - {id: req, kind: stat, title: リクエスト数, source: fake, query: requests, unit: req/s, interval: 1s, thresholds: {warn: 2000, critical: 3000}}
      - {id: p99, kind: stat, title: レイテンシ p99, source: fake, query: latency_p99, unit: s, interval: 1s, thresholds: {warn: 60, critical: 600}}
      - {id: queue, kind: stat, title: キュー, source: fake, query: queue_age, unit: s, interval: 1s}
`
	s := StartServer(t, ServerOptions{Config: cfg, Sources: map[string]poller.Source{"fake": &scripted{}}})
	b := StartBrowser(t)
	b.Open(s.Base+"/boards/ja", 1920, 1080)
	b.WaitJS(`document.querySelector('#tile-ja-queue .stale-text').textContent.includes('取得失敗')`, 20*time.Second)
	var got struct {
		Lang, Font, Updated, ReqStatus, P99Status, P99Value, QueueStale string
	}
	b.Eval(`(() => ({
	  Lang: document.querySelector('.board').lang,
	  Font: getComputedStyle(document.querySelector('.board-title')).fontFamily,
	  Updated: document.querySelector('.updated').textContent,
	  ReqStatus: document.querySelector('#tile-ja-req .status-text').textContent,
	  P99Status: document.querySelector('#tile-ja-p99 .status-text').textContent,
	  P99Value: document.querySelector('#tile-ja-p99 .value').textContent,
	  QueueStale: document.querySelector('#tile-ja-queue .stale-text').textContent,
	}))()`, &got)
	b.Screenshot("locale-ja")
	check := func(what, got, want string) {
		t.Helper()
		if !strings.Contains(got, want) {
			t.Errorf("%s = %q, want it to contain %q", what, got, want)
		}
	}
	check("lang", got.Lang, "ja")
	// Font family names match without regard to ASCII case (the served,
	// minified CSS writes them in lower case).
	font := strings.ToLower(got.Font)
	check("font stack", font, `"noto sans cjk jp"`)
	if !strings.HasPrefix(font, `"noto sans cjk jp"`) {
		t.Errorf("Japanese boards should try Noto Sans CJK JP first, font-family is %s", got.Font)
	}
	check("updated", got.Updated, "更新") // "たった今更新" under 5 s, "N秒前に更新" after
	check("ok status", got.ReqStatus, "正常")
	check("critical status", got.P99Status, "重大")
	check("duration", got.P99Value, "5時間20分")
	check("failing tile", got.QueueStale, "取得失敗 · ")
	check("failing tile age", got.QueueStale, "秒前のデータ")

	// The server-rendered page (first paint) says the same.
	_, html := adminGet(t, s.Base+"/boards/ja", "")
	for _, want := range []string{`lang="ja"`, "5時間20分", "正常", "重大", "取得失敗"} {
		if !strings.Contains(html, want) {
			t.Errorf("first paint lacks %q", want)
		}
	}
}
