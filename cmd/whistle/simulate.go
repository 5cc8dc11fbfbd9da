package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"whistle/internal/device"
	"whistle/internal/registry"
	"whistle/internal/simulate"
)

// cmdSimulate is `whistle simulate devices`: simulated devices publishing
// over real MQTT (internal/simulate) until interrupted or --duration.
func cmdSimulate(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || args[0] != "devices" {
		return errors.New("simulate: want `simulate devices --n N --rate R [--mqtt-url URL]`")
	}
	var o options
	var n int
	var rate, speed float64
	var mqttURL, file, save string
	var onset, dur time.Duration
	var seed uint64
	fs := flag.NewFlagSet("simulate devices", flag.ContinueOnError)
	o.dataFlags(fs)
	fs.IntVar(&n, "n", 100, "how many devices (with --devices: the first N of the file; 0 = all)")
	fs.Float64Var(&rate, "rate", 10, "messages a second, over every device")
	fs.StringVar(&mqttURL, "mqtt-url", "tcp://127.0.0.1:1883", "the MQTT listener (whistle serve|demo --mqtt-port N)")
	fs.StringVar(&file, "devices", "", "read the devices' credentials from this CSV (id,type,district,username,password,scenario) instead of registering them in the database")
	fs.StringVar(&save, "save", "", "write the registered devices' credentials to this CSV (mode 0600), for --devices next time")
	fs.Float64Var(&speed, "speed", 1, "simulated seconds per second: 60 plays a minute of the residents' day every second")
	fs.DurationVar(&onset, "onset", 2*time.Minute, "simulated time before the special scenarios begin (the water stops, the leak, the fall)")
	fs.DurationVar(&dur, "duration", 0, "stop after this long (0 = until interrupted)")
	fs.Uint64Var(&seed, "seed", 1, "random seed of the residents' and the cars' behaviour")
	if _, err := parse(fs, args[1:], e); err != nil {
		return err
	}
	if n < 0 || rate <= 0 || speed <= 0 {
		return errors.New("simulate: --n must not be negative, --rate and --speed must be positive")
	}
	devs, err := simulatedDevices(ctx, &o, e, n, file)
	if err != nil {
		return err
	}
	if save != "" {
		f, err := os.OpenFile(save, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		if err := simulate.WriteDevices(f, devs); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	counts := map[string]int{}
	for _, d := range devs {
		counts[d.Scenario]++
	}
	fmt.Fprintf(e.stdout, "whistle: simulating %d devices at %g messages a second over %s:", len(devs), rate, mqttURL)
	for _, s := range simulate.Scenarios {
		if counts[s] > 0 {
			fmt.Fprintf(e.stdout, " %s %d", s, counts[s])
		}
	}
	fmt.Fprintln(e.stdout)
	if dur > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, dur)
		defer cancel()
	}
	logger, err := newLogger(o.logLevel, e.stderr)
	if err != nil {
		return err
	}
	_, err = simulate.Run(ctx, simulate.Config{URL: mqttURL, Devices: devs, Rate: rate, Speed: speed, Onset: onset, Seed: seed, Logger: logger,
		Report: func(s simulate.Stats) {
			fmt.Fprintf(e.stdout, "whistle: %d connected, %d refused; %d published, %d acknowledged, %d failed, %d skipped\n",
				s.Connected, s.Refused, s.Published, s.Acked, s.Failed, s.Skipped)
		}})
	return err
}

// simulatedDevices reads the devices file, or registers n devices in the
// database (reusing those of an earlier run).
func simulatedDevices(ctx context.Context, o *options, e env, n int, file string) ([]simulate.Device, error) {
	if file != "" {
		f, err := os.Open(file)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		ds, err := simulate.ReadDevices(f)
		if err != nil {
			return nil, err
		}
		if n > 0 && n < len(ds) {
			ds = ds[:n]
		}
		return ds, nil
	}
	if n == 0 {
		return nil, errors.New("simulate: --n must be positive without --devices")
	}
	a, err := open(ctx, o, e)
	if err != nil {
		return nil, err
	}
	defer a.db.Close()
	reg := registry.NewStore(registry.Deps{DB: a.db, Regions: a.regions})
	devices, err := device.NewStore(a.db, reg, a.regions)
	if err != nil {
		return nil, err
	}
	return simulate.Provision(ctx, simulate.ProvisionDeps{Devices: devices, People: reg, Grids: a.regions}, n)
}
