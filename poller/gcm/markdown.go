package gcm

import (
	"strconv"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/text"
)

// mdParser parses CommonMark. Only the parse tree is used: nothing is ever
// rendered as HTML, so raw HTML, scripts and link targets in a policy's
// documentation can never reach the page.
var mdParser = goldmark.New().Parser()

// markdownText is what a person reads in a policy's documentation (Cloud
// Monitoring's documentation content is markdown): its text without the
// syntax. Emphasis and code keep their words, links their text, raw HTML
// is dropped (the words between tags stay), list items become lines starting
// "• " or "N. ", and each paragraph, heading or item is one line.
func markdownText(src string) string {
	src = strings.TrimSpace(src)
	if src == "" {
		return ""
	}
	b := []byte(src)
	var out strings.Builder
	newline := func() {
		if s := out.String(); s != "" && !strings.HasSuffix(s, "\n") {
			out.WriteByte('\n')
		}
	}
	_ = ast.Walk(mdParser.Parse(text.NewReader(b)), func(n ast.Node, entering bool) (ast.WalkStatus, error) {
		switch n := n.(type) {
		case *ast.Text:
			if entering {
				out.Write(n.Value(b))
				switch {
				case n.HardLineBreak():
					out.WriteByte('\n')
				case n.SoftLineBreak():
					out.WriteByte(' ')
				}
			}
		case *ast.String:
			if entering {
				out.Write(n.Value)
			}
		case *ast.AutoLink:
			if entering {
				out.Write(n.URL(b))
			}
			return ast.WalkSkipChildren, nil
		case *ast.RawHTML, *ast.HTMLBlock:
			return ast.WalkSkipChildren, nil
		case *ast.FencedCodeBlock, *ast.CodeBlock:
			if entering {
				newline()
				lines := n.Lines()
				for i := range lines.Len() {
					seg := lines.At(i)
					out.Write(seg.Value(b))
				}
				newline()
			}
			return ast.WalkSkipChildren, nil
		case *ast.ListItem:
			if entering {
				newline()
				marker := "• "
				if l, ok := n.Parent().(*ast.List); ok && l.IsOrdered() {
					i := 0
					for c := l.FirstChild(); c != nil && c != ast.Node(n); c = c.NextSibling() {
						i++
					}
					marker = strconv.Itoa(l.Start+i) + ". "
				}
				out.WriteString(marker)
			}
		case *ast.Paragraph, *ast.Heading, *ast.TextBlock, *ast.Blockquote, *ast.ThematicBreak:
			if !entering {
				newline()
			}
		}
		return ast.WalkContinue, nil
	})
	lines := strings.Split(out.String(), "\n")
	kept := lines[:0]
	for _, l := range lines {
		if l = strings.TrimSpace(l); l != "" {
			kept = append(kept, l)
		}
	}
	return strings.Join(kept, "\n")
}
