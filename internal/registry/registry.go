// Package registry keeps the grid's base data (全科网格 基础数据, issue 16):
// buildings and houses, people and their links to houses, households,
// groups needing attention (重点人群 and 关爱人群) and organisations.
//
// Every record carries the materialised region path of its grid; every read
// and write takes an account.Scope and applies it (default deny), and a
// record outside the scope does not exist (errs.NotFound, 404). Personal
// data (name, identity number, phone, addresses) comes back masked unless
// the caller asks for it in the clear after account.Store.Reveal allowed
// it. Every change writes a reg_history row (who, when, which record, the
// field diffs with personal values masked) and an audit log entry, in the
// transaction of the change.
package registry

import (
	"context"
	"strings"
	"time"

	"whistle/internal/account"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/region"
)

// Person statuses (人口类型).
const (
	StatusResident = "resident" // 常住
	StatusFloating = "floating" // 流动, with a registration date
	StatusLodging  = "lodging"  // 寄住
)

// Statuses lists the person statuses in display order.
func Statuses() []string { return []string{StatusResident, StatusFloating, StatusLodging} }

// Relations of a person to a house (人房关联).
const (
	RelOwner  = "owner"
	RelTenant = "tenant"
	RelFamily = "family"
)

// HouseRelations lists a person's relations to a house.
func HouseRelations() []string { return []string{RelOwner, RelTenant, RelFamily} }

// HouseholdRelations lists the relations to the head of a household (与户主关系).
func HouseholdRelations() []string {
	return []string{"head", "spouse", "child", "parent", "grandchild", "grandparent", "sibling", "other"}
}

// House uses.
const (
	UseResidential = "residential"
	UseShop        = "shop"
	UseVacant      = "vacant"
)

// HouseUses lists the uses of a house.
func HouseUses() []string { return []string{UseResidential, UseShop, UseVacant} }

// Ownerships lists the ownership kinds of a house (产权性质).
func Ownerships() []string { return []string{"private", "public", "collective", "enterprise", "other"} }

// Rentals lists the rental statuses of a house (出租情况).
func Rentals() []string { return []string{"not_rented", "rented", "partly_rented"} }

// OrgKinds lists the kinds of organisation: companies, shops, public places.
func OrgKinds() []string { return []string{"company", "shop", "public_place", "other"} }

// OrgSizes lists the sizes of an organisation (企业规模).
func OrgSizes() []string { return []string{"micro", "small", "medium", "large"} }

// SafetyCategories lists the safety-inspection categories (安全检查类别):
// none, general, key (重点) and major (重大危险源).
func SafetyCategories() []string { return []string{"none", "general", "key", "major"} }

// Building is a building of a grid.
type Building struct {
	ID         int64     `json:"id"`
	GridCode   string    `json:"grid_code"`
	RegionPath string    `json:"region_path"`
	Name       string    `json:"name"`
	Address    string    `json:"address"`
	Lat        float64   `json:"lat"`
	Lng        float64   `json:"lng"`
	Floors     int       `json:"floors"`
	Units      int       `json:"units"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// BuildingInput is a new building; its grid is found from the point.
type BuildingInput struct {
	Name    string  `json:"name"`
	Address string  `json:"address"`
	Lat     float64 `json:"lat"`
	Lng     float64 `json:"lng"`
	Floors  int     `json:"floors"`
	Units   int     `json:"units"`
}

// House is a house (房屋) in a building.
type House struct {
	ID         int64     `json:"id"`
	BuildingID int64     `json:"building_id"`
	GridCode   string    `json:"grid_code"`
	RegionPath string    `json:"region_path"`
	Address    string    `json:"address"` // the building's address, for display
	Unit       string    `json:"unit"`
	Room       string    `json:"room"`
	Use        string    `json:"use"`
	Ownership  string    `json:"ownership"`
	Rental     string    `json:"rental"`
	LandlordID int64     `json:"landlord_id,omitempty"`
	Area       float64   `json:"area"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// HouseInput is a new house; it lies in its building's grid.
type HouseInput struct {
	BuildingID int64   `json:"building_id"`
	Unit       string  `json:"unit"`
	Room       string  `json:"room"`
	Use        string  `json:"use"`
	Ownership  string  `json:"ownership"`
	Rental     string  `json:"rental"`
	LandlordID int64   `json:"landlord_id"`
	Area       float64 `json:"area"`
}

// Person is a person of the registry. Read through the Store, the personal
// fields are masked unless Masked is false.
type Person struct {
	ID               int64     `json:"id"`
	IDNumber         string    `json:"id_number"`
	Name             string    `json:"name"`
	Sex              string    `json:"sex"`        // "M" or "F", from the identity number
	BirthDate        string    `json:"birth_date"` // YYYY-MM-DD, from the identity number
	Phone            string    `json:"phone"`
	HukouAddress     string    `json:"hukou_address"`
	ResidenceAddress string    `json:"residence_address"`
	Status           string    `json:"status"`
	RegisteredOn     string    `json:"registered_on,omitempty"` // YYYY-MM-DD, floating people only
	HouseholdID      string    `json:"household_id,omitempty"`
	HouseholdRel     string    `json:"household_relation,omitempty"`
	GridCode         string    `json:"grid_code"`
	RegionPath       string    `json:"region_path"`
	Masked           bool      `json:"masked"`
	CreatedAt        time.Time `json:"created_at"`
	UpdatedAt        time.Time `json:"updated_at"`
}

// PersonInput is a new person, or a row of UpsertPeople. Sex and BirthDate
// may be empty: they are derived from the identity number, and checked
// against it when given. GridCode may be empty when HouseID is set: the
// person then lives in the house's grid.
type PersonInput struct {
	IDNumber         string `json:"id_number"`
	Name             string `json:"name"`
	Sex              string `json:"sex"`
	BirthDate        string `json:"birth_date"`
	Phone            string `json:"phone"`
	HukouAddress     string `json:"hukou_address"`
	ResidenceAddress string `json:"residence_address"`
	Status           string `json:"status"`
	RegisteredOn     string `json:"registered_on"`
	HouseholdID      string `json:"household_id"`
	HouseholdRel     string `json:"household_relation"`
	GridCode         string `json:"grid_code"`
	// HouseID and HouseRelation link the new person to a house (AddPerson
	// only; UpsertPeople ignores them).
	HouseID       int64  `json:"house_id"`
	HouseRelation string `json:"house_relation"`
}

// PersonPatch changes a person; nil members stay unchanged.
type PersonPatch struct {
	IDNumber         *string `json:"id_number"`
	Name             *string `json:"name"`
	Phone            *string `json:"phone"`
	HukouAddress     *string `json:"hukou_address"`
	ResidenceAddress *string `json:"residence_address"`
	Status           *string `json:"status"`
	RegisteredOn     *string `json:"registered_on"`
	HouseholdID      *string `json:"household_id"`
	HouseholdRel     *string `json:"household_relation"`
	GridCode         *string `json:"grid_code"`
}

// Resident is a person living in a house, with their relation to it.
type Resident struct {
	Person
	Relation string `json:"relation"`
}

// HouseLink is a house of a person, with the relation.
type HouseLink struct {
	House
	Relation string `json:"relation"`
}

// Group is a group needing attention, with the frequency of its visits.
type Group struct {
	Code      string `json:"code"`
	Kind      string `json:"kind"` // "key" (重点人群) or "care" (关爱人群)
	Name      string `json:"name"`
	NameEN    string `json:"name_en"`
	Frequency string `json:"frequency"` // weekly, fortnightly, monthly, quarterly, half_yearly, yearly
	Sort      int    `json:"sort"`
}

// Member is a person in a group.
type Member struct {
	Person
	GroupCode string    `json:"group_code"`
	Since     time.Time `json:"since"`
	Note      string    `json:"note,omitempty"`
}

// Organisation is a company, shop or public place.
type Organisation struct {
	ID             int64     `json:"id"`
	CreditCode     string    `json:"credit_code"`
	Name           string    `json:"name"`
	Kind           string    `json:"kind"`
	Address        string    `json:"address"`
	HouseID        int64     `json:"house_id,omitempty"`
	ContactName    string    `json:"contact_name"`
	ContactPhone   string    `json:"contact_phone"`
	Industry       string    `json:"industry"`
	Size           string    `json:"size"`
	SafetyCategory string    `json:"safety_category"`
	GridCode       string    `json:"grid_code"`
	RegionPath     string    `json:"region_path"`
	Masked         bool      `json:"masked"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// OrganisationInput is a new organisation or a row of UpsertOrganisations.
// GridCode may be empty when HouseID is set.
type OrganisationInput struct {
	CreditCode     string `json:"credit_code"`
	Name           string `json:"name"`
	Kind           string `json:"kind"`
	Address        string `json:"address"`
	HouseID        int64  `json:"house_id"`
	ContactName    string `json:"contact_name"`
	ContactPhone   string `json:"contact_phone"`
	Industry       string `json:"industry"`
	Size           string `json:"size"`
	SafetyCategory string `json:"safety_category"`
	GridCode       string `json:"grid_code"`
}

// Page is a page of a list: at most Limit records after skipping Offset.
// A zero Limit means DefaultLimit; it is capped at MaxLimit.
type Page struct {
	Limit  int
	Offset int
}

// DefaultLimit and MaxLimit bound a page.
const (
	DefaultLimit = 50
	MaxLimit     = 1000
)

func (p Page) sql(w *db.Where) string {
	n := p.Limit
	if n <= 0 {
		n = DefaultLimit
	}
	n = min(n, MaxLimit)
	return " LIMIT " + w.Arg(n) + " OFFSET " + w.Arg(max(p.Offset, 0))
}

// list runs a query of records and scans each row with scan.
func list[T any](ctx context.Context, d *db.DB, q string, args []any, scan func(scanner) (T, error)) ([]T, error) {
	rows, err := d.Query(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, db.Translate(rows.Err())
}

// Deps are what the Store needs.
type Deps struct {
	DB *db.DB
	// Regions places buildings in grids and names the grids' paths; its
	// Locator must be loaded (region.Store.Reload).
	Regions *region.Store
	// Cases counts a grid's open cases for GridSummary; nil counts 0.
	Cases OpenCaseCounter
}

// Store reads and writes the registry.
type Store struct {
	db      *db.DB
	regions *region.Store
	cases   OpenCaseCounter
	visits  VisitCounter
	// snapRead, when set (by a test), is called by a snapshot refresh
	// after it has read a transaction's rows and before it writes them.
	snapRead func()
}

// NewStore returns a Store.
func NewStore(d Deps) *Store { return &Store{db: d.DB, regions: d.Regions, cases: d.Cases} }

// Columns are the scope columns of a registry table (alias.region_path):
// registry records are granted by region only.
func Columns(alias string) account.Columns {
	if alias != "" {
		alias += "."
	}
	return account.Columns{Path: alias + "region_path"}
}

// seesNothing reports whether sc grants no registry record at all: the
// registry is scoped by region only, so a scope without a region (a
// resident's, a department's) sees nothing, and its lists are 404.
func seesNothing(sc account.Scope) bool { return !sc.Covers("/") && sc.RegionPath == "" }

// Error keys of the not-found errors.
const (
	keyPersonNotFound   = "registry.person_not_found"
	keyHouseNotFound    = "registry.house_not_found"
	keyBuildingNotFound = "registry.building_not_found"
	keyOrgNotFound      = "registry.org_not_found"
	keyGroupNotFound    = "registry.group_not_found"
	keyGridNotFound     = "registry.grid_not_found"
)

func notFound(key string, args ...any) *errs.Error { return errs.E(errs.NotFound, key, args...) }

// outOfScope is the answer to a write naming a record or grid the scope
// does not cover: NotFound (404) as for a read, with the field named so
// that a form can show it.
func outOfScope(field, key string, args ...any) *errs.Error {
	return errs.E(errs.NotFound, key, args...).Field(field, key, args...)
}

// ScopeOf is a user's scope over the registry: the region scope of grid
// workers, community and street staff, leaders and administrators. Other
// roles (residents, party members, department handlers) see nothing, so
// every registry call answers them NotFound.
func ScopeOf(u *account.User) account.Scope {
	if u == nil {
		return account.Scope{}
	}
	for _, r := range []account.Role{account.GridWorker, account.CommunityStaff, account.StreetStaff, account.Leader, account.Admin} {
		if u.Has(r) {
			return account.Scope{RegionPath: account.ScopeOf(u).RegionPath}
		}
	}
	return account.Scope{}
}

// denied is the answer to a scope that sees nothing: the lists are 404.
func denied() *errs.Error { return notFound(keyGridNotFound, "") }

// gridPath returns the materialised path of the grid code, which must be a
// grid the scope covers: otherwise a NotFound error, as if it did not exist.
func (s *Store) gridPath(sc account.Scope, code string) (string, error) {
	loc, ok := s.regions.Locator().Grid(code)
	if !ok {
		return "", notFound(keyGridNotFound, code)
	}
	p := pathOf(loc)
	if !sc.Covers(p) {
		return "", notFound(keyGridNotFound, code)
	}
	return p, nil
}

// pathOf is the materialised path of a located grid.
func pathOf(loc region.Location) string {
	var b strings.Builder
	b.WriteByte('/')
	for _, r := range loc.Path {
		b.WriteString(r.Code)
		b.WriteByte('/')
	}
	return b.String()
}

// GridPath returns the materialised region path of a grid the scope covers,
// or the NotFound error: for modules that store registry-scoped records.
func (s *Store) GridPath(sc account.Scope, gridCode string) (_ string, err error) {
	defer errs.Wrapf(&err, "registry.Store.GridPath(%s)", gridCode)
	return s.gridPath(sc, gridCode)
}
