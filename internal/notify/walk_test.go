package notify_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/casework"
	"whistle/internal/category"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/feed"
	"whistle/internal/notify"
	"whistle/internal/worldtest"
)

// walkWorld is OneStreet with its users, a party member of community A
// and a second grid worker in the other community (who must not be told).
func walkWorld(t *testing.T, d *db.DB) *worldtest.World {
	users := append(worldtest.OneStreetUsers(),
		worldtest.User{Name: "party-a", Region: "330303001001", Role: account.PartyMember},
		worldtest.User{Name: "grid-b", Region: "330303001002001", Role: account.GridWorker})
	return worldtest.New(t, d, worldtest.Options{Regions: worldtest.OneStreet("区", "街道"), Departments: worldtest.CatalogueDepartments(), Users: users})
}

// deliver runs the notifications' feed consumer until it has caught up.
func deliver(t *testing.T, w *worldtest.World) {
	t.Helper()
	if err := runner(t, w, notify.NewNotifier(w.Cases, nil)).Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
}

// runner is a feed runner of n's consumer.
func runner(t *testing.T, w *worldtest.World, n *notify.Notifier) *feed.Runner {
	t.Helper()
	r, err := feed.NewRunner(w.DB, feed.RunnerConfig{}, n.Consumer())
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// mayActNow is the oracle: for each user, the expected actions of the
// case's state (casework.Expected) that the user may take, asked of the
// per-caller gate the forms use (Service.Actions) within the user's data
// scope. An admin counts for an action only when nobody else may take it.
func mayActNow(t *testing.T, w *worldtest.World, wf *casework.Workflow, id int64) map[string][]string {
	t.Helper()
	ctx := context.Background()
	c, err := w.Cases.Get(ctx, casework.Caller{System: true}, id)
	if err != nil {
		t.Fatal(err)
	}
	var expected []string
	for _, tr := range casework.Expected(wf, c) {
		expected = append(expected, string(tr.Action))
	}
	out := map[string][]string{}
	byAction := map[string][]string{}
	for name, u := range w.Users {
		mine, err := w.Cases.Get(ctx, w.As(name), id)
		if err != nil {
			continue // outside the user's scope
		}
		for _, a := range w.Cases.Actions(mine, w.As(name)) {
			if slices.Contains(expected, string(a.Action)) {
				byAction[string(a.Action)] = append(byAction[string(a.Action)], name)
			}
		}
		_ = u
	}
	for a, names := range byAction {
		others := slices.DeleteFunc(slices.Clone(names), func(n string) bool { return w.Users[n].Has(account.Admin) })
		if len(others) > 0 {
			names = others
		}
		for _, n := range names {
			out[n] = append(out[n], a)
		}
	}
	for n := range out {
		sort.Strings(out[n])
	}
	return out
}

// inputFor fills what transition tr asks for, choosing its branch.
func inputFor(t *testing.T, w *worldtest.World, who string, c *casework.Case, tr casework.Transition) casework.Input {
	in := casework.Input{}
	fields := append(append([]string{}, tr.Requires...), tr.Optional...)
	for _, cd := range tr.When {
		fields = append(fields, cd.Field)
	}
	for _, f := range fields {
		switch f {
		case casework.FieldNote:
			in.Note = "现场已处理"
		case casework.FieldReason:
			in.Reason = "需要协调"
		case casework.FieldTarget:
			in.Target = &casework.Target{Department: "CG"}
		case casework.FieldHours:
			h := 4
			in.Hours = &h
		case casework.FieldResult:
			in.Result = "satisfied"
		case casework.FieldPhotos:
			in.Photos = []int64{w.Photo(t, who, c.ID, "after")}
		case casework.FieldParent:
			p := w.Submit(t, "resident", casework.SubmitInput{Category: leaf(t, w, c.CategoryCode), Description: "同一处问题", Lat: &c.Lat, Lng: &c.Lng})
			in.Parent = p.ID
		}
	}
	for _, cd := range tr.When {
		switch cd.Field {
		case casework.FieldPassed:
			v := cd.Value == 1
			in.Passed = &v
		case casework.FieldStars:
			s := 5
			if cd.Op == "le" || cd.Op == "lt" {
				s = 1
			}
			in.Stars = &s
		}
	}
	if slices.Contains(tr.Requires, casework.FieldStars) && in.Stars == nil {
		s := 5
		in.Stars = &s
	}
	if in.Stars != nil {
		in.Comment = "还是没修好"
	}
	return in
}

func leaf(t *testing.T, w *worldtest.World, code string) string {
	t.Helper()
	sub, err := category.NewStore(w.DB).Subtree(context.Background(), code, false)
	if err != nil {
		t.Fatal(err)
	}
	for len(sub.Children) > 0 {
		sub = sub.Children[0]
	}
	return sub.Code
}

// rowKey names a transition row: the action, the state it is taken from
// and where it leads.
func rowKey(a casework.Action, from, to casework.State) string {
	return fmt.Sprintf("%s %s→%s", a, from, to)
}

// TestEveryNextActorIsTold (issue 15, Build 1) walks every action of every
// workflow definition (whistle and urban; the test-only ticket kind is no
// case workflow) from every state it may be taken in, each branch of a
// guarded one, and after each step asks the oracle (mayActNow) who may now
// take an expected action they could not before: each of them, and nobody
// else, gets a "next" message (or "claim") about the case naming exactly
// the actions they may now take.
func TestEveryNextActorIsTold(t *testing.T) {
	worldtest.Each(t, time.Date(2026, 12, 7, 2, 0, 0, 0, time.UTC), func(t *testing.T, d *db.DB, clk *clock.Fake) {
		w := walkWorld(t, d)
		ctx := context.Background()
		cats := map[string]string{"whistle": "ZL06", "urban": "SJ0101"}
		names := make([]string, 0, len(w.Users))
		for n := range w.Users {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, wname := range []string{"whistle", "urban"} {
			wf := casework.Workflows()[wname]
			// Every row of the definition, from each of its states.
			todo := map[string]bool{}
			for _, tr := range wf.Trans {
				for _, f := range tr.From {
					to := tr.To
					if to == "" {
						to = f
					}
					if to != casework.Resume {
						todo[rowKey(tr.Action, f, to)] = true
					}
				}
			}
			handled := map[casework.State]bool{} // states seen with a handler
			resumed := map[casework.State]bool{}
			// Rows only a handler may take steer nothing: before dispatch
			// there is none to take them.
			handlerOnly := map[string]bool{}
			for _, tr := range wf.Trans {
				if len(tr.Roles) == 0 && slices.Equal(tr.Actors, []string{casework.ActorAssignee}) {
					for _, f := range tr.From {
						handlerOnly[string(tr.Action)+" "+string(f)] = true
					}
				}
			}
			steer := func(cur *casework.Case) map[string]bool {
				withHandler := cur.AssigneeID != 0 || cur.DepartmentID != 0
				out := map[string]bool{}
				for k := range todo {
					from := casework.State(k[strings.LastIndex(k[:strings.Index(k, "→")], " ")+1 : strings.Index(k, "→")])
					if !handlerOnly[k[:strings.Index(k, "→")]] || (withHandler && handled[from]) {
						out[k] = true
					}
				}
				return out
			}
			var trace []string // resume, by the state suspended in
			steps := 0
			for steps < 1500 && len(todo) > 0 {
				c := w.Submit(t, "resident", casework.SubmitInput{Category: leaf(t, w, cats[wname]), Description: "楼道堆放杂物，影响通行",
					Lat: ptr(27.005), Lng: ptr(120.005), Address: "万顺路 1 号"})
				deliver(t, w)
				tried := map[string]bool{} // this case's steps
				for range 40 {
					steps++
					cur, err := w.Cases.Get(ctx, casework.Caller{System: true}, c.ID)
					if err != nil {
						t.Fatal(err)
					}
					if cur.AssigneeID != 0 || cur.DepartmentID != 0 {
						handled[cur.Status] = true
					}
					// The moves open now, by user; an uncovered row first.
					type move struct {
						who string
						tr  casework.Transition
						key string
					}
					var moves []move
					for _, n := range names {
						mine, err := w.Cases.Get(ctx, w.As(n), c.ID)
						if err != nil {
							continue
						}
						for _, a := range w.Cases.Actions(mine, w.As(n)) {
							for _, tr := range wf.Candidates(a.Action, cur.Status) {
								to := tr.To
								switch to {
								case "":
									to = cur.Status
								case casework.Resume:
									to = cur.PrevStatus
								}
								moves = append(moves, move{n, tr, rowKey(tr.Action, cur.Status, to)})
							}
						}
					}
					if len(moves) == 0 {
						break
					}
					pick := -1
					for i, m := range moves {
						if todo[m.key] || (m.tr.Action == casework.ActResume && !resumed[cur.PrevStatus]) {
							pick = i
							break
						}
					}
					if pick < 0 && pendingIn(todo, cur.Status) {
						// A row of this state is closed until a step that
						// keeps the state opens it (a supervision before
						// its reply, a request before its decision).
						for i, m := range moves {
							if m.tr.To == "" && !tried[m.key] {
								pick = i
								break
							}
						}
					}
					if pick < 0 {
						// Head for the nearest state with rows left.
						dist := distances(wf, steer(cur))
						best := -1
						for i, m := range moves {
							if m.tr.To == "" || m.tr.To == casework.Resume {
								continue
							}
							if d, ok := dist[m.tr.To]; ok && (best < 0 || d < best) {
								best, pick = d, i
							}
						}
					}
					if pick < 0 {
						break
					}
					m := moves[pick]
					tried[m.key] = true
					trace = append(trace, m.who+":"+m.key)
					before := mayActNow(t, w, wf, c.ID)
					var last int64
					if err := d.QueryRow(ctx, `SELECT COALESCE(MAX(id), 0) FROM notifications`).Scan(&last); err != nil {
						t.Fatal(err)
					}
					in := inputFor(t, w, m.who, cur, m.tr)
					after, err := w.Cases.Act(ctx, w.As(m.who), c.ID, m.tr.Action, in)
					if err != nil {
						t.Fatalf("%s takes %s on %s: %v", m.who, m.key, cur.Status, err)
					}
					got := rowKey(m.tr.Action, cur.Status, after.Status)
					delete(todo, got)
					if m.tr.Action == casework.ActResume {
						resumed[cur.PrevStatus] = true
					}
					deliver(t, w)
					want := mayActNow(t, w, wf, c.ID)
					told := map[string][]string{}
					rows, err := d.Query(ctx, `SELECT user_id, kind, action, expected FROM notifications WHERE id > $1 AND case_id = $2 ORDER BY id`, last, c.ID)
					if err != nil {
						t.Fatal(err)
					}
					for rows.Next() {
						var uid int64
						var kind, action, expected string
						if err := rows.Scan(&uid, &kind, &action, &expected); err != nil {
							t.Fatal(err)
						}
						for n, u := range w.Users {
							if u.ID == uid {
								told[n] = append(told[n], kind+" "+action+" "+expected)
							}
						}
					}
					if err := rows.Err(); err != nil {
						t.Fatal(err)
					}
					rows.Close()
					for _, n := range names {
						newly := false
						for _, a := range want[n] {
							if !slices.Contains(before[n], a) {
								newly = true
							}
						}
						exp := `[]`
						if len(want[n]) > 0 {
							exp = `["` + strings.Join(want[n], `","`) + `"]`
						}
						var msgs []string
						for _, s := range told[n] {
							if strings.HasPrefix(s, "next ") || strings.HasPrefix(s, "claim ") {
								msgs = append(msgs, s)
							}
						}
						switch {
						case newly && len(told[n]) == 0:
							t.Errorf("%s %s: %s may now take %v but was not told", wname, got, n, want[n])
						case newly:
							// Told, whatever the kind: it names the actions.
							for _, s := range told[n] {
								if !strings.HasSuffix(sortedJSON(s), exp) {
									t.Errorf("%s %s: %s was told %q, want the expected actions %s", wname, got, n, s, exp)
								}
							}
						case len(msgs) > 0:
							t.Errorf("%s %s: %s may take nothing new (%v) but was told %v", wname, got, n, want[n], msgs)
						}
					}
				}
			}
			// A row only the handler may take, from a state no case ever
			// had a handler in, is closed by the definition itself.
			for _, tr := range wf.Trans {
				if len(tr.Roles) == 0 && slices.Equal(tr.Actors, []string{casework.ActorAssignee}) {
					for _, f := range tr.From {
						if !handled[f] {
							for k := range todo {
								if strings.HasPrefix(k, string(tr.Action)+" "+string(f)+"→") {
									delete(todo, k)
								}
							}
						}
					}
				}
			}
			if len(todo) > 0 {
				var left []string
				for k := range todo {
					left = append(left, k)
				}
				sort.Strings(left)
				t.Errorf("%s: rows never taken: %v; the last steps: %v", wname, left, trace[max(0, len(trace)-30):])
			}
		}
	})
}

// pendingIn reports whether rows from state s are left.
func pendingIn(todo map[string]bool, s casework.State) bool {
	for k := range todo {
		if strings.Contains(k, " "+string(s)+"→") {
			return true
		}
	}
	return false
}

// distances are the fewest state-changing steps from each state of wf to
// one with rows left (0 for such a state).
func distances(wf *casework.Workflow, todo map[string]bool) map[casework.State]int {
	dist := map[casework.State]int{}
	var queue []casework.State
	for _, st := range wf.Def.States {
		if pendingIn(todo, casework.State(st.Name)) {
			dist[casework.State(st.Name)] = 0
			queue = append(queue, casework.State(st.Name))
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		for _, tr := range wf.Trans {
			if tr.To != s {
				continue
			}
			for _, f := range tr.From {
				if _, ok := dist[f]; !ok {
					dist[f] = dist[s] + 1
					queue = append(queue, f)
				}
			}
		}
	}
	return dist
}

// sortedJSON sorts the JSON array of names at the end of s.
func sortedJSON(s string) string {
	i := strings.LastIndex(s, "[")
	if i < 0 {
		return s
	}
	inner := strings.Trim(s[i:], "[]")
	if inner == "" {
		return s
	}
	parts := strings.Split(inner, ",")
	sort.Strings(parts)
	return s[:i] + "[" + strings.Join(parts, ",") + "]"
}

func ptr(v float64) *float64 { return &v }
