package web

import (
	"net/http"

	"whistle/internal/errs"
	"whistle/internal/sensing"
	"whistle/internal/workflow"
)

// sensingHandlers serve the sensing rules, alarms, away periods and
// family contacts (issue 17): decode, call the service, encode.
type sensingHandlers struct {
	*view
	Sensing *sensing.Service
}

func (s *sensingHandlers) svc() (*sensing.Service, error) {
	if s.Sensing == nil {
		return nil, errs.E(errs.Unavailable, "error.unavailable")
	}
	return s.Sensing, nil
}

func sensingCaller(r *http.Request) sensing.Caller {
	return sensing.Caller{User: userOf(r), IP: actorOf(r).IP}
}

// apiRules answers the rules with their false-alarm rates (admins).
func (s *sensingHandlers) apiRules(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.svc()
	if err != nil {
		return err
	}
	rs, err := svc.Rules(r.Context(), sensingCaller(r))
	if err != nil {
		return err
	}
	if rs == nil {
		rs = []*sensing.Rule{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"rules": rs})
	return nil
}

// apiRuleCreate stores a new rule (admins); a condition that does not
// compile is 422 naming the checker's reason.
func (s *sensingHandlers) apiRuleCreate(w http.ResponseWriter, r *http.Request) error {
	return createWith(w, r, s.svc, func(svc *sensing.Service, in sensing.RuleInput) (*sensing.Rule, error) {
		return svc.CreateRule(r.Context(), sensingCaller(r), in)
	})
}

// apiRulePatch changes or disables a rule (admins).
func (s *sensingHandlers) apiRulePatch(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.svc()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in sensing.RuleInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	rule, err := svc.UpdateRule(r.Context(), sensingCaller(r), id, in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rule)
	return nil
}

// apiAlarms answers the alarms of the caller's scope (?status=active,
// ?region=CODE for a node's subtree: the big screen).
func (s *sensingHandlers) apiAlarms(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.svc()
	if err != nil {
		return err
	}
	limit, err := queryInt(r, "limit", 200)
	if err != nil {
		return err
	}
	q := r.URL.Query()
	as, err := svc.Alarms(r.Context(), sensingCaller(r), sensing.AlarmFilter{Status: q.Get("status"), RegionCode: q.Get("region"), Limit: limit})
	if err != nil {
		return err
	}
	if as == nil {
		as = []*sensing.Alarm{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"alarms": as})
	return nil
}

// apiAlarm answers an alarm of the caller's scope with its timeline.
func (s *sensingHandlers) apiAlarm(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.svc()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	a, err := svc.Alarm(r.Context(), sensingCaller(r), id)
	if err != nil {
		return err
	}
	tl, err := svc.Timeline(r.Context(), sensingCaller(r), id)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, struct {
		*sensing.Alarm
		Timeline []workflow.Step `json:"timeline"`
	}{a, tl})
	return nil
}

// apiAlarmAction takes acknowledge or clear (with a reason) on an alarm.
func (s *sensingHandlers) apiAlarmAction(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.svc()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in sensing.AlarmInput
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	a, err := svc.Act(r.Context(), sensingCaller(r), id, r.PathValue("action"), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a)
	return nil
}

// apiAway records an away-from-home period for a person in scope.
func (s *sensingHandlers) apiAway(w http.ResponseWriter, r *http.Request) error {
	return createWith(w, r, s.svc, func(svc *sensing.Service, in sensing.AwayInput) (*sensing.Away, error) {
		return svc.AddAway(r.Context(), sensingCaller(r), in)
	})
}

// apiContact records a family contact of a person in scope.
func (s *sensingHandlers) apiContact(w http.ResponseWriter, r *http.Request) error {
	svc, err := s.svc()
	if err != nil {
		return err
	}
	id, err := pathID(r)
	if err != nil {
		return err
	}
	var in sensing.Contact
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	in.PersonID = id
	c, err := svc.AddContact(r.Context(), sensingCaller(r), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, c)
	return nil
}
