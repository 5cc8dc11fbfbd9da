package dispute

import (
	"context"
	"encoding/json"
	"fmt"

	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/feed"
	"whistle/internal/notify"
)

// Tells says who is told of a dispute's or a hazard's step (the notify
// consumer's Subjects): the staff an escalation names, of a hazard; the
// mediator when a dispute is accepted (assigned) and when its return
// visit falls due (the registrar if it has no mediator).
func (s *Service) Tells(ctx context.Context, tx *db.Tx, ev feed.Event) (_ []notify.Tell, err error) {
	defer errs.Wrapf(&err, "dispute.Service.Tells(%d)", ev.Position)
	switch ev.SubjectKind {
	case KindHazard:
		var p struct {
			Private struct {
				Notify []int64 `json:"notify"`
				Region string  `json:"region"`
			} `json:"private"`
		}
		if err := json.Unmarshal(ev.Payload, &p); err != nil {
			return nil, fmt.Errorf("payload: %w", err)
		}
		if len(p.Private.Notify) == 0 {
			return nil, nil
		}
		var title string
		if err := tx.QueryRow(ctx, `SELECT title FROM hazards WHERE id = $1`, ev.SubjectID).Scan(&title); err != nil {
			return nil, db.Translate(err)
		}
		return []notify.Tell{{Key: "dispute2.msg.escalated", Args: []any{title, p.Private.Region}, Recipients: p.Private.Notify, Urgent: true}}, nil
	case KindDispute:
		key := map[string]string{"accept": "dispute2.msg.assigned", "revisit_due": "dispute2.msg.revisit_due"}[ev.Kind]
		if key == "" {
			return nil, nil
		}
		var title string
		var mediator, registrar int64
		if err := tx.QueryRow(ctx, `SELECT title, COALESCE(mediator_id, 0), COALESCE(created_by, 0) FROM disputes WHERE id = $1`, ev.SubjectID).
			Scan(&title, &mediator, &registrar); err != nil {
			return nil, db.Translate(err)
		}
		to := mediator
		if to == 0 {
			to = registrar
		}
		if to == 0 {
			return nil, nil
		}
		return []notify.Tell{{Key: key, Args: []any{title}, Recipients: []int64{to}}}, nil
	}
	return nil, nil
}
