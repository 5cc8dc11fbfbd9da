package web

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestNoDatabaseInWeb (issue 14, Build 4 and the first acceptance item):
// internal/web is the HTTP adapter and holds services, so no non-test file
// may import the database packages or run SQL on a handle. A call of Query
// is allowed on a URL (r.URL.Query()) and without arguments (the filter
// form's Query builds a query string): SQL's Query needs at least the SQL.
func TestNoDatabaseInWeb(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	forbiddenImports := map[string]bool{"whistle/internal/db": true, "database/sql": true}
	forbiddenCalls := map[string]bool{"InTx": true, "QueryRow": true, "Exec": true, "QueryContext": true, "ExecContext": true, "QueryRowContext": true}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		for _, imp := range f.Imports {
			if path, _ := strconv.Unquote(imp.Path.Value); forbiddenImports[path] {
				t.Errorf("%s: imports %q; web must call a service instead", fset.Position(imp.Pos()), path)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			sel, ok := call.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			method := sel.Sel.Name
			switch {
			case forbiddenCalls[method]:
				t.Errorf("%s: calls .%s(; web runs no SQL", fset.Position(call.Pos()), method)
			case method == "Query" && len(call.Args) > 0 && !strings.HasSuffix(exprText(sel.X), "URL"):
				t.Errorf("%s: calls %s.Query( on something other than a URL; web runs no SQL", fset.Position(call.Pos()), exprText(sel.X))
			}
			return true
		})
	}
	if checked == 0 {
		t.Fatal("no non-test Go file found to check")
	}
}

// exprText renders a receiver such as r.URL or s.DB for the rule and the
// message; anything more complex renders as "?" and so is never a URL.
func exprText(e ast.Expr) string {
	switch x := e.(type) {
	case *ast.Ident:
		return x.Name
	case *ast.SelectorExpr:
		return exprText(x.X) + "." + x.Sel.Name
	case *ast.ParenExpr:
		return exprText(x.X)
	default:
		return "?"
	}
}
