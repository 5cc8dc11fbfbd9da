// Package stats keeps the rollups the command-centre screen (一屏观天下) and
// outside dashboards read, and answers their questions: the KPIs of a
// region node, one value per child for the map, the daily trend, the
// hotspot grids and the overdue list.
//
// # Rollups
//
// The rollups are counters in four tables (migration 0007), one row per
// region node (every code on a case's region_path: city, district, street,
// community and grid) and key:
//
//   - rollup_flow (node × day × category): the cases submitted that day
//     (reports) and, for the cases closed (结案) that day, closed, on_time,
//     rated and satisfied, stars_n and stars_sum, handled and handling_s,
//     first_due and first_met (the first stage ended, in time), reworked
//     and returned (migration 0016);
//   - rollup_status (node × day × category × status): the cases submitted
//     that day by the status they are in now;
//   - rollup_state (node × category × status × SLA state × supervised):
//     every case as it stands now; finished cases count with SLA state ""
//     and supervised false;
//   - rollup_source (node × day × source): the cases submitted that day by
//     source.
//
// Days are calendar dates in Asia/Shanghai. A row whose counters are all
// zero is deleted, so a missing row means zero.
//
// A department is a pseudo-node too (DepartmentNode, "dept:<id>"): the
// cases assigned to it now add to its rows of rollup_flow, rollup_status
// and rollup_source (not rollup_state), wherever they lie, so that the
// indicators are computable per department.
//
// The Store is casework's Rollups: inside the transaction of every case change
// it computes what the case contributed before and contributes now, and
// applies the difference with one multi-row UPSERT per table (INSERT … ON
// CONFLICT … DO UPDATE SET n = n + excluded.n, valid on SQLite and
// PostgreSQL). A submission touches about five nodes and three tables; a
// transition two rows per node of rollup_status and rollup_state. The
// rollups are therefore never out of step with the cases: a change that
// rolls back takes its counts with it.
//
// # One change path
//
// Every change of a case, a person's action or a system step (the SLA
// scheduler's warnings, breaches and automatic supervisions), goes through
// casework's one change path, which calls the SLA engine's deadline
// computation and then the Store, in that order, written in code: the
// Store always counts a case with the SLA state the engine returned for
// the same change. The store remembers in rollup_open_cases the status,
// SLA state and flag each open case is counted with, and moves exactly that
// count, so Sync, a repair for a row changed outside that path, is exact
// and idempotent.
//
// # Indicators
//
// The Store registers three Sources in the indicator registry
// (internal/indicator), one per rollup table (cases_closed: rollup_flow,
// cases_received: rollup_status, cases_now: rollup_state), and casework's
// indicators over them (CaseIndicators): the on-time rate, the 三率, the
// satisfaction and mean stars, the handling time, the rework and return
// rates and the counts, each defined once; docs/INDICATORS.md is generated
// from them. They are computable for any region node or department
// (DepartmentNode) and any period of whole days. The screen's Summary and
// the unit statistics (Units) read them from the registry; the screen's
// window is the last 30 days, today included.
//
// # Rebuild
//
// Rebuild recomputes every rollup from the cases, streaming them grid by
// grid in region-path order so that memory stays bounded by one branch of
// the tree, compares the result with the stored rows, reports every
// difference and replaces the stored rows, all in one transaction that
// holds off concurrent changes. SummaryFromCases computes the same summary
// with plain GROUP BY queries over the cases, as a check and a baseline.
package stats
