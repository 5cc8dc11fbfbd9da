package workflow_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
	"whistle/internal/errs"
	"whistle/internal/workflow"
)

// tickets is the test kind's own module: its own table, stamping the
// active version on new tickets and acting with a ticket's own version.
type tickets struct {
	d  *db.DB
	wf *workflow.Store
}

func newTickets(t *testing.T, d *db.DB) *tickets {
	t.Helper()
	ctx := context.Background()
	if err := exec(d, `CREATE TABLE test_tickets (id INTEGER PRIMARY KEY, state TEXT NOT NULL, workflow_version INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	s := workflow.NewStore(d)
	if err := s.Register(ctx, ticketVocab(), ticketDef(t)); err != nil {
		t.Fatal(err)
	}
	return &tickets{d: d, wf: s}
}

func (m *tickets) open(t *testing.T, id int) {
	t.Helper()
	ctx := context.Background()
	def, err := m.wf.Active(ctx, "ticket")
	if err != nil {
		t.Fatal(err)
	}
	if err := exec(m.d, `INSERT INTO test_tickets (id, state, workflow_version) VALUES ($1, $2, $3)`, id, def.Initial, def.Version); err != nil {
		t.Fatal(err)
	}
}

// mayTake reports whether who may take action on ticket id, under the
// ticket's own version of the workflow.
func (m *tickets) mayTake(t *testing.T, id int, action string, who person) bool {
	t.Helper()
	ctx := context.Background()
	var state string
	var version int
	if err := m.d.QueryRow(ctx, `SELECT state, workflow_version FROM test_tickets WHERE id = $1`, id).Scan(&state, &version); err != nil {
		t.Fatal(err)
	}
	def, err := m.wf.Get(ctx, "ticket", version)
	if err != nil {
		t.Fatal(err)
	}
	who.tk = &ticket{state: state}
	for _, a := range def.Candidates(action, state) {
		if _, _, ok := a.Allowed(who); ok {
			return true
		}
	}
	return false
}

// ticketV2 is ticket.json where leads, not agents, take tickets, and the
// take action gets a new label.
func ticketV2(t *testing.T) []byte {
	t.Helper()
	d := ticketDef(t)
	d.Actions[0].Roles = []string{"lead"}
	d.ActionLabels["take"] = workflow.Label{Zh: "领取", En: "pick up"}
	b, err := json.Marshal(d)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestUploadAppliesToNewItemsOnly(t *testing.T) {
	dbtest.Each(t, clock.NewFake(time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		m := newTickets(t, d)
		agent, lead := person{id: 1, roles: []string{"agent"}}, person{id: 2, roles: []string{"lead"}}
		m.open(t, 1) // under v1

		wantDiff := []string{
			`action "take" from [open]: roles [agent] → [lead]`,
			`action "take": label "接单"/"take" → "领取"/"pick up"`,
		}
		// A dry run shows the diff and stores nothing.
		dry, err := m.wf.Upload(ctx, audit.Actor{Name: "admin"}, ticketV2(t), false)
		if err != nil {
			t.Fatal(err)
		}
		if dry.Applied || dry.Version != 2 || !slices.Equal(dry.Diff, wantDiff) {
			t.Errorf("dry run: %+v, want version 2 not applied with diff %q", dry, wantDiff)
		}
		if vs, _ := m.wf.List(ctx, "ticket"); len(vs) != 1 {
			t.Fatalf("after a dry run: %d versions, want 1", len(vs))
		}

		up, err := m.wf.Upload(ctx, audit.Actor{UserID: 0, Name: "admin", IP: "127.0.0.1"}, ticketV2(t), true)
		if err != nil {
			t.Fatal(err)
		}
		if !up.Applied || up.Version != 2 || !slices.Equal(up.Diff, wantDiff) {
			t.Errorf("upload: %+v, want version 2 applied with diff %q", up, wantDiff)
		}
		m.open(t, 2) // under v2

		for _, tc := range []struct {
			name string
			id   int
			who  person
			want bool
		}{
			{"an agent takes a ticket opened under v1", 1, agent, true},
			{"a lead may not take a ticket opened under v1", 1, lead, false},
			{"an agent may not take a ticket opened under v2", 2, agent, false},
			{"a lead takes a ticket opened under v2", 2, lead, true},
		} {
			if got := m.mayTake(t, tc.id, "take", tc.who); got != tc.want {
				t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
			}
		}

		// A fresh store (another process) sees the same versions.
		fresh := workflow.NewStore(d)
		if err := fresh.Register(ctx, ticketVocab(), ticketDef(t)); err != nil {
			t.Fatal(err)
		}
		if a, err := fresh.Active(ctx, "ticket"); err != nil || a.Version != 2 || a.Candidates("take", "open")[0].Roles[0] != "lead" {
			t.Errorf("fresh store: active %+v, %v; want version 2 with leads taking", a, err)
		}
		vs, err := fresh.List(ctx, "ticket")
		if err != nil {
			t.Fatal(err)
		}
		if len(vs) != 2 || vs[0].Active || !vs[1].Active || vs[1].CreatedBy != "admin" || !slices.Equal(vs[1].Diff, wantDiff) {
			t.Errorf("versions: %+v, want v1 inactive and v2 active by admin with the diff", vs)
		}

		entries, err := audit.List(ctx, d, audit.Filter{Action: "workflow.upload"})
		if err != nil {
			t.Fatal(err)
		}
		if len(entries) != 1 || entries[0].Target != "workflow:ticket@2" || entries[0].Actor != "admin" || !strings.Contains(entries[0].Summary, wantDiff[0]) {
			t.Errorf("audit: %+v, want one workflow.upload of workflow:ticket@2 by admin holding %q", entries, wantDiff[0])
		}
	})
}

func TestUploadRefuses(t *testing.T) {
	dbtest.Each(t, clock.NewFake(time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		m := newTickets(t, d)
		withArchive := func() []byte {
			def := ticketDef(t)
			def.States = append(def.States, workflow.State{Name: "archived", Terminal: true})
			b, _ := json.Marshal(def)
			return b
		}
		otherName := func() []byte {
			def := ticketDef(t)
			def.Name = "permit"
			b, _ := json.Marshal(def)
			return b
		}
		for _, tc := range []struct {
			name   string
			body   []byte
			fields map[string]string // field → message key
		}{
			{"an unreachable state", withArchive(), map[string]string{"problems[0]": "workflow.unreachable"}},
			{"not JSON", []byte(`{"kind": `), map[string]string{"definition": "workflow.bad_json"}},
			{"an unknown key", []byte(`{"kind": "ticket", "colour": 1}`), map[string]string{"definition": "workflow.bad_json"}},
			{"an unknown kind", []byte(`{"kind": "permit", "name": "ticket"}`), map[string]string{"kind": "workflow.unknown_kind"}},
			{"an unknown name", otherName(), map[string]string{"name": "workflow.unknown_name"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				_, err := m.wf.Upload(ctx, audit.Actor{Name: "admin"}, tc.body, true)
				e, ok := errs.As(err)
				if !ok || e.Code != errs.Invalid {
					t.Fatalf("got %v, want Invalid", err)
				}
				got := map[string]string{}
				for f, msg := range e.Fields {
					got[f] = msg.Key
				}
				if !mapsEqual(got, tc.fields) {
					t.Errorf("fields %v, want %v", got, tc.fields)
				}
			})
		}
		if vs, _ := m.wf.List(ctx, "ticket"); len(vs) != 1 {
			t.Errorf("after refused uploads: %d versions, want 1", len(vs))
		}
		if entries, _ := audit.List(ctx, d, audit.Filter{Action: "workflow.upload"}); len(entries) != 0 {
			t.Errorf("refused uploads left %d audit entries", len(entries))
		}
	})
}

func exec(d *db.DB, q string, args ...any) error {
	return d.InTx(context.Background(), func(tx *db.Tx) error { _, err := tx.Exec(context.Background(), q, args...); return err })
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}

// TestAnotherReplicaSeesTheUpload: a Store that cached the active version
// before another replica's upload keeps it until ActiveMaxAge has passed
// on the database's clock, then reads the new one.
func TestAnotherReplicaSeesTheUpload(t *testing.T) {
	clk := clock.NewFake(time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC))
	dbtest.Each(t, clk, func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		a := newTickets(t, d)
		b := workflow.NewStore(d)
		if err := b.Register(ctx, ticketVocab(), ticketDef(t)); err != nil {
			t.Fatal(err)
		}
		active := func() int {
			t.Helper()
			def, err := b.Active(ctx, "ticket")
			if err != nil {
				t.Fatal(err)
			}
			return def.Version
		}
		if got := active(); got != 1 {
			t.Fatalf("replica b: version %d, want 1", got)
		}
		if _, err := a.wf.Upload(ctx, audit.Actor{Name: "admin"}, ticketV2(t), true); err != nil {
			t.Fatal(err)
		}
		if got := active(); got != 1 {
			t.Errorf("replica b right after the upload: version %d, want its cached 1", got)
		}
		clk.Advance(b.ActiveMaxAge + time.Second)
		if got := active(); got != 2 {
			t.Errorf("replica b after ActiveMaxAge: version %d, want 2", got)
		}
	})
}

// BenchmarkActive is the cost casework pays per Submit to learn the
// active version.
func BenchmarkActive(b *testing.B) {
	d := dbtest.MustOpenDB(b, db.SQLite, clock.NewFake(time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)))
	s := workflow.NewStore(d)
	ctx := context.Background()
	if err := s.Register(ctx, ticketVocab(), ticketDef(b)); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := s.Active(ctx, "ticket"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestUploadDiffsAgainstTheTable: replica b, which cached v1, uploads after
// replica a activated v2; b's diff is against v2 (the table's active
// version), and it is stored as v3.
func TestUploadDiffsAgainstTheTable(t *testing.T) {
	dbtest.Each(t, clock.NewFake(time.Date(2026, 12, 6, 9, 0, 0, 0, time.UTC)), func(t *testing.T, d *db.DB) {
		ctx := context.Background()
		a := newTickets(t, d)
		b := workflow.NewStore(d)
		if err := b.Register(ctx, ticketVocab(), ticketDef(t)); err != nil {
			t.Fatal(err)
		}
		if _, err := b.Active(ctx, "ticket"); err != nil { // b caches v1
			t.Fatal(err)
		}
		if _, err := a.wf.Upload(ctx, audit.Actor{Name: "admin"}, ticketV2(t), true); err != nil {
			t.Fatal(err)
		}
		def := ticketDef(t) // v1 with a new label: from v2, take's roles and label go back too
		def.Label.En = "Help ticket"
		body, _ := json.Marshal(def)
		up, err := b.Upload(ctx, audit.Actor{Name: "admin"}, body, true)
		if err != nil {
			t.Fatal(err)
		}
		want := []string{`label: "工单"/"Ticket" → "工单"/"Help ticket"`, `action "take" from [open]: roles [lead] → [agent]`,
			`action "take": label "领取"/"pick up" → "接单"/"take"`}
		if up.Version != 3 || !slices.Equal(up.Diff, want) {
			t.Errorf("b's upload: version %d diff %q, want version 3 with diff %q", up.Version, up.Diff, want)
		}
	})
}
