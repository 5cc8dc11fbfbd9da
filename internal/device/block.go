package device

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"time"

	"whistle/internal/db"
	"whistle/internal/errs"
)

// A block is the readings of one committed batch that came without a
// stream sequence (a gateway's POST /api/v1/telemetry), stored as one row
// of dev_reading_blocks: data is a JSON array with an element a reading,
//
//	[device, ts, {"v":{…},"t":{…}}]             received at the block's received_at
//	[device, ts, {"v":{…},"t":{…}}, received]   received at another time
//
// ts and received in Unix microseconds, the third element as a row's data
// in dev_readings (readingData). One row a batch instead of a row and
// three index entries a reading: what lets the ingest keep up with
// gateways (docs/DECISIONS.md, "A gateway's batch of readings is one
// row").

// encodeBlock writes rs as a block's data, received at received, and
// returns it with the earliest and latest ts.
func encodeBlock(rs []Reading, received time.Time) (data []byte, tsMin, tsMax time.Time, err error) {
	b := make([]byte, 0, 64*len(rs))
	b = append(b, '[')
	for i, r := range rs {
		if i == 0 || r.TS.Before(tsMin) {
			tsMin = r.TS
		}
		if i == 0 || r.TS.After(tsMax) {
			tsMax = r.TS
		}
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '[')
		b = strconv.AppendInt(b, r.Device, 10)
		b = append(b, ',')
		b = strconv.AppendInt(b, r.TS.UnixMicro(), 10)
		b = append(b, ',')
		d, err := readingData(r.Values, r.Text)
		if err != nil {
			return nil, tsMin, tsMax, err
		}
		b = append(b, d...)
		if !r.Received.Equal(received) {
			b = append(b, ',')
			b = strconv.AppendInt(b, r.Received.UnixMicro(), 10)
		}
		b = append(b, ']')
	}
	return append(b, ']'), tsMin, tsMax, nil
}

// decodeBlock reads a block's data back, appending to out the readings of
// device (every device when 0).
func decodeBlock(data []byte, received time.Time, device int64, out []Reading) ([]Reading, error) {
	var elems [][]json.RawMessage
	if err := json.Unmarshal(data, &elems); err != nil {
		return out, fmt.Errorf("device block: %w", err)
	}
	for i, e := range elems {
		if len(e) != 3 && len(e) != 4 {
			return out, fmt.Errorf("device block: reading %d has %d elements, want 3 or 4", i, len(e))
		}
		var dev, ts, rec int64
		if err := json.Unmarshal(e[0], &dev); err != nil {
			return out, fmt.Errorf("device block: reading %d's device: %w", i, err)
		}
		if device != 0 && dev != device {
			continue
		}
		if err := json.Unmarshal(e[1], &ts); err != nil {
			return out, fmt.Errorf("device block: reading %d's time: %w", i, err)
		}
		r := Reading{Device: dev, TS: time.UnixMicro(ts).UTC(), Received: received}
		if len(e) == 4 {
			if err := json.Unmarshal(e[3], &rec); err != nil {
				return out, fmt.Errorf("device block: reading %d's receipt: %w", i, err)
			}
			r.Received = time.UnixMicro(rec).UTC()
		}
		if err := decodeReadingData(e[2], &r); err != nil {
			return out, fmt.Errorf("device block: reading %d: %w", i, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// decodeReadingData reads readingData's {"v":{…},"t":{…}} into r.
func decodeReadingData(data []byte, r *Reading) error {
	var v struct {
		V map[string]float64 `json:"v"`
		T map[string]string  `json:"t"`
	}
	if err := json.Unmarshal(data, &v); err != nil {
		return err
	}
	r.Values, r.Text = v.V, v.T
	return nil
}

// RawReadings returns the raw readings stored with ts in [from, to), of
// device id (every device when 0), in ts order (then device and receipt):
// its MQTT messages' rows and its readings in the gateways' blocks, until
// the retention prunes them. For evidence and for checks; the trends read
// the aggregates.
func (s *Store) RawReadings(ctx context.Context, id int64, from, to time.Time) (_ []Reading, err error) {
	defer errs.Wrapf(&err, "device.Store.RawReadings(%d)", id)
	var out []Reading
	q := `SELECT device_id, ts, received_at, data FROM dev_readings WHERE ts >= $1 AND ts < $2`
	args := []any{from.UTC(), to.UTC()}
	if id != 0 {
		q += ` AND device_id = $3`
		args = append(args, id)
	}
	rows, err := s.db.Query(ctx, q, args...)
	if err != nil {
		return nil, db.Translate(err)
	}
	for rows.Next() {
		var r Reading
		var ts, rec db.Time
		var data string
		if err := rows.Scan(&r.Device, &ts, &rec, &data); err != nil {
			rows.Close()
			return nil, db.Translate(err)
		}
		r.TS, r.Received = ts.Time, rec.Time
		if err := decodeReadingData([]byte(data), &r); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading of device %d at %v: %w", r.Device, r.TS, err)
		}
		out = append(out, r)
	}
	err = rows.Err()
	rows.Close()
	if err != nil {
		return nil, db.Translate(err)
	}
	rows, err = s.db.Query(ctx, `SELECT id, received_at, data FROM dev_reading_blocks WHERE ts_max >= $1 AND ts_min < $2 ORDER BY id`, from.UTC(), to.UTC())
	if err != nil {
		return nil, db.Translate(err)
	}
	defer rows.Close()
	for rows.Next() {
		var bid int64
		var rec db.Time
		var data string
		if err := rows.Scan(&bid, &rec, &data); err != nil {
			return nil, db.Translate(err)
		}
		n := len(out)
		if out, err = decodeBlock([]byte(data), rec.Time, id, out); err != nil {
			return nil, fmt.Errorf("block %d: %w", bid, err)
		}
		// The block spans more than [from, to) when its readings do.
		kept := out[:n]
		for _, r := range out[n:] {
			if !r.TS.Before(from) && r.TS.Before(to) {
				kept = append(kept, r)
			}
		}
		out = kept
	}
	if err := rows.Err(); err != nil {
		return nil, db.Translate(err)
	}
	slices.SortStableFunc(out, func(a, b Reading) int {
		if c := a.TS.Compare(b.TS); c != 0 {
			return c
		}
		if a.Device != b.Device {
			if a.Device < b.Device {
				return -1
			}
			return 1
		}
		return a.Received.Compare(b.Received)
	})
	return out, nil
}
