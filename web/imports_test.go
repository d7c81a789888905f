package web

import (
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// Issue 13: HTTP handlers never hold a transaction. Package web (its
// non-test files) does not import database/sql: every write is a store
// method named after what it stores, which opens and commits its own
// transaction.
func TestWebImportsNoSQL(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			path, _ := strconv.Unquote(imp.Path.Value)
			if path == "database/sql" || strings.HasPrefix(path, "database/sql/") {
				t.Errorf("%s imports %s: web must reach the store through its domain methods", name, path)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no Go files found in package web")
	}
}
