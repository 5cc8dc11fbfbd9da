package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/db"
	"whistle/internal/idcode"
	"whistle/internal/region"
	"whistle/internal/worldtest"
)

// oneStreetData returns data flags of a migrated database holding the
// regions of worldtest.OneStreet.
func oneStreetData(t *testing.T, dialect string) []string {
	t.Helper()
	args := dataArgs(t, dialect)
	var cfg db.Config
	for i := 0; i < len(args); i += 2 {
		switch args[i] {
		case "--db":
			cfg.URL = args[i+1]
		case "--data":
			cfg.DataDir = args[i+1]
		}
	}
	ctx := context.Background()
	d, err := db.Open(ctx, cfg, clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if _, err := d.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := region.NewStore(d).Import(ctx, audit.System("test"), worldtest.OneStreet("区", "街道")); err != nil {
		t.Fatal(err)
	}
	return args
}

// validIDNumber completes 17 digits with their check character.
func validIDNumber(first17 string) string { return first17 + string(idcode.ResidentCheck(first17)) }

// cliErr runs a whistle subcommand and returns its stdout and stderr.
func cliErr(args ...string) (string, string, error) {
	var out, errb bytes.Buffer
	err := run(context.Background(), append([]string{"whistle"}, args...), func(string) string { return "" }, &out, &errb)
	return out.String(), errb.String(), err
}

func TestCLIImport(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			data := oneStreetData(t, dialect)
			dir := t.TempDir()
			line := func(n int) string {
				return fmt.Sprintf("张%d,%s,常住,330303001001001", n, validIDNumber(fmt.Sprintf("33030319900101%03d", n)))
			}
			write := func(name string, lines ...string) string {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, []byte("姓名,公民身份号码,人员类型,所属网格\n"+strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
					t.Fatal(err)
				}
				return p
			}
			bad := write("bad.csv", line(1), strings.Replace(line(3), "常住", "外地", 1), strings.Replace(line(5), "330303001001001", "999", 1))
			good := write("good.csv", line(1), line(3), line(5))
			cases := []struct {
				name       string
				args       []string
				wantErr    bool
				wantOut    string
				wantStderr string
			}{
				{"bad file", []string{"import", "people", bad}, true, "",
					"row 3: 人员类型: Not a valid value; use one of: 常住、流动、寄住.\nrow 4: 所属网格: Grid 999 does not exist or is outside your area.\n"},
				{"bad file in Chinese", []string{"import", "people", bad, "--lang", "zh-CN"}, true, "",
					"row 3: 人员类型: 取值无效，可选：常住、流动、寄住。\nrow 4: 所属网格: 网格 999 不存在或不在您的管辖范围内。\n"},
				{"dry run", []string{"import", "people", "--dry-run", good}, false, good + " is valid: 3 rows\n", ""},
				{"import", []string{"import", "people", good}, false, "imported " + good + ": 3 created, 0 updated, 0 unchanged\n", ""},
				{"re-import", []string{"import", "people", good}, false, "imported " + good + ": 0 created, 0 updated, 3 unchanged\n", ""},
				{"unknown kind", []string{"import", "cars", good}, true, "", ""},
				{"missing file", []string{"import", "people", filepath.Join(dir, "none.csv")}, true, "", ""},
			}
			for _, c := range cases {
				t.Run(c.name, func(t *testing.T) {
					out, stderr, err := cliErr(append(c.args, data...)...)
					if got := err != nil; got != c.wantErr {
						t.Fatalf("error: got %v, want error %v (stderr %q)", err, c.wantErr, stderr)
					}
					if out != c.wantOut {
						t.Fatalf("stdout: got %q, want %q", out, c.wantOut)
					}
					if c.wantStderr != "" && stderr != c.wantStderr {
						t.Fatalf("stderr: got %q, want %q", stderr, c.wantStderr)
					}
				})
			}
		})
	}
}

// TestCLIImportPeopleHouses: whistle import people with the house columns
// links each person to the house the houses file wrote; an unknown house
// is a "row N: column: reason" line, exit status non-zero, nothing
// written.
func TestCLIImportPeopleHouses(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			data := oneStreetData(t, dialect)
			dir := t.TempDir()
			write := func(name, content string) string {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
					t.Fatal(err)
				}
				return p
			}
			houses := write("houses.csv", "楼栋地址,经度,纬度,单元,房号\n永中街道一路1号,120.005,27.005,1,101\n永中街道一路1号,120.005,27.005,1,102\n")
			if _, stderr, err := cliErr(append([]string{"import", "houses", houses}, data...)...); err != nil {
				t.Fatalf("import houses: %v %s", err, stderr)
			}
			line := func(n int, room, rel string) string {
				return fmt.Sprintf("张%d,%s,常住,330303001001001,永中街道一路1号,1,%s,%s", n, validIDNumber(fmt.Sprintf("33030319900101%03d", n)), room, rel)
			}
			header := "姓名,公民身份号码,人员类型,所属网格,楼栋地址,单元,房号,与房屋关系\n"
			bad := write("bad.csv", header+line(1, "101", "产权人")+"\n"+line(3, "999", "租户")+"\n")
			_, stderr, err := cliErr(append([]string{"import", "people", bad}, data...)...)
			if want := "row 3: 楼栋地址: No house \"永中街道一路1号 1 999\" in your jurisdiction (by the houses file's building address, unit and room).\n"; err == nil || stderr != want {
				t.Fatalf("a file naming an unknown house: got %v %q, want an error and %q", err, stderr, want)
			}
			good := write("good.csv", header+line(1, "101", "产权人")+"\n"+line(3, "102", "租户")+"\n")
			for _, want := range []string{": 2 created, 0 updated, 0 unchanged\n", ": 0 created, 0 updated, 2 unchanged\n"} {
				out, stderr, err := cliErr(append([]string{"import", "people", good}, data...)...)
				if err != nil || !strings.HasSuffix(out, want) {
					t.Fatalf("import people: got %v %q %q, want …%q", err, out, stderr, want)
				}
			}
			var cfg db.Config
			for i := 0; i < len(data); i += 2 {
				switch data[i] {
				case "--db":
					cfg.URL = data[i+1]
				case "--data":
					cfg.DataDir = data[i+1]
				}
			}
			d, err := db.Open(context.Background(), cfg, clock.Real{})
			if err != nil {
				t.Fatal(err)
			}
			defer d.Close()
			var links []string
			for _, room := range []string{"101", "102"} {
				var rel string
				if err := d.QueryRow(context.Background(), `SELECT l.relation FROM reg_person_houses l JOIN reg_houses h ON h.id = l.house_id WHERE h.room = $1`,
					room).Scan(&rel); err != nil {
					t.Fatalf("the link of room %s: %v", room, err)
				}
				links = append(links, room+":"+rel)
			}
			if strings.Join(links, ",") != "101:owner,102:tenant" {
				t.Errorf("links after the import: got %q, want 101:owner,102:tenant", links)
			}
		})
	}
}

// uploadPeople posts a people file to /api/v1/imports/people as token's user.
func uploadPeople(t *testing.T, app *testApp, token, query, file string) (int, map[string]any) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, err := mw.CreateFormFile("file", "people.csv")
	if err != nil {
		t.Fatal(err)
	}
	fw.Write([]byte(file))
	mw.Close()
	req, err := http.NewRequest("POST", app.URL+"/api/v1/imports/people"+query, &buf)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept-Language", "zh-CN")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, v
}

// TestImportScope: a community worker's file with a row of another
// community is refused on that row and writes nothing; without it the file
// is imported (201), again unchanged, and the community's export holds it.
func TestImportScope(t *testing.T) {
	app := startApp(t, "demo", dataArgs(t, "sqlite"))
	token := login(t, app, "demo-community")
	const header = "姓名,公民身份号码,人员类型,所属网格\n"
	mine := "张三," + validIDNumber("33030319900101001") + ",常住,330303001011001\n"
	theirs := "李四," + validIDNumber("33030319900101003") + ",常住,330303002001001\n"
	cases := []struct {
		name, query, file string
		status            int
		want              string // the first error, or the result
	}{
		{"a row of another street", "", header + mine + theirs, http.StatusUnprocessableEntity, "3 所属网格 网格 330303002001001 不存在或不在您的管辖范围内。"},
		{"dry run", "?dry_run=1", header + mine, http.StatusOK, ""},
		{"import", "", header + mine, http.StatusCreated, "1 0 0"},
		{"again", "", header + mine, http.StatusCreated, "0 0 1"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, v := uploadPeople(t, app, token, c.query, c.file)
			if status != c.status {
				t.Fatalf("status: got %d, want %d (%v)", status, c.status, v)
			}
			var got string
			if errs, _ := v["errors"].([]any); len(errs) > 0 {
				e := errs[0].(map[string]any)
				got = fmt.Sprintf("%v %v %v", e["row"], e["column"], e["message"])
			} else if r, ok := v["result"].(map[string]any); ok {
				got = fmt.Sprintf("%v %v %v", r["created"], r["updated"], r["unchanged"])
			}
			if got != c.want {
				t.Fatalf("got %q, want %q", got, c.want)
			}
		})
	}
	// The community worker may unmask: the export is in the clear (the
	// reveal audited) and re-imports unchanged. The grid worker may not:
	// the export is masked, and its identity numbers do not re-import.
	for _, c := range []struct {
		user, region string
		status       int
		want         string
	}{
		{"demo-community", "330303001011", http.StatusCreated, "0 0 1"},
		{"demo-grid", "330303001011001", http.StatusUnprocessableEntity, "2 公民身份号码 "},
	} {
		tok := login(t, app, c.user)
		req, _ := http.NewRequest("GET", app.URL+"/api/v1/exports/people?region="+c.region, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		xlsx, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !bytes.HasPrefix(xlsx, []byte("PK")) {
			t.Fatalf("%s's export: got %d %q…, want 200 and an .xlsx", c.user, resp.StatusCode, xlsx[:min(len(xlsx), 40)])
		}
		status, v := uploadPeople(t, app, tok, "", string(xlsx))
		var got string
		if errs, _ := v["errors"].([]any); len(errs) > 0 {
			e := errs[0].(map[string]any)
			got = fmt.Sprintf("%v %v ", e["row"], e["column"])
		} else if r, ok := v["result"].(map[string]any); ok {
			got = fmt.Sprintf("%v %v %v", r["created"], r["updated"], r["unchanged"])
		}
		if status != c.status || got != c.want {
			t.Fatalf("%s re-imports their export: got %d %q, want %d %q", c.user, status, got, c.status, c.want)
		}
	}
}
