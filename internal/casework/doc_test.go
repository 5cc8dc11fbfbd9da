package casework_test

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"whistle/internal/casework"
)

// TestWorkflowsDoc fails when docs/WORKFLOWS.md is not what the workflow
// files generate. WHISTLE_WRITE_DOCS=1 rewrites it.
func TestWorkflowsDoc(t *testing.T) {
	want, err := casework.WorkflowsDoc()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("..", "..", "docs", "WORKFLOWS.md")
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
		t.Errorf("%s is not what the workflow files generate; run WHISTLE_WRITE_DOCS=1 go test -run TestWorkflowsDoc ./internal/casework", path)
	}
	for _, s := range [][]byte{[]byte("(`whistle`, version 1)"), []byte("(`urban`, version 1)"), []byte("| `revisit` 回访 |")} {
		if !bytes.Contains(got, s) {
			t.Errorf("%s lacks %q", path, s)
		}
	}
}
