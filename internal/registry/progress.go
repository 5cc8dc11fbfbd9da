package registry

import "context"

type progressKey struct{}

// WithProgress returns ctx carrying fn, which the bulk upserts
// (UpsertPeople, UpsertOrganisations, UpsertHouses) call inside their
// transaction as they go: done of total rows looked up and written so
// far, after each chunk and at the end. An import's progress bar follows
// the write this way without the upserts' signatures growing a callback
// that only the importer needs.
func WithProgress(ctx context.Context, fn func(done, total int)) context.Context {
	return context.WithValue(ctx, progressKey{}, fn)
}

// reportProgress calls ctx's progress function, if any.
func reportProgress(ctx context.Context, done, total int) {
	if fn, ok := ctx.Value(progressKey{}).(func(done, total int)); ok && fn != nil {
		fn(done, total)
	}
}
