package web

import (
	"context"
	"crypto/subtle"
	"net/http"
	"net/url"
	"slices"

	"whistle/internal/account"
	"whistle/internal/errs"
	"whistle/internal/notify"
)

type inboxPage struct {
	Messages []notify.Message
	Unread   int
	Times    map[int64]string
	// Settings is the notification settings form (nil without an Outbox);
	// Channels the channels on offer.
	Settings *formState
	Channels []string
	// WeChat says the WeChat channel is on offer: the form asks for the
	// user's openid, and Bind offers WeChat's own page to hand it over.
	WeChat, Bind bool
	// Bound says the openid was just bound through WeChat.
	Bound bool
}

// inboxHandlers serve the user's notifications, as a page and as JSON;
// the view holds the inbox.
type inboxHandlers struct {
	*view
	Outbox *notify.Outbox
	WeChat WeChatBinder
}

// settingsJSON is a user's notification settings and the channels on offer.
type settingsJSON struct {
	notify.Settings
	Available []string `json:"available"`
}

// apiSettings answers the caller's channels and quiet hours.
func (s *inboxHandlers) apiSettings(w http.ResponseWriter, r *http.Request) error {
	if s.Outbox == nil {
		return errs.E(errs.Unavailable, "error.unavailable")
	}
	st, err := s.Outbox.Settings(r.Context(), userOf(r).ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, settingsJSON{Settings: st, Available: s.Outbox.Channels()})
	return nil
}

// apiSetSettings replaces the caller's channels and quiet hours; bad
// input is a field error and changes nothing.
func (s *inboxHandlers) apiSetSettings(w http.ResponseWriter, r *http.Request) error {
	if s.Outbox == nil {
		return errs.E(errs.Unavailable, "error.unavailable")
	}
	var in notify.Settings
	if err := decodeJSON(r, &in); err != nil {
		return err
	}
	if err := s.Outbox.SetSettings(r.Context(), userOf(r).ID, in); err != nil {
		return err
	}
	return s.apiSettings(w, r)
}

// pageInbox lists the user's notifications; new case events in scope
// refresh it through the page's EventSource.
func (s *inboxHandlers) pageInbox(w http.ResponseWriter, r *http.Request) error {
	return s.showInbox(w, r, http.StatusOK, nil)
}

// showInbox renders the inbox page with the settings form fs (nil: the
// stored settings).
func (s *inboxHandlers) showInbox(w http.ResponseWriter, r *http.Request, status int, fs *formState) error {
	msgs, unread, err := s.inboxFor(r, 100)
	if err != nil {
		return err
	}
	d := &inboxPage{Messages: msgs, Unread: unread, Times: map[int64]string{}}
	if s.Outbox != nil {
		d.Channels = s.Outbox.Channels()
		d.WeChat = slices.Contains(d.Channels, "wechat")
		d.Bind = d.WeChat && s.WeChat != nil
		d.Bound = r.URL.Query().Get("wechat") == "bound"
		if fs == nil {
			st, err := s.Outbox.Settings(r.Context(), userOf(r).ID)
			if err != nil {
				return err
			}
			fs = &formState{Values: url.Values{"channel": st.Channels, "email": {st.Email}, "openid": {st.OpenID}, "quiet_from": {st.QuietFrom}, "quiet_to": {st.QuietTo}}}
		}
		d.Settings = fs
	}
	for _, m := range msgs {
		d.Times[m.ID] = shanghaiTime(m.CreatedAt)
	}
	p := s.newPage(r, "page.inbox.title", d)
	if isHX(r) {
		return s.renderFragment(w, status, "inbox.html", "inbox", p)
	}
	return s.render(w, r, status, "inbox.html", p)
}

// pageInboxSettings stores the settings form: bad input shows its field
// errors and stores nothing.
func (s *inboxHandlers) pageInboxSettings(w http.ResponseWriter, r *http.Request) error {
	if s.Outbox == nil {
		return errs.E(errs.Unavailable, "error.unavailable")
	}
	if err := r.ParseForm(); err != nil {
		return errs.E(errs.Invalid, "error.invalid")
	}
	fs := &formState{Values: r.PostForm}
	in := notify.Settings{Channels: r.PostForm["channel"], Email: r.PostFormValue("email"), OpenID: r.PostFormValue("openid"), QuietFrom: r.PostFormValue("quiet_from"), QuietTo: r.PostFormValue("quiet_to")}
	if in.Channels == nil {
		in.Channels = []string{}
	}
	if err := s.Outbox.SetSettings(r.Context(), userOf(r).ID, in); err != nil {
		status, err := s.failForm(r, fs, err)
		if err != nil {
			return err
		}
		return s.showInbox(w, r, status, fs)
	}
	http.Redirect(w, r, "/inbox", http.StatusSeeOther)
	return nil
}

// pageInboxRead marks every message read.
func (s *inboxHandlers) pageInboxRead(w http.ResponseWriter, r *http.Request) error {
	if err := s.Inbox.MarkRead(r.Context(), userOf(r).ID, 0); err != nil {
		return err
	}
	if isHX(r) {
		return s.pageInbox(w, r)
	}
	http.Redirect(w, r, "/inbox", http.StatusSeeOther)
	return nil
}

// WeChatBinder is WeChat's web authorisation (notify.WeChat): the page a
// user is sent to, and the exchange of its one-time code for the openid.
type WeChatBinder interface {
	AuthorizeURL(redirectURI, state string) string
	OpenID(ctx context.Context, code string) (string, error)
}

// wechatCookie carries one binding's random state from GET /inbox/wechat
// to its callback: HttpOnly, SameSite=Lax (WeChat's redirect back is a
// top-level GET), short-lived and used once. Another site cannot set it,
// so it cannot make a user bind someone else's openid.
const wechatCookie = "whistle_wechat"

const wechatCookiePath = "/inbox/wechat"

// pageWeChatBind sends the user, inside WeChat's browser, to WeChat's
// authorisation page, which hands their openid back to the callback.
func (s *inboxHandlers) pageWeChatBind(w http.ResponseWriter, r *http.Request) error {
	if s.WeChat == nil || s.Outbox == nil {
		return errs.E(errs.NotFound, "error.not_found")
	}
	state := account.NewToken()
	s.setCookie(w, r, &http.Cookie{Name: wechatCookie, Value: state, Path: wechatCookiePath, HttpOnly: true,
		SameSite: http.SameSiteLaxMode, MaxAge: 10 * 60})
	http.Redirect(w, r, s.WeChat.AuthorizeURL(s.callbackURL(r), state), http.StatusFound)
	return nil
}

// callbackURL is this server's callback as the browser reaches it: the
// configured public base when there is one, else the request's host.
func (s *inboxHandlers) callbackURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host + wechatCookiePath + "/callback"
}

// pageWeChatCallback checks the state against the cookie, exchanges the
// code for the openid and stores it, turning the WeChat channel on: 400
// for a missing or wrong state, 503 when WeChat refuses the code.
func (s *inboxHandlers) pageWeChatCallback(w http.ResponseWriter, r *http.Request) error {
	if s.WeChat == nil || s.Outbox == nil {
		return errs.E(errs.NotFound, "error.not_found")
	}
	s.setCookie(w, r, &http.Cookie{Name: wechatCookie, Value: "", Path: wechatCookiePath, MaxAge: -1, HttpOnly: true})
	q := r.URL.Query()
	c, err := r.Cookie(wechatCookie)
	if err != nil || c.Value == "" || subtle.ConstantTimeCompare([]byte(c.Value), []byte(q.Get("state"))) != 1 {
		return errs.E(errs.Invalid, "inboxwx.bad_state")
	}
	if q.Get("code") == "" {
		return errs.E(errs.Invalid, "inboxwx.refused")
	}
	openid, err := s.WeChat.OpenID(r.Context(), q.Get("code"))
	if err != nil {
		s.Logger.Warn("wechat: binding an openid failed", "user", userOf(r).ID, "err", err)
		return errs.E(errs.Unavailable, "inboxwx.failed")
	}
	if err := s.Outbox.BindOpenID(r.Context(), userOf(r).ID, openid); err != nil {
		return err
	}
	http.Redirect(w, r, "/inbox?wechat=bound", http.StatusSeeOther)
	return nil
}
