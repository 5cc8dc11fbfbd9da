package policy

import "sync/atomic"

// Stats counts the engine's incremental work, for tests and metrics.
type Stats struct {
	// Rechecks counts (subject, policy) re-evaluations from the feed.
	Rechecks atomic.Int64
	// Changes counts the feed events handled.
	Changes atomic.Int64
	// Commits counts the re-check's write transactions: a batch of
	// changes that changed no stored result commits none.
	Commits atomic.Int64
}

// Stats returns the engine's counters.
func (e *Engine) Stats() *Stats { return &e.stats }
