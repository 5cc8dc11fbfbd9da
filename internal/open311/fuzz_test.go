package open311_test

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"whistle/internal/casework"
	"whistle/internal/open311"
)

// FuzzOpen311Form feeds an arbitrary urlencoded POST body to the Open311
// form decoders: the attribute answers, the phone number and the update
// status. Nothing may panic; what they accept must be well formed.
func FuzzOpen311Form(f *testing.F) {
	for _, s := range []string{
		"service_code=ZL0601&lat=27.9&long=120.7&description=%E8%B7%AF%E7%81%AF&attribute[floor]=3&attribute[kinds][]=a&attribute[kinds][]=b",
		"phone=%2B86+139-1234-5678&email=a%40b.c&first_name=%E5%BC%A0",
		"attribute[]=x&attribute[a]b]=y&attribute[a][][]=z&attribute[=1&attribute[ok]=+",
		"status=closed&description=done&media_url=http%3A%2F%2Fx", "phone=(86)13912345678", "phone=１３９１２３４５６７８",
		"a=%zz", "x;y=1", "",
		"status=+FIXED+&status=Closed&status=investigating&status=reopened&status=close",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body string) {
		form, err := url.ParseQuery(body)
		if err != nil && form == nil {
			return
		}
		values, bad := open311.Attributes(form)
		for code, v := range values {
			if code == "" || strings.ContainsAny(code, "]") || v == "" {
				t.Fatalf("attribute %q = %q accepted from %q (bad %v)", code, v, body, bad)
			}
		}
		for _, v := range form["phone"] {
			if p := open311.NormalizePhone(v); p != "" && (len(p) != 11 || strings.Trim(p, "0123456789") != "") {
				t.Fatalf("NormalizePhone(%q) = %q", v, p)
			}
		}
		// The statuses of the mySociety extension, written out apart from
		// the decoder; only fixed and closed ask Whistle to close a case.
		known := map[string]bool{"open": true, "closed": true, "fixed": true, "in_progress": true, "action_scheduled": true,
			"investigating": true, "duplicate": true, "not_councils_responsibility": true, "no_further_action": true,
			"internal_referral": true, "reopen": true}
		for _, v := range form["status"] {
			want := strings.ToLower(strings.TrimSpace(v))
			s, ok := open311.ParseUpdateStatus(v)
			if ok != known[want] || ok && s != want {
				t.Errorf("ParseUpdateStatus(%q) = %q, %v; want %q, %v", v, s, ok, want, known[want])
			}
			if !ok {
				continue
			}
			a, acts := open311.UpdateAction(s)
			if closes := s == "fixed" || s == "closed"; acts != closes || acts && a != casework.ActClose {
				t.Errorf("UpdateAction(%q) = %q, %v; want close only for fixed and closed", s, a, acts)
			}
		}
	})
}

// FuzzOpen311Query feeds arbitrary start_date and end_date values and a
// path segment to the query decoders: a refused date is a TimeError, and
// an accepted window is ordered and at most MaxSpan wide.
func FuzzOpen311Query(f *testing.F) {
	f.Add("2026-11-01T00:00:00+08:00", "2026-11-23T10:00:00Z", "requests.json")
	f.Add("2026-11-01T00:00+08:00", "", "services.xml")
	f.Add("2026-11-01", "2026-11-01T00:00:00.123456789", "requests")
	f.Add("", "2026-01-01T00:00:00-12:00", "requests.json.xml")
	f.Add("0001-01-01T00:00:00Z", "9999-12-31T23:59:59+14:00", ".json")
	f.Add("2026-02-30T00:00:00Z", " 2026-11-23T10:00:00Z ", "ZL0601.xml")
	f.Add("2026-11-01T00:00:00Z", "", "WS20261123000001.json.json")
	f.Add("", "", ".xml.json")
	now := time.Date(2026, 11, 23, 2, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, start, end, segment string) {
		var st, en time.Time
		for _, s := range []struct {
			in  string
			out *time.Time
		}{{start, &st}, {end, &en}} {
			if s.in == "" {
				continue
			}
			v, err := open311.ParseTime(s.in)
			if err != nil {
				var te open311.TimeError
				if !errors.As(err, &te) {
					t.Fatalf("ParseTime(%q): %T %v", s.in, err, err)
				}
				return
			}
			*s.out = v
		}
		from, to, err := open311.Window(st, en, now)
		if err == nil {
			if to.Before(from) || to.Sub(from) > open311.MaxSpan {
				t.Fatalf("Window(%v, %v) = [%v, %v]", st, en, from, to)
			}
			_ = open311.FormatTime(from)
			_ = open311.FormatTime(to)
		}
		// A format suffix is ".json" or ".xml" at the very end; the name is
		// what comes before it, or the whole segment without one.
		name, format, ok := open311.SplitFormat(segment)
		wantOK := strings.HasSuffix(segment, ".json") || strings.HasSuffix(segment, ".xml")
		switch {
		case ok != wantOK:
			t.Errorf("SplitFormat(%q) ok = %v, want %v", segment, ok, wantOK)
		case ok && name+"."+string(format) != segment:
			t.Errorf("SplitFormat(%q) = %q, %q: they do not make the segment", segment, name, format)
		case !ok && name != segment:
			t.Errorf("SplitFormat(%q) = %q without a format, want the segment unchanged", segment, name)
		}
	})
}

// FuzzOpen311Encode writes an Open311 error document whose description is
// arbitrary text (descriptions echo parameters back) in both formats: the
// result must parse back, with the text intact in JSON.
func FuzzOpen311Encode(f *testing.F) {
	f.Add("service_code ZL9999 is unknown", 404)
	f.Add("bad <xml> & \"quotes\" \x00\x1f\ufffe", 400)
	f.Add("超出 90 天", 400)
	f.Fuzz(func(t *testing.T, desc string, code int) {
		errs := []open311.Error{{Code: code, Description: desc}}
		var j, x bytes.Buffer
		if err := open311.WriteList(&j, open311.JSON, open311.RootErrors, errs); err != nil {
			t.Fatalf("json: %v", err)
		}
		var back []open311.Error
		if err := json.Unmarshal(j.Bytes(), &back); err != nil || len(back) != 1 || back[0].Code != code {
			t.Fatalf("json %q does not parse back: %v", j.String(), err)
		}
		if err := open311.WriteList(&x, open311.XML, open311.RootErrors, errs); err != nil {
			t.Fatalf("xml: %v", err)
		}
		var doc struct {
			Errors []open311.Error `xml:"error"`
		}
		if err := xml.Unmarshal(x.Bytes(), &doc); err != nil || len(doc.Errors) != 1 || doc.Errors[0].Code != code {
			t.Fatalf("xml %q does not parse back: %v", x.String(), err)
		}
	})
}
