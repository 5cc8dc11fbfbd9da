package workflow

import (
	"fmt"
	"strings"
)

// Markdown documents d as a section of a Markdown file: its label,
// description, states (labels, terminal and paused flags, time-limit
// stages) and actions (from, to, who, fields, guards, effects, notes), so
// that the documentation is generated from the definition and cannot
// drift from it.
func Markdown(d *Definition) string {
	var b strings.Builder
	fmt.Fprintf(&b, "## %s / %s (`%s`, version %d)\n\n", d.Label.Zh, d.Label.En, d.Name, d.Version)
	if d.Description != "" {
		b.WriteString(d.Description + "\n\n")
	}
	if d.Prefix != "" {
		fmt.Fprintf(&b, "Numbers start with `%s`. ", d.Prefix)
	}
	fmt.Fprintf(&b, "The initial state is `%s`.\n\n", d.Initial)
	b.WriteString("### States\n\n| state | 中文 | English | kind | time-limit stage |\n|---|---|---|---|---|\n")
	for _, s := range d.States {
		kind := "open"
		switch {
		case s.Terminal:
			kind = "terminal"
		case s.Paused:
			kind = "paused"
		}
		if s.Resolved {
			kind += ", resolved"
		}
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", s.Name, cell(s.Label.Zh), cell(s.Label.En), kind, code(s.Stage))
	}
	if len(d.Stages) > 0 {
		b.WriteString("\n### Time-limit stages\n\nA district's rule for a category or a region (`/admin/sla`) overrides the default limit; an assessed stage counts in the on-time indicators.\n\n| stage | 中文 | English | default limit | warning | assessed |\n|---|---|---|---|---|---|\n")
		for _, st := range d.Stages {
			lim := st.Limit.String()
			if st.UseCategory {
				lim = "the category's own, else " + lim
			}
			warn := "default"
			if st.WarnPercent > 0 {
				warn = fmt.Sprintf("at %d%%", st.WarnPercent)
			}
			assessed := "no"
			if st.Assessed {
				assessed = "yes"
			}
			fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s | %s |\n", st.Name, cell(st.Label.Zh), cell(st.Label.En), lim, warn, assessed)
		}
	}
	b.WriteString("\n### Actions\n\n| action | from | to | who | requires | optional | when | effects | notes |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, a := range d.Actions {
		name := "`" + a.Name + "`"
		if l, ok := d.ActionLabels[a.Name]; ok && l.Zh != "" {
			name += " " + cell(l.Zh)
		}
		to := code(a.To)
		if a.To == "" {
			to = "(stays)"
		}
		who := append(codes(a.Roles), codes(a.Relations)...)
		var when []string
		for _, c := range a.When {
			when = append(when, fmt.Sprintf("`%s %s %d`", c.Field, c.Op, c.Value))
		}
		notes := cell(a.Description)
		if !a.Public {
			notes = strings.TrimSpace("staff only. " + notes)
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n", name, list(codes(a.From)), to, list(who),
			list(codes(a.Requires)), list(codes(a.Optional)), list(when), list(codes(a.Effects)), notes)
	}
	return b.String()
}

// Doc writes a Markdown document of workflows: header, a section per
// definition (Markdown) in the given order, then notes. Every module's
// definitions go into the one document (docs/WORKFLOWS.md), so that it is
// generated from the files and cannot drift from them.
func Doc(header []byte, defs []*Definition, notes []byte) []byte {
	var b strings.Builder
	b.Write(header)
	for _, d := range defs {
		b.WriteString("\n" + Markdown(d))
	}
	if len(notes) > 0 {
		b.WriteString("\n")
		b.Write(notes)
	}
	return []byte(b.String())
}

func cell(s string) string { return strings.ReplaceAll(strings.ReplaceAll(s, "|", `\|`), "\n", " ") }

func code(s string) string {
	if s == "" {
		return "–"
	}
	return "`" + s + "`"
}

func codes(xs []string) []string {
	out := make([]string, len(xs))
	for i, x := range xs {
		out[i] = "`" + x + "`"
	}
	return out
}

func list(xs []string) string {
	if len(xs) == 0 {
		return "–"
	}
	return strings.Join(xs, ", ")
}
