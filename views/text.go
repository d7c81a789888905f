package views

import "github.com/wallboard/wallboard/board"

// Text is the UI wording of one language.
type Text struct {
	Lang          string
	Demo          string
	Updated       string // "updated %s ago"
	ConnLost      string // "connection lost since %s"
	Waiting       string
	NoData        string
	StaleOld      string // data older than its freshness limit; %s = age
	StaleFailing  string // last poll failed; %s = age of the data shown
	StaleRestored string // restored after restart; %s = age
	FailingSince  string // no data ever and failing; %s = HH:MM
	OK, Warn      string
	Critical      string
	Unknown       string
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
		Lang: "en", Demo: "DEMO", Updated: "updated %s ago", ConnLost: "connection lost since %s",
		Waiting: "waiting for data", NoData: "no data",
		StaleOld: "stale · %s old", StaleFailing: "source failing · data %s old",
		StaleRestored: "from before restart · %s old", FailingSince: "source failing since %s",
		OK: "ok", Warn: "warning", Critical: "critical", Unknown: "unknown",
	}
	Japanese = Text{
		Lang: "ja", Demo: "デモ", Updated: "%s前に更新", ConnLost: "%sから接続が切れています",
		Waiting: "データ待ち", NoData: "データなし",
		StaleOld: "古いデータ · %s前", StaleFailing: "取得失敗 · %s前のデータ",
		StaleRestored: "再起動前のデータ · %s前", FailingSince: "%sから取得失敗",
		OK: "正常", Warn: "警告", Critical: "重大", Unknown: "不明",
	}
)

// TextFor is the wording for a board's locale.
func TextFor(locale string) Text {
	if locale == "ja" {
		return Japanese
	}
	return English
}
