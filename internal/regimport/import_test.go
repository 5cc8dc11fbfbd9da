package regimport_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"golang.org/x/text/encoding/simplifiedchinese"

	"whistle/internal/account"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/i18n"
	"whistle/internal/idcode"
	"whistle/internal/regimport"
	"whistle/internal/registry"
	"whistle/internal/worldtest"
)

var t0 = time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)

const (
	gridA = "330303001001001"
	gridB = "330303001002001"
)

type world struct {
	*worldtest.World
	reg *registry.Store
	im  *regimport.Importer
	d   *db.DB
}

func newWorld(t *testing.T, d *db.DB, clk clock.Clock) *world {
	t.Helper()
	wt := worldtest.New(t, d, worldtest.Options{Regions: worldtest.OneStreet("区", "街道"), Departments: worldtest.CatalogueDepartments(),
		Users: worldtest.OneStreetUsers()})
	reg := registry.NewStore(registry.Deps{DB: d, Regions: wt.Regions})
	im, err := regimport.New(regimport.Deps{Registry: reg, Regions: wt.Regions, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	return &world{World: wt, reg: reg, im: im, d: d}
}

func (w *world) scope(name string) account.Scope { return account.ScopeOf(w.Users[name]) }

func (w *world) count(t *testing.T, table string) int {
	t.Helper()
	var n int
	if err := w.d.QueryRow(context.Background(), `SELECT COUNT(*) FROM `+table).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func idn(first17 string) string { return first17 + string(idcode.ResidentCheck(first17)) }

// wrongCheck completes 17 digits with a wrong check character.
func wrongCheck(first17 string) string {
	if idcode.ResidentCheck(first17) == '1' {
		return first17 + "2"
	}
	return first17 + "1"
}

func credit(first17 string) string { return first17 + string(idcode.CreditCheck(first17)) }

// peopleCSV is a people file: the header and one line per row.
func peopleCSV(header string, rows ...string) []byte {
	return []byte(header + "\n" + strings.Join(rows, "\n") + "\n")
}

const peopleHeader = "姓名,公民身份号码,性别,出生日期,联系电话,户籍地址,现住址,人员类型(常住/流动/寄住),登记日期,所属网格"

func personLine(n int, grid string) string {
	return fmt.Sprintf("张%d,%s,男,1990/1/1,13812345678,温州市龙湾区一路%d号,温州市龙湾区二路%d号,常住,,%s", n, idn(fmt.Sprintf("33030319900101%03d", 2*n+1)), n, n, grid)
}

func run(t *testing.T, w *world, sc account.Scope, k regimport.Kind, file []byte, o regimport.Options) (*regimport.Report, error) {
	t.Helper()
	return w.im.Import(context.Background(), sc, worldtest.Actor(), k, bytes.NewReader(file), o)
}

func texts(t *testing.T, errs []regimport.RowError) []string {
	t.Helper()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range errs {
		out = append(out, e.Text(cat, i18n.EN))
	}
	return out
}

func TestPeopleImportAllOrNothingAndIdempotent(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := newWorld(t, d, clk)
		sc := w.scope("staff-a")
		bad := strings.Replace(personLine(2, gridA), "1990/1/1", "1991/1/1", 1)
		file := peopleCSV(peopleHeader, personLine(1, gridA), bad, personLine(3, gridA))
		rep, err := run(t, w, sc, regimport.People, file, regimport.Options{})
		var re *regimport.RowsError
		if !errors.As(err, &re) {
			t.Fatalf("import with a bad row: got %v, want a *RowsError", err)
		}
		if got, want := strings.Join(texts(t, rep.Errors), "\n"), "row 3: 出生日期: The birth date does not match the identity number (1990-01-01)."; !strings.Contains(got, "row 3: 出生日期: ") {
			t.Fatalf("errors: got %q, want %q", got, want)
		}
		if got := w.count(t, "reg_people"); got != 0 {
			t.Fatalf("people after a refused file: got %d, want 0", got)
		}
		if rep.Committed {
			t.Fatal("a refused file reports committed")
		}
		fixed := peopleCSV(peopleHeader, personLine(1, gridA), personLine(2, gridA), personLine(3, gridA))
		rep, err = run(t, w, sc, regimport.People, fixed, regimport.Options{})
		if err != nil {
			t.Fatalf("fixed file: %v", err)
		}
		if got, want := *rep.Result, (registry.UpsertResult{Created: 3, IDs: rep.Result.IDs}); got.Created != want.Created || got.Updated != 0 || got.Unchanged != 0 {
			t.Fatalf("first import: got %+v, want 3 created", got)
		}
		hist := w.count(t, "reg_history")
		rep, err = run(t, w, sc, regimport.People, fixed, regimport.Options{})
		if err != nil {
			t.Fatalf("re-import: %v", err)
		}
		if got := *rep.Result; got.Created != 0 || got.Updated != 0 || got.Unchanged != 3 {
			t.Fatalf("re-import: got %+v, want 3 unchanged", got)
		}
		if got, want := w.count(t, "reg_history"), hist; got != want {
			t.Fatalf("history rows after a re-import: got %d, want %d", got, want)
		}
		if got := w.count(t, "reg_people"); got != 3 {
			t.Fatalf("people: got %d, want 3", got)
		}
		// A changed phone updates one person.
		changed := peopleCSV(peopleHeader, personLine(1, gridA), strings.Replace(personLine(2, gridA), "13812345678", "13912345678", 1), personLine(3, gridA))
		rep, err = run(t, w, sc, regimport.People, changed, regimport.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got := *rep.Result; got.Created != 0 || got.Updated != 1 || got.Unchanged != 2 {
			t.Fatalf("changed file: got %+v, want 1 updated, 2 unchanged", got)
		}
	})
}

func TestPeopleImportRowErrors(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := newWorld(t, d, clk)
		floating := strings.Replace(personLine(4, gridA), "常住,,", "流动,2026年3月5日,", 1)
		cases := []struct {
			name   string
			file   []byte
			scope  string
			want   []string // error lines
			dryRun bool
		}{
			{"bad check digit", peopleCSV(peopleHeader, personLine(1, gridA), strings.Replace(personLine(2, gridA), idn("33030319900101005"), wrongCheck("33030319900101005"), 1)),
				"staff-a", []string{"row 3: 公民身份号码: "}, false},
			{"grid outside the uploader's scope", peopleCSV(peopleHeader, personLine(1, gridB)), "staff-a",
				[]string{"row 2: 所属网格: Grid 330303001002001 does not exist or is outside your area."}, false},
			{"unknown person type", peopleCSV(peopleHeader, strings.Replace(personLine(1, gridA), "常住", "外来", 1)), "staff-a",
				[]string{"row 2: 人员类型(常住/流动/寄住): Not a valid value; use one of: 常住、流动、寄住."}, false},
			{"floating without date", peopleCSV(peopleHeader, strings.Replace(personLine(1, gridA), "常住", "流动", 1)), "staff-a",
				[]string{"row 2: 登记日期: "}, false},
			{"bad date", peopleCSV(peopleHeader, strings.Replace(personLine(1, gridA), "1990/1/1", "1990-13-01", 1)), "staff-a",
				[]string{"row 2: 出生日期: Use a date like"}, false},
			{"same person twice", peopleCSV(peopleHeader, personLine(1, gridA), personLine(1, gridA)), "staff-a",
				[]string{"row 3: 公民身份号码: Same as row 2."}, false},
			{"missing column", []byte("姓名,性别\n张三,男\n"), "staff-a",
				[]string{"row 1: 公民身份号码: Required column missing.", "row 1: 人员类型: Required column missing.", "row 1: 所属网格: Required column missing."}, false},
			{"synonyms and a floating person, dry run", peopleCSV("名字,身份证号,人口类型,流动人口登记日期,网格编码,序号", strings.Join([]string{"李四", idn("33030319900101009"), "流动", "2026/3/5", gridA, "1"}, ",")),
				"staff-a", nil, true},
			{"floating with a Chinese date", peopleCSV(peopleHeader, floating), "staff-a", nil, true},
			{"a grid by its name", peopleCSV(peopleHeader, strings.Replace(personLine(5, gridA), gridA, "网格A1", 1)), "staff-a", nil, true},
			{"a grid by a name outside the scope", peopleCSV(peopleHeader, strings.Replace(personLine(5, gridA), gridA, "网格B1", 1)), "staff-a",
				[]string{"row 2: 所属网格: Grid 330303001002001 does not exist or is outside your area."}, false},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				rep, err := run(t, w, w.scope(c.scope), regimport.People, c.file, regimport.Options{DryRun: c.dryRun})
				got := texts(t, rep.Errors)
				if len(c.want) == 0 {
					if err != nil || len(got) > 0 {
						t.Fatalf("got %v %q, want no error", err, got)
					}
					return
				}
				if err == nil {
					t.Fatalf("got no error, want %q", c.want)
				}
				if len(got) != len(c.want) {
					t.Fatalf("errors: got %q, want %q", got, c.want)
				}
				for i := range got {
					if !strings.HasPrefix(got[i], c.want[i]) {
						t.Fatalf("error %d: got %q, want it to start with %q", i, got[i], c.want[i])
					}
				}
			})
		}
		if got := w.count(t, "reg_people"); got != 0 {
			t.Fatalf("people after refused and dry-run files: got %d, want 0", got)
		}
	})
}

func TestPeopleImportGB18030AndXLSX(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := newWorld(t, d, clk)
		sc := w.scope("staff-a")
		gbk, err := simplifiedchinese.GB18030.NewEncoder().Bytes(peopleCSV(peopleHeader, personLine(1, gridA)))
		if err != nil {
			t.Fatal(err)
		}
		rep, err := run(t, w, sc, regimport.People, gbk, regimport.Options{})
		if err != nil || rep.Result.Created != 1 {
			t.Fatalf("GB18030 CSV: got %v %+v, want 1 created", err, rep.Result)
		}
		var buf bytes.Buffer
		if err := w.im.Export(context.Background(), sc, regimport.People, gridA, true, &buf); err != nil {
			t.Fatal(err)
		}
		rep, err = run(t, w, sc, regimport.People, buf.Bytes(), regimport.Options{})
		if err != nil {
			t.Fatalf("re-import of the export: %v %q", err, texts(t, rep.Errors))
		}
		if got := *rep.Result; got.Unchanged != 1 || got.Created+got.Updated != 0 {
			t.Fatalf("re-import of the export: got %+v, want 1 unchanged", got)
		}
		if got, want := rep.Preview[0].Cells[0], "张*"; got != want {
			t.Fatalf("preview name: got %q, want the masked %q", got, want)
		}
	})
}

func TestOrganisationsAndHousesImport(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := newWorld(t, d, clk)
		sc := w.scope("staff-a")
		orgs := []byte("统一社会信用代码,单位名称,单位类型,单位地址,联系人,联系电话,所属行业,企业规模,安全检查类别,所属网格\n" +
			credit("91330303MA2AB1234") + ",温州某某科技有限公司,企业,永中街道一路3号,王五,13812345678,制造业,小型,重点," + gridA + "\n" +
			credit("92330303MA2AB5678") + ",某某小吃店,个体工商户,永中街道一路5号,赵六,,餐饮,微型,一般," + gridA + "\n")
		for i, want := range []registry.UpsertResult{{Created: 2}, {Unchanged: 2}} {
			rep, err := run(t, w, sc, regimport.Organisations, orgs, regimport.Options{})
			if err != nil {
				t.Fatalf("organisations %d: %v %q", i, err, texts(t, rep.Errors))
			}
			if got := *rep.Result; got.Created != want.Created || got.Unchanged != want.Unchanged || got.Updated != 0 {
				t.Fatalf("organisations %d: got %+v, want %+v", i, got, want)
			}
		}
		houses := []byte("楼栋地址,楼栋名称,经度,纬度,层数,单元数,单元,房号,房屋用途,产权性质,出租情况,建筑面积\n" +
			"永中街道一路1号,1幢,120.005,27.005,6,2,1,101,住宅,私有,未出租,89.5\n" +
			"永中街道一路1号,1幢,120.005,27.005,6,2,1,102,住宅,私有,出租,90\n" +
			"永中街道一路2号,2幢,120.006,27.006,3,1,,101,商铺,集体,出租,40\n")
		for i, want := range []registry.UpsertResult{{Created: 3}, {Unchanged: 3}} {
			rep, err := run(t, w, sc, regimport.Houses, houses, regimport.Options{})
			if err != nil {
				t.Fatalf("houses %d: %v %q", i, err, texts(t, rep.Errors))
			}
			if got := *rep.Result; got.Created != want.Created || got.Unchanged != want.Unchanged || got.Updated != 0 {
				t.Fatalf("houses %d: got %+v, want %+v", i, got, want)
			}
		}
		if got := w.count(t, "reg_buildings"); got != 2 {
			t.Fatalf("buildings: got %d, want 2", got)
		}
		// A house in community B is outside staff-a's scope: nothing written.
		outside := []byte("楼栋地址,经度,纬度,房号\n永中街道三路1号,120.005,27.005,201\n永中街道三路9号,120.015,27.005,101\n")
		rep, err := run(t, w, sc, regimport.Houses, outside, regimport.Options{})
		if got := texts(t, rep.Errors); err == nil || len(got) != 2 || !strings.HasPrefix(got[0], "row 3: 纬度: ") || !strings.HasPrefix(got[1], "row 3: 经度: ") {
			t.Fatalf("house outside the scope: got %v %q, want row 3 errors on 纬度 and 经度", err, got)
		}
		if got := w.count(t, "reg_houses"); got != 3 {
			t.Fatalf("houses after a refused file: got %d, want 3", got)
		}
	})
}

func TestHousesImportLandlord(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := newWorld(t, d, clk)
		sc := w.scope("staff-a")
		if _, err := run(t, w, sc, regimport.People, peopleCSV(peopleHeader, personLine(1, gridA)), regimport.Options{}); err != nil {
			t.Fatal(err)
		}
		owner := idn("33030319900101003")
		cases := []struct {
			name     string
			landlord string
			want     string // the first error, or ""
		}{
			{"a stranger", idn("33030319900101005"), "row 2: 房东身份证号: "},
			{"a registered person", owner, ""},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				file := []byte("楼栋地址,经度,纬度,房号,出租情况,房东身份证号\n永中街道一路7号,120.005,27.005,301,出租," + c.landlord + "\n")
				rep, err := run(t, w, sc, regimport.Houses, file, regimport.Options{})
				got := texts(t, rep.Errors)
				if c.want == "" {
					if err != nil {
						t.Fatalf("got %v %q, want no error", err, got)
					}
					var landlord string
					if err := d.QueryRow(context.Background(), `SELECT p.id_number FROM reg_houses h JOIN reg_people p ON p.id = h.landlord_id WHERE h.room = '301'`).Scan(&landlord); err != nil {
						t.Fatal(err)
					}
					if landlord != owner {
						t.Fatalf("landlord: got %s, want %s", landlord, owner)
					}
					return
				}
				if err == nil || len(got) == 0 || !strings.HasPrefix(got[0], c.want) {
					t.Fatalf("got %v %q, want %q", err, got, c.want)
				}
				if n := w.count(t, "reg_houses"); n != 0 {
					t.Fatalf("houses after a refused file: got %d, want 0", n)
				}
			})
		}
	})
}

// TestPeopleImportHouses: a people file's optional house columns (the
// houses file's key: 楼栋地址, 单元, 房号, and 与房屋关系) link each person to
// their house in the import's transaction. A house that does not exist,
// one outside the scope and a relation missing are row errors naming the
// column, and nothing is written; the corrected file links both ways, a
// second run changes nothing, and the export (in the clear) re-imports
// unchanged with its house columns.
func TestPeopleImportHouses(t *testing.T) {
	worldtest.Each(t, t0, func(t *testing.T, d *db.DB, clk *clock.Fake) {
		ctx := context.Background()
		w := newWorld(t, d, clk)
		sc := w.scope("staff-a")
		houses := []byte("楼栋地址,经度,纬度,单元,房号\n永中街道一路1号,120.005,27.005,1,101\n永中街道一路1号,120.005,27.005,1,102\n")
		if rep, err := run(t, w, sc, regimport.Houses, houses, regimport.Options{}); err != nil {
			t.Fatalf("houses: %v %q", err, texts(t, rep.Errors))
		}
		// A house in community B, outside staff-a's scope.
		if rep, err := run(t, w, w.scope("staff-b"), regimport.Houses, []byte("楼栋地址,经度,纬度,房号\n永中街道三路9号,120.015,27.005,101\n"), regimport.Options{}); err != nil {
			t.Fatalf("houses of B: %v %q", err, texts(t, rep.Errors))
		}
		header := peopleHeader + ",楼栋地址,单元,房号,与房屋关系"
		line := func(n int, house string) string { return personLine(n, gridA) + "," + house }
		bad := peopleCSV(header, line(1, "永中街道一路1号,1,101,产权人"), line(2, "永中街道一路1号,1,999,租户"),
			line(3, "永中街道三路9号,,101,租户"), line(4, "永中街道一路1号,1,102,"), line(5, ",,,"))
		rep, err := run(t, w, sc, regimport.People, bad, regimport.Options{})
		want := []string{"row 3: 楼栋地址: ", "row 4: 楼栋地址: ", "row 5: 与房屋关系: "}
		got := texts(t, rep.Errors)
		if err == nil || len(got) != len(want) {
			t.Fatalf("a file with bad houses: got %v %q, want %q", err, got, want)
		}
		for i := range want {
			if !strings.HasPrefix(got[i], want[i]) {
				t.Errorf("error %d: got %q, want %q…", i, got[i], want[i])
			}
		}
		if n, l := w.count(t, "reg_people"), w.count(t, "reg_person_houses"); n != 0 || l != 0 {
			t.Fatalf("after a refused file: %d people, %d links; want none", n, l)
		}
		good := peopleCSV(header, line(1, "永中街道一路1号,1,101,产权人"), line(2, "永中街道一路1号,1,102,租户"), line(3, "永中街道一路1号,1,102,家庭成员"), line(5, ",,,"))
		rep, err = run(t, w, sc, regimport.People, good, regimport.Options{})
		if err != nil || rep.Result.Created != 4 {
			t.Fatalf("the corrected file: %v %q %+v", err, texts(t, rep.Errors), rep.Result)
		}
		links := func() map[string]string {
			t.Helper()
			out := map[string]string{}
			for i, id := range rep.Result.IDs {
				hs, err := w.reg.HousesOf(ctx, sc, id)
				if err != nil {
					t.Fatal(err)
				}
				for _, h := range hs {
					out[fmt.Sprintf("%d %s-%s", i+1, h.Unit, h.Room)] = h.Relation
					// The other way: the house lists the person.
					rs, err := w.reg.Residents(ctx, sc, h.ID, false)
					if err != nil {
						t.Fatal(err)
					}
					found := false
					for _, r := range rs {
						found = found || r.ID == id && r.Relation == h.Relation
					}
					if !found {
						t.Errorf("house %s-%s does not list person %d as %s", h.Unit, h.Room, id, h.Relation)
					}
				}
			}
			return out
		}
		if got, want := fmt.Sprint(links()), "map[1 1-101:owner 2 1-102:tenant 3 1-102:family]"; got != want {
			t.Fatalf("links: got %s, want %s", got, want)
		}
		history := w.count(t, "reg_history")
		again, err := run(t, w, sc, regimport.People, good, regimport.Options{})
		if err != nil || again.Result.Unchanged != 4 || w.count(t, "reg_history") != history || w.count(t, "reg_person_houses") != 3 {
			t.Fatalf("the same file again: %v %+v, history %d → %d, links %d", err, again.Result, history, w.count(t, "reg_history"), w.count(t, "reg_person_houses"))
		}
		// The export holds each person's house and re-imports unchanged.
		var x bytes.Buffer
		if err := w.im.Export(ctx, sc, regimport.People, gridA, true, &x); err != nil {
			t.Fatal(err)
		}
		rep, err = run(t, w, sc, regimport.People, x.Bytes(), regimport.Options{})
		if err != nil || rep.Result.Unchanged != 4 || w.count(t, "reg_history") != history {
			t.Fatalf("the export re-imported: %v %q %+v", err, texts(t, rep.Errors), rep.Result)
		}
		cols := strings.Join(rep.Columns, ",")
		i := strings.Index(cols, "楼栋地址")
		if i < 0 || !strings.Contains(fmt.Sprint(rep.Preview[0].Cells), "永中街道一路1号 1 101 产权人") {
			t.Errorf("the export's first row %v (columns %s): want its house 永中街道一路1号 1 101 产权人", rep.Preview[0].Cells, cols)
		}
		// A person may move: the file's new house is linked too.
		moved := peopleCSV(header, line(1, "永中街道一路1号,1,102,租户"))
		if _, err := run(t, w, sc, regimport.People, moved, regimport.Options{}); err != nil {
			t.Fatal(err)
		}
		if got := links()["1 1-102"]; got != registry.RelTenant {
			t.Errorf("person 1's new house: got %q, want tenant", got)
		}
	})
}
