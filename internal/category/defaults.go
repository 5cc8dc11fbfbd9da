package category

import (
	"context"
	"embed"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"strings"

	"whistle/internal/audit"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// data holds the default catalogue; data/README.md says where it comes from.
//
//go:embed data/cjt214.csv data/names_en.csv data/governance.csv data/synonyms.csv
var data embed.FS

// Code prefixes of the three kinds, so that codes are unique across kinds.
const (
	PartPrefix       = "BJ" // 部件
	EventPrefix      = "SJ" // 事件
	GovernancePrefix = "ZL" // 基层治理
)

// Defaults returns the default catalogue, parents before children: the
// CJ/T 214-2007 parts (BJ…) and events (SJ…) from data/cjt214.csv, and
// Whistle's grassroots-governance classes (ZL…) from data/governance.csv,
// with the English names of data/names_en.csv.
func Defaults() ([]Category, error) {
	names, err := readCSV("data/names_en.csv", "code", "name", "name_en")
	if err != nil {
		return nil, err
	}
	type name struct{ zh, en string }
	nameOf := map[string]name{}
	for _, r := range names {
		nameOf[r["code"]] = name{r["name"], r["name_en"]}
	}
	english := func(code, zh string) (string, error) {
		n, ok := nameOf[code]
		if !ok {
			return "", fmt.Errorf("category: data/names_en.csv has no row for %s (%s)", code, zh)
		}
		if n.zh != zh {
			return "", fmt.Errorf("category: data/names_en.csv names %s %q, but the catalogue says %q", code, n.zh, zh)
		}
		return n.en, nil
	}

	var out []Category
	roots := []struct {
		code string
		kind Kind
		sort int
	}{{PartPrefix, Part, 2}, {EventPrefix, Event, 3}}
	for _, r := range roots {
		n := nameOf[r.code]
		if n.zh == "" || n.en == "" {
			return nil, fmt.Errorf("category: data/names_en.csv has no names for the root %s", r.code)
		}
		out = append(out, Category{Code: r.code, Name: n.zh, NameEN: n.en, Kind: r.kind, Edition: EditionCJT214,
			Workflow: WorkflowUrban, Sort: r.sort})
	}

	rows, err := readCSV("data/cjt214.csv", "kind", "major_code", "major_name", "minor_code", "minor_name", "default_department", "time_limit")
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	pos := map[string]int{}
	for i, r := range rows {
		var kind Kind
		var prefix string
		switch r["kind"] {
		case "部件":
			kind, prefix = Part, PartPrefix
		case "事件":
			kind, prefix = Event, EventPrefix
		default:
			return nil, fmt.Errorf("category: data/cjt214.csv row %d: unknown kind %q", i+2, r["kind"])
		}
		major, minor := r["major_code"], r["minor_code"]
		if len(major) != 2 || len(minor) != 4 || !strings.HasPrefix(minor, major) {
			return nil, fmt.Errorf("category: data/cjt214.csv row %d: bad codes %q/%q", i+2, major, minor)
		}
		mcode, code := prefix+major, prefix+minor
		if seen[code] {
			return nil, fmt.Errorf("category: data/cjt214.csv row %d: duplicate code %s", i+2, code)
		}
		if !seen[mcode] {
			seen[mcode] = true
			en, err := english(mcode, r["major_name"])
			if err != nil {
				return nil, err
			}
			n, _ := strconv.Atoi(major)
			out = append(out, Category{Code: mcode, ParentCode: prefix, Name: r["major_name"], NameEN: en, Kind: kind,
				Edition: EditionCJT214, Workflow: WorkflowUrban, Department: majorDepartment(kind, major), Sort: n})
		}
		seen[code] = true
		en, err := english(code, r["minor_name"])
		if err != nil {
			return nil, err
		}
		dept, ok := departmentFromText(r["default_department"])
		if !ok {
			dept = itemDepartment(code, majorDepartment(kind, major))
		}
		pos[mcode]++
		out = append(out, Category{Code: code, ParentCode: mcode, Name: r["minor_name"], NameEN: en, Kind: kind,
			Edition: EditionCJT214, Workflow: WorkflowUrban, Department: dept, TimeLimit: r["time_limit"], Sort: pos[mcode]})
	}

	gov, err := readCSV("data/governance.csv", "code", "parent_code", "name", "name_en", "department", "time_limit", "urgent")
	if err != nil {
		return nil, err
	}
	for _, r := range gov {
		pos[r["parent_code"]]++
		sort := pos[r["parent_code"]]
		if r["parent_code"] == "" {
			sort = 1 // the residents' own classes come first
		}
		out = append(out, Category{Code: r["code"], ParentCode: r["parent_code"], Name: r["name"], NameEN: r["name_en"],
			Kind: Governance, Edition: EditionWhistle, Workflow: WorkflowWhistle, Department: r["department"],
			TimeLimit: r["time_limit"], Urgent: r["urgent"] == "true", Sort: sort})
	}

	parents := map[string]bool{}
	for _, c := range out {
		parents[c.ParentCode] = true
	}
	common := commonRanks()
	for i := range out {
		c := &out[i]
		c.Active = true
		c.Open311 = !parents[c.Code] // every leaf is an Open311 service
		c.Common = common[c.Code]
		c.Fields = defaultFields(c)
	}
	return out, nil
}

// readCSV reads an embedded CSV file whose header must contain want, and
// returns its rows as maps from column name to value.
func readCSV(file string, want ...string) ([]map[string]string, error) {
	f, err := data.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("category: %s: %w", file, err)
	}
	idx := map[string]int{}
	for i, h := range header {
		idx[strings.TrimSpace(h)] = i
	}
	for _, w := range want {
		if _, ok := idx[w]; !ok {
			return nil, fmt.Errorf("category: %s: missing column %q", file, w)
		}
	}
	var out []map[string]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("category: %s: %w", file, err)
		}
		m := make(map[string]string, len(want))
		for _, w := range want {
			m[w] = strings.TrimSpace(rec[idx[w]])
		}
		out = append(out, m)
	}
}

// The department codes the default catalogue uses; the demo district
// creates these departments.
const (
	deptCG   = "CG"   // 城管 (综合行政执法)
	deptZJ   = "ZJ"   // 住建
	deptSCJG = "SCJG" // 市场监管
	deptSTHJ = "STHJ" // 生态环境
	deptSW   = "SW"   // 水务
	deptJT   = "JT"   // 交通
	deptGA   = "GA"   // 公安
	deptYL   = "YL"   // 园林
	deptGD   = "GD"   // 供电
	deptRQ   = "RQ"   // 燃气
)

// departmentFromText maps the CSV's default_department text to a department
// code. The text lists owners or departments separated by ";"; the first
// one we have a department for wins. Owners we have no department for
// (telecom, broadcasting, an owner still to be found) map to "". ok is false
// when the text is empty, and the major-class rule applies instead.
func departmentFromText(text string) (code string, ok bool) {
	if text == "" {
		return "", false
	}
	if strings.Contains(text, "权属待查") {
		return "", true
	}
	keys := []struct{ word, code string }{
		{"供水", deptSW}, {"排水", deptSW}, {"水利", deptSW},
		{"电力", deptGD}, {"供电", deptGD},
		{"燃气", deptRQ},
		{"公安", deptGA},
		{"路灯", deptCG},
		{"住建", deptZJ},
		{"交通", deptJT},
	}
	for _, part := range strings.Split(text, ";") {
		for _, k := range keys {
			if strings.Contains(part, k.word) {
				return k.code, true
			}
		}
	}
	return "", true
}

// majorDepartment is the default department of a major class, following the
// duty split "部件先属主、后属地; 事件先属地、后属主": parts go to the department
// that owns that kind of object, events to the local enforcement first.
func majorDepartment(k Kind, major string) string {
	switch k {
	case Part:
		switch major {
		case "01", "03", "06": // 公用设施, 市容环境, 其他设施
			return deptCG
		case "02": // 道路交通
			return deptJT
		case "04": // 园林绿化
			return deptYL
		case "05": // 房屋土地
			return deptZJ
		}
	case Event:
		switch major {
		case "01", "02", "05": // 市容环境, 宣传广告, 街面秩序
			return deptCG
		case "03": // 施工管理
			return deptZJ
		case "04": // 突发事件
			return deptGA
		}
	}
	return ""
}

// itemDepartment overrides the major class's department for subclasses
// whose owner is obvious from the object (部件先属主) or the emergency's
// utility; other subclasses keep major.
func itemDepartment(code, major string) string {
	switch code {
	case "BJ0109", "BJ0110", "BJ0115", "BJ0130":
		// Network, heating, telecom and special covers: owners we have no
		// department for. Routing falls back to the major class (城管).
		return ""
	case "BJ0116", "BJ0133", "BJ0134":
		return deptGD
	case "BJ0127", "BJ0131", "BJ0132", "BJ0603", "BJ0604", "BJ0606":
		return deptSW
	case "BJ0129", "BJ0135":
		return deptRQ
	case "BJ0128":
		return deptJT
	case "BJ0136", "BJ0138":
		return deptGA
	case "BJ0308", "BJ0310", "BJ0311":
		return deptSTHJ
	case "BJ0602":
		return deptZJ
	case "SJ0111", "SJ0402", "SJ0404", "SJ0406":
		return deptSW
	case "SJ0403":
		return deptRQ
	case "SJ0408":
		return deptGD
	case "SJ0509":
		return deptJT
	}
	return major
}

// commonRanks lists the common categories, most common first.
func commonRanks() map[string]int {
	codes := []string{
		"SJ0102", // 暴露垃圾
		"SJ0504", // 店外经营 (占道经营)
		"SJ0201", // 非法小广告 (乱张贴)
		"SJ0505", // 机动车乱停放
		"ZL05",   // 噪音扰民
		"ZL0601", // 邻里求助
		"BJ0118", // 路灯
		"BJ0102", // 污水井盖
		"BJ0103", // 雨水井盖
	}
	m := make(map[string]int, len(codes))
	for i, c := range codes {
		m[c] = i + 1
	}
	return m
}

// defaultFields returns the example extra fields of a default category.
func defaultFields(c *Category) []Field {
	switch {
	case c.Kind == Part && (strings.HasSuffix(c.Name, "井盖") || strings.HasSuffix(c.Name, "箅子")):
		return []Field{{Key: "cover_state", Label: "井盖状态", LabelEN: "Cover state", Datatype: FieldSingleValueList, Required: true, Order: 1,
			Values: []Value{{"missing", "缺失", "Missing"}, {"broken", "破损", "Broken"}, {"loose", "松动", "Loose"}, {"sunken", "下沉或凸起", "Sunken or raised"}}}}
	case c.Code == "ZL05":
		return []Field{
			{Key: "noise_source", Label: "噪音来源", LabelEN: "Source of the noise", Datatype: FieldSingleValueList, Required: true, Order: 1,
				Values: []Value{{"household", "生活噪音", "Household"}, {"construction", "建筑施工", "Construction"},
					{"commercial", "商业经营", "Commercial"}, {"public", "广场舞等公共活动", "Public activities (square dancing …)"},
					{"other", "其他", "Other"}}},
			{Key: "noise_time", Label: "发生时段", LabelEN: "When", Datatype: FieldSingleValueList, Order: 2,
				Values: []Value{{"day", "昼间（6—22 时）", "Daytime (6:00–22:00)"}, {"night", "夜间（22—6 时）", "Night (22:00–6:00)"}}},
		}
	case c.Code == "SJ0505":
		return []Field{{Key: "plate", Label: "车牌号", LabelEN: "Number plate", Datatype: FieldString, Order: 1}}
	}
	return []Field{}
}

// SeedDefaults inserts the default catalogue when the categories table is
// empty and reports how many categories it inserted; on a non-empty table
// it does nothing, so it is safe to call at every start, also from several
// replicas at once.
func (s *Store) SeedDefaults(ctx context.Context, actor audit.Actor) (_ int, err error) {
	defer errs.Wrapf(&err, "category.Store.SeedDefaults")
	var n int
	if err := s.db.QueryRow(ctx, `SELECT COUNT(*) FROM categories`).Scan(&n); err != nil {
		return 0, db.Translate(err)
	}
	if n > 0 {
		return 0, nil
	}
	defs, err := Defaults()
	if err != nil {
		return 0, err
	}
	inserted := 0
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		inserted = 0
		if err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM categories`).Scan(&n); err != nil {
			return db.Translate(err)
		}
		if n > 0 {
			return nil // another process seeded first
		}
		for i := range defs {
			ok, err := insertIfAbsent(ctx, tx, &defs[i])
			if err != nil {
				return err
			}
			if ok {
				inserted++
			}
		}
		if inserted == 0 {
			return nil
		}
		return audit.Record(ctx, tx, actor, "category.seed", "categories",
			fmt.Sprintf("inserted %d default categories (%s and %s)", inserted, EditionCJT214, EditionWhistle))
	})
	if err != nil {
		return 0, err
	}
	return inserted, nil
}
