package web

import (
	"context"
	"net/http"
	"sort"
	"strconv"
	"time"

	"whistle/internal/account"
	"whistle/internal/benefit"
	"whistle/internal/errs"
	"whistle/internal/i18n"
	"whistle/internal/policy"
	"whistle/internal/region"
	"whistle/internal/registry"
	"whistle/internal/workflow"
)

// benefitPages are issue 18's pages: a resident's matched policies with
// their reasons and the one-click application (利民补助一键达), the staff's
// applications with their steps and the payouts, an enterprise's 惠企
// items (一企一档), and the departments' policy list and authoring form.
// The pages render what the policy engine and the benefit service answer;
// their buttons post to the JSON API (benefit.js).
type benefitPages struct {
	*view
	Engine   *policy.Engine
	Benefits *benefit.Service
	Registry *registry.Store
	// Regions lists the nodes the 应享未享 page's selector offers.
	Regions *region.Store
	Clock   interface{ Now() time.Time }
}

func (h *benefitPages) services() (*policy.Engine, *benefit.Service, error) {
	if h.Engine == nil || h.Benefits == nil {
		return nil, nil, errs.E(errs.Unavailable, "error.unavailable")
	}
	return h.Engine, h.Benefits, nil
}

// pick is the text in the page's language.
func pick(lang i18n.Lang, zh, en string) string {
	if lang == i18n.EN && en != "" {
		return en
	}
	return zh
}

// condRow is a condition of a card as shown: its three-valued result and
// the explanation (the values found and the legal source).
type condRow struct {
	Result, Text, Explanation, Source string
}

// benefitCard is one policy's answer as a card.
type benefitCard struct {
	Lang                                                           i18n.Lang
	Policy, Title, Result, Explanation, Amount, Department, Period string
	Conditions                                                     []condRow
	Documents, Missing                                             []string
	// AutoPay is 免申即享 on verified data: no application needed.
	AutoPay bool
	// Application is this period's application, if any (its status).
	Application string
	// MayApply shows the one-click button; Subject is whom it applies
	// for ("kind:id"; empty: the signed-in resident).
	MayApply bool
	Subject  string
}

// amountText is the amount per period, e.g. 每月 100 元.
func amountText(lang i18n.Lang, amount *float64, period string) string {
	if amount == nil {
		return ""
	}
	a := strconv.FormatFloat(*amount, 'f', -1, 64)
	if lang == i18n.EN {
		return map[string]string{"month": a + " yuan a month", "year": a + " yuan a year", "once": a + " yuan once"}[period]
	}
	return map[string]string{"month": "每月 " + a + " 元", "year": "每年 " + a + " 元", "once": "一次性 " + a + " 元"}[period]
}

// cardOf turns a result into a card.
func cardOf(lang i18n.Lang, r policy.Result, labels map[string]policy.Field) benefitCard {
	c := benefitCard{Lang: lang, Policy: r.Policy, Title: pick(lang, r.Title.ZH, r.Title.EN), Result: r.Result, Explanation: pick(lang, r.Explanation.ZH, r.Explanation.EN),
		Amount: amountText(lang, r.Amount, r.Period), Department: r.Department, Period: r.Period, AutoPay: r.AutoPay && r.Verified && r.Result == policy.Eligible}
	for _, cd := range r.Conditions {
		c.Conditions = append(c.Conditions, condRow{Result: cd.Result, Text: pick(lang, cd.Text.ZH, cd.Text.EN),
			Explanation: pick(lang, cd.Explanation.ZH, cd.Explanation.EN), Source: cd.Source})
	}
	for _, d := range r.Documents {
		c.Documents = append(c.Documents, pick(lang, d.ZH, d.EN))
	}
	for _, k := range r.Missing {
		c.Missing = append(c.Missing, pick(lang, labels[k].Label.ZH, labels[k].Label.EN))
	}
	return c
}

// questionRow is a missing fact to ask about, and how many policies it
// would decide.
type questionRow struct {
	Label   string
	Decides int
}

// appRow is an application as a row.
type appRow struct {
	ID                                                  int64
	Subject, Title, Period, Amount, Status, StatusLabel string
	Actions                                             []actionButton
}

// actionButton is a step the caller may take on an application.
type actionButton struct{ Name, Label string }

// payoutRow is a payout as a row.
type payoutRow struct {
	Subject, Title, Period, Amount, Source, PaidAt string
}

// payoutTable is the payouts section the resident's and the staff's
// pages share (templates/_benefit.html, "benefit-payouts").
type payoutTable struct {
	Lang  i18n.Lang
	Title string
	Rows  []payoutRow
}

// benefitsPage is a resident's page.
type benefitsPage struct {
	Linked bool
	// Ambiguous says the resident's proven phone is several people's:
	// nobody is linked, and they are told to link by identity number.
	Ambiguous bool
	Date      string
	Matches   benefitMatches
	Payouts   payoutTable
}

// benefitMatches is what the resident's and the enterprise's pages share
// (templates/_benefit.html, "benefit-matches"): the missing facts as
// questions, the policies matched and not, the applications, and the
// titles of those sections.
type benefitMatches struct {
	Lang                                   i18n.Lang
	MatchedTitle, AppsTitle, QuestionsHint string
	Cards, NotEligible                     []benefitCard
	Questions                              []questionRow
	Apps                                   []appRow
}

// match fills m's cards from the results, eligible first, then may be,
// the not eligible apart, and the questions that would decide the
// undecided; adjust sets each card's application state.
func (m *benefitMatches) match(rs []policy.Result, adjust func(*benefitCard, policy.Result)) {
	ls := labels()
	order := map[string]int{policy.Eligible: 0, policy.MayBeEligible: 1, policy.NotEligible: 2}
	sort.SliceStable(rs, func(i, j int) bool { return order[rs[i].Result] < order[rs[j].Result] })
	for _, res := range rs {
		card := cardOf(m.Lang, res, ls)
		adjust(&card, res)
		if res.Result == policy.NotEligible {
			m.NotEligible = append(m.NotEligible, card)
		} else {
			m.Cards = append(m.Cards, card)
		}
	}
	for _, q := range policy.Questions(rs) {
		m.Questions = append(m.Questions, questionRow{Label: pick(m.Lang, q.Label.ZH, q.Label.EN), Decides: q.Decides})
	}
}

// labels are the fields' labels of every target.
func labels() map[string]policy.Field {
	m := map[string]policy.Field{}
	for _, t := range []string{policy.KindPerson, policy.KindOrganisation} {
		for _, f := range policy.FieldsOf(t) {
			m[f.Key] = f
		}
	}
	return m
}

// workflowLabels are a benefit workflow version's state and action
// labels (0: the shipped definition's), each version read once a page.
type workflowLabels struct {
	ctx  context.Context
	svc  *benefit.Service
	lang i18n.Lang
	by   map[int]*workflow.Definition
}

func (l *workflowLabels) def(version int) *workflow.Definition {
	if d, ok := l.by[version]; ok {
		return d
	}
	var d *workflow.Definition
	if version > 0 {
		d, _ = l.svc.Workflow(l.ctx, version)
	}
	if d == nil {
		d, _ = benefit.Definition()
	}
	l.by[version] = d
	return d
}

func (l *workflowLabels) state(version int, name string) string {
	if d := l.def(version); d != nil {
		for _, s := range d.States {
			if s.Name == name {
				return pick(l.lang, s.Label.Zh, s.Label.En)
			}
		}
	}
	return name
}

func (l *workflowLabels) action(version int, name string) string {
	if d := l.def(version); d != nil {
		if a, ok := d.ActionLabels[name]; ok {
			return pick(l.lang, a.Zh, a.En)
		}
	}
	return name
}

func (h *benefitPages) labelsOf(ctx context.Context, svc *benefit.Service, lang i18n.Lang) *workflowLabels {
	return &workflowLabels{ctx: ctx, svc: svc, lang: lang, by: map[int]*workflow.Definition{}}
}

func (h *benefitPages) appRows(ctx context.Context, svc *benefit.Service, c benefit.Caller, lang i18n.Lang, apps []*benefit.Application, withActions bool) ([]appRow, error) {
	ls := h.labelsOf(ctx, svc, lang)
	out := make([]appRow, 0, len(apps))
	for _, a := range apps {
		row := appRow{ID: a.ID, Subject: a.SubjectName, Title: pick(lang, a.Title.ZH, a.Title.EN), Period: a.Period,
			Amount: strconv.FormatFloat(a.Amount, 'f', 2, 64), Status: a.Status, StatusLabel: ls.state(a.WorkflowVersion, a.Status)}
		if withActions {
			names, err := svc.Actions(ctx, c, a)
			if err != nil {
				return nil, err
			}
			for _, n := range names {
				if n == "withdraw" || n == "supplement" || n == "request_supplement" || n == "refuse" {
					continue // these need a note or material: the application's API
				}
				row.Actions = append(row.Actions, actionButton{Name: n, Label: ls.action(a.WorkflowVersion, n)})
			}
		}
		out = append(out, row)
	}
	return out, nil
}

func payoutRows(lang i18n.Lang, ps []*benefit.Payout) []payoutRow {
	out := make([]payoutRow, 0, len(ps))
	for _, p := range ps {
		src := map[string]string{"auto": pick(lang, "免申即享", "paid without application"), "application": pick(lang, "申请", "application")}[p.Source]
		out = append(out, payoutRow{Subject: p.SubjectName, Title: pick(lang, p.Title.ZH, p.Title.EN), Period: p.Period,
			Amount: strconv.FormatFloat(p.Amount, 'f', 2, 64), Source: src, PaidAt: shanghaiTime(p.PaidAt)})
	}
	return out
}

// today is the date in China.
func (h *benefitPages) today() time.Time { return policy.ChinaDate(h.Clock.Now()) }

// pageBenefits is /benefits: the signed-in resident's policies — those
// they may qualify for first, with amounts, reasons, the missing facts as
// questions and the documents needed, and the one-click button — then
// their applications and payouts. An account not linked to a registry
// person is told how to link it.
func (h *benefitPages) pageBenefits(w http.ResponseWriter, r *http.Request) error {
	en, svc, err := h.services()
	if err != nil {
		return err
	}
	ctx, u, lang := r.Context(), userOf(r), langOf(r)
	d := &benefitsPage{Date: h.today().Format(time.DateOnly), Matches: benefitMatches{Lang: langOf(r),
		MatchedTitle: "benefit.page.matched", AppsTitle: "benefit.page.my_apps", QuestionsHint: "benefit.page.questions_hint"}}
	rs, err := en.EvaluateResident(ctx, u, h.today())
	switch {
	case errs.Is(err, errs.NotFound):
		if e, ok := errs.As(err); ok && e.Reason == "ambiguous" {
			d.Ambiguous = true
		}
		return h.render(w, r, http.StatusOK, "benefits.html", h.newPage(r, "benefit.page.title", d))
	case err != nil:
		return err
	}
	d.Linked = true
	c := benefitCaller(r)
	apps, _, err := svc.List(ctx, c, benefit.Filter{Mine: true, Limit: 100})
	if err != nil {
		return err
	}
	if d.Matches.Apps, err = h.appRows(ctx, svc, c, lang, apps, false); err != nil {
		return err
	}
	open := map[string]string{}
	for _, a := range d.Matches.Apps {
		for _, x := range apps {
			if x.ID == a.ID && x.Status != "refused" && x.Status != "withdrawn" {
				if _, seen := open[x.Policy]; !seen {
					open[x.Policy] = a.StatusLabel
				}
			}
		}
	}
	ps, _, err := svc.Payouts(ctx, c, benefit.Filter{Mine: true, Limit: 100})
	if err != nil {
		return err
	}
	d.Payouts = payoutTable{Lang: lang, Title: "benefit.page.my_payouts", Rows: payoutRows(lang, ps)}
	d.Matches.match(rs, func(card *benefitCard, res policy.Result) {
		card.Application = open[res.Policy]
		card.MayApply = res.Result != policy.NotEligible && !card.AutoPay && card.Application == ""
	})
	return h.render(w, r, http.StatusOK, "benefits.html", h.newPage(r, "benefit.page.title", d))
}

// applicationsPage is the staff's page of applications and payouts.
type applicationsPage struct {
	Status   string
	Statuses []option
	Apps     []appRow
	Payouts  payoutTable
}

// mayWorkBenefits reports whether the caller works applications: staff
// who accept, review or pay them.
func mayWorkBenefits(u *account.User) bool {
	return u != nil && (u.Has(account.CommunityStaff) || u.Has(account.StreetStaff) || u.Has(account.DepartmentHandler) || u.Has(account.Admin))
}

// pageApplications is /benefits/applications: the applications the
// caller may work (their region's, their department's), with the steps
// they may take (受理, 审核通过, 发放), and the payouts. For anyone else
// it does not exist (404).
func (h *benefitPages) pageApplications(w http.ResponseWriter, r *http.Request) error {
	_, svc, err := h.services()
	if err != nil {
		return err
	}
	ctx, u, lang := r.Context(), userOf(r), langOf(r)
	if !mayWorkBenefits(u) {
		return errs.E(errs.NotFound, "error.not_found")
	}
	c := benefitCaller(r)
	status := r.URL.Query().Get("status")
	apps, _, err := svc.List(ctx, c, benefit.Filter{Status: status, Limit: 200})
	if err != nil {
		return err
	}
	d := &applicationsPage{Status: status}
	ls := h.labelsOf(ctx, svc, lang)
	for _, s := range []string{"", "submitted", "accepted", "supplement", "approved", "paid", "refused"} {
		label := ls.state(0, s)
		if s == "" {
			label = pick(lang, "全部", "all")
		}
		d.Statuses = append(d.Statuses, option{Value: s, Label: label})
	}
	if d.Apps, err = h.appRows(ctx, svc, c, lang, apps, true); err != nil {
		return err
	}
	ps, _, err := svc.Payouts(ctx, c, benefit.Filter{Limit: 100})
	if err != nil {
		return err
	}
	d.Payouts = payoutTable{Lang: lang, Title: "benefit.page.payouts", Rows: payoutRows(lang, ps)}
	return h.render(w, r, http.StatusOK, "benefit_applications.html", h.newPage(r, "benefit.page.applications", d))
}

// orgPage is an enterprise's 惠企 page (一企一档).
type orgPage struct {
	ID      int64
	Name    string
	Matches benefitMatches
}

// pageOrganisation is /benefits/organisations/{id}: the enterprise
// policies an organisation in the caller's scope matches, with reasons,
// and its applications; out of scope it is 404.
func (h *benefitPages) pageOrganisation(w http.ResponseWriter, r *http.Request) error {
	en, svc, err := h.services()
	if err != nil {
		return err
	}
	ctx, u, lang := r.Context(), userOf(r), langOf(r)
	id, err := pathID(r)
	if err != nil {
		return err
	}
	rs, err := en.Evaluate(ctx, registry.ScopeOf(u), policy.Subject{Kind: policy.KindOrganisation, ID: id}, h.today())
	if err != nil {
		return err
	}
	d := &orgPage{ID: id, Matches: benefitMatches{Lang: lang, MatchedTitle: "benefit.page.org_matched", AppsTitle: "benefit.page.org_apps"}}
	if d.Name, err = orgName(ctx, h.Registry, u, id); err != nil {
		return err
	}
	c := benefitCaller(r)
	apps, _, err := svc.List(ctx, c, benefit.Filter{Subject: benefit.Subject{Kind: benefit.Organisation, ID: id}, Limit: 100})
	if err != nil {
		return err
	}
	if d.Matches.Apps, err = h.appRows(ctx, svc, c, lang, apps, false); err != nil {
		return err
	}
	open := map[string]bool{}
	for _, a := range apps {
		if a.Status != "refused" && a.Status != "withdrawn" {
			open[a.Policy] = true
		}
	}
	d.Matches.match(rs, func(card *benefitCard, res policy.Result) {
		card.MayApply = res.Result != policy.NotEligible && !card.AutoPay && !open[res.Policy] && mayWorkBenefits(u)
		card.Subject = "organisation:" + strconv.FormatInt(id, 10)
	})
	return h.render(w, r, http.StatusOK, "benefit_org.html", h.newPage(r, "benefit.page.org", d))
}

// orgName is the organisation's name as the registry shows it in scope.
func orgName(ctx context.Context, reg *registry.Store, u *account.User, id int64) (string, error) {
	if reg == nil {
		return "", nil
	}
	o, err := reg.Organisation(ctx, registry.ScopeOf(u), id)
	if err != nil {
		return "", err
	}
	return o.Name, nil
}

// policyRow is a policy in the list.
type policyRow struct {
	Key, Title, Kind, Target, Department string
	Versions                             []versionRow
}

// versionRow is one version of a policy.
type versionRow struct {
	Version                  int
	Status, Effective, Until string
	Conditions               []condRow
}

// policiesPage lists the policies; authors get the form's link.
type policiesPage struct {
	Author   bool
	Policies []policyRow
}

// pagePolicies is /policies: every policy with its versions and their
// conditions (text, source and expression), for staff; department
// handlers and admins write them.
func (h *benefitPages) pagePolicies(w http.ResponseWriter, r *http.Request) error {
	en, _, err := h.services()
	if err != nil {
		return err
	}
	u, lang := userOf(r), langOf(r)
	if !u.IsStaff() {
		return errs.E(errs.NotFound, "error.not_found")
	}
	ps, err := en.Policies(r.Context(), "")
	if err != nil {
		return err
	}
	d := &policiesPage{Author: mayAuthor(u) == nil}
	for _, p := range ps {
		row := policyRow{Key: p.Key, Title: pick(lang, p.Title.ZH, p.Title.EN), Kind: p.Kind, Target: p.Target}
		for _, v := range p.Versions {
			vr := versionRow{Version: v.Version, Status: v.Status}
			if v.Effective != nil {
				vr.Effective = v.Effective.Format(time.DateOnly)
			}
			if v.Until != nil {
				vr.Until = v.Until.Format(time.DateOnly)
			}
			for _, c := range v.Conditions {
				vr.Conditions = append(vr.Conditions, condRow{Text: pick(lang, c.Text.ZH, c.Text.EN), Explanation: c.Expr, Source: c.Source})
			}
			row.Department = v.Department
			row.Versions = append(row.Versions, vr)
		}
		d.Policies = append(d.Policies, row)
	}
	return h.render(w, r, http.StatusOK, "policies.html", h.newPage(r, "policy.page.title", d))
}

// fieldOption is a field of the picker.
type fieldOption struct{ Key, Label, Type, Target string }

// policyFormPage is the authoring form.
type policyFormPage struct {
	Fields []fieldOption
	Today  string
}

// pagePolicyNew is /policies/new: the authoring form for department
// handlers and admins — conditions written with a field picker, a test
// panel evaluating the draft against sample records, validation with
// each condition's problem, saving and publication with an effective
// date. Others get 404.
func (h *benefitPages) pagePolicyNew(w http.ResponseWriter, r *http.Request) error {
	if _, _, err := h.services(); err != nil {
		return err
	}
	u, lang := userOf(r), langOf(r)
	if mayAuthor(u) != nil {
		return errs.E(errs.NotFound, "error.not_found")
	}
	d := &policyFormPage{Today: h.today().Format(time.DateOnly)}
	for _, t := range []string{policy.KindPerson, policy.KindOrganisation} {
		for _, f := range policy.FieldsOf(t) {
			d.Fields = append(d.Fields, fieldOption{Key: f.Key, Label: pick(lang, f.Label.ZH, f.Label.EN), Type: f.Type, Target: t})
		}
	}
	return h.render(w, r, http.StatusOK, "policy_new.html", h.newPage(r, "policy.page.new", d))
}
