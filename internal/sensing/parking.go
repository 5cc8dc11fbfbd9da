package sensing

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"time"

	"whistle/internal/casework"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/timer"
)

// parking keeps a space's stays from its sensor's occupied flag: a stay
// opens when the space becomes occupied and ends when it is vacant again.
// On a no-parking space, a stay arms the ladder: a warning at WarnAfter
// and an enforcement case at EnforceAfter, both cancelled when the car
// leaves first.
func (s *Service) parking(ctx context.Context, tx *db.Tx, src *Source, occupied bool, at time.Time) error {
	var id int64
	var start db.Time
	err := tx.QueryRow(ctx, `SELECT id, start_at FROM sensing_stays WHERE space_id = $1 AND end_at IS NULL`, src.SpaceID).Scan(&id, &start)
	open := err == nil
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return db.Translate(err)
	}
	at = at.UTC().Truncate(time.Microsecond)
	switch {
	case occupied && !open:
		id, err = tx.InsertID(ctx, `INSERT INTO sensing_stays (space_id, no_parking, region_path, district, lat, lng, start_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`, src.SpaceID, boolInt(src.NoParking), regionPath(src), src.District, src.Lat, src.Lng, at)
		if err != nil {
			return db.Translate(err)
		}
		if !src.NoParking {
			return nil
		}
		return timer.ArmMany(ctx, tx, []timer.Arming{
			{Key: stayKey(id, "warn"), Due: at.Add(s.d.WarnAfter)},
			{Key: stayKey(id, "enforce"), Due: at.Add(s.d.EnforceAfter)}})
	case !occupied && open:
		if at.Before(start.Time) {
			at = start.Time
		}
		if _, err := tx.Exec(ctx, `UPDATE sensing_stays SET end_at = $1 WHERE id = $2`, at, id); err != nil {
			return db.Translate(err)
		}
		_, err := timer.CancelSubject(ctx, tx, parkingTimer, strconv.FormatInt(id, 10))
		return err
	}
	return nil
}

func stayKey(id int64, step string) timer.Key {
	return timer.Key{Kind: parkingTimer, Subject: strconv.FormatInt(id, 10), Name: step}
}

// parkingDue takes a parking ladder's step, if the stay goes on: the
// warning through the outbound channel, or the enforcement case (opened
// by OpenCases, outside this transaction).
func (s *Service) parkingDue(ctx context.Context, tx *db.Tx, t timer.Timer) error {
	id, err := strconv.ParseInt(t.Subject, 10, 64)
	if err != nil {
		return nil
	}
	var space int64
	var ended db.NullTime
	err = tx.QueryRow(ctx, `SELECT space_id, end_at FROM sensing_stays WHERE id = $1`, id).Scan(&space, &ended)
	if errors.Is(err, sql.ErrNoRows) || ended.Valid {
		return nil
	}
	if err != nil {
		return db.Translate(err)
	}
	if t.Name == "warn" {
		if _, err := tx.Exec(ctx, `UPDATE sensing_stays SET warned = 1 WHERE id = $1`, id); err != nil {
			return db.Translate(err)
		}
		_, err = tx.Exec(ctx, `INSERT INTO sensing_outbox (space_id, text, created_at) VALUES ($1, $2, $3)`, space,
			fmt.Sprintf("【违停预警】禁停车位 %d 已被占用超过 %d 分钟，请尽快驶离，否则将依法处理。", space, int(s.d.WarnAfter.Minutes())), tx.Now())
		return db.Translate(err)
	}
	_, err = tx.Exec(ctx, `UPDATE sensing_stays SET case_pending = 1 WHERE id = $1`, id)
	return db.Translate(err)
}

// openParkingCases opens the enforcement case of every stay whose ladder
// reached it (a key per stay: a retry replays the same case), with the
// dwell as evidence.
func (s *Service) openParkingCases(ctx context.Context) (int, error) {
	type stay struct {
		id, space int64
		lat, lng  float64
		start     db.Time
	}
	rows, err := s.d.DB.Query(ctx, `SELECT id, space_id, lat, lng, start_at FROM sensing_stays WHERE case_pending = 1 ORDER BY id LIMIT 100`)
	if err != nil {
		return 0, db.Translate(err)
	}
	defer rows.Close()
	var ss []stay
	for rows.Next() {
		var st stay
		if err := rows.Scan(&st.id, &st.space, &st.lat, &st.lng, &st.start); err != nil {
			return 0, db.Translate(err)
		}
		ss = append(ss, st)
	}
	if err := rows.Err(); err != nil {
		return 0, db.Translate(err)
	}
	n := 0
	for _, st := range ss {
		lat, lng := st.lat, st.lng
		dwell := s.d.DB.Now().Sub(st.start.Time).Round(time.Second)
		c, _, err := s.d.Cases.Submit(ctx, casework.Caller{System: true}, casework.SubmitInput{Category: s.d.ParkingCategory,
			Description: fmt.Sprintf("禁停车位 %d 违停：自 %s 起已停 %s（传感器记录），预警后仍未驶离。", st.space,
				st.start.In(s.d.Location).Format("2006-01-02 15:04:05"), dwell),
			Lat: &lat, Lng: &lng, Source: "sensor", Visibility: "private",
			Fields:         map[string]string{},
			IdempotencyKey: "sensing-stay-" + strconv.FormatInt(st.id, 10)})
		if err != nil {
			s.d.Logger.Warn("sensing: parking case", "stay", st.id, "err", err)
			continue
		}
		err = s.d.DB.InTx(ctx, func(tx *db.Tx) error {
			_, err := tx.Exec(ctx, `UPDATE sensing_stays SET case_id = $1, case_pending = 0 WHERE id = $2`, c.ID, st.id)
			return db.Translate(err)
		})
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// Stay is a parking stay, for tests and the evidence.
type Stay struct {
	ID      int64
	SpaceID int64
	Start   time.Time
	End     *time.Time
	Warned  bool
	CaseID  int64
}

// Stays returns a space's stays, oldest first.
func (s *Service) Stays(ctx context.Context, space int64) (_ []Stay, err error) {
	defer errs.Wrapf(&err, "sensing.Service.Stays(%d)", space)
	rows, err := s.d.DB.Query(ctx, `SELECT id, space_id, start_at, end_at, warned, case_id FROM sensing_stays WHERE space_id = $1 ORDER BY id`, space)
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	var out []Stay
	for rows.Next() {
		var st Stay
		var start db.Time
		var end db.NullTime
		var warned int
		var cid sql.NullInt64
		if err := rows.Scan(&st.ID, &st.SpaceID, &start, &end, &warned, &cid); err != nil {
			return nil, db.Translate(err)
		}
		st.Start, st.Warned, st.CaseID = start.Time, warned == 1, cid.Int64
		if end.Valid {
			e := end.Time
			st.End = &e
		}
		out = append(out, st)
	}
	return out, db.Translate(rows.Err())
}
