package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"whistle/internal/audit"
	"whistle/internal/benchmark"
)

// maxRowLines is how many row errors the import prints before it counts
// the rest.
const maxRowLines = 200

// cmdImportIndicators is `whistle import indicators FILE [--indicators
// FILE] [--dry-run]`: indicator values (indicator,unit_code,period,value)
// for 对标, in .xlsx or CSV, with the indicators not yet known declared
// in a second file (key,name,unit,direction). Both files are checked whole and written in
// one transaction, or nothing is; a refused import prints one "row N:
// column: reason" line per error (the indicators file's prefixed with its
// name) on standard error and exits non-zero.
func cmdImportIndicators(ctx context.Context, args []string, e env) error {
	var o options
	var dry bool
	var declFile string
	fs := flag.NewFlagSet("import indicators", flag.ContinueOnError)
	o.dataFlags(fs)
	fs.BoolVar(&dry, "dry-run", false, "check the files and write nothing")
	fs.StringVar(&declFile, "indicators", "", "a CSV declaring indicators not yet known: key,name,unit,direction[,name_en,definition,definition_en,source,context]")
	pos, err := parse(fs, args, e)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("import indicators: give one file")
	}
	var im benchmark.Import
	var bad benchmark.ImportError
	if declFile != "" {
		if im.Indicators, im.IndicatorRows, err = parseFile(declFile, benchmark.ParseIndicators); err != nil {
			if !rowsOf(err, &bad.Declarations) {
				return err
			}
		}
	}
	if im.Values, im.ValueRows, err = parseFile(pos[0], benchmark.ParseValues); err != nil {
		if !rowsOf(err, &bad.Rows) {
			return err
		}
	}
	if len(bad.Rows) == 0 && len(bad.Declarations) == 0 {
		a, err := open(ctx, &o, e)
		if err != nil {
			return err
		}
		defer a.db.Close()
		st := benchmark.NewStore(benchmark.Deps{DB: a.db, Regions: a.regions})
		im.By = audit.System("import indicators")
		rep, err := st.Import(ctx, im, dry)
		var ie *benchmark.ImportError
		switch {
		case errors.As(err, &ie):
			bad = *ie
		case err != nil:
			return describe(a, err)
		default:
			verb := "imported " + pos[0]
			if dry {
				verb = pos[0] + " is valid"
			}
			fmt.Fprintf(e.stdout, "%s: %d values; indicators declared: %d new, %d with a changed definition, %d unchanged\n",
				verb, rep.Values, rep.New, rep.Changed, len(rep.Declared)-rep.New-rep.Changed)
			return nil
		}
	}
	printed := 0
	show := func(prefix string, rows []benchmark.RowError) {
		for _, r := range rows {
			if printed == maxRowLines {
				return
			}
			fmt.Fprintln(e.stderr, prefix+r.String())
			printed++
		}
	}
	show(declFile+": ", bad.Declarations)
	show("", bad.Rows)
	n := len(bad.Rows) + len(bad.Declarations)
	if n > printed {
		fmt.Fprintf(e.stderr, "… %d more\n", n-printed)
	}
	return fmt.Errorf("import indicators: %d errors; nothing imported", n)
}

// parseFile opens a file and parses it with parse.
func parseFile[T any](name string, parse func(io.Reader) ([]T, []int, error)) ([]T, []int, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	return parse(f)
}

// rowsOf puts an ImportError's rows (both kinds: a file has one) in
// *into and reports whether err was one.
func rowsOf(err error, into *[]benchmark.RowError) bool {
	var ie *benchmark.ImportError
	if !errors.As(err, &ie) {
		return false
	}
	*into = append(append(*into, ie.Declarations...), ie.Rows...)
	return true
}
