package open311

import (
	"context"

	"whistle/internal/audit"
	"whistle/internal/casework"
	"whistle/internal/db"
)

// Client is the integration behind an Open311 call: its API key and
// address.
type Client struct {
	KeyID   int64
	KeyName string
	IP      string
}

type clientKey struct{}

// WithClient returns ctx carrying the calling integration, for AuditHook.
func WithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientKey{}, c)
}

// ClientFrom returns the integration that ctx carries.
func ClientFrom(ctx context.Context) (Client, bool) {
	c, ok := ctx.Value(clientKey{}).(Client)
	return c, ok
}

// Audit actions written by AuditHook.
const (
	AuditRequest = "open311.request"
	AuditUpdate  = "open311.update"
)

// AuditHook writes each case change made through Open311 to the audit log,
// inside the change's own transaction: open311.request for a new case and
// open311.update for a step, by the actor apikey:<key name>, on the target
// case:<number>. Changes whose context carries no Client are not its
// business. Install it with casework.Service.AddHook.
type AuditHook struct{}

// CaseChanged implements casework.Hook.
func (AuditHook) CaseChanged(ctx context.Context, tx *db.Tx, ch casework.Change) error {
	cl, ok := ClientFrom(ctx)
	if !ok || ch.After == nil {
		return nil
	}
	action, summary := AuditRequest, ch.After.CategoryCode+" "+ch.After.Number
	if ch.Before != nil {
		action, summary = AuditUpdate, string(ch.Action)+": "+string(ch.Before.Status)+" → "+string(ch.After.Status)
	}
	return audit.Record(ctx, tx, audit.Actor{Name: "apikey:" + cl.KeyName, IP: cl.IP}, action, "case:"+ch.After.Number, summary)
}
