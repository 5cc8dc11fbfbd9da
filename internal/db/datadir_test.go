package db_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"whistle/internal/clock"
	"whistle/internal/db"
)

// TestDataDirWithURICharacters opens SQLite in data dirs whose names mean
// something in a SQLite URI: the file must be whistle.db inside each, and
// no file may appear where the name would be cut ("run" for "run#2").
func TestDataDirWithURICharacters(t *testing.T) {
	ctx := context.Background()
	// The subtests' own temp dirs would carry their names, so the parents
	// are made under the test's, whose name has none of these characters.
	top := t.TempDir()
	for i, name := range []string{"run#2", "ask?x=1", "pct%20d", "a#b?c%d"} {
		t.Run(name, func(t *testing.T) {
			parent := filepath.Join(top, strconv.Itoa(i))
			dir := filepath.Join(parent, name)
			d, err := db.Open(ctx, db.Config{DataDir: dir}, clock.Real{})
			if err != nil {
				t.Fatalf("open: %v", err)
			}
			if _, err := d.Migrate(ctx); err != nil {
				d.Close()
				t.Fatalf("migrate: %v", err)
			}
			d.Close()
			if _, err := os.Stat(filepath.Join(dir, "whistle.db")); err != nil {
				t.Errorf("got no whistle.db in %q: %v", dir, err)
			}
			entries, err := os.ReadDir(parent)
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				if e.Name() != name {
					t.Errorf("got %q beside the data dir %q, want nothing else", e.Name(), name)
				}
			}
		})
	}
}
