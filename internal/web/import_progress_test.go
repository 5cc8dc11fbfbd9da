package web

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http"
	"strings"
	"testing"

	"whistle/internal/account"
	"whistle/internal/idcode"
	"whistle/internal/worldtest"
)

// peopleFile is a people CSV of n rows of grid A1; bad, when > 0, gives
// that data row a wrong identity check digit.
func peopleFile(n, bad int) []byte {
	var b strings.Builder
	b.WriteString("姓名,公民身份号码,人员类型,所属网格\n")
	for i := 1; i <= n; i++ {
		first17 := fmt.Sprintf("330303%04d0101%03d", 1950+i/1000, i%1000)
		check := idcode.ResidentCheck(first17)
		if i == bad {
			check = map[bool]byte{true: '1', false: '0'}[check == '0']
		}
		fmt.Fprintf(&b, "人%d,%s%c,常住,330303001001001\n", i, first17, check)
	}
	return []byte(b.String())
}

// importStream posts file as a streamed import and returns the progress
// lines and the last line.
func importStream(t *testing.T, v *visitWorld, who string, file []byte) (progress []map[string]any, end map[string]any) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("file", "people.csv")
	_, _ = fw.Write(file)
	_ = mw.Close()
	req, err := http.NewRequest("POST", v.fw.ts.URL+"/api/v1/imports/people", &body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Accept", "application/x-ndjson")
	req.Header.Set("Authorization", "Bearer "+v.fw.tokens[who])
	resp, err := v.fw.ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/x-ndjson") {
		t.Fatalf("got %d %s, want 200 and a stream", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		if end != nil {
			t.Fatalf("a line after the last: %s", sc.Text())
		}
		if _, ok := m["status"]; ok {
			end = m
			continue
		}
		progress = append(progress, m)
	}
	if end == nil {
		t.Fatal("no last line")
	}
	return progress, end
}

// TestImportStreamsProgress: a streamed web import reports the server's
// checking (every 1,000 rows) and writing (every 500-row chunk of the
// registry's transaction), then the same answer as the plain request; a
// file with a bad row reports its check, the row error and status 422,
// and writes nothing (all or nothing kept).
func TestImportStreamsProgress(t *testing.T) {
	v := newVisitWorld(t, []worldtest.User{{Name: "staff", Region: "330303001001", Role: account.CommunityStaff}}, nil)
	steps := func(ps []map[string]any) []string {
		var out []string
		for _, p := range ps {
			out = append(out, fmt.Sprintf("%s %v/%v", p["phase"], p["done"], p["total"]))
		}
		return out
	}
	people := func() int { return v.count(t, `SELECT COUNT(*) FROM reg_people`) }

	ps, end := importStream(t, v, "staff", peopleFile(2300, 1700))
	if got, want := strings.Join(steps(ps), ", "), "check 1000/0, check 2000/0, check 2300/2300"; got != want {
		t.Errorf("bad file's progress: got %s, want %s", got, want)
	}
	errs, _ := end["errors"].([]any)
	if end["status"] != float64(http.StatusUnprocessableEntity) || len(errs) != 1 || !strings.Contains(fmt.Sprint(errs[0]), "row:1701") {
		t.Errorf("bad file's end: got status %v errors %v, want 422 naming row 1701", end["status"], errs)
	}
	if got := people(); got != 0 {
		t.Fatalf("a refused file wrote %d people, want 0", got)
	}

	ps, end = importStream(t, v, "staff", peopleFile(2300, 0))
	want := "check 1000/0, check 2000/0, check 2300/2300, write 0/2300, write 500/2300, write 1000/2300, write 1500/2300, write 2000/2300, write 2300/2300, done 2300/2300"
	if got := strings.Join(steps(ps), ", "); got != want {
		t.Errorf("progress: got %s, want %s", got, want)
	}
	res, _ := end["result"].(map[string]any)
	if end["status"] != float64(http.StatusCreated) || end["committed"] != true || res["created"] != float64(2300) {
		t.Errorf("end: got status %v committed %v result %v, want 201, committed, 2300 created", end["status"], end["committed"], res)
	}
	if got := people(); got != 2300 {
		t.Errorf("people: got %d, want 2300", got)
	}
}
