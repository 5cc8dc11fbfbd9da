package indicator

import (
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// Markdown renders indicators as the reference document
// (docs/INDICATORS.md): one section per indicator with its unit,
// direction, source, formula and definitions. intro is set above them.
func Markdown(intro string, ins []Indicator, sources map[string]string) []byte {
	var b strings.Builder
	b.WriteString("<!-- Generated from the indicator registry by TestIndicatorsDoc (internal/stats); do not edit. -->\n\n")
	b.WriteString(intro)
	if len(sources) > 0 {
		b.WriteString("\n## Sources\n\n")
		for _, name := range slices.Sorted(maps.Keys(sources)) {
			fmt.Fprintf(&b, "- `%s`: %s\n", name, sources[name])
		}
	}
	b.WriteString("\n## Indicators\n\n| name | 指标 | indicator | unit | better |\n|---|---|---|---|---|\n")
	for _, in := range ins {
		fmt.Fprintf(&b, "| [`%s`](#%s) | %s | %s | %s | %s |\n", in.Name, in.Name, in.Label.ZH, in.Label.EN, in.Unit, direction(in.Direction))
	}
	for _, in := range ins {
		fmt.Fprintf(&b, "\n### %s\n\n**%s** · **%s**\n\n", in.Name, in.Label.ZH, in.Label.EN)
		fmt.Fprintf(&b, "- Unit: %s; %s\n- Source: `%s`; value: %s\n", in.Unit, direction(in.Direction), in.Source, formula(in.Formula))
		fmt.Fprintf(&b, "- 定义：%s\n- Definition: %s\n", in.Definition.ZH, in.Definition.EN)
	}
	return []byte(b.String())
}

func direction(d Direction) string {
	switch d {
	case HigherBetter:
		return "higher is better"
	case LowerBetter:
		return "lower is better"
	}
	return "neither higher nor lower is better"
}

func formula(f Formula) string {
	if !f.ratio() {
		if f.Per != 0 {
			return "the sum `" + f.Count + "` / " + strconv.FormatFloat(f.Per, 'f', -1, 64)
		}
		return "the count `" + f.Count + "`"
	}
	s := "`" + f.Num + "` / `" + f.Den + "`"
	if f.Per != 0 {
		s += " / " + strconv.FormatFloat(f.Per, 'f', -1, 64)
	}
	return s + " (no data when `" + f.Den + "` is 0)"
}
