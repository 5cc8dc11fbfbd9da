package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"whistle/internal/loadgen"
)

// cmdBench runs the reproducible benchmarks that need the whole server.
func cmdBench(ctx context.Context, args []string, e env) error {
	if len(args) > 0 {
		switch args[0] {
		case "crash":
			return cmdBenchCrash(ctx, args[1:], e)
		case "console":
			return cmdBenchConsole(ctx, args[1:], e)
		case "report":
			return cmdBenchReport(ctx, args[1:], e)
		case "import":
			return cmdBenchImport(ctx, args[1:], e)
		case "eligibility":
			return cmdBenchEligibility(ctx, args[1:], e)
		case "sensing":
			return cmdBenchSensing(ctx, args[1:], e)
		}
	}
	if len(args) == 0 || args[0] != "intake" {
		return errors.New("bench: want `bench intake`, `bench import`, `bench eligibility`, `bench sensing`, `bench console`, `bench report` or `bench crash`")
	}
	var dbURL, data string
	var workers int
	var dur time.Duration
	fs := flag.NewFlagSet("bench intake", flag.ContinueOnError)
	fs.StringVar(&dbURL, "db", "", "PostgreSQL URL (a fresh database or schema); empty uses SQLite in a temp dir")
	fs.StringVar(&data, "data", "", "data dir (default: a new temp dir)")
	fs.IntVar(&workers, "concurrency", 32, "concurrent clients")
	fs.DurationVar(&dur, "duration", 10*time.Second, "how long each measurement runs")
	var narrow bool
	fs.BoolVar(&narrow, "narrow-load", false, "the load of earlier runs, for comparison: one category (ZL0601) and the grids' interior points, instead of every leaf category and points spread over the district")
	var profiles profileFlags
	profiles.register(fs, "the Whistle measurement")
	if _, err := parse(fs, args[1:], e); err != nil {
		return err
	}
	if data == "" {
		dir, err := os.MkdirTemp("", "whistle-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		data = dir
	}
	client := loadgen.Client(workers)
	// The baseline: a bare net/http handler that decodes the same JSON and
	// answers 201, measured by the same client in the same process.
	base, err := bareServer()
	if err != nil {
		return err
	}
	defer base.Close()
	body := func(c benchCategory, lat, lng float64) []byte {
		b, _ := json.Marshal(map[string]any{"category": c.code, "description": "楼道堆放杂物，影响消防通道", "lat": lat, "lng": lng,
			"address": "龙湾区永中街道万顺路 1 号", "fields": c.fields})
		return b
	}
	baseRes, err := loadgen.Run(ctx, client, workers, dur, http.StatusCreated, func(w, i int) (*http.Request, error) {
		return loadgen.JSONPost(base.URL+"/cases", body(benchCategory{code: "ZL0601", fields: map[string]any{}}, 27.9, 120.7))
	})
	if err != nil {
		return err
	}
	// Whistle: the demo district, a resident's token, and points inside grids.
	out := &lockedBuffer{}
	sctx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	serveArgs := []string{"whistle", "demo", "--addr", "127.0.0.1:0", "--data", data, "--log-level", "info"}
	serverLog := &lockedBuffer{}
	if dbURL != "" {
		serveArgs = append(serveArgs, "--db", dbURL)
	}
	go func() { done <- run(sctx, serveArgs, e.getenv, out, serverLog) }()
	defer func() {
		stop()
		<-done
		for _, l := range strings.Split(serverLog.String(), "\n") {
			if strings.Contains(l, `"group commit"`) || strings.Contains(l, `"change feed"`) || strings.Contains(l, `"level":"ERROR"`) {
				fmt.Fprintln(e.stdout, "server:", l)
			}
		}
	}()
	url, err := waitURL(out, done)
	if err != nil {
		return err
	}
	token, err := benchLogin(client, url)
	if err != nil {
		return err
	}
	grids, err := gridPoints(client, url, "330303")
	if err != nil {
		return err
	}
	points, err := districtPoints(client, url, token, grids, 2048)
	if err != nil {
		return err
	}
	cats, err := leafCategories(client, url)
	if err != nil {
		return err
	}
	var seq atomic.Int64
	stopProfiles, err := profiles.start()
	if err != nil {
		return err
	}
	defer stopProfiles()
	res, err := loadgen.Run(ctx, client, workers, dur, http.StatusCreated, func(w, i int) (*http.Request, error) {
		p, c := points[rand.IntN(len(points))], cats[rand.IntN(len(cats))]
		if narrow {
			p, c = grids[rand.IntN(len(grids))], benchCategory{code: "ZL0601", fields: map[string]any{}}
		}
		return loadgen.JSONPost(url+"/api/v1/cases", body(c, p[0], p[1]), "Authorization", "Bearer "+token,
			"Idempotency-Key", fmt.Sprintf("bench-%d", seq.Add(1)))
	})
	if err != nil {
		return err
	}
	store := "sqlite"
	if dbURL != "" {
		store = "postgres"
	}
	fmt.Fprintf(e.stdout, "intake baseline (bare net/http JSON handler), %d clients: %s\n", workers, baseRes)
	fmt.Fprintf(e.stdout, "intake whistle (%s: auth, validate, locate, route, commit, publish), %d clients: %s\n", store, workers, res)
	if narrow {
		fmt.Fprintf(e.stdout, "intake load: narrow (one category, ZL0601, and %d grids' interior points), as in runs before the spread load\n", len(grids))
	} else {
		fmt.Fprintf(e.stdout, "intake load: %d leaf categories, %d points drawn uniformly over the district (each inside a grid)\n", len(cats), len(points))
	}
	fmt.Fprintf(e.stdout, "intake ratio whistle/baseline: %.3f (cases are 201s only; statuses %v, no answer %d)\n", res.PerSecond/baseRes.PerSecond, res.Status, res.NoAnswer)
	return nil
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func waitURL(out *lockedBuffer, done chan error) (string, error) {
	re := regexp.MustCompile(`listening on (http://\S+)`)
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline); {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m[1], nil
		}
		select {
		case err := <-done:
			return "", fmt.Errorf("server exited: %v", err)
		case <-time.After(20 * time.Millisecond):
		}
	}
	return "", errors.New("server did not start")
}

func benchLogin(c *http.Client, url string) (string, error) {
	req, _ := loadgen.JSONPost(url+"/api/v1/session", []byte(`{"username":"demo-resident","password":"whistle-demo"}`))
	resp, err := c.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var v struct{ Token string }
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil || v.Token == "" {
		return "", fmt.Errorf("login: %d %v", resp.StatusCode, err)
	}
	return v.Token, nil
}

// gridPoints collects an interior point of every grid under code.
func gridPoints(c *http.Client, url, code string) ([][2]float64, error) {
	var walk func(code string) ([][2]float64, error)
	walk = func(code string) ([][2]float64, error) {
		resp, err := c.Get(url + "/api/v1/regions/" + code + "/children")
		if err != nil {
			return nil, err
		}
		var v struct {
			Children []struct {
				Code  string
				Level string
				P     struct{ Lat, Lng float64 } `json:"interior_point"`
			}
		}
		err = json.NewDecoder(resp.Body).Decode(&v)
		resp.Body.Close()
		if err != nil {
			return nil, err
		}
		var out [][2]float64
		for _, ch := range v.Children {
			if ch.Level == "grid" {
				out = append(out, [2]float64{ch.P.Lat, ch.P.Lng})
				continue
			}
			sub, err := walk(ch.Code)
			if err != nil {
				return nil, err
			}
			out = append(out, sub...)
		}
		return out, nil
	}
	pts, err := walk(code)
	if err == nil && len(pts) == 0 {
		err = errors.New("no grids found")
	}
	return pts, err
}

// districtPoints draws n points uniformly over the district: random points
// in the bounding box of the grids' interior points, kept when the server
// locates them in a grid, so that reports come from everywhere in the
// district and not from a few hundred fixed spots.
func districtPoints(c *http.Client, url, token string, grids [][2]float64, n int) ([][2]float64, error) {
	minLat, minLng, maxLat, maxLng := grids[0][0], grids[0][1], grids[0][0], grids[0][1]
	for _, p := range grids {
		minLat, maxLat = min(minLat, p[0]), max(maxLat, p[0])
		minLng, maxLng = min(minLng, p[1]), max(maxLng, p[1])
	}
	r := rand.New(rand.NewPCG(11, 13))
	var out [][2]float64
	for tries := 0; len(out) < n && tries < 20*n; tries++ {
		p := [2]float64{minLat + r.Float64()*(maxLat-minLat), minLng + r.Float64()*(maxLng-minLng)}
		req, err := http.NewRequest("GET", fmt.Sprintf("%s/api/v1/regions/locate?lat=%v&lng=%v", url, p[0], p[1]), nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := c.Do(req)
		if err != nil {
			return nil, err
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			out = append(out, p)
		}
	}
	if len(out) < n {
		return nil, fmt.Errorf("bench intake: only %d of %d random points in the district were located", len(out), n)
	}
	return out, nil
}

// benchCategory is a leaf category and the extra fields a report in it
// must carry.
type benchCategory struct {
	code   string
	fields map[string]any
}

// leafCategories lists every active leaf category with a value for each
// of its required fields.
func leafCategories(c *http.Client, url string) ([]benchCategory, error) {
	type field struct {
		Key      string `json:"key"`
		Datatype string `json:"datatype"`
		Required bool   `json:"required"`
		Values   []struct {
			Key string `json:"key"`
		} `json:"values"`
	}
	type category struct {
		Code     string     `json:"code"`
		Active   bool       `json:"active"`
		Fields   []field    `json:"fields"`
		Children []category `json:"children"`
	}
	resp, err := c.Get(url + "/api/v1/categories")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var v struct{ Categories []category }
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return nil, err
	}
	var out []benchCategory
	var walk func([]category)
	walk = func(cs []category) {
		for _, cat := range cs {
			if len(cat.Children) > 0 {
				walk(cat.Children)
				continue
			}
			if !cat.Active {
				continue
			}
			fields := map[string]any{}
			for _, f := range cat.Fields {
				if !f.Required {
					continue
				}
				switch {
				case len(f.Values) > 0 && f.Datatype == "multivaluelist":
					fields[f.Key] = []string{f.Values[0].Key}
				case len(f.Values) > 0:
					fields[f.Key] = f.Values[0].Key
				case f.Datatype == "number":
					fields[f.Key] = 1
				case f.Datatype == "datetime":
					fields[f.Key] = time.Now().Format(time.RFC3339)
				default:
					fields[f.Key] = "bench"
				}
			}
			out = append(out, benchCategory{code: cat.Code, fields: fields})
		}
	}
	walk(v.Categories)
	if len(out) == 0 {
		return nil, errors.New("bench intake: no leaf categories")
	}
	return out, nil
}

// bareServer is the baseline: decode, answer 201 with a small JSON body.
func bareServer() (*bareSrv, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	var n atomic.Int64
	mux := http.NewServeMux()
	mux.HandleFunc("POST /cases", func(w http.ResponseWriter, r *http.Request) {
		var in struct {
			Category    string   `json:"category"`
			Description string   `json:"description"`
			Lat         *float64 `json:"lat"`
			Lng         *float64 `json:"lng"`
			Address     string   `json:"address"`
		}
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&in); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusCreated)
		_ = json.NewEncoder(w).Encode(map[string]any{"id": n.Add(1), "status": "submitted", "category": in.Category})
	})
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	return &bareSrv{URL: "http://" + ln.Addr().String(), srv: srv}, nil
}

type bareSrv struct {
	URL string
	srv *http.Server
}

func (b *bareSrv) Close() { b.srv.Close() }
