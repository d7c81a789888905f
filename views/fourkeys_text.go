package views

import (
	"fmt"
	"time"

	"github.com/wallboard/wallboard/fourkeys"
)

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
