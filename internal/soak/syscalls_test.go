package soak

import (
	"os"
	"strings"
	"testing"
)

// Lines as strace -f -y -e raw=pwrite64 prints them for a SQLite server.
const (
	traceOpen   = `100 openat(AT_FDCWD</srv>, "/d/whistle.db-wal", O_RDWR|O_CREAT|O_NOFOLLOW|O_CLOEXEC, 0644) = 12</d/whistle.db-wal>`
	traceOpenCk = `100 openat(AT_FDCWD</srv>, "/d/whistle.db-wal", O_RDWR|O_CREAT|O_NOFOLLOW|O_CLOEXEC, 0644) = 14</d/whistle.db-wal>`
	traceSubmit = `101 read(17<socket:[47437]>, "POST /api/v1/cases HTTP/1.1\r\nHost: 127.0.0.1:18555\r\nIdempotency-Key: a1\r\n\r\n{\"category\":\"ZL0601\"}", 4096) = 352`
	traceAction = `101 read(17<socket:[47437]>, "POST /api/v1/cases/7/actions/accept HTTP/1.1\r\nHost: x\r\n\r\n{}", 4096) = 80`
	traceGet    = `101 read(17<socket:[47437]>, "GET /api/v1/cases/7/timeline HTTP/1.1\r\nHost: x\r\n\r\n", 4096) = 60`
	traceWALw   = `102 pwrite64(0xc, 0x7f44ec786028, 0x1000, 0x38) = 0x1000`
	traceSync   = `102 fsync(12</d/whistle.db-wal>) = 0`
	traceSyncCk = `103 fsync(14</d/whistle.db-wal>) = 0`
	traceSyncDB = `103 fsync(13</d/whistle.db>) = 0`
	trace201    = `104 write(17<socket:[47437]>, "HTTP/1.1 201 Created\r\nCache-Control: no-store\r\nContent-Type: application/json; charset=utf-8\r\nLocation: /api/v1/cases/1\r\n"..., 1083) = 1083`
	trace201R   = `104 write(17<socket:[47437]>, "HTTP/1.1 201 Created\r\nCache-Control: no-store\r\nContent-Type: application/json; charset=utf-8\r\nIdempotent-Replayed: true\r\nLocation: /api/v1/cases/1\r\n"..., 1083) = 1083`
	trace200    = `104 write(17<socket:[47437]>, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{}", 60) = 60`
	trace409    = `104 write(17<socket:[47437]>, "HTTP/1.1 409 Conflict\r\nContent-Type: application/json\r\n\r\n{}", 60) = 60`
)

func TestCheckSyncs(t *testing.T) {
	cases := []struct {
		name                     string
		lines                    []string
		checked, synced, replays int
	}{
		{"submit written and synced before its 201", []string{traceOpen, traceSubmit, traceWALw, traceSync, trace201}, 1, 1, 0},
		{"transition synced before its 200", []string{traceOpen, traceAction, traceWALw, traceSync, trace200}, 1, 1, 0},
		{"no fsync at all (synchronous=OFF)", []string{traceOpen, traceSubmit, traceWALw, trace201}, 1, 0, 0},
		{"fsync after the answer", []string{traceOpen, traceSubmit, traceWALw, trace201, traceSync}, 1, 0, 0},
		{"fsync before the write", []string{traceOpen, traceSubmit, traceSync, traceWALw, trace201}, 1, 0, 0},
		{"sync of the log from the checkpointer's descriptor", []string{traceOpen, traceOpenCk, traceSubmit, traceWALw, traceSyncCk, trace201}, 1, 0, 0},
		{"sync of the database file only", []string{traceOpen, traceSubmit, traceWALw, traceSyncDB, trace201}, 1, 0, 0},
		{"write and sync before the request came", []string{traceOpen, traceWALw, traceSync, traceSubmit, trace201}, 1, 0, 0},
		{"a replay writes nothing and is not checked", []string{traceOpen, traceSubmit, trace201R}, 0, 0, 1},
		{"a refused transition is no acknowledgement", []string{traceOpen, traceAction, trace409}, 0, 0, 0},
		{"a read answered 200 is no acknowledgement", []string{traceOpen, traceGet, trace200}, 0, 0, 0},
		{"unfinished calls count when they complete", []string{traceOpen,
			`101 read(17<socket:[47437]>,  <unfinished ...>`,
			`105 pwrite64(0xc, 0x7f44ec786028, 0x1000, 0x38 <unfinished ...>`,
			`101 <... read resumed>"POST /api/v1/cases/7/actions/accept HTTP/1.1\r\nHost: x\r\n\r\n{}", 4096) = 80`,
			`105 <... pwrite64 resumed>) = 0x1000`,
			`102 fsync(12</d/whistle.db-wal> <unfinished ...>`,
			`104 write(17<socket:[47437]>, "HTTP/1.1 200 OK\r\n\r\n{}", 60 <unfinished ...>`,
			`102 <... fsync resumed>) = 0`,
		}, 1, 0, 0},
		{"a request whose first byte came in a read of its own", []string{traceOpen,
			`101 read(17<socket:[47437]>, "P", 1)         = 1`,
			`101 read(17<socket:[47437]>, "OST /api/v1/cases HTTP/1.1\r\nHost: x\r\n\r\n{}", 4096) = 80`,
			traceWALw, traceSync, trace201}, 1, 1, 0},
		{"an fsync that failed", []string{traceOpen, traceSubmit, traceWALw, `102 fsync(12</d/whistle.db-wal>) = -1 EIO (Input/output error)`, trace201}, 1, 0, 0},
		{"a descriptor reused after the log's was closed", []string{traceOpen, `100 close(12</d/whistle.db-wal>) = 0`,
			`100 openat(AT_FDCWD</srv>, "/d/blob", O_RDWR) = 12</d/blob>`, traceSubmit, traceWALw, `102 fsync(12</d/blob>) = 0`, trace201}, 1, 0, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rep, err := checkSyncs(strings.NewReader(strings.Join(c.lines, "\n") + "\n"))
			if err != nil {
				t.Fatal(err)
			}
			if rep.Checked != c.checked || rep.Synced != c.synced || rep.Replays != c.replays {
				t.Errorf("checked %d, synced %d, replays %d; want %d, %d, %d", rep.Checked, rep.Synced, rep.Replays, c.checked, c.synced, c.replays)
			}
			if got, want := len(rep.Unsynced), c.checked-c.synced; got != want {
				t.Errorf("%d unsynced listed, want %d: %v", got, want, rep.Unsynced)
			}
		})
	}
}

// A real trace, when one is given: WHISTLE_STRACE_LOG=file go test -run TestCheckSyncsFile.
func TestCheckSyncsFile(t *testing.T) {
	name := os.Getenv("WHISTLE_STRACE_LOG")
	if name == "" {
		t.Skip("WHISTLE_STRACE_LOG names no trace")
	}
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rep, err := checkSyncs(f)
	if err != nil {
		t.Fatal(err)
	}
	t.Log(rep.line(), rep.Unsynced, rep.Unpaired)
}

// Every answer the load did not expect fails the run, a 4xx as much as a
// 5xx: a soak whose writes were all refused acknowledged nothing.
func TestUnexpectedAnswersFail(t *testing.T) {
	cases := []struct {
		name       string
		unexpected map[int]int
		want       []string
	}{
		{"none", map[int]int{}, nil},
		{"refused writes", map[int]int{403: 7, 422: 2}, []string{"answered 403 7 times", "answered 422 2 times", "unexpected answers: POST /api/v1/cases → 403"}},
		{"server failures", map[int]int{500: 1}, []string{"answered 500 1 times"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := unexpectedProblems(c.unexpected, []string{"POST /api/v1/cases → 403 {}"})
			if len(c.want) == 0 && len(got) != 0 {
				t.Fatalf("problems %q, want none", got)
			}
			all := strings.Join(got, "\n")
			for _, w := range c.want {
				if !strings.Contains(all, w) {
					t.Errorf("problems %q do not mention %q", all, w)
				}
			}
		})
	}
}
