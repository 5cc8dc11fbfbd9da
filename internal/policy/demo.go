package policy

import (
	"context"
	"embed"
	"encoding/json"
	"time"

	"whistle/internal/audit"
	"whistle/internal/errs"
)

//go:embed demo/policies.json
var demoFS embed.FS

// DemoPolicy is a demo policy: a draft and the date it takes effect.
type DemoPolicy struct {
	Draft
	Effective string `json:"effective"` // YYYY-MM-DD
}

// DemoPolicies are the demo's policies, modelled on Zhejiang's published
// resident (利民补助) and enterprise (惠企) policies, each condition citing
// its source.
func DemoPolicies() ([]DemoPolicy, error) {
	b, err := demoFS.ReadFile("demo/policies.json")
	if err != nil {
		return nil, err
	}
	var out []DemoPolicy
	return out, json.Unmarshal(b, &out)
}

// SeedDemo saves and publishes the demo policies that are not there yet;
// it returns how many it added.
func (e *Engine) SeedDemo(ctx context.Context, actor audit.Actor) (n int, err error) {
	defer errs.Wrapf(&err, "policy.Engine.SeedDemo")
	ps, err := DemoPolicies()
	if err != nil {
		return 0, err
	}
	for _, p := range ps {
		if _, err := e.Policy(ctx, p.Key); err == nil {
			continue
		} else if !errs.Is(err, errs.NotFound) {
			return n, err
		}
		v, err := e.Save(ctx, actor, p.Draft)
		if err != nil {
			return n, err
		}
		eff, err := time.Parse(time.DateOnly, p.Effective)
		if err != nil {
			return n, err
		}
		if err := e.Publish(ctx, actor, p.Key, v.Version, eff); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
