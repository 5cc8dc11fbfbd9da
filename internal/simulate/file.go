package simulate

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// fileHeader is the first line of a devices file.
var fileHeader = []string{"id", "type", "district", "username", "password", "scenario"}

// WriteDevices writes ds as a devices file: CSV with the header id, type,
// district, username, password, scenario. It holds the MQTT passwords:
// keep it like any secret.
func WriteDevices(w io.Writer, ds []Device) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(fileHeader); err != nil {
		return err
	}
	for _, d := range ds {
		if err := cw.Write([]string{strconv.FormatInt(d.ID, 10), d.Type, d.District, d.Username, d.Password, d.Scenario}); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// ReadDevices reads a devices file (WriteDevices' format, or one made by
// hand from the answers of POST /api/v1/devices, which show each device's
// username and password once). An empty scenario is the type's plain one
// (water, watch, parking). Any bad row fails the whole file, naming its
// line.
func ReadDevices(r io.Reader) ([]Device, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = len(fileHeader)
	head, err := cr.Read()
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("devices file: empty")
		}
		return nil, fmt.Errorf("devices file: %w", err)
	}
	if !slices.Equal(head, fileHeader) {
		return nil, fmt.Errorf("devices file: the header must be %s", strings.Join(fileHeader, ","))
	}
	var out []Device
	seen := map[int64]bool{}
	for line := 2; ; line++ {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("devices file: %w", err)
		}
		d, err := parseDevice(rec)
		if err != nil {
			return nil, fmt.Errorf("devices file, line %d: %w", line, err)
		}
		if seen[d.ID] {
			return nil, fmt.Errorf("devices file, line %d: device %d twice", line, d.ID)
		}
		seen[d.ID] = true
		out = append(out, d)
	}
	if len(out) == 0 {
		return nil, errors.New("devices file: no devices")
	}
	return out, nil
}

func parseDevice(rec []string) (Device, error) {
	id, err := strconv.ParseInt(rec[0], 10, 64)
	if err != nil || id <= 0 {
		return Device{}, fmt.Errorf("id %q is not a device id", rec[0])
	}
	d := Device{ID: id, Type: rec[1], District: rec[2], Username: rec[3], Password: rec[4], Scenario: rec[5]}
	if d.Scenario == "" {
		d.Scenario = map[string]string{"water_meter": Water, "smart_watch": Watch, "parking_sensor": Parking}[d.Type]
	}
	switch {
	case !slices.Contains(Scenarios, d.Scenario):
		return Device{}, fmt.Errorf("unknown scenario %q (one of %s)", rec[5], strings.Join(Scenarios, ", "))
	case TypeOf(d.Scenario) != d.Type:
		return Device{}, fmt.Errorf("a %s cannot play %s", d.Type, d.Scenario)
	case !token(d.District):
		return Device{}, fmt.Errorf("district %q is not a topic level", d.District)
	case d.Username == "" || d.Password == "":
		return Device{}, errors.New("the username and the password are required")
	case strings.ContainsAny(d.Username+d.Password, "\x00\r\n"):
		return Device{}, errors.New("the username or the password holds a control character")
	}
	return d, nil
}

// token reports whether t can stand as one topic level.
func token(t string) bool {
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-') {
			return false
		}
	}
	return t != ""
}
