package views

import (
	"fmt"
	"strconv"
	"strings"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/wallboard/wallboard/board"
)

// alertText is the wording of the alert tiles and the takeover.
type alertText struct {
	noOpen       string // every source healthy and current, nothing open
	unknownFail  string // "alerts unknown: source %s failing since %s"
	unknownStale string // "alerts unknown: source %s not updated since %s"
	unknownOff   string // a receiver the tile lists is not configured
	since        string // "since %s"
	more         string // "+%d more"
	noNextAction string
	runbook      string
	hygieneClean string
	severities   map[board.Severity]string
}

// severityWord is a severity in this language's words.
func (at alertText) severityWord(s board.Severity) string {
	if w, ok := at.severities[board.Severity(severityText(s))]; ok {
		return w
	}
	return severityText(s)
}

var (
	alertEnglish = alertText{
		noOpen: "No open alerts", unknownFail: "alerts unknown: source %s failing since %s",
		unknownStale: "alerts unknown: source %s not updated since %s", unknownOff: "alerts unknown: %s",
		since: "since %s", more: "+%d more", noNextAction: "no next action given", runbook: "runbook",
		hygieneClean: "Every alert has a next action; none is noisy",
	}
	alertJapanese = alertText{
		noOpen: "未解決のアラートはありません", unknownFail: "アラート不明: ソース %s が %s から取得失敗",
		unknownStale: "アラート不明: ソース %s は %s から未更新", unknownOff: "アラート不明: %s",
		since: "%s から", more: "他 %d 件", noNextAction: "次の対応が未記載", runbook: "ランブック",
		hygieneClean: "すべてのアラートに次の対応があり、頻発もありません",
		severities: map[board.Severity]string{board.SeverityCritical: "重大", board.SeverityError: "エラー",
			board.SeverityWarning: "警告", board.SeverityInfo: "情報"},
	}
)

// alertTextFor is the alert wording of a locale.
func alertTextFor(t Text) alertText {
	if t.lang == "ja" {
		return alertJapanese
	}
	return alertEnglish
}

// severityIcon is a shape per alert severity, distinct without colour.
func severityIcon(s board.Severity) string {
	switch s {
	case board.SeverityCritical:
		return "✖"
	case board.SeverityError:
		return "◆"
	case board.SeverityWarning:
		return "▲"
	}
	return "ℹ"
}

// severityText is the severity in words (upper-cased by the stylesheet).
func severityText(s board.Severity) string {
	if s == "" {
		return string(board.SeverityWarning)
	}
	return string(s)
}

// alerts are the alerts a tile shows, at most its limit (default 8).
func (v TileView) alerts() []board.Alert {
	limit := v.Cfg.Limit
	if limit == 0 {
		// What fits readably from across the room: two alerts per row of
		// the grid the tile spans; the rest are counted ("+3 more").
		limit = 2 * max(v.Cfg.RowSpan, 1)
	}
	if len(v.state.Alerts) > limit {
		return v.state.Alerts[:limit]
	}
	return v.state.Alerts
}

// moreAlerts is how many open alerts do not fit the tile.
func (v TileView) moreAlerts() int { return max(len(v.state.Alerts)-len(v.alerts()), 0) }

// alertsUnknown is why the tile cannot say "No open alerts": a source that
// is failing, stale, restored and not yet confirmed, or a feed not
// configured (a warning). "" when every source is healthy and current.
func (v TileView) alertsUnknown() string {
	at := alertTextFor(v.text)
	st := v.state
	switch {
	case st.Error != "":
		since := st.ErrorSince
		if since.IsZero() {
			since = v.now
		}
		return fmt.Sprintf(at.unknownFail, v.Cfg.Source, since.Local().Format("15:04"))
	case st.Restored || v.stale():
		return fmt.Sprintf(at.unknownStale, v.Cfg.Source, st.UpdatedAt.Local().Format("15:04"))
	}
	for _, w := range st.Warnings {
		if strings.HasPrefix(w, "alerts: ") {
			return fmt.Sprintf(at.unknownOff, strings.TrimPrefix(w, "alerts: "))
		}
	}
	return ""
}

// firstLines is the start of a next action: at most n lines and 240
// characters, enough to act on from across the room.
func firstLines(s string, n int) string {
	s = strings.TrimSpace(strings.ReplaceAll(s, "\r\n", "\n"))
	lines := strings.Split(s, "\n")
	out := make([]string, 0, n)
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
		if len(out) == n {
			break
		}
	}
	r := []rune(strings.Join(out, "\n"))
	if len(r) > 240 {
		return string(r[:239]) + "…"
	}
	if len(out) < countNonEmpty(lines) {
		return string(r) + " …"
	}
	return string(r)
}

func countNonEmpty(lines []string) int {
	n := 0
	for _, l := range lines {
		if strings.TrimSpace(l) != "" {
			n++
		}
	}
	return n
}

// AlertLayerView is the board's takeover / banner (board.AlertLayer) in
// the words of the board's language.
type AlertLayerView struct {
	board.AlertLayer
	Text Text
}

// alertLayerID is the stable element id of a board's alert layer.
func alertLayerID(boardID string) string { return "wb-alert-" + boardID }

// key identifies the alert shown, so screens chime once per alert.
func (l AlertLayerView) key() string {
	if l.Alert == nil {
		return ""
	}
	return l.Alert.Source + "/" + l.Alert.ID + "@" + millis(l.OpenedAt)
}

// class is the layer's classes at render time; the page script keeps
// switching takeover -> banner by the clock.
func (l AlertLayerView) class() string {
	now := l.Now
	switch {
	case l.Alert == nil:
		return "alert-layer"
	case now.Sub(l.OpenedAt) < l.Takeover:
		return "alert-layer is-takeover"
	}
	return "alert-layer is-banner"
}

// qrPath is the runbook URL as an SVG path of dark modules (with the quiet
// zone), and the side length in modules; "" when there is no runbook or it
// does not fit a QR code.
func qrPath(url string) (string, int) {
	if url == "" {
		return "", 0
	}
	q, err := qrcode.New(url, qrcode.Medium)
	if err != nil {
		return "", 0
	}
	bm := q.Bitmap()
	var b strings.Builder
	for y, row := range bm {
		for x := 0; x < len(row); {
			if !row[x] {
				x++
				continue
			}
			start := x
			for x < len(row) && row[x] {
				x++
			}
			// One rectangle per run of dark modules keeps the path short.
			fmt.Fprintf(&b, "M%d %dh%dv1h-%dz", start, y, x-start, x-start)
		}
	}
	return b.String(), len(bm)
}

func qrViewBox(n int) string { return "0 0 " + strconv.Itoa(n) + " " + strconv.Itoa(n) }
