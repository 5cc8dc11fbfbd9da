package db

// Trips is the round trips tx has made to PostgreSQL so far.
func Trips(tx *Tx) int { return tx.trips }
