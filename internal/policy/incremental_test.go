package policy_test

import (
	"context"
	"fmt"
	"maps"
	"math/rand/v2"
	"regexp"
	"slices"
	"testing"
	"time"

	"whistle/internal/account"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
	"whistle/internal/feed"
	"whistle/internal/idcode"
	"whistle/internal/policy"
	"whistle/internal/registry"
)

const gridB = "330303001002001"

// stream drives the registry and hands its feed events to the engine's
// Recheck, as the feed's consumer would.
type stream struct {
	*world
	d   *db.DB
	pos int64
	r   *rand.Rand
	// people and orgs are the subjects made so far.
	people []int64
	orgs   []registry.OrganisationInput
	n      int
	// runner, when set, delivers instead: the engine's feed consumer
	// (Derive, its writes committed with its cursor).
	runner *feed.Runner
}

// deliver sequences the feed and rechecks the events after the cursor.
func (s *stream) deliver(t *testing.T) { t.Helper(); s.deliverTo(t, s.eng) }

// deliverTo is deliver by engine e (without a runner).
func (s *stream) deliverTo(t *testing.T, e *policy.Engine) {
	t.Helper()
	ctx := context.Background()
	if s.runner != nil {
		if err := s.runner.Drain(ctx); err != nil {
			t.Fatal(err)
		}
		return
	}
	if _, err := feed.Sequence(ctx, s.d, 0); err != nil {
		t.Fatal(err)
	}
	evs, err := feed.Read(ctx, s.d, s.pos, 100000)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) > 0 {
		s.pos = evs[len(evs)-1].Position
	}
	if err := e.Recheck(ctx, evs); err != nil {
		t.Fatal(err)
	}
}

func (s *stream) addPerson(t *testing.T) int64 {
	t.Helper()
	s.n++
	birth := fmt.Sprintf("19%02d0%d1%d", 20+s.r.IntN(80), 1+s.r.IntN(9), s.r.IntN(3))
	in := registry.PersonInput{IDNumber: idn(fmt.Sprintf("330303%s%03d", birth, 100+s.n)), Name: "李四", Status: registry.StatusResident,
		GridCode: []string{gridA, gridB}[s.r.IntN(2)], HouseholdID: fmt.Sprintf("H%d", s.r.IntN(6)), HouseholdRel: "other"}
	p, err := s.reg.AddPerson(context.Background(), account.SystemScope(), actor, in)
	if err != nil {
		t.Fatalf("add person: %v", err)
	}
	s.people = append(s.people, p.ID)
	return p.ID
}

func (s *stream) addOrg(t *testing.T) {
	t.Helper()
	first17 := fmt.Sprintf("91330303MA2AC%04d", len(s.orgs)+1)
	in := registry.OrganisationInput{CreditCode: first17 + string(idcode.CreditCheck(first17)), Name: fmt.Sprintf("温州某某%d有限公司", len(s.orgs)+1),
		Kind: "company", Address: "一路1号", Industry: "制造业", Size: "small", GridCode: gridA}
	if _, err := s.reg.AddOrganisation(context.Background(), account.SystemScope(), actor, in); err != nil {
		t.Fatalf("add organisation: %v", err)
	}
	s.orgs = append(s.orgs, in)
}

// personFacts and orgFacts are facts the demo policies read, with value
// makers; nil removes the fact (it becomes unknown).
var personFacts = map[string]func(r *rand.Rand) any{
	"hukou_local": randBool, "dibao": randBool, "dibao_edge": randBool, "tekun": randBool, "disability_cert": randBool,
	"unemployed_registered": randBool, "severe_illness": randBool, "sudden_hardship": randBool, "living_alone": randBool,
	"veteran": randBool, "student": randBool, "orphan": randBool,
	"income_per_head":  func(r *rand.Rand) any { return float64(r.IntN(30) * 100) },
	"disability_grade": func(r *rand.Rand) any { return int64(1 + r.IntN(4)) },
	"medical_expense":  func(r *rand.Rand) any { return float64(r.IntN(50) * 1000) },
	"care_level":       func(r *rand.Rand) any { return int64(r.IntN(4)) },
	"children_under_3": func(r *rand.Rand) any { return int64(r.IntN(3)) },
	"pension":          func(r *rand.Rand) any { return float64(r.IntN(40) * 100) },
}

var orgFacts = map[string]func(r *rand.Rand) any{
	"employees":       func(r *rand.Rand) any { return int64(r.IntN(300)) },
	"insured_months":  func(r *rand.Rand) any { return int64(r.IntN(36)) },
	"layoff_rate":     func(r *rand.Rand) any { return float64(r.IntN(10)) },
	"rd_spend":        func(r *rand.Rand) any { return float64(r.IntN(500)) },
	"revenue":         func(r *rand.Rand) any { return float64(r.IntN(50000)) },
	"years_operating": func(r *rand.Rand) any { return int64(r.IntN(10)) },
	"high_tech":       randBool, "specialised": randBool, "dishonest": randBool, "safety_incident": randBool,
	"tax_credit":      func(r *rand.Rand) any { return []string{"A", "B", "M", "C", "D"}[r.IntN(5)] },
	"patents":         func(r *rand.Rand) any { return int64(r.IntN(5)) },
	"graduates_hired": func(r *rand.Rand) any { return int64(r.IntN(5)) },
	"exports":         func(r *rand.Rand) any { return float64(r.IntN(3000)) },
	"new_equipment":   func(r *rand.Rand) any { return float64(r.IntN(2000)) },
}

func randBool(r *rand.Rand) any { return r.IntN(2) == 0 }

func pick(r *rand.Rand, m map[string]func(*rand.Rand) any) (string, any) {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	k := keys[r.IntN(len(keys))]
	if r.IntN(6) == 0 {
		return k, nil
	}
	return k, m[k](r)
}

// change makes one random registry change.
func (s *stream) change(t *testing.T) string {
	t.Helper()
	ctx, sc := context.Background(), account.SystemScope()
	id := s.people[s.r.IntN(len(s.people))]
	switch x := s.r.IntN(20); {
	case x < 8:
		k, v := pick(s.r, personFacts)
		kind := registry.FactPerson
		if s.r.IntN(3) == 0 {
			kind = registry.FactHousehold
		}
		if err := s.reg.SetFact(ctx, sc, actor, kind, id, registry.FactInput{Key: k, Value: v, Verified: s.r.IntN(2) == 0, Source: "核对"}); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("%s fact %s of %d = %v", kind, k, id, v)
	case x < 12:
		o := s.orgs[s.r.IntN(len(s.orgs))]
		got, err := s.reg.Organisations(ctx, sc, registry.OrgFilter{CreditCode: o.CreditCode}, registry.Page{Limit: 1})
		if err != nil || len(got) != 1 {
			t.Fatalf("organisation %s: %v", o.CreditCode, err)
		}
		k, v := pick(s.r, orgFacts)
		if err := s.reg.SetFact(ctx, sc, actor, registry.FactOrganisation, got[0].ID, registry.FactInput{Key: k, Value: v, Verified: true, Source: "核对"}); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("organisation fact %s of %d = %v", k, got[0].ID, v)
	case x < 13:
		i := s.r.IntN(len(s.orgs))
		s.orgs[i].Size = []string{"micro", "small", "medium", "large"}[s.r.IntN(4)]
		s.orgs[i].Industry = []string{"制造业", "批发和零售业", "信息技术"}[s.r.IntN(3)]
		if _, err := s.reg.UpsertOrganisations(ctx, sc, actor, []registry.OrganisationInput{s.orgs[i]}); err != nil {
			t.Fatal(err)
		}
		return "organisation size and industry"
	case x < 15:
		h, rel := fmt.Sprintf("H%d", s.r.IntN(6)), "other"
		if s.r.IntN(4) == 0 {
			h, rel = "", ""
		}
		if _, err := s.reg.UpdatePerson(ctx, sc, actor, id, registry.PersonPatch{HouseholdID: &h, HouseholdRel: &rel}); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("person %d moves to household %q", id, h)
	case x < 16:
		g := []string{gridA, gridB}[s.r.IntN(2)]
		if _, err := s.reg.UpdatePerson(ctx, sc, actor, id, registry.PersonPatch{GridCode: &g}); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("person %d moves to grid %s", id, g)
	case x < 17:
		p, err := s.reg.PersonClear(ctx, sc, id)
		if err != nil {
			t.Fatal(err)
		}
		s.n++
		idNumber := idn(fmt.Sprintf("330303%s%03d", fmt.Sprintf("19%02d0%d1%d", 20+s.r.IntN(80), 1+s.r.IntN(9), s.r.IntN(3)), 100+s.n))
		if _, err := s.reg.UpdatePerson(ctx, sc, actor, p.ID, registry.PersonPatch{IDNumber: &idNumber}); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("person %d's identity number (age, sex)", id)
	case x < 18:
		if err := s.reg.AddMember(ctx, sc, actor, "disabled", id, "核对"); err != nil {
			t.Fatal(err)
		}
		return fmt.Sprintf("person %d joins a group", id)
	default:
		return fmt.Sprintf("new person %d", s.addPerson(t))
	}
}

func storedAll(t *testing.T, e *policy.Engine) map[string]map[int64]map[string]string {
	t.Helper()
	out := map[string]map[int64]map[string]string{}
	for _, k := range []string{policy.KindPerson, policy.KindOrganisation} {
		m, err := e.Stored(context.Background(), k)
		if err != nil {
			t.Fatal(err)
		}
		out[k] = m
	}
	return out
}

// TestIncrementalMatchesFullRun: over a randomised stream of registry
// changes (facts set and removed, household moves, grid moves, new
// identity numbers, group joins, new people, organisations' facts and
// columns), the results kept up by Recheck from the change feed equal a
// full re-run's exactly: the run that follows writes nothing and stores
// the same results.
func TestIncrementalMatchesFullRun(t *testing.T) {
	for _, viaRunner := range []bool{false, true} {
		t.Run(map[bool]string{false: "Recheck", true: "Consumer"}[viaRunner], func(t *testing.T) { incrementalMatchesFullRun(t, viaRunner) })
	}
}

// incrementalMatchesFullRun: after random changes re-checked from the
// feed (by Recheck, or by the feed's runner and the engine's Consumer),
// a full run finds nothing to change.
func incrementalMatchesFullRun(t *testing.T, viaRunner bool) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		if _, err := w.eng.SeedDemo(ctx, actor); err != nil {
			t.Fatal(err)
		}
		// No demo condition reads groups or the household's size (dibao's
		// amount does): one that does, with a fact, so that a change of
		// the fact needs the person's groups and household too.
		w.publish(t, policy.Draft{Key: "group_aid", Kind: policy.Resident, Version: policy.Version{
			Title: policy.Text{ZH: "残疾人帮扶", EN: "Disability aid"}, Target: policy.KindPerson, Period: "month", Department: "CL",
			Conditions: []policy.Condition{
				{ID: "group", Text: policy.Text{ZH: "残疾人", EN: "disabled"}, Source: "测试", Expr: "'disabled' in groups"},
				{ID: "income", Text: policy.Text{ZH: "低收入", EN: "low income"}, Source: "测试", Expr: "income_per_head < 1500.0"},
				{ID: "household", Text: policy.Text{ZH: "小家庭", EN: "small household"}, Source: "测试", Expr: "household_size <= 2"},
			}}}, "2026-01-01")
		s := &stream{world: w, d: d, r: rand.New(rand.NewPCG(18, 2))}
		if viaRunner {
			r, err := feed.NewRunner(d, feed.RunnerConfig{Batch: 3}, w.eng.Consumer())
			if err != nil {
				t.Fatal(err)
			}
			s.runner = r
		}
		for range 20 {
			s.addPerson(t)
		}
		for range 4 {
			s.addOrg(t)
		}
		for range 40 {
			s.change(t)
		}
		if _, err := w.eng.Run(ctx, nil); err != nil {
			t.Fatal(err)
		}
		s.deliver(t) // the events before the run: nothing changes
		for round := range 12 {
			var did []string
			for range 1 + s.r.IntN(6) {
				did = append(did, s.change(t))
			}
			s.deliver(t)
			kept := storedAll(t, w.eng)
			st, err := w.eng.Run(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if full := storedAll(t, w.eng); st.Changed != 0 || !equalStored(kept, full) {
				t.Fatalf("round %d after %v: the full run changed %d rows (kept up %v, full %v)", round, did, st.Changed, kept, full)
			}
		}
	})
}

// twoEngines is a world with the demo's policies published, and a second
// engine on its database, as another process would have.
func twoEngines(t *testing.T, d *db.DB) (*world, *policy.Engine) {
	t.Helper()
	w := newWorld(t, d)
	if _, err := w.eng.SeedDemo(context.Background(), actor); err != nil {
		t.Fatal(err)
	}
	other, err := policy.New(policy.Deps{DB: d, Registry: w.reg, Accounts: w.Accounts})
	if err != nil {
		t.Fatal(err)
	}
	return w, other
}

// TestTwoEnginesTakeTurns: two engines on one database (two processes,
// or a server and a command) re-check the changes in turn, each keeping
// its copy of the stored rows. A row the other engine wrote is seen: each
// re-check starts from the row as stored, so the full run that follows
// finds nothing to change. A copy trusted after the other engine wrote
// re-evaluates only the changed fields on a stale row, and this fails.
func TestTwoEnginesTakeTurns(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		w, other := twoEngines(t, d)
		ctx := context.Background()
		engines := []*policy.Engine{w.eng, other}
		// Few subjects, so that both engines change the same rows.
		s := &stream{world: w, d: d, r: rand.New(rand.NewPCG(18, 4))}
		for range 3 {
			s.addPerson(t)
		}
		s.addOrg(t)
		if _, err := w.eng.Run(ctx, nil); err != nil {
			t.Fatal(err)
		}
		s.deliverTo(t, other)
		turns := 0
		for round := range 10 {
			var did []string
			for range 6 + s.r.IntN(10) {
				did = append(did, s.change(t))
				e := s.r.IntN(2)
				turns += e
				s.deliverTo(t, engines[e])
			}
			kept := storedAll(t, w.eng)
			// The run is the other engine's half of the time: each engine
			// also sees a run it did not make.
			st, err := engines[round%2].Run(ctx, nil)
			if err != nil {
				t.Fatal(err)
			}
			if full := storedAll(t, w.eng); st.Changed != 0 || !equalStored(kept, full) {
				t.Fatalf("round %d after %v: the full run changed %d rows (kept up %v, full %v)", round, did, st.Changed, kept, full)
			}
		}
		if turns == 0 {
			t.Fatal("the other engine never took a turn: the test proves nothing")
		}
	})
}

// TestWriteBetweenDeriveAndCommit: another engine commits a row of
// subject q between this engine's Derive (of a change of p) and the
// commit of its writes. The copy of the stored rows must not take this
// engine's commit for the next state after its own (the other write came
// between): the next re-check of q starts from q's row as the other
// engine stored it.
func TestWriteBetweenDeriveAndCommit(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		w, other := twoEngines(t, d)
		ctx := context.Background()
		s := &stream{world: w, d: d, r: rand.New(rand.NewPCG(18, 5))}
		p, q := s.addPerson(t), s.addPerson(t)
		if _, err := w.eng.Run(ctx, nil); err != nil {
			t.Fatal(err)
		}
		s.deliver(t)
		w.fact(t, p, "pension", 100.0, true)
		s.deliver(t) // the engine's copy is loaded, and its own write applied
		if err := w.reg.SetFacts(ctx, account.SystemScope(), actor, registry.FactPerson, q, []registry.FactInput{
			{Key: "hukou_local", Value: true, Verified: true}, {Key: "disability_cert", Value: true, Verified: true},
			{Key: "disability_grade", Value: int64(1), Verified: true}, {Key: "dibao", Value: true, Verified: true}}); err != nil {
			t.Fatal(err)
		}
		ofQ := s.take(t)
		w.fact(t, p, "income_per_head", 300.0, true)
		ofP := s.take(t)
		write, err := w.eng.Derive(ctx, ofP)
		if err != nil || write == nil {
			t.Fatalf("Derive: %v, writes %v", err, write != nil)
		}
		if err := other.Recheck(ctx, ofQ); err != nil {
			t.Fatal(err)
		}
		err = d.InTx(ctx, func(tx *db.Tx) error { return write(ctx, tx) })
		if d.Dialect() == db.Postgres {
			// Derive trusted its copy without reading the counter: the
			// commit finds it moved and refuses, and a Derive afresh
			// writes (the runner tries once more at once).
			if !errs.Is(err, errs.Conflict) {
				t.Fatalf("the commit of writes derived before another engine's write: %v, want a Conflict", err)
			}
			if write, err = w.eng.Derive(ctx, ofP); err != nil || write == nil {
				t.Fatalf("Derive afresh: %v, writes %v", err, write != nil)
			}
			err = d.InTx(ctx, func(tx *db.Tx) error { return write(ctx, tx) })
		}
		if err != nil {
			t.Fatal(err)
		}
		w.fact(t, q, "children_under_3", int64(1), true)
		s.deliver(t)
		kept := storedAll(t, w.eng)
		st, err := w.eng.Run(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		if full := storedAll(t, w.eng); st.Changed != 0 || !equalStored(kept, full) {
			t.Fatalf("the full run changed %d rows (kept up %v, full %v)", st.Changed, kept[policy.KindPerson][q], full[policy.KindPerson][q])
		}
	})
}

// TestTrustedCopyIsChecked: on PostgreSQL the feed's consumer trusts its
// copy of the stored rows without reading the counter, and its commit
// checks the counter even when no result changed (the cursor moves with
// it): after another engine's write in between, that commit is a
// Conflict. On SQLite a batch that changes nothing has nothing to commit.
func TestTrustedCopyIsChecked(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		w, other := twoEngines(t, d)
		ctx := context.Background()
		s := &stream{world: w, d: d, r: rand.New(rand.NewPCG(18, 6))}
		p := s.addPerson(t)
		if _, err := w.eng.Run(ctx, nil); err != nil {
			t.Fatal(err)
		}
		s.deliver(t)
		w.fact(t, p, "pension", 100.0, true)
		s.deliver(t)                                   // the copy is loaded, and its own write applied
		w.fact(t, p, "favourite_colour", "blue", true) // read by no policy
		none := s.take(t)
		write, err := w.eng.Derive(ctx, none)
		if err != nil {
			t.Fatal(err)
		}
		if d.Dialect() == db.SQLite {
			if write != nil {
				t.Fatal("SQLite: writes for a change no policy reads, want none")
			}
			return
		}
		if write == nil {
			t.Fatal("PostgreSQL: no writes for a change no policy reads, want the counter's check")
		}
		if _, err := other.Run(ctx, nil); err != nil { // another process's batch run
			t.Fatal(err)
		}
		err = d.InTx(ctx, func(tx *db.Tx) error { return write(ctx, tx) })
		if !errs.Is(err, errs.Conflict) {
			t.Errorf("the commit after another engine's write: %v, want a Conflict", err)
		}
	})
}

// take returns the events after the stream's position, numbered first
// (PostgreSQL), and moves the position past them; it fails t when there
// are none.
func (s *stream) take(t *testing.T) []feed.Event {
	t.Helper()
	ctx := context.Background()
	if _, err := feed.Sequence(ctx, s.d, 0); err != nil {
		t.Fatal(err)
	}
	evs, err := feed.Read(ctx, s.d, s.pos, 1000)
	if err != nil || len(evs) == 0 {
		t.Fatalf("no events: %v", err)
	}
	s.pos = evs[len(evs)-1].Position
	return evs
}

func equalStored(a, b map[string]map[int64]map[string]string) bool {
	return maps.EqualFunc(a, b, func(x, y map[int64]map[string]string) bool {
		return maps.EqualFunc(x, y, func(p, q map[string]string) bool { return maps.Equal(p, q) })
	})
}

// readers counts the demo policies for a kind of subject whose
// conditions or amount name field: an oracle of the index from the
// expressions' text.
func readers(t *testing.T, field string, org bool) int {
	t.Helper()
	ps, err := policy.DemoPolicies()
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`\b` + field + `\b`)
	n := 0
	for _, p := range ps {
		if (p.Version.Target == policy.KindOrganisation) != org {
			continue
		}
		reads := re.MatchString(p.Version.Amount)
		for _, c := range p.Version.Conditions {
			reads = reads || re.MatchString(c.Expr)
		}
		if reads {
			n++
		}
	}
	return n
}

// TestRecheckTouchesOnlyDependents: a changed fact re-evaluates exactly
// the policies reading it for that one subject (counted), a change no
// policy reads re-evaluates none, a household move re-checks the household
// size of both households' members, and a birthday is re-checked by date.
func TestRecheckTouchesOnlyDependents(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		w := newWorld(t, d)
		ctx := context.Background()
		if _, err := w.eng.SeedDemo(ctx, actor); err != nil {
			t.Fatal(err)
		}
		s := &stream{world: w, d: d, r: rand.New(rand.NewPCG(18, 3))}
		for range 6 {
			s.addPerson(t)
		}
		s.addOrg(t)
		if _, err := w.eng.Run(ctx, nil); err != nil {
			t.Fatal(err)
		}
		s.deliver(t)
		rechecks := func() int64 { return w.eng.Stats().Rechecks.Load() }
		step := func(name string, want int64, do func()) {
			t.Helper()
			before := rechecks()
			do()
			s.deliver(t)
			if got := rechecks() - before; got != want {
				t.Errorf("%s: %d policies re-evaluated, want %d", name, got, want)
			}
		}
		id := s.people[0]
		for _, k := range []string{"disability_grade", "income_per_head", "hukou_local", "employees"} {
			want := int64(readers(t, k, false))
			if k == "employees" {
				want = 0 // an organisation's field: no person policy reads it
			}
			step("fact "+k, want, func() {
				if err := w.reg.SetFact(ctx, account.SystemScope(), actor, registry.FactPerson, id, registry.FactInput{Key: k, Value: int64(3), Verified: true}); err != nil {
					t.Fatal(err)
				}
			})
			if want == 0 && k != "employees" {
				t.Errorf("no demo policy reads %s: the test proves nothing", k)
			}
		}
		orgs, err := w.reg.Organisations(ctx, account.SystemScope(), registry.OrgFilter{}, registry.Page{Limit: 1})
		if err != nil || len(orgs) != 1 {
			t.Fatal(err)
		}
		step("organisation fact rd_spend", int64(readers(t, "rd_spend", true)), func() {
			if err := w.reg.SetFact(ctx, account.SystemScope(), actor, registry.FactOrganisation, orgs[0].ID, registry.FactInput{Key: "rd_spend", Value: 300.0, Verified: true}); err != nil {
				t.Fatal(err)
			}
		})
		step("a group no policy reads", 0, func() {
			if err := w.reg.AddMember(ctx, account.SystemScope(), actor, "veteran", id, "核对"); err != nil {
				t.Fatal(err)
			}
		})
		// Two people in H1, one in H2: moving one from H1 to H2 re-checks
		// the household size for all three.
		h1, h2, rel, empty := "H1", "H2", "other", ""
		for i, h := range []*string{&h1, &h1, &h2} {
			if _, err := w.reg.UpdatePerson(ctx, account.SystemScope(), actor, s.people[i+1], registry.PersonPatch{HouseholdID: h, HouseholdRel: &rel}); err != nil {
				t.Fatal(err)
			}
		}
		for _, other := range append([]int64{s.people[0]}, s.people[4:]...) {
			if _, err := w.reg.UpdatePerson(ctx, account.SystemScope(), actor, other, registry.PersonPatch{HouseholdID: &empty, HouseholdRel: &empty}); err != nil {
				t.Fatal(err)
			}
		}
		s.deliver(t)
		step("a household move", 3*int64(readers(t, "household_size", false)), func() {
			if _, err := w.reg.UpdatePerson(ctx, account.SystemScope(), actor, s.people[1], registry.PersonPatch{HouseholdID: &h2}); err != nil {
				t.Fatal(err)
			}
		})
		// A move to another grid re-evaluates nothing, yet the stored row
		// follows the person to the new region: the full run that follows
		// has nothing to write.
		p0, err := w.reg.PersonClear(ctx, account.SystemScope(), s.people[0])
		if err != nil {
			t.Fatal(err)
		}
		other := gridA
		if p0.GridCode == gridA {
			other = gridB
		}
		step("a grid move", 0, func() {
			if _, err := w.reg.UpdatePerson(ctx, account.SystemScope(), actor, s.people[0], registry.PersonPatch{GridCode: &other}); err != nil {
				t.Fatal(err)
			}
		})
		if st, err := w.eng.Run(ctx, nil); err != nil || st.Changed != 0 {
			t.Errorf("the full run after the grid move wrote %d rows (%v), want 0", st.Changed, err)
		}
		// A birthday: someone born on 24 November 1946 turns 80 on the
		// 24th, which no feed event says; RecheckDate does.
		p, err := w.reg.AddPerson(ctx, account.SystemScope(), actor, registry.PersonInput{IDNumber: idn("33030319461124777"), Name: "王五",
			Status: registry.StatusResident, GridCode: gridA})
		if err != nil {
			t.Fatal(err)
		}
		w.fact(t, p.ID, "hukou_local", true, true)
		s.deliver(t)
		if got := storedAll(t, w.eng)[policy.KindPerson][p.ID]["elderly_allowance"]; got != policy.NotEligible {
			t.Fatalf("at 79: elderly allowance %q, want not_eligible", got)
		}
		next := policy.ChinaDate(t0).Add(24 * time.Hour)
		before := rechecks()
		n, err := w.eng.RecheckDate(ctx, next)
		if err != nil || n != 1 {
			t.Fatalf("RecheckDate: %d people, %v; want 1", n, err)
		}
		if got := rechecks() - before; got != int64(readers(t, "age", false)) {
			t.Errorf("birthday: %d policies re-evaluated, want %d", got, readers(t, "age", false))
		}
		if got := storedAll(t, w.eng)[policy.KindPerson][p.ID]["elderly_allowance"]; got != policy.Eligible {
			t.Errorf("at 80: elderly allowance %q, want eligible", got)
		}
	})
}
