package board

import (
	"fmt"

	"github.com/goccy/go-yaml/ast"
)

// Limits of a config file. A config is a few KB written by people; these
// bound what a mistaken or hostile file can cost `wallboard check` and a
// running server's reload (go-yaml has no limits of its own: its parser
// takes time growing with the square of the nesting depth, and its decoder
// expands every alias in full).
const (
	// maxConfigBytes is the largest config file read (1 MiB).
	maxConfigBytes = 1 << 20
	// maxConfigDepth is the deepest nesting allowed, counting indentation
	// levels, "- " items and open [ or { brackets. The examples use 7.
	maxConfigDepth = 32
	// maxAliasValues is how many values (scalars, lists, mappings) all the
	// aliases (*name) of a file may add together once expanded.
	maxAliasValues = 10000
)

// checkLimits refuses, before any parsing, a file over maxConfigBytes or
// nested deeper than maxConfigDepth. It reads each byte once and holds
// nothing but a stack of indentation columns (at most maxConfigDepth deep).
func checkLimits(name string, data []byte) *Problem {
	if len(data) > maxConfigBytes {
		return &Problem{File: name, Msg: fmt.Sprintf("%d bytes: a config file may be at most %d bytes (1 MiB)", len(data), maxConfigBytes)}
	}
	if line := tooDeep(data); line > 0 {
		return &Problem{File: name, Line: line, Msg: fmt.Sprintf("nested more than %d levels deep (the limit for a config file); flatten it", maxConfigDepth)}
	}
	return nil
}

// tooDeep returns the first line at which data's nesting estimate exceeds
// maxConfigDepth, or 0. The estimate is the number of open block
// indentation levels, plus compact "- " items on the line, plus open flow
// brackets. It skips quoted strings, comments and block scalars (| and >)
// as YAML does, so brackets in text do not count; brackets inside plain
// words (rate(x[5m])) are not flow indicators and do not count either.
func tooDeep(data []byte) int {
	var (
		line        = 1
		indents     []int // columns of the open block levels
		flow        int   // open [ and {
		quote       byte  // ' or " while inside a quoted string
		blockParent = -1  // indent of the line that opened a block scalar; -1: none
		blockIndent = -1  // indent of that block scalar's content; -1: not known yet
		lineIndent  int
		dashes      int  // compact "- " items on this line
		itemStart   bool // only indentation and "- " so far on this line
		valueStart  bool // in block context, the next token starts a value (after indentation, "- ", ": ")
		prev        byte // previous byte outside quotes on this line; 0 at its start
		tokBegin    = -1 // first byte of the line's last plain token
		tokEnd      = -1 // its last byte
	)
	for i := 0; i < len(data); i++ {
		if i == 0 || data[i-1] == '\n' {
			// Start of a line: measure its indentation; skip block scalar text.
			j := i
			for j < len(data) && data[j] == ' ' {
				j++
			}
			blank := j == len(data) || data[j] == '\n' || data[j] == '\r'
			if blockParent >= 0 {
				if blockIndent < 0 && !blank && j-i > blockParent {
					blockIndent = j - i
				}
				if blank || (blockIndent >= 0 && j-i >= blockIndent) {
					// Text of the block scalar: go to its end of line.
					for j < len(data) && data[j] != '\n' {
						j++
					}
					if i, tokBegin = j, -1; i == len(data) {
						break
					}
					line++
					continue
				}
				blockParent, blockIndent = -1, -1
			}
			if quote == 0 && flow == 0 && !blank && data[j] != '#' {
				for len(indents) > 0 && indents[len(indents)-1] > j-i {
					indents = indents[:len(indents)-1]
				}
				if len(indents) == 0 || indents[len(indents)-1] < j-i {
					indents = append(indents, j-i)
				}
			}
			lineIndent, dashes, itemStart, valueStart, prev, tokBegin, tokEnd = j-i, 0, quote == 0, quote == 0, 0, -1, -1
			if len(indents)+flow > maxConfigDepth {
				return line
			}
			if i = j; i == len(data) {
				break
			}
		}
		c := data[i]
		if c == '\n' {
			line++
		}
		if quote != 0 {
			switch {
			case quote == '"' && c == '\\':
				if i+1 < len(data) && data[i+1] == '\n' {
					line++
				}
				i++ // an escaped byte does not close the string
			case quote == '\'' && c == '\'' && i+1 < len(data) && data[i+1] == '\'':
				i++ // '' is a quote inside the string
			case c == quote:
				quote, prev = 0, c
			}
			continue
		}
		// Where a quote or bracket opens something: in flow context at any
		// token; in block context only at the start of a value (inside a
		// plain scalar such as "don't [x]" they are text).
		tokenStart := prev == 0 || prev == ' ' || prev == '\t' || (flow > 0 && (prev == '[' || prev == '{' || prev == ','))
		opens := (flow > 0 && tokenStart) || (flow == 0 && valueStart)
		switch {
		case c == '\n':
			// A line whose last token is | or > (with -, + or a digit after)
			// opens a block scalar: the lines indented under it are text.
			if flow == 0 && tokBegin >= 0 && (data[tokBegin] == '|' || data[tokBegin] == '>') && blockIndicators(data[tokBegin+1:tokEnd+1]) {
				blockParent, blockIndent = lineIndent, -1
			}
			continue
		case c == '#' && (prev == 0 || prev == ' ' || prev == '\t'):
			for i+1 < len(data) && data[i+1] != '\n' {
				i++
			}
			continue
		case c == ' ' || c == '\t' || c == '\r':
			prev = ' '
			continue
		case opens && (c == '"' || c == '\''):
			quote = c
		case c == '-' && itemStart && (i+1 == len(data) || data[i+1] == ' ' || data[i+1] == '\n' || data[i+1] == '\r'):
			dashes++
		case (c == '[' || c == '{') && (opens || flow > 0):
			flow++
		case (c == ']' || c == '}') && flow > 0:
			flow--
		}
		if c != '-' || !itemStart {
			itemStart = false
		}
		// ": " and "? " start a value; a "- " item does too; anything else is text.
		next := byte(' ')
		if i+1 < len(data) && data[i+1] != '\r' && data[i+1] != '\n' {
			next = data[i+1]
		}
		valueStart = (c == ':' || c == '?' || c == '-') && next == ' ' && (c != '-' || itemStart)
		if tokenStart {
			tokBegin = i
		}
		tokEnd = i
		prev = c
		if len(indents)+dashes+flow > maxConfigDepth {
			return line
		}
	}
	return 0
}

// blockIndicators reports whether b holds only a block scalar's chomping
// and indentation indicators (-, +, 1-9).
func blockIndicators(b []byte) bool {
	for _, c := range b {
		if c != '-' && c != '+' && (c < '1' || c > '9') {
			return false
		}
	}
	return true
}

// aliasProblem counts what the aliases of file would add once expanded,
// without expanding anything (each anchor's size is computed once), and
// names the alias at which the total passes maxAliasValues.
func aliasProblem(name string, file *ast.File) *Problem {
	c := &aliasCounter{sizes: map[string]int{}}
	for _, doc := range file.Docs {
		if doc != nil && doc.Body != nil {
			c.size(doc.Body)
		}
		if c.overLine != 0 || c.over {
			return &Problem{File: name, Line: c.overLine, Msg: fmt.Sprintf("aliases expand the config beyond %d values (the limit for a config file); write the values out or use fewer aliases", maxAliasValues)}
		}
	}
	return nil
}

type aliasCounter struct {
	sizes    map[string]int // anchor name -> values it stands for, expanded
	added    int            // values the aliases seen so far add
	over     bool
	overLine int
}

// size is the number of values under n with its aliases expanded (each
// counted by its anchor's memoised size, never walked again).
func (c *aliasCounter) size(n ast.Node) int {
	v := &sizeVisitor{c: c}
	ast.Walk(v, n)
	return v.n
}

type sizeVisitor struct {
	c *aliasCounter
	n int
}

func (v *sizeVisitor) Visit(n ast.Node) ast.Visitor {
	if n == nil || v.c.over {
		return nil
	}
	switch n := n.(type) {
	case *ast.AnchorNode:
		s := 0
		if n.Value != nil {
			s = v.c.size(n.Value)
		}
		if n.Name != nil && n.Name.GetToken() != nil {
			v.c.sizes[n.Name.GetToken().Value] = s
		}
		v.n += s
		return nil
	case *ast.AliasNode:
		s := 1
		if n.Value != nil && n.Value.GetToken() != nil {
			s = max(v.c.sizes[n.Value.GetToken().Value], 1)
		}
		v.n += s
		v.c.added += s
		if v.c.added > maxAliasValues {
			v.c.over = true
			if tk := n.GetToken(); tk != nil && tk.Position != nil {
				v.c.overLine = tk.Position.Line
			}
		}
		return nil
	case *ast.CommentGroupNode, *ast.CommentNode:
		return nil
	}
	v.n++
	return v
}
