package category

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"whistle/internal/audit"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// Rule is an admin's routing rule: cases of a category (and of the
// categories below it) in a region's subtree go to a department instead of
// the category's default.
type Rule struct {
	ID           int64
	CategoryCode string
	CategoryName string // filled when read
	RegionCode   string
	RegionName   string // filled when read
	Department   string
	// Priority breaks ties between rules on the same category and region;
	// the higher wins.
	Priority  int
	CreatedAt time.Time
}

const maxPriority = 1000

// AddRule adds a routing rule and returns it. The category, region and
// department must exist; the same category, region and priority may hold
// only one rule.
func (s *Store) AddRule(ctx context.Context, actor audit.Actor, in Rule) (_ *Rule, err error) {
	defer errs.Wrapf(&err, "category.Store.AddRule")
	in.CategoryCode = strings.TrimSpace(in.CategoryCode)
	in.RegionCode = strings.TrimSpace(in.RegionCode)
	in.Department = strings.TrimSpace(in.Department)
	var id int64
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		e := invalid()
		exists := func(table, code string) (bool, error) {
			var n int
			err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM `+table+` WHERE code = $1`, code).Scan(&n)
			return n > 0, db.Translate(err)
		}
		if in.CategoryCode == "" {
			e.Field("category_code", "field.required")
		} else if ok, err := exists("categories", in.CategoryCode); err != nil {
			return err
		} else if !ok {
			e.Field("category_code", "category.err.unknown_category", in.CategoryCode)
		}
		if in.RegionCode == "" {
			e.Field("region_code", "field.required")
		} else if ok, err := exists("regions", in.RegionCode); err != nil {
			return err
		} else if !ok {
			e.Field("region_code", "field.unknown_region", in.RegionCode)
		}
		if in.Department == "" {
			e.Field("department", "field.required")
		} else if err := checkDepartment(ctx, tx, e, "department", in.Department); err != nil {
			return err
		}
		if in.Priority < 0 || in.Priority > maxPriority {
			e.Field("priority", "field.range", 0, maxPriority)
		}
		if len(e.Fields) > 0 {
			return e
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM routing_rules WHERE category_code = $1 AND region_code = $2 AND priority = $3`,
			in.CategoryCode, in.RegionCode, in.Priority).Scan(&n); err != nil {
			return db.Translate(err)
		}
		if n > 0 {
			return errs.E(errs.Conflict, "category.rule_duplicate", in.CategoryCode, in.RegionCode, in.Priority).Field("priority", "field.taken")
		}
		var err error
		id, err = tx.InsertID(ctx, `INSERT INTO routing_rules (category_code, region_code, department_code, priority, created_at)
			VALUES ($1, $2, $3, $4, $5) RETURNING id`, in.CategoryCode, in.RegionCode, in.Department, in.Priority, tx.Now())
		if err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor, "routing_rule.create", "routing_rule:"+strconv.FormatInt(id, 10),
			fmt.Sprintf("category=%s region=%s department=%s priority=%d", in.CategoryCode, in.RegionCode, in.Department, in.Priority))
	})
	if err != nil {
		return nil, err
	}
	return s.Rule(ctx, id)
}

const ruleSelect = `SELECT r.id, r.category_code, c.name, r.region_code, g.name, r.department_code, r.priority, r.created_at
	FROM routing_rules r JOIN categories c ON c.code = r.category_code JOIN regions g ON g.code = r.region_code`

func scanRule(sc scanner) (*Rule, error) {
	var r Rule
	var at db.Time
	if err := sc.Scan(&r.ID, &r.CategoryCode, &r.CategoryName, &r.RegionCode, &r.RegionName, &r.Department, &r.Priority, &at); err != nil {
		return nil, err
	}
	r.CreatedAt = at.Time
	return &r, nil
}

// Rule returns one routing rule.
func (s *Store) Rule(ctx context.Context, id int64) (_ *Rule, err error) {
	defer errs.Wrapf(&err, "category.Store.Rule")
	r, err := scanRule(s.db.QueryRow(ctx, ruleSelect+` WHERE r.id = $1`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "category.rule_not_found", id)
	}
	return r, db.Translate(err)
}

// ruleOrder is the default order of the rules: by category, then region
// (parents first), then priority (highest first).
const ruleOrder = ` ORDER BY r.category_code, g.path, r.priority DESC, r.id`

// Rules lists every routing rule by category, then region (parents first),
// then priority (highest first).
func (s *Store) Rules(ctx context.Context) (_ []*Rule, err error) {
	defer errs.Wrapf(&err, "category.Store.Rules")
	return s.queryRules(ctx, ruleSelect+ruleOrder)
}

// RuleFilter selects one page of the routing rules (admin page).
type RuleFilter struct {
	// Sort is one of RuleSortKeys, "-" first for descending; "" is the
	// order of Rules.
	Sort          string
	Limit, Offset int // Limit 0: all
}

// ruleSortCols maps each sort key to its column: the whitelist of
// RuleFilter.Sort.
var ruleSortCols = map[string]string{"category": "r.category_code", "region": "g.path", "department": "r.department_code",
	"priority": "r.priority", "created": "r.id"}

// RuleSortKeys lists the keys RuleFilter.Sort accepts.
func RuleSortKeys() []string {
	return []string{"category", "region", "department", "priority", "created"}
}

// RulePage returns one page of the routing rules and how many there are in
// all. An unknown sort key is Invalid on field sort.
func (s *Store) RulePage(ctx context.Context, f RuleFilter) (_ []*Rule, total int, err error) {
	defer errs.Wrapf(&err, "category.Store.RulePage")
	order := ruleOrder
	if f.Sort != "" {
		var ok bool
		if order, ok = db.OrderBy(f.Sort, ruleSortCols, "r.id"); !ok {
			return nil, 0, errs.E(errs.Invalid, "error.invalid").Field("sort", "field.unknown_sort", f.Sort)
		}
	}
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM routing_rules`).Scan(&total); err != nil {
		return nil, 0, db.Translate(err)
	}
	q := ruleSelect + order
	if f.Limit > 0 {
		q += ` LIMIT ` + strconv.Itoa(f.Limit) + ` OFFSET ` + strconv.Itoa(max(f.Offset, 0))
	}
	rules, err := s.queryRules(ctx, q)
	return rules, total, err
}

func (s *Store) queryRules(ctx context.Context, q string) ([]*Rule, error) {
	rows, err := s.db.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*Rule
	for rows.Next() {
		r, err := scanRule(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// DeleteRule removes a routing rule. Rules are configuration, not history:
// cases keep the department they were routed to.
func (s *Store) DeleteRule(ctx context.Context, actor audit.Actor, id int64) (err error) {
	defer errs.Wrapf(&err, "category.Store.DeleteRule")
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		var cat, reg, dept string
		var prio int
		err := tx.QueryRow(ctx, `SELECT category_code, region_code, department_code, priority FROM routing_rules WHERE id = $1`, id).
			Scan(&cat, &reg, &dept, &prio)
		if errors.Is(err, sql.ErrNoRows) {
			return errs.E(errs.NotFound, "category.rule_not_found", id)
		}
		if err != nil {
			return db.Translate(err)
		}
		if _, err := tx.Exec(ctx, `DELETE FROM routing_rules WHERE id = $1`, id); err != nil {
			return err
		}
		return audit.Record(ctx, tx, actor, "routing_rule.delete", "routing_rule:"+strconv.FormatInt(id, 10),
			fmt.Sprintf("category=%s region=%s department=%s priority=%d", cat, reg, dept, prio))
	})
}

// Routing is a routing decision and what made it.
type Routing struct {
	// Department is the chosen department's code; "" means the community or
	// street where the case is.
	Department string
	// Rule is the routing rule that chose Department (its ID, category,
	// region, department and priority), or nil when no rule matched.
	Rule *Rule
	// DefaultOf is the category whose default department was taken when no
	// rule matched: the case's own category or its nearest ancestor with one.
	DefaultOf string
}

// Source names what chose the department, for timelines and audit:
// "routing_rule:ID", "category_default:CODE", or "" when nothing did.
func (r Routing) Source() string {
	switch {
	case r.Rule != nil:
		return "routing_rule:" + strconv.FormatInt(r.Rule.ID, 10)
	case r.DefaultOf != "":
		return "category_default:" + r.DefaultOf
	}
	return ""
}

// Route returns the department that handles a case of category code at the
// region whose materialised path is regionPath (such as
// "/330300/330303/330303001/"). The precedence is:
//
//  1. a routing rule for the category itself, else for its parent, and so
//     on up: the nearest category with a rule whose region is on the path
//     wins;
//  2. among those, the rule on the deepest region (a street's rule beats
//     the district's), then the highest priority;
//  3. without any rule, the category's default department, else its
//     nearest ancestor's;
//  4. else "", meaning the community or street where the case is.
//
// Inactive categories route like active ones, so old cases still resolve.
// An unknown category is errs.NotFound.
func (s *Store) Route(ctx context.Context, code, regionPath string) (department string, err error) {
	defer errs.Wrapf(&err, "category.Store.Route")
	r, err := s.Explain(ctx, code, regionPath)
	return r.Department, err
}

// Explain is Route with the reason: the rule or the category default that
// chose the department.
func (s *Store) Explain(ctx context.Context, code, regionPath string) (_ Routing, err error) {
	defer errs.Wrapf(&err, "category.Route(%s, %s)", code, regionPath)
	rows, err := s.db.Query(ctx, `WITH RECURSIVE chain(code, parent_code, department_code, depth) AS (
			SELECT code, parent_code, department_code, 0 FROM categories WHERE code = $1
			UNION ALL
			SELECT c.code, c.parent_code, c.department_code, chain.depth + 1 FROM categories c JOIN chain ON c.code = chain.parent_code
		)
		SELECT code, department_code FROM chain ORDER BY depth`, code)
	if err != nil {
		return Routing{}, err
	}
	var chain, depts []string
	for rows.Next() {
		var c, d string
		if err := rows.Scan(&c, &d); err != nil {
			rows.Close()
			return Routing{}, err
		}
		chain, depts = append(chain, c), append(depts, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return Routing{}, err
	}
	if len(chain) == 0 {
		return Routing{}, notFound(code)
	}
	regions := pathCodes(regionPath)
	var rules []Rule
	if len(regions) > 0 {
		var w db.Where
		w.Add("category_code IN ("+placeholders(len(chain))+")", anys(chain)...)
		w.Add("region_code IN ("+placeholders(len(regions))+")", anys(regions)...)
		if rules, err = s.rules(ctx, w); err != nil {
			return Routing{}, err
		}
	}
	return pick(chain, depts, regions, rules), nil
}

// rules reads the routing rules that w selects, as routing needs them.
func (s *Store) rules(ctx context.Context, w db.Where) ([]Rule, error) {
	rs, err := s.db.Query(ctx, `SELECT id, category_code, region_code, department_code, priority FROM routing_rules`+w.SQL(), w.Args()...)
	if err != nil {
		return nil, err
	}
	defer rs.Close()
	var out []Rule
	for rs.Next() {
		var r Rule
		if err := rs.Scan(&r.ID, &r.CategoryCode, &r.RegionCode, &r.Department, &r.Priority); err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, rs.Err()
}

// pathCodes is the region codes of a materialised path, from the top.
func pathCodes(regionPath string) []string {
	var regions []string
	for _, r := range strings.Split(regionPath, "/") {
		if r != "" {
			regions = append(regions, r)
		}
	}
	return regions
}

// pick is Route's precedence over a category's chain (itself, then its
// ancestors, with their default departments), the regions of the case's
// path and the rules that may apply: the rules on other categories or
// regions are ignored.
func pick(chain, depts, regions []string, rules []Rule) Routing {
	var best *Rule
	bestKey := [3]int{}
	for i := range rules {
		r := &rules[i]
		c, g := indexOf(chain, r.CategoryCode), indexOf(regions, r.RegionCode)
		if c < 0 || g < 0 {
			continue
		}
		// Higher is better: nearer category, deeper region, priority.
		key := [3]int{-c, g, r.Priority}
		if best == nil || less(bestKey, key) {
			best, bestKey = r, key
		}
	}
	if best != nil {
		r := *best
		return Routing{Department: r.Department, Rule: &r}
	}
	for i, d := range depts {
		if d != "" {
			return Routing{Department: d, DefaultOf: chain[i]}
		}
	}
	return Routing{}
}

// Router is a snapshot of the whole catalogue's routing: every category's
// parent and default department and every routing rule, read in two
// queries. It answers Route without the database, for callers that route
// many cases and may use answers a few seconds old (casework's catalog).
type Router struct {
	parent, dept map[string]string
	// rules holds the rules by category.
	rules map[string][]Rule
}

// Router reads the routing snapshot.
func (s *Store) Router(ctx context.Context) (_ *Router, err error) {
	defer errs.Wrapf(&err, "category.Store.Router")
	rows, err := s.db.Query(ctx, `SELECT code, COALESCE(parent_code, ''), department_code FROM categories`)
	if err != nil {
		return nil, err
	}
	r := &Router{parent: map[string]string{}, dept: map[string]string{}, rules: map[string][]Rule{}}
	for rows.Next() {
		var code, parent, dept string
		if err := rows.Scan(&code, &parent, &dept); err != nil {
			rows.Close()
			return nil, err
		}
		r.parent[code], r.dept[code] = parent, dept
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	rules, err := s.rules(ctx, db.Where{})
	if err != nil {
		return nil, err
	}
	for _, rule := range rules {
		r.rules[rule.CategoryCode] = append(r.rules[rule.CategoryCode], rule)
	}
	return r, nil
}

// Explain is Store.Explain on the snapshot.
func (r *Router) Explain(code, regionPath string) (Routing, error) {
	var chain, depts []string
	var rules []Rule
	// A cycle cannot be stored (a category's parent exists before it),
	// but a snapshot never loops on one.
	for c := code; c != "" && len(chain) <= len(r.parent); c = r.parent[c] {
		d, ok := r.dept[c]
		if !ok {
			break
		}
		chain, depts = append(chain, c), append(depts, d)
		rules = append(rules, r.rules[c]...)
	}
	if len(chain) == 0 {
		return Routing{}, notFound(code)
	}
	return pick(chain, depts, pathCodes(regionPath), rules), nil
}

func placeholders(n int) string { return strings.TrimSuffix(strings.Repeat("?, ", n), ", ") }

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func indexOf(ss []string, s string) int {
	for i, x := range ss {
		if x == s {
			return i
		}
	}
	return -1
}

func less(a, b [3]int) bool {
	for i := range a {
		if a[i] != b[i] {
			return a[i] < b[i]
		}
	}
	return false
}
