// Package policy decides who qualifies for which benefit (issue 18, 利民补助
// 一键达 and 惠企政策直通车): policies are data (dated versions of conditions
// written in CEL over declared registry fields, each citing its legal
// source), and the Engine evaluates them three-valued (pass, fail, unknown)
// so that a missing fact is never a silent "no". Results are explained in
// zh and en, the missing facts are ranked as the next question, and the
// whole registry is evaluated in batch or, field by field, from the change
// feed.
//
// The benefit module (applications, payouts, 免申即享) builds on this
// package; it never reads policy tables directly.
package policy

import (
	"context"
	"time"
)

// Subject kinds: who a policy targets.
const (
	KindPerson       = "person"
	KindHousehold    = "household"
	KindOrganisation = "organisation"
)

// Overall results of a policy for a subject.
const (
	Eligible      = "eligible"
	NotEligible   = "not_eligible"
	MayBeEligible = "may_be_eligible"
)

// Condition results (Kleene's three values).
const (
	Pass    = "pass"
	Fail    = "fail"
	Unknown = "unknown"
)

// Subject is who a policy is evaluated for: a registry person, a household
// (its household number's id) or an organisation.
type Subject struct {
	Kind string `json:"kind"` // "person" | "household" | "organisation"
	ID   int64  `json:"id"`
}

// Text is a plain-language text in both languages.
type Text struct {
	ZH string `json:"zh"`
	EN string `json:"en"`
}

// Result is one policy's answer for one subject on one date.
type Result struct {
	Policy     string       `json:"policy"` // the policy's key
	Version    int          `json:"version"`
	Title      Text         `json:"title"`
	Result     string       `json:"result"` // eligible | not_eligible | may_be_eligible
	Amount     *float64     `json:"amount,omitempty"`
	Conditions []CondResult `json:"conditions"`
	// Missing are the fact keys whose absence leaves the result open.
	Missing    []string `json:"missing"`
	Documents  []Text   `json:"documents"`
	Department string   `json:"department"`
	// AutoPay is the version's 免申即享 flag.
	AutoPay bool `json:"auto_pay"`
	// Period is how often the benefit is paid: month, year or once.
	Period string `json:"period"`
	// Verified reports that every fact the result read is verified: a
	// 免申即享 payout needs it.
	Verified bool `json:"verified"`
	// Explanation is the result in one sentence per language.
	Explanation Text `json:"explanation"`
}

// CondResult is one condition's answer, with the values it read.
type CondResult struct {
	ID     string         `json:"id"`
	Result string         `json:"result"` // pass | fail | unknown
	Values map[string]any `json:"values"`
	Text   Text           `json:"text"`
	Source string         `json:"source"` // document and article
	// Missing are the fields the condition reads that are unknown.
	Missing []string `json:"missing,omitempty"`
	// Explanation names the condition, the values found and the source.
	Explanation Text `json:"explanation"`
}

// Field is a declared fact a condition may read: its key (as CEL names
// it), type and label. Conditions over undeclared fields are refused.
type Field struct {
	Key    string `json:"key"`
	Type   string `json:"type"`   // int | double | bool | string | list
	Target string `json:"target"` // person | household | organisation
	Label  Text   `json:"label"`
	Unit   string `json:"unit,omitempty"`
	// Derived fields (age, groups, household size) are computed, not set.
	Derived bool `json:"derived,omitempty"`
	// Range, for a number, is the values a recorded fact may take.
	Range *Range `json:"range,omitempty"`
}

// Range bounds a numeric field, both ends included.
type Range struct {
	Min float64 `json:"min"`
	Max float64 `json:"max"`
}

// Condition is one condition of a policy version.
type Condition struct {
	ID     string `json:"id"`
	Text   Text   `json:"text"`
	Source string `json:"source"` // legal source: document and article
	Expr   string `json:"expr"`   // CEL over declared fields
}

// Group combines conditions (by id) and nested groups: Op "all" (all-of)
// or "any" (any-of), under Kleene's three-valued logic.
type Group struct {
	Op     string   `json:"op"`
	Conds  []string `json:"conds,omitempty"`
	Groups []Group  `json:"groups,omitempty"`
}

// Version is a dated version of a policy.
type Version struct {
	Version    int         `json:"version"`
	Status     string      `json:"status"` // draft | published
	Effective  *time.Time  `json:"effective,omitempty"`
	Until      *time.Time  `json:"until,omitempty"` // the next version's effective date
	Title      Text        `json:"title"`
	Target     string      `json:"target"`
	Conditions []Condition `json:"conditions"`
	// Rule combines the conditions; empty means all of them.
	Rule Group `json:"rule"`
	// Amount is a CEL formula of the benefit amount (yuan per period).
	Amount     string    `json:"amount,omitempty"`
	Period     string    `json:"period"` // month | year | once
	Documents  []Text    `json:"documents"`
	Department string    `json:"department"`
	AutoPay    bool      `json:"auto_pay"`
	CreatedAt  time.Time `json:"created_at"`
}

// Policy is a policy with its versions, newest first.
type Policy struct {
	ID       int64     `json:"id"`
	Key      string    `json:"key"`
	Kind     string    `json:"kind"` // resident | enterprise
	Title    Text      `json:"title"`
	Target   string    `json:"target"`
	Versions []Version `json:"versions"`
}

// Draft is a version being written: it is validated, tested against
// samples, saved and later published with an effective date.
type Draft struct {
	Key     string  `json:"key"`
	Kind    string  `json:"kind"`
	Version Version `json:"version"`
}

// Problem is why a draft is refused: the condition and the reason.
type Problem struct {
	Condition string `json:"condition,omitempty"`
	Field     string `json:"field,omitempty"`
	Reason    Text   `json:"reason"`
}

// Problems are a draft's problems; empty means it may be saved.
type Problems []Problem

// Sample is a record to test a draft against: a registry subject, or facts
// given by hand (Facts wins over the subject's).
type Sample struct {
	Name    string         `json:"name"`
	Subject *Subject       `json:"subject,omitempty"`
	Facts   map[string]any `json:"facts,omitempty"`
}

// SampleResult is a draft's result for one sample.
type SampleResult struct {
	Sample string `json:"sample"`
	Result Result `json:"result"`
}

// Change is one difference between two versions.
type Change struct {
	Path   string `json:"path"` // e.g. "conditions.age.expr", "amount"
	Before any    `json:"before"`
	After  any    `json:"after"`
}

// Unclaimed is a subject eligible for a policy but not receiving it (应享未享).
type Unclaimed struct {
	Policy   string    `json:"policy"`
	Title    Text      `json:"title"`
	Subject  Subject   `json:"subject"`
	Name     string    `json:"name"` // masked
	GridCode string    `json:"grid_code"`
	Amount   *float64  `json:"amount,omitempty"`
	Since    time.Time `json:"since"`
}

// Receiving reports, for the subjects given, which already receive the
// policy (an application granted or a payout): benefit implements it, and
// the Engine takes it through UseReceiving.
type Receiving func(ctx context.Context, policy string, subjects []Subject) (map[Subject]bool, error)

// RunStats is what a batch run did.
type RunStats struct {
	Subjects  int           `json:"subjects"`
	Policies  int           `json:"policies"`
	Evaluated int64         `json:"evaluated"` // subject × policy evaluations
	Changed   int64         `json:"changed"`   // stored results written
	Took      time.Duration `json:"took"`
	// Load, Eval and Store split Took: reading the registry, evaluating
	// and writing the results that changed.
	Load  time.Duration `json:"load"`
	Eval  time.Duration `json:"eval"`
	Store time.Duration `json:"store"`
	// CELEvals is how many CEL evaluations the memos needed: one per
	// distinct tuple of the fields a condition reads.
	CELEvals int `json:"cel_evals"`
	// Eligible counts the (subject, policy) pairs found eligible.
	Eligible int64 `json:"eligible"`
}
