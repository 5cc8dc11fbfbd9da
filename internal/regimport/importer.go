package regimport

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/errs"
	"whistle/internal/i18n"
	"whistle/internal/region"
	"whistle/internal/registry"
)

// Limits of an import.
const (
	// MaxErrors is how many row errors a report lists; ErrorCount counts
	// them all.
	MaxErrors = 1000
	// PreviewRows is how many rows a report shows by default.
	PreviewRows = 20
)

// RowError is a refused cell or row: the row number as the spreadsheet
// shows it (the header is row 1), the column's header as the file wrote
// it, the registry field and the reason.
type RowError struct {
	Row    int      `json:"row"`
	Column string   `json:"column"`
	Field  string   `json:"field"`
	Msg    errs.Msg `json:"-"`
}

// Text renders the error as "row N: column: reason" in lang.
func (e RowError) Text(cat *i18n.Catalog, lang i18n.Lang) string {
	return fmt.Sprintf("row %d: %s: %s", e.Row, e.Column, cat.T(lang, e.Msg.Key, e.Msg.Args...))
}

// RowsError is the error of a file with refused rows: nothing was written.
// It unwraps to an Invalid *errs.Error.
type RowsError struct {
	Rows  []RowError
	Count int
}

// Error names the count and the first refused row.
func (e *RowsError) Error() string {
	if len(e.Rows) == 0 {
		return "regimport: refused"
	}
	r := e.Rows[0]
	return fmt.Sprintf("regimport: %d row errors, first row %d: %s: %s", e.Count, r.Row, r.Column, r.Msg.Key)
}

// Unwrap makes the error Invalid for errs.CodeOf.
func (e *RowsError) Unwrap() error { return errs.E(errs.Invalid, "import.err.rows", e.Count) }

// Report is what an import found and did.
type Report struct {
	Kind Kind `json:"kind"`
	// Rows counts the data rows of the file.
	Rows int `json:"rows"`
	// Columns are the layout's headers, the order of Preview's cells.
	Columns []string `json:"columns"`
	// Ignored are the file's headers the layout does not know.
	Ignored []string `json:"ignored"`
	// Preview is the first rows, normalised, personal data masked.
	Preview []PreviewRow `json:"preview"`
	// Errors are the first MaxErrors row errors in row order; ErrorCount
	// counts them all.
	Errors     []RowError `json:"errors"`
	ErrorCount int        `json:"error_count"`
	// DryRun reports that nothing was written because only a check was asked.
	DryRun bool `json:"dry_run"`
	// Committed reports that the rows were written; Result says how.
	Committed bool                   `json:"committed"`
	Result    *registry.UpsertResult `json:"result,omitempty"`
}

// PreviewRow is a row of the preview.
type PreviewRow struct {
	Row   int      `json:"row"`
	Cells []string `json:"cells"`
}

// Phase names a stage of an import, for progress.
type Phase string

// The phases, in order.
const (
	PhaseCheck Phase = "check"
	PhaseWrite Phase = "write"
	PhaseDone  Phase = "done"
)

// Progress is reported while an import runs: Done of Total rows of the
// phase (Total is 0 while checking, when the file's length is not known
// yet).
type Progress struct {
	Phase Phase `json:"phase"`
	Done  int   `json:"done"`
	Total int   `json:"total"`
}

// Options steer an import.
type Options struct {
	// DryRun checks the file and writes nothing.
	DryRun bool
	// Progress, when set, is called as rows are checked and written.
	Progress func(Progress)
	// ProgressEvery is how many checked rows pass between reports; 0
	// means 10,000 (the CLI's), the web asks more often. Writing is
	// reported by the registry's chunks (registry.WithProgress).
	ProgressEvery int
	// PreviewRows is the preview's size; 0 means PreviewRows, <0 none.
	PreviewRows int
	// MaxRows refuses a file of more data rows; 0 is no limit.
	MaxRows int
}

// Deps are what the Importer needs.
type Deps struct {
	Registry *registry.Store
	// Regions names the regions an export covers.
	Regions *region.Store
	Clock   clock.Clock
}

// Importer imports and exports registry files.
type Importer struct {
	reg     *registry.Store
	regions *region.Store
	clock   clock.Clock
	layouts Layouts
}

// New returns an Importer.
func New(d Deps) (*Importer, error) {
	l, err := LoadLayouts()
	if err != nil {
		return nil, err
	}
	return &Importer{reg: d.Registry, regions: d.Regions, clock: d.Clock, layouts: l}, nil
}

// Layout returns the layout of a kind.
func (im *Importer) Layout(k Kind) Layout { return im.layouts[k] }

// progressEvery is how many rows pass between progress reports.
const progressEvery = 10000

// Import reads a file of kind k and, unless o.DryRun or a row is refused,
// writes its rows in one transaction. Refused rows return the report and a
// *RowsError, and nothing is written; a file that is not a table returns
// an Invalid error on "file". The report is never nil.
func (im *Importer) Import(ctx context.Context, sc account.Scope, actor audit.Actor, k Kind, r io.Reader, o Options) (*Report, error) {
	lay, ok := im.layouts[k]
	rep := &Report{Kind: k, DryRun: o.DryRun, Errors: []RowError{}, Ignored: []string{}, Preview: []PreviewRow{}}
	if !ok {
		return rep, errs.E(errs.Invalid, "error.invalid").Field("kind", "import.err.kind")
	}
	if sc.Denies() {
		return rep, errs.E(errs.NotFound, "registry.grid_not_found", "")
	}
	for _, c := range lay.Columns {
		rep.Columns = append(rep.Columns, c.Header)
	}
	progress := func(p Progress) {
		if o.Progress != nil {
			o.Progress(p)
		}
	}
	t, err := OpenTable(r)
	if err != nil {
		return rep, errs.E(errs.Invalid, "error.invalid").Field("file", "import.err.format")
	}
	defer t.Close()
	header := t.Header()
	idx, missing, dup := lay.match(header)
	for _, c := range missing {
		rep.addError(RowError{Row: 1, Column: c.Header, Field: c.Field, Msg: errs.Msg{Key: "import.err.column_missing"}})
	}
	for _, h := range dup {
		rep.addError(RowError{Row: 1, Column: h, Msg: errs.Msg{Key: "import.err.column_twice"}})
	}
	if rep.ErrorCount > 0 {
		return rep, &RowsError{Rows: rep.Errors, Count: rep.ErrorCount}
	}
	for j, h := range header {
		if idx[j] < 0 && h != "" && !contains(dup, h) {
			rep.Ignored = append(rep.Ignored, h)
		}
	}
	// colName is the header a field's errors name: the file's own.
	colName := map[string]string{}
	for j, i := range idx {
		if i >= 0 {
			colName[lay.Columns[i].Field] = header[j]
		}
	}
	name := func(field string) string {
		if h, ok := colName[field]; ok {
			return h
		}
		if c, ok := lay.Column(field); ok {
			return c.Header
		}
		return field
	}
	n := o.PreviewRows
	if n == 0 {
		n = PreviewRows
	}
	every := o.ProgressEvery
	if every <= 0 {
		every = progressEvery
	}
	// Rows are checked as they are read; only their inputs and numbers
	// are kept, so a file of a million rows fits in memory.
	b := batchOf(k, im, sc)
	now := im.clock.Now()
	var rows []int // the file's row number of each batch row
	vals := make(map[string]string, len(lay.Columns))
	for {
		row, cells, err := t.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			rep.addError(RowError{Row: row, Column: "-", Msg: errs.Msg{Key: "import.err.unreadable"}})
			break
		}
		if o.MaxRows > 0 && len(rows) >= o.MaxRows {
			rep.addError(RowError{Row: row, Column: "-", Msg: errs.Msg{Key: "import.err.too_many_rows", Args: []any{o.MaxRows}}})
			break
		}
		clear(vals)
		rec := record{row: row, vals: vals}
		for j, v := range cells {
			if j >= len(idx) || idx[j] < 0 || v == "" {
				continue
			}
			c := lay.Columns[idx[j]]
			n, bad := c.cell(v)
			if bad != nil {
				rep.addError(RowError{Row: row, Column: header[j], Field: c.Field, Msg: *bad})
				rec.vals[c.Field] = "\x00bad"
				continue
			}
			rec.vals[c.Field] = n
		}
		for f, msg := range b.add(ctx, rec, now) {
			rep.addError(RowError{Row: rec.row, Column: name(f), Field: f, Msg: msg})
		}
		rows = append(rows, row)
		if len(rep.Preview) < n {
			cells := make([]string, len(lay.Columns))
			for j, c := range lay.Columns {
				cells[j] = maskCell(c, rec.vals[c.Field])
			}
			rep.Preview = append(rep.Preview, PreviewRow{Row: row, Cells: cells})
		}
		if len(rows)%every == 0 {
			progress(Progress{Phase: PhaseCheck, Done: len(rows)})
		}
	}
	rep.Rows = len(rows)
	progress(Progress{Phase: PhaseCheck, Done: len(rows), Total: len(rows)})
	if f, ok := b.(interface{ failed() error }); ok && f.failed() != nil {
		// A lookup failed (the database, not the file): no row is to blame.
		return rep, f.failed()
	}
	if rep.ErrorCount > 0 {
		rep.sortErrors()
		return rep, &RowsError{Rows: rep.Errors, Count: rep.ErrorCount}
	}
	if o.DryRun || len(rows) == 0 {
		progress(Progress{Phase: PhaseDone, Done: len(rows), Total: len(rows)})
		return rep, nil
	}
	progress(Progress{Phase: PhaseWrite, Done: 0, Total: len(rows)})
	if o.Progress != nil {
		ctx = registry.WithProgress(ctx, func(done, total int) { progress(Progress{Phase: PhaseWrite, Done: done, Total: total}) })
	}
	res, err := b.write(ctx, actor)
	var be *registry.BatchError
	if errors.As(err, &be) {
		for _, r := range be.Rows {
			for _, f := range sortedFields(r.Fields) {
				col := f
				if f == "house_id" {
					// The house the row's columns named, gone from the scope since.
					col = "house_address"
				}
				rep.addError(RowError{Row: rows[r.Row], Column: name(col), Field: col, Msg: r.Fields[f]})
			}
		}
		rep.sortErrors()
		return rep, &RowsError{Rows: rep.Errors, Count: rep.ErrorCount}
	}
	if err != nil {
		return rep, err
	}
	rep.Committed, rep.Result = true, &res
	progress(Progress{Phase: PhaseDone, Done: len(rows), Total: len(rows)})
	return rep, nil
}

func (rep *Report) addError(e RowError) {
	rep.ErrorCount++
	if len(rep.Errors) < MaxErrors {
		rep.Errors = append(rep.Errors, e)
	}
}

func (rep *Report) sortErrors() {
	sort.SliceStable(rep.Errors, func(i, j int) bool { return rep.Errors[i].Row < rep.Errors[j].Row })
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func sortedFields(m map[string]errs.Msg) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// maskCell masks the personal data of a preview cell.
func maskCell(c Column, v string) string {
	if v == "\x00bad" {
		return ""
	}
	switch c.Field {
	case "id_number", "landlord_id_number":
		return registry.MaskIDNumber(v)
	case "phone", "contact_phone":
		return registry.MaskPhone(v)
	case "name":
		if c.Header == "姓名" {
			return registry.MaskName(v)
		}
	case "contact_name":
		return registry.MaskName(v)
	case "hukou_address", "residence_address":
		return registry.MaskAddress(v)
	}
	return c.display(v)
}

// batch collects the checked rows of a file and writes them.
type batch interface {
	// add checks a record and keeps it; it returns the field errors.
	add(ctx context.Context, rec record, now time.Time) map[string]errs.Msg
	write(ctx context.Context, actor audit.Actor) (registry.UpsertResult, error)
}

func batchOf(k Kind, im *Importer, sc account.Scope) batch {
	g := &grids{reg: im.reg, regions: im.regions, sc: sc, ok: map[string]bool{}}
	switch k {
	case Organisations:
		return &orgBatch{im: im, sc: sc, grids: g, seen: map[string]int{}}
	case Houses:
		return &houseBatch{im: im, sc: sc}
	}
	return &peopleBatch{im: im, sc: sc, grids: g, seen: map[string]int{}, houses: map[string]houseAt{}}
}

// grids checks grid codes against the scope, once per code, and reads a
// grid's name as its code when the name is the district's only grid of
// that name (district files often name the grid: 万顺社区第一网格).
type grids struct {
	reg     *registry.Store
	regions *region.Store
	sc      account.Scope
	ok      map[string]bool
	names   map[string]string // name → code, "" when two grids share it
}

// code returns the grid code a cell names: the cell itself, or the code of
// the one grid with that name.
func (g *grids) code(ctx context.Context, v string) string {
	if v == "" || g.regions == nil {
		return v
	}
	if _, ok := g.regions.Locator().Grid(v); ok {
		return v
	}
	if g.names == nil {
		g.names = map[string]string{}
		nodes, err := g.regions.All(ctx, false)
		if err != nil {
			return v
		}
		for _, n := range nodes {
			if n.Level != region.Grid {
				continue
			}
			if _, dup := g.names[n.Name]; dup {
				g.names[n.Name] = ""
			} else {
				g.names[n.Name] = n.Code
			}
		}
	}
	if c := g.names[v]; c != "" {
		return c
	}
	return v
}

func (g *grids) check(code string) bool {
	if ok, seen := g.ok[code]; seen {
		return ok
	}
	_, err := g.reg.GridPath(g.sc, code)
	g.ok[code] = err == nil
	return err == nil
}

// fieldErrs turns a validation error into its field messages.
func fieldErrs(err error) map[string]errs.Msg {
	if err == nil {
		return nil
	}
	if e, ok := errs.As(err); ok && len(e.Fields) > 0 {
		return e.Fields
	}
	return map[string]errs.Msg{"-": {Key: "error.invalid"}}
}

// skipBad drops the fields whose cell was refused already, so one bad cell
// gives one error.
func skipBad(rec record, fe map[string]errs.Msg) map[string]errs.Msg {
	for f, v := range rec.vals {
		if v == "\x00bad" {
			delete(fe, f)
		}
	}
	return fe
}

// clean returns the record's value of a field, "" for a refused cell.
func (r record) get(f string) string {
	v := r.vals[f]
	if v == "\x00bad" {
		return ""
	}
	return v
}

func (r record) num(f string) float64 {
	v, _ := strconv.ParseFloat(strings.ReplaceAll(r.get(f), ",", ""), 64)
	return v
}

type peopleBatch struct {
	im    *Importer
	sc    account.Scope
	grids *grids
	seen  map[string]int
	rows  []registry.PersonInput
	// houses are the houses the file names, looked up once each; err is
	// a lookup's failure, which the import returns.
	houses map[string]houseAt
	err    error
}

// houseAt is a people file's house looked up: its id, or the message
// refusing it.
type houseAt struct {
	id  int64
	bad *errs.Msg
}

func (b *peopleBatch) add(ctx context.Context, rec record, now time.Time) map[string]errs.Msg {
	in := registry.PersonInput{IDNumber: rec.get("id_number"), Name: rec.get("name"), Sex: rec.get("sex"), BirthDate: rec.get("birth_date"),
		Phone: rec.get("phone"), HukouAddress: rec.get("hukou_address"), ResidenceAddress: rec.get("residence_address"), Status: rec.get("status"),
		RegisteredOn: rec.get("registered_on"), HouseholdID: rec.get("household_id"), HouseholdRel: rec.get("household_relation"),
		GridCode: b.grids.code(ctx, rec.get("grid_code"))}
	house := b.house(ctx, rec, &in)
	out, err := registry.ValidatePerson(in, now)
	b.rows = append(b.rows, out)
	fe := keyed{grids: b.grids, seen: b.seen}.check(rec, err, out.GridCode, "id_number", out.IDNumber)
	for f, m := range house {
		if _, ok := fe[f]; !ok {
			fe[f] = m
		}
	}
	return skipBad(rec, fe)
}

// house reads the row's optional house columns (楼栋地址, 单元 and 房号, the
// key the houses file writes, and 与房屋关系) and, when the house is one in scope,
// links the person to it (in.HouseID and HouseRelation, written with the
// person in UpsertPeople's transaction). It returns the columns' errors: a
// house named in part, a relation missing, a house not in scope or named
// twice in the registry.
func (b *peopleBatch) house(ctx context.Context, rec record, in *registry.PersonInput) map[string]errs.Msg {
	addr, unit, room, rel := rec.get("house_address"), rec.get("house_unit"), rec.get("house_room"), rec.get("house_relation")
	if addr == "" && unit == "" && room == "" && rel == "" {
		return nil
	}
	fe := map[string]errs.Msg{}
	req := errs.Msg{Key: "import.err.house_part"}
	if addr == "" {
		fe["house_address"] = req
	}
	if room == "" {
		fe["house_room"] = req
	}
	if rel == "" {
		fe["house_relation"] = req
	}
	if addr == "" || room == "" {
		return fe
	}
	key := in.GridCode + "\x00" + addr + "\x00" + unit + "\x00" + room
	h, ok := b.houses[key]
	if !ok {
		id, err := b.im.reg.HouseAt(ctx, b.sc, addr, unit, room, in.GridCode)
		name := addr + " " + strings.TrimSpace(unit+" "+room)
		switch {
		case err == nil:
			h.id = id
		case errs.Is(err, errs.NotFound):
			h.bad = &errs.Msg{Key: "import.err.house_unknown", Args: []any{name}}
		case errs.Is(err, errs.Invalid):
			h.bad = &errs.Msg{Key: "import.err.house_ambiguous", Args: []any{name}}
		default:
			h.bad, b.err = &errs.Msg{Key: "error.internal"}, err
		}
		b.houses[key] = h
	}
	if h.bad != nil {
		fe["house_address"] = *h.bad
		return fe
	}
	if rel != "" {
		in.HouseID, in.HouseRelation = h.id, rel
	}
	return fe
}

// keyed checks what the registry's validation cannot: the grid in scope
// and the key once in the file.
type keyed struct {
	grids *grids
	seen  map[string]int
}

// check adds to the validation error err of rec the grid and key checks,
// and returns the field errors of the cells not refused already.
func (k keyed) check(rec record, err error, grid, keyField, key string) map[string]errs.Msg {
	fe := fieldErrs(err)
	if fe == nil {
		fe = map[string]errs.Msg{}
	}
	if grid != "" && fe["grid_code"].Key == "" && !k.grids.check(grid) {
		fe["grid_code"] = errs.Msg{Key: "import.err.grid_outside", Args: []any{grid}}
	}
	if key != "" {
		if j, dup := k.seen[key]; dup && fe[keyField].Key == "" {
			fe[keyField] = errs.Msg{Key: "import.err.duplicate", Args: []any{j}}
		} else if !dup {
			k.seen[key] = rec.row
		}
	}
	return skipBad(rec, fe)
}

func (b *peopleBatch) failed() error { return b.err }

func (b *peopleBatch) write(ctx context.Context, actor audit.Actor) (registry.UpsertResult, error) {
	return b.im.reg.UpsertPeople(ctx, b.sc, actor, b.rows)
}

type orgBatch struct {
	im    *Importer
	sc    account.Scope
	grids *grids
	seen  map[string]int
	rows  []registry.OrganisationInput
}

func (b *orgBatch) add(ctx context.Context, rec record, _ time.Time) map[string]errs.Msg {
	in := registry.OrganisationInput{CreditCode: rec.get("credit_code"), Name: rec.get("name"), Kind: rec.get("kind"), Address: rec.get("address"),
		ContactName: rec.get("contact_name"), ContactPhone: rec.get("contact_phone"), Industry: rec.get("industry"), Size: rec.get("size"),
		SafetyCategory: rec.get("safety_category"), GridCode: b.grids.code(ctx, rec.get("grid_code"))}
	out, err := registry.ValidateOrganisation(in)
	b.rows = append(b.rows, out)
	return keyed{grids: b.grids, seen: b.seen}.check(rec, err, out.GridCode, "credit_code", out.CreditCode)
}

func (b *orgBatch) write(ctx context.Context, actor audit.Actor) (registry.UpsertResult, error) {
	return b.im.reg.UpsertOrganisations(ctx, b.sc, actor, b.rows)
}

type houseBatch struct {
	im   *Importer
	sc   account.Scope
	rows []registry.HouseRow
}

func (b *houseBatch) add(_ context.Context, rec record, _ time.Time) map[string]errs.Msg {
	in := registry.HouseRow{BuildingName: rec.get("building_name"), Address: rec.get("address"), Lat: rec.num("lat"), Lng: rec.num("lng"),
		Floors: int(rec.num("floors")), Units: int(rec.num("units")), Unit: rec.get("unit"), Room: rec.get("room"), Use: rec.get("use"),
		Ownership: rec.get("ownership"), Rental: rec.get("rental"), Area: rec.num("area"), LandlordIDNumber: rec.get("landlord_id_number")}
	out, err := registry.CheckHouseRow(in)
	fe := fieldErrs(err)
	if fe == nil {
		fe = map[string]errs.Msg{}
	}
	for _, f := range []string{"lat", "lng"} {
		if rec.get(f) == "" && fe[f].Key == "" {
			fe[f] = errs.Msg{Key: "field.required"}
		}
	}
	b.rows = append(b.rows, out)
	return skipBad(rec, fe)
}

func (b *houseBatch) write(ctx context.Context, actor audit.Actor) (registry.UpsertResult, error) {
	return b.im.reg.UpsertHouses(ctx, b.sc, actor, b.rows)
}
