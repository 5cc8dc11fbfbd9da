// Package rivertrial is the River side of the evaluation recorded in
// docs/DECISIONS.md ("Timers: River or in-house"): BenchmarkRiverFire
// fires River jobs scheduled like internal/timer's BenchmarkFire, with the
// same effect in the job's transaction. It is its own module, so that River
// is not a dependency of Whistle.
package rivertrial
