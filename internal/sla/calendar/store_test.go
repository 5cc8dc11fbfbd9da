package calendar

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
)

// admin is the actor of the changes the tests make.
func adminActor() audit.Actor { return audit.Actor{Name: "admin", IP: "127.0.0.1"} }

func fakeClock() *clock.Fake { return clock.NewFake(time.Date(2026, 11, 20, 2, 0, 0, 0, time.UTC)) }

func auditCount(t *testing.T, d *db.DB, action string) int {
	t.Helper()
	es, err := audit.List(context.Background(), d, audit.Filter{Action: action})
	if err != nil {
		t.Fatal(err)
	}
	return len(es)
}

func mustParse(t *testing.T, format, in string) []Day {
	t.Helper()
	days, err := ParseImport(format, strings.NewReader(in))
	if err != nil {
		t.Fatalf("ParseImport(%s): %v", format, err)
	}
	return days
}

func TestStoreSeedAndLoad(t *testing.T) {
	dbtest.Each(t, fakeClock(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := NewStore(d)

		// Before seeding: no days, default hours, provisional holidays
		// (Monday to Friday otherwise).
		empty, err := s.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if empty.Covers(2025) || !empty.IsProvisional(2025) || empty.IsWorkday(D(2025, 10, 1)) || !empty.IsWorkday(D(2025, 10, 8)) {
			t.Errorf("unseeded calendar: Covers(2025) = %v, IsProvisional(2025) = %v, IsWorkday(2025-10-01) = %v, IsWorkday(2025-10-08) = %v; want false, true, false, true",
				empty.Covers(2025), empty.IsProvisional(2025), empty.IsWorkday(D(2025, 10, 1)), empty.IsWorkday(D(2025, 10, 8)))
		}

		n, err := s.SeedDefaults(ctx, audit.System("test"))
		if err != nil {
			t.Fatal(err)
		}
		official, _ := Official()
		if n != len(official) {
			t.Errorf("SeedDefaults wrote %d days, want %d", n, len(official))
		}
		again, err := s.SeedDefaults(ctx, audit.System("test"))
		if err != nil || again != 0 {
			t.Errorf("second SeedDefaults = %d, %v; want 0, nil", again, err)
		}
		if got := auditCount(t, d, "calendar.seed"); got != 1 {
			t.Errorf("calendar.seed audit entries = %d, want 1", got)
		}

		c, err := s.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		want := defaultCal(t)
		for day := D(2025, 1, 1); day.Year <= 2026; day = day.AddDays(1) {
			if c.IsWorkday(day) != want.IsWorkday(day) {
				t.Errorf("loaded IsWorkday(%s) = %v, embedded %v", day, c.IsWorkday(day), want.IsWorkday(day))
			}
		}
		if got, w := c.WorkHours().String(), DefaultWorkHoursSpec; got != w {
			t.Errorf("loaded work hours = %q, want %q", got, w)
		}
		days, err := s.Days(ctx, 2025)
		if err != nil {
			t.Fatal(err)
		}
		if len(days) != 33 || days[0].Date != D(2025, 1, 1) || days[0].Name != "元旦" || !strings.Contains(days[0].Source, "国办发明电〔2024〕12号") {
			t.Errorf("Days(2025) = %d days starting %+v; want 33 starting 2025-01-01 元旦 from 国办发明电〔2024〕12号", len(days), days[0])
		}
	})
}

func TestStoreSeedSkipsEditedYears(t *testing.T) {
	dbtest.Each(t, fakeClock(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := NewStore(d)
		// An administrator set one 2025 day before the first seeding:
		// 2025 is theirs, 2026 still comes from the embedded schedule.
		if err := s.SetDay(ctx, adminActor(), D(2025, 12, 31), Holiday, "区级调休"); err != nil {
			t.Fatal(err)
		}
		n, err := s.SeedDefaults(ctx, audit.System("test"))
		if err != nil {
			t.Fatal(err)
		}
		if n != 39 {
			t.Errorf("SeedDefaults wrote %d days, want 39 (2026 only)", n)
		}
		d25, _ := s.Days(ctx, 2025)
		if len(d25) != 1 {
			t.Errorf("Days(2025) = %d, want the 1 edited day", len(d25))
		}
	})
}

func TestStoreSetAndDeleteDay(t *testing.T) {
	dbtest.Each(t, fakeClock(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := NewStore(d)
		if _, err := s.SeedDefaults(ctx, adminActor()); err != nil {
			t.Fatal(err)
		}
		day := D(2025, 12, 31) // a Wednesday
		if err := s.SetDay(ctx, adminActor(), day, Holiday, " 测试休息日 "); err != nil {
			t.Fatal(err)
		}
		c, _ := s.Load(ctx)
		if c.IsWorkday(day) {
			t.Errorf("after SetDay(holiday) IsWorkday(%s) = true", day)
		}
		if got, ok := c.Lookup(day); !ok || got.Name != "测试休息日" || got.Source != "manual" {
			t.Errorf("Lookup(%s) = %+v, %v; want name 测试休息日, source manual", day, got, ok)
		}
		if err := s.SetDay(ctx, adminActor(), day, Workday, "改回"); err != nil {
			t.Fatal(err)
		}
		es, _ := audit.List(ctx, d, audit.Filter{Action: "calendar.set_day"})
		if len(es) != 2 || !strings.Contains(es[0].Summary, "was 2025-12-31 holiday 测试休息日") || es[0].Actor != "admin" {
			t.Errorf("set_day audit = %+v, want 2 entries, the last naming the old value", es)
		}
		if err := s.DeleteDay(ctx, adminActor(), day); err != nil {
			t.Fatal(err)
		}
		if err := s.DeleteDay(ctx, adminActor(), day); !errs.Is(err, errs.NotFound) {
			t.Errorf("second DeleteDay = %v, want NotFound", err)
		}
		c, _ = s.Load(ctx)
		if _, ok := c.Lookup(day); ok || !c.IsWorkday(day) {
			t.Errorf("after DeleteDay: listed=%v IsWorkday=%v; want unlisted, working (a Wednesday)", ok, c.IsWorkday(day))
		}
		if got := auditCount(t, d, "calendar.delete_day"); got != 1 {
			t.Errorf("delete_day audit entries = %d, want 1", got)
		}

		for _, tc := range []struct {
			name  string
			date  Date
			kind  Kind
			field string
		}{
			{"impossible date", D(2025, 2, 29), Holiday, "date"},
			{"year out of range", D(1999, 1, 1), Holiday, "date"},
			{"unknown kind", D(2025, 3, 3), "rest", "kind"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				err := s.SetDay(ctx, adminActor(), tc.date, tc.kind, "")
				if e, ok := errs.As(err); !ok || e.Code != errs.Invalid || e.Fields[tc.field].Key == "" {
					t.Errorf("SetDay error = %v, want Invalid on %s", err, tc.field)
				}
			})
		}
	})
}

func TestStoreSetWorkHours(t *testing.T) {
	dbtest.Each(t, fakeClock(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := NewStore(d)
		if err := s.SetWorkHours(ctx, adminActor(), "09:00-12:00, 14:00-18:00"); err != nil {
			t.Fatal(err)
		}
		if err := s.SetWorkHours(ctx, adminActor(), "09:00-12:00,11:00-18:00"); !errs.Is(err, errs.Invalid) {
			t.Errorf("overlapping SetWorkHours = %v, want Invalid", err)
		}
		c, err := s.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := c.WorkHours().String(), "09:00-12:00,14:00-18:00"; got != want {
			t.Errorf("work hours = %q, want %q", got, want)
		}
		if got, want := c.DailyHours(), 7*time.Hour; got != want {
			t.Errorf("DailyHours = %v, want %v", got, want)
		}
		es, _ := audit.List(ctx, d, audit.Filter{Action: "calendar.set_work_hours"})
		if len(es) != 1 || !strings.Contains(es[0].Summary, "(was 08:30-12:00,13:30-17:30 (default))") {
			t.Errorf("set_work_hours audit = %+v, want 1 entry naming the default it replaced", es)
		}
	})
}

func TestStoreImportPreviewAndRoundTrip(t *testing.T) {
	dbtest.Each(t, fakeClock(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := NewStore(d)
		if _, err := s.SeedDefaults(ctx, adminActor()); err != nil {
			t.Fatal(err)
		}
		// A make-up workday a notice could place in the previous December:
		// it must be merged into 2026, not replace 2026.
		first := append(mustParse(t, "csv", csv2027), Day{Date: D(2026, 12, 26), Kind: Workday, Name: "元旦"})

		preview, err := s.Preview(ctx, first)
		if err != nil {
			t.Fatal(err)
		}
		if len(preview.Added) != 15 || len(preview.Changed) != 0 || len(preview.Removed) != 0 || preview.Unchanged != 0 ||
			len(preview.Years) != 1 || preview.Years[0] != 2027 {
			t.Fatalf("preview = %s; want 15 added in years [2027]", preview)
		}
		if got, _ := s.Days(ctx, 2027); len(got) != 0 {
			t.Fatalf("Preview wrote %d days", len(got))
		}
		done, err := s.Import(ctx, adminActor(), first)
		if err != nil {
			t.Fatal(err)
		}
		if done.String() != preview.String() {
			t.Errorf("Import did %s; preview said %s", done, preview)
		}
		c, err := s.Load(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !c.Covers(2027) || c.IsWorkday(D(2027, 10, 1)) || !c.IsWorkday(D(2027, 10, 9)) || !c.IsWorkday(D(2026, 12, 26)) {
			t.Errorf("after import: Covers(2027)=%v 10-01 work=%v 10-09 work=%v 2026-12-26 work=%v; want true false true true",
				c.Covers(2027), c.IsWorkday(D(2027, 10, 1)), c.IsWorkday(D(2027, 10, 9)), c.IsWorkday(D(2026, 12, 26)))
		}
		if d26, _ := s.Days(ctx, 2026); len(d26) != 40 {
			t.Errorf("Days(2026) = %d, want the 39 official days and the merged 12-26", len(d26))
		}
		stored, _ := s.Days(ctx, 2027)
		if got, want := key(stored), key(mustParse(t, "csv", csv2027)); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("Days(2027) = %v, want %v", got, want)
		}
		if stored[0].Source != "测试用 2027 年安排（虚构）" {
			t.Errorf("stored source = %q, want the file's", stored[0].Source)
		}

		// A corrected 2027 in another format: 10-03 becomes a workday, 10-09
		// disappears, 10-04 is new, and the rest is unchanged.
		fixed := strings.Replace(ics2027, "DTEND;VALUE=DATE:20271004", "DTEND;VALUE=DATE:20271003", 1)
		fixed = strings.Replace(fixed, "DTSTART:20271009\r\nSUMMARY:国庆节 班", "DTSTART:20271004\r\nSUMMARY:国庆节 休", 1)
		fixed = strings.Replace(fixed, "END:VCALENDAR", "BEGIN:VEVENT\r\nDTSTART;VALUE=DATE:20271003\r\nSUMMARY:国庆节 班\r\nEND:VEVENT\r\nEND:VCALENDAR", 1)
		second := mustParse(t, "ics", fixed)
		preview, err = s.Preview(ctx, second)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := changes(preview), "+2027-10-04 holiday 国庆节; ~2027-10-03 workday 国庆节; -2027-10-09 workday 国庆节; =12"; got != want {
			t.Errorf("preview = %q, want %q", got, want)
		}
		if _, err := s.Import(ctx, adminActor(), second); err != nil {
			t.Fatal(err)
		}
		stored, _ = s.Days(ctx, 2027)
		if got, want := key(stored), key(second); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("Days(2027) after the second import = %v, want %v", got, want)
		}
		if got := auditCount(t, d, "calendar.import"); got != 2 {
			t.Errorf("calendar.import audit entries = %d, want 2", got)
		}
		if d26, _ := s.Days(ctx, 2026); len(d26) != 40 {
			t.Errorf("Days(2026) after the 2027 re-import = %d, want 40 (untouched)", len(d26))
		}
	})
}

// changes writes a diff compactly for comparison.
func changes(d Diff) string {
	var parts []string
	for _, c := range d.Added {
		parts = append(parts, "+"+describe(*c.New))
	}
	for _, c := range d.Changed {
		parts = append(parts, "~"+describe(*c.New))
	}
	for _, c := range d.Removed {
		parts = append(parts, "-"+describe(*c.Old))
	}
	return strings.Join(parts, "; ") + "; =" + strconv.Itoa(d.Unchanged)
}

func TestStoreImportIsAllOrNothing(t *testing.T) {
	dbtest.Each(t, fakeClock(), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		s := NewStore(d)
		if _, err := s.Import(ctx, adminActor(), mustParse(t, "json", json2027)); err != nil {
			t.Fatal(err)
		}
		before, _ := s.Days(ctx, 2027)

		// Invalid days are refused before any write.
		bad := append(mustParse(t, "csv", csv2027), Day{Date: D(2027, 10, 1), Kind: Workday})
		_, err := s.Import(ctx, adminActor(), bad)
		if e, ok := errs.As(err); !ok || e.Fields["day[15]"].Key != "calendar.err.conflict" {
			t.Errorf("Import(conflicting days) = %v, want day[15]: calendar.err.conflict", err)
		}

		// A failure in the middle of the writes rolls everything back: a
		// trigger refuses one row of a valid import.
		trigger := map[db.Dialect][]string{
			db.SQLite: {`CREATE TRIGGER refuse_one BEFORE INSERT ON calendar_days WHEN NEW.date = '2027-10-05'
				BEGIN SELECT RAISE(ABORT, 'refused by test'); END`},
			db.Postgres: {`CREATE FUNCTION refuse_one() RETURNS trigger LANGUAGE plpgsql AS $$
				BEGIN IF NEW.date = '2027-10-05' THEN RAISE EXCEPTION 'refused by test'; END IF; RETURN NEW; END $$`,
				`CREATE TRIGGER refuse_one BEFORE INSERT ON calendar_days FOR EACH ROW EXECUTE FUNCTION refuse_one()`},
		}
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			for _, q := range trigger[d.Dialect()] {
				if _, err := tx.Exec(ctx, q); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		changed := mustParse(t, "csv", strings.Replace(csv2027, "2027-10-09,workday,国庆节", "2027-10-04,holiday,国庆节\n2027-10-05,holiday,国庆节", 1))
		if _, err := s.Import(ctx, adminActor(), changed); err == nil || !strings.Contains(err.Error(), "refused by test") {
			t.Fatalf("Import with a refused row = %v, want the trigger's error", err)
		}
		after, _ := s.Days(ctx, 2027)
		if strings.Join(key(after), "|") != strings.Join(key(before), "|") {
			t.Errorf("a failed import changed the days:\n got %v\nwant %v", key(after), key(before))
		}
		if got := auditCount(t, d, "calendar.import"); got != 1 {
			t.Errorf("calendar.import audit entries = %d, want 1 (the failed imports leave none)", got)
		}
	})
}
