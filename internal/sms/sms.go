// Package sms sends templated text messages to mobile numbers. Chinese SMS
// gateways only send pre-approved templates under a registered signature,
// so a message is a template name and its parameters, never free text.
//
// Two Senders: HTTP, an adapter for a generic gateway (signed JSON POST,
// provider error codes mapped to errors), and Log, a double that records
// and logs each message; Log is the default when no gateway is configured.
package sms

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"

	"whistle/internal/errs"
)

// Message is one text message: the logical template name (mapped to the
// provider's template id by Config.Templates) and its parameters.
type Message struct {
	Phone    string            `json:"phone"`
	Template string            `json:"template"`
	Params   map[string]string `json:"params"`
}

// Sender delivers a Message. Implementations are safe for concurrent use.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// Template names used by the application.
const (
	TemplateLoginCode = "login_code" // params: code, minutes
	TemplateNotify    = "notify"     // params: text
)

// The kinds of failure a caller may act on; a *ProviderError matches one
// of them with errors.Is.
var (
	ErrBadNumber   = errors.New("sms: number refused by the provider")
	ErrRateLimited = errors.New("sms: provider rate limit")
	ErrConfig      = errors.New("sms: template, signature or credentials refused")
	ErrUnavailable = errors.New("sms: provider unavailable")
)

// Config configures New. An empty URL means no gateway: messages go to a Log.
type Config struct {
	URL       string            // gateway endpoint (POST)
	AccessKey string            // access key id, sent in the clear
	Secret    string            // signs each request; never sent
	SignName  string            // registered signature, e.g. 吹哨
	Templates map[string]string // template name → provider template id
}

// ParseTemplates reads "name=id,name=id" (the --sms-templates flag).
func ParseTemplates(s string) (map[string]string, error) {
	out := map[string]string{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, id, ok := strings.Cut(part, "=")
		name, id = strings.TrimSpace(name), strings.TrimSpace(id)
		if !ok || name == "" || id == "" {
			return nil, fmt.Errorf("sms templates: %q is not name=id", part)
		}
		out[name] = id
	}
	return out, nil
}

// New returns the HTTP adapter when cfg.URL is set, else a Log.
func New(cfg Config, logger *slog.Logger) (Sender, error) {
	if cfg.URL == "" {
		return NewLog(logger), nil
	}
	return NewHTTP(cfg, nil)
}

// Log is the test double and the default Sender: it records every message
// and logs it (the parameters too: the logged code is how a developer
// signs in without a gateway, so never use Log in production).
type Log struct {
	logger *slog.Logger
	mu     sync.Mutex
	sent   []Message
}

// NewLog returns an empty Log writing to logger (nil: record only).
func NewLog(logger *slog.Logger) *Log { return &Log{logger: logger} }

// Send records m.
func (l *Log) Send(ctx context.Context, m Message) (err error) {
	defer errs.Wrapf(&err, "sms.Log.Send")
	if err := ctx.Err(); err != nil {
		return err
	}
	m.Params = copyParams(m.Params)
	l.mu.Lock()
	l.sent = append(l.sent, m)
	l.mu.Unlock()
	if l.logger != nil {
		l.logger.Info("sms (not sent: no gateway configured)", "phone", m.Phone, "template", m.Template, "params", paramString(m.Params))
	}
	return nil
}

// Messages returns a copy of every recorded message, oldest first.
func (l *Log) Messages() []Message {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make([]Message, len(l.sent))
	for i, m := range l.sent {
		m.Params = copyParams(m.Params)
		out[i] = m
	}
	return out
}

// Last returns the newest message sent to phone.
func (l *Log) Last(phone string) (Message, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i := len(l.sent) - 1; i >= 0; i-- {
		if l.sent[i].Phone == phone {
			m := l.sent[i]
			m.Params = copyParams(m.Params)
			return m, true
		}
	}
	return Message{}, false
}

func copyParams(p map[string]string) map[string]string {
	if p == nil {
		return nil
	}
	out := make(map[string]string, len(p))
	for k, v := range p {
		out[k] = v
	}
	return out
}

// paramString renders params in key order, for logs.
func paramString(p map[string]string) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k + "=" + p[k])
	}
	return b.String()
}
