/* Patrols (巡查): the grid worker's phone page records a patrol, and the
 * patrol list shows a track on the map.
 *
 * Recording: navigator.geolocation.watchPosition keeps the position; every
 * N seconds (data-every) the latest fix joins a queue kept in localStorage,
 * so a lost signal, a closed tab or a dead battery loses nothing. The queue
 * goes to POST /api/v1/patrols/{id}/points in batches, oldest first; a
 * batch is removed from the queue only once the server has answered for it,
 * and resending one is harmless (the server keys fixes by their time). A
 * batch the server refuses as invalid (422) is dropped, so that one bad fix
 * cannot block the queue. Stop sends what is queued, then stops. */
(function () {
  'use strict';

  var W = window.whistleMap || {};
  var M = JSON.parse((document.getElementById('patrol-messages') || {}).textContent || '{}');
  // t fills the %s/%d of a message of patrol-messages in order.
  function t(key) {
    var rest = Array.prototype.slice.call(arguments, 1);
    return String(M[key] || key).replace(/%(\[\d+\])?[sdv]/g, function () { return rest.shift(); });
  }
  var csrf = W.csrf || '';
  var $ = function (sel, root) { return (root || document).querySelector(sel); };
  var KEY = 'whistle:patrol';
  var BATCH = 100;

  function api(method, url, body) {
    return fetch(url, { method: method, credentials: 'same-origin', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
      body: body === undefined ? undefined : JSON.stringify(body) }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) { return { status: r.status, ok: r.ok, j: j }; });
    });
  }
  function errorText(j) { return W.errorText ? W.errorText(j, '') : ''; }
  function fmtDuration(s) {
    var h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), sec = s % 60;
    return (h ? h + ':' + String(m).padStart(2, '0') : m) + ':' + String(sec).padStart(2, '0');
  }
  function trackLayer(L, geo) {
    return L.geoJSON(geo, {
      style: function () { return { color: '#1664ff', weight: 4, opacity: 0.85 }; },
      pointToLayer: function (f, ll) {
        var flagged = f.properties && f.properties.kind === 'flagged';
        return L.circleMarker(ll, { radius: flagged ? 4 : 6, color: '#fff', weight: 1, fillColor: flagged ? '#ff7d00' : '#1664ff', fillOpacity: 1 });
      }
    });
  }

  /* ---------- the phone page ---------- */
  function recorder(root) {
    var every = Math.max(1, parseInt(root.getAttribute('data-every'), 10) || 5) * 1000;
    var status = $('[data-patrol-status]', root), startBtn = $('[data-patrol-start]', root), stopBtn = $('[data-patrol-stop]', root);
    var report = $('[data-patrol-report]', root), mapEl = $('[data-patrol-map]', root);
    var st = load();
    var watch = null, last = null, lastAt = 0, timer = 0, sending = false, map = null, line = null;

    function load() {
      try { return JSON.parse(localStorage.getItem(KEY)) || null; } catch (e) { return null; }
    }
    function save() {
      if (st) localStorage.setItem(KEY, JSON.stringify(st));
      else localStorage.removeItem(KEY);
    }
    function say(msg) { status.textContent = msg; }
    function show(p) {
      $('[data-patrol-points]', root).textContent = String(st ? st.recorded : (p ? p.points : 0));
      $('[data-patrol-queued]', root).textContent = String(st ? st.queue.length : 0);
      if (p) {
        $('[data-patrol-distance]', root).textContent = Math.round(p.distance_m) + ' m';
        $('[data-patrol-coverage]', root).textContent = (p.coverage * 100).toFixed(1) + '%';
      }
      startBtn.hidden = !!st;
      stopBtn.hidden = !st;
      report.hidden = !st;
      root.setAttribute('data-state', st ? 'running' : 'idle');
    }
    function drawTrack() {
      if (!map || !st) return;
      var lls = st.track.map(function (p) { return [p[0], p[1]]; });
      if (!line) line = window.L.polyline(lls, { color: '#1664ff', weight: 4 }).addTo(map);
      else line.setLatLngs(lls);
      if (lls.length) {
        if (!map._me) map._me = window.L.circleMarker(lls[lls.length - 1], { radius: 7, color: '#fff', weight: 2, fillColor: '#1664ff', fillOpacity: 1 }).addTo(map);
        else map._me.setLatLng(lls[lls.length - 1]);
      }
    }
    function record() {
      if (!st || !last) return;
      var now = Date.now();
      if (now - lastAt < every - 200) return;
      lastAt = now;
      var c = last.coords;
      // The fix's own time, but never the same millisecond twice.
      var at = Math.max(last.timestamp || now, (st.lastMs || 0) + 1);
      st.lastMs = at;
      st.queue.push({ lat: c.latitude, lng: c.longitude, accuracy: Math.min(Math.round(c.accuracy || 0), 5000), at: new Date(at).toISOString() });
      st.track.push([c.latitude, c.longitude]);
      st.recorded++;
      save();
      show();
      drawTrack();
    }
    function flush() {
      if (!st || sending || !st.queue.length) return Promise.resolve(true);
      sending = true;
      var batch = st.queue.slice(0, BATCH), id = st.id;
      return api('POST', '/api/v1/patrols/' + id + '/points', { points: batch }).then(function (r) {
        sending = false;
        if (!st || st.id !== id) return false;
        if (r.ok || r.status === 422) {
          st.queue.splice(0, batch.length);
          st.failing = false;
          save();
          if (r.ok) { show(r.j.patrol); say(t('sent', r.j.patrol.points)); } else { show(); say(t('rejected', errorText(r.j))); }
          return st.queue.length ? flush() : true;
        }
        if (r.status === 404 || r.status === 409) { // gone or stopped elsewhere: nothing more to send
          st.queue = [];
          save();
          show();
          say(t('failed', errorText(r.j)));
          return true;
        }
        st.failing = true;
        say(t('offline', st.queue.length));
        return false;
      }, function () {
        sending = false;
        if (st) { st.failing = true; say(t('offline', st.queue.length)); }
        return false;
      });
    }
    function tick() {
      record();
      flush();
    }
    function startWatch() {
      if (!navigator.geolocation) { say(t('no_gps')); return; }
      watch = navigator.geolocation.watchPosition(function (pos) {
        var first = !last;
        last = pos;
        if (first) record();
      }, function (err) { say(t('gps_error', err.message || err.code)); }, { enableHighAccuracy: true, maximumAge: 0, timeout: 30000 });
      clearInterval(timer);
      timer = setInterval(tick, Math.min(every, 5000));
    }
    function stopWatch() {
      if (watch !== null && navigator.geolocation) navigator.geolocation.clearWatch(watch);
      watch = null;
      clearInterval(timer);
      last = null;
    }
    startBtn.addEventListener('click', function () {
      startBtn.disabled = true;
      api('POST', '/api/v1/patrols', { grid: root.getAttribute('data-grid') }).then(function (r) {
        startBtn.disabled = false;
        if (!r.ok) { say(t('failed', errorText(r.j))); return; }
        st = { id: r.j.id, queue: [], track: [], recorded: 0, lastMs: 0 };
        save();
        lastAt = 0;
        show(r.j);
        say(t('started'));
        if (line) { line.remove(); line = null; }
        startWatch();
      }, function () { startBtn.disabled = false; say(t('failed', '')); });
    });
    stopBtn.addEventListener('click', function () {
      if (!st) return;
      stopBtn.disabled = true;
      say(t('stopping'));
      record();
      flush().then(function (done) {
        if (!done || (st && st.queue.length)) { stopBtn.disabled = false; say(t('offline', st ? st.queue.length : 0)); return; }
        return api('POST', '/api/v1/patrols/' + st.id + '/stop').then(function (r) {
          stopBtn.disabled = false;
          if (!r.ok && r.status !== 404) { say(t('failed', errorText(r.j))); return; }
          stopWatch();
          var p = r.j;
          root.setAttribute('data-recorded', String(st.recorded));
          st = null;
          save();
          show(r.ok ? p : null);
          say(r.ok ? t('stopped') + ' ' + t('summary', Math.round(p.distance_m), fmtDuration(p.duration_s), (p.coverage * 100).toFixed(1) + '%') : t('stopped'));
          if (r.ok) root.setAttribute('data-stopped', String(p.id));
        });
      }).catch(function () { stopBtn.disabled = false; say(t('offline', st ? st.queue.length : 0)); });
    });
    window.addEventListener('online', function () { flush(); });
    show();
    if (st) { say(t('queued', st.queue.length)); startWatch(); }
    if (window.whistleMap) {
      window.whistleMap.draw(mapEl, mapEl.getAttribute('data-geojson')).then(function (m) { map = m; drawTrack(); })
        .catch(function () { mapEl.classList.add('map-failed'); });
    }
  }

  /* ---------- the list's map ---------- */
  function viewer(mapEl) {
    var status = $('[data-patrol-status]');
    var layer = null;
    function showTrack(map, id) {
      if (!id || id === '0') return;
      fetch('/api/v1/patrols/' + id, { credentials: 'same-origin' }).then(function (r) { return r.json().then(function (j) { return { ok: r.ok, j: j }; }); }).then(function (r) {
        if (!r.ok) { status.textContent = t('failed', errorText(r.j)); return; }
        if (layer) layer.remove();
        layer = trackLayer(window.L, r.j.track).addTo(map);
        var b = layer.getBounds();
        if (b.isValid()) map.fitBounds(b.pad(0.3), { maxZoom: 17 });
        mapEl.setAttribute('data-shown', String(id));
        status.textContent = t('summary', Math.round(r.j.distance_m), fmtDuration(r.j.duration_s), (r.j.coverage * 100).toFixed(1) + '%');
      });
    }
    if (!window.whistleMap) return;
    window.whistleMap.draw(mapEl, mapEl.getAttribute('data-geojson')).then(function (map) {
      showTrack(map, mapEl.getAttribute('data-selected'));
      document.querySelectorAll('[data-patrol-id]').forEach(function (a) {
        a.addEventListener('click', function (e) {
          e.preventDefault();
          document.querySelectorAll('.patrol-row').forEach(function (li) { li.classList.remove('selected'); });
          document.querySelectorAll('[data-patrol-id]').forEach(function (x) { x.removeAttribute('aria-current'); });
          a.closest('.patrol-row').classList.add('selected');
          a.setAttribute('aria-current', 'true');
          history.replaceState(null, '', a.getAttribute('href'));
          showTrack(map, a.getAttribute('data-patrol-id'));
        });
      });
    }).catch(function () { mapEl.classList.add('map-failed'); });
  }

  var rec = $('[data-patrol]');
  if (rec) recorder(rec);
  var view = $('[data-patrols-map]');
  if (view) viewer(view);
})();
