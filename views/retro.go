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

// RefreshTrigger is the htmx trigger of the view's re-fetch: "every 60s"
// (60 s when unset; milliseconds when not whole seconds).
func (r *Retro) RefreshTrigger() string {
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
	Title, Keys, Deploys, Incidents, Alerts       string
	DeploysCount                                  string // "%d deployments, %d failed, %d rework"
	OfCount                                       string // "%d of %d"
	DeploysN, ChangesN, IncidentsN                string // "%d deployments", "%d changes", "%d incidents"
	NoIncidents, NoAlerts, NoAlertFeed, NoDeploys string
	Before                                        string // "before: %s"
	States                                        map[string]string
	Fired                                         string // "%d ×"
	ActionSplit                                   string // "%d with a next action · %d without"
	HasAction, NoAction                           string
	Names                                         [5]string
	SLO, SLOSpent, NoSLOThen                      string // heading, "%s spent (%s → %s)", no value from then
}

var retroText = map[string]retroWords{
	"en": {Title: "Retrospective · %s – %s", Keys: "Four Keys against the period before", Deploys: "Deployments",
		Incidents: "Incidents and postmortems", Alerts: "Alerts that fired (noisiest first)",
		DeploysCount: "%d deployments · %d failed · %d rework", OfCount: "%d of %d",
		DeploysN: "%d deployments", ChangesN: "%d changes", IncidentsN: "%d incidents", NoIncidents: "No incidents in this period.",
		NoAlerts: "No alert fired in this period.", NoAlertFeed: "No alert feed on this board.", NoDeploys: "No deployments in this period.",
		Before: "before: %s", Fired: "%d ×", ActionSplit: "%d with a next action · %d without",
		HasAction: "next action", NoAction: "no next action",
		States: map[string]string{"open": "open", "written": "postmortem written", "due": "postmortem due",
			"overdue": "postmortem overdue", "ok": "ok", "failed": "failed", "rework": "rework"},
		SLO: "SLO error budget spent", SLOSpent: "%s spent (%s → %s)", NoSLOThen: "no value from then",
		Names: [5]string{"Deployments", "Lead time", "Change failure rate", "Failed deployment recovery time", "Rework rate"}},
	"ja": {Title: "ふりかえり · %s – %s", Keys: "Four Keys（前の期間との比較）", Deploys: "デプロイ",
		Incidents: "障害とポストモーテム", Alerts: "発火したアラート（多い順）",
		DeploysCount: "デプロイ %d 件 · 失敗 %d 件 · 手戻り %d 件", OfCount: "%[2]d 件中 %[1]d 件",
		DeploysN: "デプロイ %d 件", ChangesN: "変更 %d 件", IncidentsN: "障害 %d 件", NoIncidents: "この期間に障害はありません。",
		NoAlerts: "この期間に発火したアラートはありません。", NoAlertFeed: "このボードにはアラートの取得元がありません。", NoDeploys: "この期間にデプロイはありません。",
		Before: "前: %s", Fired: "%d 回", ActionSplit: "次の対応あり %d · なし %d",
		HasAction: "次の対応あり", NoAction: "次の対応なし",
		States: map[string]string{"open": "対応中", "written": "ポストモーテム済み", "due": "ポストモーテム待ち",
			"overdue": "ポストモーテム期限切れ", "ok": "成功", "failed": "失敗", "rework": "手戻り"},
		SLO: "SLO エラーバジェット消費", SLOSpent: "%s 消費（%s → %s）", NoSLOThen: "その時点の値がありません",
		Names: [5]string{"デプロイ頻度", "リードタイム", "変更失敗率", "失敗デプロイからの復旧時間", "手戻り率"}},
}

func retroWordsOf(t Text) retroWords {
	if w, ok := retroText[t.Lang]; ok {
		return w
	}
	return retroText["en"]
}

// RetroTitle is the heading: the period.
func (t Text) RetroTitle(r *Retro) string {
	return fmt.Sprintf(retroWordsOf(t).Title, r.Since.Format("2006-01-02"), r.Until.Format("2006-01-02"))
}

// RetroWords gives the templates the wording.
func (t Text) RetroWords() retroWords { return retroWordsOf(t) }

// RetroKeyNames are the Four Keys names in this language, in DORA order.
func (t Text) RetroKeyNames() [5]string { return retroWordsOf(t).Names }

// RetroBefore is a figure's comparison with the period before: the arrow,
// the value before and its count ("▼ before: 3.4 / day (24 deployments)").
func (t Text) RetroBefore(k RetroKey) string {
	s := strings.TrimSpace(k.Arrow + " " + fmt.Sprintf(retroWordsOf(t).Before, k.Before))
	if k.BeforeCount != "" {
		s += " (" + k.BeforeCount + ")"
	}
	return s
}

// RetroState is an item's state in words.
func (t Text) RetroState(s string) string { return retroWordsOf(t).States[s] }

// RetroActionText says whether an alert policy had a next action.
func (t Text) RetroActionText(has bool) string {
	if has {
		return retroWordsOf(t).HasAction
	}
	return retroWordsOf(t).NoAction
}

// RetroSLOText is an SLO line: the budget spent in percentage points of the
// whole budget, and the remaining budget at the start and now.
func (t Text) RetroSLOText(s RetroSLO) string {
	w := retroWordsOf(t)
	if !s.Known {
		return w.NoSLOThen
	}
	pct := func(f float64) string { return fmt.Sprintf("%.0f%%", f*100) }
	return fmt.Sprintf(w.SLOSpent, pct(s.From-s.To), pct(s.From), pct(s.To))
}
