package sensing

import (
	"context"

	"whistle/internal/db"
	"whistle/internal/device"
)

// Devices finds a device and a parking space (*device.Store).
type Devices interface {
	Space(ctx context.Context, id int64) (*device.ParkingSpace, error)
	Get(ctx context.Context, id int64) (*device.Device, error)
}

// Sink is the engine as the device ingest's sink: it runs the rules over
// each committed batch inside the ingest transaction.
type Sink struct {
	s      *Service
	spaces Devices
}

// Sink returns the engine as a device.Sink; spaces tells a parking
// sensor's space (no-parking or not). Unless Deps.Resolve was given, the
// silences resolve their devices through spaces too: call Sink before
// the runner runs.
func (s *Service) Sink(spaces Devices) *Sink {
	k := &Sink{s: s, spaces: spaces}
	if s.d.Resolve == nil && spaces != nil {
		s.d.Resolve = k.Resolve
	}
	return k
}

var _ device.Sink = (*Sink)(nil)

// Readings implements device.Sink.
func (k *Sink) Readings(ctx context.Context, tx *db.Tx, devs map[int64]*device.Device, rs []device.Reading) error {
	srcs := make(map[int64]*Source, len(devs))
	out := make([]Reading, 0, len(rs))
	for _, r := range rs {
		src, ok := srcs[r.Device]
		if !ok {
			d := devs[r.Device]
			if d == nil {
				continue
			}
			var err error
			if src, err = k.source(ctx, d); err != nil {
				return err
			}
			srcs[r.Device] = src
		}
		out = append(out, Reading{Source: src, TS: r.TS, Values: r.Values, Text: r.Text})
	}
	return k.s.Evaluate(ctx, tx, out)
}

// Resolve is Deps.Resolve on the device registry: a silent device's
// Source.
func (k *Sink) Resolve(ctx context.Context, _ *db.Tx, id int64) (*Source, error) {
	d, err := k.spaces.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	return k.source(ctx, d)
}

func (k *Sink) source(ctx context.Context, d *device.Device) (*Source, error) {
	src := &Source{Device: d.ID, Type: d.Type, District: d.District, PersonID: d.PersonID, HouseID: d.HouseID,
		GridCode: d.GridCode, RegionPath: d.RegionPath, Lat: d.Lat, Lng: d.Lng}
	if d.OwnerKind == "parking_space" {
		src.SpaceID = d.OwnerID
		if k.spaces != nil {
			sp, err := k.spaces.Space(ctx, d.OwnerID)
			if err != nil {
				return nil, err
			}
			src.NoParking = sp.NoParking
		}
	}
	return src, nil
}
