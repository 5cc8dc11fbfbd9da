package registry

// SetFactChunkRows sets how many facts EachFactSet's readers pass at a
// time, and returns the function that restores it.
func SetFactChunkRows(n int) func() {
	old := factChunkRows
	factChunkRows = n
	return func() { factChunkRows = old }
}
