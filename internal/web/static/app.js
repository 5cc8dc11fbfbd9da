/* Whistle pages: the little JavaScript the server-rendered pages need.
 * htmx does partial updates; this file adds the CSRF header, drafts that
 * survive an expired session, photo shrinking and upload, Leaflet maps of
 * our own GeoJSON over the configured base layer, live updates over SSE and the report form.
 * No inline scripts: the Content-Security-Policy forbids them. */
(function () {
  'use strict';

  var M = {};
  try { M = JSON.parse(document.getElementById('js-messages').textContent) || {}; } catch (e) { M = {}; }
  function t(key) {
    var args = Array.prototype.slice.call(arguments, 1), i = 0;
    return String(M[key] || key).replace(/%(\[\d+\])?[sdv]/g, function () { return args[i++]; });
  }
  var meta = document.querySelector('meta[name="csrf-token"]');
  var csrf = meta ? meta.content : '';
  var $ = function (sel, root) { return (root || document).querySelector(sel); };
  var $$ = function (sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); };

  /* ---------- live region (toasts) ---------- */
  var toastTimer = 0;
  function say(msg) {
    var el = $('#live');
    if (!el) return;
    el.textContent = msg;
    el.classList.add('show');
    clearTimeout(toastTimer);
    toastTimer = setTimeout(function () { el.classList.remove('show'); }, 5000);
  }

  /* ---------- drafts: kept in localStorage, restored after a new login ---------- */
  var DRAFT_TTL = 7 * 24 * 3600 * 1000;
  function draftKey(form) { return 'whistle:draft:' + form.getAttribute('data-draft'); }
  function saveDraft(form) {
    var data = {}, any = false;
    $$('input, textarea, select', form).forEach(function (el) {
      if (!el.name || el.type === 'file' || el.type === 'password' || el.name === 'csrf_token' || el.name === 'version' || el.name === 'photos') return;
      if (el.type === 'checkbox' || el.type === 'radio') {
        data[el.name] = data[el.name] || [];
        if (el.checked) { data[el.name].push(el.value); any = true; }
        return;
      }
      data[el.name] = el.value;
      if (el.value && el.type !== 'hidden') any = true;
      if (el.value && (el.name === 'category' || el.name === 'lat')) any = true;
    });
    try {
      if (any) localStorage.setItem(draftKey(form), JSON.stringify({ at: Date.now(), path: location.pathname, v: data }));
    } catch (e) { /* storage full or disabled: the draft is lost, the form still works */ }
  }
  function restoreDraft(form) {
    var raw;
    try { raw = localStorage.getItem(draftKey(form)); } catch (e) { return false; }
    if (!raw) return false;
    var d;
    try { d = JSON.parse(raw); } catch (e) { return false; }
    if (!d || !d.v || Date.now() - d.at > DRAFT_TTL) { clearDraft(form); return false; }
    var restored = false;
    $$('input, textarea, select', form).forEach(function (el) {
      if (!el.name || !(el.name in d.v) || el.type === 'file' || el.name === 'csrf_token' || el.name === 'version') return;
      var v = d.v[el.name];
      if (el.type === 'checkbox' || el.type === 'radio') {
        var on = Array.isArray(v) && v.indexOf(el.value) >= 0;
        if (el.checked !== on) { el.checked = on; restored = true; }
      } else if (typeof v === 'string' && v !== '' && el.value !== v) {
        el.value = v;
        restored = true;
      }
    });
    return restored;
  }
  // clearDraft also cancels a save still pending from the last keystroke,
  // which would otherwise bring back the draft of a form already sent.
  function clearDraft(form) {
    clearTimeout(form._draftTimer);
    form._draftCleared = true;
    try { localStorage.removeItem(draftKey(form)); } catch (e) { /* ignore */ }
  }
  function saveAllDrafts() { $$('form[data-draft]').forEach(saveDraft); }
  function toLogin() {
    saveAllDrafts();
    say(t('session_expired'));
    location.href = '/login?next=' + encodeURIComponent(location.pathname + location.search);
  }

  function initDrafts(root) {
    $$('form[data-draft]', root).forEach(function (form) {
      if (form._draft) return;
      form._draft = true;
      if (restoreDraft(form)) {
        var det = form.closest('details');
        if (det) det.open = true;
        var note = $('[data-draft-notice]');
        if (note) { note.textContent = t('draft_restored'); note.hidden = false; }
        form.dispatchEvent(new CustomEvent('whistle:restored', { bubbles: true }));
      }
      var save = function () {
        form._draftCleared = false;
        clearTimeout(form._draftTimer);
        form._draftTimer = setTimeout(function () { if (!form._draftCleared) saveDraft(form); }, 300);
      };
      form.addEventListener('input', save);
      form.addEventListener('change', save);
    });
  }

  /* ---------- htmx glue ---------- */
  document.addEventListener('htmx:configRequest', function (e) { e.detail.headers['X-CSRF-Token'] = csrf; });
  document.addEventListener('htmx:beforeRequest', function (e) {
    var form = e.detail.elt && e.detail.elt.closest && e.detail.elt.closest('form[data-draft]');
    if (form) saveDraft(form);
  });
  document.addEventListener('htmx:afterRequest', function (e) {
    var xhr = e.detail.xhr;
    if (!xhr) return;
    if (xhr.status === 401) { toLogin(); return; }
    var form = e.detail.elt && e.detail.elt.closest && e.detail.elt.closest('form[data-draft]');
    if (form && xhr.status >= 200 && xhr.status < 300 && xhr.getResponseHeader('HX-Redirect')) clearDraft(form);
  });
  document.addEventListener('htmx:sendError', function () { say(t('network_error')); });

  /* ---------- photos: shrink in the browser, then upload ---------- */
  var MAX_SIDE = 1600;
  function loadImage(file) {
    if (window.createImageBitmap) {
      return createImageBitmap(file, { imageOrientation: 'from-image' }).catch(function () { return imgElement(file); });
    }
    return imgElement(file);
  }
  function imgElement(file) {
    return new Promise(function (resolve, reject) {
      var url = URL.createObjectURL(file), img = new Image();
      img.onload = function () { resolve(img); };
      img.onerror = function () { URL.revokeObjectURL(url); reject(new Error(t('shrink_failed'))); };
      img.src = url;
    });
  }
  function shrink(file) {
    return loadImage(file).then(function (img) {
      var w = img.width || img.naturalWidth, h = img.height || img.naturalHeight;
      var scale = Math.min(1, MAX_SIDE / Math.max(w, h));
      var c = document.createElement('canvas');
      c.width = Math.max(1, Math.round(w * scale));
      c.height = Math.max(1, Math.round(h * scale));
      var ctx = c.getContext('2d');
      ctx.fillStyle = '#fff';
      ctx.fillRect(0, 0, c.width, c.height);
      ctx.drawImage(img, 0, 0, c.width, c.height);
      return new Promise(function (resolve, reject) {
        c.toBlob(function (b) { if (b) resolve(b); else reject(new Error(t('shrink_failed'))); }, 'image/jpeg', 0.85);
      });
    });
  }
  function errorText(j, fallback) {
    if (j && j.error) {
      var f = j.error.fields || {};
      var first = Object.keys(f)[0];
      return first ? f[first] : j.error.message;
    }
    return fallback;
  }
  function uploadPhoto(url, blob) {
    var fd = new FormData();
    fd.append('photo', blob, 'photo.jpg');
    return fetch(url, { method: 'POST', body: fd, headers: { 'X-CSRF-Token': csrf }, credentials: 'same-origin' }).then(function (r) {
      if (r.status === 401) { toLogin(); throw new Error(t('session_expired')); }
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) throw new Error(errorText(j, t('upload_failed')));
        return j;
      });
    });
  }
  function thumb(container, blob, onRemove) {
    var fig = document.createElement('span');
    fig.className = 'thumb';
    var img = document.createElement('img');
    img.src = URL.createObjectURL(blob);
    img.alt = t('photo_n', container.children.length + 1);
    fig.appendChild(img);
    var x = document.createElement('button');
    x.type = 'button';
    x.className = 'remove';
    x.setAttribute('aria-label', t('remove'));
    x.textContent = '×';
    x.addEventListener('click', function () { fig.remove(); onRemove(); });
    fig.appendChild(x);
    container.appendChild(fig);
    return fig;
  }

  // An uploader with data-upload sends each photo at once (after-photos of
  // an action) and adds its id to the form; one with data-queue keeps the
  // shrunk photos until the report exists.
  function initUploaders(root) {
    $$('.uploader', root).forEach(function (up) {
      if (up._init) return;
      up._init = true;
      var max = parseInt(up.getAttribute('data-max') || '9', 10);
      var previews = $('[data-previews]', up), status = $('[data-upload-status]', up);
      var form = up.closest('form');
      up._queue = [];
      $$('[data-photo-input]', up).forEach(function (input) {
        input.addEventListener('change', function () {
          var files = Array.prototype.slice.call(input.files || []);
          input.value = '';
          files.reduce(function (p, file) {
            return p.then(function () {
              if (previews.children.length >= max) { status.textContent = t('photo_limit', max); return; }
              status.textContent = t('uploading');
              return shrink(file).then(function (blob) {
                if (up.hasAttribute('data-queue')) {
                  var item = { blob: blob };
                  up._queue.push(item);
                  thumb(previews, blob, function () { up._queue.splice(up._queue.indexOf(item), 1); });
                  status.textContent = '';
                  return;
                }
                return uploadPhoto(up.getAttribute('data-upload'), blob).then(function (p) {
                  var hidden = document.createElement('input');
                  hidden.type = 'hidden';
                  hidden.name = 'photos';
                  hidden.value = p.id;
                  form.appendChild(hidden);
                  thumb(previews, blob, function () { hidden.remove(); });
                  status.textContent = '';
                });
              }).catch(function (err) { status.textContent = err.message || t('upload_failed'); });
            });
          }, Promise.resolve());
        });
      });
    });
  }

  /* ---------- maps: Leaflet with our GeoJSON over the configured base layer ---------- */
  // The base layer (<meta name="whistle-tiles">, from --tiles): none, or
  // Web Mercator tiles in WGS-84 (天地图) or GCJ-02 (Gaode). Outlines, case
  // points and picked points are WGS-84 everywhere; over GCJ-02 tiles the
  // map's projection applies the GCJ-02 shift, so they land where the
  // tiles draw them (the formulas are internal/geo's, crs.go).
  var tiles = {};
  try { tiles = JSON.parse(($('meta[name="whistle-tiles"]') || {}).content || '{}') || {}; } catch (e) { tiles = {}; }
  var gcj = (function () {
    var A = 6378245.0, EE = 0.00669342162296594323;
    function out(lng, lat) { return !(lng >= 72.004 && lng <= 137.8347 && lat >= 0.8293 && lat <= 55.8271); }
    function tLat(x, y) {
      var r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * Math.sqrt(Math.abs(x));
      r += (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
      r += (20.0 * Math.sin(y * Math.PI) + 40.0 * Math.sin(y / 3.0 * Math.PI)) * 2.0 / 3.0;
      r += (160.0 * Math.sin(y / 12.0 * Math.PI) + 320 * Math.sin(y * Math.PI / 30.0)) * 2.0 / 3.0;
      return r;
    }
    function tLng(x, y) {
      var r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * Math.sqrt(Math.abs(x));
      r += (20.0 * Math.sin(6.0 * x * Math.PI) + 20.0 * Math.sin(2.0 * x * Math.PI)) * 2.0 / 3.0;
      r += (20.0 * Math.sin(x * Math.PI) + 40.0 * Math.sin(x / 3.0 * Math.PI)) * 2.0 / 3.0;
      r += (150.0 * Math.sin(x / 12.0 * Math.PI) + 300.0 * Math.sin(x / 30.0 * Math.PI)) * 2.0 / 3.0;
      return r;
    }
    function fromWGS(lng, lat) {
      if (out(lng, lat)) return [lng, lat];
      var x = lng - 105.0, y = lat - 35.0, dLat = tLat(x, y), dLng = tLng(x, y);
      var rad = lat / 180.0 * Math.PI, m = Math.sin(rad);
      m = 1 - EE * m * m;
      var sm = Math.sqrt(m);
      dLat = (dLat * 180.0) / ((A * (1 - EE)) / (m * sm) * Math.PI);
      dLng = (dLng * 180.0) / (A / sm * Math.cos(rad) * Math.PI);
      return [lng + dLng, lat + dLat];
    }
    // No closed form: iterate the forward shift, as geo.GCJ02ToWGS84 does.
    function toWGS(lng, lat) {
      if (out(lng, lat)) return [lng, lat];
      var g = fromWGS(lng, lat), w = [2 * lng - g[0], 2 * lat - g[1]];
      for (var i = 0; i < 20; i++) {
        g = fromWGS(w[0], w[1]);
        var eLng = g[0] - lng, eLat = g[1] - lat;
        w[0] -= eLng; w[1] -= eLat;
        if (Math.abs(eLng) < 1e-12 && Math.abs(eLat) < 1e-12) break;
      }
      return w;
    }
    return { fromWGS: fromWGS, toWGS: toWGS };
  })();
  window.whistleGCJ = gcj;

  var leafletReady = null;
  function withLeaflet() {
    if (window.L) return Promise.resolve(window.L);
    if (!leafletReady) {
      leafletReady = new Promise(function (resolve, reject) {
        var css = document.createElement('link');
        css.rel = 'stylesheet';
        css.href = '/static/vendor/leaflet.css';
        document.head.appendChild(css);
        var s = document.createElement('script');
        s.src = '/static/vendor/leaflet.js';
        s.onload = function () { resolve(window.L); };
        s.onerror = reject;
        document.head.appendChild(s);
      });
    }
    return leafletReady;
  }
  function mapCRS(L) {
    if (tiles.crs !== 'gcj02') return L.CRS.EPSG3857;
    var merc = L.Projection.SphericalMercator;
    return L.extend({}, L.CRS.EPSG3857, { code: 'GCJ02', projection: {
      bounds: merc.bounds,
      project: function (ll) { var g = gcj.fromWGS(ll.lng, ll.lat); return merc.project(L.latLng(g[1], g[0])); },
      unproject: function (p) { var g = merc.unproject(p), w = gcj.toWGS(g.lng, g.lat); return L.latLng(w[1], w[0]); }
    } });
  }
  function drawMap(el, url) {
    return Promise.all([withLeaflet(), fetch(url, { credentials: 'same-origin' }).then(function (r) { return r.json(); })]).then(function (res) {
      var L = res[0], geo = res[1];
      if (el._map) { el._map.remove(); el._map = null; }
      var map = L.map(el, { crs: mapCRS(L), zoomSnap: 0.25, attributionControl: !!tiles.url });
      if (tiles.url) {
        L.tileLayer(tiles.url, { subdomains: tiles.subdomains || 'abc', minZoom: tiles.min_zoom || 0, maxZoom: tiles.max_zoom || 18,
          attribution: tiles.attribution ? L.Util.template('{a}', { a: tiles.attribution.replace(/[<>&"]/g, '') }) : '' }).addTo(map);
        el.classList.add('has-tiles');
      }
      var feats = geo.features || [];
      var byName = {};
      feats.forEach(function (f) { byName[f.properties.name] = f.properties; });
      // Grid names repeat their community's name: label the difference.
      var names = feats.map(function (f) { return String(f.properties.name || ''); });
      var prefix = names.length > 1 ? names.reduce(function (p, n) {
        var i = 0;
        while (i < p.length && i < n.length && p[i] === n[i]) i++;
        return p.slice(0, i);
      }) : '';
      prefix = prefix.replace(/第$/, '');
      var hl = el.getAttribute('data-highlight');
      var fill = tiles.url ? 0.08 : 0.6;
      var outlines = L.geoJSON(geo, {
        style: function (f) {
          var on = hl && f.properties.code === hl;
          return { color: '#6b7785', weight: 1.2, fillColor: on ? '#ff8a75' : '#f4f6f9', fillOpacity: on ? 0.35 : fill };
        },
        onEachFeature: function (f, layer) {
          var label = String(f.properties.name || '');
          layer.bindTooltip(label.slice(prefix.length) || label, { permanent: feats.length <= 40, direction: 'center', className: 'map-label' });
          layer.on('mouseover', function () { layer.setStyle({ fillColor: '#fff1ee' }); });
          layer.on('mouseout', function () { outlines.resetStyle(layer); });
        }
      }).addTo(map);
      var b = outlines.getBounds();
      if (b.isValid()) map.fitBounds(b, { padding: [8, 8] });
      else map.setView([27.95, 120.75], 12);
      window.addEventListener('resize', function () { map.invalidateSize(); });
      el._map = map;
      el._outlines = outlines;
      el._byName = byName;
      return map;
    });
  }
  function marker(map, lng, lat) {
    if (map._pin) map._pin.setLatLng([lat, lng]);
    else map._pin = window.L.circleMarker([lat, lng], { radius: 8, color: '#fff', weight: 2, fillColor: '#c8102e', fillOpacity: 1 }).addTo(map);
  }
  // patrol.js draws its tracks over the same maps.
  window.whistleMap = { draw: drawMap, csrf: csrf, errorText: errorText };
  function initMaps(root) {
    $$('[data-map]', root).forEach(function (el) {
      if (el._init) return;
      el._init = true;
      var kind = el.getAttribute('data-map');
      var url = el.getAttribute('data-geojson');
      if (!url || /\/regions\/\/geojson$/.test(url)) return;
      drawMap(el, url).then(function (map) {
        el.addEventListener('whistle:place', function (e) { map.setView([e.detail.lat, e.detail.lng], Math.max(map.getZoom(), 16), { animate: false }); });
        if (kind === 'case') {
          var lat = parseFloat(el.getAttribute('data-lat')), lng = parseFloat(el.getAttribute('data-lng'));
          marker(map, lng, lat);
        } else if (kind === 'tree') {
          el._outlines.on('click', function (e) {
            var props = e.layer && e.layer.feature && e.layer.feature.properties;
            if (props && props.code) location.href = '/admin/regions?code=' + encodeURIComponent(props.code);
          });
        } else if (kind === 'public') {
          fetch(el.getAttribute('data-points')).then(function (r) { return r.json(); }).then(function (j) {
            (j.cases || []).forEach(function (c) {
              var closed = c.status === 'closed';
              window.L.circleMarker([c.location.lat, c.location.lng], { radius: 5, color: '#fff', weight: 1,
                fillColor: closed ? '#00a870' : '#c8102e', fillOpacity: 0.9 }).bindTooltip(c.category.name)
                .on('click', function () { location.href = '/public/cases/' + c.id; }).addTo(map);
            });
          });
        } else if (kind === 'pick' || kind === 'landmarks') {
          el.dispatchEvent(new CustomEvent('whistle:map', { bubbles: true, detail: map }));
        }
      }).catch(function () { el.classList.add('map-failed'); });
    });
    initPlaceSearch(root);
  }

  /* ---------- place search over a map (GET /api/v1/places/search) ---------- */
  function initPlaceSearch(root) {
    $$('[data-place-search]', root).forEach(function (box) {
      if (box._init) return;
      box._init = true;
      var input = $('input', box), list = $('[data-place-results]', box), status = $('[data-place-status]', box);
      var mapEl = $('[data-map]', box.parentElement);
      var timer = 0, seq = 0;
      function show(places) {
        list.textContent = '';
        places.forEach(function (p) {
          var li = document.createElement('li');
          var b = document.createElement('button');
          b.type = 'button';
          b.className = 'place';
          var name = document.createElement('strong');
          name.textContent = p.name;
          var where = document.createElement('span');
          where.className = 'muted small';
          where.textContent = ' ' + t('place_' + p.kind) + (p.parent_path.length ? ' · ' + p.parent_path.join(' › ') : '');
          b.appendChild(name);
          b.appendChild(where);
          b.addEventListener('click', function () {
            list.textContent = '';
            input.value = p.name;
            status.textContent = t('place_jumped', p.name);
            if (mapEl) mapEl.dispatchEvent(new CustomEvent('whistle:place', { bubbles: true, detail: { lat: p.point.lat, lng: p.point.lng, name: p.name } }));
          });
          li.appendChild(b);
          list.appendChild(li);
        });
      }
      input.addEventListener('input', function () {
        clearTimeout(timer);
        var q = input.value.trim();
        if (!q) { list.textContent = ''; status.textContent = ''; return; }
        timer = setTimeout(function () {
          var mine = ++seq;
          fetch('/api/v1/places/search?q=' + encodeURIComponent(q), { credentials: 'same-origin' }).then(function (r) {
            return r.json().then(function (j) { return { ok: r.ok, j: j }; });
          }).then(function (res) {
            if (mine !== seq) return;
            if (!res.ok) { show([]); status.textContent = (res.j.error && res.j.error.fields && res.j.error.fields.q) || t('place_failed'); return; }
            var ps = res.j.places || [];
            show(ps);
            status.textContent = ps.length ? '' : t('place_none');
          }).catch(function () { if (mine === seq) status.textContent = t('place_failed'); });
        }, 250);
      });
      input.addEventListener('keydown', function (e) {
        if (e.key === 'Enter') {
          e.preventDefault();
          var first = $('button', list);
          if (first) first.click();
        }
      });
    });
  }

  /* ---------- queue: select all ---------- */
  function initSelectAll(root) {
    $$('[data-select-all]', root).forEach(function (box) {
      if (box._init) return;
      box._init = true;
      box.addEventListener('change', function () {
        var name = box.getAttribute('data-select-all');
        $$('input[type="checkbox"][name="' + name + '"]', box.closest('form')).forEach(function (c) { c.checked = box.checked; });
      });
    });
  }

  /* ---------- the report form ---------- */
  // shown picks, among the elements matching sel, one whose section is on
  // screen: an extra field shared by several categories (井盖状态, by the 17
  // manhole-cover ones) is on the page once per category, all but one in a
  // hidden section.
  function shown(sel, root) {
    var all = $$(sel, root);
    for (var i = 0; i < all.length; i++) {
      if (!all[i].parentElement || !all[i].parentElement.closest('[hidden]')) return all[i];
    }
    return all[0] || null;
  }

  function showErrors(form, j) {
    $$('[data-error-for]', form).forEach(function (p) { p.hidden = true; p.textContent = ''; });
    $$('[aria-invalid="true"]', form).forEach(function (el) { el.removeAttribute('aria-invalid'); });
    var top = $('[data-form-error]', form);
    top.hidden = true;
    if (!j || !j.error) return;
    var fields = j.error.fields || {};
    var first = null, unplaced = [];
    Object.keys(fields).forEach(function (k) {
      var slot = k === 'lng' ? 'lat' : k;
      if (k === 'crs') slot = 'lat';
      var p = shown('[data-error-for="' + slot + '"]', form);
      if (!p) { unplaced.push(fields[k]); return; }
      if (!p.hidden && p.textContent === fields[k]) return;
      p.textContent = fields[k];
      p.hidden = false;
      var box = p.closest('[data-field]') || p.parentElement;
      var input = (box && box.querySelector('[name="' + slot + '"]:not([type="hidden"])')) || shown('[name="' + slot + '"]:not([type="hidden"])', form);
      if (input) input.setAttribute('aria-invalid', 'true');
      if (!first) first = input || p;
    });
    top.textContent = j.error.message + (unplaced.length ? ' ' + unplaced.join(' ') : '');
    top.hidden = false;
    (first || top).scrollIntoView({ behavior: 'smooth', block: 'center' });
    if (first && first.focus) first.focus({ preventScroll: true });
  }

  function initReport(form) {
    if (!form || form._init) return;
    form._init = true;
    var catInput = $('[data-category-input]', form), chosen = $('[data-category-chosen]', form);
    var latIn = $('[data-lat]', form), lngIn = $('[data-lng]', form), readout = $('[data-loc-readout]', form);
    var mapEl = $('[data-map="pick"]', form);
    var dupBox = $('[data-dups]', form), dupList = $('[data-dup-list]', form);
    var map = null;

    function catName(code) {
      var b = $('[data-cat="' + code + '"]', form);
      return b ? b.getAttribute('data-name') : code;
    }
    function pickCategory(code) {
      catInput.value = code;
      chosen.textContent = code ? catName(code) : t('no_category');
      chosen.classList.toggle('set', !!code);
      $$('[data-cat]', form).forEach(function (b) { b.setAttribute('aria-pressed', b.getAttribute('data-cat') === code ? 'true' : 'false'); });
      var err = $('[data-error-for="category"]', form);
      if (code && err) err.hidden = true;
      $$('[data-fields-for]', form).forEach(function (b) { b.hidden = b.getAttribute('data-fields-for') !== code; });
      saveDraft(form);
      checkDups();
    }
    $$('[data-cat]', form).forEach(function (b) {
      b.setAttribute('aria-pressed', 'false');
      b.addEventListener('click', function () {
        pickCategory(b.getAttribute('data-cat'));
        var det = $('[data-cat-details]', form);
        if (det) det.open = false;
      });
    });
    var search = $('[data-cat-search]', form);
    search.addEventListener('input', function () {
      // The same rule as category.Matches: the query without spaces,
      // apostrophes or hyphens, in lower case, within the search text
      // (names, code, synonyms, each also as pinyin and initials).
      var q = search.value.toLowerCase().replace(/[\s'’-]/g, '');
      var det = $('[data-cat-details]', form);
      if (q) det.open = true;
      $$('.catgroup', form).forEach(function (g) {
        var visible = 0;
        $$('.catitem', g).forEach(function (b) {
          var hit = !q || b.getAttribute('data-search').indexOf(q) >= 0 || b.getAttribute('data-name').toLowerCase().indexOf(q) >= 0;
          b.hidden = !hit;
          if (hit) visible++;
        });
        g.hidden = visible === 0;
      });
    });
    search.addEventListener('keydown', function (e) {
      if (e.key === 'Enter') {
        e.preventDefault();
        var first = $$('.catitem', form).filter(function (b) { return !b.hidden && !b.closest('.catgroup').hidden; })[0];
        if (first) first.click();
      }
    });

    function setPoint(lat, lng) {
      latIn.value = lat.toFixed(6);
      lngIn.value = lng.toFixed(6);
      readout.textContent = t('picked', lat.toFixed(5), lng.toFixed(5));
      readout.classList.add('set');
      var err = $('[data-error-for="lat"]', form);
      if (err) err.hidden = true;
      if (map) marker(map, lng, lat);
      fetch('/api/v1/regions/locate?lat=' + lat + '&lng=' + lng).then(function (r) { return r.json().then(function (j) { return { ok: r.ok, j: j }; }); }).then(function (res) {
        if (res.ok && res.j.grid) {
          var names = (res.j.path || []).filter(function (x) { return x.level === 'street' || x.level === 'community' || x.level === 'grid'; }).map(function (x) { return x.name; });
          readout.textContent = t('picked', lat.toFixed(5), lng.toFixed(5)) + ' · ' + names.join(' › ');
        } else {
          readout.textContent = t('outside');
        }
      }).catch(function () { /* the readout keeps the coordinates */ });
      saveDraft(form);
      checkDups();
    }
    mapEl.addEventListener('whistle:map', function (e) {
      map = e.detail;
      // Leaflet's latlng is WGS-84 whatever the tiles' datum (see mapCRS).
      map.on('click', function (ev) { setPoint(ev.latlng.lat, ev.latlng.lng); });
      if (latIn.value && lngIn.value) marker(map, parseFloat(lngIn.value), parseFloat(latIn.value));
    });
    // A place chosen in the search box over the map becomes the point
    // (the map jumps there too); a tap on the map can refine it.
    mapEl.addEventListener('whistle:place', function (e) { setPoint(e.detail.lat, e.detail.lng); });
    // Typed coordinates: the keyboard's way to place the point.
    var cLat = $('[data-coord="lat"]', form), cLng = $('[data-coord="lng"]', form);
    if (cLat && cLng) {
      var typed = function () {
        var la = parseFloat(cLat.value), ln = parseFloat(cLng.value);
        if (isFinite(la) && isFinite(ln)) setPoint(la, ln);
      };
      cLat.addEventListener('change', typed);
      cLng.addEventListener('change', typed);
    }
    var scope = $('[data-map-scope]', form);
    if (scope) scope.addEventListener('change', function () {
      mapEl.setAttribute('data-geojson', '/api/v1/regions/' + scope.value + '/geojson');
      mapEl._init = false;
      map = null;
      initMaps(form);
    });
    $('[data-geolocate]', form).addEventListener('click', function () {
      if (!navigator.geolocation) { readout.textContent = t('no_geolocation'); return; }
      readout.textContent = t('locating');
      navigator.geolocation.getCurrentPosition(function (pos) {
        setPoint(pos.coords.latitude, pos.coords.longitude);
      }, function () { readout.textContent = t('locate_failed'); }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
    });

    var dupTimer = 0;
    function checkDups() {
      clearTimeout(dupTimer);
      dupTimer = setTimeout(function () {
        if (!catInput.value || !latIn.value) { dupBox.hidden = true; return; }
        var u = '/api/v1/cases/duplicates?category=' + encodeURIComponent(catInput.value) + '&lat=' + latIn.value + '&lng=' + lngIn.value;
        fetch(u).then(function (r) { return r.ok ? r.json() : { duplicates: [] }; }).then(function (j) {
          var ds = j.duplicates || [];
          dupList.textContent = '';
          dupBox.hidden = ds.length === 0;
          ds.forEach(function (d) {
            var li = document.createElement('li');
            var text = document.createElement('span');
            text.textContent = d.category + ' · ' + t('dup_distance', Math.round(d.distance_m)) + (d.address ? ' · ' + d.address : '') + ' · ' + d.number;
            li.appendChild(text);
            var b = document.createElement('button');
            b.type = 'button';
            b.className = 'btn small';
            b.textContent = t('follow');
            b.addEventListener('click', function () {
              fetch('/api/v1/cases/' + d.id + '/follow', { method: 'POST', headers: { 'X-CSRF-Token': csrf }, credentials: 'same-origin' }).then(function (r) {
                if (r.status === 401) { toLogin(); return; }
                if (r.ok) { b.disabled = true; b.textContent = t('followed'); say(t('followed')); }
              });
            });
            li.appendChild(b);
            dupList.appendChild(li);
          });
        }).catch(function () { dupBox.hidden = true; });
      }, 300);
    }

    form.addEventListener('whistle:restored', function () {
      if (catInput.value) pickCategory(catInput.value);
      if (latIn.value && lngIn.value) setPoint(parseFloat(latIn.value), parseFloat(lngIn.value));
    });

    var submitting = false;
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      if (submitting) return;
      var btn = $('[data-submit]', form), status = $('[data-submit-status]', form);
      var body = {
        category: catInput.value,
        description: form.elements.description.value,
        address: form.elements.address.value,
        phone: form.elements.phone.value.trim(),
        anonymous: !!(form.elements.anonymous && form.elements.anonymous.checked),
        visibility: form.elements['public'].checked ? 'public' : 'private',
        crs: 'wgs84',
        lat: latIn.value ? parseFloat(latIn.value) : null,
        lng: lngIn.value ? parseFloat(lngIn.value) : null
      };
      if (form.elements.source) body.source = form.elements.source.value;
      var extra = $('[data-fields-for="' + catInput.value + '"]', form);
      if (extra) {
        body.fields = {};
        $$('[data-field]', extra).forEach(function (f) {
          var key = f.getAttribute('data-field'), type = f.getAttribute('data-type'), v = '';
          if (type === 'multivaluelist') {
            v = $$('input:checked', f).map(function (c) { return c.value; }).join(',');
          } else {
            v = $('input, select, textarea', f).value.trim();
            if (type === 'datetime' && v) v = (v.length === 16 ? v + ':00' : v) + '+08:00';
          }
          if (v) body.fields[key] = v;
        });
      }
      saveDraft(form);
      submitting = true;
      btn.disabled = true;
      status.textContent = t('submitting');
      // Reporting is open to anyone, so an expired session would silently
      // file the case anonymously: check the session first.
      fetch('/api/v1/me', { credentials: 'same-origin' }).then(function (r) {
        if (r.status === 401 && csrf) { toLogin(); throw new Error('login'); }
      }).then(function () {
        return fetch('/api/v1/cases', {
        method: 'POST', credentials: 'same-origin', body: JSON.stringify(body),
          headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf, 'Idempotency-Key': form.getAttribute('data-key') }
        });
      }).then(function (r) {
        if (r.status === 401) { toLogin(); throw new Error('login'); }
        return r.json().catch(function () { return {}; }).then(function (j) { return { r: r, j: j }; });
      }).then(function (res) {
        if (!res.r.ok) {
          showErrors(form, res.j);
          throw new Error('invalid');
        }
        var id = res.j.id, queue = ($('[data-queue]', form) || {})._queue || [];
        var failed = 0, n = 0;
        return queue.reduce(function (p, item) {
          return p.then(function () {
            n++;
            status.textContent = t('uploading') + ' ' + n + '/' + queue.length;
            return uploadPhoto('/api/v1/cases/' + id + '/photos?kind=before', item.blob).catch(function () { failed++; });
          });
        }, Promise.resolve()).then(function () {
          clearDraft(form);
          var receipt = $('[data-receipt]');
          if (receipt) {
            // A visitor cannot open the staff case page: show the number
            // and, for a public case, the link to its public page.
            form.hidden = true;
            $('[data-receipt-number]', receipt).textContent = res.j.number || '';
            var pub = res.j.visibility !== 'private';
            $('[data-receipt-link]', receipt).href = '/public/cases/' + id;
            $('[data-receipt-public]', receipt).hidden = !pub;
            $('[data-receipt-private]', receipt).hidden = pub;
            receipt.hidden = false;
            receipt.focus();
            return;
          }
          location.href = '/cases/' + id + '?new=1' + (failed ? '&photo_failed=' + failed : '');
        });
      }).catch(function (err) {
        if (err && err.message !== 'invalid' && err.message !== 'login') {
          var top = $('[data-form-error]', form);
          top.textContent = t('network_error');
          top.hidden = false;
        }
        status.textContent = '';
        btn.disabled = false;
        submitting = false;
      });
    });
  }

  /* ---------- sign-in by SMS code ---------- */
  function initSMSLogin(form) {
    if (!form || form._init) return;
    form._init = true;
    var status = $('[data-code-status]', form);
    function post(path, body) {
      return fetch(path, {
        method: 'POST', credentials: 'same-origin', body: JSON.stringify(body),
        headers: { 'Content-Type': 'application/json' }
      }).then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (j) { return { r: r, j: j }; });
      });
    }
    function fail(err) {
      var top = $('[data-form-error]', form);
      top.textContent = t('network_error');
      top.hidden = false;
    }
    $('[data-send-code]', form).addEventListener('click', function () {
      status.textContent = '';
      post('/api/v1/session/sms-code', { phone: form.elements.phone.value.trim() }).then(function (res) {
        showErrors(form, res.r.ok ? null : res.j);
        if (res.r.ok) {
          status.textContent = res.j.message || '';
          form.elements.code.focus();
        }
      }).catch(fail);
    });
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      post('/api/v1/session/sms', { phone: form.elements.phone.value.trim(), code: form.elements.code.value.trim() }).then(function (res) {
        if (!res.r.ok) { showErrors(form, res.j); return; }
        location.href = form.getAttribute('data-next') || '/';
      }).catch(fail);
    });
  }

  /* ---------- region import (admin) ---------- */
  function initImport(form) {
    if (!form || form._init) return;
    form._init = true;
    var out = $('[data-import-result]'), commit = $('[data-import-mode="commit"]', form), fileErr = $('[data-error-for="file"]', form);
    function send(dry) {
      var f = form.elements.file.files[0];
      fileErr.hidden = true;
      if (!f) { fileErr.textContent = M.no_file || t('import_checking'); fileErr.hidden = false; return; }
      out.textContent = t('import_checking');
      fetch('/api/v1/regions/import' + (dry ? '?dry_run=1' : ''), {
        method: 'POST', body: f, credentials: 'same-origin', headers: { 'Content-Type': 'application/geo+json', 'X-CSRF-Token': csrf }
      }).then(function (r) {
        if (r.status === 401) { toLogin(); return null; }
        return r.json().then(function (j) { return { ok: r.ok, j: j }; });
      }).then(function (res) {
        if (!res) return;
        out.textContent = '';
        var p = document.createElement('p');
        if (!res.ok) {
          p.className = 'error';
          p.textContent = res.j.error ? res.j.error.message : t('upload_failed');
          out.appendChild(p);
          var ul = document.createElement('ul');
          ul.className = 'issues';
          var fields = (res.j.error && res.j.error.fields) || {};
          Object.keys(fields).sort(function (a, b) { return (parseInt(a.replace(/\D/g, ''), 10) || 0) - (parseInt(b.replace(/\D/g, ''), 10) || 0); }).forEach(function (k) {
            var li = document.createElement('li');
            li.textContent = k + ': ' + fields[k];
            ul.appendChild(li);
          });
          out.appendChild(ul);
          commit.hidden = true;
          return;
        }
        p.className = 'notice ok';
        var levels = res.j.levels || {};
        var parts = Object.keys(levels).map(function (k) { return k + ' ' + levels[k]; });
        p.textContent = t('import_ok', res.j.features || ((res.j.created || 0) + (res.j.updated || 0)), parts.join('，'));
        out.appendChild(p);
        commit.hidden = !dry;
      }).catch(function () { out.textContent = t('network_error'); });
    }
    form.addEventListener('submit', function (e) { e.preventDefault(); send(true); });
    commit.addEventListener('click', function () { send(false); });
    form.elements.file.addEventListener('change', function () { commit.hidden = true; out.textContent = ''; });
  }

  /* ---------- landmarks (admin): pick on the map, edit in place ---------- */
  function initLandmarks(box) {
    if (!box || box._init) return;
    box._init = true;
    var form = $('form[data-landmark-form]', box), mapEl = $('[data-map="landmarks"]', box);
    var title = $('[data-lm-title]', box), submit = $('[data-lm-submit]', form), cancel = $('[data-lm-cancel]', form);
    var map = null;
    function put(lat, lng) {
      form.elements.lat.value = lat.toFixed(6);
      form.elements.lng.value = lng.toFixed(6);
      ['lat', 'lng'].forEach(function (k) { var p = $('[data-error-for="' + k + '"]', form); if (p) p.hidden = true; });
      if (map) marker(map, lng, lat);
    }
    // mode loads row into the form for editing (PUT), or empties it for a
    // new landmark (POST) when row is null.
    function mode(row) {
      $$('[data-error-for]', form).forEach(function (p) { p.hidden = true; });
      $('[data-form-error]', form).hidden = true;
      $$('tr[data-landmark]', box).forEach(function (r) { r.classList.toggle('editing', r === row); });
      if (!row) {
        form.setAttribute('data-method', 'POST');
        form.setAttribute('data-action', '/api/v1/landmarks');
        form.reset();
        if (map && map._pin) { map._pin.remove(); map._pin = null; }
      } else {
        form.setAttribute('data-method', 'PUT');
        form.setAttribute('data-action', '/api/v1/landmarks/' + row.getAttribute('data-landmark'));
        form.elements.name.value = row.getAttribute('data-name');
        form.elements.kind.value = row.getAttribute('data-kind');
        form.elements.aliases.value = row.getAttribute('data-aliases');
        var lat = parseFloat(row.getAttribute('data-lat')), lng = parseFloat(row.getAttribute('data-lng'));
        put(lat, lng);
        if (map) map.setView([lat, lng], Math.max(map.getZoom(), 15), { animate: false });
      }
      title.textContent = title.getAttribute(row ? 'data-edit' : 'data-add');
      submit.textContent = submit.getAttribute(row ? 'data-edit' : 'data-add');
      cancel.hidden = !row;
      if (row) {
        $('#lm-editor').scrollIntoView({ block: 'start' });
        form.elements.name.focus({ preventScroll: true });
      }
    }
    $$('[data-lm-edit]', box).forEach(function (b) {
      b.addEventListener('click', function () { mode(b.closest('tr')); });
    });
    cancel.addEventListener('click', function () { mode(null); });
    mapEl.addEventListener('whistle:map', function (e) {
      map = e.detail;
      var L = window.L;
      $$('tr[data-landmark]', box).forEach(function (row) {
        L.circleMarker([parseFloat(row.getAttribute('data-lat')), parseFloat(row.getAttribute('data-lng'))],
          { radius: 6, color: '#fff', weight: 2, fillColor: '#165dff', fillOpacity: 1, bubblingMouseEvents: false })
          .bindTooltip(row.getAttribute('data-name')).on('click', function () { mode(row); }).addTo(map);
      });
      map.on('click', function (ev) { put(ev.latlng.lat, ev.latlng.lng); });
      var edit = $('tr[data-landmark].editing', box);
      if (edit) mode(edit);
    });
  }

  /* ---------- small admin forms that write through the JSON API ---------- */
  function initJSONForms(root) {
    $$('form[data-json-form]', root).forEach(function (form) {
      if (form._init) return;
      form._init = true;
      form.addEventListener('submit', function (e) {
        e.preventDefault();
        var url = form.getAttribute('data-action'), body = {};
        // form.elements: a row's inputs may sit in other cells (form=).
        Array.prototype.forEach.call(form.elements, function (el) {
          if (!el.name || el.tagName === 'BUTTON') return;
          url = url.replace('{' + el.name + '}', encodeURIComponent(el.value));
          if (el.hasAttribute('data-url-only')) return;
          if (el.type === 'checkbox') body[el.name] = el.checked;
          else if (el.getAttribute('data-type') === 'number') { if (el.value !== '') body[el.name] = Number(el.value); }
          else body[el.name] = el.value.trim();
        });
        if (/[{]/.test(url) || /\/$/.test(url)) {
          var p = $('[data-error-for="date"]', form);
          if (p) { p.textContent = t('required'); p.hidden = false; }
          return;
        }
        send(form, form.getAttribute('data-method') || 'POST', url, body);
      });
    });
    $$('[data-json-delete]', root).forEach(function (b) {
      if (b._init) return;
      b._init = true;
      b.addEventListener('click', function () {
        var q = b.getAttribute('data-confirm');
        if (q && !window.confirm(q)) return;
        send(b.closest('form') || b.closest('section') || document.body, 'DELETE', b.getAttribute('data-json-delete'));
      });
    });
  }
  // fieldLabel is the label of scope's control named k, or '' when there
  // is none.
  function fieldLabel(scope, k) {
    var el = scope.elements ? scope.elements[k] : $('[name="' + k + '"]', scope);
    if (!el || el.type === 'hidden') return '';
    var l = el.getAttribute('aria-label') || (el.labels && el.labels[0] && el.labels[0].textContent.trim()) || '';
    return l;
  }
  function send(scope, method, url, body) {
    fetch(url, { method: method, credentials: 'same-origin', body: body ? JSON.stringify(body) : undefined,
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf } }).then(function (r) {
      if (r.status === 401) { toLogin(); return; }
      if (r.ok) { location.reload(); return; }
      return r.json().catch(function () { return {}; }).then(function (j) {
        $$('[data-error-for]', scope).forEach(function (p) { p.hidden = true; });
        var fields = (j.error && j.error.fields) || {}, unplaced = [];
        // A message away from its input names the field by its label,
        // unless it does already.
        Object.keys(fields).forEach(function (k) {
          var p = $('[data-error-for="' + k + '"]', scope);
          var l = p ? p.getAttribute('data-label') : fieldLabel(scope, k);
          var msg = (l && fields[k].indexOf(l) < 0 ? l + '：' : '') + fields[k];
          if (p) { p.textContent = msg; p.hidden = false; } else unplaced.push(msg);
        });
        var top = $('[data-form-error]', scope);
        if (top) { top.textContent = (j.error ? j.error.message : t('network_error')) + (unplaced.length ? ' ' + unplaced.join(' ') : ''); top.hidden = false; }
      });
    }).catch(function () { say(t('network_error')); });
  }

  /* ---------- live updates over SSE ---------- */
  function refreshBadge() {
    var b = $('#inbox-badge');
    if (!b) return;
    fetch('/api/v1/inbox', { credentials: 'same-origin' }).then(function (r) { return r.ok ? r.json() : null; }).then(function (j) {
      if (!j) return;
      b.textContent = j.unread;
      b.hidden = !j.unread;
    });
  }
  function initLive() {
    if (!document.body.hasAttribute('data-live') || !window.EventSource) return;
    var es = new EventSource('/api/v1/events');
    es.addEventListener('case', function (ev) {
      var d = {};
      try { d = JSON.parse(ev.data); } catch (e) { return; }
      document.body.dispatchEvent(new CustomEvent('whistle:case', { detail: d }));
      say(t('live_update', d.number || ''));
      refreshBadge();
    });
  }

  function init(root) {
    root = root || document;
    initUploaders(root);
    initMaps(root);
    initSelectAll(root);
    initJSONForms(root);
    if (root.querySelector) {
      initReport(root.matches && root.matches('[data-report]') ? root : $('[data-report]', root));
      initSMSLogin(root.matches && root.matches('[data-sms-login]') ? root : $('[data-sms-login]', root));
      initImport(root.matches && root.matches('[data-region-import]') ? root : $('[data-region-import]', root));
      initLandmarks(root.matches && root.matches('[data-landmarks]') ? root : $('[data-landmarks]', root));
    }
    initDrafts(root);
  }

  // Folded panels (the queue's filters) stay open on wide screens and fold
  // away on phones.
  function initFolds() {
    if (!window.matchMedia || !window.matchMedia('(min-width: 641px)').matches) return;
    document.querySelectorAll('details[data-fold-wide]').forEach(function (d) { d.open = true; });
  }

  // A party member's claimable queue lists the nearest cases first: from
  // the grid's centre until the browser may say where the member is.
  function initNear() {
    var q = document.querySelector('[data-near-ask]');
    if (!q || !navigator.geolocation || /[?&]near=/.test(location.search)) return;
    navigator.geolocation.getCurrentPosition(function (pos) {
      var u = new URL(location.href);
      u.searchParams.set('near', pos.coords.latitude.toFixed(6) + ',' + pos.coords.longitude.toFixed(6));
      location.replace(u.toString());
    }, function () { /* refused: the grid's centre stays */ }, { timeout: 15000, maximumAge: 300000 });
  }

  function start() {
    initFolds();
    initNear();
    if (window.htmx) {
      window.htmx.onLoad(function (elt) { init(elt); });
    } else {
      init(document);
    }
    initLive();
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
