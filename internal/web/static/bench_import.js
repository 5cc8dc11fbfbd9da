// The indicator upload (/benchmarking/import): the chosen file is first
// checked with a dry run (POST /api/v1/indicators/values?dry_run=1), each
// refused row listed as the server words it ("第 3 行：value：不是数字");
// a clean file can then be imported, all or nothing.
(function () {
  'use strict';
  var form = document.getElementById('bi-form');
  if (!form) { return; }
  var csrf = form.elements.csrf_token.value;
  var status = document.getElementById('bi-status');
  var box = document.getElementById('bi-errors');
  var list = document.getElementById('bi-error-list');
  var commit = document.getElementById('bi-commit');
  var check = document.getElementById('bi-check');
  var M = {};
  try { M = JSON.parse(document.getElementById('js-messages').textContent) || {}; } catch (e) { M = {}; }
  var T = {
    checking: form.getAttribute('data-checking') || M.import_checking || '…',
    failed: form.getAttribute("data-failed")
  };

  function body() {
    var fd = new FormData();
    fd.append('file', form.elements.file.files[0]);
    if (form.elements.indicators.files.length) { fd.append('indicators', form.elements.indicators.files[0]); }
    return fd;
  }
  function send(dry) {
    return fetch('/api/v1/indicators/values' + (dry ? '?dry_run=1' : ''), {
      method: 'POST', credentials: 'same-origin', body: body(),
      headers: { 'X-CSRF-Token': csrf, Accept: 'application/json' }
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) { return { status: r.status, body: j }; });
    });
  }
  function show(res, dry) {
    var b = res.body || {};
    list.innerHTML = '';
    var errors = b.errors || [];
    errors.forEach(function (e) {
      var li = document.createElement('li');
      li.setAttribute('data-row', String(e.row));
      li.setAttribute('data-column', e.column);
      li.textContent = e.message;
      list.appendChild(li);
    });
    box.hidden = errors.length === 0;
    if (res.status === 422 && errors.length) {
      status.textContent = b.summary || '';
      commit.disabled = true;
      return;
    }
    if (res.status >= 400) {
      var err = b.error || {};
      var fields = (err.fields || []).map(function (f) { return f.message; }).join('；');
      status.textContent = (err.message || String(res.status)) + (fields ? '：' + fields : '');
      commit.disabled = true;
      return;
    }
    var rep = b.report || {};
    status.textContent = (dry ? form.getAttribute('data-valid') : form.getAttribute('data-done')).replace('%d', rep.values || 0);
    status.setAttribute('data-state', dry ? 'valid' : 'done');
    commit.disabled = !dry;
  }
  function run(dry) {
    if (!form.elements.file.files.length) {
      status.textContent = form.getAttribute('data-need-file');
      form.elements.file.focus();
      return;
    }
    status.removeAttribute('data-state');
    status.textContent = T.checking;
    check.disabled = true;
    commit.disabled = true;
    send(dry).then(function (res) { show(res, dry); }).catch(function () {
      status.textContent = T.failed;
    }).then(function () { check.disabled = false; });
  }
  form.addEventListener('submit', function (e) { e.preventDefault(); run(true); });
  commit.addEventListener('click', function () { run(false); });
  form.elements.file.addEventListener('change', function () { commit.disabled = true; status.textContent = ''; box.hidden = true; });
  form.elements.indicators.addEventListener('change', function () { commit.disabled = true; });
}());
