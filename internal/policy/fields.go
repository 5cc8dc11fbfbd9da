package policy

// Field types.
const (
	TInt    = "int"
	TDouble = "double"
	TBool   = "bool"
	TString = "string"
	TList   = "list" // a list of strings
)

// personFields are the fields a person's or household's conditions may
// read: the registry's columns, derived facts and fact rows.
var personFields = []Field{
	{Key: "age", Type: TInt, Label: Text{"年龄", "age"}, Unit: "岁", Derived: true},
	{Key: "sex", Type: TString, Label: Text{"性别", "sex"}, Derived: true},
	{Key: "status", Type: TString, Label: Text{"人口类型", "residence status"}, Derived: true},
	{Key: "groups", Type: TList, Label: Text{"所属人群", "groups"}, Derived: true},
	{Key: "household_size", Type: TInt, Label: Text{"家庭人口", "household size"}, Unit: "人", Derived: true},
	{Key: "hukou_local", Type: TBool, Label: Text{"本区户籍", "registered hukou in the district"}},
	{Key: "income_per_head", Type: TDouble, Label: Text{"家庭月人均收入", "monthly household income per head"}, Unit: "元", Range: &Range{0, 1000000}},
	{Key: "dibao", Type: TBool, Label: Text{"低保对象", "receives minimum living allowance (低保)"}},
	{Key: "dibao_edge", Type: TBool, Label: Text{"低保边缘家庭", "near the minimum-allowance line (低边)"}},
	{Key: "tekun", Type: TBool, Label: Text{"特困供养人员", "destitute person under state support (特困)"}},
	{Key: "disability_cert", Type: TBool, Label: Text{"持有残疾人证", "holds a disability certificate"}},
	{Key: "disability_grade", Type: TInt, Label: Text{"残疾等级", "disability grade"}, Unit: "级", Range: &Range{1, 4}},
	{Key: "care_level", Type: TInt, Label: Text{"失能等级", "level of lost self-care (0 none – 3 total)"}, Range: &Range{0, 3}},
	{Key: "unemployed_registered", Type: TBool, Label: Text{"登记失业", "registered unemployed"}},
	{Key: "severe_illness", Type: TBool, Label: Text{"患重特大疾病", "has a critical illness"}},
	{Key: "medical_expense", Type: TDouble, Label: Text{"年度个人自付医疗费用", "out-of-pocket medical costs this year"}, Unit: "元", Range: &Range{0, 100000000}},
	{Key: "sudden_hardship", Type: TBool, Label: Text{"遭遇突发事件致生活困难", "in hardship after a sudden event"}},
	{Key: "living_alone", Type: TBool, Label: Text{"独居", "lives alone"}},
	{Key: "veteran", Type: TBool, Label: Text{"优抚对象", "veteran or entitled group (优抚)"}},
	{Key: "student", Type: TBool, Label: Text{"在校学生", "student"}},
	{Key: "housing_area_per_head", Type: TDouble, Label: Text{"人均住房面积", "housing area per head"}, Unit: "㎡", Range: &Range{0, 10000}},
	{Key: "pension", Type: TDouble, Label: Text{"月养老金", "monthly pension"}, Unit: "元", Range: &Range{0, 1000000}},
	{Key: "orphan", Type: TBool, Label: Text{"孤儿或事实无人抚养儿童", "orphan or child without carers"}},
	{Key: "children_under_3", Type: TInt, Label: Text{"3岁以下子女数", "children under 3"}, Range: &Range{0, 20}},
}

// orgFields are the fields an organisation's conditions may read.
var orgFields = []Field{
	{Key: "org_kind", Type: TString, Label: Text{"主体类型", "kind of organisation"}, Derived: true},
	{Key: "industry", Type: TString, Label: Text{"行业", "industry"}, Derived: true},
	{Key: "size", Type: TString, Label: Text{"企业规模", "size"}, Derived: true},
	{Key: "employees", Type: TInt, Label: Text{"职工人数", "employees"}, Unit: "人", Range: &Range{0, 1000000}},
	{Key: "insured_months", Type: TInt, Label: Text{"连续参保缴费月数", "months of unemployment insurance paid"}, Unit: "月", Range: &Range{0, 1200}},
	{Key: "layoff_rate", Type: TDouble, Label: Text{"上年度裁员率", "last year's layoff rate"}, Unit: "%", Range: &Range{0, 100}},
	{Key: "rd_spend", Type: TDouble, Label: Text{"上年度研发费用", "R&D spend last year"}, Unit: "万元", Range: &Range{0, 1000000000}},
	{Key: "revenue", Type: TDouble, Label: Text{"上年度营业收入", "revenue last year"}, Unit: "万元", Range: &Range{0, 10000000000}},
	{Key: "years_operating", Type: TInt, Label: Text{"经营年限", "years in operation"}, Unit: "年", Range: &Range{0, 500}},
	{Key: "high_tech", Type: TBool, Label: Text{"高新技术企业", "certified high-tech enterprise"}},
	{Key: "specialised", Type: TBool, Label: Text{"专精特新企业", "specialised and innovative SME (专精特新)"}},
	{Key: "tax_credit", Type: TString, Label: Text{"纳税信用等级", "tax credit rating"}},
	{Key: "exports", Type: TDouble, Label: Text{"上年度出口额", "exports last year"}, Unit: "万元", Range: &Range{0, 10000000000}},
	{Key: "graduates_hired", Type: TInt, Label: Text{"当年招用高校毕业生", "graduates hired this year"}, Unit: "人", Range: &Range{0, 100000}},
	{Key: "dishonest", Type: TBool, Label: Text{"列入失信名单", "on the dishonesty list"}},
	{Key: "safety_incident", Type: TBool, Label: Text{"上年度发生较大安全事故", "had a serious safety incident last year"}},
	{Key: "new_equipment", Type: TDouble, Label: Text{"当年设备投资额", "equipment investment this year"}, Unit: "万元", Range: &Range{0, 1000000000}},
	{Key: "patents", Type: TInt, Label: Text{"有效发明专利数", "valid invention patents"}, Range: &Range{0, 1000000}},
}

// FieldsOf lists the fields a target's conditions may read.
func FieldsOf(target string) []Field {
	src := personFields
	if target == KindOrganisation {
		src = orgFields
	}
	out := make([]Field, len(src))
	for i, f := range src {
		f.Target = target
		out[i] = f
	}
	return out
}

func fieldIndex(target string) map[string]Field {
	m := map[string]Field{}
	for _, f := range FieldsOf(target) {
		m[f.Key] = f
	}
	return m
}
