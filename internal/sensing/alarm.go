package sensing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"whistle/internal/account"
	"whistle/internal/casework"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/notify"
	"whistle/internal/timer"
	"whistle/internal/workflow"
)

// Alarm is an alarm as the API shows it.
type Alarm struct {
	ID         int64   `json:"id"`
	RuleID     int64   `json:"rule_id"`
	Type       string  `json:"type"`
	Severity   string  `json:"severity"`
	Subject    string  `json:"subject"`
	DeviceID   int64   `json:"device_id"`
	Devices    []int64 `json:"devices"`
	PersonID   int64   `json:"person_id,omitempty"`
	HouseID    int64   `json:"house_id,omitempty"`
	SpaceID    int64   `json:"space_id,omitempty"`
	District   string  `json:"district"`
	GridCode   string  `json:"grid"`
	RegionPath string  `json:"-"`
	Lat        float64 `json:"lat"`
	Lng        float64 `json:"lng"`
	Status     string  `json:"status"`
	Version    int     `json:"version"`
	Count      int     `json:"count"`
	Value      float64 `json:"value"`
	Level      int     `json:"level"`
	CaseID     int64   `json:"case_id,omitempty"`
	// RuleName and GridName name the rule and the grid for a list or the
	// big screen (filled by Alarms and Alarm).
	RuleName  string     `json:"rule_name,omitempty"`
	GridName  string     `json:"grid_name,omitempty"`
	Reason    string     `json:"close_reason,omitempty"`
	FirstAt   time.Time  `json:"first_at"`
	LastAt    time.Time  `json:"last_at"`
	ClosedAt  *time.Time `json:"closed_at,omitempty"`
	wfVersion int
}

const alarmCols = `id, rule_id, type, severity, subject, device_id, devices, person_id, house_id, space_id, district, grid_code, region_path,
	lat, lng, status, workflow_version, version, count, value, level, case_id, close_reason, first_at, last_at, closed_at`

func scanAlarm(s scanner) (*Alarm, error) {
	var a Alarm
	var devs string
	var caseID sql.NullInt64
	var first, last db.Time
	var closed db.NullTime
	if err := s.Scan(&a.ID, &a.RuleID, &a.Type, &a.Severity, &a.Subject, &a.DeviceID, &devs, &a.PersonID, &a.HouseID, &a.SpaceID,
		&a.District, &a.GridCode, &a.RegionPath, &a.Lat, &a.Lng, &a.Status, &a.wfVersion, &a.Version, &a.Count, &a.Value, &a.Level,
		&caseID, &a.Reason, &first, &last, &closed); err != nil {
		return nil, err
	}
	for _, d := range strings.Split(devs, ",") {
		if id, err := strconv.ParseInt(d, 10, 64); err == nil {
			a.Devices = append(a.Devices, id)
		}
	}
	a.CaseID = caseID.Int64
	a.FirstAt, a.LastAt = first.Time, last.Time
	if closed.Valid {
		t := closed.Time
		a.ClosedAt = &t
	}
	return &a, nil
}

// subjectOf is what one alarm is per: the person (so that the alarms of
// several devices of one person merge), else the space, else the device.
func subjectOf(src *Source) string {
	switch {
	case src.PersonID != 0:
		return "person:" + strconv.FormatInt(src.PersonID, 10)
	case src.SpaceID != 0:
		return "space:" + strconv.FormatInt(src.SpaceID, 10)
	}
	return "device:" + strconv.FormatInt(src.Device, 10)
}

// suppressed says why a firing raises no alarm now: the rule's quiet
// hours, or the person is away from home; "" if it raises one.
func (s *Service) suppressed(ctx context.Context, tx *db.Tx, r *Rule, src *Source) (string, error) {
	now := tx.Now()
	if r.QuietFrom >= 0 {
		h := now.In(s.d.Location).Hour()
		in := h >= r.QuietFrom && h < r.QuietTo
		if r.QuietFrom > r.QuietTo { // over midnight
			in = h >= r.QuietFrom || h < r.QuietTo
		}
		if in {
			return "quiet_hours", nil
		}
	}
	if src.PersonID != 0 {
		away, err := awayNow(ctx, tx, src.PersonID, now)
		if err != nil || away {
			return "away", err
		}
	}
	return "", nil
}

// fire records that rule r fired for key k of src: a suppressed firing
// is recorded only; otherwise it raises an alarm, or counts a repeat on
// the open alarm of the same type and subject.
func (s *Service) fire(ctx context.Context, tx *db.Tx, r *Rule, k string, src *Source, value float64, _ string) error {
	why, err := s.suppressed(ctx, tx, r, src)
	if err != nil {
		return err
	}
	var alarmID any
	if why == "" {
		id, err := s.raise(ctx, tx, r, src, value)
		if err != nil {
			return err
		}
		alarmID = id
	}
	_, err = tx.Exec(ctx, `INSERT INTO sensing_firings (rule_id, subject, alarm_id, suppressed, value, at) VALUES ($1, $2, $3, $4, $5, $6)`,
		r.ID, k, alarmID, why, value, tx.Now())
	return db.Translate(err)
}

// raise opens an alarm of r's type for src's subject, or counts a repeat
// on the one open, and returns its id. A new alarm starts its ladder:
// the family is told now and the case timer is armed.
func (s *Service) raise(ctx context.Context, tx *db.Tx, r *Rule, src *Source, value float64) (int64, error) {
	subject := subjectOf(src)
	openKey := r.AlarmType + "|" + subject
	now := tx.Now()
	dev := strconv.FormatInt(src.Device, 10)
	var id int64
	var devs string
	err := tx.QueryRow(ctx, `SELECT id, devices FROM sensing_alarms WHERE open_key = $1`, openKey).Scan(&id, &devs)
	switch {
	case err == nil:
		if !contains(strings.Split(devs, ","), dev) {
			devs += "," + dev
		}
		_, err = tx.Exec(ctx, `UPDATE sensing_alarms SET count = count + 1, last_at = $1, value = $2, devices = $3, updated_at = $1 WHERE id = $4`,
			now, value, devs, id)
		return id, db.Translate(err)
	case !errors.Is(err, sql.ErrNoRows):
		return 0, db.Translate(err)
	}
	def, err := s.d.Workflows.Active(ctx, KindAlarm)
	if err != nil {
		return 0, err
	}
	id, err = tx.InsertID(ctx, `INSERT INTO sensing_alarms (rule_id, type, severity, subject, device_id, devices, person_id, house_id, space_id,
		district, grid_code, region_path, lat, lng, status, open_key, workflow_version, value, first_at, last_at, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $19, $19, $19) RETURNING id`,
		r.ID, r.AlarmType, r.Severity, subject, src.Device, dev, src.PersonID, src.HouseID, src.SpaceID, src.District, src.GridCode,
		regionPath(src), src.Lat, src.Lng, def.Initial, openKey, def.Version, value, now)
	if err != nil {
		return 0, db.Translate(err)
	}
	ref := KindAlarm + ":" + strconv.FormatInt(id, 10)
	if _, err := workflow.RecordStep(ctx, tx, workflow.StepRecord{Kind: KindAlarm, SubjectID: id, Ref: ref, District: src.District,
		RegionPath: regionPath(src), Action: "raise", To: def.Initial, System: true, Actor: System().Actor(),
		Data: map[string]any{"rule": r.ID, "type": r.AlarmType, "severity": r.Severity, "value": value, "device": src.Device}}); err != nil {
		return 0, err
	}
	// The ladder's first step: tell the family now.
	n, err := s.tellFamily(ctx, tx, id, src.PersonID, r.AlarmType)
	if err != nil {
		return 0, err
	}
	if _, err := workflow.RecordStep(ctx, tx, workflow.StepRecord{Kind: KindAlarm, SubjectID: id, Ref: ref, District: src.District,
		RegionPath: regionPath(src), Action: "notify_family", From: def.Initial, To: def.Initial, System: true, Actor: System().Actor(),
		Data: map[string]any{"contacts": n}}); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `UPDATE sensing_alarms SET level = 1 WHERE id = $1`, id); err != nil {
		return 0, db.Translate(err)
	}
	return id, timer.Arm(ctx, tx, ladderKey(id, "case"), now.Add(s.d.CaseAfter), nil)
}

func regionPath(src *Source) string {
	if src.RegionPath == "" {
		return "/"
	}
	return src.RegionPath
}

func ladderKey(id int64, step string) timer.Key {
	return timer.Key{Kind: ladderTimer, Subject: strconv.FormatInt(id, 10), Name: step}
}

// tellFamily queues a message to each family contact of person about an
// alarm and returns how many it queued.
func (s *Service) tellFamily(ctx context.Context, tx *db.Tx, alarm, person int64, typ string) (int, error) {
	if person == 0 {
		return 0, nil
	}
	res, err := tx.Exec(ctx, `INSERT INTO sensing_outbox (alarm_id, phone, text, created_at)
		SELECT $1, phone, $2, $3 FROM sensing_contacts WHERE person_id = $4`,
		alarm, fmt.Sprintf("【网格通】您的家人有一条%s告警（编号%d），请尽快联系确认。", typ, alarm), tx.Now(), person)
	if err != nil {
		return 0, db.Translate(err)
	}
	n, err := res.RowsAffected()
	return int(n), db.Translate(err)
}

// AlarmInput is what a caller sends with an alarm action.
type AlarmInput struct {
	Version int    `json:"version,omitempty"`
	Note    string `json:"note,omitempty"`
	// Reason is the closing reason: real, false_alarm or resident_away
	// (away for short).
	Reason string `json:"reason,omitempty"`
}

// Has reports whether the field was sent.
func (in AlarmInput) Has(name string) bool {
	switch name {
	case "note":
		return strings.TrimSpace(in.Note) != ""
	case "reason":
		return in.Reason != ""
	}
	return false
}

// Value implements workflow.Fields: no numeric fields.
func (in AlarmInput) Value(string) (int, bool) { return 0, false }

func (in AlarmInput) validate() *errs.Error {
	e := errs.E(errs.Invalid, "error.invalid")
	if utf8.RuneCountInString(in.Note) > 1000 {
		e.Field("note", "field.too_long", 1000)
	}
	if in.Reason != "" && !contains(reasons, in.Reason) {
		e.Field("reason", "sensing.err.reason")
	}
	if in.Version < 0 {
		e.Field("version", "sensing.err.version")
	}
	if len(e.Fields) > 0 {
		return e
	}
	return nil
}

// scopedAlarms is the scope condition of the alarms: staff see their
// region's; anyone else nothing.
func scopedAlarms(c Caller) *db.Where {
	w := &db.Where{}
	if !c.IsSystem() && (c.User == nil || c.User.Disabled || !isStaff(c.User)) {
		w.Add("1 = 0")
		return w
	}
	c.Scope().Apply(w, account.Columns{Path: "region_path"})
	return w
}

func isStaff(u *account.User) bool {
	for _, r := range AlarmVocab().Roles {
		if u.Has(account.Role(r)) {
			return true
		}
	}
	return false
}

type rowQuerier interface {
	QueryRow(ctx context.Context, q string, args ...any) *sql.Row
}

func (s *Service) alarm(ctx context.Context, q rowQuerier, c Caller, id int64) (*Alarm, error) {
	w := scopedAlarms(c)
	w.Add("id = ?", id)
	a, err := scanAlarm(q.QueryRow(ctx, `SELECT `+alarmCols+` FROM sensing_alarms`+w.SQL(), w.Args()...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errs.E(errs.NotFound, "sensing.alarm_not_found")
	}
	return a, db.Translate(err)
}

// Alarm returns an alarm of the caller's scope; anything else is NotFound.
func (s *Service) Alarm(ctx context.Context, c Caller, id int64) (_ *Alarm, err error) {
	defer errs.Wrapf(&err, "sensing.Service.Alarm(%d)", id)
	a, err := s.alarm(ctx, s.d.DB, c, id)
	if err != nil {
		return nil, err
	}
	return a, s.name(ctx, []*Alarm{a})
}

// name fills the alarms' rule and grid names, in two queries.
func (s *Service) name(ctx context.Context, as []*Alarm) error {
	if len(as) == 0 {
		return nil
	}
	rules, grids := map[int64]string{}, map[string]string{}
	for _, a := range as {
		rules[a.RuleID], grids[a.GridCode] = "", ""
	}
	var w db.Where
	w.Add("id IN (" + argList(&w, mapKeys(rules)) + ")")
	rows, err := s.d.DB.Query(ctx, `SELECT id, name FROM sensing_rules`+w.SQL(), w.Args()...)
	if err != nil {
		return db.Translate(err)
	}
	for rows.Next() {
		var id int64
		var n string
		if err := rows.Scan(&id, &n); err != nil {
			rows.Close()
			return db.Translate(err)
		}
		rules[id] = n
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return db.Translate(err)
	}
	var g db.Where
	g.Add("code IN (" + argList(&g, mapKeys(grids)) + ")")
	rows, err = s.d.DB.Query(ctx, `SELECT code, name FROM regions`+g.SQL(), g.Args()...)
	if err != nil {
		return db.Translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var code, n string
		if err := rows.Scan(&code, &n); err != nil {
			return db.Translate(err)
		}
		grids[code] = n
	}
	if err := rows.Err(); err != nil {
		return db.Translate(err)
	}
	for _, a := range as {
		a.RuleName, a.GridName = rules[a.RuleID], grids[a.GridCode]
	}
	return nil
}

// argList adds vs as arguments of w and returns their placeholders,
// comma-separated.
func argList[T any](w *db.Where, vs []T) string {
	ps := make([]string, len(vs))
	for i, v := range vs {
		ps[i] = w.Arg(v)
	}
	return strings.Join(ps, ", ")
}

func mapKeys[K comparable, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

// AlarmFilter narrows a list of alarms.
type AlarmFilter struct {
	Status string // active, acknowledged, cleared; "" all
	Region string // a region node's path prefix ("" the scope)
	// RegionCode is a region node's code (the big screen's node): its
	// subtree, within the scope.
	RegionCode string
	Limit      int
}

// Alarms lists the alarms of the caller's scope, newest first.
func (s *Service) Alarms(ctx context.Context, c Caller, f AlarmFilter) (_ []*Alarm, err error) {
	defer errs.Wrapf(&err, "sensing.Service.Alarms")
	w := scopedAlarms(c)
	if f.Status != "" {
		if !contains([]string{"active", "acknowledged", "cleared"}, f.Status) {
			return nil, errs.E(errs.Invalid, "error.invalid").Field("status", "sensing.err.status")
		}
		w.Add("status = ?", f.Status)
	}
	if f.RegionCode != "" {
		path, err := s.pathOf(ctx, f.RegionCode)
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errs.E(errs.Invalid, "error.invalid").Field("region", "sensing.err.region", f.RegionCode)
		}
		if err != nil {
			return nil, err
		}
		f.Region = path
	}
	if f.Region != "" {
		w.Add("region_path >= ?", f.Region)
		w.Add("region_path < ?", db.PathUpper(f.Region))
	}
	if f.Limit <= 0 || f.Limit > 500 {
		f.Limit = 200
	}
	rows, err := s.d.DB.Query(ctx, `SELECT `+alarmCols+` FROM sensing_alarms`+w.SQL()+` ORDER BY id DESC LIMIT `+strconv.Itoa(f.Limit), w.Args()...)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	var out []*Alarm
	for rows.Next() {
		a, err := scanAlarm(rows)
		if err != nil {
			return nil, db.Translate(err)
		}
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, db.Translate(err)
	}
	return out, s.name(ctx, out)
}

// Timeline returns the steps of an alarm of the caller's scope.
func (s *Service) Timeline(ctx context.Context, c Caller, id int64) (_ []workflow.Step, err error) {
	defer errs.Wrapf(&err, "sensing.Service.Timeline(%d)", id)
	if _, err := s.alarm(ctx, s.d.DB, c, id); err != nil {
		return nil, err
	}
	return workflow.Steps(ctx, s.d.DB, KindAlarm, id)
}

// Act takes action on an alarm of the caller's scope: acknowledge, or
// clear with a reason.
func (s *Service) Act(ctx context.Context, c Caller, id int64, action string, in AlarmInput) (_ *Alarm, err error) {
	defer errs.Wrapf(&err, "sensing.Service.Act(%d, %s)", id, action)
	err = s.d.DB.InTx(ctx, func(tx *db.Tx) error { return s.act(ctx, tx, c, id, action, in) })
	if err != nil {
		return nil, err
	}
	return s.alarm(ctx, s.d.DB, c, id)
}

// act takes one step on an alarm inside tx: the workflow's check, the
// effects, the row's new state and version, the timeline, audit entry and
// feed event.
func (s *Service) act(ctx context.Context, tx *db.Tx, c Caller, id int64, action string, in AlarmInput) error {
	a, err := s.alarm(ctx, tx, c, id)
	if err != nil {
		return err
	}
	if in.Reason == "away" { // the short form of resident_away
		in.Reason = ReasonAway
	}
	if e := in.validate(); e != nil {
		return e
	}
	def, err := s.d.Workflows.Get(ctx, KindAlarm, a.wfVersion)
	if err != nil {
		return err
	}
	p, err := def.Plan(action, a.Status, "", noAttrs{}, in, acting{c: c})
	if err != nil {
		return err
	}
	if in.Version != 0 && in.Version != a.Version {
		return errs.E(errs.Conflict, "workflow.step.stale", a.Version).WithReason("stale_version")
	}
	data := map[string]any{}
	var private map[string]any
	level := a.Level
	sets := []string{}
	for _, eff := range p.Action.Effects {
		switch eff {
		case "stop_ladder", "close":
			if _, err := timer.CancelSubject(ctx, tx, ladderTimer, strconv.FormatInt(id, 10)); err != nil {
				return err
			}
			if eff == "close" {
				sets = append(sets, "close_reason = '"+in.Reason+"'", "open_key = NULL") // reason checked against the list above
				data["reason"] = in.Reason
			}
		case "open_case":
			level = 2
			sets = append(sets, "case_pending = 1")
			if err := timer.Arm(ctx, tx, ladderKey(id, "street"), tx.Now().Add(s.d.StreetAfter), nil); err != nil {
				return err
			}
		case "escalate_street":
			level = 3
			street := streetOf(a.RegionPath)
			ids, err := account.UsersWithRole(ctx, tx, account.StreetStaff, account.UnderPath(street))
			if err != nil {
				return err
			}
			data["street"] = strings.Trim(street[strings.LastIndexByte(strings.TrimSuffix(street, "/"), '/')+1:], "/")
			private = map[string]any{"notify": ids}
		}
	}
	next, _ := def.State(p.Next)
	q := `UPDATE sensing_alarms SET status = $1, level = $2, updated_at = $3, version = version + 1`
	if len(sets) > 0 {
		q += ", " + strings.Join(sets, ", ")
	}
	args := []any{p.Next, level, tx.Now(), id, a.Version}
	if next.Terminal {
		q += ", closed_at = $3"
	}
	res, err := tx.Exec(ctx, q+` WHERE id = $4 AND version = $5`, args...)
	if err != nil {
		return db.Translate(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return db.Translate(err)
	} else if n == 0 {
		return errs.E(errs.Conflict, "workflow.step.stale", a.Version).WithReason("stale_version")
	}
	role := ""
	if !p.Relation {
		role = p.By
	}
	_, err = workflow.RecordStep(ctx, tx, workflow.StepRecord{Kind: KindAlarm, SubjectID: id, Ref: KindAlarm + ":" + strconv.FormatInt(id, 10),
		District: a.District, RegionPath: a.RegionPath, Action: action, From: a.Status, To: p.Next, Role: role, Actor: c.Actor(), UserID: c.UserID(), System: c.IsSystem(),
		Note: strings.TrimSpace(in.Note), Data: data, Private: private})
	return err
}

// streetOf is the path of the street above a grid's path (its first
// three codes: district, street; or the path itself when shorter).
func streetOf(path string) string {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	if len(parts) > 2 {
		parts = parts[:2]
	}
	return "/" + strings.Join(parts, "/") + "/"
}

// ladderDue takes the ladder's system steps: the case after M minutes
// without acknowledgement, the street after K more.
func (s *Service) ladderDue(ctx context.Context, tx *db.Tx, t timer.Timer) error {
	id, err := strconv.ParseInt(t.Subject, 10, 64)
	if err != nil {
		return nil
	}
	action := "open_case"
	if t.Name == "street" {
		action = "escalate_street"
	}
	err = s.act(ctx, tx, System(), id, action, AlarmInput{})
	if errs.Is(err, errs.Conflict) || errs.Is(err, errs.NotFound) {
		return nil // acknowledged or cleared meanwhile: the step is moot
	}
	return err
}

// OpenCases opens the case of every alarm whose ladder reached it, through
// casework.Service.Submit with a key per alarm (a retry replays the same
// case), and links it to the alarm. It runs outside the timer's
// transaction: Submit writes in its own. It returns how many it linked.
func (s *Service) OpenCases(ctx context.Context) (n int, err error) {
	defer errs.Wrapf(&err, "sensing.Service.OpenCases")
	if s.d.Cases == nil {
		return 0, nil
	}
	rows, err := s.d.DB.Query(ctx, `SELECT `+alarmCols+` FROM sensing_alarms WHERE case_pending = 1 ORDER BY id LIMIT 100`)
	if err != nil {
		return 0, db.Translate(err)
	}
	defer rows.Close()
	var as []*Alarm
	for rows.Next() {
		a, err := scanAlarm(rows)
		if err != nil {
			return 0, db.Translate(err)
		}
		as = append(as, a)
	}
	if err := rows.Err(); err != nil {
		return 0, db.Translate(err)
	}
	n, err = s.openParkingCases(ctx)
	if err != nil {
		return n, err
	}
	for _, a := range as {
		lat, lng := a.Lat, a.Lng
		desc := fmt.Sprintf("设备告警（%s）未获确认：告警编号 %d，设备 %d，共 %d 次。请上门查看。", a.Type, a.ID, a.DeviceID, a.Count)
		fields := map[string]string{}
		c, _, err := s.d.Cases.Submit(ctx, casework.Caller{System: true}, casework.SubmitInput{Category: s.d.CareCategory,
			Description: desc, Lat: &lat, Lng: &lng, Source: "sensor", Visibility: "private", Fields: fields,
			IdempotencyKey: "sensing-alarm-" + strconv.FormatInt(a.ID, 10)})
		if err != nil {
			s.d.Logger.Warn("sensing: alarm case", "alarm", a.ID, "err", err)
			continue
		}
		err = s.d.DB.InTx(ctx, func(tx *db.Tx) error {
			// A replayed opening of the case already linked records nothing.
			res, err := tx.Exec(ctx, `UPDATE sensing_alarms SET case_pending = 0 WHERE id = $2 AND case_pending = 1 AND case_id = $1`, c.ID, a.ID)
			if err != nil {
				return db.Translate(err)
			}
			if k, _ := res.RowsAffected(); k > 0 {
				return nil
			}
			res, err = tx.Exec(ctx, `UPDATE sensing_alarms SET case_id = $1, case_pending = 0 WHERE id = $2 AND case_pending = 1`, c.ID, a.ID)
			if err != nil {
				return db.Translate(err)
			}
			if k, _ := res.RowsAffected(); k == 0 {
				return nil
			}
			data := map[string]any{"case": c.Number, "case_id": c.ID, "person": a.PersonID, "house": a.HouseID}
			// The grid worker's visit comes with the case, committed with
			// its link: a retried opening finds both or neither.
			if s.d.Visits != nil && a.PersonID != 0 {
				brief := fmt.Sprintf("设备告警（%s）未获确认，请上门查看 · Device alarm (%s) unacknowledged: visit the resident", a.Type, a.Type)
				task, err := s.d.Visits.FollowUp(ctx, tx, a.PersonID, c.ID, tx.Now().Add(s.d.VisitWithin), brief)
				if err != nil {
					return err
				}
				if task != 0 {
					data["visit_task"] = task
				}
			}
			_, err = workflow.RecordStep(ctx, tx, workflow.StepRecord{Kind: KindAlarm, SubjectID: a.ID, Ref: KindAlarm + ":" + strconv.FormatInt(a.ID, 10),
				District: a.District, RegionPath: a.RegionPath, Action: "case_opened", From: a.Status, To: a.Status, System: true, Actor: System().Actor(),
				Data: data})
			return err
		})
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Deliver sends the queued outbound messages through the channel (each
// once; a failure is tried again on the next round) and returns how many
// it sent.
func (s *Service) Deliver(ctx context.Context) (n int, err error) {
	defer errs.Wrapf(&err, "sensing.Service.Deliver")
	type msg struct {
		id          int64
		phone, text string
	}
	rows, err := s.d.DB.Query(ctx, `SELECT id, phone, text FROM sensing_outbox WHERE sent_at IS NULL AND attempts < 10 ORDER BY id LIMIT 100`)
	if err != nil {
		return 0, db.Translate(err)
	}
	defer rows.Close()
	var ms []msg
	for rows.Next() {
		var m msg
		if err := rows.Scan(&m.id, &m.phone, &m.text); err != nil {
			return 0, db.Translate(err)
		}
		ms = append(ms, m)
	}
	if err := rows.Err(); err != nil {
		return 0, db.Translate(err)
	}
	for _, m := range ms {
		var sendErr error
		if s.d.Channel != nil && m.phone != "" {
			sendErr = s.d.Channel.Send(ctx, notify.Address{Phone: m.phone}, "网格通告警", m.text)
		} else {
			s.d.Logger.Info("sensing: outbound message (logged)", "phone", m.phone, "text", m.text)
		}
		q := `UPDATE sensing_outbox SET sent_at = $1, attempts = attempts + 1 WHERE id = $2`
		if sendErr != nil {
			q = `UPDATE sensing_outbox SET attempts = attempts + 1 WHERE id = $2 AND $1 = $1`
		}
		if err := s.d.DB.InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, q, tx.Now(), m.id)
			return db.Translate(err)
		}); err != nil {
			return n, err
		}
		if sendErr == nil {
			n++
		}
	}
	return n, nil
}

// Run keeps the ladder's cases and the outbound messages moving until ctx
// ends.
func (s *Service) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if _, err := s.OpenCases(ctx); err != nil && ctx.Err() == nil {
			s.d.Logger.Warn("sensing: open cases", "err", err)
		}
		if _, err := s.Deliver(ctx); err != nil && ctx.Err() == nil {
			s.d.Logger.Warn("sensing: deliver", "err", err)
		}
		if _, err := s.active(ctx); err != nil && ctx.Err() == nil {
			s.d.Logger.Warn("sensing: rules", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
