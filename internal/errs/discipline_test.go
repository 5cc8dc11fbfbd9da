package errs_test

import (
	"errors"
	"io"

	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"whistle/internal/errs"
)

// pendingWrapf lists the packages whose stores are not converted yet.
var pendingWrapf = map[string]bool{}

// storeLike reports whether methods of the named type are store
// functions: the types that own rows or a service over them.
func storeLike(name string) bool {
	return strings.HasSuffix(name, "Store") || name == "Service" || name == "Log" || name == "Engine" || name == "Registry"
}

// unwrapped lists the exported methods of store-like types in the Go
// files under dir whose last result is an error and whose first statement
// is not `defer errs.Wrapf(&err, …)`.
func unwrapped(t *testing.T, dir string) []string {
	t.Helper()
	var bad []string
	fset := token.NewFileSet()
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "testdata" || pendingWrapf[d.Name()] {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, p, nil, 0)
		if err != nil {
			return err
		}
		for _, decl := range f.Decls {
			fd, ok := decl.(*ast.FuncDecl)
			if !ok || fd.Recv == nil || fd.Body == nil || !fd.Name.IsExported() {
				continue
			}
			rt := fd.Recv.List[0].Type
			if s, ok := rt.(*ast.StarExpr); ok {
				rt = s.X
			}
			id, ok := rt.(*ast.Ident)
			if !ok || !id.IsExported() || !storeLike(id.Name) {
				continue
			}
			res := fd.Type.Results
			if res == nil {
				continue
			}
			if last, ok := res.List[len(res.List)-1].Type.(*ast.Ident); !ok || last.Name != "error" {
				continue
			}
			if !wrapsFirst(fd.Body) {
				bad = append(bad, fset.Position(fd.Pos()).String()+": "+id.Name+"."+fd.Name.Name)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return bad
}

func wrapsFirst(b *ast.BlockStmt) bool {
	if len(b.List) == 0 {
		return false
	}
	ds, ok := b.List[0].(*ast.DeferStmt)
	if !ok {
		return false
	}
	se, ok := ds.Call.Fun.(*ast.SelectorExpr)
	if !ok || se.Sel.Name != "Wrapf" {
		return false
	}
	x, ok := se.X.(*ast.Ident)
	return ok && x.Name == "errs"
}

// TestStoresWrapErrors holds the one Wrapf discipline: every exported
// method of a store (a *Store, Service, Log, Engine or Registry) that can
// fail starts with `defer errs.Wrapf(&err, "pkg.Type.Method")`, so an
// unexpected error names where it happened while expected ones (*Error)
// keep their identity.
func TestStoresWrapErrors(t *testing.T) {
	for _, b := range unwrapped(t, "..") {
		t.Errorf("%s does not start with defer errs.Wrapf(&err, …)", b)
	}
}

// TestWrapfCheckSeesAMissingWrap proves the check can fail: a store method
// without the deferred Wrapf is reported.
func TestWrapfCheckSeesAMissingWrap(t *testing.T) {
	dir := t.TempDir()
	src := `package x

import "whistle/internal/errs"

type Store struct{}

func (s *Store) Good() (err error) {
	defer errs.Wrapf(&err, "x.Store.Good")
	return nil
}

func (s *Store) Bad() error { return nil }

func (s *Store) NoError() int { return 0 }

func (s *Store) unexported() error { return nil }
`
	if err := os.WriteFile(filepath.Join(dir, "x.go"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	got := unwrapped(t, dir)
	if len(got) != 1 || !strings.HasSuffix(got[0], "Store.Bad") {
		t.Errorf("got %v, want only Store.Bad", got)
	}
}

type importProblems struct{}

func (importProblems) Error() string      { return "2 problems" }
func (importProblems) AsErr() *errs.Error { return errs.E(errs.Invalid, "error.invalid") }

// TestWrapfKeepsExpectedErrors: Wrapf names unexpected errors and leaves
// expected ones (*Error, or a type with AsErr) as they are.
func TestWrapfKeepsExpectedErrors(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"unexpected", io.ErrUnexpectedEOF, "x.Store.Get(7): unexpected EOF"},
		{"domain error", errs.E(errs.NotFound, "error.not_found"), errs.E(errs.NotFound, "error.not_found").Error()},
		{"expected type", importProblems{}, "2 problems"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.err
			errs.Wrapf(&err, "x.Store.Get(%d)", 7)
			if got := err.Error(); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			if !errors.Is(err, tt.err) && tt.name != "domain error" {
				t.Errorf("errors.Is(wrapped, original) = false")
			}
		})
	}
}
