package main

import (
	"bytes"
	"path/filepath"
	"testing"

	"whistle/internal/casework"
	"whistle/internal/dispute"
	"whistle/internal/doctest"
)

// TestWorkflowsDoc fails when docs/WORKFLOWS.md is not what the workflow
// files of every module on the kernel generate (casework's, then the
// disputes' and hazards'): this package is the one that wires them all.
// WHISTLE_WRITE_DOCS=1 rewrites it.
func TestWorkflowsDoc(t *testing.T) {
	defs, err := dispute.Definitions()
	if err != nil {
		t.Fatal(err)
	}
	want, err := casework.WorkflowsDoc(defs[dispute.KindDispute], defs[dispute.KindHazard])
	if err != nil {
		t.Fatal(err)
	}
	got := doctest.Golden(t, filepath.Join("..", "..", "docs", "WORKFLOWS.md"), want, "WHISTLE_WRITE_DOCS=1 go test -run TestWorkflowsDoc ./cmd/whistle")
	for _, s := range [][]byte{[]byte("(`whistle`, version 2)"), []byte("(`urban`, version 2)"), []byte("| `revisit` 回访 |"),
		[]byte("(`dispute`, version 1)"), []byte("(`hazard`, version 1)"), []byte("| `escalate` 逾期上报 |")} {
		if !bytes.Contains(got, s) {
			t.Errorf("docs/WORKFLOWS.md lacks %q", s)
		}
	}
}
