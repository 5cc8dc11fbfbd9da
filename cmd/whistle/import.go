package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"

	"whistle/internal/account"
	"whistle/internal/audit"
	"whistle/internal/clock"
	"whistle/internal/i18n"
	"whistle/internal/regimport"
	"whistle/internal/registry"
)

// cmdImport is `whistle import people|houses|organisations FILE [--dry-run]`:
// it checks every row of the file and writes them all in one transaction,
// or nothing. A refused file prints one "row N: column: reason" line per
// error on standard error and exits non-zero.
func cmdImport(ctx context.Context, args []string, e env) error {
	if len(args) == 0 {
		return errors.New("import: want people, houses, organisations or indicators and a file")
	}
	if args[0] == "indicators" {
		return cmdImportIndicators(ctx, args[1:], e)
	}
	kind, err := regimport.ParseKind(args[0])
	if err != nil {
		return err
	}
	var o options
	var dry, progress bool
	var lang string
	fs := flag.NewFlagSet("import "+args[0], flag.ContinueOnError)
	o.dataFlags(fs)
	fs.BoolVar(&dry, "dry-run", false, "check the file and write nothing")
	fs.BoolVar(&progress, "progress", false, "report progress on standard error")
	fs.StringVar(&lang, "lang", "en", "language of the row errors: en or zh-CN")
	pos, err := parse(fs, args[1:], e)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return fmt.Errorf("import %s: give one file", kind)
	}
	lg, ok := i18n.Parse(lang)
	if !ok {
		return fmt.Errorf("--lang: unknown language %q", lang)
	}
	f, err := os.Open(pos[0])
	if err != nil {
		return err
	}
	defer f.Close()
	a, err := open(ctx, &o, e)
	if err != nil {
		return err
	}
	defer a.db.Close()
	reg := registry.NewStore(registry.Deps{DB: a.db, Regions: a.regions})
	im, err := regimport.New(regimport.Deps{Registry: reg, Regions: a.regions, Clock: clock.Real{}})
	if err != nil {
		return err
	}
	opt := regimport.Options{DryRun: dry, PreviewRows: -1}
	if progress {
		opt.Progress = func(p regimport.Progress) { fmt.Fprintf(e.stderr, "%s %d/%d\n", p.Phase, p.Done, p.Total) }
	}
	rep, err := im.Import(ctx, account.SystemScope(), audit.System("import "+string(kind)), kind, f, opt)
	var rows *regimport.RowsError
	if errors.As(err, &rows) {
		for _, r := range rows.Rows {
			fmt.Fprintln(e.stderr, r.Text(a.catalog, lg))
		}
		if rows.Count > len(rows.Rows) {
			fmt.Fprintf(e.stderr, "… %d more\n", rows.Count-len(rows.Rows))
		}
		return fmt.Errorf("import %s: %d errors in %s; nothing imported", kind, rows.Count, pos[0])
	}
	if err != nil {
		return describe(a, err)
	}
	if dry {
		fmt.Fprintf(e.stdout, "%s is valid: %d rows\n", pos[0], rep.Rows)
		return nil
	}
	var c, u, n int
	if rep.Result != nil {
		c, u, n = rep.Result.Created, rep.Result.Updated, rep.Result.Unchanged
	}
	fmt.Fprintf(e.stdout, "imported %s: %d created, %d updated, %d unchanged\n", pos[0], c, u, n)
	return nil
}
