// Package device is the device registry of sensing (issue 17): devices
// with their owner (a registry person or a place: a house, an organisation
// or a parking space), their grid and data scope, per-type profiles
// (fields, units, ranges, the expected reporting interval), per-device MQTT
// credentials, and the ingest of their telemetry (ingest.go), which hands
// every committed batch of valid readings to the Sinks inside its
// transaction. Rules and alarms live in internal/sensing, on this contract.
package device

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paulmach/orb"

	"whistle/internal/account"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/region"
	"whistle/internal/registry"
)

// Owner kinds: what a device belongs to.
const (
	OwnerPerson       = "person"
	OwnerHouse        = "house"
	OwnerOrganisation = "organisation"
	OwnerParkingSpace = "parking_space"
)

// Device statuses.
const (
	StatusOnline  = "online"
	StatusOffline = "offline"
	StatusRetired = "retired"
)

// Device is one registered device.
type Device struct {
	ID       int64  `json:"id"`
	District string `json:"district"`
	Type     string `json:"type"`
	Model    string `json:"model"`
	Serial   string `json:"serial"`
	// OwnerKind is "person", "house", "organisation" or "parking_space".
	OwnerKind string `json:"owner_kind"`
	OwnerID   int64  `json:"owner_id"`
	// PersonID is the person the device watches (0 when none); HouseID the
	// house it is in (0 when none).
	PersonID    int64   `json:"person_id,omitempty"`
	HouseID     int64   `json:"house_id,omitempty"`
	GridCode    string  `json:"grid_code"`
	RegionPath  string  `json:"-"`
	Lat         float64 `json:"lat"`
	Lng         float64 `json:"lng"`
	InstalledOn string  `json:"installed_on,omitempty"`
	Status      string  `json:"status"` // online, offline, retired
	// LastSeen is when the device last reported, to within the ingest's
	// resolution (IngestConfig.Resolution).
	LastSeen time.Time `json:"last_seen,omitzero"`
	Battery  float64   `json:"battery"` // -1 unknown
	// Username is the device's MQTT user name; Revoked says its
	// credentials were revoked (it can connect no more).
	Username  string    `json:"username"`
	Revoked   bool      `json:"revoked"`
	CreatedAt time.Time `json:"created_at"`

	hash string
}

// Topic is the device's MQTT telemetry topic.
func (d *Device) Topic() string {
	return "whistle/" + d.District + "/dev/" + strconv.FormatInt(d.ID, 10) + "/tele"
}

// Subject is the NATS subject its MQTT topic maps to.
func (d *Device) Subject() string { return Subject(d.District, d.ID) }

// Subject is the NATS subject of a device's telemetry.
func Subject(district string, id int64) string {
	return "whistle." + district + ".dev." + strconv.FormatInt(id, 10) + ".tele"
}

// Username is the MQTT user name of a device: "dev-<id>".
func Username(id int64) string { return "dev-" + strconv.FormatInt(id, 10) }

// ParseUsername is the device id of an MQTT user name, or 0.
func ParseUsername(u string) int64 {
	rest, ok := strings.CutPrefix(u, "dev-")
	if !ok {
		return 0
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	if err != nil || id <= 0 {
		return 0
	}
	return id
}

// Reading is one accepted, validated message of a device.
type Reading struct {
	Device int64              `json:"device"`
	TS     time.Time          `json:"ts"`
	Values map[string]float64 `json:"values,omitempty"`
	// Text holds the string-valued fields, e.g. "state": "occupied".
	Text     map[string]string `json:"text,omitempty"`
	Received time.Time         `json:"received"`
}

// Sink receives every committed batch of valid readings INSIDE the ingest
// transaction (so a rule's state change commits with the readings, exactly
// once). devs are the batch's devices as the ingest loads them
// (ingestCols): without model, serial, installation date, creation time
// or credentials.
type Sink interface {
	Readings(ctx context.Context, tx *db.Tx, devs map[int64]*Device, rs []Reading) error
}

// ParkingSpace is a kerbside space a sensor watches.
type ParkingSpace struct {
	ID         int64   `json:"id"`
	Code       string  `json:"code"`
	Name       string  `json:"name"`
	GridCode   string  `json:"grid_code"`
	RegionPath string  `json:"-"`
	Lat        float64 `json:"lat"`
	Lng        float64 `json:"lng"`
	NoParking  bool    `json:"no_parking"`
}

// Registry is what the device store reads of the base-data registry to
// place a device: *registry.Store.
type Registry interface {
	Person(ctx context.Context, sc account.Scope, id int64) (*registry.Person, error)
	HousesOf(ctx context.Context, sc account.Scope, personID int64) ([]registry.HouseLink, error)
	House(ctx context.Context, sc account.Scope, id int64) (*registry.House, error)
	Building(ctx context.Context, sc account.Scope, id int64) (*registry.Building, error)
	Organisation(ctx context.Context, sc account.Scope, id int64) (*registry.Organisation, error)
}

// Regions finds the grid of a point: *region.Store.
type Regions interface {
	Locator() *region.Locator
}

// Store keeps devices, parking spaces and credentials.
type Store struct {
	db      *db.DB
	reg     Registry
	regions Regions
	hash    account.Argon2Params
	// Profiles are the device types.
	Profiles Profiles
}

// NewStore returns a Store; reg may be nil (then only parking spaces and
// explicit positions place a device).
func NewStore(d *db.DB, reg Registry, regions Regions) (*Store, error) {
	ps, err := LoadProfiles()
	if err != nil {
		return nil, err
	}
	return &Store{db: d, reg: reg, regions: regions, hash: account.DefaultArgon2(), Profiles: ps}, nil
}

// SetHashParams sets the argon2id cost of new credentials (tests lower it).
func (s *Store) SetHashParams(p account.Argon2Params) { s.hash = p }

// DB is the store's database.
func (s *Store) DB() *db.DB { return s.db }

// ScopeOf is who sees devices: registry staff their region subtree (the
// registry's scope); anyone else nothing.
func ScopeOf(u *account.User) account.Scope {
	if u == nil || u.Disabled {
		return account.Scope{}
	}
	return registry.ScopeOf(u)
}

func notFound() *errs.Error { return errs.E(errs.NotFound, "device.not_found") }

const deviceCols = `id, district, type, model, serial, owner_kind, owner_id, person_id, house_id, grid_code, region_path, lat, lng,
	installed_on, status, last_seen, battery, secret_hash, created_at`

// ingestCols are the columns of a device the ingest and its sinks use:
// every column read costs on each reading's device (modernc's SQLite
// locks and unlocks a mutex per column read). The ingest keeps them in
// memory while the devices' generation stays (Ingester.devices): any
// other write to a device's row must set updated_at, which counts the
// generation up.
const ingestCols = `id, district, type, owner_kind, owner_id, person_id, house_id, grid_code, region_path, lat, lng, status, last_seen, battery`

// scanIngestDevice scans ingestCols.
func scanIngestDevice(r scanner) (*Device, error) {
	var d Device
	var seen db.NullTime
	if err := r.Scan(&d.ID, &d.District, &d.Type, &d.OwnerKind, &d.OwnerID, &d.PersonID, &d.HouseID, &d.GridCode,
		&d.RegionPath, &d.Lat, &d.Lng, &d.Status, &seen, &d.Battery); err != nil {
		return nil, err
	}
	if seen.Valid {
		d.LastSeen = seen.Time
	}
	return &d, nil
}

type scanner interface{ Scan(...any) error }

func scanDevice(r scanner) (*Device, error) {
	var d Device
	var seen db.NullTime
	var created db.Time
	if err := r.Scan(&d.ID, &d.District, &d.Type, &d.Model, &d.Serial, &d.OwnerKind, &d.OwnerID, &d.PersonID, &d.HouseID, &d.GridCode,
		&d.RegionPath, &d.Lat, &d.Lng, &d.InstalledOn, &d.Status, &seen, &d.Battery, &d.hash, &created); err != nil {
		return nil, err
	}
	if seen.Valid {
		d.LastSeen = seen.Time
	}
	d.CreatedAt = created.Time
	d.Username = Username(d.ID)
	d.Revoked = d.hash == ""
	return &d, nil
}

// Get returns a device by id, whatever its scope: for the ingest, the
// rules and the command line. Requests use Device.
func (s *Store) Get(ctx context.Context, id int64) (_ *Device, err error) {
	defer errs.Wrapf(&err, "device.Store.Get(%d)", id)
	return s.get(ctx, s.db, account.SystemScope(), id)
}

// Device returns a device in scope; anything else is NotFound.
func (s *Store) Device(ctx context.Context, sc account.Scope, id int64) (_ *Device, err error) {
	defer errs.Wrapf(&err, "device.Store.Device(%d)", id)
	return s.get(ctx, s.db, sc, id)
}

type rowQuerier interface {
	QueryRow(ctx context.Context, q string, args ...any) *sql.Row
}

func (s *Store) get(ctx context.Context, q rowQuerier, sc account.Scope, id int64) (*Device, error) {
	if sc.Denies() {
		return nil, notFound()
	}
	var w db.Where
	w.Add("id = ?", id)
	sc.Apply(&w, account.Columns{Path: "region_path"})
	d, err := scanDevice(q.QueryRow(ctx, `SELECT `+deviceCols+` FROM devices`+w.SQL(), w.Args()...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, notFound()
	}
	return d, db.Translate(err)
}

// Filter narrows a list of devices.
type Filter struct {
	Type      string
	Status    string
	Grid      string
	PersonID  int64
	OwnerKind string
	OwnerID   int64
	// AfterID pages by id (the list is ordered by id).
	AfterID int64
	// Limit is at most 1000; 0 means 200.
	Limit int
}

// Devices lists the devices in scope, by id.
func (s *Store) Devices(ctx context.Context, sc account.Scope, f Filter) (_ []*Device, err error) {
	defer errs.Wrapf(&err, "device.Store.Devices")
	if sc.Denies() {
		return nil, notFound()
	}
	var w db.Where
	sc.Apply(&w, account.Columns{Path: "region_path"})
	if f.Type != "" {
		w.Add("type = ?", f.Type)
	}
	if f.Status != "" {
		w.Add("status = ?", f.Status)
	}
	if f.Grid != "" {
		w.Add("grid_code = ?", f.Grid)
	}
	if f.PersonID != 0 {
		w.Add("person_id = ?", f.PersonID)
	}
	if f.OwnerKind != "" {
		w.Add("owner_kind = ? AND owner_id = ?", f.OwnerKind, f.OwnerID)
	}
	if f.AfterID > 0 {
		w.Add("id > ?", f.AfterID)
	}
	limit := f.Limit
	if limit <= 0 || limit > 1000 {
		limit = 200
	}
	rows, err := s.db.Query(ctx, `SELECT `+deviceCols+` FROM devices`+w.SQL()+` ORDER BY id LIMIT `+w.Arg(limit), w.Args()...)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	out := []*Device{}
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, db.Translate(err)
		}
		out = append(out, d)
	}
	return out, db.Translate(rows.Err())
}

// NewDevice is a device as registered. Lat/Lng place it when given;
// otherwise its owner's place does (the person's house's building, the
// house's building, the organisation's house or grid, the parking space).
type NewDevice struct {
	Type        string   `json:"type"`
	Model       string   `json:"model"`
	Serial      string   `json:"serial"`
	OwnerKind   string   `json:"owner_kind"`
	OwnerID     int64    `json:"owner_id"`
	Lat         *float64 `json:"lat,omitempty"`
	Lng         *float64 `json:"lng,omitempty"`
	InstalledOn string   `json:"installed_on"`
}

// Created is a new device with its MQTT password, shown once.
type Created struct {
	*Device
	Password string `json:"password"`
}

// placed is where a new device goes.
type placed struct {
	personID, houseID int64
	lat, lng          float64
	grid, path        string
	district          string
}

// validate checks nd's own fields into e.
func (nd *NewDevice) validate(ps Profiles, e *errs.Error) {
	nd.Type = strings.TrimSpace(nd.Type)
	nd.Model = strings.TrimSpace(nd.Model)
	nd.Serial = strings.TrimSpace(nd.Serial)
	nd.InstalledOn = strings.TrimSpace(nd.InstalledOn)
	if nd.Type == "" {
		e.Field("type", "field.required")
	} else if ps[nd.Type] == nil {
		e.Field("type", "device.err.type")
	}
	switch {
	case nd.Serial == "":
		e.Field("serial", "field.required")
	case utf8.RuneCountInString(nd.Serial) > 64:
		e.Field("serial", "field.too_long", 64)
	}
	if utf8.RuneCountInString(nd.Model) > 64 {
		e.Field("model", "field.too_long", 64)
	}
	switch nd.OwnerKind {
	case OwnerPerson, OwnerHouse, OwnerOrganisation, OwnerParkingSpace:
		if nd.OwnerID <= 0 {
			e.Field("owner_id", "field.required")
		}
	case "":
		e.Field("owner_kind", "field.required")
	default:
		e.Field("owner_kind", "device.err.owner_kind")
	}
	if (nd.Lat == nil) != (nd.Lng == nil) || nd.Lat != nil && !validPoint(*nd.Lat, *nd.Lng) {
		e.Field("lat", "device.err.position").Field("lng", "device.err.position")
	}
	if nd.InstalledOn != "" {
		if _, err := time.Parse(time.DateOnly, nd.InstalledOn); err != nil {
			e.Field("installed_on", "device.err.date")
		}
	}
}

func validPoint(lat, lng float64) bool { return lat >= -90 && lat <= 90 && lng >= -180 && lng <= 180 }

// place finds where a device of a valid nd goes, in scope: out-of-scope
// owners are reported on owner_id, as if they did not exist.
func (s *Store) place(ctx context.Context, sc account.Scope, nd *NewDevice) (*placed, error) {
	p := &placed{}
	// An owner out of scope is not found, as if it did not exist (404);
	// CreateMany turns it into its row's error.
	bad := func() error { return errs.E(errs.NotFound, "device.err.owner") }
	ownerErr := func(err error) error {
		if errs.Is(err, errs.NotFound) {
			return bad()
		}
		return err
	}
	building := func(houseID int64) error {
		h, err := s.reg.House(ctx, sc, houseID)
		if err != nil {
			return ownerErr(err)
		}
		p.houseID, p.grid, p.path = h.ID, h.GridCode, h.RegionPath
		b, err := s.reg.Building(ctx, sc, h.BuildingID)
		if err != nil {
			return ownerErr(err)
		}
		p.lat, p.lng = b.Lat, b.Lng
		return nil
	}
	switch nd.OwnerKind {
	case OwnerParkingSpace:
		sp, err := s.space(ctx, sc, nd.OwnerID)
		if err != nil {
			return nil, ownerErr(err)
		}
		p.lat, p.lng, p.grid, p.path = sp.Lat, sp.Lng, sp.GridCode, sp.RegionPath
	case OwnerPerson, OwnerHouse, OwnerOrganisation:
		if s.reg == nil {
			return nil, bad()
		}
		switch nd.OwnerKind {
		case OwnerPerson:
			pe, err := s.reg.Person(ctx, sc, nd.OwnerID)
			if err != nil {
				return nil, ownerErr(err)
			}
			p.personID, p.grid, p.path = pe.ID, pe.GridCode, pe.RegionPath
			hs, err := s.reg.HousesOf(ctx, sc, pe.ID)
			if err != nil {
				return nil, err
			}
			if len(hs) > 0 {
				if err := building(hs[0].ID); err != nil {
					return nil, err
				}
			}
		case OwnerHouse:
			if err := building(nd.OwnerID); err != nil {
				return nil, err
			}
		case OwnerOrganisation:
			o, err := s.reg.Organisation(ctx, sc, nd.OwnerID)
			if err != nil {
				return nil, ownerErr(err)
			}
			p.grid, p.path = o.GridCode, o.RegionPath
			if o.HouseID != 0 {
				if err := building(o.HouseID); err != nil {
					return nil, err
				}
			}
		}
	}
	loc := s.regions.Locator()
	if nd.Lat != nil {
		l, ok := loc.Locate(orb.Point{*nd.Lng, *nd.Lat})
		if !ok {
			return nil, errs.E(errs.Invalid, "error.invalid").Field("lat", "device.err.outside").Field("lng", "device.err.outside")
		}
		p.lat, p.lng, p.grid, p.path = *nd.Lat, *nd.Lng, l.Grid.Code, PathOf(l)
	}
	if !sc.Covers(p.path) {
		return nil, errs.E(errs.Invalid, "error.invalid").Field("lat", "device.err.outside_scope")
	}
	l, ok := loc.Grid(p.grid)
	if !ok {
		return nil, errs.E(errs.Invalid, "error.invalid").Field("owner_id", "device.err.outside")
	}
	p.district = l.At(region.District).Code
	if p.district == "" || !validToken(p.district) {
		return nil, errs.E(errs.Invalid, "error.invalid").Field("owner_id", "device.err.outside")
	}
	return p, nil
}

// validToken reports whether t is a safe subject and topic token.
func validToken(t string) bool {
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return t != ""
}

// PathOf is the materialised region path of a location.
func PathOf(loc region.Location) string {
	var b strings.Builder
	b.WriteByte('/')
	for _, r := range loc.Path {
		b.WriteString(r.Code)
		b.WriteByte('/')
	}
	return b.String()
}

// Create registers a device in scope with fresh credentials, returned once.
func (s *Store) Create(ctx context.Context, sc account.Scope, nd NewDevice) (_ *Created, err error) {
	defer errs.Wrapf(&err, "device.Store.Create")
	out, err := s.createMany(ctx, sc, []NewDevice{nd}, true)
	if err != nil {
		return nil, unprefix(err)
	}
	return out[0], nil
}

// unprefix turns the "0." field names of a one-row CreateMany into plain
// ones.
func unprefix(err error) error {
	e, ok := errs.As(err)
	if !ok || len(e.Fields) == 0 {
		return err
	}
	c := *e
	c.Fields = make(map[string]errs.Msg, len(e.Fields))
	for k, v := range e.Fields {
		c.Fields[strings.TrimPrefix(k, "0.")] = v
	}
	return &c
}

// CreateMany registers devices all or nothing: a bad row fails them all,
// each field named "<row>.<field>". Each gets fresh credentials.
func (s *Store) CreateMany(ctx context.Context, sc account.Scope, nds []NewDevice) (_ []*Created, err error) {
	defer errs.Wrapf(&err, "device.Store.CreateMany")
	return s.createMany(ctx, sc, nds, false)
}

// createMany is CreateMany; single passes an owner not found through as
// NotFound instead of a row error.
func (s *Store) createMany(ctx context.Context, sc account.Scope, nds []NewDevice, single bool) ([]*Created, error) {
	if sc.Denies() {
		return nil, notFound()
	}
	e := errs.E(errs.Invalid, "error.invalid")
	places := make([]*placed, len(nds))
	for i := range nds {
		re := errs.E(errs.Invalid, "error.invalid")
		nds[i].validate(s.Profiles, re)
		if len(re.Fields) == 0 {
			p, err := s.place(ctx, sc, &nds[i])
			if pe, ok := errs.As(err); ok && pe.Code == errs.NotFound && !single {
				re.Field("owner_id", pe.Msg.Key)
			} else if ok && pe.Code == errs.Invalid {
				re = pe
			} else if err != nil {
				return nil, err
			}
			places[i] = p
		}
		for k, v := range re.Fields {
			e.Field(strconv.Itoa(i)+"."+k, v.Key, v.Args...)
		}
	}
	if len(e.Fields) > 0 {
		return nil, e
	}
	pws := make([]string, len(nds))
	hashes := make([]string, len(nds))
	for i := range nds {
		var err error
		if pws[i], hashes[i], err = s.newSecret(); err != nil {
			return nil, err
		}
	}
	ids := make([]int64, len(nds))
	err := s.db.InTx(ctx, func(tx *db.Tx) error {
		for i, nd := range nds {
			p := places[i]
			id, err := tx.InsertID(ctx, `INSERT INTO devices (district, type, model, serial, owner_kind, owner_id, person_id, house_id, grid_code,
				region_path, lat, lng, installed_on, status, battery, secret_hash, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, 'offline', -1, $14, $15, $15) RETURNING id`,
				p.district, nd.Type, nd.Model, nd.Serial, nd.OwnerKind, nd.OwnerID, p.personID, p.houseID, p.grid, p.path, p.lat, p.lng,
				nd.InstalledOn, hashes[i], tx.Now())
			if errs.Is(db.Translate(err), errs.Conflict) {
				return errs.E(errs.Invalid, "error.invalid").Field(strconv.Itoa(i)+".serial", "device.err.duplicate")
			}
			if err != nil {
				return db.Translate(err)
			}
			ids[i] = id
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	out := make([]*Created, len(nds))
	for i, id := range ids {
		d, err := s.get(ctx, s.db, account.SystemScope(), id)
		if err != nil {
			return nil, err
		}
		out[i] = &Created{Device: d, Password: pws[i]}
	}
	return out, nil
}

// newSecret makes a random password and its hash.
func (s *Store) newSecret() (pw, hash string, err error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", "", err
	}
	pw = base64.RawURLEncoding.EncodeToString(b)
	hash, err = account.HashPassword(pw, s.hash)
	return pw, hash, err
}

// Rotate gives a device in scope a new password, returned once; the old
// one no longer connects.
func (s *Store) Rotate(ctx context.Context, sc account.Scope, id int64) (_ *Created, err error) {
	defer errs.Wrapf(&err, "device.Store.Rotate(%d)", id)
	d, err := s.get(ctx, s.db, sc, id)
	if err != nil {
		return nil, err
	}
	if d.Status == StatusRetired {
		return nil, errs.E(errs.Conflict, "device.err.retired")
	}
	pw, hash, err := s.newSecret()
	if err != nil {
		return nil, err
	}
	if err := s.exec(ctx, `UPDATE devices SET secret_hash = $1, updated_at = $2 WHERE id = $3`, hash, s.db.Now(), id); err != nil {
		return nil, err
	}
	d.hash, d.Revoked = hash, false
	return &Created{Device: d, Password: pw}, nil
}

// Revoke removes a device's credentials: it can connect no more until
// rotated. Live connections are closed by the MQTT listener's revoke hook.
func (s *Store) Revoke(ctx context.Context, sc account.Scope, id int64) (_ *Device, err error) {
	defer errs.Wrapf(&err, "device.Store.Revoke(%d)", id)
	d, err := s.get(ctx, s.db, sc, id)
	if err != nil {
		return nil, err
	}
	if err := s.exec(ctx, `UPDATE devices SET secret_hash = '', updated_at = $1 WHERE id = $2`, s.db.Now(), id); err != nil {
		return nil, err
	}
	d.hash, d.Revoked = "", true
	return d, nil
}

// Authenticate checks an MQTT user name and password: the device, when
// they match a device that is not retired or revoked; otherwise nil.
func (s *Store) Authenticate(ctx context.Context, username, password string) (_ *Device, err error) {
	defer errs.Wrapf(&err, "device.Store.Authenticate")
	id := ParseUsername(username)
	if id == 0 || password == "" {
		return nil, nil
	}
	d, err := s.get(ctx, s.db, account.SystemScope(), id)
	if errs.Is(err, errs.NotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if d.hash == "" || d.Status == StatusRetired {
		return nil, nil
	}
	ok, err := account.VerifyPassword(password, d.hash)
	if err != nil || !ok {
		return nil, nil //nolint:nilerr // a bad stored hash refuses the device like a bad password
	}
	return d, nil
}

const spaceCols = `id, code, name, grid_code, region_path, lat, lng, no_parking`

func scanSpace(r scanner) (*ParkingSpace, error) {
	var p ParkingSpace
	var np int
	if err := r.Scan(&p.ID, &p.Code, &p.Name, &p.GridCode, &p.RegionPath, &p.Lat, &p.Lng, &np); err != nil {
		return nil, err
	}
	p.NoParking = np != 0
	return &p, nil
}

// Space returns a parking space by id, whatever its scope.
func (s *Store) Space(ctx context.Context, id int64) (_ *ParkingSpace, err error) {
	defer errs.Wrapf(&err, "device.Store.Space(%d)", id)
	return s.space(ctx, account.SystemScope(), id)
}

func (s *Store) space(ctx context.Context, sc account.Scope, id int64) (*ParkingSpace, error) {
	if sc.Denies() {
		return nil, errs.E(errs.NotFound, "device.space_not_found")
	}
	var w db.Where
	w.Add("id = ?", id)
	sc.Apply(&w, account.Columns{Path: "region_path"})
	p, err := scanSpace(s.db.QueryRow(ctx, `SELECT `+spaceCols+` FROM dev_parking_spaces`+w.SQL(), w.Args()...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "device.space_not_found")
	}
	return p, db.Translate(err)
}

// Spaces lists the parking spaces in scope, by id.
func (s *Store) Spaces(ctx context.Context, sc account.Scope) (_ []*ParkingSpace, err error) {
	defer errs.Wrapf(&err, "device.Store.Spaces")
	if sc.Denies() {
		return nil, errs.E(errs.NotFound, "device.space_not_found")
	}
	var w db.Where
	sc.Apply(&w, account.Columns{Path: "region_path"})
	rows, err := s.db.Query(ctx, `SELECT `+spaceCols+` FROM dev_parking_spaces`+w.SQL()+` ORDER BY id`, w.Args()...)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	out := []*ParkingSpace{}
	for rows.Next() {
		p, err := scanSpace(rows)
		if err != nil {
			return nil, db.Translate(err)
		}
		out = append(out, p)
	}
	return out, db.Translate(rows.Err())
}

// NewSpace is a parking space as registered.
type NewSpace struct {
	Code      string  `json:"code"`
	Name      string  `json:"name"`
	Lat       float64 `json:"lat"`
	Lng       float64 `json:"lng"`
	NoParking bool    `json:"no_parking"`
}

// AddSpace registers a parking space in the grid of its point, in scope.
func (s *Store) AddSpace(ctx context.Context, sc account.Scope, ns NewSpace) (_ *ParkingSpace, err error) {
	defer errs.Wrapf(&err, "device.Store.AddSpace")
	if sc.Denies() {
		return nil, errs.E(errs.NotFound, "device.space_not_found")
	}
	e := errs.E(errs.Invalid, "error.invalid")
	ns.Code, ns.Name = strings.TrimSpace(ns.Code), strings.TrimSpace(ns.Name)
	if ns.Code == "" {
		e.Field("code", "field.required")
	} else if utf8.RuneCountInString(ns.Code) > 64 {
		e.Field("code", "field.too_long", 64)
	}
	if utf8.RuneCountInString(ns.Name) > 200 {
		e.Field("name", "field.too_long", 200)
	}
	l, ok := s.regions.Locator().Locate(orb.Point{ns.Lng, ns.Lat})
	if !validPoint(ns.Lat, ns.Lng) || !ok {
		e.Field("lat", "device.err.outside").Field("lng", "device.err.outside")
	} else if !sc.Covers(PathOf(l)) {
		e.Field("lat", "device.err.outside_scope")
	}
	if len(e.Fields) > 0 {
		return nil, e
	}
	np := 0
	if ns.NoParking {
		np = 1
	}
	var id int64
	err = s.db.InTx(ctx, func(tx *db.Tx) error {
		var err error
		id, err = tx.InsertID(ctx, `INSERT INTO dev_parking_spaces (code, name, grid_code, region_path, lat, lng, no_parking, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING id`, ns.Code, ns.Name, l.Grid.Code, PathOf(l), ns.Lat, ns.Lng, np, tx.Now())
		return err
	})
	if errs.Is(db.Translate(err), errs.Conflict) {
		return nil, errs.E(errs.Invalid, "error.invalid").Field("code", "device.err.duplicate")
	}
	if err != nil {
		return nil, db.Translate(err)
	}
	return s.space(ctx, account.SystemScope(), id)
}

// exec runs one statement in its own transaction.
func (s *Store) exec(ctx context.Context, q string, args ...any) error {
	return s.db.InTx(ctx, func(tx *db.Tx) error {
		_, err := tx.Exec(ctx, q, args...)
		return db.Translate(err)
	})
}

// CheckNewDevice validates nd's own fields (not its owner), cleaning
// them; nil when they are fine.
func CheckNewDevice(ps Profiles, nd *NewDevice) *errs.Error {
	e := errs.E(errs.Invalid, "error.invalid")
	nd.validate(ps, e)
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}

// Malformed is a device's count of refused messages per reason, for a
// device in scope.
func (s *Store) Malformed(ctx context.Context, sc account.Scope, id int64) (_ map[string]int64, err error) {
	defer errs.Wrapf(&err, "device.Store.Malformed(%d)", id)
	if _, err := s.get(ctx, s.db, sc, id); err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, `SELECT reason, n FROM dev_malformed WHERE device_id = $1`, id)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	out := map[string]int64{}
	for rows.Next() {
		var r string
		var n int64
		if err := rows.Scan(&r, &n); err != nil {
			return nil, db.Translate(err)
		}
		out[r] = n
	}
	return out, db.Translate(rows.Err())
}
