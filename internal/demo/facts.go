package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"time"

	"whistle/internal/db"
	"whistle/internal/registry"
)

// FactsResult counts what GenerateFacts wrote.
type FactsResult struct {
	Generated bool // false when the registry held facts already
	People    int  // facts of people
	Orgs      int  // facts of organisations
}

// factRow is a reg_facts row to write.
type factRow struct {
	kind, key, path string
	id              int64
	value           any
	verified        bool
	source          string
}

// GenerateFacts gives the demo registry's people and organisations the
// facts the benefit policies read (issue 18), at plausible rates: the
// hukou of residents, pensions of the old, income of a quarter of the
// people (of every 低保 member), 低保, disability certificates and grades
// of the groups' members, a few registered unemployed and critical
// illnesses, children under 3; enterprises' employees, insurance months,
// revenue, R&D, certifications and credit. Most are verified against
// their source, some only declared, and many facts are left unknown. The
// rows go in in bulk, in one transaction, around the registry's history
// (a generated registry has none to keep); a registry with facts is left
// alone.
func GenerateFacts(ctx context.Context, d *db.DB, seed int64) (FactsResult, error) {
	var n int
	if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM reg_facts`).Scan(&n); err != nil {
		return FactsResult{}, db.Translate(err)
	}
	if n > 0 {
		return FactsResult{}, nil
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0x6661637473))
	groups, err := groupsByPerson(ctx, d)
	if err != nil {
		return FactsResult{}, err
	}
	now := d.Now()
	var rows []factRow
	var res FactsResult
	err = eachRow(ctx, d, `SELECT id, region_path, status, birth_date, household_relation FROM reg_people ORDER BY id`, func(scan func(...any) error) error {
		var id int64
		var path, status, birth, rel string
		if err := scan(&id, &path, &status, &birth, &rel); err != nil {
			return err
		}
		age, _ := registry.AgeOn(birth, now)
		before := len(rows)
		rows = personFacts(rng, rows, id, path, status, age, rel, groups[id])
		res.People += len(rows) - before
		return nil
	})
	if err != nil {
		return res, err
	}
	err = eachRow(ctx, d, `SELECT id, region_path, kind, size FROM reg_organisations ORDER BY id`, func(scan func(...any) error) error {
		var id int64
		var path, kind, size string
		if err := scan(&id, &path, &kind, &size); err != nil {
			return err
		}
		before := len(rows)
		rows = orgFacts(rng, rows, id, path, kind, size)
		res.Orgs += len(rows) - before
		return nil
	})
	if err != nil {
		return res, err
	}
	if err := insertFacts(ctx, d, rows, now); err != nil {
		return res, err
	}
	res.Generated = true
	return res, nil
}

func personFacts(rng *rand.Rand, rows []factRow, id int64, path, status string, age int, rel string, groups map[string]bool) []factRow {
	add := func(key string, v any, verified bool, source string) {
		rows = append(rows, factRow{kind: registry.FactPerson, id: id, path: path, key: key, value: v, verified: verified, source: source})
	}
	add("hukou_local", status != registry.StatusFloating, true, "公安户籍")
	if age >= 60 && rng.Float64() < 0.8 {
		add("pension", float64(200+rng.IntN(39)*100), true, "人社养老保险")
	}
	switch {
	case groups["dibao"]:
		add("dibao", true, true, "民政低保系统")
		add("income_per_head", float64(300+rng.IntN(9)*100), true, "民政家庭经济状况核对")
	case rng.Float64() < 0.25:
		inc := float64(800 + rng.IntN(73)*100)
		add("income_per_head", inc, rng.Float64() < 0.6, "民政家庭经济状况核对")
		add("dibao", false, true, "民政低保系统")
		if inc < 1680 && rng.Float64() < 0.5 {
			add("dibao_edge", true, true, "民政低保系统")
		}
	}
	if groups["disabled"] {
		add("disability_cert", true, true, "残联残疾人证")
		add("disability_grade", int64(1+rng.IntN(4)), true, "残联残疾人证")
	}
	if groups["veteran"] {
		add("veteran", true, true, "退役军人事务局")
	}
	if groups["elderly_alone"] {
		add("living_alone", true, rng.Float64() < 0.7, "社区走访")
	}
	if age >= 18 && age < 60 && rng.Float64() < 0.03 {
		add("unemployed_registered", true, true, "人社就业登记")
	}
	if rng.Float64() < 0.01 {
		add("severe_illness", true, true, "医保结算")
		add("medical_expense", float64(5000+rng.IntN(60)*1000), true, "医保结算")
	}
	if rel == "head" && age >= 22 && age <= 40 && rng.Float64() < 0.1 {
		add("children_under_3", int64(1+rng.IntN(2)), true, "卫健出生登记")
	}
	if age >= 80 && rng.Float64() < 0.2 {
		add("care_level", int64(1+rng.IntN(3)), true, "卫健失能评估")
	}
	if age >= 6 && age <= 22 && rng.Float64() < 0.5 {
		add("student", true, true, "教育学籍")
	}
	return rows
}

func orgFacts(rng *rand.Rand, rows []factRow, id int64, path, kind, size string) []factRow {
	add := func(key string, v any, verified bool, source string) {
		rows = append(rows, factRow{kind: registry.FactOrganisation, id: id, path: path, key: key, value: v, verified: verified, source: source})
	}
	if kind == "public_place" {
		return rows
	}
	staff := map[string]int{"micro": 5, "small": 40, "medium": 200, "large": 1000}[size]
	if staff == 0 {
		staff = 5
	}
	add("employees", int64(1+rng.IntN(2*staff)), true, "人社社保参保")
	add("insured_months", int64(rng.IntN(60)), true, "人社社保参保")
	add("years_operating", int64(rng.IntN(20)), true, "市场监管登记")
	add("tax_credit", []string{"A", "A", "B", "B", "M", "C", "D"}[rng.IntN(7)], true, "税务纳税信用")
	add("dishonest", rng.Float64() < 0.02, true, "信用中国")
	if kind == "shop" {
		return rows
	}
	add("revenue", float64(100+rng.IntN(staff*200)), true, "税务申报")
	add("layoff_rate", float64(rng.IntN(120))/10, rng.Float64() < 0.8, "人社稳岗")
	add("safety_incident", rng.Float64() < 0.02, true, "应急管理")
	if rng.Float64() < 0.3 {
		add("rd_spend", float64(10+rng.IntN(staff*3)), true, "税务研发加计扣除")
		add("patents", int64(rng.IntN(8)), true, "知识产权局")
	}
	if rng.Float64() < 0.05 {
		add("high_tech", true, true, "科技局认定")
	}
	if rng.Float64() < 0.03 {
		add("specialised", true, true, "经信局认定")
	}
	if rng.Float64() < 0.2 {
		add("exports", float64(50+rng.IntN(3000)), true, "海关")
	}
	if rng.Float64() < 0.15 {
		add("graduates_hired", int64(1+rng.IntN(10)), false, "企业申报")
	}
	if rng.Float64() < 0.1 {
		add("new_equipment", float64(100+rng.IntN(2000)), false, "企业申报")
	}
	return rows
}

// groupsByPerson reads every group membership.
func groupsByPerson(ctx context.Context, d *db.DB) (map[int64]map[string]bool, error) {
	out := map[int64]map[string]bool{}
	err := eachRow(ctx, d, `SELECT person_id, group_code FROM reg_group_members`, func(scan func(...any) error) error {
		var id int64
		var g string
		if err := scan(&id, &g); err != nil {
			return err
		}
		if out[id] == nil {
			out[id] = map[string]bool{}
		}
		out[id][g] = true
		return nil
	})
	return out, err
}

// eachRow runs q and calls fn with each row's Scan.
func eachRow(ctx context.Context, d *db.DB, q string, fn func(scan func(...any) error) error) error {
	rows, err := d.Query(ctx, q)
	if err != nil {
		return db.Translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows.Scan); err != nil {
			return err
		}
	}
	return db.Translate(rows.Err())
}

// insertFacts writes the rows in bulk, in one transaction.
func insertFacts(ctx context.Context, d *db.DB, rows []factRow, now time.Time) error {
	const chunk = 500
	return d.InTx(ctx, func(tx *db.Tx) error {
		for lo := 0; lo < len(rows); lo += chunk {
			part := rows[lo:min(lo+chunk, len(rows))]
			args := make([]any, 0, 8*len(part))
			for _, r := range part {
				v, err := json.Marshal(r.value)
				if err != nil {
					return fmt.Errorf("demo: fact %s: %w", r.key, err)
				}
				verified := 0
				if r.verified {
					verified = 1
				}
				args = append(args, r.kind, r.id, r.key, string(v), verified, r.source, r.path, now)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO reg_facts (subject_kind, subject_id, key, value, verified, source, region_path, updated_at) VALUES `+
				db.Placeholders(tx.Dialect(), len(part), 8)+` ON CONFLICT DO NOTHING`, args...); err != nil {
				return db.Translate(err)
			}
		}
		return nil
	})
}
