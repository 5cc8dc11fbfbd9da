// Package oidc signs staff in through an OpenID Connect provider, such as
// a government single sign-on: the authorization code flow with state,
// nonce and PKCE (S256). It only proves who the user is; the Whistle
// account must already exist (account.Store.LoginExternal).
package oidc

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"whistle/internal/errs"
)

// Config names the provider and this client registered with it.
type Config struct {
	// Issuer is the provider's issuer URL; its discovery document is
	// fetched at start-up.
	Issuer       string
	ClientID     string
	ClientSecret string
	// RedirectURL is the callback registered with the provider
	// (https://whistle.example/login/oidc/callback). It is required: one
	// derived from the request's Host could be steered by the client.
	RedirectURL string
	// Claim is the ID token claim that holds the Whistle username.
	Claim string
	// HTTPClient talks to the provider; nil means http.DefaultClient.
	HTTPClient *http.Client
}

// Provider is a configured, discovered OpenID Connect provider.
type Provider struct {
	cfg      Config
	oauth    oauth2.Config
	verifier *gooidc.IDTokenVerifier
	// stateKey signs the browser's sign-in cookie (Seal, Open).
	stateKey []byte
}

// New checks cfg and fetches the issuer's discovery document, so that a
// wrong issuer stops the server at start-up with a clear message.
func New(ctx context.Context, cfg Config) (_ *Provider, err error) {
	if cfg.Claim == "" {
		cfg.Claim = "preferred_username"
	}
	var missing []string
	if cfg.ClientID == "" {
		missing = append(missing, "--oidc-client-id")
	}
	if cfg.RedirectURL == "" {
		missing = append(missing, "--oidc-redirect-url")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("--oidc-issuer is set but %s is not", strings.Join(missing, " and "))
	}
	if u, err := url.Parse(cfg.RedirectURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("--oidc-redirect-url %q is not an absolute http(s) URL", cfg.RedirectURL)
	}
	client := cfg.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	// The key set is refreshed later with this context: it must outlive
	// start-up.
	pctx := gooidc.ClientContext(context.WithoutCancel(ctx), client)
	p, err := gooidc.NewProvider(pctx, cfg.Issuer)
	if err != nil {
		return nil, fmt.Errorf("--oidc-issuer %s: discovery failed: %w", cfg.Issuer, err)
	}
	return &Provider{
		cfg: cfg,
		oauth: oauth2.Config{ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret, RedirectURL: cfg.RedirectURL,
			Endpoint: p.Endpoint(), Scopes: []string{gooidc.ScopeOpenID, "profile"}},
		verifier: p.Verifier(&gooidc.Config{ClientID: cfg.ClientID}),
		stateKey: stateKey(cfg.ClientSecret),
	}, nil
}

// stateKey derives the key that signs the sign-in cookie from the client
// secret, the one secret every replica of the server already shares, so
// that a sign-in started on one replica can finish on another. A public
// client (no secret) gets a random key of this process instead: its
// sign-ins must then start and finish on the same replica.
func stateKey(secret string) []byte {
	if secret == "" {
		k := make([]byte, 32)
		_, _ = rand.Read(k) // crypto/rand.Read never fails (Go 1.24+)
		return k
	}
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte("whistle oidc sign-in cookie v1"))
	return m.Sum(nil)
}

// Seal signs value (the sign-in's state, nonce, verifier and next page)
// and the time it was issued, for a cookie the browser brings back to the
// callback: value "." unix seconds "." base64url(HMAC-SHA256).
func (p *Provider) Seal(value string, now time.Time) string {
	v := value + "." + strconv.FormatInt(now.Unix(), 10)
	return v + "." + p.mac(v)
}

// Open returns the value sealed in c when its signature is the server's
// and it was issued at most maxAge before now; false for a cookie that
// was tampered with, forged, or is too old.
func (p *Provider) Open(c string, now time.Time, maxAge time.Duration) (string, bool) {
	i := strings.LastIndexByte(c, '.')
	if i < 0 || !hmac.Equal([]byte(c[i+1:]), []byte(p.mac(c[:i]))) {
		return "", false
	}
	v := c[:i]
	j := strings.LastIndexByte(v, '.')
	if j < 0 {
		return "", false
	}
	sec, err := strconv.ParseInt(v[j+1:], 10, 64)
	if err != nil {
		return "", false
	}
	age := now.Sub(time.Unix(sec, 0))
	if age < -time.Minute || age > maxAge {
		return "", false
	}
	return v[:j], true
}

func (p *Provider) mac(v string) string {
	m := hmac.New(sha256.New, p.stateKey)
	m.Write([]byte(v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// AuthCodeURL is where the browser goes to sign in; the caller keeps
// state, nonce and verifier (oauth2.GenerateVerifier) for the callback.
func (p *Provider) AuthCodeURL(state, nonce, verifier string) string {
	return p.oauth.AuthCodeURL(state, gooidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier))
}

// Username exchanges the callback's code with the PKCE verifier, verifies
// the ID token (signature, issuer, audience, expiry) and its nonce, and
// returns the configured claim. Every refusal is errs.Unauthorized
// "oidc.failed"; the cause is in the wrapped error for the log.
func (p *Provider) Username(ctx context.Context, code, verifier, nonce string) (_ string, err error) {
	defer errs.Wrapf(&err, "oidc.Provider.Username")
	fail := func(cause error) error {
		return errs.E(errs.Unauthorized, "oidc.failed").Wrap(cause)
	}
	// The request's context bounds the calls to the provider.
	ctx = gooidc.ClientContext(ctx, p.client())
	tok, err := p.oauth.Exchange(ctx, code, oauth2.VerifierOption(verifier))
	if err != nil {
		return "", fail(fmt.Errorf("code exchange: %w", err))
	}
	raw, ok := tok.Extra("id_token").(string)
	if !ok || raw == "" {
		return "", fail(errors.New("no id_token in the token response"))
	}
	id, err := p.verifier.Verify(ctx, raw)
	if err != nil {
		return "", fail(err)
	}
	if id.Nonce == "" || id.Nonce != nonce {
		return "", fail(errors.New("ID token nonce does not match"))
	}
	var claims map[string]any
	if err := id.Claims(&claims); err != nil {
		return "", fail(err)
	}
	name, _ := claims[p.cfg.Claim].(string)
	if strings.TrimSpace(name) == "" {
		return "", fail(fmt.Errorf("ID token has no string claim %q", p.cfg.Claim))
	}
	return name, nil
}

func (p *Provider) client() *http.Client {
	if p.cfg.HTTPClient != nil {
		return p.cfg.HTTPClient
	}
	return http.DefaultClient
}
