package sms

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"whistle/internal/clock"
	"whistle/internal/errs"
)

// HTTP is the adapter for a gateway in the style of the Chinese SMS
// services (阿里云短信, 腾讯云短信 and the operators' own): a JSON POST of
// number, signature, template id and parameters, signed with HMAC-SHA256
// over the method, path, timestamp, nonce and body hash, answered with
// {"code": "OK"|error code, "message", "request_id"}.
//
// Request headers:
//
//	X-Sms-Access-Key  the access key
//	X-Sms-Timestamp   Unix seconds
//	X-Sms-Nonce       32 random hex digits (the gateway refuses a replay)
//	X-Sms-Signature   base64(HMAC-SHA256(secret, Canonical(...)))
type HTTP struct {
	cfg    Config
	client *http.Client
	clock  clock.Clock
	path   string
}

// Request is the JSON body sent to the gateway.
type Request struct {
	Phone         string `json:"phone_numbers"`
	SignName      string `json:"sign_name"`
	TemplateCode  string `json:"template_code"`
	TemplateParam string `json:"template_param"` // a JSON object, as the gateways want it
}

// Response is the gateway's answer.
type Response struct {
	Code      string `json:"code"`
	Message   string `json:"message"`
	RequestID string `json:"request_id"`
}

// ProviderError is a refusal by the gateway. errors.Is matches it to
// ErrBadNumber, ErrRateLimited, ErrConfig or ErrUnavailable by its code.
type ProviderError struct {
	Status    int    // HTTP status
	Code      string // the provider's code, e.g. isv.MOBILE_NUMBER_ILLEGAL
	Message   string
	RequestID string
	kind      error
}

func (e *ProviderError) Error() string {
	return fmt.Sprintf("sms gateway: %s: %s (status %d, request %s)", e.Code, e.Message, e.Status, e.RequestID)
}

// Is reports whether target is the kind of this refusal.
func (e *ProviderError) Is(target error) bool { return e.kind != nil && target == e.kind }

// kinds maps the provider codes a caller can act on. Unlisted codes are
// plain ProviderErrors.
var kinds = map[string]error{
	"isv.MOBILE_NUMBER_ILLEGAL":         ErrBadNumber,
	"isv.MOBILE_COUNT_OVER_LIMIT":       ErrBadNumber,
	"isv.BLACK_KEY_CONTROL_LIMIT":       ErrBadNumber,
	"isv.BUSINESS_LIMIT_CONTROL":        ErrRateLimited,
	"isv.DAY_LIMIT_CONTROL":             ErrRateLimited,
	"Throttling.User":                   ErrRateLimited,
	"isv.SMS_TEMPLATE_ILLEGAL":          ErrConfig,
	"isv.SMS_SIGNATURE_ILLEGAL":         ErrConfig,
	"isv.TEMPLATE_MISSING_PARAMS":       ErrConfig,
	"isv.AMOUNT_NOT_ENOUGH":             ErrConfig,
	"InvalidAccessKeyId.NotFound":       ErrConfig,
	"SignatureDoesNotMatch":             ErrConfig,
	"InvalidTimeStamp.Expired":          ErrConfig,
	"isp.SYSTEM_ERROR":                  ErrUnavailable,
	"ServiceUnavailable":                ErrUnavailable,
	"isp.RAM_PERMISSION_DENY":           ErrConfig,
	"isv.INVALID_PARAMETERS":            ErrConfig,
	"isv.PARAM_LENGTH_LIMIT":            ErrConfig,
	"isv.INVALID_JSON_PARAM":            ErrConfig,
	"isv.OUT_OF_SERVICE":                ErrUnavailable,
	"isv.ACCOUNT_ABNORMAL":              ErrConfig,
	"isv.ACCOUNT_NOT_EXISTS":            ErrConfig,
	"isv.SMS_SIGN_ILLEGAL":              ErrConfig,
	"isv.SMS_TEMPLATE_NOT_EXISTS":       ErrConfig,
	"isv.EXTEND_CODE_ERROR":             ErrConfig,
	"isv.DOMESTIC_NUMBER_NOT_SUPPORTED": ErrBadNumber,
}

// NewHTTP returns the adapter for cfg; client nil means a client with a
// 10 s timeout.
func NewHTTP(cfg Config, client *http.Client) (*HTTP, error) {
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("sms: gateway URL %q is not an http(s) URL", cfg.URL)
	}
	if cfg.AccessKey == "" || cfg.Secret == "" {
		return nil, errors.New("sms: a gateway needs an access key and a secret")
	}
	if cfg.SignName == "" {
		return nil, errors.New("sms: a gateway needs a signature name")
	}
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return &HTTP{cfg: cfg, client: client, clock: clock.Real{}, path: path}, nil
}

// WithClock returns a copy of h that timestamps requests by c (tests).
func (h *HTTP) WithClock(c clock.Clock) *HTTP {
	cp := *h
	cp.clock = c
	return &cp
}

// Canonical is the string the gateway signs: method, path, timestamp,
// nonce and the hex SHA-256 of the body, one a line.
func Canonical(method, path, timestamp, nonce string, body []byte) string {
	sum := sha256.Sum256(body)
	return method + "\n" + path + "\n" + timestamp + "\n" + nonce + "\n" + hex.EncodeToString(sum[:])
}

// Sign returns base64(HMAC-SHA256(secret, canonical)).
func Sign(secret, canonical string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(canonical))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

// Send posts m to the gateway and maps a refusal to a *ProviderError.
func (h *HTTP) Send(ctx context.Context, m Message) (err error) {
	defer errs.Wrapf(&err, "sms.HTTP.Send")
	tpl, ok := h.cfg.Templates[m.Template]
	if !ok {
		return fmt.Errorf("sms: no provider template id for %q (--sms-templates): %w", m.Template, ErrConfig)
	}
	params := m.Params
	if params == nil {
		params = map[string]string{}
	}
	p, err := json.Marshal(params)
	if err != nil {
		return err
	}
	body, err := json.Marshal(Request{Phone: m.Phone, SignName: h.cfg.SignName, TemplateCode: tpl, TemplateParam: string(p)})
	if err != nil {
		return err
	}
	var nb [16]byte
	if _, err := rand.Read(nb[:]); err != nil {
		return err
	}
	nonce := hex.EncodeToString(nb[:])
	ts := strconv.FormatInt(h.clock.Now().Unix(), 10)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("X-Sms-Access-Key", h.cfg.AccessKey)
	req.Header.Set("X-Sms-Timestamp", ts)
	req.Header.Set("X-Sms-Nonce", nonce)
	req.Header.Set("X-Sms-Signature", Sign(h.cfg.Secret, Canonical(http.MethodPost, h.path, ts, nonce, body)))
	resp, err := h.client.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return fmt.Errorf("%w: %w", ErrUnavailable, err)
	}
	var r Response
	if jerr := json.Unmarshal(raw, &r); jerr != nil || r.Code == "" {
		pe := &ProviderError{Status: resp.StatusCode, Code: "unreadable", Message: truncate(string(raw), 200)}
		switch {
		case resp.StatusCode >= 500:
			pe.kind = ErrUnavailable
		case resp.StatusCode == http.StatusTooManyRequests:
			pe.kind = ErrRateLimited
		case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
			pe.kind = ErrConfig
		}
		return pe
	}
	if r.Code == "OK" && resp.StatusCode/100 == 2 {
		return nil
	}
	pe := &ProviderError{Status: resp.StatusCode, Code: r.Code, Message: r.Message, RequestID: r.RequestID, kind: kinds[r.Code]}
	if pe.kind == nil && resp.StatusCode >= 500 {
		pe.kind = ErrUnavailable
	}
	return pe
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
