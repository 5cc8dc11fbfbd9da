// Command mutations applies the scope-removing mutations of this directory
// to a copy of the tree, for scripts/mutate.sh (`make mutate`).
//
// Each *.mut file describes one mutation, or one per word of its "each:"
// line (written into the text where it says @EACH@):
//
//	# what the mutation removes, and why the tests must notice
//	file: internal/casework/act.go
//	test: ./cmd/whistle ^(TestAuthorizationActions|TestAuthorizationMatrix)$
//	test: ./internal/casework
//	each: accept dispatch
//	--- find
//	the exact text to replace (it must occur exactly once)
//	--- replace
//	the text to put instead
//
// A file may hold several find/replace pairs; each must match exactly once,
// so that a mutation whose code has moved on fails loudly instead of
// being counted as killed.
//
//	mutations list DIR             names, one a line
//	mutations tests DIR NAME       its tests: "package<TAB>run pattern" lines
//	mutations check DIR ROOT       fails unless every mutation applies under ROOT
//	mutations apply DIR NAME ROOT  rewrites the file under ROOT
package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// mutation is one scope-removing change to one file.
type mutation struct {
	Name  string
	Doc   string
	File  string
	Tests []string // "package<TAB>pattern"
	Edits []edit
}

// edit replaces text that must occur exactly once.
type edit struct{ Find, Replace string }

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "mutations:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	if len(args) < 2 {
		return errors.New("usage: mutations list|tests|check|apply DIR [NAME] [ROOT]")
	}
	muts, err := load(args[1])
	if err != nil {
		return err
	}
	find := func(name string) (mutation, error) {
		for _, m := range muts {
			if m.Name == name {
				return m, nil
			}
		}
		return mutation{}, fmt.Errorf("no mutation %q", name)
	}
	switch {
	case args[0] == "list":
		for _, m := range muts {
			fmt.Println(m.Name)
		}
		return nil
	case args[0] == "tests" && len(args) == 3:
		m, err := find(args[2])
		if err != nil {
			return err
		}
		for _, t := range m.Tests {
			fmt.Println(t)
		}
		return nil
	case args[0] == "check" && len(args) == 3:
		// Every mutation must still find its text, before any test runs.
		var stale []string
		for _, m := range muts {
			b, err := os.ReadFile(filepath.Join(args[2], m.File))
			if err == nil {
				_, err = rewrite(string(b), m.Edits)
			}
			if err != nil {
				fmt.Fprintf(os.Stderr, "BROKEN    %s on %s: %v\n", m.Name, m.File, err)
				stale = append(stale, m.Name)
			}
		}
		if len(stale) > 0 {
			return fmt.Errorf("%d mutations do not apply (the code has changed: update them): %s", len(stale), strings.Join(stale, " "))
		}
		return nil
	case args[0] == "apply" && len(args) == 4:
		m, err := find(args[2])
		if err != nil {
			return err
		}
		return apply(m, args[3])
	}
	return errors.New("usage: mutations list|tests|check|apply DIR [NAME] [ROOT]")
}

// load reads every *.mut file of dir, in name order.
func load(dir string) ([]mutation, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.mut"))
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	var out []mutation
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		ms, err := parse(strings.TrimSuffix(filepath.Base(f), ".mut"), string(b))
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		out = append(out, ms...)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no *.mut files in %s", dir)
	}
	return out, nil
}

// parse reads one file; an "each:" line makes one mutation per word.
func parse(name, text string) ([]mutation, error) {
	m := mutation{Name: name}
	var each []string
	var cur *string
	for _, line := range strings.SplitAfter(text, "\n") {
		bare := strings.TrimRight(line, "\n")
		switch {
		case bare == "--- find":
			m.Edits = append(m.Edits, edit{})
			cur = &m.Edits[len(m.Edits)-1].Find
		case bare == "--- replace":
			if len(m.Edits) == 0 || cur != &m.Edits[len(m.Edits)-1].Find {
				return nil, errors.New("--- replace without its --- find")
			}
			cur = &m.Edits[len(m.Edits)-1].Replace
		case cur != nil:
			*cur += line
		case strings.HasPrefix(bare, "#"):
			m.Doc += strings.TrimSpace(strings.TrimPrefix(bare, "#")) + " "
		case strings.HasPrefix(bare, "file:"):
			m.File = strings.TrimSpace(strings.TrimPrefix(bare, "file:"))
		case strings.HasPrefix(bare, "test:"):
			pkg, pattern, _ := strings.Cut(strings.TrimSpace(strings.TrimPrefix(bare, "test:")), " ")
			m.Tests = append(m.Tests, pkg+"\t"+strings.TrimSpace(pattern))
		case strings.HasPrefix(bare, "each:"):
			each = strings.Fields(strings.TrimPrefix(bare, "each:"))
		case strings.TrimSpace(bare) == "":
		default:
			return nil, fmt.Errorf("unexpected line %q", bare)
		}
	}
	switch {
	case m.File == "":
		return nil, errors.New("no file: line")
	case len(m.Tests) == 0:
		return nil, errors.New("no test: line")
	case len(m.Edits) == 0:
		return nil, errors.New("no --- find / --- replace pair")
	}
	for _, e := range m.Edits {
		if strings.TrimSpace(e.Find) == "" {
			return nil, errors.New("an empty --- find")
		}
		if e.Find == e.Replace {
			return nil, errors.New("a replacement that changes nothing")
		}
	}
	if each == nil {
		if strings.Contains(text, "@EACH@") {
			return nil, errors.New("@EACH@ without an each: line")
		}
		return []mutation{m}, nil
	}
	var out []mutation
	for _, w := range each {
		x := m
		x.Name = name + "-" + w
		x.Edits = nil
		for _, e := range m.Edits {
			x.Edits = append(x.Edits, edit{strings.ReplaceAll(e.Find, "@EACH@", w), strings.ReplaceAll(e.Replace, "@EACH@", w)})
		}
		out = append(out, x)
	}
	return out, nil
}

// apply rewrites m.File under root; every find must occur exactly once.
func apply(m mutation, root string) error {
	path := filepath.Join(root, m.File)
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	s, err := rewrite(string(b), m.Edits)
	if err != nil {
		return fmt.Errorf("%s on %s: %w (the code has changed: update the mutation)", m.Name, m.File, err)
	}
	return os.WriteFile(path, []byte(s), 0o644)
}

func rewrite(s string, edits []edit) (string, error) {
	for i, e := range edits {
		switch n := strings.Count(s, e.Find); n {
		case 1:
			s = strings.Replace(s, e.Find, e.Replace, 1)
		case 0:
			return "", fmt.Errorf("edit %d: the text to find is not there: %q", i+1, e.Find)
		default:
			return "", fmt.Errorf("edit %d: the text to find occurs %d times: %q", i+1, n, e.Find)
		}
	}
	return s, nil
}
