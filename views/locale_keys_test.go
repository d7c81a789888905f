package views

import (
	"bytes"
	"context"
	"html"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/a-h/templ"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/fourkeys"
)

// englishWords are the words of the English strings tables (the Four Keys
// tiles', the retro's and the page's), without format verbs: none of them
// may be on a Japanese page.
func englishWords(t *testing.T) map[string]bool {
	t.Helper()
	verbs := regexp.MustCompile(`%(\[\d+\])?[-+# 0]*\d*(\.\d+)?[a-zA-Z]`)
	word := regexp.MustCompile(`[A-Za-z]{2,}`)
	out := map[string]bool{}
	var walk func(v reflect.Value)
	walk = func(v reflect.Value) {
		switch v.Kind() {
		case reflect.String:
			for _, w := range word.FindAllString(verbs.ReplaceAllString(v.String(), " "), -1) {
				out[strings.ToLower(w)] = true
			}
		case reflect.Struct:
			for i := range v.NumField() {
				if v.Type().Field(i).Name != "lang" && v.Type().Field(i).Name != "dateTime" {
					walk(v.Field(i))
				}
			}
		case reflect.Array, reflect.Slice:
			for i := range v.Len() {
				walk(v.Index(i))
			}
		case reflect.Map:
			for _, k := range v.MapKeys() {
				walk(v.MapIndex(k))
			}
		}
	}
	walk(reflect.ValueOf(keysText["en"]))
	walk(reflect.ValueOf(retroText["en"]))
	walk(reflect.ValueOf(English))
	// Names that stay as they are in Japanese text.
	for _, keep := range []string{"dora", "four", "keys", "slo"} {
		delete(out, keep)
	}
	if len(out) < 100 {
		t.Fatalf("only %d English words found in the tables", len(out))
	}
	return out
}

var (
	tagRe   = regexp.MustCompile(`(?s)<[^>]*>`)
	titleRe = regexp.MustCompile(`(?:title|aria-label)="([^"]*)"`)
	wordRe  = regexp.MustCompile(`[A-Za-z]{2,}`)
	// A short English unit after a number: "3 h", "42 m", "2 d".
	unitRe = regexp.MustCompile(`\d (s|m|h|d|ms)\b`)
)

// shownText is what a person reads on a rendered page: the text and the
// tooltips (title, aria-label).
func shownText(page string) string {
	var sb strings.Builder
	for _, m := range titleRe.FindAllStringSubmatch(page, -1) {
		sb.WriteString(html.UnescapeString(m[1]) + "\n")
	}
	body := page
	if i := strings.Index(page, "<body"); i >= 0 {
		body = page[i:]
	}
	sb.WriteString(html.UnescapeString(tagRe.ReplaceAllString(body, "\n")))
	return sb.String()
}

// Issue 16 point 4: the Japanese page of the Four Keys tiles (figures with
// their counts, the attribution-window footnote, tiers, deltas, the deploy
// feed and postmortems due and overdue) and the Japanese retro contain no
// word of the English strings tables.
func TestJapaneseFourKeysAndRetroHaveNoEnglish(t *testing.T) {
	en := englishWords(t)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	f := func(v float64) *float64 { return &v }
	d := func(v time.Duration) *time.Duration { return &v }
	cur := fourkeys.Metrics{Window: fourkeys.LastDays(now, 30*fourkeys.Day), DeploymentsPerDay: f(0.3),
		LeadTime: d(5*time.Hour + 20*time.Minute), ChangeFailureRate: f(0.075), RecoveryTime: d(42 * time.Minute), TimeToRestore: d(50 * time.Minute),
		Deployments: 40, FailedDeployments: 3, Rework: 2, ReworkRate: f(0.05), Changes: 310, Recovered: 5, Restored: 6}
	prev := fourkeys.Metrics{Window: cur.Window.Previous(), DeploymentsPerDay: f(0.5), LeadTime: d(6 * time.Hour),
		ChangeFailureRate: f(0.02), RecoveryTime: d(2 * time.Hour), ReworkRate: f(0.1)}
	dep := func(id string, ago time.Duration, failed, rework bool) fourkeys.DeploymentLead {
		return fourkeys.DeploymentLead{Deployment: fourkeys.Deployment{ID: id, Service: "api", SHA: "3484a3fb816e", FinishedAt: now.Add(-ago), Author: "ann"},
			LeadTime: d(3 * time.Hour), Changes: 2, Failed: failed, Rework: rework}
	}
	inc := func(id string, resolved time.Duration) fourkeys.Incident {
		return fourkeys.Incident{ID: id, Service: "api", Title: "決済の障害", StartedAt: now.Add(-resolved - time.Hour), ResolvedAt: now.Add(-resolved)}
	}
	rep := &fourkeys.Report{Current: cur, Previous: prev, Trend: make([]fourkeys.Metrics, fourkeys.TrendWeeks),
		Benchmarks: fourkeys.Benchmarks, AttributionWindow: fourkeys.AttributionWindow, PostmortemAfter: 5 * fourkeys.Day,
		Recent: []fourkeys.DeploymentLead{dep("d1", time.Hour, false, true), dep("d2", 3*24*time.Hour, true, false), dep("d3", 9*24*time.Hour, false, false)},
		PostmortemsDue: []fourkeys.PostmortemDue{
			{Incident: inc("i1", 8*24*time.Hour), DueAt: now.Add(-3 * 24 * time.Hour), Overdue: true},
			{Incident: inc("i2", 24*time.Hour), DueAt: now.Add(4 * 24 * time.Hour)},
		}}
	for i := range rep.Trend {
		rep.Trend[i] = cur
	}
	noneDue := *rep
	noneDue.PostmortemsDue, noneDue.PostmortemBusinessDays, noneDue.PostmortemAfter = nil, true, 3*fourkeys.Day
	noFeed := *rep
	noFeed.WithoutIncidentFeed()
	st := func(r *fourkeys.Report) board.TileState {
		return board.TileState{Result: board.Result{FourKeys: r}, UpdatedAt: now, Status: board.StatusWarn}
	}
	b := board.BoardConfig{ID: "ja", Title: "出荷", Locale: "ja"}
	bv := BoardView{Board: b, Theme: "dark", Text: japanese, WSPath: "/boards/ja/ws", Columns: 3}
	for i, c := range []struct {
		kind string
		rep  *fourkeys.Report
	}{{board.KindFourKeys, rep}, {board.KindFourKeys, &noFeed}, {board.KindDeploys, rep}, {board.KindPostmortems, rep}, {board.KindPostmortems, &noneDue}} {
		bv.Tiles = append(bv.Tiles, NewTileView("ja", board.TileConfig{ID: string(rune('a' + i)), Kind: c.kind, Title: "指標"}, st(c.rep), now, japanese))
	}
	render := func(c templ.Component) string {
		var buf bytes.Buffer
		if err := c.Render(context.Background(), &buf); err != nil {
			t.Fatal(err)
		}
		return buf.String()
	}
	retro := &Retro{Since: now.Add(-14 * 24 * time.Hour), Until: now, Deployments: 40, Failed: 3, Rework: 2, AlertsKnown: true, WithAction: 1, WithoutAction: 1,
		Keys:      []RetroKey{{Name: japanese.RetroKeyNames()[0], Now: japanese.PerDay(0.3), Before: japanese.PerDay(2), Arrow: "▼", Worse: true, NowCount: "デプロイ 40 件", BeforeCount: "デプロイ 60 件"}},
		Recent:    []RetroItem{{At: now, Title: "api 3484a3f", State: "rework"}, {At: now, Title: "api 1111111", State: "failed"}, {At: now, Title: "api 2222222", State: "ok"}},
		Incidents: []RetroItem{{At: now, Title: "決済の障害", State: "open"}, {At: now, Title: "検索", State: "due"}, {At: now, Title: "認証", State: "overdue"}, {At: now, Title: "在庫", State: "written"}},
		Alerts:    []RetroAlert{{Policy: "ディスク", Count: 3}, {Policy: "証明書", Count: 1, NextAction: true}},
		SLOs:      []RetroSLO{{Title: "可用性", Known: true, From: 0.8, To: 0.55}, {Title: "遅延"}}, Self: "/boards/ja/retro"}
	rv := bv
	rv.Tiles, rv.Retro = nil, retro
	pages := map[string]string{
		"board": render(Page(PageData{Board: b, Boards: []BoardView{bv}, Now: now, Theme: "dark", Text: japanese})),
		"retro": render(Page(PageData{Board: b, Boards: []BoardView{rv}, Now: now, Theme: "light", Text: japanese})),
	}
	for name, page := range pages {
		text := shownText(page)
		var found []string
		for _, w := range wordRe.FindAllString(text, -1) {
			if en[strings.ToLower(w)] && !strings.Contains(strings.Join(found, " "), w) {
				found = append(found, w)
			}
		}
		found = append(found, unitRe.FindAllString(text, -1)...)
		if len(found) > 0 {
			t.Errorf("Japanese %s page shows English: %q", name, found)
		}
	}
	// What the Japanese tile says, pinned.
	for _, want := range []string{"デプロイ 40 件中 3 件が失敗", "40 件中 2 件が手戻り", "復旧: 障害 5 件の中央値", "30日 でデプロイ 40 件",
		"障害 → 24時間以内の直前のデプロイ", "段階: DORA 2024 年のクラスター", "全障害の復旧: 50分（障害 6 件の中央値）", "失敗デプロイからの復旧時間",
		"3日超過", "あと4日", "解決から5日以内にポストモーテム", "解決から3 営業日以内にポストモーテム", "障害の取得元なし", "2.1 / 週"} {
		if !strings.Contains(shownText(pages["board"]), want) {
			t.Errorf("Japanese board lacks %q", want)
		}
	}
}
