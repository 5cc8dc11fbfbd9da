package benchreport

import _ "embed"

// The sections below are not measured by `make bench`: the crash test, the
// change feed, the fuzzing and the mutation test have their own targets (make soak, make
// fuzz, make mutate). Their text is carried over as last written; update
// the files in static/ when those are rerun.
var (
	//go:embed static/crash.md
	crashSection string
	//go:embed static/feed.md
	feedSection string
	//go:embed static/kernel-timers.md
	kernelTimersSection string
	//go:embed static/fuzz.md
	fuzzSection string
	//go:embed static/mutation.md
	mutationSection string
)
