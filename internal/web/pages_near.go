package web

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	orbgeo "github.com/paulmach/orb/geo"

	"whistle/internal/account"
	"whistle/internal/casework"
	"whistle/internal/i18n"
)

// nearQueue says whether a queue lists the cases nearest the caller first:
// a party member's claimable cases (在职党员认领).
func nearQueue(u *account.User, queue string) bool {
	return queue == "claimable" && u.Has(account.PartyMember)
}

// nearPoint is where a party member is: the browser's location when the
// page was given it (near=lat,lng, asked with the member's permission), or
// else the centre of their own region (their grid). fromDevice says which.
func (s *caseHandlers) nearPoint(ctx context.Context, r *http.Request, u *account.User) (p *[2]float64, fromDevice bool, err error) {
	if la, ln, ok := strings.Cut(r.URL.Query().Get("near"), ","); ok {
		lat, err1 := strconv.ParseFloat(strings.TrimSpace(la), 64)
		lng, err2 := strconv.ParseFloat(strings.TrimSpace(ln), 64)
		if err1 == nil && err2 == nil && math.Abs(lat) <= 90 && math.Abs(lng) <= 180 && !math.IsNaN(lat+lng) {
			return &[2]float64{lat, lng}, true, nil
		}
	}
	if u.Region.Code == "" {
		return nil, false, nil
	}
	n, err := s.Regions.Get(ctx, u.Region.Code)
	if err != nil {
		return nil, false, err
	}
	return &[2]float64{n.Interior.Lat(), n.Interior.Lon()}, false, nil
}

// distanceText says how far a case is from p, in metres or kilometres.
func (s *caseHandlers) distanceText(lang i18n.Lang, p [2]float64, c *casework.Case) string {
	m := orbgeo.Distance(orb.Point{p[1], p[0]}, orb.Point{c.Lng, c.Lat})
	if m < 1000 {
		return s.Catalog.T(lang, "near.metres", int(math.Round(m/10)*10))
	}
	return s.Catalog.T(lang, "near.km", strconv.FormatFloat(math.Round(m/100)/10, 'f', -1, 64))
}
