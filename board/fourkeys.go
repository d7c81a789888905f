package board

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/wallboard/wallboard/fourkeys"
)

// Benchmark settings of a Four Keys source.
const (
	benchmarksDORA2024 = "dora-2024" // tiers after the DORA 2024 clusters (default)
	benchmarksNone     = "none"      // no tiers at all
)

// FourKeysSettings are the Four Keys options of a github, gitlog or events
// source, parsed from its config.
type FourKeysSettings struct {
	AttributionWindow time.Duration
	HotfixLabels      []string
	PostmortemDays    int
	PostmortemBiz     bool // PostmortemDays are business days
	PostmortemSet     bool // postmortem_due was configured (it then wins over a query's default)
	NoBenchmarks      bool // benchmarks: none
}

// FourKeysOf parses a source's Four Keys options; the error names the key.
func FourKeysOf(s SourceConfig) (FourKeysSettings, error) {
	out := FourKeysSettings{AttributionWindow: fourkeys.AttributionWindow, HotfixLabels: s.HotfixLabels,
		PostmortemDays: int(fourkeys.DefaultPostmortemAfter / fourkeys.Day)}
	if s.AttributionWindow != "" {
		d, err := ParseDuration(s.AttributionWindow, fourkeys.AttributionWindow)
		switch {
		case err != nil:
			return out, fmt.Errorf("attribution_window: %w", err)
		case d <= 0 || d > fourkeys.MaxAttributionWindow:
			return out, fmt.Errorf("attribution_window %s: use more than 0 and at most 30d", s.AttributionWindow)
		}
		out.AttributionWindow = d
	}
	for _, l := range s.HotfixLabels {
		if strings.TrimSpace(l) == "" {
			return out, fmt.Errorf("hotfix_labels: an empty label")
		}
	}
	if s.PostmortemDue != "" {
		n, biz, err := parsePostmortemDue(s.PostmortemDue)
		if err != nil {
			return out, fmt.Errorf("postmortem_due: %w", err)
		}
		out.PostmortemDays, out.PostmortemBiz, out.PostmortemSet = n, biz, true
	}
	switch strings.ToLower(strings.TrimSpace(s.Benchmarks)) {
	case "", benchmarksDORA2024:
	case benchmarksNone:
		out.NoBenchmarks = true
	default:
		return out, fmt.Errorf("benchmarks %q: use %s or %s", s.Benchmarks, benchmarksDORA2024, benchmarksNone)
	}
	return out, nil
}

var postmortemDue = regexp.MustCompile(`^(\d{1,3})\s*(d|days?|calendar days?|bd|business days?)$`)

// parsePostmortemDue reads a postmortem due rule: "5d", "5 days",
// "5 calendar days", "3bd" or "3 business days" (0 to 365).
func parsePostmortemDue(s string) (days int, business bool, err error) {
	m := postmortemDue.FindStringSubmatch(strings.ToLower(strings.TrimSpace(s)))
	if m == nil {
		return 0, false, fmt.Errorf("%q: use e.g. 5d, \"5 days\" or \"3 business days\"", s)
	}
	n, _ := strconv.Atoi(m[1]) // at most 3 digits
	if n > 365 {
		return 0, false, fmt.Errorf("%q: at most 365 days", s)
	}
	return n, m[2] == "bd" || strings.HasPrefix(m[2], "business"), nil
}

// checkFourKeysSource lists what is wrong with a source's Four Keys options.
func checkFourKeysSource(s SourceConfig) []string {
	if s.AttributionWindow == "" && s.HotfixLabels == nil && s.PostmortemDue == "" && s.Benchmarks == "" {
		return nil
	}
	var msgs []string
	switch s.Kind {
	case "github", "gitlog", "events":
	default:
		msgs = append(msgs, "attribution_window, hotfix_labels, postmortem_due and benchmarks apply only to github, gitlog and events sources")
	}
	if _, err := FourKeysOf(s); err != nil {
		msgs = append(msgs, err.Error())
	}
	return msgs
}
