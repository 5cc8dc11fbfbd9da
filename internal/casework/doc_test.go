package casework_test

import (
	"bytes"
	"path/filepath"
	"testing"

	"whistle/internal/casework"
	"whistle/internal/doctest"
)

// TestWorkflowsDoc fails when docs/WORKFLOWS.md is not what the workflow
// files generate. WHISTLE_WRITE_DOCS=1 rewrites it.
func TestWorkflowsDoc(t *testing.T) {
	want, err := casework.WorkflowsDoc()
	if err != nil {
		t.Fatal(err)
	}
	got := doctest.Golden(t, filepath.Join("..", "..", "docs", "WORKFLOWS.md"), want, "WHISTLE_WRITE_DOCS=1 go test -run TestWorkflowsDoc ./internal/casework")
	for _, s := range [][]byte{[]byte("(`whistle`, version 2)"), []byte("(`urban`, version 2)"), []byte("| `revisit` 回访 |")} {
		if !bytes.Contains(got, s) {
			t.Errorf("docs/WORKFLOWS.md lacks %q", s)
		}
	}
}
