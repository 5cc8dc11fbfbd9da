package registry

import (
	"context"
	"database/sql"
	"errors"
	"math"
	"slices"
	"sync"
	"time"

	"whistle/internal/account"
	"whistle/internal/db"
	"whistle/internal/errs"
)

// FactSet is what is known of a subject on a date, for eligibility: the
// registry's own columns, the derived facts (age on the date, group
// memberships, household size) and the fact rows. A key absent from Values
// is unknown. Verified reports, per key, whether the value was verified;
// registry columns and derived facts count as verified.
type FactSet struct {
	Kind       string
	ID         int64
	GridCode   string
	RegionPath string
	Values     map[string]any
	Verified   map[string]bool
}

// FactSet returns what is known of a subject in scope on date; out of
// scope is NotFound. A household is its head's person record, with the
// household's facts over the person's.
func (s *Store) FactSet(ctx context.Context, sc account.Scope, kind string, id int64, date time.Time) (_ *FactSet, err error) {
	defer errs.Wrapf(&err, "registry.Store.FactSet(%s %d)", kind, id)
	return s.factSet(ctx, sc, kind, id, date, FactSetParts{})
}

// FactSetParts leaves derived parts out of a person's fact set, for a
// reader that needs none of their fields: each is a lookup of its own
// in the query (the household's size an index count of the household's
// members).
type FactSetParts struct {
	NoHouseholdSize, NoGroups bool
}

// FactSetWithout is FactSet without the parts named (a person's
// household_size or groups are then absent).
func (s *Store) FactSetWithout(ctx context.Context, sc account.Scope, kind string, id int64, date time.Time, parts FactSetParts) (_ *FactSet, err error) {
	defer errs.Wrapf(&err, "registry.Store.FactSetWithout(%s %d)", kind, id)
	return s.factSet(ctx, sc, kind, id, date, parts)
}

func (s *Store) factSet(ctx context.Context, sc account.Scope, kind string, id int64, date time.Time, parts FactSetParts) (*FactSet, error) {
	fs := &FactSet{Kind: kind, ID: id, Values: map[string]any{}, Verified: map[string]bool{}}
	set := func(k string, v any) { fs.Values[k], fs.Verified[k] = v, true }
	switch kind {
	case FactPerson, FactHousehold:
		if err := s.personFactSet(ctx, sc, fs, kind, date, parts); err != nil {
			return nil, err
		}
	case FactOrganisation:
		var w db.Where
		w.Add("o.id = ?", id)
		sc.Apply(&w, Columns("o"))
		var okind, industry, size string
		err := s.db.QueryRow(ctx, `SELECT o.grid_code, o.region_path, o.kind, o.industry, o.size FROM reg_organisations o`+w.SQL(), w.Args()...).
			Scan(&fs.GridCode, &fs.RegionPath, &okind, &industry, &size)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, notFound(keyOrgNotFound, id)
		}
		if err != nil {
			return nil, db.Translate(err)
		}
		set("org_kind", okind)
		if industry != "" {
			set("industry", industry)
		}
		if size != "" {
			set("size", size)
		}
		if err := s.factsInto(ctx, fs, FactOrganisation, id); err != nil {
			return nil, err
		}
	default:
		return nil, invalid().Field("subject_kind", "registry.err.fact_kind")
	}
	return fs, nil
}

// personFactSet fills fs with a person's record, groups, household size
// and facts (with the household's over the person's when kind is
// household) in one query: the eligibility re-check reads one fact set
// per change, and five round trips were most of its time.
func (s *Store) personFactSet(ctx context.Context, sc account.Scope, fs *FactSet, kind string, date time.Time, parts FactSetParts) error {
	var w db.Where
	w.Add("p.id = ?", fs.ID)
	hk := w.Arg(kind) // the facts of the person, and of the household it heads
	sc.Apply(&w, Columns("p"))
	// Parts: 0 the person (grid, path, sex, status, birth date, household
	// number and size), 1 a group, 2 a person's fact, 3 a household's
	// fact (applied after the person's, so it wins). No ORDER BY: the
	// order is made here, where SQLite sorted each call's few rows in
	// temporary b-trees. The household size counts with household_id <>
	// '' so that the partial index answers. The ids and kinds go through
	// CAST: SQLite (with STAT4 statistics) prepares a statement again
	// whenever a parameter that an index's samples could weigh is bound
	// to a new value, and this statement's parsing and planning was half
	// of the query's time.
	size := `(SELECT COUNT(*) FROM reg_people h WHERE h.household_id = p.household_id AND h.household_id <> '')`
	if parts.NoHouseholdSize {
		size = `0`
	}
	groupsPart := `
		UNION ALL SELECT 1, group_code, '', '', '', '', '', 0 FROM reg_group_members WHERE person_id = CAST($1 AS BIGINT)`
	if parts.NoGroups {
		groupsPart = ``
	}
	rows, err := s.db.Query(ctx, `SELECT 0 AS part, p.grid_code AS a, p.region_path AS b, p.sex AS c, p.status AS d, p.birth_date AS e, p.household_id AS f,
		`+size+` AS n
		FROM reg_people p`+w.SQL()+groupsPart+`
		UNION ALL SELECT CASE WHEN subject_kind = 'person' THEN 2 ELSE 3 END, key, value, '', '', '', '', verified
		FROM reg_facts WHERE subject_id = CAST($1 AS BIGINT) AND subject_kind IN ('person', CAST(`+hk+` AS TEXT))`, w.Args()...)
	if err != nil {
		return db.Translate(err)
	}
	defer rows.Close()
	type fact struct {
		key, value string
		verified   bool
	}
	var person, household []fact
	found := false
	groups := []string{}
	for rows.Next() {
		var part int
		var a, b, c, d, e, f string
		var n int64
		if err := rows.Scan(&part, &a, &b, &c, &d, &e, &f, &n); err != nil {
			return db.Translate(err)
		}
		switch part {
		case 0:
			found = true
			fs.GridCode, fs.RegionPath = a, b
			fs.Values["sex"], fs.Verified["sex"] = c, true
			fs.Values["status"], fs.Verified["status"] = d, true
			if age, ok := AgeOn(e, date); ok {
				fs.Values["age"], fs.Verified["age"] = int64(age), true
			}
			if f != "" && !parts.NoHouseholdSize {
				fs.Values["household_size"], fs.Verified["household_size"] = n, true
			}
		case 1:
			groups = append(groups, a)
		case 2:
			person = append(person, fact{a, b, n != 0})
		default:
			household = append(household, fact{a, b, n != 0})
		}
	}
	if err := rows.Err(); err != nil {
		return db.Translate(err)
	}
	// Groups and facts of a person out of scope, or of no person, are
	// read but not used.
	if !found {
		return personNotFound(fs.ID)
	}
	// The groups go in before the facts, as EachFactSet does: a fact
	// would win over a column or a derived fact of its name.
	if !parts.NoGroups {
		slices.Sort(groups)
		fs.Values["groups"], fs.Verified["groups"] = groups, true
	}
	for _, f := range append(person, household...) {
		fs.Values[f.key], fs.Verified[f.key] = decodeFact(f.value), f.verified
	}
	return nil
}

// AgeOn is the age in whole years on date of someone born on birth
// (YYYY-MM-DD); false when birth is not a date.
func AgeOn(birth string, date time.Time) (int, bool) {
	b, err := time.Parse(time.DateOnly, birth)
	if err != nil {
		return 0, false
	}
	a := date.Year() - b.Year()
	if date.Month() < b.Month() || (date.Month() == b.Month() && date.Day() < b.Day()) {
		a--
	}
	return a, true
}

func (s *Store) factsInto(ctx context.Context, fs *FactSet, kind string, id int64) error {
	rows, err := s.db.Query(ctx, `SELECT key, value, verified FROM reg_facts WHERE subject_kind = $1 AND subject_id = $2`, kind, id)
	if err != nil {
		return db.Translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var k, raw string
		var v int
		if err := rows.Scan(&k, &raw, &v); err != nil {
			return db.Translate(err)
		}
		fs.Values[k], fs.Verified[k] = decodeFact(raw), v != 0
	}
	return db.Translate(rows.Err())
}

// PersonIDByPhone returns the id of the one person with this phone number
// (a resident's phone, verified by their SMS login). None is NotFound
// (registry.person_not_found); more than one (a shared family phone) is
// NotFound too, but with its own message and the reason "ambiguous", so
// that the resident is told to link by identity number rather than being
// linked to a relative's record.
func (s *Store) PersonIDByPhone(ctx context.Context, phone string) (_ int64, err error) {
	defer errs.Wrapf(&err, "registry.Store.PersonIDByPhone")
	if phone == "" {
		return 0, personNotFound("")
	}
	rows, err := s.db.Query(ctx, `SELECT id FROM reg_people WHERE phone = $1 LIMIT 2`, phone)
	if err != nil {
		return 0, db.Translate(err)
	}
	defer rows.Close()
	var ids []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return 0, db.Translate(err)
		}
		ids = append(ids, id)
	}
	if err := rows.Err(); err != nil {
		return 0, db.Translate(err)
	}
	switch len(ids) {
	case 0:
		return 0, personNotFound(MaskPhone(phone))
	case 1:
		return ids[0], nil
	}
	return 0, errs.E(errs.NotFound, "registry.phone_ambiguous", MaskPhone(phone)).WithReason("ambiguous")
}

// PeopleWithPhone counts the registry's people with the phone, as the
// transaction tx sees them: a phone links a resident only when one
// person has it.
func PeopleWithPhone(ctx context.Context, tx *db.Tx, phone string) (int, error) {
	var n int
	err := tx.QueryRow(ctx, `SELECT COUNT(*) FROM reg_people WHERE phone = $1`, phone).Scan(&n)
	return n, db.Translate(err)
}

// ResidentPerson is the registry person of a signed-in resident: the one
// with the identity number on their account, else the one person with a
// phone the resident proved by SMS code (phones, account.Store's
// VerifiedPhones; an account's unproven phone links nothing). Eligibility
// and applications both link a resident through it, so that a resident
// who sees their policies can also apply for them. No person is NotFound;
// a proven phone that several people share (a family's), or proven phones
// of different people, is NotFound with the reason "ambiguous" and links
// nobody.
func (s *Store) ResidentPerson(ctx context.Context, u *account.User, phones []string) (_ int64, err error) {
	defer errs.Wrapf(&err, "registry.Store.ResidentPerson")
	if u == nil || u.Disabled {
		return 0, personNotFound("")
	}
	if u.IDNumber != "" {
		p, err := s.PersonByIDNumber(ctx, account.SystemScope(), u.IDNumber)
		if err == nil {
			return p.ID, nil
		}
		if !errs.Is(err, errs.NotFound) {
			return 0, err
		}
	}
	var found int64
	for _, ph := range phones {
		id, err := s.PersonIDByPhone(ctx, ph)
		if errs.Is(err, errs.NotFound) && !ambiguous(err) {
			continue
		}
		if err != nil {
			return 0, err
		}
		if found != 0 && found != id {
			return 0, errs.E(errs.NotFound, "registry.phone_ambiguous", MaskPhone(ph)).WithReason("ambiguous")
		}
		found = id
	}
	if found == 0 {
		return 0, personNotFound("")
	}
	return found, nil
}

func ambiguous(err error) bool {
	e, ok := errs.As(err)
	return ok && e.Reason == "ambiguous"
}

// EachFactSet calls fn with what is known of every subject of a kind
// (person or organisation) on date, in id order, for the batch
// evaluation: the same as FactSet of each (a person's with the facts of
// the household it heads). The FactSet is reused between calls: fn must
// copy what it keeps. Data scope does not apply: it is a system task.
// It reads the registry's snapshot (RefreshSnapshot, which it calls
// first), a block of subjects at a time.
func (s *Store) EachFactSet(ctx context.Context, kind string, date time.Time, fn func(*FactSet) error) (err error) {
	defer errs.Wrapf(&err, "registry.Store.EachFactSet(%s)", kind)
	return s.eachFactSetIn(ctx, kind, date, []int64{math.MinInt64, math.MaxInt64}, func(_ int, fs *FactSet) error { return fn(fs) })
}

// EachFactSetIn is EachFactSet over the id ranges [bounds[i],
// bounds[i+1]), read side by side, each on connections and in a
// goroutine of its own: fn is called with the range's index, at the
// same time for different ranges, in id order within each, with a
// FactSet of the range's own. Building the fact sets and the caller's
// work on them are most of the load, and one range on one goroutine kept
// a core of two half idle. It refreshes the snapshot first, once for
// every range. The first error stops every range.
func (s *Store) EachFactSetIn(ctx context.Context, kind string, date time.Time, bounds []int64, fn func(part int, fs *FactSet) error) (err error) {
	defer errs.Wrapf(&err, "registry.Store.EachFactSetIn(%s, %d ranges)", kind, len(bounds)-1)
	return s.eachFactSetIn(ctx, kind, date, bounds, fn)
}

func (s *Store) eachFactSetIn(ctx context.Context, kind string, date time.Time, bounds []int64, fn func(part int, fs *FactSet) error) error {
	if len(bounds) < 2 || !slices.IsSorted(bounds) {
		return errors.New("registry: EachFactSetIn needs rising bounds, two at least")
	}
	if kind != FactPerson && kind != FactOrganisation {
		return invalid().Field("subject_kind", "registry.err.fact_kind")
	}
	if _, err := s.RefreshSnapshot(ctx); err != nil {
		return err
	}
	var groups map[int64][]string
	if kind != FactOrganisation {
		var err error
		if groups, err = s.allGroups(ctx); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errl := make([]error, len(bounds)-1)
	var wg sync.WaitGroup
	for i := range errl {
		wg.Go(func() {
			errl[i] = s.eachFactSetRange(ctx, kind, date, bounds[i], bounds[i+1], groups, func(fs *FactSet) error { return fn(i, fs) })
			if errl[i] != nil {
				cancel()
			}
		})
	}
	wg.Wait()
	for _, err := range errl {
		if err != nil && !errors.Is(err, context.Canceled) {
			return err
		}
	}
	return errors.Join(errl...)
}

// eachFactSetRange is EachFactSet over the ids in [lo, hi), read from
// the snapshot's blocks (refreshed by the caller), with the groups read
// once for every range.
func (s *Store) eachFactSetRange(ctx context.Context, kind string, date time.Time, lo, hi int64, groups map[int64][]string, fn func(*FactSet) error) error {
	fs := &FactSet{Kind: kind, Values: map[string]any{}, Verified: map[string]bool{}}
	set := func(k string, v any) { fs.Values[k], fs.Verified[k] = v, true }
	// The strings of the blocks repeat (grids, paths, birth dates, keys,
	// bands and flags): each is made once, and each raw value decoded
	// and each birth date's age computed once.
	strs := map[string]string{}
	values := map[string]any{}
	type age struct {
		years int64
		ok    bool
	}
	ages := map[string]age{}
	d := &snapDecoder{intern: func(b []byte) string {
		if v, ok := strs[string(b)]; ok {
			return v
		}
		v := string(b)
		if len(strs) < 1<<20 {
			strs[v] = v
		}
		return v
	}}
	subject := func(ss *snapSubject) error {
		if ss.id < lo || ss.id >= hi {
			return nil
		}
		clear(fs.Values)
		clear(fs.Verified)
		fs.ID, fs.GridCode, fs.RegionPath = ss.id, ss.grid, ss.path
		// Facts over the columns and derived facts, a household's over
		// the person's, as FactSet does.
		if kind == FactOrganisation {
			set("org_kind", ss.cols[0])
			if ss.cols[1] != "" {
				set("industry", ss.cols[1])
			}
			if ss.cols[2] != "" {
				set("size", ss.cols[2])
			}
		} else {
			set("sex", ss.cols[0])
			set("status", ss.cols[1])
			a, ok := ages[ss.cols[2]]
			if !ok {
				y, yes := AgeOn(ss.cols[2], date)
				a = age{int64(y), yes}
				ages[ss.cols[2]] = a
			}
			if a.ok {
				set("age", a.years)
			}
			g := groups[ss.id]
			if g == nil {
				g = []string{}
			}
			set("groups", g)
			if ss.cols[3] != "" {
				set("household_size", ss.household)
			}
		}
		for _, f := range ss.facts {
			v, ok := values[f.value]
			if !ok {
				v = decodeFact(f.value)
				switch v.(type) {
				case bool, int64, float64, string:
					// Shared only when immutable (not a list).
					if len(values) < 1<<16 {
						values[f.value] = v
					}
				}
			}
			fs.Values[f.key], fs.Verified[f.key] = v, f.flags&snapVerified != 0
		}
		return fn(fs)
	}
	rows, err := s.db.Query(ctx, `SELECT block, data FROM reg_snap WHERE kind = $1 AND block >= $2 AND block <= $3 ORDER BY block`, kind, snapBlock(lo), snapBlock(hi-1))
	if err != nil {
		return db.Translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var block int64
		var data sql.RawBytes
		if err := rows.Scan(&block, &data); err != nil {
			return db.Translate(err)
		}
		if err := d.decode(block, data, subject); err != nil {
			return err
		}
	}
	return db.Translate(rows.Err())
}

// PeopleIDSpan returns the lowest and the highest id of the registry's
// people (0 and 0 when it has none), for a batch that splits them into
// id ranges: the span stands for the count, which would cost a scan.
func (s *Store) PeopleIDSpan(ctx context.Context) (lo, hi int64, err error) {
	defer errs.Wrapf(&err, "registry.Store.PeopleIDSpan")
	err = s.db.QueryRow(ctx, `SELECT COALESCE(MIN(id), 0), COALESCE(MAX(id), 0) FROM reg_people`).Scan(&lo, &hi)
	return lo, hi, db.Translate(err)
}

// allGroups reads every person's groups, for the batch.
func (s *Store) allGroups(ctx context.Context) (map[int64][]string, error) {
	groups := map[int64][]string{}
	rows, err := s.db.Query(ctx, `SELECT person_id, group_code FROM reg_group_members ORDER BY person_id, group_code`)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var id int64
		var g string
		if err := rows.Scan(&id, &g); err != nil {
			return nil, db.Translate(err)
		}
		groups[id] = append(groups[id], g)
	}
	return groups, db.Translate(rows.Err())
}

// NodePath returns the materialised path of a region node (any level)
// the scope covers, or NotFound as if it did not exist.
func (s *Store) NodePath(ctx context.Context, sc account.Scope, code string) (_ string, err error) {
	defer errs.Wrapf(&err, "registry.Store.NodePath(%s)", code)
	n, err := s.regions.Get(ctx, code)
	if err != nil || n == nil || !sc.Covers(n.Path) {
		return "", notFound(keyGridNotFound, code)
	}
	return n.Path, nil
}

// HouseholdMembers returns the ids of the people of a household number,
// for the eligibility re-check (a system task: no scope).
func (s *Store) HouseholdMembers(ctx context.Context, household string) (_ []int64, err error) {
	defer errs.Wrapf(&err, "registry.Store.HouseholdMembers")
	rows, err := s.db.Query(ctx, `SELECT id FROM reg_people WHERE household_id = $1 AND household_id <> '' ORDER BY id`, household)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, db.Translate(err)
		}
		out = append(out, id)
	}
	return out, db.Translate(rows.Err())
}

// BornOn returns the ids of the people whose age changes on date (their
// birthday), for the daily re-check.
func (s *Store) BornOn(ctx context.Context, date time.Time) (_ []int64, err error) {
	defer errs.Wrapf(&err, "registry.Store.BornOn")
	// Those born on 29 February turn a year older on 1 March in other
	// years (AgeOn).
	other := date.Format("01-02")
	if leap := time.Date(date.Year(), 2, 29, 0, 0, 0, 0, time.UTC).Month() == 2; !leap && other == "03-01" {
		other = "02-29"
	}
	rows, err := s.db.Query(ctx, `SELECT id FROM reg_people WHERE substr(birth_date, 6, 5) IN ($1, $2) ORDER BY id`, date.Format("01-02"), other)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var id int64
		if err := rows.Scan(&id); err != nil {
			return nil, db.Translate(err)
		}
		out = append(out, id)
	}
	return out, db.Translate(rows.Err())
}
