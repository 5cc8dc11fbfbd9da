package open311

import (
	"context"

	"whistle/internal/casework"
)

// Client is the integration behind an Open311 call: its API key and
// address.
type Client struct {
	KeyID   int64
	KeyName string
	IP      string
}

type clientKey struct{}

// WithClient returns ctx carrying the calling integration. casework writes
// the audit entry of each case change made with it (see AuditRequest).
func WithClient(ctx context.Context, c Client) context.Context {
	ctx = casework.WithAPIClient(ctx, casework.APIClient{KeyName: c.KeyName, IP: c.IP, Via: "open311"})
	return context.WithValue(ctx, clientKey{}, c)
}

// ClientFrom returns the integration that ctx carries.
func ClientFrom(ctx context.Context) (Client, bool) {
	c, ok := ctx.Value(clientKey{}).(Client)
	return c, ok
}

// Audit actions of case changes made through Open311: casework writes
// open311.request for a new case and open311.update for a step, by the
// actor apikey:<key name>, on the target case:<number>, inside the
// change's own transaction.
const (
	AuditRequest = "open311.request"
	AuditUpdate  = "open311.update"
)
