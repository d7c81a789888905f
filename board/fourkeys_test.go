package board

import (
	"strings"
	"testing"
	"time"
)

// `wallboard check` refuses a bad Four Keys source option, naming the key.
func TestFourKeysSourceOptionsAreChecked(t *testing.T) {
	cfg := func(opts string) string {
		return "sources:\n  - {id: dora, kind: events" + opts + "}\nboards:\n  - id: b\n    tiles:\n      - {id: t, kind: stat, source: dora}\n"
	}
	for _, tc := range []struct{ opts, want string }{
		{", attribution_window: 0s", "attribution_window 0s: use more than 0 and at most 30d"},
		{", attribution_window: 31d", "attribution_window 31d: use more than 0 and at most 30d"},
		{", attribution_window: soon", `attribution_window: "soon" is not a duration`},
		{", postmortem_due: a week", `postmortem_due: "a week": use e.g. 5d`},
		{", postmortem_due: 400d", "at most 365 days"},
		{", benchmarks: dora-2019", `benchmarks "dora-2019": use dora-2024 or none`},
		{", hotfix_labels: ['']", "hotfix_labels: an empty label"},
	} {
		_, err := Parse("c.yaml", []byte(cfg(tc.opts)), nil)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want it to say %q", tc.opts, err, tc.want)
		}
	}
	for _, ok := range []string{"", ", attribution_window: 2h", ", attribution_window: 30d", ", postmortem_due: 3 business days", ", benchmarks: none"} {
		if _, err := Parse("c.yaml", []byte(cfg(ok)), nil); err != nil {
			t.Errorf("%s: %v", ok, err)
		}
	}
	if _, err := Parse("c.yaml", []byte(strings.Replace(cfg(", attribution_window: 2h"), "kind: events", "kind: demo", 1)), nil); err == nil ||
		!strings.Contains(err.Error(), "apply only to github, gitlog and events sources") {
		t.Errorf("attribution_window on a demo source: %v, want refused", err)
	}
	s, err := FourKeysOf(SourceConfig{AttributionWindow: "6h", PostmortemDue: "3bd", Benchmarks: "none"})
	if err != nil || s.AttributionWindow != 6*time.Hour || s.PostmortemDays != 3 || !s.PostmortemBiz || !s.NoBenchmarks {
		t.Errorf("FourKeysOf = %+v, %v", s, err)
	}
}
