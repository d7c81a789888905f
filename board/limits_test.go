package board

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLimitsAcceptRealConfigs: every example and the built-in demo are far
// inside the limits.
func TestLimitsAcceptRealConfigs(t *testing.T) {
	files, _ := filepath.Glob("../examples/*.yaml")
	files = append(files, "../app/demo.yaml")
	if len(files) < 2 {
		t.Fatalf("no example configs found: %v", files)
	}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if p := checkLimits(f, b); p != nil {
			t.Errorf("%s refused: %s", f, p)
		}
	}
}

// TestTooDeep pins what the nesting pre-scan counts and what it skips.
func TestTooDeep(t *testing.T) {
	deep := strings.Repeat("[", maxConfigDepth) + strings.Repeat("]", maxConfigDepth)
	tests := []struct {
		name string
		yaml string
		line int
	}{
		{"flow brackets", "a:\n  b: " + deep + "\n", 2},
		{"flow mappings", "a: " + strings.Repeat("{x: ", 40) + "1" + strings.Repeat("}", 40) + "\n", 1},
		{"block indentation", func() string {
			var b strings.Builder
			for i := range 40 {
				b.WriteString(strings.Repeat(" ", i) + "k:\n")
			}
			return b.String()
		}(), 33},
		{"compact items", "a: 1\nb:\n" + strings.Repeat("- ", 40) + "x\n", 3},
		{"brackets in double quotes", "a: \"" + deep + "\"\n", 0},
		{"brackets in single quotes, with an escaped quote", "a: 'it''s " + deep + "'\n", 0},
		{"brackets in a comment", "a: 1 # " + deep + "\n", 0},
		{"brackets in a block scalar", "a: |\n  " + deep + "\n  more " + deep + "\nb: 2\n", 0},
		{"block scalar ends, then deep", "a: >-\n  text\nb: " + deep + "\n", 3},
		{"brackets inside plain words", "q: " + strings.Repeat("rate(x[5m]) ", 40) + "\n", 0},
		{"apostrophe inside a word", "t: don't " + deep + "\n", 0},
		{"multi-line quoted string", "a: \"one\n  " + deep + " two\"\nb: 1\n", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tooDeep([]byte(tt.yaml)); got != tt.line {
				t.Errorf("tooDeep = line %d, want %d", got, tt.line)
			}
		})
	}
}

// TestAliasesWithinLimit: anchors used as intended (shared thresholds) pass.
func TestAliasesWithinLimit(t *testing.T) {
	var b strings.Builder
	b.WriteString("sources:\n  - {id: d, kind: demo}\nboards:\n  - id: ops\n    tiles:\n      - {id: t0, kind: stat, source: d, query: requests, thresholds: &th {warn: 1, critical: 2}}\n")
	for i := 1; i < 200; i++ {
		b.WriteString("      - {id: t" + strings.Repeat("x", i%5) + string(rune('a'+i%26)) + itoa(i) + ", kind: stat, source: d, query: requests, thresholds: *th}\n")
	}
	if _, err := Parse("b.yaml", []byte(b.String()), nil); err != nil {
		t.Fatalf("Parse: %v", err)
	}
}

func itoa(i int) string {
	s := ""
	for ; i > 0; i /= 10 {
		s = string(rune('0'+i%10)) + s
	}
	return s
}
