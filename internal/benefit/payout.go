package benefit

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"

	"whistle/internal/account"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/feed"
	"whistle/internal/notify"
)

// Payout is one subject's benefit of one policy for one period.
type Payout struct {
	ID            int64     `json:"id"`
	Subject       Subject   `json:"subject"`
	SubjectName   string    `json:"subject_name"`
	Policy        string    `json:"policy"`
	PolicyVersion int       `json:"policy_version"`
	Title         Text      `json:"title"`
	Period        string    `json:"period"`
	Amount        float64   `json:"amount"`
	Source        string    `json:"source"` // application or auto (免申即享)
	ApplicationID int64     `json:"application_id,omitempty"`
	RegionCode    string    `json:"region"`
	EligibleAt    time.Time `json:"eligible_at"`
	PaidAt        time.Time `json:"paid_at"`
	Masked        bool      `json:"masked,omitempty"`
	applicantID   int64
}

// payout is a payout to write.
type payout struct {
	subject      Subject
	name, policy string
	version      int
	title        Text
	period       string
	fen          int64
	source       string
	application  int64
	grid, path   string
	department   int64
	applicant    int64
	eligibleAt   time.Time
}

// insertPayout writes p unless the subject already has the policy's
// payout for the period (the table's unique constraint, ON CONFLICT DO
// NOTHING): inserted says whether this call wrote it. Only an inserted
// payout goes on the feed, whose consumer tells the person, so that two
// runs of the same check pay and tell once.
func (s *Service) insertPayout(ctx context.Context, tx *db.Tx, p payout) (inserted bool, err error) {
	var id int64
	err = tx.QueryRow(ctx, `INSERT INTO benefit_payouts (subject_kind, subject_id, subject_name, policy, policy_version, title_zh, title_en, period,
		amount_fen, source, application_id, region_code, region_path, department_id, applicant_id, eligible_at, paid_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)
		ON CONFLICT (subject_kind, subject_id, policy, period) DO NOTHING RETURNING id`,
		p.subject.Kind, p.subject.ID, p.name, p.policy, p.version, p.title.ZH, p.title.EN, p.period, p.fen, p.source, p.application, p.grid, p.path,
		p.department, p.applicant, p.eligibleAt, tx.Now()).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil // the period's payout exists
	}
	if err != nil {
		return false, db.Translate(err)
	}
	district, err := s.district(ctx, p.path)
	if err != nil {
		return false, err
	}
	b, _ := json.Marshal(map[string]any{"id": id, "subject": p.subject, "policy": p.policy, "period": p.period, "amount": float64(p.fen) / 100,
		"source": p.source, "application": p.application})
	return true, feed.Append(ctx, tx, feed.Event{SubjectKind: KindPayout, SubjectID: id, District: district, Kind: "paid", Payload: b})
}

// commitBudget adds fen to the policy's committed amount if that stays
// within its ceiling, in the UPDATE that checks it, so that concurrent
// approvals cannot pass it together; a policy without a budget row has
// no ceiling.
func commitBudget(ctx context.Context, tx *db.Tx, policy string, fen int64) error {
	res, err := tx.Exec(ctx, `UPDATE benefit_budgets SET committed_fen = committed_fen + $1, updated_at = $2
		WHERE policy = $3 AND committed_fen + $1 <= ceiling_fen`, fen, tx.Now(), policy)
	if err != nil {
		return db.Translate(err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 1 {
		return nil
	}
	var ceiling, committed int64
	err = tx.QueryRow(ctx, `SELECT ceiling_fen, committed_fen FROM benefit_budgets WHERE policy = $1`, policy).Scan(&ceiling, &committed)
	if err != nil {
		return nil // no budget row: no ceiling
	}
	return errs.E(errs.Conflict, "benefit.over_budget", yuan(ceiling-committed), yuan(fen)).WithReason("over_budget")
}

func yuan(fen int64) string { return strconv.FormatFloat(float64(fen)/100, 'f', 2, 64) }

// Budget is a policy's budget ceiling and what approvals committed.
type Budget struct {
	Policy    string  `json:"policy"`
	Ceiling   float64 `json:"ceiling"`
	Committed float64 `json:"committed"`
}

// SetBudget sets a policy's budget ceiling (admins and department
// handlers); a ceiling below what is already committed is refused.
func (s *Service) SetBudget(ctx context.Context, c Caller, policy string, ceiling float64) (_ *Budget, err error) {
	defer errs.Wrapf(&err, "benefit.Service.SetBudget(%s)", policy)
	if !c.IsSystem() && (c.User == nil || c.User.Disabled || !(c.User.Has(account.Admin) || c.User.Has(account.DepartmentHandler))) {
		return nil, errs.E(errs.Forbidden, "benefit.budget_forbidden")
	}
	e := errs.E(errs.Invalid, "error.invalid")
	if policy == "" || len(policy) > maxPolicy {
		e.Field("policy", "field.required")
	}
	f := fen(&ceiling)
	if f <= 0 {
		e.Field("ceiling", "benefit.err.ceiling")
	}
	if len(e.Fields) > 0 {
		return nil, e
	}
	err = s.d.DB.InTx(ctx, func(tx *db.Tx) error {
		res, err := tx.Exec(ctx, `UPDATE benefit_budgets SET ceiling_fen = $1, updated_at = $2 WHERE policy = $3 AND committed_fen <= $1`, f, tx.Now(), policy)
		if err != nil {
			return db.Translate(err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		_, err = tx.Exec(ctx, `INSERT INTO benefit_budgets (policy, ceiling_fen, committed_fen, updated_at) VALUES ($1, $2, 0, $3)`, policy, f, tx.Now())
		if errs.Is(db.Translate(err), errs.Conflict) {
			return errs.E(errs.Invalid, "error.invalid").Field("ceiling", "benefit.err.ceiling_below")
		}
		return db.Translate(err)
	})
	if err != nil {
		return nil, err
	}
	return s.Budget(ctx, policy)
}

// Budget returns a policy's budget, or NotFound when it has no ceiling.
func (s *Service) Budget(ctx context.Context, policy string) (_ *Budget, err error) {
	defer errs.Wrapf(&err, "benefit.Service.Budget(%s)", policy)
	var ceiling, committed int64
	if err := s.d.DB.QueryRow(ctx, `SELECT ceiling_fen, committed_fen FROM benefit_budgets WHERE policy = $1`, policy).Scan(&ceiling, &committed); err != nil {
		return nil, db.Translate(err)
	}
	return &Budget{Policy: policy, Ceiling: float64(ceiling) / 100, Committed: float64(committed) / 100}, nil
}

// AutoPay pays a 免申即享 policy's benefit to a subject for this month
// when the engine's answer says every condition passes: the payout is
// written once per period whoever runs the check, however often and
// concurrently (the constraint), and only the run that wrote it tells the
// person. paid says whether this call wrote it.
func (s *Service) AutoPay(ctx context.Context, sub Subject, m Match) (paid bool, err error) {
	defer errs.Wrapf(&err, "benefit.Service.AutoPay(%s %d, %s)", sub.Kind, sub.ID, m.Policy)
	if !m.AutoPay || m.Result != Eligible {
		return false, nil
	}
	for _, cd := range m.Conditions {
		if cd.Result != "pass" {
			return false, nil
		}
	}
	row, err := s.subjectOf(ctx, System(), sub)
	if err != nil {
		return false, err
	}
	err = s.d.DB.InTx(ctx, func(tx *db.Tx) error {
		dept, err := departmentID(ctx, tx, m.Department)
		if err != nil {
			return err
		}
		resident, err := residentOf(ctx, tx, row)
		if err != nil {
			return err
		}
		f := fen(m.Amount)
		p := payout{subject: sub, name: row.name, policy: m.Policy, version: m.Version, title: m.Title, period: s.periodOf(m.Period, tx.Now()), fen: f,
			source: "auto", grid: row.grid, path: row.path, department: dept, applicant: resident, eligibleAt: tx.Now()}
		if paid, err = s.insertPayout(ctx, tx, p); err != nil || !paid {
			return err
		}
		return commitBudget(ctx, tx, m.Policy, f)
	})
	if err != nil {
		return false, err
	}
	return paid, nil
}

// RunAutoPay evaluates each subject and pays every 免申即享 benefit due
// (AutoPay); it returns how many payouts it wrote. A policy over its
// budget is skipped for that subject, not the run.
func (s *Service) RunAutoPay(ctx context.Context, subs []Subject) (paid int, err error) {
	defer errs.Wrapf(&err, "benefit.Service.RunAutoPay(%d)", len(subs))
	if s.d.Policies == nil {
		return 0, errs.E(errs.Unavailable, "error.unavailable")
	}
	for _, sub := range subs {
		ms, err := s.d.Policies.Evaluate(ctx, account.SystemScope(), sub, s.d.DB.Now())
		if err != nil {
			return paid, err
		}
		for _, m := range ms {
			ok, err := s.AutoPay(ctx, sub, m)
			if errs.Is(err, errs.Conflict) {
				s.d.Logger.Warn("benefit: auto payout refused", "subject", sub, "policy", m.Policy, "err", err)
				continue
			}
			if err != nil {
				return paid, err
			}
			if ok {
				paid++
			}
		}
	}
	return paid, nil
}

const payoutCols = `id, subject_kind, subject_id, subject_name, policy, policy_version, title_zh, title_en, period, amount_fen, source, application_id,
	region_code, applicant_id, eligible_at, paid_at`

// Payouts returns the payouts c may see (their region's, their
// department's, their own), newest first, and how many match.
func (s *Service) Payouts(ctx context.Context, c Caller, f Filter) (_ []*Payout, total int, err error) {
	defer errs.Wrapf(&err, "benefit.Service.Payouts")
	w := scoped(c)
	limit := f.where(w, c, false)
	if err := s.d.DB.QueryRow(ctx, `SELECT COUNT(*) FROM benefit_payouts`+w.SQL(), w.Args()...).Scan(&total); err != nil {
		return nil, 0, db.Translate(err)
	}
	rows, err := s.d.DB.Query(ctx, `SELECT `+payoutCols+` FROM benefit_payouts`+w.SQL()+` ORDER BY id DESC LIMIT `+w.Arg(limit)+
		` OFFSET `+w.Arg(max(f.Offset, 0)), w.Args()...)
	if err != nil {
		return nil, 0, db.Translate(err)
	}
	defer rows.Close()
	out := []*Payout{}
	for rows.Next() {
		var p Payout
		var amount int64
		var eligible, paid db.Time
		if err := rows.Scan(&p.ID, &p.Subject.Kind, &p.Subject.ID, &p.SubjectName, &p.Policy, &p.PolicyVersion, &p.Title.ZH, &p.Title.EN, &p.Period,
			&amount, &p.Source, &p.ApplicationID, &p.RegionCode, &p.applicantID, &eligible, &paid); err != nil {
			return nil, 0, db.Translate(err)
		}
		p.Amount, p.EligibleAt, p.PaidAt = float64(amount)/100, eligible.Time, paid.Time
		if c.User == nil || p.applicantID != c.User.ID {
			a := Application{SubjectName: p.SubjectName, ApplicantID: p.applicantID}
			a.mask(c)
			p.SubjectName, p.Masked = a.SubjectName, a.Masked
		}
		out = append(out, &p)
	}
	return out, total, db.Translate(rows.Err())
}

// Tells says who is told of a payout (the notify consumer's Subjects):
// the resident paid, with the amount; and of an application's step: its
// applicant, when it asks for more material, is refused, approved or paid.
func (s *Service) Tells(ctx context.Context, tx *db.Tx, ev feed.Event) (_ []notify.Tell, err error) {
	defer errs.Wrapf(&err, "benefit.Service.Tells(%d)", ev.Position)
	switch ev.SubjectKind {
	case KindPayout:
		var to int64
		var zh, en string
		var amount int64
		if err := tx.QueryRow(ctx, `SELECT applicant_id, title_zh, title_en, amount_fen FROM benefit_payouts WHERE id = $1`, ev.SubjectID).
			Scan(&to, &zh, &en, &amount); err != nil {
			return nil, db.Translate(err)
		}
		if to == 0 {
			return nil, nil
		}
		return []notify.Tell{{Key: "benefit.msg.paid", Args: []any{zh, en, yuan(amount)}, Recipients: []int64{to}}}, nil
	case Kind:
		key := map[string]string{"request_supplement": "benefit.msg.supplement", "refuse": "benefit.msg.refused", "approve": "benefit.msg.approved"}[ev.Kind]
		if key == "" {
			return nil, nil
		}
		var to int64
		var zh, en string
		if err := tx.QueryRow(ctx, `SELECT applicant_id, title_zh, title_en FROM benefit_applications WHERE id = $1`, ev.SubjectID).Scan(&to, &zh, &en); err != nil {
			return nil, db.Translate(err)
		}
		if to == 0 {
			return nil, nil
		}
		return []notify.Tell{{Key: key, Args: []any{zh, en}, Recipients: []int64{to}}}, nil
	}
	return nil, fmt.Errorf("benefit: not a subject kind of this package: %s", ev.SubjectKind)
}
