package demo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"whistle/internal/casework"
	"whistle/internal/category"
	"whistle/internal/db"
	"whistle/internal/region"
	"whistle/internal/sla"
	"whistle/internal/sla/calendar"
	"whistle/internal/stats"
	"whistle/internal/timer"
	"whistle/internal/workflow"
)

// HistoryOptions are GenerateHistory's collaborators.
type HistoryOptions struct {
	// Regions holds the district's grids with their boundaries.
	Regions *region.Store
	// Categories is the category catalogue the cases are filed under.
	Categories *category.Store
	// Calendar says which days are holidays; nil uses the official one.
	Calendar *calendar.Calendar
	// Stats, when set, has its rollups rebuilt from the generated cases.
	Stats *stats.Store
	// End is the end of the year of history (default: the database's now).
	End time.Time
	// BatchRows is the number of cases per INSERT (default 100 on SQLite,
	// 500 on PostgreSQL).
	BatchRows int
	// Workflows, when set, gives the active version of each workflow,
	// which the cases follow (its stages and default limits); without it
	// the versions shipped in the binary are used.
	Workflows *workflow.Store
}

// HistoryDays is how far back the generated history goes.
const HistoryDays = 365

// GenerateHistory writes n cases spread over the year before opt.End
// straight into the database, as casework would have left them: numbers
// from the per-day sequence, the submit step on the timeline, final
// statuses with closed_at, ratings, return visits, reworks and returns,
// the ended first stage (红哨 accept, 数字城管 register; met or missed) of
// every case that got past it or was rejected, with the accept or register
// step on the timeline, the SLA stage of the open cases (with their
// timers) and a missed stage for the cases closed late. The patterns are
// plausible rather than real: more reports in summer and fewer at night,
// at weekends and on holidays (fewest at the Spring Festival); clusters at
// markets and schools; categories by season (waterlogging in the typhoon
// months, street-lamp faults in winter…); and streets that differ in
// speed, punctuality, responsiveness and satisfaction.
//
// It streams day by day in batched multi-row INSERTs, one transaction per
// few thousand cases, so memory stays bounded whatever n is, and reports
// its progress on progress (nil for none). It only fills an empty cases
// table; with cases present it does nothing. With opt.Stats set it then
// rebuilds the rollups from the cases.
func GenerateHistory(ctx context.Context, d *db.DB, opt HistoryOptions, n int, seed int64, progress io.Writer) error {
	if n <= 0 {
		return nil
	}
	if progress == nil {
		progress = io.Discard
	}
	var existing int
	if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM (SELECT 1 FROM cases LIMIT 1) x`).Scan(&existing); err != nil {
		return err
	}
	if existing > 0 {
		fmt.Fprintln(progress, "history: the database already has cases; nothing generated")
		return nil
	}
	g, err := newHistoryGen(ctx, d, opt, seed)
	if err != nil {
		return err
	}
	if err := g.run(ctx, n, progress); err != nil {
		return err
	}
	if opt.Stats != nil {
		bar := newProgressBar(progress, "rollups")
		rep, err := opt.Stats.Rebuild(ctx, stats.RebuildOptions{Progress: bar.update, BatchSize: 20000})
		bar.done()
		if err != nil {
			return err
		}
		fmt.Fprintf(progress, "rollups: %d cases, %d nodes, %d rows in %s\n", rep.Cases, rep.Nodes, rep.Rows, rep.Elapsed.Round(time.Millisecond))
	}
	return analyse(ctx, d, progress)
}

// analyse gathers planner statistics for every table the history filled
// (cases, their timeline, stages, timers, notifications, rollups) now,
// rather than at the server's next start (SQLite's PRAGMA optimize at open
// would run this full ANALYZE, a minute at ten million cases) or whenever
// PostgreSQL's autovacuum gets to it: until then both plan the case page
// and the queues on guesses.
func analyse(ctx context.Context, d *db.DB, progress io.Writer) error {
	start := time.Now()
	if err := d.InTx(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, `ANALYZE`)
		return err
	}); err != nil {
		return err
	}
	fmt.Fprintf(progress, "analyse: planner statistics for every table in %s\n", time.Since(start).Round(time.Millisecond))
	return nil
}

// theme is a family of categories with a share of the reports, a monthly
// profile and an affinity for markets and schools.
type theme struct {
	words  []string
	weight float64
	months [12]float64 // January first
	market float64     // weight multiplier near a market
	school float64     // near a school
}

// flat is a year without a season.
func flat() [12]float64 { return [12]float64{1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1} }

// themes are the report families of a Wenzhou district. Wenzhou is hot and
// wet in summer, with typhoons from July to September.
func themes() []theme {
	summer := [12]float64{.7, .7, .85, 1, 1.15, 1.3, 1.5, 1.5, 1.25, 1, .85, .75}
	typhoon := [12]float64{.4, .4, .6, .8, 1.1, 1.6, 2.4, 2.8, 2.4, 1, .6, .5}
	winter := [12]float64{1.6, 1.4, 1.1, .9, .8, .7, .7, .7, .8, 1, 1.3, 1.6}
	festival := [12]float64{1.8, 1.5, 1, .9, .9, .9, .9, .9, 1, 1, 1.1, 1.5}
	return []theme{
		{words: []string{"垃圾", "卫生死角", "道路不洁", "渣土", "绿地脏乱"}, weight: 15, months: summer, market: 4, school: 1},
		{words: []string{"占道", "店外", "游商", "无照经营", "流动摊"}, weight: 10, months: summer, market: 8, school: 3},
		{words: []string{"停车", "乱停", "存车"}, weight: 8, months: flat(), market: 2, school: 6},
		{words: []string{"噪音", "噪声", "扰民"}, weight: 6, months: summer, market: 2, school: 1},
		{words: []string{"油烟"}, weight: 3, months: summer, market: 5, school: 1},
		{words: []string{"积水", "下水道", "雨水", "井盖", "河堤", "防汛"}, weight: 6, months: typhoon, market: 1, school: 1},
		{words: []string{"行道树", "绿地", "护树", "古树"}, weight: 3, months: typhoon, market: 1, school: 1},
		{words: []string{"路灯", "景观灯", "地灯"}, weight: 4, months: winter, market: 1, school: 2},
		{words: []string{"道路破损", "路面塌陷", "交通护栏", "交通标志"}, weight: 4, months: typhoon, market: 1, school: 3},
		{words: []string{"小广告", "张贴", "广告"}, weight: 4, months: flat(), market: 3, school: 1},
		{words: []string{"燃气", "消防", "危房", "安全隐患"}, weight: 4, months: winter, market: 2, school: 2},
		{words: []string{"焚烧"}, weight: 1, months: winter, market: 1, school: 1},
		{words: []string{"纠纷"}, weight: 5, months: festival, market: 2, school: 1},
		{words: []string{"物业", "电梯", "二次供水", "公共设施损坏"}, weight: 5, months: summer, market: 1, school: 1},
		{words: []string{"邻里求助", "助老助残", "代办"}, weight: 3, months: winter, market: 1, school: 1},
		{words: []string{"施工", "扬尘", "掘路"}, weight: 4, months: [12]float64{.6, .5, 1.1, 1.2, 1.2, 1.1, 1, 1, 1.1, 1.2, 1.2, 1}, market: 1, school: 2},
	}
}

// hourly is the share of reports in each hour of the day: few at night.
func hourly() [24]float64 {
	return [24]float64{.25, .15, .1, .1, .12, .3, .8, 1.6, 2.6, 3, 2.9, 2.3, 1.4, 1.7, 2.7, 2.8, 2.6, 2.2, 1.7, 1.6, 1.4, 1.1, .7, .4}
}

// roads name the addresses of generated cases.
func roads() []string {
	return []string{"永中路", "龙湾大道", "蒲州路", "状元路", "海城路", "沙城街", "永宁大道", "文化路", "瑶溪路", "滨海大道", "金海大道", "罗东路", "永强大道", "灵昆大道"}
}

// details end the generated descriptions.
func details() []string {
	return []string{"，影响居民出行", "，已持续数日", "，请尽快处理", "，存在安全隐患", "，影响市容市貌", "，周边群众反映强烈", "，希望有关部门尽快解决"}
}

type histCategory struct {
	code, name, workflow, dept string
	urgent                     bool
	theme                      int // index into themes, or -1
}

type histGrid struct {
	code, community, street, district, path, communityName string
	shape                                                  orb.MultiPolygon
	bound                                                  orb.Bound
	interior                                               orb.Point
	weight                                                 float64
	streetIdx                                              int // index into streets
}

// streetTraits make streets differ on the map.
type streetTraits struct {
	speed   float64 // handling-time multiplier
	late    float64 // share of cases closed late
	content float64 // satisfaction bias in stars
}

type hotspot struct {
	grid   int
	at     orb.Point
	school bool
}

type historyGen struct {
	d        *db.DB
	opt      HistoryOptions
	rng      *rand.Rand
	cal      *calendar.Calendar
	loc      *time.Location
	end      time.Time
	cats     []histCategory
	themes   []theme
	grids    []histGrid
	gridCum  []float64
	streets  []streetTraits
	hotspots []hotspot
	depts    map[string]int64
	nextID   int64
	stageID  int64
	lastCase map[int]int64 // grid → the latest case id, for merges
	// wfs are casework's workflow definitions by name, and openStates
	// their open states, so the history follows the real stages.
	wfs        map[string]*casework.Workflow
	openStates map[string][]string
	// themeSize counts the categories of each theme.
	themeSize []int
	// firstStep is each workflow's step out of its initial state along
	// the way (红哨 accept, 数字城管 register), for the first stage.
	firstStep map[string]firstStep
}

// firstStep is the transition that ends a workflow's first stage, with the
// stage's name, its default time limit and whether it is assessed.
type firstStep struct {
	stage, action, to, role string
	limit                   time.Duration // working time
	assessed, public        bool
}

func newHistoryGen(ctx context.Context, d *db.DB, opt HistoryOptions, seed int64) (*historyGen, error) {
	if opt.Regions == nil || opt.Categories == nil {
		return nil, errors.New("demo.GenerateHistory: Regions and Categories are required")
	}
	if opt.BatchRows <= 0 {
		// SQLite binds fastest in small statements; PostgreSQL saves round trips.
		opt.BatchRows = 100
		if d.Dialect() == db.Postgres {
			opt.BatchRows = 500
		}
	}
	g := &historyGen{d: d, opt: opt, rng: rand.New(rand.NewPCG(uint64(seed), 0x686973746f7279)), themes: themes(), depts: map[string]int64{},
		lastCase: map[int]int64{}, wfs: casework.Workflows(), openStates: map[string][]string{}}
	if opt.Workflows != nil {
		for name := range g.wfs {
			d, err := opt.Workflows.Active(ctx, name)
			if err != nil {
				return nil, err
			}
			g.wfs[name] = casework.FromDefinition(d)
		}
	}
	g.firstStep = map[string]firstStep{}
	for name, w := range g.wfs {
		g.openStates[name] = openStates(w)
		fs, err := firstStepOf(w, g.openStates[name])
		if err != nil {
			return nil, err
		}
		g.firstStep[name] = fs
	}
	g.cal = opt.Calendar
	if g.cal == nil {
		c, err := calendar.Default()
		if err != nil {
			return nil, err
		}
		g.cal = c
	}
	g.loc = g.cal.Location()
	g.end = opt.End
	if g.end.IsZero() {
		g.end = d.Now()
	}
	if err := g.loadGrids(ctx); err != nil {
		return nil, err
	}
	if err := g.loadCategories(ctx); err != nil {
		return nil, err
	}
	rows, err := d.Query(ctx, `SELECT id, code FROM departments`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var id int64
		var code string
		if err := rows.Scan(&id, &code); err != nil {
			rows.Close()
			return nil, err
		}
		g.depts[code] = id
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if err := d.QueryRow(ctx, `SELECT COALESCE(MAX(id), 0) FROM cases`).Scan(&g.nextID); err != nil {
		return nil, err
	}
	if err := d.QueryRow(ctx, `SELECT COALESCE(MAX(id), 0) FROM sla_stages`).Scan(&g.stageID); err != nil {
		return nil, err
	}
	return g, nil
}

func (g *historyGen) loadGrids(ctx context.Context) error {
	nodes, err := g.opt.Regions.All(ctx, true)
	if err != nil {
		return err
	}
	names := map[string]string{}
	streetIdx := map[string]int{}
	for _, n := range nodes {
		names[n.Code] = n.Name
		if n.Level == region.Street {
			streetIdx[n.Code] = len(g.streets)
			// Streets differ: some are quick and punctual, some are not.
			g.streets = append(g.streets, streetTraits{speed: 0.6 + 0.9*g.rng.Float64(), late: 0.02 + 0.14*g.rng.Float64(), content: -0.6 + 0.9*g.rng.Float64()})
		}
	}
	for _, n := range nodes {
		if n.Level != region.Grid || n.Geometry == nil {
			continue
		}
		codes := region.PathCodes(n.Path)
		if len(codes) < 4 {
			continue
		}
		gr := histGrid{code: n.Code, path: n.Path, shape: n.MultiPolygon(), bound: n.Bound, interior: n.Interior,
			community: codes[len(codes)-2], street: codes[len(codes)-3], district: codes[len(codes)-4],
			// Grids differ in population: a log-normal spread.
			weight: math.Exp(0.6 * g.rng.NormFloat64())}
		gr.communityName = names[gr.community]
		gr.streetIdx = streetIdx[gr.street]
		g.grids = append(g.grids, gr)
	}
	if len(g.grids) == 0 {
		return errors.New("demo.GenerateHistory: the region tree has no grids; seed the demo district first")
	}
	cum := 0.0
	for _, gr := range g.grids {
		cum += gr.weight
		g.gridCum = append(g.gridCum, cum)
	}
	// Markets and schools: a few grids each have one, where reports cluster.
	for i := 0; i < max(3, len(g.grids)/50); i++ {
		gi := g.rng.IntN(len(g.grids))
		g.hotspots = append(g.hotspots, hotspot{grid: gi, at: g.pointIn(gi)})
	}
	for i := 0; i < max(3, len(g.grids)/40); i++ {
		gi := g.rng.IntN(len(g.grids))
		g.hotspots = append(g.hotspots, hotspot{grid: gi, at: g.pointIn(gi), school: true})
	}
	return nil
}

func (g *historyGen) loadCategories(ctx context.Context) error {
	tree, err := g.opt.Categories.Tree(ctx, false)
	if err != nil {
		return err
	}
	var walk func(cs []*category.Category)
	walk = func(cs []*category.Category) {
		for _, c := range cs {
			if len(c.Children) > 0 {
				walk(c.Children)
				continue
			}
			hc := histCategory{code: c.Code, name: c.Name, workflow: string(c.Workflow), dept: c.Department, urgent: c.Urgent, theme: -1}
			for i, th := range g.themes {
				for _, w := range th.words {
					if strings.Contains(c.Name, w) {
						hc.theme = i
					}
				}
				if hc.theme >= 0 {
					break
				}
			}
			g.cats = append(g.cats, hc)
		}
	}
	walk(tree)
	if len(g.cats) == 0 {
		return errors.New("demo.GenerateHistory: the category catalogue is empty")
	}
	// A theme's share is split among its categories.
	g.themeSize = make([]int, len(g.themes))
	for _, c := range g.cats {
		if c.theme >= 0 {
			g.themeSize[c.theme]++
		}
	}
	return nil
}

// pickGrid picks a grid by weight.
func (g *historyGen) pickGrid() int {
	x := g.rng.Float64() * g.gridCum[len(g.gridCum)-1]
	i, _ := slices.BinarySearch(g.gridCum, x)
	return min(i, len(g.grids)-1)
}

// pointIn draws a point inside grid i.
func (g *historyGen) pointIn(i int) orb.Point {
	gr := &g.grids[i]
	for try := 0; try < 30; try++ {
		p := orb.Point{gr.bound.Min[0] + g.rng.Float64()*(gr.bound.Max[0]-gr.bound.Min[0]), gr.bound.Min[1] + g.rng.Float64()*(gr.bound.Max[1]-gr.bound.Min[1])}
		if planar.MultiPolygonContains(gr.shape, p) {
			return p
		}
	}
	return gr.interior
}

// near draws a point about 150 m around a hotspot, inside its grid.
func (g *historyGen) near(h hotspot) orb.Point {
	gr := &g.grids[h.grid]
	for try := 0; try < 30; try++ {
		p := orb.Point{h.at[0] + 0.0015*g.rng.NormFloat64(), h.at[1] + 0.0013*g.rng.NormFloat64()}
		if planar.MultiPolygonContains(gr.shape, p) {
			return p
		}
	}
	return h.at
}

// dayWeight is the relative number of reports on a day: the season, the
// weekday and the holidays.
func (g *historyGen) dayWeight(day time.Time) float64 {
	doy := float64(day.YearDay())
	w := 1 + 0.3*math.Cos(2*math.Pi*(doy-201)/365) // peak about 20 July
	date := g.cal.DateOf(day)
	d, listed := g.cal.Lookup(date)
	switch {
	case listed && d.Kind == calendar.Holiday && strings.Contains(d.Name, "春节"):
		w *= 0.35
	case listed && d.Kind == calendar.Holiday:
		w *= 0.55
	case !g.cal.IsWorkday(date):
		w *= 0.75
	}
	return w * (0.92 + 0.16*g.rng.Float64())
}

// pickCategory picks a category by its theme's weight in the month and
// near the hotspot, if any.
func (g *historyGen) pickCategory(month time.Month, h *hotspot, weights []float64) *histCategory {
	total := 0.0
	for i, c := range g.cats {
		w := 0.05 // the long tail
		if c.theme >= 0 {
			th := &g.themes[c.theme]
			w = th.weight / float64(g.themeSize[c.theme]) * th.months[month-1]
			if h != nil && h.school {
				w *= th.school
			} else if h != nil {
				w *= th.market
			}
		}
		weights[i] = w
		total += w
	}
	x := g.rng.Float64() * total
	for i := range g.cats {
		if x -= weights[i]; x < 0 {
			return &g.cats[i]
		}
	}
	return &g.cats[len(g.cats)-1]
}

// histCase is one generated case.
type histCase struct {
	id                                     int64
	number, workflow, status, prev, source string
	cat                                    *histCategory
	desc, address                          string
	p                                      orb.Point
	grid                                   int
	dept                                   any
	rating                                 any
	revisit                                string
	reopens, rework, returns               int
	supervised                             bool
	parent                                 any
	created, updated                       time.Time
	closed, deadline                       any
	sla                                    string
	stage                                  *histStage
	// first is the ended first stage (红哨 accept, 数字城管 register) of a
	// case past its initial state; the response rate reads it.
	first *histStage
}

type histStage struct {
	id                      int64
	name, status            string
	limitSpec               string
	natural                 bool
	started, deadline, warn time.Time
	warned, breached, ended time.Time
	outcome                 string
	assessed                bool
	// step and to are the timeline step that ended the stage and the
	// state it led to; "" when no step of its own ended it (a rejection
	// or a merge, which the history leaves off the timeline).
	step, to, role string
	public         bool
}

func (g *historyGen) run(ctx context.Context, n int, progress io.Writer) error {
	endDay := time.Date(g.end.In(g.loc).Year(), g.end.In(g.loc).Month(), g.end.In(g.loc).Day(), 0, 0, 0, 0, g.loc)
	first := endDay.AddDate(0, 0, -(HistoryDays - 1))
	weights := make([]float64, HistoryDays)
	total := 0.0
	for i := range weights {
		day := first.AddDate(0, 0, i)
		w := g.dayWeight(day)
		if i == HistoryDays-1 { // today has only had the hours until now
			w *= g.shareOfDayBefore(g.end.In(g.loc))
		}
		weights[i] = w
		total += w
	}
	// A large page cache for the bulk load on SQLite's writer connection,
	// given back at the end.
	var restore func(*db.Tx)
	if err := g.d.InTx(ctx, func(tx *db.Tx) error {
		var err error
		restore, err = stats.BigCache(ctx, tx)
		return err
	}); err != nil {
		return err
	}
	defer func() { _ = g.d.InTx(context.Background(), func(tx *db.Tx) error { restore(tx); return nil }) }()
	bar := newProgressBar(progress, "history")
	catW := make([]float64, len(g.cats))
	written, carry := 0, 0.0
	// Cases are written in chunks of a few thousand, one transaction each,
	// with the day counters of the days they complete.
	const chunk = 5000
	var pending []*histCase
	var days []dayCount
	flush := func() error {
		if err := g.write(ctx, pending, days); err != nil {
			return err
		}
		written += len(pending)
		bar.update(int64(written), int64(n))
		pending, days = pending[:0], days[:0]
		return ctx.Err()
	}
	for i := range weights {
		exact := float64(n)*weights[i]/total + carry
		count := int(exact)
		carry = exact - float64(count)
		if i == HistoryDays-1 {
			count = n - written - len(pending)
		}
		day := first.AddDate(0, 0, i)
		cases := g.day(day, count, catW)
		for len(cases) > 0 {
			k := min(chunk-len(pending), len(cases))
			pending = append(pending, cases[:k]...)
			cases = cases[k:]
			if len(cases) == 0 && count > 0 {
				days = append(days, dayCount{day, count})
			}
			if len(pending) >= chunk {
				if err := flush(); err != nil {
					return err
				}
			}
		}
	}
	if len(pending) > 0 || len(days) > 0 {
		if err := flush(); err != nil {
			return err
		}
	}
	bar.done()
	if g.d.Dialect() == db.Postgres {
		// The ids were given explicitly: move the identity sequences past them.
		for _, t := range []string{"cases", "sla_stages"} {
			var v int64
			if err := g.d.QueryRow(ctx, `SELECT setval(pg_get_serial_sequence('`+t+`', 'id'), (SELECT COALESCE(MAX(id), 1) FROM `+t+`))`).Scan(&v); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(progress, "history: %d cases over %d days up to %s\n", written, HistoryDays, endDay.Format(time.DateOnly))
	return nil
}

// shareOfDayBefore is the share of a day's reports made before t.
func (g *historyGen) shareOfDayBefore(t time.Time) float64 {
	h := hourly()
	sum, before := 0.0, 0.0
	for i, w := range h {
		sum += w
		switch {
		case i < t.Hour():
			before += w
		case i == t.Hour():
			before += w * float64(t.Minute()) / 60
		}
	}
	return before / sum
}

// day generates a day's cases in time order.
func (g *historyGen) day(day time.Time, count int, catW []float64) []*histCase {
	h := hourly()
	var cum [24]float64
	s := 0.0
	for i, w := range h {
		s += w
		cum[i] = s
	}
	times := make([]time.Time, 0, count)
	for len(times) < count {
		x := g.rng.Float64() * s
		hr := 0
		for hr < 23 && cum[hr] < x {
			hr++
		}
		t := day.Add(time.Duration(hr)*time.Hour + time.Duration(g.rng.Int64N(int64(time.Hour))))
		if !t.Before(g.end) {
			continue // today: only until now
		}
		times = append(times, t.UTC().Truncate(time.Microsecond))
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	out := make([]*histCase, count)
	for i, t := range times {
		out[i] = g.newCase(t, day, i+1, catW)
	}
	return out
}

// newCase makes one case submitted at t, the seq-th of its day.
func (g *historyGen) newCase(t, day time.Time, seq int, catW []float64) *histCase {
	g.nextID++
	c := &histCase{id: g.nextID, created: t, sla: "none"}
	var h *hotspot
	if len(g.hotspots) > 0 && g.rng.Float64() < 0.18 {
		h = &g.hotspots[g.rng.IntN(len(g.hotspots))]
		c.grid, c.p = h.grid, g.near(*h)
	} else {
		c.grid = g.pickGrid()
		c.p = g.pointIn(c.grid)
	}
	gr := &g.grids[c.grid]
	c.cat = g.pickCategory(day.Month(), h, catW)
	c.workflow = c.cat.workflow
	prefix := "WS"
	if c.workflow == "urban" {
		prefix = "CG"
	}
	c.number = prefix + day.Format("20060102") + fmt.Sprintf("%06d", seq)
	c.source = g.source(c.workflow)
	roadList, detailList := roads(), details()
	c.address = gr.communityName + roadList[g.rng.IntN(len(roadList))] + strconv.Itoa(1+g.rng.IntN(300)) + "号"
	c.desc = c.cat.name + "：" + c.address + "附近" + detailList[g.rng.IntN(len(detailList))]
	c.dept = nil
	if id, ok := g.depts[c.cat.dept]; ok {
		c.dept = id
	}
	g.outcome(c, &g.streets[gr.streetIdx])
	if c.status == "merged" {
		if p, ok := g.lastCase[c.grid]; ok {
			c.parent = p
		} else {
			c.status = terminalRejected(c.workflow)
		}
	}
	g.lastCase[c.grid] = c.id
	return c
}

func terminalRejected(workflow string) string {
	if workflow == "urban" {
		return "declined"
	}
	return "rejected"
}

// source picks where a report came from: grid patrols find most 数字城管
// cases, residents blow most 红哨 whistles.
func (g *historyGen) source(workflow string) string {
	x := g.rng.Float64()
	if workflow == "urban" {
		switch {
		case x < 0.68:
			return "grid_patrol"
		case x < 0.86:
			return "hotline"
		case x < 0.93:
			return "sensor"
		}
		return "staff"
	}
	switch {
	case x < 0.62:
		return "resident"
	case x < 0.82:
		return "hotline"
	case x < 0.93:
		return "staff"
	}
	return "open311"
}

// assessed says whether the stage of state s in workflow wf counts in the
// on-time indicators.
func (g *historyGen) assessed(wf string, s casework.State) bool {
	w := g.wfs[wf]
	if st, ok := w.Def.Stage(w.Stages[s]); ok {
		return st.Assessed
	}
	return true
}

// openStates are where an open case of w may stand, earliest first: the
// workflow's states in their declared order, less the terminal and the
// paused ones (a suspension is drawn separately).
func openStates(w *casework.Workflow) []string {
	var out []string
	for _, s := range w.States {
		if !w.IsTerminal(s) && !slices.Contains(w.Paused, s) {
			out = append(out, string(s))
		}
	}
	return out
}

// firstStepOf finds w's first stage and the step that ends it along the
// way: the transition from the initial state to the next open state (红哨
// accept → accepted, 数字城管 register → registered). The limit is the
// stage's default in w (2 working hours to accept, 1 to register), in
// working time.
func firstStepOf(w *casework.Workflow, open []string) (firstStep, error) {
	fs := firstStep{stage: w.Stages[w.Initial], limit: 2 * time.Hour, assessed: true}
	if st, ok := w.Def.Stage(fs.stage); ok {
		fs.assessed = st.Assessed
		if st.Limit != nil {
			l, err := calendar.ParseLimit(st.Limit.Spec())
			if err != nil {
				return fs, fmt.Errorf("demo: workflow %s stage %s: %w", w.Name, fs.stage, err)
			}
			fs.limit = l.Duration
			if l.Unit == calendar.WorkingDays {
				fs.limit = time.Duration(l.Days) * 8 * time.Hour // a working day's hours
			}
		}
	}
	if len(open) < 2 {
		return fs, nil
	}
	for _, t := range w.Trans {
		if string(t.To) == open[1] && slices.Contains(t.From, w.Initial) {
			fs.action, fs.to, fs.public = string(t.Action), string(t.To), t.Public
			if len(t.Roles) > 0 {
				fs.role = string(t.Roles[0])
			}
			break
		}
	}
	return fs, nil
}

// firstStage is the ended first stage of c (红哨 accept, 数字城管 register),
// begun at the submission and ended at most within of it, by the step to
// to ("" for a rejection or merge). Most streets take cases in well within
// the limit, slow ones miss it more often: the response time is log-normal
// around two fifths of the limit, scaled by the street's speed. The limit is
// in working time, in natural time for urgent cases, as sla counts them.
func (g *historyGen) firstStage(c *histCase, st *streetTraits, within time.Duration, to string) *histStage {
	fs := g.firstStep[c.workflow]
	if fs.stage == "" {
		return nil
	}
	took := time.Duration(float64(fs.limit) * 0.4 * st.speed * math.Exp(0.7*g.rng.NormFloat64()))
	add := g.cal.AddWorkingDuration
	if c.cat.urgent {
		took /= 2
		add = g.cal.AddNatural
	}
	ended := add(c.created, max(took, time.Minute))
	for _, bound := range []time.Time{c.created.Add(max(within, time.Minute)), g.end} {
		if ended.After(bound) {
			ended = bound
		}
	}
	ended = ended.Truncate(time.Microsecond)
	g.stageID++
	s := &histStage{id: g.stageID, name: fs.stage, status: string(g.wfs[c.workflow].Initial), limitSpec: calendar.Limit{Unit: calendar.WorkingTime, Duration: fs.limit}.String(), assessed: fs.assessed,
		natural: c.cat.urgent, started: c.created, deadline: add(c.created, fs.limit).Truncate(time.Microsecond),
		warn: add(c.created, fs.limit*4/5).Truncate(time.Microsecond), ended: ended, outcome: "met"}
	if !ended.Before(s.warn) {
		s.warned = s.warn
	}
	if ended.After(s.deadline) {
		s.breached, s.outcome = s.deadline, "missed"
	}
	if to != "" {
		s.step, s.to, s.role, s.public = fs.action, to, fs.role, fs.public
	}
	return s
}

// outcome decides where a case stands now: finished with its closing,
// rating and lateness, or still open in a state that fits its age.
func (g *historyGen) outcome(c *histCase, st *streetTraits) {
	age := g.end.Sub(c.created)
	ageDays := age.Hours() / 24
	// Handling takes hours to days: log-normal, slower in slow streets,
	// urgent cases much faster.
	handling := time.Duration(float64(time.Hour) * 26 * st.speed * math.Exp(0.8*g.rng.NormFloat64()))
	if c.cat.urgent {
		handling /= 4
	}
	handling = max(handling, 20*time.Minute)
	wait := time.Duration(0)
	if c.workflow == "whistle" {
		wait = time.Duration(float64(time.Hour) * (1 + 40*g.rng.Float64())) // for the resident's rating
	}
	x := g.rng.Float64()
	switch {
	case x < 0.05:
		c.status = terminalRejected(c.workflow)
		c.closed = c.created.Add(time.Duration(30+g.rng.IntN(600)) * time.Minute)
		c.first = g.firstStage(c, st, c.closed.(time.Time).Sub(c.created), "")
	case x < 0.08:
		c.status = "merged"
		c.closed = c.created.Add(time.Duration(20+g.rng.IntN(300)) * time.Minute)
		c.first = g.firstStage(c, st, c.closed.(time.Time).Sub(c.created), "")
	default:
		closeAt := c.created.Add(handling + wait)
		pOpen := 0.004 + 0.05*math.Exp(-ageDays/12)
		if closeAt.After(g.end) || g.rng.Float64() < pOpen {
			g.open(c, st, age, handling)
			return
		}
		c.status = "closed"
		c.closed = closeAt
		// Taken in before the handling starts (at a fifth of it).
		c.first = g.firstStage(c, st, handling/5, g.firstStep[c.workflow].to)
		g.rate(c, st)
		if g.rng.Float64() < st.late*(0.6+0.4*float64(handling)/float64(26*time.Hour)) {
			// Closed late: the handling stage missed its deadline.
			started := c.created.Add(handling / 5)
			deadline := started.Add(handling / 2)
			g.stageID++
			c.stage = &histStage{id: g.stageID, name: g.wfs[c.workflow].Stages[casework.Dispatched], status: string(casework.Dispatched),
				assessed: g.assessed(c.workflow, casework.Dispatched), started: started, deadline: deadline,
				warn: started.Add(handling * 2 / 5), warned: started.Add(handling * 2 / 5), breached: deadline, ended: c.created.Add(handling), outcome: "missed"}
		}
		if g.rng.Float64() < 0.04 {
			c.rework = 1
		}
		// A department sent some back to the dispatcher once (退单), more
		// in the streets that are late anyway.
		if c.dept != nil && g.rng.Float64() < 0.01+0.25*st.late {
			c.returns = 1
		}
	}
	if c.status != "closed" && c.closed != nil && c.closed.(time.Time).After(g.end) {
		c.closed = g.end
	}
	c.updated = c.closed.(time.Time)
}

// rate gives a closed case its resident's stars (红哨) and perhaps a
// return visit.
func (g *historyGen) rate(c *histCase, st *streetTraits) {
	stars := func() int {
		v := 4.5 + st.content + 0.9*g.rng.NormFloat64()
		return int(math.Max(1, math.Min(5, math.Round(v))))
	}
	if c.workflow == "whistle" && g.rng.Float64() < 0.78 {
		s := stars()
		if s <= 2 && g.rng.Float64() < 0.6 {
			// Rated low once, reopened under supervision, rated again.
			c.reopens = 1
			s = max(stars(), 3)
		}
		c.rating = s
	}
	if g.rng.Float64() < 0.12 {
		switch x := g.rng.Float64() + st.content/4; {
		case x < 0.08:
			c.revisit = "dissatisfied"
		case x < 0.22:
			c.revisit = "basically_satisfied"
		default:
			c.revisit = "satisfied"
		}
	}
}

// open leaves a case open in a state that fits its age, with its running
// stage, its deadline and its SLA state.
func (g *historyGen) open(c *histCase, st *streetTraits, age, handling time.Duration) {
	states := g.openStates[c.workflow]
	progress := math.Min(1, float64(age)/float64(handling+time.Hour))
	i := min(int(progress*float64(len(states)-1)+g.rng.Float64()*1.5), len(states)-1)
	if age < 30*time.Minute {
		i = 0
	}
	c.status = states[i]
	if i < slices.Index(states, "dispatched") {
		c.dept = nil // not dispatched yet
	}
	if age > 5*24*time.Hour && g.rng.Float64() < 0.12 {
		c.prev, c.status = c.status, "suspended"
	}
	// It entered its state some time ago, the later the further it got.
	entered := c.created.Add(time.Duration(float64(age) * (float64(i) + g.rng.Float64()) / float64(len(states))))
	c.updated = entered
	if i > 0 {
		// Past its initial state: its first stage ended before.
		c.first = g.firstStage(c, st, entered.Sub(c.created), g.firstStep[c.workflow].to)
	}
	if c.status == "suspended" {
		c.sla = "paused"
		return
	}
	// The stage's limit: a day to take a case in, three to handle it, a
	// week for the resident's rating.
	limit := 24 * time.Hour
	switch c.status {
	case "dispatched", "in_progress":
		limit = 72 * time.Hour
	case "verified":
		if c.workflow == "whistle" {
			limit = 7 * 24 * time.Hour
		}
	}
	limit = time.Duration(float64(limit) * (0.8 + 0.4*g.rng.Float64()) / st.speed)
	if c.cat.urgent {
		limit /= 4
	}
	name := g.wfs[c.workflow].Stages[casework.State(c.status)]
	g.stageID++
	s := &histStage{id: g.stageID, name: name, status: c.status, assessed: g.assessed(c.workflow, casework.State(c.status)), started: entered, deadline: entered.Add(limit), warn: entered.Add(limit * 4 / 5), outcome: "open"}
	c.deadline = s.deadline
	c.sla = "ok"
	if !g.end.Before(s.warn) {
		s.warned = s.warn
		c.sla = "warning"
	}
	if !g.end.Before(s.deadline) {
		s.breached = s.deadline
		c.sla = "overdue"
		c.supervised = g.rng.Float64() < 0.5
	}
	c.stage = s
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}

const histCaseCols = `id, number, district_code, workflow, status, prev_status, source, category_code, category_name, description, address,
	lat, lng, grid_code, community_code, street_code, region_path, anonymous, urgent, visibility, department_id, rating, revisit_result,
	reopens, rework, returns, supervised, parent_id, routed_department, version, created_at, updated_at, closed_at, deadline_at, sla_state, workflow_version`

// insert writes rows of width columns into table in statements of at most
// per rows.
func insert(ctx context.Context, tx *db.Tx, table, cols string, width, per int, args []any) error {
	rows := len(args) / width
	for start := 0; start < rows; start += per {
		end := min(start+per, rows)
		q := "INSERT INTO " + table + " (" + cols + ") VALUES " + db.Placeholders(tx.Dialect(), end-start, width)
		if _, err := tx.Exec(ctx, q, args[start*width:end*width]...); err != nil {
			return fmt.Errorf("history: insert into %s: %w", table, err)
		}
	}
	return nil
}

// dayCount is the number of cases generated on a day.
type dayCount struct {
	day   time.Time
	count int
}

// write inserts a chunk of cases with their submit steps, stages and
// timers, and the case-number counters of the days done, in one
// transaction.
func (g *historyGen) write(ctx context.Context, cases []*histCase, days []dayCount) error {
	caseArgs := make([]any, 0, len(cases)*35)
	eventArgs := make([]any, 0, len(cases)*18)
	var stageArgs []any
	var arms []timer.Arming
	for _, c := range cases {
		gr := &g.grids[c.grid]
		var closed any
		if c.closed != nil {
			closed = c.closed.(time.Time).UTC()
		}
		var deadline any
		if c.deadline != nil {
			deadline = c.deadline.(time.Time).UTC()
		}
		visibility := "public"
		if g.rng.Float64() < 0.12 {
			visibility = "private"
		}
		caseArgs = append(caseArgs, c.id, c.number, gr.district, c.workflow, c.status, c.prev, c.source, c.cat.code, c.cat.name, c.desc, c.address,
			c.p[1], c.p[0], gr.code, gr.community, gr.street, gr.path, c.source == "resident" || c.source == "open311", c.cat.urgent, visibility,
			c.dept, c.rating, c.revisit, c.reopens, c.rework, c.returns, c.supervised, c.parent, c.cat.dept, 1+c.reopens+c.rework+c.returns, c.created, c.updated.UTC(),
			closed, deadline, c.sla, g.wfs[c.workflow].Version)
		actor, role := "anonymous", "anonymous"
		switch c.source {
		case "grid_patrol":
			actor, role = "grid-worker", "grid_worker"
		case "hotline", "staff":
			actor, role = "hotline", "community_staff"
		case "sensor":
			actor, role = "system", "system"
		}
		data, _ := json.Marshal(map[string]string{"source": c.source, "category": c.cat.code})
		eventArgs = append(eventArgs, c.id, c.created, actor, role, "submit", "", "submitted", string(data), true)
		if s := c.first; s != nil {
			stageArgs = append(stageArgs, s.id, c.id, s.name, s.status, s.limitSpec, s.natural, 80, int64(s.deadline.Sub(s.started)), s.started.UTC(),
				s.deadline.UTC(), s.warn.UTC(), nullTime(s.warned), nullTime(s.breached), s.ended.UTC(), s.outcome, s.assessed)
			if s.step != "" {
				eventArgs = append(eventArgs, c.id, s.ended.UTC(), strings.ReplaceAll(s.role, "_", "-"), s.role, s.step, s.status, s.to, "{}", s.public)
			}
		}
		if s := c.stage; s != nil {
			stageArgs = append(stageArgs, s.id, c.id, s.name, s.status, "", false, 80, int64(s.deadline.Sub(s.started)), s.started.UTC(),
				s.deadline.UTC(), s.warn.UTC(), nullTime(s.warned), nullTime(s.breached), nullTime(s.ended), s.outcome, s.assessed)
			if s.ended.IsZero() && s.breached.IsZero() {
				if s.warned.IsZero() {
					arms = append(arms, timer.Arming{Key: sla.TimerKey(sla.TimerWarning, c.id, s.id), Due: s.warn})
				}
				arms = append(arms, timer.Arming{Key: sla.TimerKey(sla.TimerBreach, c.id, s.id), Due: s.deadline})
			}
		}
	}
	per := g.opt.BatchRows
	return g.d.InTx(ctx, func(tx *db.Tx) error {
		if err := insert(ctx, tx, "cases", histCaseCols, 36, per, caseArgs); err != nil {
			return err
		}
		if err := insert(ctx, tx, "case_events", "case_id, at, actor_name, role, action, from_status, to_status, data, public", 9, per*3, eventArgs); err != nil {
			return err
		}
		if err := insert(ctx, tx, "sla_stages", "id, case_id, stage, status, limit_spec, natural_time, warn_pct, budget_ns, started_at, deadline_at, warn_at, warned_at, breached_at, ended_at, outcome, assessed",
			16, per, stageArgs); err != nil {
			return err
		}
		if err := timer.ArmMany(ctx, tx, arms); err != nil {
			return err
		}
		return g.number(ctx, tx, days)
	})
}

// number records the days' last case numbers so that new reports
// continue the sequences.
func (g *historyGen) number(ctx context.Context, tx *db.Tx, days []dayCount) error {
	district := g.grids[0].district
	for _, d := range days {
		_, err := tx.Exec(ctx, `INSERT INTO case_numbers (district_code, day, seq) VALUES ($1, $2, $3)
			ON CONFLICT (district_code, day) DO UPDATE SET seq = CASE WHEN excluded.seq > case_numbers.seq THEN excluded.seq ELSE case_numbers.seq END`,
			district, d.day.Format("20060102"), d.count)
		if err != nil {
			return err
		}
	}
	return nil
}

// progressBar draws "label: done/total (pct) rate ETA" on one line,
// at most a few times a second.
type progressBar struct {
	w     io.Writer
	label string
	start time.Time
	last  time.Time
	drawn bool
}

func newProgressBar(w io.Writer, label string) *progressBar {
	return &progressBar{w: w, label: label, start: time.Now()}
}

func (p *progressBar) update(done, total int64) {
	now := time.Now()
	if now.Sub(p.last) < 250*time.Millisecond && done < total {
		return
	}
	p.last, p.drawn = now, true
	el := now.Sub(p.start)
	rate := float64(done) / math.Max(el.Seconds(), 1e-3)
	eta := "–"
	if rate > 0 && total > done {
		eta = time.Duration(float64(total-done) / rate * float64(time.Second)).Round(time.Second).String()
	}
	const width = 30
	fill := 0
	if total > 0 {
		fill = int(width * done / total)
	}
	fmt.Fprintf(p.w, "\r%s [%s%s] %d/%d (%.1f%%) %.0f/s ETA %s   ", p.label, strings.Repeat("#", fill), strings.Repeat(".", width-fill),
		done, total, 100*float64(done)/math.Max(float64(total), 1), rate, eta)
}

func (p *progressBar) done() {
	if p.drawn {
		fmt.Fprintln(p.w)
	}
}
