package views

import (
	"fmt"
	"strings"

	"github.com/wallboard/wallboard/board"
)

// secWords is the security tile's wording in one language.
type secWords struct {
	sev            [4]string // critical, high, medium, low
	oldestCritical string    // "oldest critical %s"
	oldestHigh     string    // "oldest high %s"
	noneOpen       string    // no critical or high open
	secrets        string    // "%d leaked secrets"
	secretsNone    string
	unreadable     string // secret scanning not readable: "%s" = repositories
}

var secText = map[string]secWords{
	"en": {sev: [4]string{"critical", "high", "medium", "low"}, oldestCritical: "oldest critical open %s",
		oldestHigh: "oldest high open %s", noneOpen: "no critical or high open",
		secrets: "secrets: %d open", secretsNone: "secrets: none open", unreadable: "secrets not readable with this token: %s"},
	"ja": {sev: [4]string{"重大", "高", "中", "低"}, oldestCritical: "最古の重大: %s",
		oldestHigh: "最古の高: %s", noneOpen: "重大・高はありません",
		secrets: "シークレット: %d 件", secretsNone: "シークレット: なし", unreadable: "このトークンではシークレットを読めません: %s"},
}

func (v TileView) secWords() secWords {
	if w, ok := secText[v.text.lang]; ok {
		return w
	}
	return secText["en"]
}

// secCell is one severity's count as the tile shows it.
type secCell struct {
	name  string
	count string
	class string // sev sev-critical…; sev-zero when none
}

// security is the tile's report, nil before the first poll.
func (v TileView) security() *board.SecurityReport { return v.state.Security }

// secCells are the open alerts by severity, most severe first.
func (v TileView) secCells() []secCell {
	r := v.security()
	if r == nil {
		return nil
	}
	w := v.secWords()
	ns := []int{r.Totals.Critical, r.Totals.High, r.Totals.Medium, r.Totals.Low}
	keys := []string{"critical", "high", "medium", "low"}
	out := make([]secCell, 4)
	for i, n := range ns {
		c := "sev sev-" + keys[i]
		if n == 0 {
			c += " sev-zero"
		}
		out[i] = secCell{name: w.sev[i], count: itoa(n), class: c}
	}
	return out
}

// secOldest is the age of the oldest open critical (else high) alert.
func (v TileView) secOldest() string {
	r := v.security()
	w := v.secWords()
	switch {
	case r == nil:
		return ""
	case !r.OldestCritical.IsZero():
		return fmt.Sprintf(w.oldestCritical, v.text.age(v.now.Sub(r.OldestCritical)))
	case !r.OldestHigh.IsZero():
		return fmt.Sprintf(w.oldestHigh, v.text.age(v.now.Sub(r.OldestHigh)))
	}
	return w.noneOpen
}

// secOldestClass colours the oldest line: critical past the rule.
func (v TileView) secOldestClass() string {
	r := v.security()
	if r != nil && !r.OldestCritical.IsZero() && v.now.Sub(r.OldestCritical) > r.CriticalAfter {
		return "sec-oldest overdue"
	}
	return "sec-oldest"
}

// secSecrets is the secret scanning line.
func (v TileView) secSecrets() string {
	r := v.security()
	if r == nil {
		return ""
	}
	w := v.secWords()
	var parts []string
	switch {
	case r.Secrets > 0:
		parts = append(parts, fmt.Sprintf(w.secrets, r.Secrets))
	case len(r.SecretsUnreadable) < len(r.Repos):
		parts = append(parts, w.secretsNone)
	}
	if len(r.SecretsUnreadable) > 0 {
		parts = append(parts, fmt.Sprintf(w.unreadable, strings.Join(r.SecretsUnreadable, ", ")))
	}
	return strings.Join(parts, " · ")
}
