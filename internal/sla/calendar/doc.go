// Package calendar is the working calendar (工作日历) that case time limits
// (时限) are counted on.
//
// # Working days and hours
//
// A working day is Monday to Friday, minus the listed holidays (休), plus
// the listed make-up workdays (调休上班, weekend days declared working
// days). The State Council's schedules for 2025 and 2026 are embedded
// (data/, see Official); later years are imported at run time.
//
// # Provisional years
//
// A year from 2025 on without an imported schedule (no holiday listed) is
// given a provisional calendar when Store.Load builds the Calendar: the
// statutory holidays of 全国年节及纪念日放假办法 as revised in 2024 (元旦;
// 春节 from 除夕, the day before lunar 1/1, to 初三; 清明 on its solar
// term; 劳动节 May 1–2; 端午 on lunar 5/5; 中秋 on lunar 8/15; 国庆
// October 1–3), computed with github.com/6tail/lunar-go. No make-up
// workday (调休) and no substitute day off is invented, so the statutory
// days are a subset of the official rest days (tested against 2025 and
// 2026), though a deadline may move either way once the schedule arrives. Such days carry Provisional; IsProvisional and
// ProvisionalBetween tell callers, and the SLA engine recomputes the
// deadlines computed across such a year once its schedule arrives.
// Provisional calendars reach ProvisionalAhead years past the later of
// this year and the last stored year; beyond them, and before 2025, a year
// is plain Monday to Friday — wrong around its holidays — so callers
// should check Covers and warn.
//
// A working day has working periods, by default 08:30–12:00 and
// 13:30–17:30 (DefaultWorkHours, configurable per district). Periods are
// half-open: 08:30 and 13:30 are working time, 12:00 and 17:30 are not.
//
// Every computation is in Asia/Shanghai (the zone is embedded with
// time/tzdata, so it loads on machines without zoneinfo). Instants come in
// and go out as time.Time in any location; results are in the location of
// the instant passed in, so a UTC instant gives a UTC result. Compare
// results with Equal.
//
// # Exact semantics
//
//   - AddWorkingDuration(t, d): the instant at which d of working time has
//     passed since t. An instant outside working hours (07:00, 12:30,
//     20:00, a weekend, a holiday) starts counting at the next working
//     period. A limit that runs out exactly at a period's end expires at
//     that end: 11:50 + 10m = 12:00, 17:20 + 10m = 17:30, while 11:50 +
//     20m = 13:40 and 17:20 + 30m = 08:50 on the next working day. d = 0
//     returns t unchanged; d < 0 counts backwards and returns the latest
//     instant with |d| of working time before t.
//   - WorkingBetween(a, b): the working time in [a, b); −WorkingBetween(b, a)
//     when b is before a.
//   - AddWorkingDays(t, n): the same clock time n working days later, after
//     moving t to the first working instant at or after it (NextWorking).
//     Friday 2025-09-26 16:00 + 2 = Monday 09-29 16:00 (Sunday 09-28 is a
//     make-up workday); 12:30 + 1 = 13:30 the next working day; 20:00 or
//     17:30 + 1 = 08:30 the working day after next; a holiday + 1 = 08:30
//     the second working day after the break (the first one is counted
//     from its opening). n = 0 returns t; n < 0 mirrors this backwards.
//     On the working clock the step is always n × DailyHours.
//   - AddNatural(t, d) = t + d, for urgent limits in natural hours (自然时).
//   - ParseLimit reads "2h", "30m", "1h30m" (working time), "2wd" (working
//     days) and "6ch" (natural hours); Deadline applies a Limit.
//
// The invariants the tests check on random instants in 2024–2027 (and
// against a naive day-by-day reference implementation) are: for d ≥ 0,
// WorkingBetween(t, AddWorkingDuration(t, d)) == d; for u ≥ t,
// v = AddWorkingDuration(t, WorkingBetween(t, u)) is the earliest instant
// ≥ t with WorkingBetween(t, v) == WorkingBetween(t, u), so v == u when u
// is inside a working period and NextWorking(v) == NextWorking(u) always.
//
// # Speed
//
// New precomputes a day table over the covered and provisional years: a prefix count of
// working days and the list of working days, with plain Monday-to-Friday
// arithmetic outside the table. Each operation is a few look-ups, without
// loops over days or minutes and without allocating (see bench_test.go).
// A Calendar is immutable and safe for concurrent use.
//
// # Storage
//
// Store keeps the days (calendar_days) and working hours
// (calendar_settings) in the database, audits every change, seeds the
// embedded schedules (SeedDefaults), and imports a new year from CSV, JSON
// or ICS (ParseImport, Preview, Import) all or nothing, refusing malformed
// files with line-numbered messages.
package calendar
