package policy

import (
	"context"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/notify"
)

// Proactive notices (主动告知, issue 18, Build 3): the staff of a community
// or grid tell the people on its 应享未享 list (Unclaimed) that they may
// apply, through the outbound channel: a text to the phone the registry
// holds for the person (an organisation's contact phone). A subject is
// told of a policy once, ever: queueing again skips those already told,
// so a list can be worked through day after day. The phone is read when
// the text is sent; a subject without one is counted for a visit instead.

// maxNoticeAttempts is how many times a failed text is tried.
const maxNoticeAttempts = 5

// NoticeReport is what QueueNotices did with the region's list.
type NoticeReport struct {
	// Queued notices are new and will be sent.
	Queued int `json:"queued"`
	// Already counts the subjects told of that policy before.
	Already int `json:"already"`
	// NoPhone counts those the registry has no phone for: staff must
	// visit or call them.
	NoPhone int `json:"no_phone"`
}

// QueueNotices queues a notice for every entry (up to limit, at most
// 1,000) of the 应享未享 list under the region node regionCode, as
// Unclaimed lists it for scope sc (a node outside it is NotFound), and
// records who asked in the audit log, in one transaction.
func (e *Engine) QueueNotices(ctx context.Context, sc account.Scope, actor audit.Actor, regionCode string, limit int) (_ NoticeReport, err error) {
	defer errs.Wrapf(&err, "policy.Engine.QueueNotices(%s)", regionCode)
	var rep NoticeReport
	us, err := e.Unclaimed(ctx, sc, regionCode, limit)
	if err != nil {
		return rep, err
	}
	// The phones come from the registry before the transaction: a
	// subject's phone and region do not depend on the notices written.
	type contact struct{ phone, path string }
	contacts := make([]contact, len(us))
	for i, u := range us {
		phone, path, err := e.registry.Contact(ctx, u.Subject.Kind, u.Subject.ID)
		if err != nil {
			return rep, err
		}
		contacts[i] = contact{phone, path}
	}
	err = e.db.InTx(ctx, func(tx *db.Tx) error {
		rep = NoticeReport{}
		for i, u := range us {
			phone, path := contacts[i].phone, contacts[i].path
			if phone == "" {
				rep.NoPhone++
				continue
			}
			res, err := tx.Exec(ctx, `INSERT INTO elig_notices (subject_kind, subject_id, policy_key, region_path, text, queued_by, created_at)
				VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (subject_kind, subject_id, policy_key) DO NOTHING`,
				u.Subject.Kind, u.Subject.ID, u.Policy, path, noticeText(u), actor.Name, tx.Now())
			if err != nil {
				return db.Translate(err)
			}
			if n, err := res.RowsAffected(); err != nil {
				return db.Translate(err)
			} else if n == 0 {
				rep.Already++
			} else {
				rep.Queued++
			}
		}
		return audit.Record(ctx, tx, actor, "eligibility.notify", "region:"+regionCode,
			fmt.Sprintf("queued %d, told before %d, no phone %d", rep.Queued, rep.Already, rep.NoPhone))
	})
	return rep, err
}

// noticeText is the text a subject receives: the policy's title and how
// to apply, in Chinese (the residents' language; the SMS template adds
// the platform's signature).
func noticeText(u Unclaimed) string {
	title := u.Title.ZH
	if title == "" {
		title = u.Policy
	}
	if u.Subject.Kind == KindOrganisation {
		return fmt.Sprintf("贵单位可能符合“%s”的条件，尚未申请。可登录吹哨在企业待遇页一键申请，或咨询所在社区。", title)
	}
	return fmt.Sprintf("您可能符合“%s”的条件，尚未申请。可登录吹哨在“我的待遇”一键申请，或到所在社区咨询。", title)
}

// DeliverNotices sends up to 100 queued notices through ch, each once: a
// sent one is marked, a failed one counts an attempt and is tried on a
// later round, up to five times. It returns how many it sent.
func (e *Engine) DeliverNotices(ctx context.Context, ch notify.Channel) (n int, err error) {
	defer errs.Wrapf(&err, "policy.Engine.DeliverNotices")
	type notice struct {
		id          int64
		kind        string
		subject     int64
		phone, text string
	}
	rows, err := e.db.Query(ctx, `SELECT id, subject_kind, subject_id, text FROM elig_notices
		WHERE sent_at IS NULL AND attempts < $1 ORDER BY id LIMIT 100`, maxNoticeAttempts)
	if err != nil {
		return 0, db.Translate(err)
	}
	defer rows.Close()
	var ns []notice
	for rows.Next() {
		var x notice
		if err := rows.Scan(&x.id, &x.kind, &x.subject, &x.text); err != nil {
			return 0, db.Translate(err)
		}
		ns = append(ns, x)
	}
	if err := rows.Err(); err != nil {
		return 0, db.Translate(err)
	}
	rows.Close()
	// The phone is the registry's when the text is sent: a subject gone
	// since has none.
	for i := range ns {
		phone, _, err := e.registry.Contact(ctx, ns[i].kind, ns[i].subject)
		if err != nil && !errs.Is(err, errs.NotFound) {
			return 0, err
		}
		ns[i].phone = phone
	}
	for _, x := range ns {
		sendErr := fmt.Errorf("no phone on record")
		if x.phone != "" {
			sendErr = ch.Send(ctx, notify.Address{Phone: x.phone}, "", x.text)
		}
		err := e.db.InTx(ctx, func(tx *db.Tx) error {
			var err error
			if sendErr == nil {
				_, err = tx.Exec(ctx, `UPDATE elig_notices SET sent_at = $1, attempts = attempts + 1, last_error = '' WHERE id = $2`, tx.Now(), x.id)
			} else {
				_, err = tx.Exec(ctx, `UPDATE elig_notices SET attempts = attempts + 1, last_error = $1 WHERE id = $2`, truncate(sendErr.Error(), 300), x.id)
			}
			return db.Translate(err)
		})
		if err != nil {
			return n, err
		}
		if sendErr == nil {
			n++
		}
	}
	return n, nil
}

func truncate(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n])
	}
	return s
}

// RunNotices sends the queued notices through ch until ctx ends, a round
// every interval.
func (e *Engine) RunNotices(ctx context.Context, ch notify.Channel, logger *slog.Logger, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if n, err := e.DeliverNotices(ctx, ch); err != nil && ctx.Err() == nil {
			logger.Warn("eligibility: notices", "err", err)
		} else if n > 0 {
			logger.Info("eligibility: notices sent", "n", strconv.Itoa(n))
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
