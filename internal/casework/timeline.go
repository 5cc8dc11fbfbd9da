package casework

import (
	"encoding/json"
	"math"
	"time"
)

// The keys of an event's data (Event.Data), as the actions and the SLA
// engine write them and Facts reads them. The stored rows keep these
// names: they are the events' JSON, the API's "data" and the public
// projection's filter (publicDataKeys).
const (
	DataSource               = "source"   // submit: where the case came from
	DataCategory             = "category" // submit: the category code
	DataTargetDepartment     = "target_department"
	DataTargetDepartmentName = "target_department_name"
	DataTargetUser           = "target_user" // username
	DataClaimant             = "claimant"
	DataAutomatic            = "automatic" // true on an automatic dispatch
	DataRule                 = "rule"      // what chose the department: category.Routing.Source
	DataRuleID               = "rule_id"
	DataRuleCategory         = "rule_category"
	DataRuleRegion           = "rule_region"
	DataRulePriority         = "rule_priority"
	DataDefaultOf            = "default_of"
	DataStars                = "stars"
	DataPassed               = "passed"
	DataResult               = "result"
	DataHours                = "hours"
	DataReason               = "reason"
	DataParent               = "parent" // a case number
	DataDeadline             = "deadline"
	DataStage                = "stage"
	DataLimit                = "limit"
	DataLevel                = "level"
)

// Facts are the typed facts of one timeline entry, read from its event's
// data: each action records a few (dispatch: the target; rate: the stars;
// postpone: the hours; verify: passed; revisit: the result; merge: the
// parent; the SLA engine's warnings, breaches and escalations: the stage,
// limit, level and deadline). A fact the entry does not record is the zero
// value. Rows written before a fact existed, or with a value of another
// type, read as if it were absent, so every stored entry still renders.
type Facts struct {
	Source, Category string
	// TargetDepartment is the code of the department dispatched to, and
	// TargetDepartmentName its name.
	TargetDepartment, TargetDepartmentName string
	// TargetUser is the username of the person dispatched to.
	TargetUser string
	// Claimant is the name of who claimed the case.
	Claimant string
	// Auto is why an automatic dispatch chose its department; nil when the
	// step was not automatic.
	Auto *AutoDispatch
	// Stars is a rating, 1 to 5; 0 when none.
	Stars int
	// Passed is a check's outcome; nil when the step is no check.
	Passed *bool
	// Result is a revisit's outcome: satisfied, basically_satisfied or
	// dissatisfied.
	Result string
	// Hours are the extra working hours a postponement asked for.
	Hours int
	// Reason is the reason given beside a note.
	Reason string
	// Parent is the number of the case this one was merged into.
	Parent string
	// Stage and Limit are the SLA stage and its time limit (e.g. "24h").
	Stage, Limit string
	// Level is an escalated supervision's level.
	Level string
	// Deadline is the deadline the step set or reported, if any.
	Deadline time.Time
}

// AutoDispatch is why an automatic dispatch chose its department: a
// routing rule (RuleID non-zero) or the default department of the
// category DefaultOf.
type AutoDispatch struct {
	RuleID                   int64
	RuleCategory, RuleRegion string
	RulePriority             int
	DefaultOf                string
}

// Facts reads the typed facts of the entry from its data.
func (e Event) Facts() Facts {
	d := e.Data
	f := Facts{Source: str(d, DataSource), Category: str(d, DataCategory),
		TargetDepartment: str(d, DataTargetDepartment), TargetDepartmentName: str(d, DataTargetDepartmentName),
		TargetUser: str(d, DataTargetUser), Claimant: str(d, DataClaimant), Result: str(d, DataResult),
		Reason: str(d, DataReason), Parent: str(d, DataParent), Stage: str(d, DataStage), Limit: str(d, DataLimit),
		Level: str(d, DataLevel)}
	if n, ok := whole(d[DataStars]); ok && n >= 1 && n <= 5 {
		f.Stars = int(n)
	}
	if n, ok := whole(d[DataHours]); ok && n > 0 {
		f.Hours = int(n)
	}
	if v, ok := d[DataPassed].(bool); ok {
		f.Passed = &v
	}
	if t, err := time.Parse(time.RFC3339, str(d, DataDeadline)); err == nil {
		f.Deadline = t
	}
	if d[DataAutomatic] == true {
		a := &AutoDispatch{RuleCategory: str(d, DataRuleCategory), RuleRegion: str(d, DataRuleRegion), DefaultOf: str(d, DataDefaultOf)}
		if n, ok := whole(d[DataRuleID]); ok {
			a.RuleID = n
		}
		if n, ok := whole(d[DataRulePriority]); ok {
			a.RulePriority = int(n)
		}
		f.Auto = a
	}
	return f
}

// str is the text at k, or "" when there is none or it is not text.
func str(d map[string]any, k string) string {
	s, _ := d[k].(string)
	return s
}

// whole reads a whole number as stored data holds one: a float64 after
// JSON, an int while still in memory, or a json.Number.
func whole(v any) (int64, bool) {
	switch n := v.(type) {
	case int:
		return int64(n), true
	case int64:
		return n, true
	case float64:
		if n != math.Trunc(n) || math.IsInf(n, 0) || math.Abs(n) > 1<<53 {
			return 0, false
		}
		return int64(n), true
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	}
	return 0, false
}
