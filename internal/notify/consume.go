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

// Noticer says who is concerned by the steps of a batch of the feed
// (casework.Service.Notices): a notice per event, nil for none, and
// errs.NotFound in gone for an event whose case is gone.
type Noticer interface {
	Notices(ctx context.Context, tx *db.Tx, evs []feed.Event) (nts []*casework.Notice, gone []error, err error)
}

// Notifier turns the feed's case events into inbox entries and queues
// their outbound copies.
type Notifier struct {
	cases  Noticer
	logger *slog.Logger
	// out, when set, gets the outbound copies of each entry, queued in
	// the same transaction (see WithOutbox).
	out *Outbox
	// limits, when set, says how much of the case's limit is left, in
	// its unit (see WithLimits).
	limits Limits
	// subjects say who is told of the other subject kinds' events.
	subjects map[string]Subjects
}

// Tell is a notice about a subject other than a case (a dispute, a
// hazard): the catalogue key and arguments of its text and who to tell.
type Tell struct {
	Key        string
	Args       []any
	Recipients []int64
	Urgent     bool
}

// Subjects says who is concerned by a feed event of a subject kind other
// than a case, and what to tell them (dispute.Service).
type Subjects interface {
	Tells(ctx context.Context, tx *db.Tx, ev feed.Event) ([]Tell, error)
}

// WithSubjects makes n tell the people concerned by the feed events of
// subject kind through the same inbox and outbox as the cases.
func (n *Notifier) WithSubjects(kind string, s Subjects) *Notifier {
	if n.subjects == nil {
		n.subjects = map[string]Subjects{}
	}
	n.subjects[kind] = s
	return n
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
	n.out = out
	return n
}

// Limits are the cases' time limits (sla.Engine.Words): the time left on
// each case's running limit in the limit's unit (none for a case without
// one), and how to say a span of a case's limit's clock in its unit.
type Limits interface {
	Words(ctx context.Context, caseIDs []int64, now time.Time) (left map[int64]i18n.Phrase, span func(caseID int64, d time.Duration) i18n.Phrase, err error)
}

// WithLimits makes n say by when in the limit's unit ("剩余 1.5 个工作小时，
// 截止 12月8日 17:30") and a postponement in that unit ("延长 2 个工作日").
// Without it a message gives the deadline's date and time, and hours.
func (n *Notifier) WithLimits(l Limits) *Notifier {
	n.limits = l
	return n
}

// Timing is what a message says about the case's running limit: the time
// left (nil: unknown, or none running) and how to say a span of its clock
// in its unit.
type Timing struct {
	Left *i18n.Phrase
	Span func(time.Duration) i18n.Phrase
}

// needsTiming says whether nt's message says anything of its case's
// running limit.
func needsTiming(nt *casework.Notice) bool {
	return !nt.Deadline.IsZero() || nt.Hours != 0 || nt.Granted != 0
}

// timings reads the time left on the cases of the notices that need it, in
// one call.
func (n *Notifier) timings(ctx context.Context, nts []*casework.Notice, now time.Time) (map[int64]Timing, error) {
	out := map[int64]Timing{}
	if n.limits == nil {
		return out, nil
	}
	var ids []int64
	for _, nt := range nts {
		if nt != nil && needsTiming(nt) {
			ids = append(ids, nt.CaseID)
		}
	}
	if len(ids) == 0 {
		return out, nil
	}
	left, span, err := n.limits.Words(ctx, ids, now)
	if err != nil {
		return nil, err
	}
	for id, l := range left {
		out[id] = Timing{Left: &l, Span: func(d time.Duration) i18n.Phrase { return span(id, d) }}
	}
	return out, nil
}

// Consumer is the feed consumer that writes the inbox entries, in the
// transaction that stores its cursor (exactly once).
func (n *Notifier) Consumer() feed.Consumer {
	return feed.Consumer{Name: ConsumerName, HandleTx: n.handle}
}

// handle writes the entries of a batch of events, in the events' order,
// with a constant number of reads for the batch (the cases, the holders of
// each place's roles, the time left, the recipients' settings) and the
// writes queued (db.Tx.Queue), each entry's id reserved ahead.
func (n *Notifier) handle(ctx context.Context, tx *db.Tx, evs []feed.Event) error {
	nts, gone, err := n.cases.Notices(ctx, tx, evs)
	if err != nil {
		return err
	}
	tms, err := n.timings(ctx, nts, tx.Now())
	if err != nil {
		return err
	}
	var entries []entry
	for i, ev := range evs {
		if sub, ok := n.subjects[ev.SubjectKind]; ok {
			msgs, err := sub.Tells(ctx, tx, ev)
			if err != nil {
				return err
			}
			for _, m := range msgs {
				for _, u := range m.Recipients {
					entries = append(entries, entry{userID: u, kind: ev.SubjectKind, key: m.Key, args: m.Args, action: ev.Kind, urgent: m.Urgent,
						subjectKind: ev.SubjectKind, subjectID: ev.SubjectID})
				}
			}
			continue
		}
		if errs.Is(gone[i], errs.NotFound) {
			// A case gone (never, today) must not stop the feed.
			n.logger.Warn("notify: event skipped", "position", ev.Position, "err", gone[i])
			continue
		}
		nt := nts[i]
		if nt == nil {
			continue
		}
		var tm Timing
		if needsTiming(nt) {
			tm = tms[nt.CaseID]
		}
		for _, r := range nt.Recipients {
			entries = append(entries, caseEntry(nt, r, tm))
		}
	}
	return n.insert(ctx, tx, entries)
}

// caseEntry is one recipient's entry of a case's notice.
func caseEntry(nt *casework.Notice, r casework.Recipient, tm Timing) entry {
	key, args, parts := Compose(nt, r, tm)
	expected := make([]string, len(r.Expected))
	for i, a := range r.Expected {
		expected[i] = string(a)
	}
	return entry{userID: r.UserID, caseID: nt.CaseID, kind: r.Kind, key: key, args: args, action: string(nt.Action),
		expected: expected, parts: parts, urgent: nt.Urgent}
}

// entry is one inbox entry as stored; caseID 0 is none, and so is
// subjectID 0 (the subject of an entry about something else than a case).
type entry struct {
	userID, caseID    int64
	kind, key, action string
	args              []any
	expected          []string
	parts             []Part
	urgent            bool
	subjectKind       string
	subjectID         int64
}

// insert stores inbox entries, in order, and queues their outbound copies,
// in tx: the entries' ids are reserved in one statement and their INSERTs
// queued, and the recipients' settings read in one query.
func (n *Notifier) insert(ctx context.Context, tx *db.Tx, es []entry) error {
	if len(es) == 0 {
		return nil
	}
	var sets map[int64]settingsRow
	if n.out != nil {
		users := make([]int64, len(es))
		for i, e := range es {
			users[i] = e.userID
		}
		var err error
		if sets, err = n.out.settingsOf(ctx, tx, users); err != nil {
			return err
		}
	}
	if err := tx.Reserve(ctx, "notifications", len(es)); err != nil {
		return err
	}
	for _, e := range es {
		if e.args == nil {
			e.args = []any{}
		}
		if e.expected == nil {
			e.expected = []string{}
		}
		if e.parts == nil {
			e.parts = []Part{}
		}
		ab, _ := json.Marshal(e.args)
		eb, _ := json.Marshal(e.expected)
		pb, _ := json.Marshal(e.parts)
		var caseID, subjectID any
		if e.caseID != 0 {
			caseID = e.caseID
		}
		if e.subjectID != 0 {
			subjectID = e.subjectID
		}
		id, err := tx.Insert(ctx, "notifications", `INSERT INTO notifications (id, user_id, case_id, kind, msg_key, msg_args, created_at, action, expected, parts, urgent, subject_kind, subject_id)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id`,
			e.userID, caseID, e.kind, e.key, string(ab), tx.Now(), e.action, string(eb), string(pb), e.urgent, e.subjectKind, subjectID)
		if err != nil {
			return err
		}
		if set, ok := sets[e.userID]; ok {
			if err := n.out.enqueue(ctx, tx, set, id, e.urgent); err != nil {
				return err
			}
		}
	}
	return nil
}

// shanghai is where deadlines are read (UTC+8, no summer time).
func shanghai() *time.Location { return time.FixedZone("CST", 8*3600) }

// Compose builds a recipient's message: what happened on which case, what
// they may now do, by when, and what the step carries for them (a
// leader's instruction, a rating and its comment, a postponement asked or
// granted). With tm.Left, "by when" is the time left in the limit's unit
// and the deadline (notify2.left), and a postponement is said in that
// unit. Arguments written "t:KEY" are catalogue keys and i18n.Phrase
// arguments phrases, both translated on reading.
func Compose(nt *casework.Notice, r casework.Recipient, tm Timing) (string, []any, []Part) {
	args := []any{nt.Number, nt.Title, "t:action." + string(nt.Action), "t:status." + string(nt.To)}
	var parts []Part
	if len(r.Expected) > 0 {
		list := make([]any, len(r.Expected))
		for i, a := range r.Expected {
			list[i] = "t:action." + string(a)
		}
		parts = append(parts, Part{Key: "notify.expected", Args: []any{list}})
		switch {
		case !nt.Deadline.IsZero() && tm.Left != nil:
			parts = append(parts, Part{Key: "notify2.left", Args: []any{*tm.Left, i18n.Phrase{Key: "left.deadline", Args: []any{datePhrase(nt.Deadline)}}}})
		case !nt.Deadline.IsZero():
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
	switch {
	case nt.Hours > 0 && tm.Left != nil:
		parts = append(parts, Part{Key: "notify2.postpone", Args: []any{tm.Span(time.Duration(nt.Hours) * time.Hour), clause(nt.Reason)}})
	case nt.Hours > 0:
		parts = append(parts, Part{Key: "notify.postpone", Args: []any{nt.Hours, clause(nt.Reason)}})
	}
	if nt.Granted > 0 {
		span := i18n.Phrase{Key: "span.hours", Args: []any{nt.Granted}}
		if tm.Left != nil {
			span = tm.Span(time.Duration(nt.Granted) * time.Hour)
		}
		parts = append(parts, Part{Key: "notify2.postponed", Args: []any{span}})
	}
	return "notify.step", args, parts
}

// datePhrase says a deadline's date and time in Shanghai: "12月8日 17:30",
// "8 Dec 17:30" (notify2.date: month, day, time, the month's English
// abbreviation).
func datePhrase(t time.Time) i18n.Phrase {
	l := t.In(shanghai())
	return i18n.Phrase{Key: "notify2.date", Args: []any{int(l.Month()), l.Day(), l.Format("15:04"), l.Month().String()[:3]}}
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
	tr := func(args []any) []any { return translateArgs(t, lang, args) }
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

func translateArgs(t Translator, lang i18n.Lang, args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		out[i] = translateArg(t, lang, a)
	}
	return out
}

func translateArg(t Translator, lang i18n.Lang, a any) any {
	switch v := a.(type) {
	case i18n.Phrase:
		return t.T(lang, v.Key, translateArgs(t, lang, v.Args)...)
	case map[string]any: // an i18n.Phrase read back from JSON
		if key, ok := v["k"].(string); ok {
			args, _ := v["a"].([]any)
			return t.T(lang, key, translateArgs(t, lang, args)...)
		}
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
