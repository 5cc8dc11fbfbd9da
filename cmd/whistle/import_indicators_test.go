package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"whistle/internal/clock"
	"whistle/internal/db"
)

// openData opens the database of data flags (from dataArgs).
func openData(t *testing.T, args []string) *db.DB {
	t.Helper()
	var cfg db.Config
	for i := 0; i < len(args); i += 2 {
		switch args[i] {
		case "--db":
			cfg.URL = args[i+1]
		case "--data":
			cfg.DataDir = args[i+1]
		}
	}
	d, err := db.Open(context.Background(), cfg, clock.Real{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

// TestCLIImportIndicators: `whistle import indicators` prints every bad
// row of both files as "row N: column: reason", exits non-zero and writes
// nothing; a dry run checks and writes nothing; the import writes the
// declarations and values together.
func TestCLIImportIndicators(t *testing.T) {
	for _, dialect := range []string{"sqlite", "postgres"} {
		t.Run(dialect, func(t *testing.T) {
			data := oneStreetData(t, dialect)
			dir := t.TempDir()
			write := func(name, body string) string {
				p := filepath.Join(dir, name)
				if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
					t.Fatal(err)
				}
				return p
			}
			decls := write("indicators.csv", "key,name,unit,direction\nincome_per_head,人均收入,元,higher_better\ntongban_rate,通办率,percent,higher_better\n")
			badDecls := write("bad-indicators.csv", "key,name,unit,direction\nincome_per_head,人均收入,元,upwards\n")
			good := write("values.csv", "indicator,unit_code,period,value\nincome_per_head,330303001,2026,52000\ntongban_rate,330303001,2026-Q3,91.5\n")
			bad := write("bad.csv", "indicator,unit_code,period,value\nincome_per_head,330303001,2026,52000\nincome_per_head,330303001,2026-13,x\nsatisfaction,330303001,2026,1\n")
			count := func() (ins, vals int) {
				d := openData(t, data)
				ctx := context.Background()
				if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM bm_indicators`).Scan(&ins); err != nil {
					t.Fatal(err)
				}
				if err := d.QueryRow(ctx, `SELECT COUNT(*) FROM bm_values`).Scan(&vals); err != nil {
					t.Fatal(err)
				}
				d.Close()
				return ins, vals
			}
			cases := []struct {
				name              string
				args              []string
				wantErr           bool
				wantOut, wantErrb string
				wantIns, wantVals int
			}{
				{"bad cells", []string{"import", "indicators", bad, "--indicators", decls}, true, "",
					"row 3: period: not a month (2026-11), quarter (2026-Q3) or year (2026)\nrow 3: value: not a number\n", 0, 0},
				{"unknown indicator and a bad declaration", []string{"import", "indicators", good, "--indicators", badDecls}, true, "",
					badDecls + ": row 2: direction: higher_better or lower_better\n", 0, 0},
				{"undeclared", []string{"import", "indicators", good}, true, "",
					"row 2: indicator: unknown indicator income_per_head; declare it first\nrow 3: indicator: unknown indicator tongban_rate; declare it first\n", 0, 0},
				{"flags after the file", []string{"import", "indicators", "--indicators", decls, bad}, true, "",
					"row 3: period: not a month (2026-11), quarter (2026-Q3) or year (2026)\nrow 3: value: not a number\n", 0, 0},
				{"dry run", []string{"import", "indicators", good, "--indicators", decls, "--dry-run"}, false,
					good + " is valid: 2 values; indicators declared: 2 new, 0 with a changed definition, 0 unchanged\n", "", 0, 0},
				{"import", []string{"import", "indicators", good, "--indicators", decls}, false,
					"imported " + good + ": 2 values; indicators declared: 2 new, 0 with a changed definition, 0 unchanged\n", "", 2, 2},
				{"now the store knows them; the unknown one is a row error", []string{"import", "indicators", bad}, true, "",
					"row 3: period: not a month (2026-11), quarter (2026-Q3) or year (2026)\nrow 3: value: not a number\n", 2, 2},
				{"store checks: unknown indicator", []string{"import", "indicators", write("unknown.csv", "indicator,unit_code,period,value\nincome_per_head,330303001,2027,1\nsatisfaction,330303001,2026,1\n")}, true, "",
					"row 3: indicator: unknown indicator satisfaction; declare it first\n", 2, 2},
				{"missing file", []string{"import", "indicators", filepath.Join(dir, "none.csv")}, true, "", "", 2, 2},
				{"two files", []string{"import", "indicators", good, good}, true, "", "", 2, 2},
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
					if c.wantErrb != "" && stderr != c.wantErrb {
						t.Fatalf("stderr: got %q, want %q", stderr, c.wantErrb)
					}
					if ins, vals := count(); ins != c.wantIns || vals != c.wantVals {
						t.Fatalf("stored: %d indicators, %d values; want %d and %d", ins, vals, c.wantIns, c.wantVals)
					}
				})
			}
		})
	}
}
