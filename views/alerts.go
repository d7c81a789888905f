package views

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/wallboard/wallboard/board"
)

// AlertText is the wording of the alert tiles and the takeover.
type AlertText struct {
	NoOpen       string // every source healthy and current, nothing open
	UnknownFail  string // "alerts unknown: source %s failing since %s"
	UnknownStale string // "alerts unknown: source %s not updated since %s"
	UnknownOff   string // a receiver the tile lists is not configured
	Since        string // "since %s"
	More         string // "+%d more"
	NoNextAction string
	Runbook      string
	HygieneClean string
	Severities   map[board.Severity]string
}

// SeverityWord is a severity in this language's words.
func (at AlertText) SeverityWord(s board.Severity) string {
	if w, ok := at.Severities[board.Severity(SeverityText(s))]; ok {
		return w
	}
	return SeverityText(s)
}

var (
	alertEnglish = AlertText{
		NoOpen: "No open alerts", UnknownFail: "alerts unknown: source %s failing since %s",
		UnknownStale: "alerts unknown: source %s not updated since %s", UnknownOff: "alerts unknown: %s",
		Since: "since %s", More: "+%d more", NoNextAction: "no next action given", Runbook: "runbook",
		HygieneClean: "Every alert has a next action; none is noisy",
	}
	alertJapanese = AlertText{
		NoOpen: "未解決のアラートはありません", UnknownFail: "アラート不明: ソース %s が %s から取得失敗",
		UnknownStale: "アラート不明: ソース %s は %s から未更新", UnknownOff: "アラート不明: %s",
		Since: "%s から", More: "他 %d 件", NoNextAction: "次の対応が未記載", Runbook: "ランブック",
		HygieneClean: "すべてのアラートに次の対応があり、頻発もありません",
		Severities: map[board.Severity]string{board.SeverityCritical: "重大", board.SeverityError: "エラー",
			board.SeverityWarning: "警告", board.SeverityInfo: "情報"},
	}
)

// AlertTextFor is the alert wording of a locale.
func AlertTextFor(t Text) AlertText {
	if t.Lang == "ja" {
		return alertJapanese
	}
	return alertEnglish
}

// SeverityIcon is a shape per alert severity, distinct without colour.
func SeverityIcon(s board.Severity) string {
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

// SeverityText is the severity in words (upper-cased by the stylesheet).
func SeverityText(s board.Severity) string {
	if s == "" {
		return string(board.SeverityWarning)
	}
	return string(s)
}

// Alerts are the alerts a tile shows, at most its limit (default 8).
func (v TileView) Alerts() []board.Alert {
	limit := v.Cfg.Limit
	if limit == 0 {
		// What fits readably from across the room: two alerts per row of
		// the grid the tile spans; the rest are counted ("+3 more").
		limit = 2 * max(v.Cfg.RowSpan, 1)
	}
	if len(v.State.Alerts) > limit {
		return v.State.Alerts[:limit]
	}
	return v.State.Alerts
}

// MoreAlerts is how many open alerts do not fit the tile.
func (v TileView) MoreAlerts() int { return max(len(v.State.Alerts)-len(v.Alerts()), 0) }

// AlertsUnknown is why the tile cannot say "No open alerts": a source that
// is failing, stale, restored and not yet confirmed, or a feed not
// configured (a warning). "" when every source is healthy and current.
func (v TileView) AlertsUnknown() string {
	at := AlertTextFor(v.Text)
	st := v.State
	switch {
	case st.Error != "":
		since := st.ErrorSince
		if since.IsZero() {
			since = v.Now
		}
		return fmt.Sprintf(at.UnknownFail, v.Cfg.Source, since.Local().Format("15:04"))
	case st.Restored || v.Stale():
		return fmt.Sprintf(at.UnknownStale, v.Cfg.Source, st.UpdatedAt.Local().Format("15:04"))
	}
	for _, w := range st.Warnings {
		if strings.HasPrefix(w, "alerts: ") {
			return fmt.Sprintf(at.UnknownOff, strings.TrimPrefix(w, "alerts: "))
		}
	}
	return ""
}

// FirstLines is the start of a next action: at most n lines and 240
// characters, enough to act on from across the room.
func FirstLines(s string, n int) string {
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

// AlertLayerView is the board's takeover / banner: the newest open critical
// alert of the board's alert sources, and how many others are open.
type AlertLayerView struct {
	Board    string
	Alert    *board.Alert // nil: nothing critical is open
	OpenedAt time.Time    // when this board recorded it open: the takeover clock
	Others   int          // further open critical alerts
	Takeover time.Duration
	Chime    bool
	Text     Text
	Now      time.Time // render time
}

// AlertLayerID is the stable element id of a board's alert layer.
func AlertLayerID(boardID string) string { return "wb-alert-" + boardID }

// Key identifies the alert shown, so screens chime once per alert.
func (l AlertLayerView) Key() string {
	if l.Alert == nil {
		return ""
	}
	return l.Alert.Source + "/" + l.Alert.ID + "@" + millis(l.OpenedAt)
}

// Class is the layer's classes at render time; the page script keeps
// switching takeover -> banner by the clock.
func (l AlertLayerView) Class() string {
	now := l.Now
	switch {
	case l.Alert == nil:
		return "alert-layer"
	case now.Sub(l.OpenedAt) < l.Takeover:
		return "alert-layer is-takeover"
	}
	return "alert-layer is-banner"
}

// QRPath is the runbook URL as an SVG path of dark modules (with the quiet
// zone), and the side length in modules; "" when there is no runbook or it
// does not fit a QR code.
func QRPath(url string) (string, int) {
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
