package soak

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// step is one transition of a case's script: who acts, and with what.
type step struct {
	action string
	actor  string // a demo account
	body   string
}

// scripts are the transitions each kind of case goes through, in order.
// The 红哨 script ends in progress (its resolve needs photos); the 数字城管
// script runs to the end.
func scripts() map[string][]step {
	return map[string][]step{
		"whistle": {
			{"accept", "demo-admin", `{"note":"soak"}`},
			{"dispatch", "demo-admin", `{"target":{"department":"CG"}}`},
			{"start", "demo-dept", `{}`},
			{"postpone_request", "demo-dept", `{"reason":"soak","hours":4}`},
			{"postpone_approve", "demo-admin", `{}`},
			{"supervise", "demo-admin", `{"note":"soak"}`},
			{"reply", "demo-dept", `{"note":"soak"}`},
			{"suspend", "demo-admin", `{"reason":"soak"}`},
			{"resume", "demo-admin", `{}`},
		},
		"urban": {
			{"register", "demo-admin", `{}`},
			{"dispatch", "demo-admin", `{"target":{"department":"CG"}}`},
			{"start", "demo-dept", `{}`},
			{"resolve", "demo-dept", `{"note":"soak"}`},
			{"verify", "demo-admin", `{"passed":true}`},
			{"close", "demo-admin", `{}`},
		},
	}
}

// categories are the category each kind of case is reported in.
func categories() map[string]string { return map[string]string{"whistle": "ZL0601", "urban": "SJ0101"} }

// accounts are the demo accounts the load logs in as.
func accounts() []string { return []string{"demo-resident", "demo-admin", "demo-dept"} }

// tracked is one case the load submitted.
type tracked struct {
	key      string
	kind     string
	point    [2]float64 // where it is reported: a retry sends the same body
	id       int64      // 0 until a 201
	next     int        // the next step of the script
	unsure   bool       // a request's outcome is unknown: resynchronise first
	inflight bool       // a worker holds it
}

// ack is an acknowledged transition.
type ack struct {
	caseID int64
	action string
}

// ledger is what the server acknowledged, shared by the workers.
type ledger struct {
	prefix string
	mu     sync.Mutex
	seq    int
	cases  []*tracked
	keys   map[string]int64 // key → id of its first 201
	acks   map[ack]int
	st     ledgerStats
}

type ledgerStats struct {
	retried, replayed, conflicts int
	// recovered counts retries of unanswered submissions that the server
	// answered as replays: the first request had committed, and only its
	// answer was lost to the kill.
	recovered  int
	unexpected map[int]int
	examples   []string // the first unexpected answers
	problems   []string
}

func newLedger(prefix string) *ledger {
	return &ledger{prefix: prefix, keys: map[string]int64{}, acks: map[ack]int{}, st: ledgerStats{unexpected: map[int]int{}}}
}

func (l *ledger) stats() ledgerStats {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.st
	st.unexpected = map[int]int{}
	for k, v := range l.st.unexpected {
		st.unexpected[k] = v
	}
	st.problems = append([]string(nil), l.st.problems...)
	st.examples = append([]string(nil), l.st.examples...)
	return st
}

// writes counts the acknowledged submissions and transitions so far.
func (l *ledger) writes() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := len(l.keys)
	for _, v := range l.acks {
		n += v
	}
	return n
}

// snapshot copies the acknowledged cases and transitions for a check.
func (l *ledger) snapshot() (keys map[string]int64, acks map[ack]int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	keys = make(map[string]int64, len(l.keys))
	for k, v := range l.keys {
		keys[k] = v
	}
	acks = make(map[ack]int, len(l.acks))
	for k, v := range l.acks {
		acks[k] = v
	}
	return keys, acks
}

// load drives the API.
type load struct {
	// limitsNote says whether short time limits were set, so that SLA
	// timers fire (and cross kills) during the run.
	limitsNote string
	client     *http.Client
	led        *ledger
	tokens     map[string]string
	points     [][2]float64
	mu         sync.RWMutex
	url        string
}

// newLoad logs the demo accounts in and collects points inside the grids.
func newLoad(ctx context.Context, url string, led *ledger, seed uint64) (*load, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 64
	ld := &load{client: &http.Client{Transport: t, Timeout: 20 * time.Second}, led: led, tokens: map[string]string{}, url: url}
	for _, u := range accounts() {
		body, _ := json.Marshal(map[string]string{"username": u, "password": "whistle-demo"})
		var out struct{ Token string }
		code, err := ld.call(ctx, "POST", "/api/v1/session", "", body, &out)
		if err != nil || code != http.StatusOK || out.Token == "" {
			return nil, fmt.Errorf("log in as %s: status %d, %v (is the server the demo, with password whistle-demo?)", u, code, err)
		}
		ld.tokens[u] = out.Token
	}
	ld.limitsNote = ld.shortLimits(ctx)
	pts, err := ld.gridPoints(ctx, "330303")
	if err != nil {
		return nil, err
	}
	r := rand.New(rand.NewPCG(seed, 1))
	r.Shuffle(len(pts), func(i, j int) { pts[i], pts[j] = pts[j], pts[i] })
	ld.points = pts
	return ld, nil
}

func (ld *load) setURL(u string) {
	ld.mu.Lock()
	ld.url = u
	ld.mu.Unlock()
}

// errConn is a request whose outcome is unknown: the connection failed.
var errConn = errors.New("connection failed")

// call sends one request; a transport failure is errConn.
func (ld *load) call(ctx context.Context, method, path, token string, body []byte, out any, hdr ...string) (int, error) {
	code, _, err := ld.callBody(ctx, method, path, token, body, out, hdr...)
	return code, err
}

// callBody is call that also returns the start of an error's body, for
// the report of an unexpected answer.
func (ld *load) callBody(ctx context.Context, method, path, token string, body []byte, out any, hdr ...string) (int, string, error) {
	ld.mu.RLock()
	url := ld.url
	ld.mu.RUnlock()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url+path, rd)
	if err != nil {
		return 0, "", err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := ld.client.Do(req)
	if err != nil {
		return 0, "", fmt.Errorf("%w: %v", errConn, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		// The status line came but the body did not: the answer was not
		// delivered in full, so it counts as unknown.
		return 0, "", fmt.Errorf("%w: %v", errConn, err)
	}
	if out != nil && resp.StatusCode < 300 {
		if err := json.Unmarshal(raw, out); err != nil {
			return 0, "", fmt.Errorf("%w: decode: %v", errConn, err)
		}
	}
	msg := ""
	if resp.StatusCode >= 400 {
		msg = fmt.Sprintf("%s %s → %d %.200s", method, path, resp.StatusCode, bytes.TrimSpace(raw))
	}
	if resp.Header.Get("Idempotent-Replayed") == "true" {
		return resp.StatusCode, msg, errReplayed
	}
	return resp.StatusCode, msg, nil
}

// errReplayed marks a 201 the server answered from an earlier request.
var errReplayed = errors.New("replayed")

// stages are the SLA stages of each workflow's waiting states.
func stages() map[string][]string {
	return map[string][]string{
		"whistle": {"accept", "dispatch", "claim", "handle", "verify", "rate"},
		"urban":   {"register", "dispatch", "handle", "verify", "close"},
	}
}

// shortLimits gives the load's categories a one-minute time limit on every
// stage, warning at a tenth of it, and marks the categories urgent: an
// urgent case counts in natural time (a resident may not mark it so, the
// category does), so its warnings fall due 6 seconds into a stage and its
// breaches a minute in, at any hour, and the scheduler fires them across
// the kills.
func (ld *load) shortLimits(ctx context.Context) string {
	set, refused := 0, map[int]int{}
	for _, cat := range categories() {
		code, err := ld.call(ctx, "PATCH", "/api/v1/categories/"+cat, ld.tokens["demo-admin"], []byte(`{"urgent":true}`), nil)
		if err != nil || code != http.StatusOK {
			return fmt.Sprintf("time limits: not shortened: marking %s urgent answered %d %v", cat, code, err)
		}
	}
	for wf, sts := range stages() {
		for _, st := range sts {
			body, _ := json.Marshal(map[string]any{"workflow": wf, "stage": st, "category_prefix": categories()[wf], "limit": "1m", "warn_percent": 10})
			code, err := ld.call(ctx, "POST", "/api/v1/time-limits", ld.tokens["demo-admin"], body, nil)
			switch {
			case err != nil:
				return "time limits: not shortened: " + err.Error()
			case code == http.StatusCreated || code == http.StatusOK:
				set++
			default:
				refused[code]++
			}
		}
	}
	if set == 0 {
		return fmt.Sprintf("time limits: not shortened (POST /api/v1/time-limits answered %v): timers fall due only after the run", refused)
	}
	note := fmt.Sprintf("time limits: %d stages of the load's categories limited to 1 minute (urgent categories: natural time), warning at 10%%", set)
	if len(refused) > 0 {
		note += fmt.Sprintf("; %v refused", refused)
	}
	return note
}

// gridPoints collects an interior point of every grid under code.
func (ld *load) gridPoints(ctx context.Context, code string) ([][2]float64, error) {
	var v struct {
		Children []struct {
			Code  string
			Level string
			P     struct{ Lat, Lng float64 } `json:"interior_point"`
		}
	}
	if code, err := ld.call(ctx, "GET", "/api/v1/regions/"+code+"/children", "", nil, &v); err != nil || code != http.StatusOK {
		return nil, fmt.Errorf("region children: %d %v", code, err)
	}
	var out [][2]float64
	for _, ch := range v.Children {
		if ch.Level == "grid" {
			out = append(out, [2]float64{ch.P.Lat, ch.P.Lng})
			continue
		}
		sub, err := ld.gridPoints(ctx, ch.Code)
		if err != nil {
			return nil, err
		}
		out = append(out, sub...)
	}
	if len(out) == 0 && code == "330303" {
		return nil, errors.New("no grids in the demo district")
	}
	return out, nil
}

// work is one client: it submits cases and moves them along their
// scripts until ctx ends.
func (ld *load) work(ctx context.Context, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 2))
	for ctx.Err() == nil {
		var err error
		switch p := r.IntN(100); {
		case p < 30:
			err = ld.submit(ctx, ld.newCase(r))
		case p < 35:
			err = ld.replay(ctx, r)
		default:
			err = ld.advance(ctx, r)
		}
		if errors.Is(err, errConn) {
			// The server is going down: back off until it is killed.
			select {
			case <-ctx.Done():
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
}

func (ld *load) newCase(r *rand.Rand) *tracked {
	kind := "whistle"
	if r.IntN(2) == 0 {
		kind = "urban"
	}
	p := ld.points[r.IntN(len(ld.points))]
	l := ld.led
	l.mu.Lock()
	defer l.mu.Unlock()
	l.seq++
	c := &tracked{key: l.prefix + strconv.Itoa(l.seq), kind: kind, point: p, inflight: true}
	l.cases = append(l.cases, c)
	return c
}

// submit posts c (again, after a connection error, with the same key
// and the same body: the server refuses a key reused for another report).
func (ld *load) submit(ctx context.Context, c *tracked) error {
	p := c.point
	body, _ := json.Marshal(map[string]any{"category": categories()[c.kind], "description": "soak " + c.key,
		"lat": p[0], "lng": p[1], "address": "soak"})
	var out struct{ ID int64 }
	code, msg, err := ld.callBody(ctx, "POST", "/api/v1/cases", ld.tokens["demo-resident"], body, &out, "Idempotency-Key", c.key)
	l := ld.led
	l.mu.Lock()
	defer l.mu.Unlock()
	c.inflight = false
	replayed := errors.Is(err, errReplayed)
	if err != nil && !replayed {
		if ctx.Err() == nil && !errors.Is(err, errConn) {
			l.st.problems = append(l.st.problems, fmt.Sprintf("submit %s: %v", c.key, err))
		}
		return err
	}
	if code != http.StatusCreated {
		l.unexpectedLocked(code, msg)
		if code >= 500 {
			return errConn // the server is failing (dying): outcome unknown
		}
		c.next = -1 // refused: never retried
		return nil
	}
	if replayed {
		l.st.replayed++
		if c.id == 0 {
			l.st.recovered++
		}
	}
	if prev, ok := l.keys[c.key]; ok && prev != out.ID {
		l.st.problems = append(l.st.problems, fmt.Sprintf("Idempotency-Key %s answered 201 with case %d and later with case %d", c.key, prev, out.ID))
	}
	if _, ok := l.keys[c.key]; !ok {
		l.keys[c.key] = out.ID
	}
	c.id = out.ID
	return nil
}

// replay re-sends an acknowledged or unanswered submission with its key.
func (ld *load) replay(ctx context.Context, r *rand.Rand) error {
	l := ld.led
	l.mu.Lock()
	var pick *tracked
	// Submissions whose answer was lost come first; otherwise any case.
	for _, c := range l.cases {
		if c.id == 0 && c.next == 0 && !c.inflight {
			pick = c
			l.st.retried++
			break
		}
	}
	if pick == nil && len(l.cases) > 0 {
		if c := l.cases[r.IntN(len(l.cases))]; c.id != 0 && !c.inflight {
			pick = c
		}
	}
	if pick != nil {
		pick.inflight = true
	}
	l.mu.Unlock()
	if pick == nil {
		return nil
	}
	return ld.submit(ctx, pick)
}

// advance takes the next step of a random case of this run.
func (ld *load) advance(ctx context.Context, r *rand.Rand) error {
	l := ld.led
	l.mu.Lock()
	var c *tracked
	for tries := 0; tries < 8 && len(l.cases) > 0; tries++ {
		cand := l.cases[r.IntN(len(l.cases))]
		if cand.id != 0 && !cand.inflight && cand.next >= 0 && cand.next < len(scripts()[cand.kind]) {
			c = cand
			break
		}
	}
	if c == nil {
		l.mu.Unlock()
		return nil
	}
	c.inflight = true
	unsure, next := c.unsure, c.next
	l.mu.Unlock()
	if unsure {
		n, err := ld.resync(ctx, c)
		l.mu.Lock()
		c.inflight = false
		if err == nil {
			c.next, c.unsure = n, false
		}
		l.mu.Unlock()
		return err
	}
	st := scripts()[c.kind][next]
	code, msg, err := ld.callBody(ctx, "POST", fmt.Sprintf("/api/v1/cases/%d/actions/%s", c.id, st.action), ld.tokens[st.actor], []byte(st.body), nil)
	l.mu.Lock()
	defer l.mu.Unlock()
	c.inflight = false
	switch {
	case err != nil:
		c.unsure = true
		return err
	case code == http.StatusOK:
		l.acks[ack{c.id, st.action}]++
		c.next++
	case code == http.StatusConflict:
		// A concurrent change, or this very step committed before its
		// answer was lost: look at the timeline.
		c.unsure = true
		l.st.conflicts++
	case code >= 500:
		c.unsure = true
		l.unexpectedLocked(code, msg)
		return errConn
	default:
		l.unexpectedLocked(code, msg)
		c.next = -1
	}
	return nil
}

// unexpectedLocked counts an answer the load did not expect and keeps the
// first few for the report.
func (l *ledger) unexpectedLocked(code int, msg string) {
	l.st.unexpected[code]++
	if len(l.st.examples) < maxListed && msg != "" {
		l.st.examples = append(l.st.examples, msg)
	}
}

// resync counts the script's steps on the case's timeline.
func (ld *load) resync(ctx context.Context, c *tracked) (int, error) {
	var tl struct {
		Timeline []struct {
			Action string `json:"action"`
		} `json:"timeline"`
	}
	code, msg, err := ld.callBody(ctx, "GET", fmt.Sprintf("/api/v1/cases/%d/timeline", c.id), ld.tokens["demo-admin"], nil, &tl)
	if err != nil {
		return 0, err
	}
	if code != http.StatusOK {
		ld.led.mu.Lock()
		ld.led.unexpectedLocked(code, msg)
		ld.led.mu.Unlock()
		return 0, fmt.Errorf("%w: timeline %d", errConn, code)
	}
	script := scripts()[c.kind]
	n := 0
	for _, ev := range tl.Timeline {
		if n < len(script) && ev.Action == script[n].action {
			n++
		}
	}
	return n, nil
}
