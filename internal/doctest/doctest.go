// Package doctest holds generated documents to what their source
// generates, for the tests of the packages that generate them
// (docs/WORKFLOWS.md, docs/INDICATORS.md).
package doctest

import (
	"bytes"
	"os"
	"testing"
)

// Golden fails t when the file at path is not want, the generated text.
// With WHISTLE_WRITE_DOCS=1 it first rewrites the file. rewrite is the
// command that regenerates it, for the failure message. It returns the
// file as read, for the caller's own checks of its content.
func Golden(t testing.TB, path string, want []byte, rewrite string) []byte {
	t.Helper()
	if os.Getenv("WHISTLE_WRITE_DOCS") == "1" {
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s is not what its source generates; run %s", path, rewrite)
	}
	return got
}
