package web

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"strings"
	"testing"
)

// TestRoutesInOneFile (issue 14, Build 4): the handlers are split by
// feature, but routes.go stays the one file that lists every route, so no
// other non-test file registers one (s.handle, mux.Handle or
// mux.HandleFunc); and no feature's handler type holds the whole Server or
// its Deps, only the services it uses.
func TestRoutesInOneFile(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	registrations, features := 0, 0
	for _, name := range files {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, parser.SkipObjectResolution)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				x := exprText(sel.X)
				if (sel.Sel.Name == "handle" && len(n.Args) == 3) || (strings.HasSuffix(x, "mux") && strings.HasPrefix(sel.Sel.Name, "Handle")) {
					if name != "routes.go" {
						t.Errorf("%s: registers a route (%s.%s); routes.go lists every route", fset.Position(n.Pos()), x, sel.Sel.Name)
					}
					registrations++
				}
			case *ast.TypeSpec:
				st, ok := n.Type.(*ast.StructType)
				if !ok || n.Name.Name == "Server" {
					return true
				}
				for _, fl := range st.Fields.List {
					typ := typeText(fl.Type)
					if typ == "*Server" || typ == "Server" || typ == "Deps" || typ == "*Deps" {
						t.Errorf("%s: %s holds %s; a feature's handlers hold only the services they use", fset.Position(fl.Pos()), n.Name.Name, typ)
					}
					if typ == "*view" {
						features++
					}
				}
			}
			return true
		})
	}
	// The walk must have seen the routes and the feature types, or it
	// checked nothing.
	if registrations < 100 || features < 5 {
		t.Fatalf("saw %d route registrations and %d feature types; the walk is broken", registrations, features)
	}
}

// typeText is a field type as written, for the few shapes the test asks
// about: T, *T and pkg.T.
func typeText(e ast.Expr) string {
	if star, ok := e.(*ast.StarExpr); ok {
		return "*" + exprText(star.X)
	}
	return exprText(e)
}
