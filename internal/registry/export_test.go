package registry

// SetSnapRead sets the function a snapshot refresh of s calls after it
// has read its rows and before it writes them.
func SetSnapRead(s *Store, f func()) { s.snapRead = f }
