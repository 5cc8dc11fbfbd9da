package web

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"strconv"

	"whistle/internal/account"
	"whistle/internal/casework"
	"whistle/internal/category"
	"whistle/internal/i18n"
	"whistle/internal/region"
)

// catChoice is a category the resident can pick.
type catChoice struct {
	Code   string
	Name   string
	Group  string
	Search string
	Urgent bool
}

// extraField is one extra field (Open311 attribute) of a category's report.
type extraField struct {
	Key      string
	Label    string
	Type     category.Datatype
	Required bool
	Values   []option
}

// catFields is the extra-field block of one category.
type catFields struct {
	Code   string
	Fields []extraField
}

type catGroup struct {
	Name  string
	Items []catChoice
}

type reportPage struct {
	Common     []catChoice
	Groups     []catGroup
	MapRegion  string
	District   string
	RegionName string
	Staff      bool
	Visitor    bool // no session: no photos, a receipt instead of the case page
	Sources    []option
	Key        string
	Extra      []catFields
}

// pageReport is the resident's "blow the whistle" form (mobile first).
// The script posts it to the API, then uploads the shrunk photos. A
// visitor without a session may report too (FixMyStreet's rule): photos
// need an account, and the answer is the case number and its public page.
func (s *caseHandlers) pageReport(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	u := userOf(r)
	lang := langOf(r)
	d := &reportPage{Visitor: u == nil, Key: account.NewToken()[:16]}
	if u == nil {
		u = &account.User{}
	}
	d.Staff = u.IsStaff()
	var err error
	if d.Common, d.Groups, d.Extra, err = s.categoryChoices(ctx, lang); err != nil {
		return err
	}
	if d.District, err = s.Regions.District(ctx); err != nil {
		return err
	}
	d.MapRegion, d.RegionName = d.District, ""
	if u.Region.Code != "" {
		switch u.Region.Level {
		case region.Community, region.Street:
			d.MapRegion, d.RegionName = u.Region.Code, u.Region.Name
		case region.Grid:
			codes := region.PathCodes(u.RegionPath)
			if len(codes) >= 2 {
				d.MapRegion = codes[len(codes)-2]
			}
		}
	}
	if d.Staff {
		if d.Sources, err = s.sourceOptions(ctx, lang, func(src string) bool {
			switch src {
			case casework.SourceGridPatrol:
				return u.Has(account.GridWorker)
			case casework.SourceStaff, casework.SourceHotline, casework.SourceVisit, casework.SourceResident:
				return true
			}
			return false
		}); err != nil {
			return err
		}
	}
	title := "page.report.title"
	if d.Staff {
		title = "report.staff.title" // grid workers and staff report, they do not "blow the whistle"
	}
	return s.render(w, r, http.StatusOK, "report.html", s.newPage(r, title, d))
}

// categoryChoices flattens the active tree: the common categories by rank,
// and every leaf grouped under its root.
func (s *caseHandlers) categoryChoices(ctx context.Context, lang i18n.Lang) ([]catChoice, []catGroup, []catFields, error) {
	roots, err := s.Categories.Tree(ctx, false)
	if err != nil {
		return nil, nil, nil, err
	}
	var extra []catFields
	type ranked struct {
		c    catChoice
		rank int
	}
	var common []ranked
	var groups []catGroup
	var walk func(c *category.Category, trail []string, g *catGroup)
	walk = func(c *category.Category, trail []string, g *catGroup) {
		name := catName(lang, c.Name, c.NameEN)
		trail = append(trail, c.Name, c.NameEN)
		if len(c.Fields) > 0 {
			cf := catFields{Code: c.Code}
			for _, f := range c.Fields {
				ef := extraField{Key: f.Key, Label: catName(lang, f.Label, f.LabelEN), Type: f.Datatype, Required: f.Required}
				for _, v := range f.Values {
					ef.Values = append(ef.Values, option{Value: v.Key, Label: catName(lang, v.Name, v.NameEN)})
				}
				cf.Fields = append(cf.Fields, ef)
			}
			extra = append(extra, cf)
		}
		if c.Common > 0 {
			common = append(common, ranked{catChoice{Code: c.Code, Name: name, Group: g.Name, Urgent: c.Urgent}, c.Common})
		}
		if c.Leaf() {
			g.Items = append(g.Items, catChoice{Code: c.Code, Name: name, Group: g.Name, Urgent: c.Urgent,
				Search: s.Synonyms.SearchText(c.Code, trail...)})
			return
		}
		for _, ch := range c.Children {
			walk(ch, trail, g)
		}
	}
	for _, root := range roots {
		g := catGroup{Name: catName(lang, root.Name, root.NameEN)}
		walk(root, nil, &g)
		if len(g.Items) > 0 {
			groups = append(groups, g)
		}
	}
	sort.SliceStable(common, func(i, j int) bool { return common[i].rank < common[j].rank })
	out := make([]catChoice, 0, len(common))
	for _, c := range common {
		out = append(out, c.c)
	}
	return out, groups, extra, nil
}

type myPage struct {
	Rows []caseRow
	Next string
}

// pageMy lists the resident's own reports.
func (s *caseHandlers) pageMy(w http.ResponseWriter, r *http.Request) error {
	lang := langOf(r)
	cases, next, err := s.Cases.List(r.Context(), callerOf(r), casework.Filter{Mine: true, Before: pageInt(r, "before"), Limit: 30})
	if err != nil {
		return err
	}
	d := &myPage{}
	if d.Rows, err = s.rows(r.Context(), lang, s.Clock.Now(), cases); err != nil {
		return err
	}
	if next != 0 {
		d.Next = "/my?before=" + strconv.FormatInt(next, 10)
	}
	return s.render(w, r, http.StatusOK, "my.html", s.newPage(r, "page.my.title", d))
}

type nearbyPage struct {
	District string
	BBox     string
	Rows     []caseRow
	Open     bool
}

// pageNearby is the public map and list of public cases.
func (s *caseHandlers) pageNearby(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	lang := langOf(r)
	d := &nearbyPage{Open: r.URL.Query().Get("all") != "1"}
	code, err := s.Regions.District(ctx)
	if err != nil {
		return err
	}
	d.District = code
	if code != "" {
		n, err := s.Regions.Get(ctx, code)
		if err != nil {
			return err
		}
		b := n.Bound
		d.BBox = strconv.FormatFloat(b.Min[0], 'f', 5, 64) + "," + strconv.FormatFloat(b.Min[1], 'f', 5, 64) + "," +
			strconv.FormatFloat(b.Max[0], 'f', 5, 64) + "," + strconv.FormatFloat(b.Max[1], 'f', 5, 64)
		cases, err := s.Cases.PublicList(ctx, b.Min[1], b.Min[0], b.Max[1], b.Max[0], d.Open, 50)
		if err != nil {
			return err
		}
		if d.Rows, err = s.rows(ctx, lang, s.Clock.Now(), cases); err != nil {
			return err
		}
		for i := range d.Rows {
			d.Rows[i].Handler = ""
		}
	}
	return s.render(w, r, http.StatusOK, "nearby.html", s.newPage(r, "page.nearby.title", d))
}

type publicCasePage struct {
	Row      caseRow
	C        *casework.Case
	Timeline []timelineItem
}

// pagePublicCase shows a public case without any personal data.
func (s *caseHandlers) pagePublicCase(w http.ResponseWriter, r *http.Request) error {
	id, err := caseID(r)
	if err != nil {
		return err
	}
	c, tl, err := s.Cases.PublicCase(r.Context(), id)
	if err != nil {
		return err
	}
	lang := langOf(r)
	rows, err := s.rows(r.Context(), lang, s.Clock.Now(), []*casework.Case{c})
	if err != nil {
		return err
	}
	d := &publicCasePage{Row: rows[0], C: c}
	stages, err := s.stages(r.Context(), c.ID)
	if err != nil {
		return err
	}
	for _, e := range tl { // already stripped of actors (casework.PublicCase)
		it := s.timelineItem(lang, c, e, false, naturalAt(stages, e.At))
		for i := range it.Photos {
			// Public steps' photos are served without a login.
			it.Photos[i].URL = fmt.Sprintf("/api/v1/public/cases/%d/photos/%d", c.ID, e.Photos[i].ID)
		}
		d.Timeline = append(d.Timeline, it)
	}
	p := s.newPage(r, "page.public_case.title", d)
	p.Title = c.Number + " · " + p.Title
	return s.render(w, r, http.StatusOK, "public_case.html", p)
}
