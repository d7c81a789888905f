package views

import (
	"fmt"
	"strings"

	"github.com/wallboard/wallboard/board"
)

// secWords is the security tile's wording in one language.
type secWords struct {
	Sev            [4]string // critical, high, medium, low
	OldestCritical string    // "oldest critical %s"
	OldestHigh     string    // "oldest high %s"
	NoneOpen       string    // no critical or high open
	Secrets        string    // "%d leaked secrets"
	SecretsNone    string
	Unreadable     string // secret scanning not readable: "%s" = repositories
}

var secText = map[string]secWords{
	"en": {Sev: [4]string{"critical", "high", "medium", "low"}, OldestCritical: "oldest critical open %s",
		OldestHigh: "oldest high open %s", NoneOpen: "no critical or high open",
		Secrets: "secrets: %d open", SecretsNone: "secrets: none open", Unreadable: "secrets not readable with this token: %s"},
	"ja": {Sev: [4]string{"重大", "高", "中", "低"}, OldestCritical: "最古の重大: %s",
		OldestHigh: "最古の高: %s", NoneOpen: "重大・高はありません",
		Secrets: "シークレット: %d 件", SecretsNone: "シークレット: なし", Unreadable: "このトークンではシークレットを読めません: %s"},
}

func (v TileView) secWords() secWords {
	if w, ok := secText[v.Text.Lang]; ok {
		return w
	}
	return secText["en"]
}

// SecCell is one severity's count as the tile shows it.
type SecCell struct {
	Name  string
	Count string
	Class string // sev sev-critical…; sev-zero when none
}

// Security is the tile's report, nil before the first poll.
func (v TileView) Security() *board.SecurityReport { return v.State.Security }

// SecCells are the open alerts by severity, most severe first.
func (v TileView) SecCells() []SecCell {
	r := v.Security()
	if r == nil {
		return nil
	}
	w := v.secWords()
	ns := []int{r.Totals.Critical, r.Totals.High, r.Totals.Medium, r.Totals.Low}
	keys := []string{"critical", "high", "medium", "low"}
	out := make([]SecCell, 4)
	for i, n := range ns {
		c := "sev sev-" + keys[i]
		if n == 0 {
			c += " sev-zero"
		}
		out[i] = SecCell{Name: w.Sev[i], Count: itoa(n), Class: c}
	}
	return out
}

// SecOldest is the age of the oldest open critical (else high) alert.
func (v TileView) SecOldest() string {
	r := v.Security()
	w := v.secWords()
	switch {
	case r == nil:
		return ""
	case !r.OldestCritical.IsZero():
		return fmt.Sprintf(w.OldestCritical, v.Text.Age(v.Now.Sub(r.OldestCritical)))
	case !r.OldestHigh.IsZero():
		return fmt.Sprintf(w.OldestHigh, v.Text.Age(v.Now.Sub(r.OldestHigh)))
	}
	return w.NoneOpen
}

// SecOldestClass colours the oldest line: critical past the rule.
func (v TileView) SecOldestClass() string {
	r := v.Security()
	if r != nil && !r.OldestCritical.IsZero() && v.Now.Sub(r.OldestCritical) > r.CriticalAfter {
		return "sec-oldest overdue"
	}
	return "sec-oldest"
}

// SecSecrets is the secret scanning line.
func (v TileView) SecSecrets() string {
	r := v.Security()
	if r == nil {
		return ""
	}
	w := v.secWords()
	var parts []string
	switch {
	case r.Secrets > 0:
		parts = append(parts, fmt.Sprintf(w.Secrets, r.Secrets))
	case len(r.SecretsUnreadable) < len(r.Repos):
		parts = append(parts, w.SecretsNone)
	}
	if len(r.SecretsUnreadable) > 0 {
		parts = append(parts, fmt.Sprintf(w.Unreadable, strings.Join(r.SecretsUnreadable, ", ")))
	}
	return strings.Join(parts, " · ")
}
