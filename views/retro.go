package views

import (
	"fmt"
	"strings"
	"time"
)

// Retro is the retrospective view of a board (KPT every two weeks): what
// happened since the last retro, and each Four Keys figure against the
// period before. It is rendered on the server and re-fetched every minute.
type Retro struct {
	Since, Until time.Time
	Keys         []RetroKey
	Deployments  int
	Failed       int
	Rework       int         // deployments of the period that were rework (fourkeys)
	Recent       []RetroItem // deployments, newest first
	Incidents    []RetroItem // incidents of the period, with their postmortem state
	Alerts       []RetroAlert
	// AlertsKnown is false when no alert feed is stored (no alert source).
	AlertsKnown bool
	// WithAction and WithoutAction count the policies that fired with and
	// without a next action (over all that fired, not only those listed).
	WithAction, WithoutAction int
	// Self is the view's own URL (path and query; in a playlist the
	// board's retro URL): the view re-fetches it every Refresh and swaps
	// its main section in, so a retro left on a screen stays live without
	// a reload or an inline script.
	Self string
	// Refresh is how often the view re-fetches itself (the board's
	// retro.refresh, default 60 s).
	Refresh time.Duration
	// SLOs are the board's SLO budget tiles with the budget spent in the
	// period (from the stored tile history).
	SLOs []RetroSLO
}

// RetroSLO is one SLO budget tile: the remaining budget at the period's
// start and now (fractions, 1 = untouched), and the spent difference.
type RetroSLO struct {
	Title string
	// Known: the store holds a value from the period's start and from now.
	Known    bool
	From, To float64
}

// refreshTrigger is the htmx trigger of the view's re-fetch: "every 60s"
// (60 s when unset; milliseconds when not whole seconds).
func (r *Retro) refreshTrigger() string {
	d := r.Refresh
	if d <= 0 {
		d = time.Minute
	}
	if d%time.Second == 0 {
		return fmt.Sprintf("every %ds", d/time.Second)
	}
	return fmt.Sprintf("every %dms", d.Milliseconds())
}

// RetroKey is one Four Keys figure now and in the period before.
type RetroKey struct {
	Name, Now, Before string
	// NowCount and BeforeCount are the counts behind the figures, e.g.
	// "3 of 40" for a rate, "12 changes" for a median.
	NowCount, BeforeCount string
	Arrow                 string // ▲ ▼ = or "" when not comparable
	Worse, Better         bool
}

// RetroItem is a deployment or an incident.
type RetroItem struct {
	At     time.Time
	Title  string
	Detail string
	State  string // incidents: open, written, due, overdue; deployments: ok, failed
}

// RetroAlert is an alert policy that fired in the period and how often.
type RetroAlert struct {
	Policy     string
	Count      int
	NextAction bool // an alert of the policy carried a next action
}

// retroWords is the retro view's wording in one language.
type retroWords struct {
	title, keys, deploys, incidents, alerts       string
	deploysCount                                  string // "%d deployments, %d failed, %d rework"
	OfCount                                       string // "%d of %d"
	DeploysN, ChangesN, IncidentsN                string // "%d deployments", "%d changes", "%d incidents"
	noIncidents, noAlerts, noAlertFeed, noDeploys string
	before                                        string // "before: %s"
	states                                        map[string]string
	fired                                         string // "%d ×"
	actionSplit                                   string // "%d with a next action · %d without"
	hasAction, noAction                           string
	names                                         [5]string
	slo, sloSpent, noSLOThen                      string // heading, "%s spent (%s → %s)", no value from then
}

var retroText = map[string]retroWords{
	"en": {title: "Retrospective · %s – %s", keys: "Four Keys against the period before", deploys: "Deployments",
		incidents: "Incidents and postmortems", alerts: "Alerts that fired (noisiest first)",
		deploysCount: "%d deployments · %d failed · %d rework", OfCount: "%d of %d",
		DeploysN: "%d deployments", ChangesN: "%d changes", IncidentsN: "%d incidents", noIncidents: "No incidents in this period.",
		noAlerts: "No alert fired in this period.", noAlertFeed: "No alert feed on this board.", noDeploys: "No deployments in this period.",
		before: "before: %s", fired: "%d ×", actionSplit: "%d with a next action · %d without",
		hasAction: "next action", noAction: "no next action",
		states: map[string]string{"open": "open", "written": "postmortem written", "due": "postmortem due",
			"overdue": "postmortem overdue", "ok": "ok", "failed": "failed", "rework": "rework"},
		slo: "SLO error budget spent", sloSpent: "%s spent (%s → %s)", noSLOThen: "no value from then",
		names: [5]string{"Deployments", "Lead time", "Change failure rate", "Failed deployment recovery time", "Rework rate"}},
	"ja": {title: "ふりかえり · %s – %s", keys: "Four Keys（前の期間との比較）", deploys: "デプロイ",
		incidents: "障害とポストモーテム", alerts: "発火したアラート（多い順）",
		deploysCount: "デプロイ %d 件 · 失敗 %d 件 · 手戻り %d 件", OfCount: "%[2]d 件中 %[1]d 件",
		DeploysN: "デプロイ %d 件", ChangesN: "変更 %d 件", IncidentsN: "障害 %d 件", noIncidents: "この期間に障害はありません。",
		noAlerts: "この期間に発火したアラートはありません。", noAlertFeed: "このボードにはアラートの取得元がありません。", noDeploys: "この期間にデプロイはありません。",
		before: "前: %s", fired: "%d 回", actionSplit: "次の対応あり %d · なし %d",
		hasAction: "次の対応あり", noAction: "次の対応なし",
		states: map[string]string{"open": "対応中", "written": "ポストモーテム済み", "due": "ポストモーテム待ち",
			"overdue": "ポストモーテム期限切れ", "ok": "成功", "failed": "失敗", "rework": "手戻り"},
		slo: "SLO エラーバジェット消費", sloSpent: "%s 消費（%s → %s）", noSLOThen: "その時点の値がありません",
		names: [5]string{"デプロイ頻度", "リードタイム", "変更失敗率", "失敗デプロイからの復旧時間", "手戻り率"}},
}

func retroWordsOf(t Text) retroWords {
	if w, ok := retroText[t.lang]; ok {
		return w
	}
	return retroText["en"]
}

// retroTitle is the heading: the period.
func (t Text) retroTitle(r *Retro) string {
	return fmt.Sprintf(retroWordsOf(t).title, r.Since.Format("2006-01-02"), r.Until.Format("2006-01-02"))
}

// RetroWords gives the templates the wording.
func (t Text) RetroWords() retroWords { return retroWordsOf(t) }

// RetroKeyNames are the Four Keys names in this language, in DORA order.
func (t Text) RetroKeyNames() [5]string { return retroWordsOf(t).names }

// retroBefore is a figure's comparison with the period before: the arrow,
// the value before and its count ("▼ before: 3.4 / day (24 deployments)").
func (t Text) retroBefore(k RetroKey) string {
	s := strings.TrimSpace(k.Arrow + " " + fmt.Sprintf(retroWordsOf(t).before, k.Before))
	if k.BeforeCount != "" {
		s += " (" + k.BeforeCount + ")"
	}
	return s
}

// retroState is an item's state in words.
func (t Text) retroState(s string) string { return retroWordsOf(t).states[s] }

// retroActionText says whether an alert policy had a next action.
func (t Text) retroActionText(has bool) string {
	if has {
		return retroWordsOf(t).hasAction
	}
	return retroWordsOf(t).noAction
}

// retroSLOText is an SLO line: the budget spent in percentage points of the
// whole budget, and the remaining budget at the start and now.
func (t Text) retroSLOText(s RetroSLO) string {
	w := retroWordsOf(t)
	if !s.Known {
		return w.noSLOThen
	}
	pct := func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) }
	return fmt.Sprintf(w.sloSpent, pct(s.From-s.To), pct(s.From), pct(s.To))
}
