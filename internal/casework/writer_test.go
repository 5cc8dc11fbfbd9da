package casework_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// casesWrite matches SQL that writes the cases table.
var casesWrite = regexp.MustCompile(`(?is)\b(update|insert\s+into|delete\s+from)\s+cases\b`)

// writesCases returns the SQL in src's string literals (a concatenation
// read as one string, its non-literal parts as "?") that writes the cases
// table, with the line of each.
func writesCases(t *testing.T, name string, src []byte) []string {
	t.Helper()
	fset := token.NewFileSet()
	f, err := parser.ParseFile(fset, name, src, parser.SkipObjectResolution)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	var found []string
	var text func(e ast.Expr) string
	text = func(e ast.Expr) string {
		switch x := e.(type) {
		case *ast.BasicLit:
			if x.Kind == token.STRING {
				s, err := strconv.Unquote(x.Value)
				if err == nil {
					return s
				}
			}
		case *ast.BinaryExpr:
			if x.Op == token.ADD {
				return text(x.X) + text(x.Y)
			}
		case *ast.ParenExpr:
			return text(x.X)
		}
		return "?"
	}
	ast.Inspect(f, func(n ast.Node) bool {
		switch x := n.(type) {
		case *ast.BinaryExpr, *ast.BasicLit:
			if m := casesWrite.FindString(text(x.(ast.Expr))); m != "" {
				found = append(found, fset.Position(n.Pos()).String()+": "+m)
			}
			return false // a concatenation is read whole, once
		}
		return true
	})
	return found
}

func TestWritesCases(t *testing.T) {
	tests := []struct {
		name string
		src  string
		want int
	}{
		{"update literal", "package p\nconst q = `UPDATE cases SET sla_state = $1`", 1},
		{"insert across a concatenation", "package p\nvar q = \"INSERT INTO \" + \"cases (number)\" + cols", 1},
		{"delete on a new line", "package p\nconst q = `DELETE\n\tFROM cases WHERE id = $1`", 1},
		{"lower case", "package p\nconst q = \"update cases set x = 1\"", 1},
		{"another table", "package p\nconst q = `UPDATE cases_archive SET x = 1; INSERT INTO case_events (id) VALUES (1)`", 0},
		{"a read", "package p\nconst q = `SELECT id FROM cases WHERE id = $1`", 0},
		{"a comment", "package p\n// UPDATE cases SET x = 1\nconst q = 1", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := writesCases(t, "x.go", []byte(tt.src)); len(got) != tt.want {
				t.Errorf("got %q, want %d", got, tt.want)
			}
		})
	}
}

// TestOnlyCaseworkWritesCases: the cases table has one writer, casework.
// Every other package's non-test Go file is scanned for SQL that updates,
// inserts into or deletes from cases. The one exception is the demo's
// history generator (internal/demo), which bulk-loads up to ten million
// finished cases with multi-row INSERTs into an empty database before the
// server starts: a year of history through one change path per case would
// take days, and no live case is written there.
func TestOnlyCaseworkWritesCases(t *testing.T) {
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root: %v", err)
	}
	skip := map[string]bool{"internal/casework": true, "internal/demo": true}
	var found []string
	files := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, path)
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if skip[rel] || strings.HasPrefix(d.Name(), ".") || d.Name() == "testdata" || d.Name() == "node_modules" || d.Name() == "vendor" {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(rel, ".go") || strings.HasSuffix(rel, "_test.go") {
			return nil
		}
		src, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		found = append(found, writesCases(t, rel, src)...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 50 {
		t.Fatalf("scanned %d files under %s; want the whole module", files, root)
	}
	for _, f := range found {
		t.Errorf("writes the cases table outside casework: %s", f)
	}
}
