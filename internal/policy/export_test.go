package policy

// SetSplitAt sets how many people a run loads in one range at most, so
// that a test's small registry is loaded in ranges.
func (e *Engine) SetSplitAt(n int) { e.splitAt = n }
