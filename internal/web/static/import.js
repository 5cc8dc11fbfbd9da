// The registry import page: check a file (a dry run), show its row errors
// and first rows, then import it; the bar follows the upload and then
// the server's checking and writing (a stream of progress lines).
(function () {
  'use strict';
  var root = document.querySelector('[data-import]');
  if (!root) return;
  var msgs = JSON.parse(document.getElementById('import-messages').textContent || '{}');
  var form = root.querySelector('[data-import-form]');
  var kind = form.elements.kind;
  var file = form.elements.file;
  var commit = root.querySelector('[data-import-commit]');
  var bar = root.querySelector('[data-import-progress]');
  var status = root.querySelector('[data-import-status]');
  var errBox = root.querySelector('[data-import-errors]');
  var errList = root.querySelector('[data-import-error-list]');
  var prevBox = root.querySelector('[data-import-preview]');
  var csrf = form.elements.csrf_token.value;

  function fmt(s) {
    var args = Array.prototype.slice.call(arguments, 1);
    return String(s || '').replace(/%[dsv]/g, function () { return args.length ? args.shift() : ''; });
  }

  function reset() {
    commit.disabled = true;
    errBox.hidden = true;
    prevBox.hidden = true;
    errList.textContent = '';
    status.textContent = '';
  }

  kind.addEventListener('change', function () {
    root.querySelectorAll('[data-import-columns]').forEach(function (p) { p.hidden = p.getAttribute('data-import-columns') !== kind.value; });
    reset();
  });
  file.addEventListener('change', reset);

  // send uploads the file and follows the server's progress: the answer
  // is a stream of JSON lines (Accept: application/x-ndjson), progress
  // lines ({phase, done, total}) and a last one with the status and the
  // report. The bar shows the upload, then the rows checked (no total
  // yet: indeterminate) and the rows written of the total.
  function send(dry, done) {
    var data = new FormData();
    data.append('file', file.files[0]);
    var xhr = new XMLHttpRequest();
    xhr.open('POST', '/api/v1/imports/' + encodeURIComponent(kind.value) + (dry ? '?dry_run=1' : ''));
    xhr.setRequestHeader('X-CSRF-Token', csrf);
    xhr.setRequestHeader('Accept', 'application/x-ndjson');
    bar.hidden = false;
    bar.removeAttribute('value');
    var seen = 0, last = null;
    function lines() {
      var text = xhr.responseText, nl;
      while ((nl = text.indexOf('\n', seen)) >= 0) {
        var one = text.slice(seen, nl);
        seen = nl + 1;
        var v = null;
        try { v = JSON.parse(one); } catch (e) { v = null; }
        if (!v) continue;
        if (v.status) { last = v; continue; }
        if (v.phase === 'check' && !v.total) {
          bar.removeAttribute('value');
          status.textContent = fmt(msgs.checked, v.done);
        } else if (v.phase === 'write' && v.total) {
          bar.value = Math.round(100 * v.done / v.total);
          status.textContent = fmt(msgs.written, v.done, v.total);
        }
      }
    }
    xhr.upload.onprogress = function (e) {
      if (e.lengthComputable) bar.value = Math.round(100 * e.loaded / e.total);
    };
    xhr.upload.onload = function () { bar.removeAttribute('value'); };
    xhr.onprogress = lines;
    xhr.onload = function () {
      bar.value = 100;
      var ct = xhr.getResponseHeader('Content-Type') || '';
      if (ct.indexOf('application/x-ndjson') === 0) {
        lines();
        if (last) { done(last.status, last); return; }
        done(xhr.status, null);
        return;
      }
      // Refused before the stream began (too large, forbidden …).
      var body = null;
      try { body = JSON.parse(xhr.responseText); } catch (e) { body = null; }
      done(xhr.status, body);
    };
    xhr.onerror = function () { bar.hidden = true; status.textContent = msgs.failed; };
    xhr.send(data);
  }

  function showErrors(body) {
    errList.textContent = '';
    (body.errors || []).forEach(function (e) {
      var li = document.createElement('li');
      li.textContent = fmt(msgs.row, e.row) + ' · ' + e.column + '：' + e.message;
      errList.appendChild(li);
    });
    if (body.error_count > (body.errors || []).length) {
      var more = document.createElement('li');
      more.textContent = fmt(msgs.more, body.error_count - body.errors.length);
      errList.appendChild(more);
    }
    errBox.hidden = !(body.errors && body.errors.length);
  }

  function showPreview(body) {
    var table = prevBox.querySelector('table');
    var head = table.tHead, tb = table.tBodies[0];
    head.textContent = '';
    tb.textContent = '';
    var tr = document.createElement('tr');
    var th = document.createElement('th');
    th.scope = 'col';
    th.textContent = '#';
    tr.appendChild(th);
    (body.columns || []).forEach(function (c) {
      var h = document.createElement('th');
      h.scope = 'col';
      h.textContent = c;
      tr.appendChild(h);
    });
    head.appendChild(tr);
    (body.preview || []).forEach(function (row) {
      var r = document.createElement('tr');
      var n = document.createElement('td');
      n.textContent = row.row;
      r.appendChild(n);
      row.cells.forEach(function (c) {
        var td = document.createElement('td');
        td.textContent = c;
        r.appendChild(td);
      });
      tb.appendChild(r);
    });
    prevBox.hidden = !(body.preview && body.preview.length);
  }

  form.addEventListener('submit', function (e) {
    e.preventDefault();
    reset();
    if (!file.files.length) { file.focus(); return; }
    status.textContent = msgs.checking;
    send(true, function (code, body) {
      if (!body) { status.textContent = msgs.failed; return; }
      if (body.preview) showPreview(body);
      if (code === 200) {
        status.textContent = fmt(msgs.ok, body.rows) + (body.ignored && body.ignored.length ? ' ' + fmt(msgs.ignored, body.ignored.join('、')) : '');
        commit.disabled = false;
        return;
      }
      if (body.errors) showErrors(body);
      status.textContent = body.error ? body.error.message : msgs.failed;
      if (code === 422) status.textContent = fmt(msgs.errors, body.error_count);
    });
  });

  commit.addEventListener('click', function () {
    commit.disabled = true;
    status.textContent = msgs.importing;
    send(false, function (code, body) {
      if (code === 201 && body && body.result) {
        status.textContent = fmt(msgs.done, body.result.created, body.result.updated, body.result.unchanged);
        return;
      }
      if (body && body.errors) showErrors(body);
      status.textContent = body && body.error ? body.error.message : msgs.failed;
    });
  });
})();
