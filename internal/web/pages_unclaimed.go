package web

import (
	"net/http"
	"strconv"
	"strings"
	"time"

	"whistle/internal/errs"
	"whistle/internal/i18n"
	"whistle/internal/policy"
	"whistle/internal/registry"
)

// unclaimedLimit is how many entries the 应享未享 page lists, and so how
// many its 主动告知 button queues notices for (the same list).
const unclaimedLimit = 500

// unclaimedEntry is a subject of the list: the masked name linking to
// its page, its grid and since when it is eligible.
type unclaimedEntry struct {
	Name, Href, Grid, Since, Amount string
	Organisation                    bool
}

// unclaimedGroup is one policy's part of the list.
type unclaimedGroup struct {
	// Total is the sum of the known amounts a period; empty when none
	// is known (the amount column is then left out).
	Policy, Title, Total string
	Entries              []unclaimedEntry
}

// unclaimedPage is the staff's 应享未享 list of a region node.
type unclaimedPage struct {
	Region, RegionName string
	Regions            []option
	Groups             []unclaimedGroup
	Count, Limit       int
	// More says the list stopped at its limit.
	More bool
	// NoRun says no batch run has evaluated anyone yet.
	NoRun   bool
	LastRun string
}

// pageUnclaimed is /benefits/unclaimed?region=CODE: the 应享未享 list
// (eligible by the last batch run, not receiving) under a region node
// of the caller's registry scope — by default their own node (a grid
// worker's grid, a community's, a street's, the district) — grouped by
// policy, for staff to act on, with the 主动告知 button that queues the
// notices (benefit.js posts to /api/v1/eligibility/notices for the same
// region). A node outside the scope, or a caller without a registry
// scope, gets 404, as the API does.
func (h *benefitPages) pageUnclaimed(w http.ResponseWriter, r *http.Request) error {
	en, _, err := h.services()
	if err != nil {
		return err
	}
	ctx, u, lang := r.Context(), userOf(r), langOf(r)
	sc := registry.ScopeOf(u)
	if sc.Denies() {
		return errs.E(errs.NotFound, "error.not_found")
	}
	code := strings.TrimSpace(r.URL.Query().Get("region"))
	if code == "" {
		code = u.Region.Code
	}
	if code == "" && h.Regions != nil {
		if code, err = h.Regions.District(ctx); err != nil {
			return err
		}
	}
	us, err := en.Unclaimed(ctx, sc, code, unclaimedLimit)
	if err != nil {
		return err
	}
	d := &unclaimedPage{Region: code, Limit: unclaimedLimit, Count: len(us), More: len(us) == unclaimedLimit}
	at, err := en.LastRun(ctx)
	if err != nil {
		return err
	}
	d.NoRun, d.LastRun = at.IsZero(), shanghaiTime(at)
	names := map[string]string{}
	if h.Regions != nil {
		if d.Regions, err = regionPath(ctx, h.Regions, u); err != nil {
			return err
		}
		for i, o := range d.Regions {
			names[o.Value] = o.Label
			d.Regions[i].Group = h.Catalog.T(lang, "level."+o.Group)
		}
	}
	d.RegionName = names[code]
	if d.RegionName == "" {
		d.RegionName = code
	}
	d.Groups = groupUnclaimed(lang, us, names)
	return h.render(w, r, http.StatusOK, "benefit_unclaimed.html", h.newPage(r, "benefit.unclaimed.title", d))
}

// groupUnclaimed groups the entries by policy, in the list's order, each
// group with its count and the sum of its amounts a period.
func groupUnclaimed(lang i18n.Lang, us []policy.Unclaimed, gridNames map[string]string) []unclaimedGroup {
	var out []unclaimedGroup
	at := map[string]int{}
	sums := map[string]float64{}
	known := map[string]bool{}
	for _, x := range us {
		i, ok := at[x.Policy]
		if !ok {
			i = len(out)
			at[x.Policy] = i
			out = append(out, unclaimedGroup{Policy: x.Policy, Title: pick(lang, x.Title.ZH, x.Title.EN)})
			if out[i].Title == "" {
				out[i].Title = x.Policy
			}
		}
		e := unclaimedEntry{Name: x.Name, Grid: gridNames[x.GridCode], Since: x.Since.In(shanghai).Format(time.DateOnly),
			Href: "/people/" + strconv.FormatInt(x.Subject.ID, 10)}
		if e.Grid == "" {
			e.Grid = x.GridCode
		}
		if x.Subject.Kind == policy.KindOrganisation {
			e.Href, e.Organisation = "/benefits/organisations/"+strconv.FormatInt(x.Subject.ID, 10), true
		}
		if x.Amount != nil {
			e.Amount = strconv.FormatFloat(*x.Amount, 'f', 2, 64)
			sums[x.Policy] += *x.Amount
			known[x.Policy] = true
		}
		out[i].Entries = append(out[i].Entries, e)
	}
	for i := range out {
		if !known[out[i].Policy] {
			continue
		}
		out[i].Total = strconv.FormatFloat(sums[out[i].Policy], 'f', 2, 64)
	}
	return out
}
