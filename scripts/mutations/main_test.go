package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseAndRewrite(t *testing.T) {
	src := "func f() {\n\tif ok {\n\t\treturn\n\t}\n}\n"
	for _, tc := range []struct {
		name, mut string
		want      []string // the names, then the rewritten text of the first
		err       string
	}{
		{name: "one edit", mut: "# doc\nfile: a.go\ntest: ./a\n--- find\n\tif ok {\n--- replace\n\tif true {\n",
			want: []string{"m", "func f() {\n\tif true {\n\t\treturn\n\t}\n}\n"}},
		{name: "each", mut: "file: a.go\ntest: ./a Test\neach: x y\n--- find\n\tif ok {\n--- replace\n\tif @EACH@ {\n",
			want: []string{"m-x", "m-y", "func f() {\n\tif x {\n\t\treturn\n\t}\n}\n"}},
		{name: "stale", mut: "file: a.go\ntest: ./a\n--- find\n\tif gone {\n--- replace\n\tif true {\n", err: "not there"},
		{name: "ambiguous", mut: "file: a.go\ntest: ./a\n--- find\n}\n--- replace\n} // x\n", err: "occurs 2 times"},
		{name: "no change", mut: "file: a.go\ntest: ./a\n--- find\nx\n--- replace\nx\n", err: "changes nothing"},
		{name: "no test", mut: "file: a.go\n--- find\nx\n--- replace\ny\n", err: "no test"},
		{name: "replace first", mut: "file: a.go\ntest: ./a\n--- replace\ny\n", err: "without its"},
		{name: "stray line", mut: "file: a.go\ntest: ./a\nbogus\n--- find\nx\n--- replace\ny\n", err: "unexpected line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ms, err := parse("m", tc.mut)
			if err == nil {
				var got string
				got, err = rewrite(src, ms[0].Edits)
				if err == nil {
					names := []string{}
					for _, m := range ms {
						names = append(names, m.Name)
					}
					if g, w := strings.Join(append(names, got), "|"), strings.Join(tc.want, "|"); g != w {
						t.Errorf("got %q, want %q", g, w)
					}
				}
			}
			if tc.err == "" && err != nil {
				t.Fatalf("got %v, want no error", err)
			}
			if tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
				t.Fatalf("got %v, want an error saying %q", err, tc.err)
			}
		})
	}
}

// TestEveryMutationApplies: each shipped mutation still finds its text in
// the tree, exactly once, so that `make mutate` never counts a stale one.
func TestEveryMutationApplies(t *testing.T) {
	muts, err := load(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range muts {
		b, err := os.ReadFile(filepath.Join("..", "..", m.File))
		if err != nil {
			t.Errorf("%s: %v", m.Name, err)
			continue
		}
		if _, err := rewrite(string(b), m.Edits); err != nil {
			t.Errorf("%s on %s: %v", m.Name, m.File, err)
		}
	}
	if len(muts) < 30 {
		t.Errorf("%d mutations, want at least one per workflow action and scope filter", len(muts))
	}
}
