package fourkeys

import (
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// docsTier is one cell of the tier table in docs/fourkeys.md: an operator
// and a threshold in base units (per day, seconds, a ratio).
type docsTier struct {
	op string
	x  float64
}

var docsCell = regexp.MustCompile(`^(≥|<|≤|>)\s*([\d.]+)\s*(%|per day|per week|per month|hours?|days?|weeks?|months?)`)

func parseDocsCell(t *testing.T, cell string) (docsTier, bool) {
	t.Helper()
	m := docsCell.FindStringSubmatch(strings.TrimSpace(cell))
	if m == nil {
		return docsTier{}, false // "below"
	}
	n, err := strconv.ParseFloat(m[2], 64)
	if err != nil {
		t.Fatalf("tier table cell %q: %v", cell, err)
	}
	unit := map[string]float64{"%": 0.01, "per day": 1, "per week": 1.0 / 7, "per month": 1.0 / 30,
		"hour": 3600, "hours": 3600, "day": 86400, "days": 86400, "week": 7 * 86400, "weeks": 7 * 86400, "month": 30 * 86400, "months": 30 * 86400}[m[3]]
	return docsTier{op: m[1], x: n * unit}, true
}

// The tier table of docs/fourkeys.md is the one the code uses: each
// band's threshold, read from the docs, falls on the edge of the code's
// tier functions (the tier on its side of the edge, the next tier just
// past it), and the low row is the complement of the medium row.
func TestDocsTierTableIsTheCodes(t *testing.T) {
	raw, err := os.ReadFile("../docs/fourkeys.md")
	if err != nil {
		t.Fatal(err)
	}
	doc := string(raw)
	i := strings.Index(doc, "### Tiers (benchmarks)")
	if i < 0 {
		t.Fatal("docs/fourkeys.md has no Tiers section")
	}
	rows := map[Tier][]string{}
	var header []string
	for _, line := range strings.Split(doc[i:], "\n") {
		cells := strings.Split(strings.Trim(strings.TrimSpace(line), "|"), "|")
		if len(cells) != 5 {
			continue
		}
		for k := range cells {
			cells[k] = strings.TrimSpace(cells[k])
		}
		switch tier := Tier(cells[0]); tier {
		case "tier":
			header = cells[1:]
		case TierElite, TierHigh, TierMedium, TierLow:
			if rows[tier] == nil {
				rows[tier] = cells[1:]
			}
		}
	}
	wantHeader := []string{"deployment frequency", "lead time", "change failure rate", "failed deployment recovery time"}
	if strings.Join(header, "|") != strings.Join(wantHeader, "|") || len(rows) != 4 {
		t.Fatalf("tier table: header %q and %d rows; want %q and 4 rows", header, len(rows), wantHeader)
	}
	dur := func(s float64) *time.Duration { d := time.Duration(s * float64(time.Second)); return &d }
	ratio := func(f float64) *float64 { return &f }
	funcs := []func(x float64) Tier{
		func(x float64) Tier { return FrequencyTier(ratio(x)) },
		func(x float64) Tier { return LeadTimeTier(dur(x)) },
		func(x float64) Tier { return FailureRateTier(ratio(x)) },
		func(x float64) Tier { return RestoreTier(dur(x)) },
	}
	order := []Tier{TierElite, TierHigh, TierMedium, TierLow}
	for col, f := range funcs {
		for k, tier := range order[:3] {
			c, ok := parseDocsCell(t, rows[tier][col])
			if !ok {
				t.Errorf("%s, %s: cannot read %q", wantHeader[col], tier, rows[tier][col])
				continue
			}
			next := order[k+1]
			// A step that is small for the unit but far above float noise.
			eps := c.x * 1e-6
			var at, past Tier
			switch c.op {
			case "≥": // at x: this tier; just below: the next
				at, past = f(c.x), f(c.x-eps)
			case "≤": // at x: this tier; just above: the next
				at, past = f(c.x), f(c.x+eps)
			case "<": // just below x: this tier; at x: the next
				at, past = f(c.x-eps), f(c.x)
			default:
				t.Errorf("%s, %s: operator %q in %q", wantHeader[col], tier, c.op, rows[tier][col])
				continue
			}
			if at != tier || past != next {
				t.Errorf("%s: the docs say %s is %q; the code gives %s on its side and %s past it, want %s and %s",
					wantHeader[col], tier, rows[tier][col], at, past, tier, next)
			}
		}
		// Low: "below" or the complement of medium's threshold.
		med, _ := parseDocsCell(t, rows[TierMedium][col])
		if low, ok := parseDocsCell(t, rows[TierLow][col]); ok {
			complement := map[string]string{"<": "≥", "≤": ">", "≥": "<"}[med.op]
			if low.op != complement || low.x != med.x {
				t.Errorf("%s: low is %q, want the complement of medium's %q", wantHeader[col], rows[TierLow][col], rows[TierMedium][col])
			}
		} else if rows[TierLow][col] != "below" || med.op != "≥" {
			t.Errorf("%s: low is %q", wantHeader[col], rows[TierLow][col])
		}
	}
}
