package benchreport

import (
	"strings"
	"testing"
	"testing/fstest"
)

// TestRenderKeepsMutationSection: `whistle bench report` rewrites
// docs/BENCHMARKS.md, and must carry the mutation test's section over,
// after the fuzzing, with its kill rate.
func TestRenderKeepsMutationSection(t *testing.T) {
	t.Parallel()
	_, doc := render(t, fstest.MapFS{})
	fuzz, mut := strings.Index(doc, "## Fuzzing"), strings.Index(doc, `## Mutation testing (issue "Hardening")`)
	if fuzz < 0 || mut < fuzz {
		t.Fatalf("the mutation section is missing or before the fuzzing (at %d, fuzzing at %d)", mut, fuzz)
	}
	if sec := doc[mut:]; !strings.Contains(sec, "Kill rate") || !strings.Contains(sec, "make mutate") {
		t.Errorf("the mutation section has no kill rate or command:\n%s", sec)
	}
}
