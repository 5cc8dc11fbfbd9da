package policy

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"sync"
	"time"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/registry"
)

// Deps are what the Engine needs.
type Deps struct {
	DB       *db.DB
	Registry *registry.Store
	// Accounts links a signed-in resident to a registry person.
	Accounts *account.Store
}

// Engine evaluates policies for subjects, alone or in batch, and keeps the
// policies' versions.
type Engine struct {
	db        *db.DB
	registry  *registry.Store
	accounts  *account.Store
	envs      *envs
	mu        sync.RWMutex
	receiving Receiving
	autoPay   AutoPay
	cache     map[string]*compiled // "key/version"
	// index is the field → policy index of the last run (Recheck).
	index *index
	// stored is the copy of the stored rows the re-check reads.
	stored storedCache
	stats  Stats
	// splitAt is how many people a run loads in one range at most.
	splitAt int
}

// New returns an Engine.
func New(d Deps) (*Engine, error) {
	en, err := newEnvs()
	if err != nil {
		return nil, err
	}
	return &Engine{db: d.DB, registry: d.Registry, accounts: d.Accounts, envs: en, cache: map[string]*compiled{}, splitAt: defaultSplitAt}, nil
}

// UseReceiving sets who already receives a policy (benefit's payouts and
// granted applications), for 应享未享.
func (e *Engine) UseReceiving(r Receiving) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.receiving = r
}

// AutoPay pays the 免申即享 benefits due to a subject (benefit's
// RunAutoPay): the re-check calls it when a 免申即享 policy becomes
// eligible, so that completing the data pays without an application.
type AutoPay func(ctx context.Context, s Subject) error

// UseAutoPay sets what the re-check calls when a 免申即享 policy becomes
// eligible for a subject.
func (e *Engine) UseAutoPay(p AutoPay) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.autoPay = p
}

// Question is a missing fact and how many policies it would decide: the
// next question to ask.
type Question struct {
	Key     string `json:"key"`
	Label   Text   `json:"label"`
	Decides int    `json:"decides"`
}

// Fields lists the declared fields conditions may read, per target.
func (e *Engine) Fields(target string) []Field { return FieldsOf(target) }

// Kinds of policy.
const (
	Resident   = "resident"
	Enterprise = "enterprise"
)

// Version statuses.
const (
	StatusDraft     = "draft"
	StatusPublished = "published"
)

func keyNotFound(key string) *errs.Error { return errs.E(errs.NotFound, "policy.not_found", key) }

// Validate checks a draft: unknown fields, type errors, a rule naming a
// missing condition, an amount that is not a number. Empty means valid.
func (e *Engine) Validate(d Draft) Problems {
	var ps Problems
	if !validID(d.Key) || d.Key == "" {
		ps = append(ps, Problem{Field: "key", Reason: Text{"政策编号须为小写字母、数字或下划线", "a policy key is lower-case letters, digits or underscores"}})
	}
	if d.Kind != Resident && d.Kind != Enterprise {
		ps = append(ps, Problem{Field: "kind", Reason: Text{"政策类别须为 resident 或 enterprise", "the kind must be resident or enterprise"}})
	}
	v := d.Version
	if v.Title.ZH == "" || v.Title.EN == "" {
		ps = append(ps, Problem{Field: "title", Reason: Text{"政策须有中英文名称", "a policy needs its title in zh and en"}})
	}
	switch v.Period {
	case "month", "year", "once":
	default:
		ps = append(ps, Problem{Field: "period", Reason: Text{"发放周期须为 month、year 或 once", "the period must be month, year or once"}})
	}
	if v.Department == "" {
		ps = append(ps, Problem{Field: "department", Reason: Text{"须注明责任部门", "the responsible department is needed"}})
	}
	_, cps := e.envs.compileVersion(d.Key, d.Kind, v)
	return append(ps, cps...)
}

// invalidDraft is the Invalid error of a draft's problems: each one a
// field message "conditions.<id>" (or the field) in zh and en.
func invalidDraft(ps Problems) error {
	e := errs.E(errs.Invalid, "policy.err.draft", len(ps))
	for _, p := range ps {
		name := p.Field
		if p.Condition != "" {
			name = "conditions." + p.Condition
		}
		e.Field(name, "policy.err.problem", p.Reason.ZH, p.Reason.EN)
	}
	return e.WithReason(fmt.Sprint(ps))
}

// Save stores a draft as the policy's next (unpublished) version; a draft
// with problems is refused (Invalid) with each condition and reason.
func (e *Engine) Save(ctx context.Context, actor audit.Actor, d Draft) (_ *Version, err error) {
	defer errs.Wrapf(&err, "policy.Engine.Save(%s)", d.Key)
	if ps := e.Validate(d); len(ps) > 0 {
		return nil, invalidDraft(ps)
	}
	v := d.Version
	err = e.db.InTx(ctx, func(tx *db.Tx) error {
		var id int64
		var kind, target string
		err := tx.QueryRow(ctx, `SELECT id, kind, target FROM policies WHERE key = $1`, d.Key).Scan(&id, &kind, &target)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			id, err = tx.InsertID(ctx, `INSERT INTO policies (key, kind, target, title_zh, title_en, created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`,
				d.Key, d.Kind, v.Target, v.Title.ZH, v.Title.EN, tx.Now())
			if err != nil {
				return db.Translate(err)
			}
		case err != nil:
			return db.Translate(err)
		case kind != d.Kind || target != v.Target:
			return errs.E(errs.Conflict, "policy.err.target").Field("target", "policy.err.target")
		default:
			if _, err := tx.Exec(ctx, `UPDATE policies SET title_zh = $1, title_en = $2 WHERE id = $3`, v.Title.ZH, v.Title.EN, id); err != nil {
				return db.Translate(err)
			}
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT COALESCE(MAX(version), 0) FROM policy_versions WHERE policy_id = $1`, id).Scan(&n); err != nil {
			return db.Translate(err)
		}
		v.Version, v.Status, v.Effective, v.Until, v.CreatedAt = n+1, StatusDraft, nil, nil, tx.Now()
		body, err := json.Marshal(v)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO policy_versions (policy_id, version, status, body, created_at) VALUES ($1, $2, $3, $4, $5)`,
			id, v.Version, StatusDraft, string(body), tx.Now()); err != nil {
			return db.Translate(err)
		}
		return audit.Record(ctx, tx, actor, "policy.save", "policy:"+d.Key, "version "+strconv.Itoa(v.Version))
	})
	if err != nil {
		return nil, err
	}
	return &v, nil
}

// Publish makes a saved version effective from effective: on and after
// that date it answers, until a later version takes effect.
func (e *Engine) Publish(ctx context.Context, actor audit.Actor, key string, version int, effective time.Time) (err error) {
	defer errs.Wrapf(&err, "policy.Engine.Publish(%s, %d)", key, version)
	if effective.IsZero() {
		return errs.E(errs.Invalid, "error.invalid").Field("effective", "policy.err.effective")
	}
	return e.db.InTx(ctx, func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE policy_versions SET status = $1, effective_at = $2
			WHERE policy_id = (SELECT id FROM policies WHERE key = $3) AND version = $4 AND status = $5`,
			StatusPublished, effective.UTC(), key, version, StatusDraft)
		if err != nil {
			return db.Translate(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return db.Translate(err)
		} else if n == 0 {
			return errs.E(errs.NotFound, "policy.version_not_found", key, version)
		}
		return audit.Record(ctx, tx, actor, "policy.publish", "policy:"+key, "version "+strconv.Itoa(version)+" from "+effective.UTC().Format(time.DateOnly))
	})
}

// Policies lists the policies of a kind ("resident", "enterprise", or ""
// for all) with their versions, by key.
func (e *Engine) Policies(ctx context.Context, kind string) (_ []Policy, err error) {
	defer errs.Wrapf(&err, "policy.Engine.Policies(%s)", kind)
	return e.load(ctx, kind, "")
}

// Policy returns a policy by key with its versions and conditions.
func (e *Engine) Policy(ctx context.Context, key string) (_ *Policy, err error) {
	defer errs.Wrapf(&err, "policy.Engine.Policy(%s)", key)
	ps, err := e.load(ctx, "", key)
	if err != nil {
		return nil, err
	}
	if len(ps) == 0 {
		return nil, keyNotFound(key)
	}
	return &ps[0], nil
}

// load reads policies with their versions, newest version first.
func (e *Engine) load(ctx context.Context, kind, key string) ([]Policy, error) {
	var w db.Where
	if kind != "" {
		w.Add("p.kind = ?", kind)
	}
	if key != "" {
		w.Add("p.key = ?", key)
	}
	rows, err := e.db.Query(ctx, `SELECT p.id, p.key, p.kind, p.target, p.title_zh, p.title_en, v.version, v.status, v.effective_at, v.body
		FROM policies p JOIN policy_versions v ON v.policy_id = p.id`+w.SQL()+` ORDER BY p.key, v.version DESC`, w.Args()...)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	out := []Policy{}
	for rows.Next() {
		var p Policy
		var v Version
		var eff db.NullTime
		var body, status string
		var n int
		if err := rows.Scan(&p.ID, &p.Key, &p.Kind, &p.Target, &p.Title.ZH, &p.Title.EN, &n, &status, &eff, &body); err != nil {
			return nil, db.Translate(err)
		}
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			return nil, err
		}
		v.Version, v.Status = n, status
		if eff.Valid {
			t := eff.Time
			v.Effective = &t
		}
		if len(out) == 0 || out[len(out)-1].Key != p.Key {
			out = append(out, p)
		}
		last := &out[len(out)-1]
		last.Versions = append(last.Versions, v)
	}
	if err := rows.Err(); err != nil {
		return nil, db.Translate(err)
	}
	for i := range out {
		untils(out[i].Versions)
	}
	return out, nil
}

// untils sets each published version's Until: the effective date of the
// next published version to take effect after it.
func untils(vs []Version) {
	for i := range vs {
		if vs[i].Effective == nil {
			continue
		}
		for j := range vs {
			if vs[j].Effective != nil && vs[j].Effective.After(*vs[i].Effective) && (vs[i].Until == nil || vs[j].Effective.Before(*vs[i].Until)) {
				t := *vs[j].Effective
				vs[i].Until = &t
			}
		}
	}
}

// inForce is the version of p in force on date: the published one with
// the latest effective date not after it (the higher version on a tie).
func inForce(p Policy, date time.Time) *Version {
	var best *Version
	for i := range p.Versions {
		v := &p.Versions[i]
		if v.Status != StatusPublished || v.Effective == nil || v.Effective.After(date) {
			continue
		}
		if best == nil || v.Effective.After(*best.Effective) || (v.Effective.Equal(*best.Effective) && v.Version > best.Version) {
			best = v
		}
	}
	return best
}

// active compiles the versions in force on date of the policies for the
// target (all targets when ""), optionally only the keys named.
func (e *Engine) active(ctx context.Context, date time.Time, targets []string, keys []string) ([]*compiled, error) {
	ps, err := e.load(ctx, "", "")
	if err != nil {
		return nil, err
	}
	var out []*compiled
	for _, p := range ps {
		if len(targets) > 0 && !contains(targets, p.Target) || len(keys) > 0 && !contains(keys, p.Key) {
			continue
		}
		v := inForce(p, date)
		if v == nil {
			continue
		}
		c, err := e.compiledOf(p, *v)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

// compiledOf compiles a stored version once.
func (e *Engine) compiledOf(p Policy, v Version) (*compiled, error) {
	k := p.Key + "/" + strconv.Itoa(v.Version)
	e.mu.RLock()
	c := e.cache[k]
	e.mu.RUnlock()
	if c != nil {
		return c, nil
	}
	c, ps := e.envs.compileVersion(p.Key, p.Kind, v)
	if len(ps) > 0 {
		return nil, fmt.Errorf("stored version %s does not compile: %v", k, ps)
	}
	e.mu.Lock()
	e.cache[k] = c
	e.mu.Unlock()
	return c, nil
}

// targetsOf are the policy targets a subject kind answers.
func targetsOf(kind string) []string {
	switch kind {
	case KindPerson:
		return []string{KindPerson, KindHousehold}
	case KindHousehold:
		return []string{KindHousehold}
	}
	return []string{KindOrganisation}
}

// Evaluate answers every policy in force on date for the subject (a
// person answers person and household policies; a household is its
// head's record). A subject outside sc is NotFound.
func (e *Engine) Evaluate(ctx context.Context, sc account.Scope, s Subject, date time.Time) (_ []Result, err error) {
	defer errs.Wrapf(&err, "policy.Engine.Evaluate(%s %d)", s.Kind, s.ID)
	if s.Kind != KindPerson && s.Kind != KindHousehold && s.Kind != KindOrganisation {
		return nil, errs.E(errs.Invalid, "error.invalid").Field("kind", "policy.err.kind")
	}
	kind := s.Kind
	if kind == KindPerson {
		kind = KindHousehold // a person's set carries the household's facts too
	}
	fs, err := e.registry.FactSet(ctx, sc, kind, s.ID, date)
	if err != nil {
		return nil, err
	}
	cs, err := e.active(ctx, date, targetsOf(s.Kind), nil)
	if err != nil {
		return nil, err
	}
	out := make([]Result, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.evaluate(newFacts(fs.Values, fs.Verified, c.fields)))
	}
	return out, nil
}

// Test evaluates a draft against sample records on date: a sample's
// subject (in sc) gives the facts, the sample's own facts override them.
func (e *Engine) Test(ctx context.Context, sc account.Scope, d Draft, samples []Sample, date time.Time) (_ []SampleResult, err error) {
	defer errs.Wrapf(&err, "policy.Engine.Test(%s)", d.Key)
	c, ps := e.envs.compileVersion(d.Key, d.Kind, d.Version)
	if len(ps) > 0 {
		return nil, invalidDraft(ps)
	}
	if len(samples) > 100 {
		return nil, errs.E(errs.Invalid, "error.invalid").Field("samples", "policy.err.samples")
	}
	out := make([]SampleResult, 0, len(samples))
	for _, s := range samples {
		values, verified := map[string]any{}, map[string]bool{}
		if s.Subject != nil {
			kind := s.Subject.Kind
			if kind == KindPerson {
				kind = KindHousehold
			}
			fs, err := e.registry.FactSet(ctx, sc, kind, s.Subject.ID, date)
			if err != nil {
				return nil, err
			}
			values, verified = fs.Values, fs.Verified
		}
		for k, v := range s.Facts {
			values[k], verified[k] = normaliseJSON(v), false
		}
		out = append(out, SampleResult{Sample: s.Name, Result: c.evaluate(newFacts(values, verified, c.fields))})
	}
	return out, nil
}

// normaliseJSON turns a decoded JSON number that is whole into int64.
func normaliseJSON(v any) any {
	if f, ok := v.(float64); ok && f == float64(int64(f)) {
		return int64(f)
	}
	return v
}

// Diff lists the differences from version a to version b: the version's
// own fields and, per condition id, added, removed and changed members.
func Diff(a, b Version) []Change {
	var out []Change
	add := func(path string, x, y any) {
		if !reflect.DeepEqual(x, y) {
			out = append(out, Change{Path: path, Before: x, After: y})
		}
	}
	add("title", a.Title, b.Title)
	add("target", a.Target, b.Target)
	add("rule", a.Rule, b.Rule)
	add("amount", a.Amount, b.Amount)
	add("period", a.Period, b.Period)
	add("documents", a.Documents, b.Documents)
	add("department", a.Department, b.Department)
	add("auto_pay", a.AutoPay, b.AutoPay)
	ac, bc := map[string]Condition{}, map[string]Condition{}
	var ids []string
	for _, c := range a.Conditions {
		ac[c.ID] = c
		ids = append(ids, c.ID)
	}
	for _, c := range b.Conditions {
		bc[c.ID] = c
		if _, ok := ac[c.ID]; !ok {
			ids = append(ids, c.ID)
		}
	}
	for _, id := range ids {
		x, inA := ac[id]
		y, inB := bc[id]
		switch {
		case !inA:
			out = append(out, Change{Path: "conditions." + id, After: y})
		case !inB:
			out = append(out, Change{Path: "conditions." + id, Before: x})
		default:
			add("conditions."+id+".text", x.Text, y.Text)
			add("conditions."+id+".source", x.Source, y.Source)
			add("conditions."+id+".expr", x.Expr, y.Expr)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return false })
	return out
}

// EvaluateResident answers for the registry person matching the signed-in
// resident (by verified identity number); a resident without a match is
// NotFound.
func (e *Engine) EvaluateResident(ctx context.Context, u *account.User, date time.Time) (_ []Result, err error) {
	defer errs.Wrapf(&err, "policy.Engine.EvaluateResident")
	id, err := e.personOf(ctx, u)
	if err != nil {
		return nil, err
	}
	return e.Evaluate(ctx, account.SystemScope(), Subject{Kind: KindPerson, ID: id}, date)
}
