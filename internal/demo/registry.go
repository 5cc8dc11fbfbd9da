package demo

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/paulmach/orb"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/db"
	"whistle/internal/idcode"
	"whistle/internal/region"
	"whistle/internal/registry"
)

// RegistryOptions size the demo registry (the grid's base data).
type RegistryOptions struct {
	People, Houses, Buildings, Organisations int
	Seed                                     int64
	// Now bounds birth and registration dates.
	Now time.Time
}

// FullRegistry is the size of 龙湾区 that issue 16 asks for: 400,000
// people in 150,000 houses of 10,000 buildings, and 20,000 organisations.
func FullRegistry() RegistryOptions {
	return RegistryOptions{People: 400000, Houses: 150000, Buildings: 10000, Organisations: 20000}
}

// ScaledRegistry keeps FullRegistry's proportions for a number of people.
func ScaledRegistry(people int) RegistryOptions {
	f := FullRegistry()
	r := float64(people) / float64(f.People)
	at := func(n int) int { return max(1, int(float64(n)*r+0.5)) }
	return RegistryOptions{People: people, Houses: at(f.Houses), Buildings: at(f.Buildings), Organisations: at(f.Organisations)}
}

// RegistryResult counts what GenerateRegistry wrote.
type RegistryResult struct {
	Generated                                                bool // false when the registry held people already
	People, Houses, Buildings, Organisations, Members, Links int
}

// groupRate is a group needing attention and the share of the people of
// its ages in it (elderly living alone are drawn with the households).
type groupRate struct {
	code string
	rate float64
	// minAge and maxAge bound the members' ages.
	minAge, maxAge int
}

// groupRates are the shares of people in each group needing attention.
func groupRates() []groupRate {
	return []groupRate{
		{"disabled", 0.02, 0, 100},
		{"dibao", 0.01, 18, 100},
		{"veteran", 0.01, 30, 100},
		{"left_behind_child", 0.003, 3, 15},
		{"community_correction", 0.0005, 18, 70},
		{"mental_illness", 0.004, 18, 80},
		{"petitioner", 0.0005, 25, 80},
	}
}

// elderlyAloneRate is the share of people who are elderly living alone.
const elderlyAloneRate = 0.015

// GenerateRegistry fills an empty registry with a realistic one for the
// demo district: buildings at random points inside the grids, their
// houses, households of people with valid identity numbers (龙湾 area codes
// for residents, other provinces' for the floating population) living in
// them, the groups needing attention at realistic rates and organisations
// with valid credit codes. People, houses and organisations go through the
// registry's bulk upserts (validated, with history); the people–house links
// and group members are inserted in bulk. A registry holding people is
// left alone.
func GenerateRegistry(ctx context.Context, d *db.DB, reg *registry.Store, regions *region.Store, opt RegistryOptions, progress io.Writer) (RegistryResult, error) {
	var n int
	if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM reg_people`).Scan(&n); err != nil {
		return RegistryResult{}, db.Translate(err)
	}
	if n > 0 || opt.People <= 0 {
		return RegistryResult{}, nil
	}
	if opt.Now.IsZero() {
		opt.Now = d.Now()
	}
	g := &regGen{rng: rand.New(rand.NewPCG(uint64(opt.Seed), 0x7265676973747279)), opt: opt, loc: regions.Locator(), taken: map[string]bool{}, regWords: newRegWords()}
	nodes, err := regions.All(ctx, true)
	if err != nil {
		return RegistryResult{}, err
	}
	for _, nd := range nodes {
		if nd.Level == region.Grid {
			g.grids = append(g.grids, nd)
		}
	}
	if len(g.grids) == 0 {
		return RegistryResult{}, fmt.Errorf("demo: registry: no grids")
	}
	sc, actor := account.SystemScope(), audit.System("demo")
	start := time.Now()
	say := func(f string, args ...any) {
		if progress != nil {
			fmt.Fprintf(progress, "whistle: registry: "+f+" (%s)\n", append(args, time.Since(start).Round(time.Millisecond))...)
		}
	}
	houses := g.houses()
	hres, err := reg.UpsertHouses(ctx, sc, actor, houses)
	if err != nil {
		return RegistryResult{}, fmt.Errorf("demo: registry houses: %w", err)
	}
	say("%d houses in %d buildings", len(houses), g.buildings)
	people, links, members := g.people(houses)
	pres, err := reg.UpsertPeople(ctx, sc, actor, people)
	if err != nil {
		return RegistryResult{}, fmt.Errorf("demo: registry people: %w", err)
	}
	say("%d people", len(people))
	if err := insertLinks(ctx, d, links, members, pres.IDs, hres.IDs, opt.Now); err != nil {
		return RegistryResult{}, err
	}
	say("%d people–house links, %d group members", len(links), len(members))
	orgs := g.organisations(houses, hres.IDs)
	if _, err := reg.UpsertOrganisations(ctx, sc, actor, orgs); err != nil {
		return RegistryResult{}, fmt.Errorf("demo: registry organisations: %w", err)
	}
	say("%d organisations", len(orgs))
	// The links and group members went in around the store: count the
	// grids again so the rollup (reg_counts) has the members by group.
	if _, err := reg.RebuildCounts(ctx); err != nil {
		return RegistryResult{}, fmt.Errorf("demo: registry counts: %w", err)
	}
	return RegistryResult{Generated: true, People: len(people), Houses: len(houses), Buildings: g.buildings, Organisations: len(orgs),
		Members: len(members), Links: len(links)}, nil
}

type regGen struct {
	rng       *rand.Rand
	opt       RegistryOptions
	loc       *region.Locator
	grids     []region.Node
	buildings int
	taken     map[string]bool // the identity numbers' first 17 digits given out
	regWords
}

// point draws a point inside a grid: a random point of its bounding box
// that the locator places in it, else its interior point.
func (g *regGen) point(n region.Node) orb.Point {
	for range 30 {
		p := orb.Point{n.Bound.Min[0] + g.rng.Float64()*(n.Bound.Max[0]-n.Bound.Min[0]), n.Bound.Min[1] + g.rng.Float64()*(n.Bound.Max[1]-n.Bound.Min[1])}
		if l, ok := g.loc.Locate(p); ok && l.Grid.Code == n.Code {
			return p
		}
	}
	return n.Interior
}

// houses lays out the buildings and their houses.
func (g *regGen) houses() []registry.HouseRow {
	nb, nh := max(1, g.opt.Buildings), max(1, g.opt.Houses)
	g.buildings = nb
	out := make([]registry.HouseRow, 0, nh)
	for b := range nb {
		grid := g.grids[b%len(g.grids)]
		p := g.point(grid)
		k := nh / nb
		if b < nh%nb {
			k++
		}
		units := min(4, 1+k/24)
		perFloor := 2
		floors := max(1, (k+units*perFloor-1)/(units*perFloor))
		addr := fmt.Sprintf("%s%s%d号", grid.Name, g.roads[g.rng.IntN(len(g.roads))], b+1)
		name := strconv.Itoa(b%40+1) + "幢"
		for i := range k {
			u, rest := i%units, i/units
			floor, room := rest/perFloor+1, rest%perFloor+1
			h := registry.HouseRow{BuildingName: name, Address: addr, Lat: p[1], Lng: p[0], Floors: floors, Units: units,
				Unit: strconv.Itoa(u + 1), Room: fmt.Sprintf("%d%02d", floor, room), Use: registry.UseResidential, Ownership: "private",
				Rental: "not_rented", Area: float64(40 + g.rng.IntN(100))}
			switch x := g.rng.Float64(); {
			case floor == 1 && x < 0.3:
				h.Use, h.Ownership, h.Rental = registry.UseShop, "private", "rented"
			case x < 0.07:
				h.Use = registry.UseVacant
			case x < 0.32:
				h.Rental = "rented"
			}
			out = append(out, h)
		}
	}
	return out
}

// regWords are the words generated records are made of.
type regWords struct {
	roads, localAreas, floatingAreas, orgWords, companies, shops, places []string
	surnames, given                                                      []rune
	industries                                                           map[string][]string
}

func newRegWords() regWords {
	return regWords{
		roads:    roads(),
		surnames: []rune("王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余于杜叶程魏苏吕丁任卢姚沈钟姜崔谭陆范汪廖石金韦贾夏付方邹熊白孟秦邱侯江尹薛闫段雷龙黎史陶贺毛郝顾龚邵万覃武钱戴严欧莫孔向常汤康易乔赖文施洪"),
		given:    []rune("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰萍红建国文辉鹏飞晓云峰宇浩然子涵欣怡梓轩思雨嘉琪雅婷俊杰志伟海燕丹凤"),
		// Area codes: 龙湾区 and its neighbours for residents; other
		// provinces for the floating population.
		localAreas:    []string{"330303", "330303", "330303", "330302", "330304", "330381", "330382"},
		floatingAreas: []string{"522101", "362201", "411302", "430521", "342401", "513001", "452101", "431121", "360731", "421281"},
		orgWords:      []string{"瓯江", "东海", "龙湾", "永强", "华强", "鑫盛", "宏达", "恒通", "新纪元", "博远", "瑞丰", "立信", "海诚", "金鼎", "天和", "正泰", "嘉禾", "佳美"},
		companies:     []string{"科技有限公司", "电气有限公司", "阀门有限公司", "鞋业有限公司", "服饰有限公司", "机械有限公司", "印刷有限公司", "物流有限公司", "建材有限公司"},
		shops:         []string{"便利店", "小吃店", "理发店", "五金店", "水果店", "药店", "面馆", "烟酒店", "汽修店", "快递驿站"},
		places:        []string{"幼儿园", "卫生服务站", "棋牌室", "网吧", "宾馆", "超市", "健身房", "KTV", "老年活动中心"},
		industries: map[string][]string{"company": {"制造业", "批发和零售业", "交通运输业", "信息技术服务业", "建筑业"},
			"shop": {"零售业", "餐饮业", "居民服务业"}, "public_place": {"教育", "卫生", "文化娱乐", "住宿业"}},
	}
}

func (g *regGen) name() string {
	s := string(g.surnames[g.rng.IntN(len(g.surnames))]) + string(g.given[g.rng.IntN(len(g.given))])
	if g.rng.IntN(3) > 0 {
		s += string(g.given[g.rng.IntN(len(g.given))])
	}
	return s
}

// idNumber makes an identity number of that area, birth date and sex,
// the first free sequence code of the date (so every number is unique).
func (g *regGen) idNumber(area string, birth time.Time, male bool) string {
	seq := 0
	if male {
		seq = 1
	}
	for ; seq < 1000; seq += 2 {
		first := fmt.Sprintf("%s%s%03d", area, birth.Format("20060102"), seq)
		if !g.taken[first] {
			g.taken[first] = true
			return first + string(idcode.ResidentCheck(first))
		}
	}
	return g.idNumber(area, birth.AddDate(0, 0, -1), male)
}

// birth draws a birth date aged between lo and hi years.
func (g *regGen) birth(lo, hi int) time.Time {
	return g.opt.Now.AddDate(-lo, 0, -1-g.rng.IntN(max(1, (hi-lo)*365)))
}

type link struct {
	person, house int // indexes into people and houses
	relation      string
}

type member struct {
	person int
	group  string
}

// people fills the residential houses with households.
func (g *regGen) people(houses []registry.HouseRow) ([]registry.PersonInput, []link, []member) {
	n := g.opt.People
	out := make([]registry.PersonInput, 0, n)
	var links []link
	var members []member
	var homes []int
	for i, h := range houses {
		if h.Use == registry.UseResidential {
			homes = append(homes, i)
		}
	}
	if len(homes) == 0 {
		homes = []int{0}
	}
	perHome := float64(n) / float64(len(homes))
	for hi := 0; len(out) < n; hi++ {
		hidx := homes[hi%len(homes)]
		h := houses[hidx]
		l, _ := g.loc.Locate(orb.Point{h.Lng, h.Lat})
		grid := l.Grid.Code
		addr := h.Address + h.Unit + "单元" + h.Room + "室"
		size := max(1, int(perHome+g.rng.NormFloat64()*1.1+0.5))
		if hi >= len(homes) {
			size = 1 // houses get a second round only to place the remainder
		}
		elderlyAlone := g.rng.Float64() < elderlyAloneRate*perHome
		if elderlyAlone {
			size = 1
		}
		floating := h.Rental == "rented"
		hh := fmt.Sprintf("H%s%06d", grid[len(grid)-6:], hi)
		for k := 0; k < size && len(out) < n; k++ {
			i := len(out)
			p := registry.PersonInput{Name: g.name(), Phone: fmt.Sprintf("1%d%09d", 3+g.rng.IntN(7), g.rng.IntN(1e9)), GridCode: grid,
				ResidenceAddress: addr, HouseholdID: hh, Status: registry.StatusResident}
			lo, hiAge, rel := 25, 70, "head"
			switch {
			case elderlyAlone:
				lo, hiAge = 70, 95
			case k == 1:
				rel = "spouse"
			case k >= 2:
				lo, hiAge, rel = 0, 30, "child"
			}
			birth := g.birth(lo, hiAge)
			area := g.localAreas[g.rng.IntN(len(g.localAreas))]
			p.HukouAddress = addr
			switch x := g.rng.Float64(); {
			case floating:
				area = g.floatingAreas[g.rng.IntN(len(g.floatingAreas))]
				p.Status = registry.StatusFloating
				p.RegisteredOn = g.opt.Now.AddDate(0, 0, -1-g.rng.IntN(6*365)).In(time.FixedZone("CST", 8*3600)).Format(time.DateOnly)
				p.HukouAddress = ""
			case x < 0.03:
				p.Status = registry.StatusLodging
			}
			male := g.rng.IntN(2) == 0
			if rel == "spouse" {
				male = (out[i-1].IDNumber[16]-'0')%2 == 0
			}
			p.IDNumber = g.idNumber(area, birth, male)
			p.HouseholdRel = rel
			out = append(out, p)
			relation := registry.RelFamily
			if rel == "head" {
				relation = registry.RelOwner
				if floating {
					relation = registry.RelTenant
				}
			}
			links = append(links, link{person: i, house: hidx, relation: relation})
			if elderlyAlone {
				members = append(members, member{person: i, group: "elderly_alone"})
				continue
			}
			age := g.opt.Now.Year() - birth.Year()
			for _, gr := range groupRates() {
				if age >= gr.minAge && age <= gr.maxAge && g.rng.Float64() < gr.rate {
					members = append(members, member{person: i, group: gr.code})
				}
			}
		}
	}
	return out, links, members
}

// insertLinks writes the people–house links and group members in bulk,
// in one transaction.
func insertLinks(ctx context.Context, d *db.DB, links []link, members []member, personIDs, houseIDs []int64, now time.Time) error {
	const chunk = 500
	return d.InTx(ctx, func(tx *db.Tx) error {
		for lo := 0; lo < len(links); lo += chunk {
			part := links[lo:min(lo+chunk, len(links))]
			args := make([]any, 0, 4*len(part))
			for _, l := range part {
				args = append(args, houseIDs[l.house], personIDs[l.person], l.relation, now)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO reg_person_houses (house_id, person_id, relation, since) VALUES `+
				db.Placeholders(tx.Dialect(), len(part), 4)+` ON CONFLICT DO NOTHING`, args...); err != nil {
				return err
			}
		}
		for lo := 0; lo < len(members); lo += chunk {
			part := members[lo:min(lo+chunk, len(members))]
			args := make([]any, 0, 3*len(part))
			for _, m := range part {
				args = append(args, m.group, personIDs[m.person], now)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO reg_group_members (group_code, person_id, since) VALUES `+
				db.Placeholders(tx.Dialect(), len(part), 3)+` ON CONFLICT DO NOTHING`, args...); err != nil {
				return err
			}
		}
		return nil
	})
}

// creditCode makes the i-th organisation's unified social credit code:
// registered in 龙湾 (330303), a GB 11714 organisation code, check characters.
func creditCode(i int, kind string) string {
	const chars = "0123456789ABCDEFGHJKLMNPQRTUWXY"
	prefix := "91"
	if kind == "shop" {
		prefix = "92"
	}
	body := []byte("MA")
	n := i + 1
	for range 6 {
		body = append(body, chars[n%31])
		n /= 31
	}
	// The organisation code's own check (GB 11714): weights 3 7 9 10 5 8 4 2.
	w := []int{3, 7, 9, 10, 5, 8, 4, 2}
	sum := 0
	for k, c := range body {
		v := int(c - '0')
		if c >= 'A' {
			v = int(c-'A') + 10
		}
		sum += v * w[k]
	}
	check := "0123456789X0"[11-sum%11]
	first := prefix + "330303" + string(body) + string(check)
	return first + string(idcode.CreditCheck(first))
}

// organisations places companies, shops and public places: shops in the
// shop houses first, the others at their buildings' addresses.
func (g *regGen) organisations(houses []registry.HouseRow, houseIDs []int64) []registry.OrganisationInput {
	n := g.opt.Organisations
	out := make([]registry.OrganisationInput, 0, n)
	var shopHouses []int
	for i, h := range houses {
		if h.Use == registry.UseShop {
			shopHouses = append(shopHouses, i)
		}
	}
	for i := range n {
		kind := "company"
		switch x := g.rng.Float64(); {
		case x < 0.4:
			kind = "shop"
		case x < 0.5:
			kind = "public_place"
		}
		hidx := g.rng.IntN(len(houses))
		var house int64
		if kind == "shop" && len(shopHouses) > 0 {
			hidx = shopHouses[i%len(shopHouses)]
			house = houseIDs[hidx]
		}
		h := houses[hidx]
		l, _ := g.loc.Locate(orb.Point{h.Lng, h.Lat})
		word := g.orgWords[g.rng.IntN(len(g.orgWords))]
		var name, size, safety string
		switch kind {
		case "shop":
			name, size, safety = word+g.shops[g.rng.IntN(len(g.shops))], "micro", "general"
		case "public_place":
			name, size, safety = "龙湾区"+word+g.places[g.rng.IntN(len(g.places))], "small", "key"
		default:
			name, size, safety = "温州"+word+g.companies[g.rng.IntN(len(g.companies))], []string{"micro", "small", "small", "medium", "large"}[g.rng.IntN(5)], "general"
			if g.rng.Float64() < 0.05 {
				safety = "major"
			}
		}
		name += strconv.Itoa(i + 1)
		ind := g.industries[kind]
		out = append(out, registry.OrganisationInput{CreditCode: creditCode(i, kind), Name: name, Kind: kind, Address: h.Address, HouseID: house,
			ContactName: g.name(), ContactPhone: fmt.Sprintf("13%d%08d", 5+g.rng.IntN(5), g.rng.IntN(1e8)), Industry: ind[g.rng.IntN(len(ind))],
			Size: size, SafetyCategory: safety, GridCode: l.Grid.Code})
	}
	return out
}

// People makes n people without houses, spread over the grids in turn, as
// an import file of the district would hold them: for benchmarks.
func People(n int, seed int64, grids []string, now time.Time) []registry.PersonInput {
	g := &regGen{rng: rand.New(rand.NewPCG(uint64(seed), 0x70656f706c65)), opt: RegistryOptions{Now: now}, taken: map[string]bool{}, regWords: newRegWords()}
	out := make([]registry.PersonInput, n)
	for i := range out {
		birth := g.birth(0, 90)
		p := registry.PersonInput{Name: g.name(), Phone: fmt.Sprintf("1%d%09d", 3+g.rng.IntN(7), g.rng.IntN(1e9)), GridCode: grids[i%len(grids)],
			Status: registry.StatusResident}
		area := g.localAreas[g.rng.IntN(len(g.localAreas))]
		addr := fmt.Sprintf("温州市龙湾区%s%d号", g.roads[g.rng.IntN(len(g.roads))], 1+g.rng.IntN(500))
		p.ResidenceAddress, p.HukouAddress = addr, addr
		if g.rng.Float64() < 0.22 {
			area = g.floatingAreas[g.rng.IntN(len(g.floatingAreas))]
			p.Status, p.HukouAddress = registry.StatusFloating, ""
			p.RegisteredOn = now.AddDate(0, 0, -1-g.rng.IntN(6*365)).Format(time.DateOnly)
		}
		p.IDNumber = g.idNumber(area, birth, g.rng.IntN(2) == 0)
		p.Sex, p.BirthDate = registry.IDFacts(p.IDNumber)
		out[i] = p
	}
	return out
}
