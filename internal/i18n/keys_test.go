package i18n_test

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"whistle/internal/i18n"
)

// keyUses finds message keys passed to errs.E, (*errs.Error).Field,
// errs.Msg literals, catalogue lookups in templates and notify.Add.
var keyUses = []*regexp.Regexp{
	regexp.MustCompile(`errs\.E\([^,()]+,\s*"([a-z0-9_.]+)"`),
	regexp.MustCompile(`\.Field\([^,()]+,\s*"([a-z0-9_.]+)"`),
	regexp.MustCompile(`Msg\{Key:\s*"([a-z0-9_.]+)"`),
	regexp.MustCompile(`notify\.Add\([^"]*"[a-z_]+",\s*"([a-z0-9_.]+)"`),
	regexp.MustCompile(`\{\{\s*T\s+[$.A-Za-z]+\s+"([a-z0-9_.]+)"`),
	regexp.MustCompile(`Catalog\.T\([^,()]+,\s*"([a-z0-9_.]+)"`),
}

// TestEveryUsedKeyExists fails when code or a template names a message key
// that the catalogues lack, which would show the raw key to a user.
func TestEveryUsedKeyExists(t *testing.T) {
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Join("..", "..")
	seen := 0
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || strings.HasSuffix(path, "_test.go") || !(strings.HasSuffix(path, ".go") || strings.HasSuffix(path, ".html")) {
			return nil
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, re := range keyUses {
			for _, m := range re.FindAllStringSubmatch(string(b), -1) {
				if strings.HasSuffix(m[1], ".") {
					continue // a prefix completed at run time, e.g. "status." + state
				}
				seen++
				if !cat.Has(m[1]) {
					t.Errorf("%s uses message key %q, which the catalogues lack", path, m[1])
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if seen < 50 {
		t.Errorf("found only %d key uses; the patterns no longer match the code", seen)
	}
}
