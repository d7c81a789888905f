package views

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/wallboard/wallboard/board"
	"github.com/wallboard/wallboard/fourkeys"
)

// KeyCell is one of the four keys as the panel shows it.
type KeyCell struct {
	Name string // "Deploys", "Lead time", … (short, for the tile)
	// Long is the full DORA name when Name abbreviates it.
	Long  string
	Value string // "3.4 / day", "5 h 20 m", "4 %", "42 m"; "no data"
	Tier  string // elite, high, medium, low; "" without data
	Delta string // change against the previous window, "" when not comparable
	// Better/Worse colour the delta (the arrow and sign say it in shape too).
	Better, Worse bool
	Spark         Spark
	// Count is the count behind the figure: "3 of 40 deployments failed".
	Count string
	// NoTier: the figure has no tier (rework rate; benchmarks: none).
	NoTier bool
	// TierWord is Tier in the tile's language ("" for the English word).
	TierWord string
}

// FullName is the metric's full name (the tooltip of its label).
func (c KeyCell) FullName() string {
	if c.Long != "" {
		return c.Long
	}
	return c.Name
}

// TierText is the tier word shown on the badge, in the tile's language.
func (c KeyCell) TierText() string {
	if c.Tier == "" {
		return "–"
	}
	if c.TierWord != "" {
		return c.TierWord
	}
	return c.Tier
}

// TierClass styles the badge; the word is always there too.
func (c KeyCell) TierClass() string {
	t := c.Tier
	if t == "" {
		t = "none"
	}
	return "tier tier-" + t
}

// DeltaClass styles the delta line.
func (c KeyCell) DeltaClass() string {
	switch {
	case c.Worse:
		return "key-delta worse"
	case c.Better:
		return "key-delta better"
	}
	return "key-delta"
}

// Report is the tile's Four Keys report, nil before the first poll.
func (v TileView) Report() *fourkeys.Report { return v.State.FourKeys }

// FormatPerDay renders a deployment rate: "3.4 / day", or "2.1 / week" below one a day.
func FormatPerDay(perDay float64) string {
	x, per := fourkeys.Frequency(perDay)
	return sig(x) + " / " + per
}

// FormatRatio renders a change failure rate: "4 %", "12.5 %".
func FormatRatio(r float64) string { return sig(r*100) + " %" }

// KeysFootnote says how the figures are made: the tier table and its year
// (or none), the attribution window, the window, and the restore time of all
// incidents beside the recovery time of the failed deployments.
func (v TileView) KeysFootnote() string {
	r := v.Report()
	if r == nil {
		return ""
	}
	w := v.Text.keys()
	tiers := w.NoTiers
	if r.Benchmarks != "" {
		name := w.Benchmarks[r.Benchmarks]
		if name == "" {
			name = r.Benchmarks
		}
		tiers = fmt.Sprintf(w.TiersOf, name)
	}
	att := r.AttributionWindow
	if att == 0 {
		att = fourkeys.AttributionWindow
	}
	within := v.Text.Window(att)
	if att%time.Hour == 0 && att < 2*fourkeys.Day {
		within = v.Text.Age(att) // "24 h", not "1 d"
	}
	s := tiers + " · " + fmt.Sprintf(w.Within, within) + " · " + fmt.Sprintf(w.WindowOf, v.Text.Window(r.Current.Window.End.Sub(r.Current.Window.Start)))
	if !r.NoIncidentFeed && r.Current.TimeToRestore != nil {
		n := r.Current.Restored
		s += " · " + count(n, w.Restore, w.Restore1, v.Text.Duration(*r.Current.TimeToRestore), n)
	}
	return s
}

// KeyCells are the delivery metrics of the tile's report: throughput
// (deploys, lead time, failed deployment recovery time), then instability
// (change failures, rework), each with the count behind it.
func (v TileView) KeyCells() []KeyCell {
	r := v.Report()
	if r == nil {
		return nil
	}
	t, w := v.Text, v.Text.keys()
	cur, prev := r.Current, r.Previous
	window := t.Window(cur.Window.End.Sub(cur.Window.Start))
	versus := fmt.Sprintf(w.Versus, window)
	df := KeyCell{Tier: string(fourkeys.FrequencyTier(cur.DeploymentsPerDay))}
	if cur.DeploymentsPerDay != nil {
		df.Value = t.PerDay(*cur.DeploymentsPerDay)
		if prev.DeploymentsPerDay != nil {
			d := *cur.DeploymentsPerDay - *prev.DeploymentsPerDay
			x, per := fourkeys.Frequency(math.Max(*cur.DeploymentsPerDay, *prev.DeploymentsPerDay))
			scale := x / math.Max(*cur.DeploymentsPerDay, *prev.DeploymentsPerDay)
			if math.IsNaN(scale) || math.IsInf(scale, 0) {
				scale = 1
			}
			unit := w.Day
			if per == "week" {
				unit = w.Week
			}
			df.Delta = arrow(d) + " " + signed(sig(math.Abs(d*scale)), d) + " / " + unit + " " + versus
			df.Better, df.Worse = d > 0, d < 0
		}
	}
	lt := durationCell(t, cur.LeadTime, prev.LeadTime, fourkeys.LeadTimeTier(cur.LeadTime), versus)
	cfr := KeyCell{Tier: string(fourkeys.FailureRateTier(cur.ChangeFailureRate))}
	if cur.ChangeFailureRate != nil {
		cfr.Value = FormatRatio(*cur.ChangeFailureRate)
		if prev.ChangeFailureRate != nil {
			d := *cur.ChangeFailureRate - *prev.ChangeFailureRate
			cfr.Delta = arrow(d) + " " + signed(sig(math.Abs(d*100)), d) + w.Pts + " " + versus
			cfr.Better, cfr.Worse = d < 0, d > 0
		}
	}
	ttr := durationCell(t, cur.RecoveryTime, prev.RecoveryTime, fourkeys.RestoreTier(cur.RecoveryTime), versus)
	rw := KeyCell{NoTier: true}
	if cur.ReworkRate != nil {
		rw.Value = FormatRatio(*cur.ReworkRate)
		if prev.ReworkRate != nil {
			d := *cur.ReworkRate - *prev.ReworkRate
			rw.Delta = arrow(d) + " " + signed(sig(math.Abs(d*100)), d) + w.Pts + " " + versus
			rw.Better, rw.Worse = d < 0, d > 0
		}
	}
	df.Count = count(cur.Deployments, w.DeploysIn, w.DeploysIn1, cur.Deployments, window)
	lt.Count = count(cur.Changes, w.Changes, w.Changes1, cur.Changes)
	if cur.Deployments > 0 {
		cfr.Count = count(cur.Deployments, w.FailedOf, w.FailedOf1, cur.FailedDeployments, cur.Deployments)
		rw.Count = count(cur.Rework, w.ReworkOf, w.ReworkOf1, cur.Rework, cur.Deployments)
	}
	ttr.Count = count(cur.Recovered, w.Recovery, w.Recovery1, cur.Recovered)

	var pdf, plt, pcfr, pttr, prw []board.Point
	for _, m := range r.Trend {
		t := m.Window.End
		if m.DeploymentsPerDay != nil {
			pdf = append(pdf, board.Point{T: t, V: *m.DeploymentsPerDay})
		}
		if m.LeadTime != nil {
			plt = append(plt, board.Point{T: t, V: m.LeadTime.Seconds()})
		}
		if m.ChangeFailureRate != nil {
			pcfr = append(pcfr, board.Point{T: t, V: *m.ChangeFailureRate})
		}
		if m.RecoveryTime != nil {
			pttr = append(pttr, board.Point{T: t, V: m.RecoveryTime.Seconds()})
		}
		if m.ReworkRate != nil {
			prw = append(prw, board.Point{T: t, V: *m.ReworkRate})
		}
	}
	// Each figure's own 12-week trend; services are never ranked.
	df.Spark, lt.Spark, cfr.Spark, ttr.Spark, rw.Spark = SparkOf(pdf), SparkOf(plt), SparkOf(pcfr), SparkOf(pttr), SparkOf(prw)
	if r.NoIncidentFeed {
		cfr.Value, ttr.Value, rw.Value = t.NotMeasured, t.NotMeasured, t.NotMeasured
		cfr.Count, ttr.Count, rw.Count = w.NoFeed, w.NoFeed, w.NoFeed
	}
	cells := []KeyCell{df, lt, cfr, ttr, rw}
	for i := range cells {
		cells[i].Name, cells[i].Long = w.Names[i], w.Long[i]
		if cells[i].Value == "" {
			cells[i].Value = t.NoData
		}
		if r.Benchmarks == "" {
			cells[i].NoTier, cells[i].Tier = true, ""
		}
		if cells[i].Tier != "" && t.Lang != "en" {
			cells[i].TierWord = w.Tiers[fourkeys.Tier(cells[i].Tier)]
		}
	}
	return cells
}

// durationCell is a median duration in t's language, with its change
// against the previous window ("vs previous 30 d").
func durationCell(t Text, cur, prev *time.Duration, tier fourkeys.Tier, versus string) KeyCell {
	c := KeyCell{Tier: string(tier)}
	if cur == nil {
		return c
	}
	c.Value = t.Duration(*cur)
	if prev != nil {
		d := *cur - *prev
		c.Delta = arrow(float64(d)) + " " + signed(t.Duration(d.Abs()), float64(d)) + " " + versus
		c.Better, c.Worse = d < 0, d > 0
	}
	return c
}

func arrow(d float64) string {
	switch {
	case d > 0:
		return "▲"
	case d < 0:
		return "▼"
	}
	return "="
}

func signed(s string, d float64) string {
	switch {
	case d > 0:
		return "+" + s
	case d < 0:
		return "−" + s
	}
	return s
}

// DeployRow is one line of the deploy feed.
type DeployRow struct {
	Service, SHA, Who, When, Lead string
	Failed                        bool
	Rework                        bool   // made because of an incident
	Title                         string // full detail for the tooltip
}

// DeployRows are the latest deployments, newest first, at most the tile's limit.
func (v TileView) DeployRows() []DeployRow {
	r := v.Report()
	if r == nil {
		return nil
	}
	var out []DeployRow
	for _, d := range r.Recent[:min(len(r.Recent), v.listLimit())] {
		w := v.Text.keys()
		row := DeployRow{Service: d.Service, SHA: shortSHA(d.SHA), Who: d.Author, When: fmt.Sprintf(w.Ago, v.Text.Age(v.Now.Sub(d.FinishedAt))), Lead: "–", Failed: d.Failed, Rework: d.Rework}
		if d.LeadTime != nil {
			row.Lead = v.Text.Duration(*d.LeadTime)
		}
		if row.Who == "" {
			row.Who = "–"
		}
		row.Title = fmt.Sprintf(w.DeployTitle, d.Service, d.SHA, row.Who, d.FinishedAt.UTC().Format("2006-01-02 15:04 MST"), row.Lead, d.Changes)
		if d.Rework {
			row.Title += w.ReworkNote
		}
		out = append(out, row)
	}
	return out
}

func shortSHA(s string) string {
	if len(s) > 7 && isHexString(s) {
		return s[:7]
	}
	return s
}

func isHexString(s string) bool {
	return strings.Trim(strings.ToLower(s), "0123456789abcdef") == ""
}

// PostmortemRow is one incident whose postmortem is due.
type PostmortemRow struct {
	Title, Service, Resolved, URL string
	Due                           string // "due in 3 d", "overdue by 2 d"
	Overdue                       bool   // past its due time
}

// PostmortemRows are the resolved incidents without a recorded postmortem,
// oldest first.
func (v TileView) PostmortemRows() []PostmortemRow {
	r := v.Report()
	if r == nil {
		return nil
	}
	var out []PostmortemRow
	for _, in := range r.PostmortemsDue[:min(len(r.PostmortemsDue), v.listLimit())] {
		title := in.Title
		if title == "" {
			title = in.ID
		}
		age := v.Now.Sub(in.ResolvedAt)
		w := v.Text.keys()
		row := PostmortemRow{Title: title, Service: in.Service, URL: in.URL,
			Resolved: fmt.Sprintf(w.Resolved, v.Text.Age(age)), Overdue: in.Overdue}
		if in.Overdue {
			row.Due = fmt.Sprintf(w.Overdue, v.Text.Age(v.Now.Sub(in.DueAt)))
		} else {
			row.Due = fmt.Sprintf(w.DueIn, v.Text.left(in.DueAt.Sub(v.Now)))
		}
		out = append(out, row)
	}
	return out
}

// PostmortemsNone is what the tile says when nothing is due.
func (v TileView) PostmortemsNone() string {
	r := v.Report()
	if r == nil {
		return v.Text.NoData
	}
	return fmt.Sprintf(v.Text.keys().NoneDue, v.PostmortemRule())
}

// PostmortemRule says the due rule: "postmortem within 5 d of resolution",
// "… within 3 business days …".
func (v TileView) PostmortemRule() string {
	r := v.Report()
	if r == nil {
		return ""
	}
	w := v.Text.keys()
	within := v.Text.Window(r.PostmortemAfter)
	if r.PostmortemBusinessDays {
		within = fmt.Sprintf(w.BusinessDays, r.PostmortemAfter/fourkeys.Day)
	}
	return fmt.Sprintf(w.Rule, within)
}

// PostmortemsCount is the headline: how many are due.
func (v TileView) PostmortemsCount() string {
	r := v.Report()
	if r == nil {
		return ""
	}
	w := v.Text.keys()
	n := len(r.PostmortemsDue)
	s := fmt.Sprintf(w.Due, n)
	if o := r.PostmortemsOverdue(); o > 0 {
		s += fmt.Sprintf(w.OverdueN, o)
	}
	return s
}

// PostmortemsDueOf lists the postmortems due on the postmortems tiles of a
// board (for the standup view), each incident once, oldest first as the
// tiles list them.
func PostmortemsDueOf(tiles []TileView) []PostmortemRow {
	var out []PostmortemRow
	seen := map[string]bool{}
	for _, v := range tiles {
		r := v.Report()
		if v.Cfg.Kind != board.KindPostmortems || r == nil {
			continue
		}
		rows := v.PostmortemRows()
		for i, in := range r.PostmortemsDue {
			if i >= len(rows) || seen[in.ID] {
				continue
			}
			seen[in.ID] = true
			out = append(out, rows[i])
		}
	}
	return out
}

// left is a time left until a deadline in t's language, rounded up to the
// unit shown (2 d 23 h left reads "due in 3 d", not "2 d"); under an hour
// as Age.
func (t Text) left(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return t.Age((d + fourkeys.Day - 1) / fourkeys.Day * fourkeys.Day)
	case d >= time.Hour:
		return t.Age((d + time.Hour - 1) / time.Hour * time.Hour)
	}
	return t.Age(d)
}

// The Four Keys tiles' words, in each language the board may speak.

// keysWords is the wording of the Four Keys tiles (fourkeys, deploys,
// postmortems) in one language. Counts are formatted with fmt; a Japanese
// string may reorder its arguments (%[2]d).
type keysWords struct {
	// Short names on the tile and the full DORA names of their tooltips,
	// in tile order: deployments, lead time, change failures, failed
	// deployment recovery, rework.
	Names, Long [5]string
	Tiers       map[fourkeys.Tier]string
	Day, Week   string // "day", "week": deployment rates per
	Pts         string // " pts": a change of a rate in percentage points
	Versus      string // "vs previous %s" (a window)
	// Counts: each "…1" form is the singular, with the same arguments.
	DeploysIn  string // "%d deployments in %s" (deployments, window)
	DeploysIn1 string
	Changes    string // "median of %d changes"
	Changes1   string
	FailedOf   string // "%d of %d deployments failed" (failed, deployments)
	FailedOf1  string // one deployment
	ReworkOf   string // "%d of %d were rework" (rework, deployments)
	ReworkOf1  string // one rework
	Recovery   string // "recovery: median of %d incidents"
	Recovery1  string
	NoFeed     string // no incident feed
	// Footnote parts.
	TiersOf, NoTiers, Within, WindowOf, Restore, Restore1 string
	Benchmarks                                            map[string]string // the tier table's name
	// Deploy feed.
	Ago, LeadTime, DeployTitle, ReworkNote string
	// Postmortems.
	Resolved, Overdue, DueIn, NoneDue, Rule, BusinessDays, Due, OverdueN string
	// WindowDays is a window of whole days ("30 d", "30日").
	WindowDays string
}

var keysText = map[string]keysWords{
	"en": {
		Names: [5]string{"Deploys", "Lead time", "Change failures", "Failed deploy recovery", "Rework"},
		Long:  [5]string{"Deployment frequency", "Lead time for changes", "Change failure rate", "Failed deployment recovery time", "Deployment rework rate"},
		Tiers: map[fourkeys.Tier]string{fourkeys.TierElite: "elite", fourkeys.TierHigh: "high", fourkeys.TierMedium: "medium", fourkeys.TierLow: "low"},
		Day:   "day", Week: "week", Pts: " pts", Versus: "vs previous %s",
		DeploysIn: "%d deployments in %s", DeploysIn1: "%d deployment in %s",
		Changes: "median of %d changes", Changes1: "median of %d change",
		FailedOf: "%d of %d deployments failed", FailedOf1: "%d of %d deployment failed",
		ReworkOf: "%d of %d were rework", ReworkOf1: "%d of %d was rework",
		Recovery: "recovery: median of %d incidents", Recovery1: "recovery: median of %d incident",
		NoFeed:  "no incident feed",
		TiersOf: "tiers: %s", NoTiers: "no benchmark tiers", Within: "incident → deployment within %s before", WindowOf: "%s window",
		Restore: "restore, all incidents: %s, median of %d incidents", Restore1: "restore, all incidents: %s, median of %d incident",
		Benchmarks: map[string]string{fourkeys.Benchmarks: fourkeys.Benchmarks},
		Ago:        "%s ago", LeadTime: "lead time", DeployTitle: "%s %s by %s at %s (lead time %s, %d changes)", ReworkNote: "; rework: made because of an incident",
		Resolved: "resolved %s ago", Overdue: "overdue by %s", DueIn: "due in %s", NoneDue: "✓ no postmortem due · %s",
		Rule: "postmortem within %s of resolution", BusinessDays: "%d business days", Due: "%d due", OverdueN: " · %d overdue",
		WindowDays: "%d d",
	},
	"ja": {
		Names: [5]string{"デプロイ頻度", "リードタイム", "変更失敗率", "失敗デプロイ復旧", "手戻り率"},
		Long:  [5]string{"デプロイ頻度", "変更のリードタイム", "変更失敗率", "失敗デプロイからの復旧時間", "デプロイ手戻り率"},
		Tiers: map[fourkeys.Tier]string{fourkeys.TierElite: "エリート", fourkeys.TierHigh: "高", fourkeys.TierMedium: "中", fourkeys.TierLow: "低"},
		Day:   "日", Week: "週", Pts: " ポイント", Versus: "前の%sと比べて",
		DeploysIn: "%[2]s でデプロイ %[1]d 件", DeploysIn1: "%[2]s でデプロイ %[1]d 件",
		Changes: "変更 %d 件の中央値", Changes1: "変更 %d 件の中央値",
		FailedOf: "デプロイ %[2]d 件中 %[1]d 件が失敗", FailedOf1: "デプロイ %[2]d 件中 %[1]d 件が失敗",
		ReworkOf: "%[2]d 件中 %[1]d 件が手戻り", ReworkOf1: "%[2]d 件中 %[1]d 件が手戻り",
		Recovery: "復旧: 障害 %d 件の中央値", Recovery1: "復旧: 障害 %d 件の中央値",
		NoFeed:  "障害の取得元なし",
		TiersOf: "段階: %s", NoTiers: "段階評価なし", Within: "障害 → %s以内の直前のデプロイ", WindowOf: "集計 %s",
		Restore: "全障害の復旧: %s（障害 %d 件の中央値）", Restore1: "全障害の復旧: %s（障害 %d 件）",
		Benchmarks: map[string]string{fourkeys.Benchmarks: "DORA 2024 年のクラスター"},
		Ago:        "%s前", LeadTime: "リードタイム", DeployTitle: "%s %s（%s、%s、リードタイム %s、変更 %d 件）", ReworkNote: "、手戻り: 障害のためのデプロイ",
		Resolved: "%s前に解決", Overdue: "%s超過", DueIn: "あと%s", NoneDue: "✓ 期限内のポストモーテムなし · %s",
		Rule: "解決から%s以内にポストモーテム", BusinessDays: "%d 営業日", Due: "未作成 %d 件", OverdueN: " · 期限切れ %d 件",
		WindowDays: "%d日",
	},
}

// keys is the Four Keys wording of t's language (English by default).
func (t Text) keys() keysWords {
	if w, ok := keysText[t.Lang]; ok {
		return w
	}
	return keysText["en"]
}

// PerDay renders a deployment rate in this language: "3.4 / day",
// "2.1 / week"; "3.4 / 日", "2.1 / 週".
func (t Text) PerDay(perDay float64) string {
	x, per := fourkeys.Frequency(perDay)
	w := t.keys()
	if per == "week" {
		return sig(x) + " / " + w.Week
	}
	return sig(x) + " / " + w.Day
}

// Window renders a window length: "30 d", "12 h"; "30日", "12時間".
func (t Text) Window(d time.Duration) string {
	if d%fourkeys.Day == 0 {
		return fmt.Sprintf(t.keys().WindowDays, d/fourkeys.Day)
	}
	return t.Duration(d)
}

// count picks the singular form for n == 1; both take the same args.
func count(n int, many, one string, args ...any) string {
	if n == 1 {
		return fmt.Sprintf(one, args...)
	}
	return fmt.Sprintf(many, args...)
}
