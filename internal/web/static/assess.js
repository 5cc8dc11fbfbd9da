// 考核 pages: buttons and forms that post JSON to the assessment API with
// the session's CSRF token, then reload; the report's chart.
(function () {
  'use strict';
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.content : '';
  function showError(el, msg) {
    var box = (el.closest('section,aside,main') || document).querySelector('[data-assess-error]') || document.querySelector('[data-assess-error]');
    if (box) { box.textContent = msg; box.hidden = false; }
  }
  function post(url, body, el) {
    return fetch(url, { method: 'POST', credentials: 'same-origin', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
      body: body === undefined ? '' : JSON.stringify(body) }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) {
          var f = (j.error && j.error.fields) || {};
          var k = Object.keys(f)[0];
          throw new Error(k ? f[k] : (j.error ? j.error.message : String(r.status)));
        }
        location.reload();
      });
    }).catch(function (e) { showError(el, e.message); });
  }
  document.addEventListener('click', function (ev) {
    if (ev.target.closest('[data-print]')) { window.print(); return; }
    var b = ev.target.closest('[data-assess-post]');
    if (!b) { return; }
    if (b.dataset.confirm && !window.confirm(b.dataset.confirm)) { return; }
    b.disabled = true;
    post(b.dataset.assessPost, undefined, b).finally(function () { b.disabled = false; });
  });
  document.addEventListener('submit', function (ev) {
    var f = ev.target.closest('[data-assess-form]');
    if (!f) { return; }
    ev.preventDefault();
    var body = {};
    Array.prototype.forEach.call(f.elements, function (el) {
      if (!el.name || (el.type === 'radio' && !el.checked)) { return; }
      var v = el.value;
      if (el.hasAttribute('data-num')) {
        if (v === '') { return; }
        v = Number(v);
      } else if (el.type === 'radio' && (v === 'true' || v === 'false')) {
        v = v === 'true';
      }
      body[el.name] = v;
    });
    post(f.dataset.assessForm, body, f);
  });
  var chart = document.getElementById('bench-chart');
  var data = document.getElementById('bench-data');
  if (chart && data && window.echarts) {
    var rows = JSON.parse(data.textContent || '[]');
    var c = window.echarts.init(chart);
    c.setOption({ animation: false, grid: { left: 120, right: 20, top: 10, bottom: 30 }, xAxis: { type: 'value', max: 100, name: chart.dataset.label },
      yAxis: { type: 'category', data: rows.map(function (r) { return r.indicator; }) },
      series: [{ type: 'bar', data: rows.map(function (r) { return r.percentile; }), itemStyle: { color: '#d4380d' } }] });
    chart.setAttribute('data-drawn', '1');
  }
})();
