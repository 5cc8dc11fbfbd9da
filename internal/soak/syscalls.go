package soak

import (
	"bufio"
	"fmt"
	"io"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// The durability check reads the server's system calls, recorded by
// strace, and checks that every write the server acknowledged was on disk
// before the acknowledgement left: between reading the request and
// writing its answer, the server wrote to SQLite's write-ahead log and
// then fsync'd (or fdatasync'd) that same file descriptor. A server that
// answers from the page cache (synchronous=OFF, or an fsync moved after
// the answer) fails it, although a kill -9 alone would never show it: the
// kernel keeps unsynced pages of a killed process, only a power cut loses
// them.
//
// It covers SQLite, whose writes the server's process makes itself. A
// PostgreSQL server's fsyncs happen in PostgreSQL's processes; for it the
// soak checks the settings that make a commit wait for the disk instead
// (see checkPostgresDurability).

// straceArgs are the options the server runs under: follow threads,
// annotate file descriptors with their paths (-y), enough of each buffer
// to see a request line and an answer's status line and headers (-s), and
// no signals. pwrite64 is traced raw (its fd as a number, its buffer as an
// address): SQLite writes whole pages with it, and printing them would
// make the trace hundreds of megabytes; openat and close keep the map from
// numbers to paths.
func straceArgs(out string) []string {
	return []string{"-f", "--seccomp-bpf", "-qq", "-y", "-s", "512", "-e", "signal=none",
		"-e", "trace=openat,close,read,write,writev,pwrite64,fsync,fdatasync,sync_file_range",
		"-e", "raw=pwrite64", "-o", out, "--"}
}

// syncReport is what the durability check found in one trace.
type syncReport struct {
	// Checked counts the acknowledged writes seen in the trace (case
	// submissions answered 201 but not replayed, transitions answered
	// 200); Synced those with a write and an fsync of the WAL before the
	// answer.
	Checked, Synced int
	// Replays counts 201s answered from an earlier request, which write
	// nothing and are not checked.
	Replays int
	// Unpaired counts answers without a request read before them on their
	// descriptor (a request the parser did not recognise).
	Unpaired int
	// WALWrites and WALSyncs count the system calls on the WAL.
	WALWrites, WALSyncs int
	// Unsynced lists examples of acknowledged writes without an fsync.
	Unsynced []string
}

// event is one system call of interest, in the order strace saw it.
type event struct {
	seq  int
	kind byte // 'q' request read, 'a' answer written, 'w' WAL write, 's' WAL sync done
	fd   string
	text string
}

var (
	straceEntry   = regexp.MustCompile(`^(\d+) +([a-z0-9_]+)\((.*)$`)
	straceResumed = regexp.MustCompile(`^(\d+) +<\.\.\. ([a-z0-9_]+) resumed>(.*)$`)
	straceFD      = regexp.MustCompile(`^(0x[0-9a-f]+|\d+)(<[^>]*>)?`)
	straceRet     = regexp.MustCompile(`= (\d+)<([^>]*)>\s*$`)
	straceOK      = regexp.MustCompile(`\) += (\d+|0x[0-9a-f]+)(<[^>]*>)?\s*$`)
	requestLine   = regexp.MustCompile(`^"(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) (\S+) HTTP/1\.[01]\\r\\n`)
	answerLine    = regexp.MustCompile(`^"HTTP/1\.[01] (\d{3}) `)
	shortRead     = regexp.MustCompile(`^"([A-Z]{1,7})", \d+\) += \d+$`)
	caseAction    = regexp.MustCompile(`^/api/v1/cases/\d+/actions/[a-z_]+$`)
)

// pending is a system call strace printed as unfinished.
type pending struct {
	call, fd string
}

// checkSyncs reads an strace log (written with straceArgs) and checks
// every acknowledged write against the WAL's writes and syncs.
func checkSyncs(r io.Reader) (*syncReport, error) {
	paths := map[string]string{} // fd number → path, from -y annotations and openat
	unfinished := map[string]pending{}
	var evs []event
	seq := 0
	add := func(kind byte, fd, text string) {
		seq++
		evs = append(evs, event{seq: seq, kind: kind, fd: fd, text: text})
	}
	isWAL := func(fd string) bool { return strings.HasSuffix(paths[fd], "-wal") }
	// Go's server reads one byte in the background while a handler runs,
	// so the next request on the connection may arrive as "P" and then
	// "OST /api/…": a short read without a request line is kept and put
	// in front of the next read on the same descriptor.
	partial := map[string]string{}
	read := func(fd, rest string) {
		if p, ok := partial[fd]; ok && strings.HasPrefix(rest, `"`) {
			rest = `"` + p + rest[1:]
			delete(partial, fd)
		}
		if rm := requestLine.FindStringSubmatch(rest); rm != nil {
			add('q', fd, rm[1]+" "+rm[2])
			return
		}
		if m := shortRead.FindStringSubmatch(rest); m != nil {
			partial[fd] = m[1]
		}
	}
	// handle processes a complete call: the name, its fd argument, the
	// rest of its arguments and result.
	handle := func(call, fd, rest string) {
		ok := straceOK.MatchString(rest)
		switch call {
		case "openat":
			if m := straceRet.FindStringSubmatch(rest); m != nil {
				paths[m[1]] = m[2]
			}
		case "close":
			delete(paths, fd)
		case "pwrite64", "write", "writev":
			if isWAL(fd) {
				add('w', fd, "")
			}
		case "fsync", "fdatasync", "sync_file_range":
			if ok && isWAL(fd) {
				add('s', fd, "")
			}
		}
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64*1024), 16*1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if m := straceResumed.FindStringSubmatch(line); m != nil {
			p := unfinished[m[1]]
			delete(unfinished, m[1])
			if p.call != m[2] {
				continue
			}
			switch m[2] {
			case "read":
				read(p.fd, m[3])
			case "write", "writev", "pwrite64":
				// Counted when they started.
			default:
				handle(m[2], p.fd, m[3])
			}
			continue
		}
		m := straceEntry.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		pid, call, args := m[1], m[2], m[3]
		fm := straceFD.FindStringSubmatch(args)
		fd, rest := "", args
		if fm != nil {
			fd = fm[1]
			if n, err := strconv.ParseInt(fd, 0, 64); err == nil {
				fd = strconv.FormatInt(n, 10)
			}
			if fm[2] != "" {
				paths[fd] = strings.Trim(fm[2], "<>")
			}
			rest = strings.TrimPrefix(strings.TrimPrefix(args[len(fm[0]):], ","), " ")
		}
		if call == "openat" {
			fd = ""
		}
		if strings.HasSuffix(line, "<unfinished ...>") {
			unfinished[pid] = pending{call: call, fd: fd}
			// A write's buffer is printed when it starts: an answer
			// counts from its first byte, a WAL write from its start.
			switch {
			case (call == "write" || call == "writev") && answerLine.MatchString(rest):
				add('a', fd, rest)
			case (call == "write" || call == "writev" || call == "pwrite64") && isWAL(fd):
				add('w', fd, "")
			}
			continue
		}
		switch call {
		case "read":
			read(fd, rest)
		case "write", "writev":
			if answerLine.MatchString(rest) {
				add('a', fd, rest)
				continue
			}
			handle(call, fd, rest)
		default:
			handle(call, fd, rest)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return judgeSyncs(evs), nil
}

// judgeSyncs pairs each answer with the request read before it on the same
// connection and checks the acknowledged ones: some WAL descriptor was
// written after the request and synced after that write, before the
// answer's first byte. The write and the sync must be on one descriptor,
// so that a checkpoint's sync of the log on another connection does not
// stand in for the writer's.
func judgeSyncs(evs []event) *syncReport {
	rep := &syncReport{}
	writes := map[string][]int{} // WAL fd → seqs of writes
	syncs := map[string][]int{}  // WAL fd → seqs of completed syncs
	for _, e := range evs {
		switch e.kind {
		case 'w':
			writes[e.fd] = append(writes[e.fd], e.seq)
			rep.WALWrites++
		case 's':
			syncs[e.fd] = append(syncs[e.fd], e.seq)
			rep.WALSyncs++
		}
	}
	lastReq := map[string]event{}
	for _, e := range evs {
		switch e.kind {
		case 'q':
			lastReq[e.fd] = e
			continue
		case 'a':
		default:
			continue
		}
		req, ok := lastReq[e.fd]
		if !ok {
			rep.Unpaired++
			continue
		}
		delete(lastReq, e.fd)
		status := answerLine.FindStringSubmatch(e.text)[1]
		method, path, _ := strings.Cut(req.text, " ")
		path, _, _ = strings.Cut(path, "?")
		acked := method == "POST" && (path == "/api/v1/cases" && status == "201" || caseAction.MatchString(path) && status == "200")
		if !acked {
			continue
		}
		if strings.Contains(e.text, `Idempotent-Replayed: true`) {
			rep.Replays++
			continue
		}
		rep.Checked++
		if syncedBetween(writes, syncs, req.seq, e.seq) {
			rep.Synced++
			continue
		}
		if len(rep.Unsynced) < maxListed {
			rep.Unsynced = append(rep.Unsynced, fmt.Sprintf("%s answered %s (trace events %d–%d)", req.text, status, req.seq, e.seq))
		}
	}
	return rep
}

// syncedBetween reports whether some WAL fd has a write after from and a
// completed sync after that write and before to.
func syncedBetween(writes, syncs map[string][]int, from, to int) bool {
	for fd, ws := range writes {
		i := sort.SearchInts(ws, from+1)
		if i == len(ws) || ws[i] >= to {
			continue
		}
		ss := syncs[fd]
		j := sort.SearchInts(ss, ws[i]+1)
		if j < len(ss) && ss[j] < to {
			return true
		}
	}
	return false
}

// line is the durability check's one-line result.
func (s *syncReport) line() string {
	return fmt.Sprintf("fsync: %d acknowledged writes checked in the server's system calls, %d preceded by a write and an fsync of the WAL, %d not (%d replays not checked; %d WAL writes, %d WAL syncs)",
		s.Checked, s.Synced, s.Checked-s.Synced, s.Replays, s.WALWrites, s.WALSyncs)
}
