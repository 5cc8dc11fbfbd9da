package sla

import (
	"context"
	"strings"
	"testing"
	"time"

	"whistle/internal/casework"
	"whistle/internal/feed"
	"whistle/internal/i18n"
	"whistle/internal/notify"
	"whistle/internal/sla/calendar"
)

// TestWords says a limit in its unit, in zh and en: the pages' time left
// and a span of the limit's clock (a postponement).
func TestWords(t *testing.T) {
	t.Parallel()
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		p      i18n.Phrase
		zh, en string
	}{
		{"working hours left", Left{Unit: calendar.WorkingTime, Remaining: 90 * time.Minute}.Words(), "剩余 1.5 个工作小时", "1.5 working hours left"},
		{"working hours over", Left{Unit: calendar.WorkingTime, Remaining: -30 * time.Minute}.Words(), "已超时 0.5 个工作小时", "0.5 working hours overdue"},
		{"working days left", Left{Unit: calendar.WorkingDays, Remaining: 16 * time.Hour, Days: 2}.Words(), "剩余 2 个工作日", "2 working days left"},
		{"natural time left", Left{Unit: calendar.NaturalTime, Remaining: 27 * time.Hour}.Words(), "剩余 1 天 3 小时", "1 d 3 h left"},
		{"paused", Left{Unit: calendar.WorkingTime, Remaining: time.Hour, Paused: true}.Words(), "暂停计时（剩余 1 个工作小时）", "clock paused (1 working hours left)"},
		{"span in working days", Span(calendar.WorkingDays, 16*time.Hour, 8*time.Hour), "2 个工作日", "2 working days"},
		{"span in working days, 7.5 h a day", Span(calendar.WorkingDays, 8*time.Hour, 7*time.Hour+30*time.Minute), "1.1 个工作日", "1.1 working days"},
		{"span in working hours", Span(calendar.WorkingTime, 8*time.Hour, 8*time.Hour), "8 个工作小时", "8 working hours"},
		{"span of a natural limit", Span(calendar.NaturalTime, 8*time.Hour, 8*time.Hour), "8 小时 0 分", "8 h 0 min"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := cat.Say(i18n.ZH, tt.p); got != tt.zh {
				t.Errorf("zh: got %q, want %q", got, tt.zh)
			}
			if got := cat.Say(i18n.EN, tt.p); got != tt.en {
				t.Errorf("en: got %q, want %q", got, tt.en)
			}
		})
	}
}

// toldAfter drains the notifications' consumer (saying limits through
// w.eng) and returns user's message about the case after action, in zh
// and en.
func (w *world) toldAfter(t testing.TB, user string, caseID int64, action casework.Action) (zh, en string) {
	t.Helper()
	ctx := context.Background()
	r, err := feed.NewRunner(w.d, feed.RunnerConfig{}, notify.NewNotifier(w.svc, nil).WithLimits(w.eng).Consumer())
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Drain(ctx); err != nil {
		t.Fatal(err)
	}
	cat, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	msgs, _, err := notify.Inbox(ctx, w.d, w.users[user].ID, 0, 50)
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range msgs {
		if m.CaseID == caseID && m.Action == string(action) {
			m.Render(cat, i18n.ZH)
			zh = m.Text
			m.Render(cat, i18n.EN)
			return zh, m.Text
		}
	}
	t.Fatalf("%s has no message about case %d after %s", user, caseID, action)
	return "", ""
}

// TestMessagesSayByWhenInTheLimitsUnit (issue 15, Build 6): the inbox
// message to whoever acts next gives the time left in the limit's unit
// and the deadline's date and time, and a postponement asked or granted
// says its hours in that unit (the calendar's working day is 7.5 hours:
// 8 hours are 1.1 working days), in zh and en.
func TestMessagesSayByWhenInTheLimitsUnit(t *testing.T) {
	t.Parallel()
	eachWorld(t, friday, func(t *testing.T, w *world) {
		// 卫生死角 submitted Friday 16:00: accept within 2 working hours,
		// due Sunday 09:00 (a make-up workday); then 2 working days to
		// handle, due Monday 16:00.
		c := w.submit(t, "resident", "ZL0302", inA)
		hours := 8
		steps := []struct {
			name   string
			who    string
			action casework.Action
			in     casework.Input
			told   string
			zh, en []string
		}{
			{"submitted: working hours", "resident", casework.ActSubmit, casework.Input{}, "staff-a",
				[]string{"剩余 2 个工作小时，截止 9月28日 09:00。"}, []string{" 2 working hours left, due 28 Sep 09:00."}},
			{"accepted", "staff-a", casework.ActAccept, casework.Input{}, "", nil, nil},
			{"dispatched: working days", "staff-a", casework.ActDispatch, casework.Input{Target: &casework.Target{Department: "CG"}}, "cg-handler",
				[]string{"剩余 2 个工作日，截止 9月29日 16:00。"}, []string{" 2 working days left, due 29 Sep 16:00."}},
			{"postponement asked", "cg-handler", casework.ActPostponeRequest, casework.Input{Hours: &hours, Reason: "需协调管线单位"}, "street",
				[]string{"剩余 2 个工作日，截止 9月29日 16:00。", "申请延期 1.1 个工作日，理由：需协调管线单位。"},
				[]string{" 2 working days left, due 29 Sep 16:00.", " A postponement of 1.1 working days is asked: 需协调管线单位."}},
			{"postponement granted", "street", casework.ActPostponeApprove, casework.Input{}, "cg-handler",
				[]string{"剩余 3.1 个工作日，截止 9月30日 16:30。", "延期已批准，时限延长 1.1 个工作日。"},
				[]string{" 3.1 working days left, due 30 Sep 16:30.", " Postponement granted: the time limit is extended by 1.1 working days."}},
		}
		for _, st := range steps {
			if st.action != casework.ActSubmit {
				w.act(t, st.who, c.ID, st.action, st.in)
			}
			if st.told == "" {
				continue
			}
			zh, en := w.toldAfter(t, st.told, c.ID, st.action)
			for _, want := range st.zh {
				if !strings.Contains(zh, want) {
					t.Errorf("%s: %s was told %q, want %q in it", st.name, st.told, zh, want)
				}
			}
			for _, want := range st.en {
				if !strings.Contains(en, want) {
					t.Errorf("%s: %s was told %q, want %q in it", st.name, st.told, en, want)
				}
			}
		}
	})
}
