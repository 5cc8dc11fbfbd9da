package main

import (
	"errors"
	"flag"
	"os"
	"runtime"
	"runtime/pprof"
	"runtime/trace"
	"time"
)

// profileFlags are the files a benchmark writes its profiles to ("" for
// none).
type profileFlags struct{ cpu, block, mem, trace string }

// register adds --cpuprofile, --blockprofile, --memprofile and --trace to
// fs; what names the part of the run they cover.
func (p *profileFlags) register(fs *flag.FlagSet, what string) {
	fs.StringVar(&p.cpu, "cpuprofile", "", "write a CPU profile of "+what+" to this file")
	fs.StringVar(&p.block, "blockprofile", "", "write a blocking profile of "+what+" to this file")
	fs.StringVar(&p.mem, "memprofile", "", "write an allocation profile of "+what+" to this file")
	fs.StringVar(&p.trace, "trace", "", "write an execution trace of the first 2 s of "+what+" to this file")
}

// start starts the profiles asked for and returns the function that stops
// them and writes the files.
func (p *profileFlags) start() (stop func(), err error) {
	var stops []func()
	stop = func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}
	// stream starts a profile written as it runs.
	stream := func(file string, begin func(*os.File) error, end func()) error {
		if file == "" {
			return nil
		}
		f, err := os.Create(file)
		if err != nil {
			return err
		}
		if err := begin(f); err != nil {
			f.Close()
			return err
		}
		stops = append(stops, func() { end(); f.Close() })
		return nil
	}
	// atEnd writes the named runtime profile when the run ends.
	atEnd := func(file, name string) {
		if file != "" {
			stops = append(stops, func() {
				if f, err := os.Create(file); err == nil {
					_ = pprof.Lookup(name).WriteTo(f, 0)
					f.Close()
				}
			})
		}
	}
	if p.block != "" {
		runtime.SetBlockProfileRate(10000)
	}
	if p.mem != "" {
		runtime.MemProfileRate = 64 << 10
	}
	atEnd(p.block, "block")
	atEnd(p.mem, "allocs")
	traceEnd := func() {}
	err = errors.Join(
		stream(p.cpu, func(f *os.File) error { return pprof.StartCPUProfile(f) }, pprof.StopCPUProfile),
		stream(p.trace, func(f *os.File) error {
			if err := trace.Start(f); err != nil {
				return err
			}
			// A trace grows quickly: keep the first 2 s.
			t := time.AfterFunc(2*time.Second, trace.Stop)
			traceEnd = func() {
				if t.Stop() {
					trace.Stop()
				}
			}
			return nil
		}, func() { traceEnd() }),
	)
	if err != nil {
		stop()
		return nil, err
	}
	return stop, nil
}
