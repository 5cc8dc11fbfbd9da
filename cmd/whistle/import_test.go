package main

import (
	"bytes"
	"context"
	"fmt"
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
				first := fmt.Sprintf("33030319900101%03d", n)
				return fmt.Sprintf("张%d,%s,常住,330303001001001", n, first+string(idcode.ResidentCheck(first)))
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
