package web

import (
	"testing"

	"whistle/internal/notify"
)

// TestMessageLink: an inbox entry links to its case, or to the page of a
// subject kind that has one; nothing for the others.
func TestMessageLink(t *testing.T) {
	for _, tc := range []struct {
		m    notify.Message
		want string
	}{
		{notify.Message{CaseID: 7, Kind: "next"}, "/cases/7"},
		{notify.Message{Kind: "dispute", SubjectKind: "dispute", SubjectID: 8}, "/disputes/8"},
		{notify.Message{Kind: "hazard", SubjectKind: "hazard", SubjectID: 9}, "/hazards/9"},
		{notify.Message{Kind: "benefit", SubjectKind: "benefit", SubjectID: 10}, ""},
		{notify.Message{Kind: "hazard", SubjectKind: "hazard"}, ""},
		{notify.Message{Kind: "next"}, ""},
	} {
		if got := messageLink(tc.m); got != tc.want {
			t.Errorf("messageLink(%+v) = %q, want %q", tc.m, got, tc.want)
		}
	}
}
