// Benefit pages (issue 18): the one-click application, the staff's steps
// on applications, the 应享未享 list's 主动告知 button, and the policy
// authoring form (field picker, test panel, save, publish). Every button posts JSON to the API with the
// session's CSRF token.
(function () {
  'use strict';
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.content : '';
  var errorBox = document.querySelector('[data-benefit-error]') || document.querySelector('[data-policy-error]');
  function showError(msg) {
    if (errorBox) { errorBox.textContent = msg; errorBox.hidden = false; }
  }
  // post sends body and resolves with the answer's JSON; a refusal
  // rejects with the answer (its fields say what is wrong).
  function post(url, body) {
    return fetch(url, { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
      body: JSON.stringify(body || {}) }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) { var e = new Error(j.error ? j.error.message : String(r.status)); e.answer = j; throw e; }
        return j;
      });
    });
  }
  function firstField(e) {
    var f = (e.answer && e.answer.error && e.answer.error.fields) || {};
    var k = Object.keys(f)[0];
    return k ? f[k] : e.message;
  }
  document.addEventListener('click', function (ev) {
    var apply = ev.target.closest('[data-benefit-apply]');
    if (apply) {
      apply.disabled = true;
      var body = { policy: apply.dataset.benefitApply };
      if (apply.dataset.subject) {
        var p = apply.dataset.subject.split(':');
        body.subject = { kind: p[0], id: Number(p[1]) };
      }
      post('/api/v1/applications', body).then(function () { location.reload(); })
        .catch(function (e) { showError(firstField(e)); apply.disabled = false; });
      return;
    }
    // 主动告知: queue the notices of the listed region, then say how many
    // were queued, told before and have no phone.
    var notify = ev.target.closest('[data-notices]');
    if (notify) {
      notify.disabled = true;
      post(notify.dataset.notices, {}).then(function (rep) {
        var box = document.getElementById('unclaimed-report');
        box.textContent = notify.dataset.report.replace('{queued}', rep.queued).replace('{already}', rep.already).replace('{no_phone}', rep.no_phone);
        box.dataset.queued = rep.queued;
        box.dataset.already = rep.already;
        box.hidden = false;
        notify.disabled = false;
      }).catch(function (e) { showError(firstField(e)); notify.disabled = false; });
      return;
    }
    var act = ev.target.closest('[data-benefit-act]');
    if (act) {
      act.disabled = true;
      post(act.dataset.benefitAct, {}).then(function () { location.reload(); })
        .catch(function (e) { showError(firstField(e)); act.disabled = false; });
    }
  });

  // The authoring form.
  var form = document.getElementById('policy-form');
  if (!form) { return; }
  var msgs = JSON.parse((document.getElementById('policy-messages') || {}).textContent || '{}');
  var list = form.querySelector('[data-condition-list]');
  var rowTemplate = document.getElementById('policy-condition-row');
  var target = form.querySelector('[data-policy-target]');
  function filterPickers() {
    var t = target.value === 'organisation' ? 'organisation' : 'person';
    form.querySelectorAll('[data-field-picker] option[data-target]').forEach(function (o) { o.hidden = o.dataset.target !== t; });
  }
  function addRow() {
    list.appendChild(rowTemplate.content.cloneNode(true));
    filterPickers();
  }
  addRow();
  target.addEventListener('change', filterPickers);
  form.addEventListener('click', function (ev) {
    if (ev.target.closest('[data-add-condition]')) { addRow(); }
  });
  // The field picker writes the field's name into the expression.
  form.addEventListener('change', function (ev) {
    var pick = ev.target.closest('[data-field-picker]');
    if (!pick || !pick.value) { return; }
    var expr = pick.closest('[data-condition]').querySelector('[name=cond_expr]');
    expr.value = (expr.value ? expr.value.replace(/\s*$/, ' ') : '') + pick.value + ' ';
    pick.value = '';
    expr.focus();
  });
  function val(name) { var el = form.elements[name]; return el ? el.value.trim() : ''; }
  function draft() {
    var conds = [];
    list.querySelectorAll('[data-condition]').forEach(function (fs) {
      function v(n) { return fs.querySelector('[name=' + n + ']').value.trim(); }
      conds.push({ id: v('cond_id'), text: { zh: v('cond_zh'), en: v('cond_en') }, source: v('cond_source'), expr: v('cond_expr') });
    });
    var docs = val('documents') ? val('documents').split(/[,，、]/).map(function (s) { s = s.trim(); return { zh: s, en: s }; }) : [];
    return { key: val('key'), kind: val('kind'), version: { title: { zh: val('title_zh'), en: val('title_en') }, target: val('target'), period: val('period'),
      amount: val('amount'), department: val('department'), documents: docs, auto_pay: form.elements.auto_pay.checked, conditions: conds } };
  }
  function clearProblems() {
    form.querySelectorAll('[data-condition-error]').forEach(function (p) { p.hidden = true; });
    form.querySelector('[data-policy-problems]').textContent = '';
    if (errorBox) { errorBox.hidden = true; }
  }
  // showProblems puts each field's message beside its condition, or in
  // the form's list.
  function showProblems(e) {
    clearProblems();
    var ul = form.querySelector('[data-policy-problems]');
    var fields = (e.answer && e.answer.error && e.answer.error.fields) || {};
    var any = false;
    Object.keys(fields).forEach(function (k) {
      any = true;
      var m = /^conditions\.(.+)$/.exec(k);
      var box = null;
      if (m) {
        list.querySelectorAll('[data-condition]').forEach(function (fs) {
          if (fs.querySelector('[name=cond_id]').value.trim() === m[1]) { box = fs.querySelector('[data-condition-error]'); }
        });
      }
      if (box) { box.textContent = fields[k]; box.hidden = false; return; }
      var li = document.createElement('li');
      li.textContent = k + '：' + fields[k];
      ul.appendChild(li);
    });
    if (!any) { showError(e.message); }
  }
  function parseSamples() {
    return val('samples').split('\n').filter(function (l) { return l.trim(); }).map(function (line, i) {
      var facts = {};
      line.split(/[,，]/).forEach(function (pair) {
        var kv = pair.split('=');
        if (kv.length !== 2) { return; }
        var k = kv[0].trim(), v = kv[1].trim();
        if (v === 'true' || v === 'false') { facts[k] = v === 'true'; } else if (v !== '' && !isNaN(Number(v))) { facts[k] = Number(v); } else { facts[k] = v; }
      });
      return { name: (msgs.sample || 'sample') + ' ' + (i + 1), facts: facts };
    });
  }
  form.querySelector('[data-policy-test]').addEventListener('click', function () {
    var out = form.querySelector('[data-test-results]');
    post('/api/v1/policies/test', { draft: draft(), samples: parseSamples() }).then(function (j) {
      clearProblems();
      out.textContent = '';
      var lang = document.body.dataset.lang === 'en' ? 'en' : 'zh';
      (j.results || []).forEach(function (s) {
        var li = document.createElement('li');
        li.className = 'card';
        li.dataset.sampleResult = s.result.result;
        var h = document.createElement('strong');
        h.textContent = s.sample + '：' + s.result.explanation[lang];
        li.appendChild(h);
        var ul = document.createElement('ul');
        s.result.conditions.forEach(function (c) {
          var cl = document.createElement('li');
          cl.dataset.condResult = c.result;
          cl.textContent = c.explanation[lang];
          ul.appendChild(cl);
        });
        li.appendChild(ul);
        out.appendChild(li);
      });
    }).catch(showProblems);
  });
  var saved = null;
  form.querySelector('[data-policy-save]').addEventListener('click', function () {
    var d = draft();
    post('/api/v1/policies', d).then(function (v) {
      clearProblems();
      saved = { key: d.key, version: v.version };
      var p = form.querySelector('[data-policy-saved]');
      p.textContent = (msgs.saved || '').replace('%d', v.version);
      p.hidden = false;
      form.querySelector('[data-publish]').hidden = false;
    }).catch(showProblems);
  });
  form.querySelector('[data-policy-publish]').addEventListener('click', function () {
    if (!saved) { return; }
    post('/api/v1/policies/' + encodeURIComponent(saved.key) + '/publish', { version: saved.version, effective: val('effective') }).then(function () {
      var p = form.querySelector('[data-policy-published]');
      p.textContent = (msgs.published || '').replace('%s', val('effective'));
      p.hidden = false;
    }).catch(showProblems);
  });
})();
