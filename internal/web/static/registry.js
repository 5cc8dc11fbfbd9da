/* The grid page's map (/grids/{code}): the grid's outline, its buildings
 * as points and the recent patrol tracks, each track linking to its
 * patrol. The layers come from the page (#grid-map-data); the outline from
 * the region's GeoJSON through whistleMap.draw. */
(function () {
  'use strict';

  var el = document.querySelector('[data-grid-map]');
  var W = window.whistleMap;
  if (!el || !W) return;
  var data = {};
  try { data = JSON.parse((document.getElementById('grid-map-data') || {}).textContent || '{}') || {}; } catch (e) { data = {}; }
  W.draw(el, el.getAttribute('data-geojson')).then(function (map) {
    var L = window.L, bounds = L.latLngBounds([]);
    (data.buildings || []).forEach(function (b) {
      var m = L.circleMarker([b.lat, b.lng], { radius: 6, color: '#fff', weight: 1.5, fillColor: '#c8102e', fillOpacity: 0.9 })
        .bindTooltip(b.label).on('click', function () { location.href = b.href; }).addTo(map);
      m.getElement && m.getElement() && m.getElement().setAttribute('data-building', String(b.id));
      bounds.extend([b.lat, b.lng]);
    });
    var tracks = 0;
    (data.tracks || []).forEach(function (t) {
      if (!t.points || !t.points.length) return;
      var line = t.points.length > 1 ? L.polyline(t.points, { color: '#1664ff', weight: 4, opacity: 0.8 })
        : L.circleMarker(t.points[0], { radius: 6, color: '#fff', weight: 1, fillColor: '#1664ff', fillOpacity: 1 });
      line.bindTooltip(t.label).on('click', function () { location.href = t.href; }).addTo(map);
      var path = line.getElement && line.getElement();
      if (path) path.setAttribute('data-track', String(t.id));
      t.points.forEach(function (p) { bounds.extend(p); });
      tracks++;
    });
    if (el._outlines && el._outlines.getBounds().isValid()) bounds.extend(el._outlines.getBounds());
    if (bounds.isValid()) map.fitBounds(bounds, { padding: [12, 12], maxZoom: 17 });
    el.setAttribute('data-buildings', String((data.buildings || []).length));
    el.setAttribute('data-tracks', String(tracks));
  }).catch(function () { el.classList.add('map-failed'); });
})();
