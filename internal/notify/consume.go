package notify

import (
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"time"

	"whistle/internal/casework"
	"whistle/internal/db"
	"whistle/internal/errs"
	"whistle/internal/feed"
	"whistle/internal/i18n"
)

// ConsumerName keys the notifications' cursor on the change feed.
const ConsumerName = "notify"

// Noticer says who is concerned by a step of the feed (casework.Service).
type Noticer interface {
	Notice(ctx context.Context, tx *db.Tx, ev feed.Event) (*casework.Notice, error)
}

// Notifier turns the feed's case events into inbox entries and queues
// their outbound copies.
type Notifier struct {
	cases  Noticer
	logger *slog.Logger
	// queue, when set, queues the outbound copies of an entry in the
	// same transaction (Outbox.enqueue, see WithOutbox).
	queue func(ctx context.Context, tx *db.Tx, userID, notificationID int64, urgent bool) error
}

// NewNotifier returns a Notifier that asks cases who is concerned.
func NewNotifier(cases Noticer, logger *slog.Logger) *Notifier {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Notifier{cases: cases, logger: logger}
}

// WithOutbox makes n queue each entry's outbound copies in out, in the
// transaction that writes the entry.
func (n *Notifier) WithOutbox(out *Outbox) *Notifier {
	n.queue = out.enqueue
	return n
}

// Consumer is the feed consumer that writes the inbox entries, in the
// transaction that stores its cursor (exactly once).
func (n *Notifier) Consumer() feed.Consumer {
	return feed.Consumer{Name: ConsumerName, HandleTx: n.handle}
}

func (n *Notifier) handle(ctx context.Context, tx *db.Tx, evs []feed.Event) error {
	for _, ev := range evs {
		nt, err := n.cases.Notice(ctx, tx, ev)
		if errs.Is(err, errs.NotFound) {
			// A case gone (never, today) must not stop the feed.
			n.logger.Warn("notify: event skipped", "position", ev.Position, "err", err)
			continue
		}
		if err != nil {
			return err
		}
		if nt == nil {
			continue
		}
		for _, r := range nt.Recipients {
			if err := n.write(ctx, tx, nt, r); err != nil {
				return err
			}
		}
	}
	return nil
}

// write stores one recipient's entry of a notice.
func (n *Notifier) write(ctx context.Context, tx *db.Tx, nt *casework.Notice, r casework.Recipient) error {
	key, args, parts := Compose(nt, r)
	expected := make([]string, len(r.Expected))
	for i, a := range r.Expected {
		expected[i] = string(a)
	}
	ab, _ := json.Marshal(args)
	eb, _ := json.Marshal(expected)
	pb, _ := json.Marshal(parts)
	id, err := tx.InsertID(ctx, `INSERT INTO notifications (user_id, case_id, kind, msg_key, msg_args, created_at, action, expected, parts, urgent)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id`,
		r.UserID, nt.CaseID, r.Kind, key, string(ab), tx.Now(), string(nt.Action), string(eb), string(pb), nt.Urgent)
	if err != nil {
		return err
	}
	if n.queue != nil {
		return n.queue(ctx, tx, r.UserID, id, nt.Urgent)
	}
	return nil
}

// shanghai is where deadlines are read (UTC+8, no summer time).
func shanghai() *time.Location { return time.FixedZone("CST", 8*3600) }

// Compose builds a recipient's message: what happened on which case, what
// they may now do, by when, and what the step carries for them (a
// leader's instruction, a rating and its comment, a postponement asked).
// Arguments written "t:KEY" are catalogue keys, translated on reading.
func Compose(nt *casework.Notice, r casework.Recipient) (string, []any, []Part) {
	args := []any{nt.Number, nt.Title, "t:action." + string(nt.Action), "t:status." + string(nt.To)}
	var parts []Part
	if len(r.Expected) > 0 {
		list := make([]any, len(r.Expected))
		for i, a := range r.Expected {
			list[i] = "t:action." + string(a)
		}
		parts = append(parts, Part{Key: "notify.expected", Args: []any{list}})
		if !nt.Deadline.IsZero() {
			parts = append(parts, Part{Key: "notify.by", Args: []any{nt.Deadline.In(shanghai()).Format("2006-01-02 15:04")}})
		}
	}
	if nt.Instruction != "" {
		parts = append(parts, Part{Key: "notify.instruction", Args: []any{clause(nt.Instruction)}})
	}
	if nt.Stars > 0 {
		comment := clause(nt.Comment)
		if comment == "" {
			comment = "—"
		}
		parts = append(parts, Part{Key: "notify.rating", Args: []any{nt.Stars, comment}})
	}
	if nt.Hours > 0 {
		parts = append(parts, Part{Key: "notify.postpone", Args: []any{nt.Hours, clause(nt.Reason)}})
	}
	return "notify.step", args, parts
}

// clause is a user's sentence without its closing stop: the catalogue's
// text ends it, and "理由：需协调。。" reads wrong.
func clause(s string) string {
	return strings.TrimRight(strings.TrimSpace(s), "。．.！!；;")
}

// Translator is the message catalogue (i18n.Catalog).
type Translator interface {
	T(lang i18n.Lang, key string, args ...any) string
}

// Render sets m.Text in lang: the key with its arguments, then each part.
// An argument "t:KEY" is translated, a list is translated item by item
// and joined; entries written before the parts existed (notify.case_step:
// number, action, status) are read as they were.
func (m *Message) Render(t Translator, lang i18n.Lang) {
	tr := func(args []any) []any {
		out := make([]any, len(args))
		for i, a := range args {
			out[i] = translateArg(t, lang, a)
		}
		return out
	}
	args := m.Args
	if m.Key == "notify.case_step" && len(args) == 3 {
		args = []any{args[0], "t:action." + str(args[1]), "t:status." + str(args[2])}
	}
	var b strings.Builder
	b.WriteString(t.T(lang, m.Key, tr(args)...))
	for _, p := range m.Parts {
		b.WriteString(t.T(lang, p.Key, tr(p.Args)...))
	}
	m.Text = b.String()
}

func translateArg(t Translator, lang i18n.Lang, a any) any {
	switch v := a.(type) {
	case string:
		if k, ok := strings.CutPrefix(v, "t:"); ok {
			return t.T(lang, k)
		}
	case []any:
		items := make([]string, len(v))
		for i, x := range v {
			items[i] = str(translateArg(t, lang, x))
		}
		return strings.Join(items, t.T(lang, "notify.list_sep"))
	case float64:
		if v == float64(int64(v)) {
			return int64(v) // JSON numbers, for %d
		}
	}
	return a
}

func str(v any) string {
	switch s := v.(type) {
	case string:
		return s
	case nil:
		return ""
	}
	b, _ := json.Marshal(v)
	return string(b)
}
