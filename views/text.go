package views

import (
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/wallboard/wallboard/board"
)

// Text is the UI wording of one language.
type Text struct {
	Lang          string
	Demo          string
	Updated       string // "updated %s ago"
	AsOf          string // a fresh tile's data time: "as of %s" (HH:MM)
	JustNow       string // the header while the newest data is under 5 s old
	ConnLost      string // "connection lost since %s"
	Waiting       string
	NoData        string
	NotMeasured   string // a Four Keys figure no feed can measure (no incident feed)
	StaleOld      string // data older than its freshness limit; %s = age
	StaleFailing  string // last poll failed; %s = age of the data shown
	StaleRestored string // restored after restart; %s = age
	FailingSince  string // no data ever and failing; %s = HH:MM
	OK, Warn      string
	Critical      string
	Unknown       string
	DemoHint      string // hover text of the DEMO badge
	// AgeUnits are the units of a short age, seconds to days, comma
	// separated; Sep goes between number and unit ("12 s", "12秒").
	AgeUnits string
	Sep      string

	// Standup view.
	StandupSince string // "Changes since %s"
	SinceClock   string // "since %s" (HH:MM)
	Ago          string // "%s ago"
	Movement     string
	Events       string
	NoEvents     string
	Postmortems  string // heading of the postmortems due on the standup view
	NoMoves      string
	NoValueThen  string // a standup move without a value at the period's start
	Deployment   string
	Incident     string
	Alert        string
	Opened       string
	Resolved     string
	Succeeded    string
	Failed       string
	DateTime     string // Go layout of the period's start
}

// Status is a status in words.
func (t Text) Status(s board.Status) string {
	switch s {
	case board.StatusOK:
		return t.OK
	case board.StatusWarn:
		return t.Warn
	case board.StatusCritical:
		return t.Critical
	}
	return t.Unknown
}

// English and Japanese wording.
var (
	English = Text{
		Lang: "en", Demo: "DEMO", Updated: "updated %s ago", AsOf: "as of %s", JustNow: "updated just now", ConnLost: "connection lost since %s",
		Waiting: "waiting for data", NoData: "no data", NotMeasured: "not measured",
		StaleOld: "stale · %s old", StaleFailing: "source failing · data %s old",
		StaleRestored: "from before restart · %s old", FailingSince: "source failing since %s",
		OK: "ok", Warn: "warning", Critical: "critical", Unknown: "unknown",
		DemoHint: "built-in demo data, not a real system", AgeUnits: "s,m,h,d", Sep: " ",
		StandupSince: "Changes since %s", SinceClock: "since %s", Ago: "%s ago",
		Movement: "Numbers", Events: "What happened", NoEvents: "No deployments, incidents or alerts in this period.", Postmortems: "Postmortems due",
		NoMoves: "No tile has history over this period.", NoValueThen: "no value from then",
		Deployment: "deploy", Incident: "incident", Alert: "alert",
		Opened: "opened", Resolved: "resolved", Succeeded: "done", Failed: "failed",
		DateTime: "Mon 15:04",
	}
	Japanese = Text{
		Lang: "ja", Demo: "デモ", Updated: "%s前に更新", AsOf: "%s時点", JustNow: "たった今更新", ConnLost: "%sから接続が切れています",
		Waiting: "データ待ち", NoData: "データなし", NotMeasured: "未計測",
		StaleOld: "古いデータ · %s前", StaleFailing: "取得失敗 · %s前のデータ",
		StaleRestored: "再起動前のデータ · %s前", FailingSince: "%sから取得失敗",
		OK: "正常", Warn: "警告", Critical: "重大", Unknown: "不明",
		DemoHint: "組み込みのデモデータです（実システムではありません）", AgeUnits: "秒,分,時間,日", Sep: "",
		StandupSince: "%s からの変化", SinceClock: "%s から", Ago: "%s前",
		Movement: "数値", Events: "できごと", NoEvents: "この期間にデプロイ・障害・アラートはありません。", Postmortems: "未作成のポストモーテム",
		NoMoves: "この期間の履歴があるタイルはありません。", NoValueThen: "その時点の値なし",
		Deployment: "デプロイ", Incident: "障害", Alert: "アラート",
		Opened: "発生", Resolved: "解決", Succeeded: "完了", Failed: "失敗",
		DateTime: "1月2日 15:04",
	}
)

// TextFor is the wording for a board's locale.
func TextFor(locale string) Text {
	if locale == "ja" {
		return Japanese
	}
	return English
}

// Age is a short age in this language: "12 s", "4 m", "3 h", "2 d" or
// "12秒", "4分", "3時間", "2日". The page script formats ages the same way
// from data-t-age-units.
func (t Text) Age(d time.Duration) string {
	units := strings.Split(t.AgeUnits, ",")
	if len(units) != 4 {
		units = []string{"s", "m", "h", "d"}
	}
	n, u := 0, units[0]
	switch {
	case d < time.Minute:
		n, u = int(d.Seconds()), units[0]
	case d < time.Hour:
		n, u = int(d.Minutes()), units[1]
	case d < 48*time.Hour:
		n, u = int(d.Hours()), units[2]
	default:
		n, u = int(d.Hours()/24), units[3]
	}
	return strconv.Itoa(max(n, 0)) + t.Sep + u
}

// Duration is a duration in this language: FormatDuration for English,
// "180ミリ秒", "4.2秒", "42分", "5時間20分", "3日4時間" for Japanese.
func (t Text) Duration(d time.Duration) string {
	if t.Lang == "ja" {
		return formatDuration(d, japaneseDuration)
	}
	return FormatDuration(d)
}

// Value formats a value in its unit in this language: durations follow
// Duration; everything else is FormatValue (digits and SI prefixes read the
// same in both languages).
func (t Text) Value(v *float64, unit string) string {
	if v != nil && t.Lang == "ja" && !math.IsNaN(*v) && !math.IsInf(*v, 0) {
		switch unit {
		case "s":
			return t.Duration(time.Duration(*v * float64(time.Second)))
		case "ms":
			return t.Duration(time.Duration(*v * float64(time.Millisecond)))
		}
	}
	return FormatValue(v, unit)
}
