package open311_test

import (
	"bytes"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"whistle/internal/casework"
	"whistle/internal/category"
	"whistle/internal/i18n"
	"whistle/internal/open311"
)

func TestParseTime(t *testing.T) {
	tests := []struct {
		in      string
		want    string // UTC, RFC 3339
		wantErr error
	}{
		{"2024-05-01T08:30:00+08:00", "2024-05-01T00:30:00Z", nil},
		{"2024-05-01T00:30:00Z", "2024-05-01T00:30:00Z", nil},
		{"2024-05-01T08:30+08:00", "2024-05-01T00:30:00Z", nil},
		{"2024-05-01T08:30:00.5-05:00", "2024-05-01T13:30:00.5Z", nil},
		{" 2024-05-01T08:30:00Z ", "2024-05-01T08:30:00Z", nil},
		{"2024-05-01T08:30:00", "", open311.ErrNoZone},
		{"2024-05-01T08:30", "", open311.ErrNoZone},
		{"2024-05-01", "", open311.ErrNoZone},
		{"yesterday", "", open311.ErrNotDateTime},
		{"2024-13-01T00:00:00Z", "", open311.ErrNotDateTime},
	}
	for _, tt := range tests {
		got, err := open311.ParseTime(tt.in)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("ParseTime(%q) error = %v, want %v", tt.in, err, tt.wantErr)
			continue
		}
		if err == nil && got.UTC().Format(time.RFC3339Nano) != tt.want {
			t.Errorf("ParseTime(%q) = %s, want %s", tt.in, got.UTC().Format(time.RFC3339Nano), tt.want)
		}
	}
}

func TestFormatTime(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2024, 5, 1, 0, 30, 0, 0, time.UTC), "2024-05-01T08:30:00+08:00"},
		{time.Date(2024, 5, 1, 20, 30, 59, 999, time.UTC), "2024-05-02T04:30:59+08:00"},
		{time.Date(2024, 5, 1, 8, 30, 0, 0, time.FixedZone("x", -3600)), "2024-05-01T17:30:00+08:00"},
		{time.Time{}, ""},
	}
	for _, tt := range tests {
		if got := open311.FormatTime(tt.in); got != tt.want {
			t.Errorf("FormatTime(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestWindow(t *testing.T) {
	now := time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	tests := []struct {
		name             string
		start, end       time.Time
		wantFrom, wantTo time.Time
		wantErr          error
	}{
		{"neither: the last 90 days", time.Time{}, time.Time{}, now.Add(-90 * day), now, nil},
		{"start only", now, time.Time{}, now, now.Add(90 * day), nil},
		{"end only", time.Time{}, now, now.Add(-90 * day), now, nil},
		{"exactly 90 days", now.Add(-90 * day), now, now.Add(-90 * day), now, nil},
		{"one second over", now.Add(-90*day - time.Second), now, time.Time{}, time.Time{}, open311.ErrSpan},
		{"reversed", now, now.Add(-time.Hour), time.Time{}, time.Time{}, open311.ErrOrder},
		{"an instant", now, now, now, now, nil},
	}
	for _, tt := range tests {
		from, to, err := open311.Window(tt.start, tt.end, now)
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("%s: error %v, want %v", tt.name, err, tt.wantErr)
			continue
		}
		if err == nil && (!from.Equal(tt.wantFrom) || !to.Equal(tt.wantTo)) {
			t.Errorf("%s: got [%v, %v], want [%v, %v]", tt.name, from, to, tt.wantFrom, tt.wantTo)
		}
	}
}

func TestStatus(t *testing.T) {
	tests := []struct {
		action   casework.Action
		to       casework.State
		basic    string
		extended string
	}{
		{casework.ActSubmit, casework.Submitted, "open", "open"},
		{casework.ActAccept, casework.Accepted, "open", "investigating"},
		{casework.ActRegister, casework.Registered, "open", "investigating"},
		{casework.ActOpenForClaim, casework.Claimable, "open", "action_scheduled"},
		{casework.ActDispatch, casework.Dispatched, "open", "action_scheduled"},
		{casework.ActStart, casework.InProgress, "open", "in_progress"},
		{casework.ActClaim, casework.InProgress, "open", "in_progress"},
		{casework.ActVerify, casework.InProgress, "open", "in_progress"}, // rework
		{casework.ActRate, casework.InProgress, "open", "reopen"},
		{casework.ActResolve, casework.Resolved, "open", "in_progress"},
		{casework.ActVerify, casework.Verified, "open", "fixed"},
		{casework.ActClose, casework.Closed, "closed", "fixed"},
		{casework.ActRate, casework.Closed, "closed", "fixed"},
		{casework.ActReject, casework.Rejected, "closed", "no_further_action"},
		{casework.ActDecline, casework.Declined, "closed", "not_councils_responsibility"},
		{casework.ActMerge, casework.Merged, "closed", "duplicate"},
		{casework.ActSuspend, casework.Suspended, "open", "investigating"},
		{casework.ActReturn, casework.Registered, "open", "internal_referral"},
		{casework.ActResume, casework.Dispatched, "open", "action_scheduled"},
	}
	for _, tt := range tests {
		if got := open311.Status(tt.to); got != tt.basic {
			t.Errorf("Status(%s) = %s, want %s", tt.to, got, tt.basic)
		}
		if got := open311.ExtendedStatus(tt.action, tt.to); got != tt.extended {
			t.Errorf("ExtendedStatus(%s, %s) = %s, want %s", tt.action, tt.to, got, tt.extended)
		}
	}
	// Every state of both workflows is in the table, and every status in
	// it is one the extension defines.
	for _, w := range casework.Workflows() {
		for _, s := range w.States {
			found := false
			for _, row := range open311.StatusTable() {
				for _, x := range row.States {
					found = found || (x == s && row.Action == "")
				}
			}
			if !found {
				t.Errorf("state %s of %s has no row of its own in StatusTable", s, w.Name)
			}
		}
	}
	for _, row := range open311.StatusTable() {
		if got, ok := open311.ParseUpdateStatus(strings.ToUpper(row.Status)); !ok || got != row.Status {
			t.Errorf("StatusTable uses %q, which ParseUpdateStatus refuses", row.Status)
		}
	}
}

func TestUpdateAction(t *testing.T) {
	tests := []struct {
		in   string
		ok   bool
		want casework.Action
	}{
		{"FIXED", true, casework.ActClose},
		{"closed", true, casework.ActClose},
		{"IN_PROGRESS", false, ""},
		{"NOT_COUNCILS_RESPONSIBILITY", false, ""},
	}
	for _, tt := range tests {
		s, valid := open311.ParseUpdateStatus(tt.in)
		if !valid {
			t.Fatalf("ParseUpdateStatus(%q) refused", tt.in)
		}
		a, ok := open311.UpdateAction(s)
		if ok != tt.ok || a != tt.want {
			t.Errorf("UpdateAction(%s) = %s %v, want %s %v", s, a, ok, tt.want, tt.ok)
		}
	}
	if _, ok := open311.ParseUpdateStatus("SOLVED"); ok {
		t.Error("ParseUpdateStatus accepted SOLVED")
	}
}

func TestAttributes(t *testing.T) {
	tests := []struct {
		query   string
		want    string // sorted k=v
		wantBad string
	}{
		{"attribute[a]=1&attribute[b][]=x&attribute[b][]=y&other=z", "a=1 b=x,y", ""},
		{"attribute[a]=+&attribute[b]=", "", ""},
		{"attribute[a]=1&attribute[a][]=2", "a=1,2", ""},
		{"attribute[=1&attribute[]=2&attribute[a]x=3&attribute[a][0]=4", "", "attribute[ attribute[] attribute[a][0] attribute[a]x"},
	}
	for _, tt := range tests {
		form, err := url.ParseQuery(tt.query)
		if err != nil {
			t.Fatal(err)
		}
		vals, bad := open311.Attributes(form)
		var got []string
		for _, k := range []string{"a", "b"} {
			if v, ok := vals[k]; ok {
				got = append(got, k+"="+v)
			}
		}
		if g := strings.Join(got, " "); g != tt.want {
			t.Errorf("Attributes(%s) = %q, want %q", tt.query, g, tt.want)
		}
		if g := strings.Join(bad, " "); g != tt.wantBad {
			t.Errorf("Attributes(%s) bad = %q, want %q", tt.query, g, tt.wantBad)
		}
	}
}

func TestNormalizePhone(t *testing.T) {
	tests := []struct{ in, want string }{
		{"13912345678", "13912345678"},
		{"+86 139-1234-5678", "13912345678"},
		{"(86) 139 1234 5678", "13912345678"},
		{"0577-88888888", ""},
		{"23912345678", ""},
		{"139123456789", ""},
		{"1391234567x", ""},
		{"", ""},
	}
	for _, tt := range tests {
		if got := open311.NormalizePhone(tt.in); got != tt.want {
			t.Errorf("NormalizePhone(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSplitFormat(t *testing.T) {
	tests := []struct {
		in, name string
		f        open311.Format
		ok       bool
	}{
		{"services.json", "services", open311.JSON, true},
		{"services.xml", "services", open311.XML, true},
		{"WS2026.xml", "WS2026", open311.XML, true},
		{"WS2026", "WS2026", open311.JSON, false},
		{"services.yaml", "services.yaml", open311.JSON, false},
	}
	for _, tt := range tests {
		name, f, ok := open311.SplitFormat(tt.in)
		if name != tt.name || f != tt.f || ok != tt.ok {
			t.Errorf("SplitFormat(%q) = %q %s %v, want %q %s %v", tt.in, name, f, ok, tt.name, tt.f, tt.ok)
		}
	}
}

func TestWriteList(t *testing.T) {
	tests := []struct {
		f     open311.Format
		items []open311.Error
		want  string
	}{
		{open311.JSON, nil, "[]\n"},
		{open311.JSON, []open311.Error{{Code: 404, Description: "无 <x> & y"}}, `[{"code":404,"description":"无 <x> & y"}]` + "\n"},
		{open311.XML, nil, `<?xml version="1.0" encoding="UTF-8"?>` + "\n<errors></errors>"},
		{open311.XML, []open311.Error{{Code: 403, Description: "api_key <bad>"}},
			`<?xml version="1.0" encoding="UTF-8"?>` + "\n<errors><error><code>403</code><description>api_key &lt;bad&gt;</description></error></errors>"},
	}
	for _, tt := range tests {
		var b bytes.Buffer
		if err := open311.WriteList(&b, tt.f, open311.RootErrors, tt.items); err != nil {
			t.Fatal(err)
		}
		if got := b.String(); got != tt.want {
			t.Errorf("WriteList(%s, %v):\ngot  %q\nwant %q", tt.f, tt.items, got, tt.want)
		}
	}
}

func TestCatalog(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	all := []*category.Category{
		{Code: "ZL", Name: "基层治理", NameEN: "Governance", Active: true, UpdatedAt: at},
		{Code: "ZL05", ParentCode: "ZL", Name: "噪音, 扰民", NameEN: "Noise", Active: true, Open311: true,
			Fields: []category.Field{{Key: "b", Label: "乙", Datatype: category.FieldString, Order: 5}, {Key: "a", Label: "甲", Datatype: category.FieldString, Order: 5}}},
		{Code: "ZL06", ParentCode: "ZL", Name: "停用", Active: false, Open311: true},
		{Code: "XX", Name: "停用根", Active: false},
		{Code: "XX01", ParentCode: "XX", Name: "子", Active: true, Open311: true, UpdatedAt: at.Add(time.Hour)},
		{Code: "ZL07", ParentCode: "ZL", Name: "不开放", Active: true},
	}
	c := open311.NewCatalog(all)
	var codes []string
	for _, s := range c.Services(i18n.ZH) {
		codes = append(codes, s.Code)
	}
	if got, want := strings.Join(codes, ","), "ZL05"; got != want {
		t.Errorf("offered: got %s, want %s", got, want)
	}
	s := c.Services(i18n.ZH)[0]
	if s.Group != "基层治理" || s.Keywords != "Noise,基层治理" || s.Description != "基层治理 › 噪音, 扰民" || !s.Metadata || s.Type != "realtime" {
		t.Errorf("service: %+v", s)
	}
	if en := c.Services(i18n.EN)[0]; en.Name != "Noise" || en.Group != "Governance" || en.Keywords != "噪音  扰民,Governance" {
		t.Errorf("English service: %+v", en)
	}
	// The changeset covers inactive categories too.
	if got, want := c.Changeset(), "2026-01-02T04:04:05Z"; got != want {
		t.Errorf("changeset: got %s, want %s", got, want)
	}
	tr, err := i18n.Load()
	if err != nil {
		t.Fatal(err)
	}
	d, ok := c.Definition("ZL05", tr, i18n.ZH)
	if !ok || len(d.Attributes) != 2 || d.Attributes[0].Code != "a" || d.Attributes[0].Order != 1 || d.Attributes[1].Order != 2 {
		t.Errorf("definition: orders must be unique from 1, ties by code: %+v", d)
	}
	if _, ok := c.Definition("XX01", tr, i18n.ZH); ok {
		t.Error("a category under an inactive parent has a definition")
	}
}
