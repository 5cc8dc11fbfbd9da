package web

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"whistle/internal/sensing"
)

// rulesPage is the admins' page of the sensing rules.
type rulesPage struct {
	Rules      []ruleRow
	Kinds      []string
	Types      []string
	Severities []string
	KeyBys     []string
	// Fields is each device type's fields, "type: a, b" lines for the hint.
	Fields []string
}

// ruleRow is a rule with its false-alarm rate as a percentage.
type ruleRow struct {
	*sensing.Rule
	Rate string
}

// pageAdminRules lists the rules with their false-alarm rates, a form to
// add one and a switch per rule; the forms write through the JSON API
// (POST /api/v1/rules, PATCH /api/v1/rules/{id}), whose per-field errors
// they show. Only administrators see it (the service answers 403).
func (s *sensingHandlers) pageAdminRules(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.svc()
	if err != nil {
		return err
	}
	rs, err := svc.Rules(r.Context(), sensingCaller(r))
	if err != nil {
		return err
	}
	p := rulesPage{Kinds: sensing.Kinds(), Severities: sensing.Severities(), KeyBys: sensing.KeyBys()}
	for _, x := range rs {
		p.Rules = append(p.Rules, ruleRow{Rule: x, Rate: strconv.FormatFloat(100*x.FalseAlarmRate, 'f', 0, 64) + "%"})
	}
	fields := svc.Fields()
	for t := range fields {
		p.Types = append(p.Types, t)
	}
	slices.Sort(p.Types)
	for _, t := range p.Types {
		p.Fields = append(p.Fields, t+": "+strings.Join(fields[t], ", "))
	}
	return s.render(w, r, http.StatusOK, "admin_rules.html", s.newPage(r, "admin.rules", p))
}
