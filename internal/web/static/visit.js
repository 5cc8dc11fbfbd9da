/* Visits (走访): the grid worker's phone page. It asks the phone for its
 * position, lists the overdue and today's visits in walking order with the
 * distance walked to each stop (GET /api/v1/visits?due=…&lat=&lng=), and records a visit: the photo
 * goes first to POST /api/v1/visits/{id}/photos, then the record with the
 * position, notes, the photo's key and a found problem, which opens a case
 * linked to the visit (POST /api/v1/visits/{id}/record). */
(function () {
  'use strict';

  var W = window.whistleMap || {};
  var M = JSON.parse((document.getElementById('visit-messages') || {}).textContent || '{}');
  function t(key) {
    var rest = Array.prototype.slice.call(arguments, 1);
    return String(M[key] || key).replace(/%(\[\d+\])?[sdv]/g, function () { return rest.shift(); });
  }
  var csrf = W.csrf || (document.querySelector('meta[name="csrf-token"]') || {}).content || '';
  var $ = function (sel, root) { return (root || document).querySelector(sel); };
  var root = $('[data-visits]');
  if (!root) return;
  var status = $('[data-visit-status]', root);
  var pos = null;

  function api(method, url, body, isForm) {
    var h = { 'X-CSRF-Token': csrf };
    if (!isForm && body !== undefined) h['Content-Type'] = 'application/json';
    return fetch(url, { method: method, credentials: 'same-origin', headers: h,
      body: body === undefined ? undefined : (isForm ? body : JSON.stringify(body)) }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) { return { status: r.status, ok: r.ok, j: j }; });
    });
  }
  function errorText(j) {
    if (W.errorText) return W.errorText(j, '');
    var e = (j && j.error) || {};
    var parts = [e.message || ''];
    for (var k in (e.fields || {})) parts.push(e.fields[k]);
    return parts.join(' ');
  }

  function load() {
    ['overdue', 'today'].forEach(function (due) {
      var q = '/api/v1/visits?due=' + due + (pos ? '&lat=' + pos.lat + '&lng=' + pos.lng : '');
      api('GET', q).then(function (r) {
        var ul = $('[data-visit-list="' + due + '"]', root);
        ul.textContent = '';
        var vs = (r.j && r.j.visits) || [];
        if (!vs.length) {
          var li = document.createElement('li');
          li.className = 'hint';
          li.textContent = t('none');
          ul.appendChild(li);
        }
        vs.forEach(function (v) { ul.appendChild(item(v)); });
      });
    });
  }

  function item(v) {
    var li = document.createElement('li');
    li.className = 'visit-item card' + (v.overdue ? ' overdue' : '');
    li.setAttribute('data-visit-id', v.id);
    var h = document.createElement('div');
    h.className = 'visit-head';
    var name = document.createElement('strong');
    name.textContent = v.person_name + ' · ' + (v.origin === 'alarm' ? M['origin.alarm'] : (M['group.' + v.group] || v.group));
    var meta = document.createElement('span');
    meta.className = 'hint';
    meta.textContent = (v.address || '') + (v.stop ? ' · ' + t('walk', v.stop, Math.round(v.walk_m)) : '') +
      (v.distance_m != null ? ' · ' + t('distance', Math.round(v.distance_m)) : '') + ' · ' + t('due', v.due_on);
    h.appendChild(name);
    if (v.brief) {
      var brief = document.createElement('div');
      brief.className = 'visit-brief';
      brief.textContent = v.brief;
      h.appendChild(brief);
    }
    h.appendChild(document.createElement('br'));
    h.appendChild(meta);
    li.appendChild(h);
    var btn = document.createElement('button');
    btn.type = 'button';
    btn.className = 'btn primary';
    btn.textContent = t('record');
    btn.setAttribute('data-visit-open', '');
    btn.addEventListener('click', function () {
      btn.hidden = true;
      li.appendChild(form(v, li));
    });
    li.appendChild(btn);
    return li;
  }

  function form(v, li) {
    var f = document.getElementById('visit-form').content.firstElementChild.cloneNode(true);
    var problem = $('[data-visit-problem]', f), err = $('[data-visit-error]', f);
    f.found.addEventListener('change', function () { problem.hidden = !f.found.checked; });
    f.addEventListener('submit', function (ev) {
      ev.preventDefault();
      err.textContent = '';
      if (!pos) { err.textContent = t('no_gps'); return; }
      var submit = $('button[type="submit"]', f);
      submit.disabled = true;
      var file = f.photo.files && f.photo.files[0];
      var up = Promise.resolve(null);
      if (file) {
        var fd = new FormData();
        fd.append('photo', file);
        up = api('POST', '/api/v1/visits/' + v.id + '/photos', fd, true).then(function (r) {
          if (!r.ok) throw r;
          return r.j.key;
        });
      }
      up.then(function (key) {
        var body = { lat: pos.lat, lng: pos.lng, notes: f.notes.value, reason: f.reason.value, photos: key ? [key] : [] };
        if (f.found.checked) body.problem = { category: f.category.value, description: f.description.value };
        return api('POST', '/api/v1/visits/' + v.id + '/record', body).then(function (r) {
          if (!r.ok) throw r;
          return r.j;
        });
      }).then(function (done) {
        li.textContent = '';
        li.className = 'visit-item card done';
        var p = document.createElement('p');
        p.setAttribute('data-visit-done', '');
        p.textContent = t('recorded') + (done.case_id ? ' ' + t('case_opened', done.case_id) : '');
        li.appendChild(p);
      }).catch(function (r) {
        submit.disabled = false;
        err.textContent = (r && r.j) ? errorText(r.j) : t('failed');
      });
    });
    return f;
  }

  if (navigator.geolocation) {
    navigator.geolocation.getCurrentPosition(function (p) {
      pos = { lat: p.coords.latitude, lng: p.coords.longitude };
      status.textContent = t('located');
      load();
    }, function () {
      status.textContent = t('no_gps');
      load();
    }, { enableHighAccuracy: true, timeout: 10000 });
  } else {
    status.textContent = t('no_gps');
    load();
  }
})();
