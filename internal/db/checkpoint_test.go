package db_test

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"whistle/internal/db"
	"whistle/internal/db/dbtest"
)

// TestCheckpointerCopiesTheWAL: with the writer's automatic checkpoint set
// far off (10,000 pages), only the background checkpointer moves committed
// pages from the WAL into the database file, and it does so without any
// further write.
func TestCheckpointerCopiesTheWAL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := dbtest.MustOpenDB(t, db.SQLite, nil)
	size := func() int64 {
		fi, err := os.Stat(d.Source)
		if err != nil {
			t.Fatal(err)
		}
		return fi.Size()
	}
	// Let a first checkpoint take the migrations, then measure.
	time.Sleep(500 * time.Millisecond)
	before := size()
	blob := strings.Repeat("x", 4000)
	if err := d.InTx(ctx, func(tx *db.Tx) error {
		if _, err := tx.Exec(ctx, `CREATE TABLE ckpt_test (b TEXT)`); err != nil {
			return err
		}
		for range 500 { // about 500 pages: far below 10,000
			if _, err := tx.Exec(ctx, `INSERT INTO ckpt_test (b) VALUES ($1)`, blob); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if got := size(); got >= before+500*4000 {
			return
		}
	}
	t.Errorf("database file: got %d bytes, want at least %d: the WAL was not checkpointed", size(), before+500*4000)
}
