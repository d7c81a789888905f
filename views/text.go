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
	lang          string
	demo          string
	updated       string // "updated %s ago"
	asOf          string // a fresh tile's data time: "as of %s" (HH:MM)
	justNow       string // the header while the newest data is under 5 s old
	connLost      string // "connection lost since %s"
	waiting       string
	NoData        string
	notMeasured   string // a Four Keys figure no feed can measure (no incident feed)
	staleOld      string // data older than its freshness limit; %s = age
	staleFailing  string // last poll failed; %s = age of the data shown
	staleRestored string // restored after restart; %s = age
	failingSince  string // no data ever and failing; %s = HH:MM
	ok, warn      string
	critical      string
	unknown       string
	demoHint      string // hover text of the DEMO badge
	// ageUnits are the units of a short age, seconds to days, comma
	// separated; sep goes between number and unit ("12 s", "12秒").
	ageUnits string
	sep      string

	// Standup view.
	standupSince string // "Changes since %s"
	sinceClock   string // "since %s" (HH:MM)
	ago          string // "%s ago"
	movement     string
	events       string
	noEvents     string
	postmortems  string // heading of the postmortems due on the standup view
	noMoves      string
	noValueThen  string // a standup move without a value at the period's start
	deployment   string
	incident     string
	alert        string
	opened       string
	resolved     string
	succeeded    string
	failed       string
	dateTime     string // Go layout of the period's start
}

// status is a status in words.
func (t Text) status(s board.Status) string {
	switch s {
	case board.StatusOK:
		return t.ok
	case board.StatusWarn:
		return t.warn
	case board.StatusCritical:
		return t.critical
	}
	return t.unknown
}

// English and Japanese wording.
var (
	English = Text{
		lang: "en", demo: "DEMO", updated: "updated %s ago", asOf: "as of %s", justNow: "updated just now", connLost: "connection lost since %s",
		waiting: "waiting for data", NoData: "no data", notMeasured: "not measured",
		staleOld: "stale · %s old", staleFailing: "source failing · data %s old",
		staleRestored: "from before restart · %s old", failingSince: "source failing since %s",
		ok: "ok", warn: "warning", critical: "critical", unknown: "unknown",
		demoHint: "built-in demo data, not a real system", ageUnits: "s,m,h,d", sep: " ",
		standupSince: "Changes since %s", sinceClock: "since %s", ago: "%s ago",
		movement: "Numbers", events: "What happened", noEvents: "No deployments, incidents or alerts in this period.", postmortems: "Postmortems due",
		noMoves: "No tile has history over this period.", noValueThen: "no value from then",
		deployment: "deploy", incident: "incident", alert: "alert",
		opened: "opened", resolved: "resolved", succeeded: "done", failed: "failed",
		dateTime: "Mon 15:04",
	}
	japanese = Text{
		lang: "ja", demo: "デモ", updated: "%s前に更新", asOf: "%s時点", justNow: "たった今更新", connLost: "%sから接続が切れています",
		waiting: "データ待ち", NoData: "データなし", notMeasured: "未計測",
		staleOld: "古いデータ · %s前", staleFailing: "取得失敗 · %s前のデータ",
		staleRestored: "再起動前のデータ · %s前", failingSince: "%sから取得失敗",
		ok: "正常", warn: "警告", critical: "重大", unknown: "不明",
		demoHint: "組み込みのデモデータです（実システムではありません）", ageUnits: "秒,分,時間,日", sep: "",
		standupSince: "%s からの変化", sinceClock: "%s から", ago: "%s前",
		movement: "数値", events: "できごと", noEvents: "この期間にデプロイ・障害・アラートはありません。", postmortems: "未作成のポストモーテム",
		noMoves: "この期間の履歴があるタイルはありません。", noValueThen: "その時点の値なし",
		deployment: "デプロイ", incident: "障害", alert: "アラート",
		opened: "発生", resolved: "解決", succeeded: "完了", failed: "失敗",
		dateTime: "1月2日 15:04",
	}
)

// TextFor is the wording for a board's locale.
func TextFor(locale string) Text {
	if locale == "ja" {
		return japanese
	}
	return English
}

// age is a short age in this language: "12 s", "4 m", "3 h", "2 d" or
// "12秒", "4分", "3時間", "2日". The page script formats ages the same way
// from data-t-age-units.
func (t Text) age(d time.Duration) string {
	units := strings.Split(t.ageUnits, ",")
	if len(units) != 4 {
		units = []string{"s", "m", "h", "d"}
	}
	var n int
	var u string
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
	return strconv.Itoa(max(n, 0)) + t.sep + u
}

// Duration is a duration in this language: formatDuration for English,
// "180ミリ秒", "4.2秒", "42分", "5時間20分", "3日4時間" for Japanese.
func (t Text) Duration(d time.Duration) string {
	if t.lang == "ja" {
		return durationIn(d, japaneseDuration)
	}
	return formatDuration(d)
}

// value formats a value in its unit in this language: durations follow
// Duration; everything else is formatValue (digits and SI prefixes read the
// same in both languages).
func (t Text) value(v *float64, unit string) string {
	if v != nil && t.lang == "ja" && !math.IsNaN(*v) && !math.IsInf(*v, 0) {
		switch unit {
		case "s":
			return t.Duration(time.Duration(*v * float64(time.Second)))
		case "ms":
			return t.Duration(time.Duration(*v * float64(time.Millisecond)))
		}
	}
	return formatValue(v, unit)
}
