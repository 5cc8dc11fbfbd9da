// Package sla keeps cases to their time limits (时限) on the working
// calendar (package calendar): it computes a deadline when a case enters a
// workflow stage, pauses it while the case is suspended, extends it when a
// postponement is approved, warns (黄灯) at a share of the limit, records the
// breach (红灯, 超时), opens supervision (督办) at the next level up, and
// measures units by the 三率 and on-time completion.
//
// # Rules
//
// A time limit (TimeLimit, table time_limits) applies to a workflow stage
// (Workflow.Stages maps each waiting state to one), for the categories under
// a code prefix and optionally for a region subtree. The most specific rule
// wins: the longest category prefix first, then the deepest region. A rule
// may defer to the category's own time limit (use_category), falling back to
// its own limit when the category has none. Without a matching rule the
// stage's default limit applies, as the workflow version the case follows
// declares it (workflow.Stage: limit, use_category, warn_percent), so an
// upload changes the limits of new cases only; each stage row also records
// whether that version assesses the stage (the on-time indicators count
// assessed stages only). Urgent cases count in natural
// time: a working limit of N hours becomes N natural hours and N working
// days become N×24 natural hours; a natural limit ("6ch") stays as it is.
//
// # Stages
//
// The Engine is casework's Deadlines: inside the transaction of every change
// it keeps one open row of sla_stages per case, with the deadline computed
// on entry, and returns the deadline and state, which casework writes on
// cases.deadline_at and cases.sla_state (the engine writes no case row).
// What a change means comes from its transition's effects:
//
//   - entering a stage (a new case, or a status whose stage differs from the
//     open row's) closes the open row as met (ended at or before its
//     deadline, never breached), missed, or none (no limit), and opens a new
//     one; a change that stays in the stage (dispatched → in_progress) keeps
//     the clock running;
//   - suspension records the pause (sla_state paused, no deadline); resuming
//     pushes the deadline and the warning by the working time paused (the
//     natural time for natural limits);
//   - an approved postponement (effect postpone_grant; the granted hours are
//     the case's pending request) extends the deadline by that many working
//     hours, moves the warning to the same share of the longer limit, and
//     re-arms a warning that had fired if its new time is still ahead;
//   - a terminal state closes the stage and every open supervision.
//
// Changing a rule never rewrites the deadlines already running: each stage
// row keeps the limit it was given.
//
// # Provisional calendars
//
// A deadline computed across a year that has only a provisional calendar
// (the statutory holidays, see package calendar) marks its stage
// (sla_stages.provisional). Whenever the engine loads the calendar (at
// start-up and after every calendar change), each open marked stage that
// no longer touches a provisional year is recomputed on the new calendar:
// the limit from the stage's start, plus the working time it stood paused
// and the postponements granted. A deadline or warning that moved is
// written with new timers and mirrored on the case, with an
// sla_recomputed step on the timeline (old and new deadline) and an
// sla.recompute entry in the audit log; a warning already fired comes
// again if its new time is ahead. A stage already breached keeps its
// deadline, its breach and its supervisions. Supervisions' own deadlines
// are not recomputed.
//
// # Timers, warnings and breaches
//
// Each open, running stage has a warning timer at warn_pct of its limit
// (default 80%) and a breach timer at its deadline; each supervision has one
// at its own deadline. They are the kernel's timers (package timer, table
// kernel_timers), keyed by kind, subject and name:
//
//	sla.warning      case id  stage id
//	sla.breach       case id  stage id
//	sla.supervision  case id  supervision id
//
// so that re-arming one (a resumed or extended stage, a recomputed
// provisional deadline) is an upsert of its key and cancelling them a
// delete by key (timer.ArmMany, CancelMany, CancelSubject), in the
// transaction of the change. The application's one timer.Runner fires them
// (RegisterTimers gives it one batch handler for the three kinds, so that
// they fire in due order across kinds): it claims due timers by the
// database's clock, deleting them (FOR UPDATE SKIP LOCKED on PostgreSQL;
// SQLite's single writer serialises), and hands each group, up to
// timer.Config.Group timers, to the handler in the same transaction. The
// handler locks the timers' cases in id order, updates the stages or
// supervisions, and takes the steps on the cases through casework's one
// change path as the system (casework.Service.SystemSteps: the timeline,
// the inbox entries, the SLA state from the engine's own computation, the
// rollups), set-based: a constant number of statements for the group, one
// timer a case in each group (fireGroup). A timer is gone exactly when its effect is there: it fires
// exactly once, across restarts and replicas, and a crash leaves it
// either fired completely or not at all. A group that fails is fired
// again one timer per transaction. A case that a change holds locked
// while its timer comes due (PostgreSQL) has the timer armed again as it
// was, to fire after the change: casework locks a case before its timers,
// the runner its timers before their cases, and waiting would deadlock. A
// timer whose stage or supervision a change made moot fires without an
// effect. A breach fired late (after a restart) dates the supervision it
// opens from the instant it fell due, so that the outcome does not depend
// on when a runner ran. Each step records that instant (due_at) and the
// replica that fired it (fired_by, Config.Replica).
//
//   - A warning sets sla_state warning, writes sla_warning on the timeline
//     and notifies the handler and the supervisor of the handling unit.
//   - A breach sets sla_state overdue (for the rest of that stage, even if a
//     postponement follows), writes sla_breach, notifies the same people and
//     escalates.
//   - A supervision that is not answered by its deadline writes sla_breach
//     (with the supervision in its data) and escalates again.
//
// # Supervision (督办)
//
// Escalation opens an automatic supervision one level above the highest
// the case has had: street first (the case's street), then district; at the
// district it opens another only if none is open. It is flagged on the case
// (cases.supervised, the 督办 queue), written to the timeline as escalate,
// notified to the handler and to the supervising level's staff, and has its
// own deadline (Config.AutoSupervisionLimit, 1 working day). A leader's
// supervise action (effect supervise_order) opens a manual supervision at
// the leader's level, with the deadline the leader gave or
// Config.ManualSupervisionLimit (2 working days). The handler's reply
// (effect supervise_clear) answers every open supervision of the case.
//
// # Who is notified
//
// "The handler" is casework's: the assignee, or the handlers of the
// assigned department. "The supervisor of the handling unit" is, for 红哨,
// the community staff of the case's community (the street staff when the
// community has none), and for 数字城管 the street staff of the case's
// street, the command centre (the district's admins when the street has
// none). An escalation also notifies the supervising level: the street
// staff for a street supervision, the district's leaders and admins for a
// district one.
//
// # Metrics
//
// The unit statistics (on-time completion, the 三率, handling time …) are
// indicators of the registry (internal/indicator), computed from the
// rollups by internal/stats; sla keeps no measures of its own.
package sla
