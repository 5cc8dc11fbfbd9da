package casework_test

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"whistle/internal/casework"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/db/dbtest"
)

// TestSystemStepsThenWritesAsStepByStep: a group of system steps and the
// steps its then adds, some on the same column twice (a counter raised
// twice, the supervision flag set, cleared and set again), leave the case
// and its timeline as the same steps taken one a transaction do, although
// SystemStepsThen writes each case's columns together.
func TestSystemStepsThenWritesAsStepByStep(t *testing.T) {
	dbtest.Each(t, clock.NewFake(t0), func(t *testing.T, d *db.DB) {
		w := newWorld(t, d, nil)
		ctx := context.Background()
		one, group := w.submit(t, "resident", inA, "whistle"), w.submit(t, "resident", inA, "whistle")
		step := func(a casework.Action, effs ...casework.Effect) casework.Step {
			return casework.Step{Action: a, Note: string(a), Data: map[string]any{"n": len(effs)}, Effects: effs}
		}
		first := []casework.Step{step(casework.ActWarning, casework.EffRework), step(casework.ActBreach, casework.EffSupervise)}
		then := []casework.Step{step(casework.ActEscalate, casework.EffRework), step(casework.ActWarning, casework.EffSuperviseClear),
			step(casework.ActBreach, casework.EffSupervise, casework.EffNotifyHandler)}
		for _, s := range append(slices.Clone(first), then...) {
			if err := d.InTx(ctx, func(tx *db.Tx) error {
				_, err := w.svc.SystemStep(ctx, tx, one.ID, s)
				return err
			}); err != nil {
				t.Fatal(err)
			}
		}
		if err := d.InTx(ctx, func(tx *db.Tx) error {
			var steps []casework.CaseStep
			for _, s := range first {
				steps = append(steps, casework.CaseStep{CaseID: group.ID, Step: s})
			}
			_, err := w.svc.SystemStepsThen(ctx, tx, steps, func(after []*casework.Case) ([]casework.CaseStep, error) {
				if len(after) != 2 || !after[1].Supervised {
					return nil, fmt.Errorf("then got %+v", after)
				}
				var more []casework.CaseStep
				for _, s := range then {
					more = append(more, casework.CaseStep{CaseID: group.ID, Step: s})
				}
				return more, nil
			})
			return err
		}); err != nil {
			t.Fatal(err)
		}
		row := func(id int64) string {
			var rework, version int
			var supervised bool
			var state string
			if err := d.QueryRow(ctx, `SELECT rework, version, supervised, sla_state FROM cases WHERE id = $1`, id).Scan(&rework, &version, &supervised, &state); err != nil {
				t.Fatal(err)
			}
			return fmt.Sprintf("rework %d version %d supervised %v sla %s", rework, version, supervised, state)
		}
		if got, want := row(group.ID), row(one.ID); got != want {
			t.Errorf("case after the group: %s; after the steps one a transaction: %s", got, want)
		}
		if got, want := row(one.ID), fmt.Sprintf("rework %d version %d supervised true sla %s", one.Rework+2, one.Version+5, one.SLAState); got != want {
			t.Errorf("case after the steps one a transaction: %s, want %s", got, want)
		}
		timeline := func(id int64) []string {
			tl, err := w.svc.Timeline(ctx, w.as("admin"), id, false)
			if err != nil {
				t.Fatal(err)
			}
			var out []string
			for _, e := range tl {
				out = append(out, fmt.Sprintf("%s %s→%s %s %v", e.Action, e.FromStatus, e.ToStatus, e.Note, e.Data))
			}
			return out
		}
		if got, want := timeline(group.ID), timeline(one.ID); !slices.Equal(got, want) {
			t.Errorf("timeline after the group:\n%q\nafter the steps one a transaction:\n%q", got, want)
		}
	})
}
