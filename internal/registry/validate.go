package registry

import (
	"errors"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"whistle/internal/account"
	"whistle/internal/errs"
	"whistle/internal/idcode"
)

// Field bounds.
const (
	maxName    = 50
	maxAddress = 200
	maxShort   = 64
	maxFloors  = 200
	maxUnits   = 100
)

// china is UTC+8: dates of the registry are dates there.
var china = time.FixedZone("CST", 8*3600)

func invalid() *errs.Error { return errs.E(errs.Invalid, "error.invalid") }

// failed returns e when it holds a field error, else nil.
func failed(e *errs.Error) error {
	if len(e.Fields) > 0 {
		return e
	}
	return nil
}

func text(e *errs.Error, field string, s *string, required bool, maxLen int) {
	*s = strings.TrimSpace(*s)
	switch {
	case required && *s == "":
		e.Field(field, "field.required")
	case utf8.RuneCountInString(*s) > maxLen:
		e.Field(field, "field.too_long", maxLen)
	case strings.ContainsAny(*s, "\x00\r\n\t"):
		e.Field(field, "registry.err.control")
	}
}

// oneOf checks a code against its list; empty takes def when def is set.
func oneOf(e *errs.Error, field string, s *string, list []string, def string) {
	*s = strings.TrimSpace(*s)
	if *s == "" && def != "" {
		*s = def
	}
	if *s == "" {
		e.Field(field, "field.required")
		return
	}
	if !slices.Contains(list, *s) {
		e.Field(field, "registry.err.choice", strings.Join(list, ", "))
	}
}

func phone(e *errs.Error, field string, s *string) {
	*s = strings.TrimSpace(*s)
	if *s != "" && !account.ValidPhone(*s) {
		e.Field(field, "field.phone_format")
	}
}

// date checks an optional YYYY-MM-DD date not after today (in China).
func date(e *errs.Error, field string, s *string, now time.Time) {
	*s = strings.TrimSpace(*s)
	if *s == "" {
		return
	}
	t, err := time.Parse(time.DateOnly, *s)
	if err != nil {
		e.Field(field, "field.date")
		return
	}
	if t.After(now.In(china)) {
		e.Field(field, "registry.err.future")
	}
}

// IDFacts are the sex and birth date a resident identity number carries.
func IDFacts(canonical string) (sex, birth string) {
	if len(canonical) != 18 {
		return "", ""
	}
	sex = "F"
	if (canonical[16]-'0')%2 == 1 {
		sex = "M"
	}
	return sex, canonical[6:10] + "-" + canonical[10:12] + "-" + canonical[12:14]
}

// idNumber validates a resident identity number into its canonical form.
func idNumber(e *errs.Error, field string, s *string, now time.Time) bool {
	if strings.TrimSpace(*s) == "" {
		e.Field(field, "field.required")
		return false
	}
	id, err := idcode.ResidentID(*s, now)
	var bad *idcode.Error
	if errors.As(err, &bad) {
		e.Field(field, bad.Key, bad.Args...)
		return false
	}
	*s = id
	return true
}

// ValidatePerson checks a person and puts it in canonical form: trimmed,
// the identity number canonical, sex and birth date derived from it (and
// checked against it when given). It does not look at the grid or the
// database: the import preview calls it row by row. The error, if any, is
// an Invalid *errs.Error with one message per field.
func ValidatePerson(in PersonInput, now time.Time) (PersonInput, error) {
	e := invalid()
	checkPerson(e, &in, now)
	return in, failed(e)
}

func checkPerson(e *errs.Error, in *PersonInput, now time.Time) {
	if idNumber(e, "id_number", &in.IDNumber, now) {
		sex, birth := IDFacts(in.IDNumber)
		in.Sex = strings.ToUpper(strings.TrimSpace(in.Sex))
		switch in.Sex {
		case "", sex:
			in.Sex = sex
		case "男":
			if sex != "M" {
				e.Field("sex", "registry.err.sex_mismatch")
			}
			in.Sex = sex
		case "女":
			if sex != "F" {
				e.Field("sex", "registry.err.sex_mismatch")
			}
			in.Sex = sex
		default:
			e.Field("sex", "registry.err.sex_mismatch")
		}
		in.BirthDate = strings.TrimSpace(in.BirthDate)
		if in.BirthDate != "" && in.BirthDate != birth {
			e.Field("birth_date", "registry.err.birth_mismatch", birth)
		}
		in.BirthDate = birth
	}
	text(e, "name", &in.Name, true, maxName)
	phone(e, "phone", &in.Phone)
	text(e, "hukou_address", &in.HukouAddress, false, maxAddress)
	text(e, "residence_address", &in.ResidenceAddress, false, maxAddress)
	oneOf(e, "status", &in.Status, Statuses(), "")
	date(e, "registered_on", &in.RegisteredOn, now)
	switch {
	case in.Status == StatusFloating && in.RegisteredOn == "":
		e.Field("registered_on", "registry.err.registered_on_required")
	case in.Status != StatusFloating && in.RegisteredOn != "":
		e.Field("registered_on", "registry.err.registered_on_floating")
	}
	text(e, "household_id", &in.HouseholdID, false, maxShort)
	in.HouseholdRel = strings.TrimSpace(in.HouseholdRel)
	switch {
	case in.HouseholdID == "" && in.HouseholdRel != "":
		e.Field("household_relation", "registry.err.relation_without_household")
	case in.HouseholdID != "":
		oneOf(e, "household_relation", &in.HouseholdRel, HouseholdRelations(), "")
	}
	in.GridCode = strings.TrimSpace(in.GridCode)
	if in.GridCode == "" && in.HouseID == 0 {
		e.Field("grid_code", "field.required")
	}
	if in.HouseID != 0 {
		oneOf(e, "house_relation", &in.HouseRelation, HouseRelations(), "")
	}
}

// ValidateOrganisation checks an organisation and puts it in canonical
// form (the credit code canonical), like ValidatePerson.
func ValidateOrganisation(in OrganisationInput) (OrganisationInput, error) {
	e := invalid()
	checkOrganisation(e, &in)
	return in, failed(e)
}

func checkOrganisation(e *errs.Error, in *OrganisationInput) {
	if strings.TrimSpace(in.CreditCode) == "" {
		e.Field("credit_code", "field.required")
	} else if c, err := idcode.CreditCode(in.CreditCode); err != nil {
		var bad *idcode.Error
		if errors.As(err, &bad) {
			e.Field("credit_code", bad.Key, bad.Args...)
		}
	} else {
		in.CreditCode = c
	}
	text(e, "name", &in.Name, true, maxAddress)
	oneOf(e, "kind", &in.Kind, OrgKinds(), "company")
	text(e, "address", &in.Address, true, maxAddress)
	text(e, "contact_name", &in.ContactName, false, maxName)
	phone(e, "contact_phone", &in.ContactPhone)
	text(e, "industry", &in.Industry, false, maxShort)
	oneOf(e, "size", &in.Size, OrgSizes(), "small")
	oneOf(e, "safety_category", &in.SafetyCategory, SafetyCategories(), "general")
	in.GridCode = strings.TrimSpace(in.GridCode)
	if in.GridCode == "" && in.HouseID == 0 {
		e.Field("grid_code", "field.required")
	}
}

func checkBuilding(e *errs.Error, in *BuildingInput) {
	text(e, "name", &in.Name, false, maxShort)
	text(e, "address", &in.Address, true, maxAddress)
	if in.Lat < -90 || in.Lat > 90 || in.Lat != in.Lat {
		e.Field("lat", "field.range", -90, 90)
	}
	if in.Lng < -180 || in.Lng > 180 || in.Lng != in.Lng {
		e.Field("lng", "field.range", -180, 180)
	}
	if in.Floors < 0 || in.Floors > maxFloors {
		e.Field("floors", "field.range", 0, maxFloors)
	}
	if in.Units < 0 || in.Units > maxUnits {
		e.Field("units", "field.range", 0, maxUnits)
	}
}

func checkHouse(e *errs.Error, in *HouseInput) {
	if in.BuildingID <= 0 {
		e.Field("building_id", "field.required")
	}
	text(e, "unit", &in.Unit, false, maxShort)
	text(e, "room", &in.Room, true, maxShort)
	oneOf(e, "use", &in.Use, HouseUses(), UseResidential)
	oneOf(e, "ownership", &in.Ownership, Ownerships(), "private")
	oneOf(e, "rental", &in.Rental, Rentals(), "not_rented")
	if in.Area < 0 || in.Area > 100000 || in.Area != in.Area {
		e.Field("area", "field.range", 0, 100000)
	}
	if in.LandlordID < 0 {
		e.Field("landlord_id", "field.number")
	}
}
