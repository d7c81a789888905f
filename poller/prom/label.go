package prom

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"text/template"
	"unicode/utf8"

	"github.com/prometheus/common/model"
)

// maxLabel bounds a formatted row label (bytes): a label is read from across
// the room, and a template must not be able to produce megabytes.
const maxLabel = 256

// labelTemplate formats a series' labels as a row label. A nil template gives
// the label set as Prometheus prints it: {service="api"}.
type labelTemplate struct {
	t *template.Template
}

// parseLabel parses a tile's label template, e.g. "{{.service}} in
// {{.region}}"; "" gives the default. Missing labels format as "".
func parseLabel(text string) (*labelTemplate, error) {
	if text == "" {
		return &labelTemplate{}, nil
	}
	t, err := template.New("label").Option("missingkey=zero").Parse(text)
	if err != nil {
		return nil, fmt.Errorf("label template %q: %w", text, err)
	}
	return &labelTemplate{t: t}, nil
}

// format renders the row label of a series. A template that fails or renders
// nothing falls back to the label set, so a row is never unnamed.
func (l *labelTemplate) format(m model.Metric) string {
	if l == nil || l.t == nil {
		return labelSet(m)
	}
	data := make(map[string]string, len(m))
	for k, v := range m {
		data[string(k)] = string(v)
	}
	w := &capWriter{left: maxLabel}
	if err := l.t.Execute(w, data); err != nil && !errors.Is(err, errLabelTooLong) {
		return labelSet(m)
	}
	s := strings.TrimSpace(w.b.String())
	if s == "" {
		return labelSet(m)
	}
	return s
}

// labelSet is the series' label set as Prometheus prints it; "{}" for a
// series with no labels at all (a row is never left without a name; found by
// FuzzFormatLabel with an empty __name__).
func labelSet(m model.Metric) string {
	if s := m.String(); s != "" {
		return s
	}
	return "{}"
}

var errLabelTooLong = errors.New("label too long")

// capWriter keeps at most left bytes and then fails, which stops the
// template's execution.
type capWriter struct {
	b    strings.Builder
	left int
	full bool
}

func (w *capWriter) Write(p []byte) (int, error) {
	if w.full {
		return 0, errLabelTooLong
	}
	if len(p) > w.left {
		cut := w.left
		// Do not split a UTF-8 sequence.
		for cut > 0 && !utf8.RuneStart(p[cut]) {
			cut--
		}
		w.b.Write(p[:cut])
		w.full = true
		w.b.WriteString("…")
		return 0, errLabelTooLong
	}
	w.left -= len(p)
	return w.b.Write(p)
}

// labelCache holds parsed templates by text; texts come from the config, so
// the cache is bounded by it.
type labelCache struct{ m sync.Map }

func (c *labelCache) get(text string) (*labelTemplate, error) {
	if t, ok := c.m.Load(text); ok {
		return t.(*labelTemplate), nil
	}
	t, err := parseLabel(text)
	if err != nil {
		return nil, fmt.Errorf("prom: %w", err)
	}
	c.m.Store(text, t)
	return t, nil
}
