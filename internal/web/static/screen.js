// The command-centre big screen: reads the stats API for one region node,
// draws the map of its children with ECharts (registerMap with our own
// GeoJSON, no tiles), drills down on a click and back up through the
// breadcrumb, and follows the case events over SSE. The figures are
// re-read when an event in the node arrives; the device alarms when one of
// their steps in the node arrives on the same stream (event "alarm"), and
// every minute besides, for the repeats that record no step.
(function () {
  'use strict';

  var body = document.body;
  var M = {};
  try { M = JSON.parse(document.getElementById('screen-messages').textContent) || {}; } catch (e) { M = {}; }
  var initialPath = [];
  try { initialPath = JSON.parse(document.getElementById('screen-path').textContent) || []; } catch (e) { initialPath = []; }

  function t(key) { return M[key] || key; }
  // tf fills %s and %d in a message, in order.
  function tf(key) {
    var args = Array.prototype.slice.call(arguments, 1);
    return t(key).replace(/%[sdv]/g, function () { return args.length ? String(args.shift()) : ''; });
  }
  function $(id) { return document.getElementById(id); }
  function esc(s) {
    return String(s == null ? '' : s).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  var state = {
    code: body.getAttribute('data-region'),
    metric: 'open',
    path: initialPath,
    names: {},    // code → name of the areas on the map
    seq: 0,       // the latest load; older answers are dropped
    refreshTimer: 0,
    alarmLayer: true
  };
  var reducedMotion = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
  var charts = {};
  var geo = {};   // code → GeoJSON of its children, fetched once
  var C = { ink: '#e6f0ff', muted: '#8fa8cc', cyan: '#35d0ff', edge: '#1b4a8f', red: '#ff4d4f', amber: '#ffb02e', green: '#36d399', blue: '#2f8cff' };

  function api(path) {
    return fetch(path, { credentials: 'same-origin', headers: { Accept: 'application/json' } }).then(function (r) {
      if (r.status === 401) { location.href = '/login?next=' + encodeURIComponent(location.pathname); }
      if (!r.ok) { throw new Error(path + ': ' + r.status); }
      return r.json();
    });
  }
  function q(code) { return '?region=' + encodeURIComponent(code); }

  // ---- loading ----

  function load(code, push) {
    var seq = ++state.seq;
    if (push) {
      history.pushState({ code: code }, '', '/screen/' + code);
      $('sc-feed').innerHTML = '';
    }
    state.code = code;
    body.setAttribute('data-region', code);
    var gj = geo[code] ? Promise.resolve(geo[code]) : fetch('/api/v1/regions/' + encodeURIComponent(code) + '/geojson', { credentials: 'same-origin' })
      .then(function (r) { if (!r.ok) { throw new Error('geojson ' + r.status); } return r.json(); })
      .then(function (g) { geo[code] = g; return g; });
    loadBase(code);
    loadBench(code);
    return Promise.all([gj, fetchFigures(code)]).then(function (res) {
      if (seq !== state.seq) { return; }
      drawMapShape(code, res[0]);
      drawFigures(res[1]);
      loadAlarms(code);
      return loadFeed(code, seq);
    }).catch(function (e) { console.error(e); });
  }

  // fetchFigures reads everything but the boundaries.
  function fetchFigures(code) {
    return Promise.all([
      api('/api/v1/stats/summary' + q(code)),
      api('/api/v1/stats/map' + q(code) + '&metric=' + state.metric),
      api('/api/v1/stats/trend' + q(code) + '&days=30'),
      api('/api/v1/stats/hotspots' + q(code) + '&limit=8'),
      api('/api/v1/stats/overdue' + q(code) + '&limit=12'),
      api('/api/v1/stats/points' + q(code))
    ]);
  }

  // loadBase fills the base-data panel from the registry's rollup; a
  // caller outside the registry's roles (404) sees no panel.
  function loadBase(code) {
    api('/api/v1/regions/' + encodeURIComponent(code) + '/base-counts').then(function (b) {
      if (code !== state.code) { return; }
      var groups = 0;
      Object.keys(b.people_by_group || {}).forEach(function (k) { groups += b.people_by_group[k]; });
      var show = { people: b.people, floating: (b.people_by_status || {}).floating, groups: groups, houses: b.houses, organisations: b.organisations };
      Object.keys(show).forEach(function (key) {
        var el = document.querySelector('[data-base="' + key + '"] b');
        if (el) { el.innerHTML = num(show[key]); }
      });
      $('sc-base').hidden = false;
    }).catch(function () { $('sc-base').hidden = true; });
    // Overdue visits (走访) under the node; none shown outside the scope.
    api('/api/v1/visits/count?region=' + encodeURIComponent(code)).then(function (v) {
      var el = document.querySelector('[data-base="visits_overdue"] b');
      if (el && code === state.code) { el.innerHTML = num(v.overdue); }
    }).catch(function () {});
  }

  // ---- 对标 (issue 19) ----

  // trendOf is a trend's arrow and class: of the gap to the leader (a
  // growing gap is bad) or, with chaser, of the chaser's distance (a
  // shrinking one is).
  function trendOf(tr, chaser) {
    var up = chaser ? 'pulling_away' : 'closing_in', down = chaser ? 'closing_in' : 'pulling_away';
    if (tr === up) { return { arrow: '↗', cls: 'good' }; }
    if (tr === down) { return { arrow: '↘', cls: 'bad' }; }
    if (tr === 'stable') { return { arrow: '→', cls: '' }; }
    return { arrow: '～', cls: 'noisy' };
  }
  function trendCell(tr, chaser) {
    if (!tr) { return ''; }
    var o = trendOf(tr, chaser), word = t((chaser ? 'screen.bench.chaser.' : 'screen.bench.trend.') + tr);
    return '<span class="' + o.cls + '" data-trend="' + esc(tr) + '" title="' + esc(word) + '" aria-hidden="true">' + o.arrow + '</span><span class="sc-sr">' + esc(word) + '</span>';
  }
  function fix1(v) { return v == null ? '–' : (Math.round(v * 10) / 10).toFixed(1); }

  // loadBench reads the node's 对标 board: the latest published period.
  function loadBench(code) {
    api('/api/v1/assessment/board' + q(code)).then(function (b) {
      if (code === state.code) { drawBench(b); }
    }).catch(function (e) { console.error(e); drawBench(null); });
  }
  function drawBench(b) {
    var panel = $('sc-bench'), rows = (b && b.rows) || [], link = '/benchmarking/league';
    var names = {};
    rows.forEach(function (r) { names[r.unit.code] = r.unit.name; });
    $('sc-bench-period').textContent = b && b.period ? tf('screen.bench.period', b.period.name || b.period.code) : '';
    if (b && b.period) {
      link += '?type=' + encodeURIComponent(b.type || 'street') + '&period=' + encodeURIComponent(b.period.code);
    }
    $('sc-bench-link').setAttribute('href', link);
    panel.setAttribute('data-state', !b ? 'error' : !b.period ? 'none' : rows.length ? 'ready' : 'empty');
    panel.setAttribute('data-rows', String(rows.length));
    if (!rows.length) {
      var msg = !b ? t('screen.bench.error') : !b.period ? t('screen.bench.none') : t('screen.bench.empty');
      $('sc-bench-rows').innerHTML = '<tr class="empty"><td colspan="7">' + esc(msg) + '</td></tr>';
      return;
    }
    $('sc-bench-rows').innerHTML = rows.map(function (r) {
      var rk = r.rank ? '<b>' + r.rank + '</b>' + (r.rank_range && r.rank_range[0] !== r.rank_range[1] ?
        '<small data-range title="' + esc(tf('screen.bench.range', r.rank_range[0], r.rank_range[1])) + '">' + r.rank_range[0] + '–' + r.rank_range[1] + '</small>' :
        '<small data-range class="sc-sr">' + esc(tf('screen.bench.range', r.rank_range[0], r.rank_range[1])) + '</small>') : '<b>–</b>';
      var lead = r.rank === 1 ? '<span class="muted">' + esc(t('screen.bench.is_leader')) + '</span>' :
        (r.gap_to_leader == null ? '–' : fix1(r.gap_to_leader));
      var chase = r.chaser_distance == null ? '–' : esc(fix1(r.chaser_distance)) + ' ' + trendCell(r.chaser_trend, true);
      var chaserName = r.chaser ? (names[r.chaser] || r.chaser) : '';
      return '<tr data-unit="' + esc(r.unit.code) + '" data-rank="' + (r.rank || 0) + '">' +
        '<td class="rk">' + rk + '</td>' +
        '<td class="unit" title="' + esc(r.unit.name) + '"><a href="/benchmarking/units/' + encodeURIComponent(r.unit.code) + '?period=' + encodeURIComponent(b.period.code) + '">' + esc(r.unit.name) + '</a></td>' +
        '<td class="n">' + fix1(r.value) + '</td>' +
        '<td class="n">' + (r.total == null ? '–' : fix1(r.total)) + '</td>' +
        '<td>' + trendCell(r.trend, false) + '</td>' +
        '<td class="n">' + lead + '</td>' +
        '<td class="n"' + (chaserName ? ' title="' + esc(tf('screen.bench.chaser_is', chaserName)) + '"' : '') + '>' + chase + '</td></tr>';
    }).join('');
  }

  function refresh() {
    var seq = state.seq, code = state.code;
    fetchFigures(code).then(function (res) {
      if (seq === state.seq && code === state.code) { drawFigures(res); }
    }).catch(function (e) { console.error(e); });
    loadAlarms(code);
  }

  // ---- device alarms (issue 17) ----

  // loadAlarms reads the node's active alarms (the caller's scope, through
  // the sensing service) for the panel and the map's layer.
  function loadAlarms(code) {
    api('/api/v1/alarms?status=active&limit=200&region=' + encodeURIComponent(code)).then(function (r) {
      if (code === state.code) { drawAlarms(r.alarms || []); }
    }).catch(function (e) { console.error(e); });
  }

  function sevColor(s) {
    return { critical: C.red, major: '#ff7a2e', minor: C.amber, info: C.blue }[s] || C.amber;
  }

  function alarmWhat(a) {
    return (a.rule_name || a.type) + (a.grid_name ? ' · ' + a.grid_name : '');
  }

  function hhmm(at) {
    return new Date(at).toLocaleTimeString('zh-CN', { hour12: false, hour: '2-digit', minute: '2-digit', timeZone: 'Asia/Shanghai' });
  }

  function drawAlarms(as) {
    var n = as.length;
    $('sc-alarmpanel').setAttribute('data-alarms', String(n));
    $('sc-alarm-count').textContent = n >= 200 ? tf('screen.alarms.more', 200) : tf('screen.alarms.active_n', n);
    $('sc-alarms').innerHTML = n ? as.map(function (a) {
      return '<li data-alarm="' + a.id + '"><span class="sev ' + esc(a.severity) + '">' + esc(t('screen.alarm.' + a.severity)) + '</span>' +
        '<span class="what">' + esc(alarmWhat(a)) + (a.count > 1 ? ' ' + esc(tf('screen.alarms.count', a.count)) : '') + '</span>' +
        '<time class="when" datetime="' + esc(a.first_at) + '" title="' + esc(tf('screen.alarms.since', a.first_at)) + '">' + esc(hhmm(a.first_at)) + '</time>' +
        (a.case_id ? '<a href="/cases/' + a.case_id + '">' + esc(t('screen.alarms.case')) + '</a>' : '') + '</li>';
    }).join('') : empty();
    fit($('sc-alarms'));
    state.lastAlarms = as;
    if (state.mapCode !== state.code) { return; } // the map of another node is being drawn
    var pts = as.filter(function (a) { return a.lat || a.lng; });
    charts.map.setOption({ series: [{}, {}, {
      data: state.alarmLayer ? pts.map(function (a) {
        return { value: [a.lng, a.lat], id: a.id, case_id: a.case_id, what: alarmWhat(a), severity: a.severity, count: a.count, first_at: a.first_at };
      }) : []
    }] });
    $('sc-map').setAttribute('data-alarms', String(state.alarmLayer ? pts.length : 0));
  }

  // soon re-reads the figures once a burst of events has passed.
  function soon() {
    clearTimeout(state.refreshTimer);
    state.refreshTimer = setTimeout(refresh, 800);
  }

  function drawFigures(res) {
    var sum = res[0];
    drawKPIs(sum.kpi);
    drawCrumbs(sum.path);
    $('sc-region-name').textContent = sum.region.name;
    document.title = document.title.replace(/·.*$/, '· ' + sum.region.name);
    drawCategories(sum.categories);
    drawSources(sum.sources);
    drawMapValues(res[1]);
    drawTrend(res[2].days);
    drawHotspots(res[3].grids);
    drawOverdue(res[4].cases);
    drawPoints(res[5].cases);
  }

  // ---- KPI cards ----

  function pct(v) { return v == null ? '–' : (v * 100).toFixed(1) + '<small>%</small>'; }
  function num(v) { return v == null ? '–' : Number(v).toLocaleString(); }
  function drawKPIs(k) {
    var show = {
      reports_today: num(k.reports_today), open: num(k.open), closed_today: num(k.closed_today),
      on_time_rate: pct(k.on_time_rate), satisfaction: pct(k.satisfaction),
      response_rate: pct(k.response_rate), resolution_rate: pct(k.resolution_rate),
      avg_handling_hours: k.avg_handling_hours == null ? '–' : k.avg_handling_hours.toFixed(1) + '<small>' + esc(t('screen.unit.hours')) + '</small>',
      supervised: num(k.supervised), overdue: num(k.overdue)
    };
    Object.keys(show).forEach(function (key) {
      var el = document.querySelector('[data-kpi="' + key + '"] b');
      if (el) { el.innerHTML = show[key]; }
    });
  }

  function drawCrumbs(path) {
    state.path = path;
    $('sc-crumbs').innerHTML = path.map(function (n, i) {
      return (i ? '<span class="sep" aria-hidden="true">›</span>' : '') +
        '<a href="/screen/' + esc(n.code) + '" data-code="' + esc(n.code) + '">' + esc(n.name) + '</a>';
    }).join('');
  }

  // ---- map ----

  function drawMapShape(code, gj) {
    var name = 'r' + code;
    state.mapCode = code;
    echarts.registerMap(name, gj);
    state.names = {};
    var illustrative = false;
    var many = (gj.features || []).length > 12;
    (gj.features || []).forEach(function (f) {
      state.names[f.properties.code] = f.properties.name;
      illustrative = illustrative || f.properties.illustrative;
    });
    $('sc-note').hidden = !illustrative;
    var el = $('sc-map');
    el.setAttribute('data-region', code);
    el.setAttribute('data-areas', String((gj.features || []).length));
    charts.map.clear();
    charts.map.setOption({
      animation: false, // new figures recolour the areas at once
      tooltip: { trigger: 'item', formatter: mapTip },
      series: [{
        type: 'map', map: name, nameProperty: 'code', roam: false, selectedMode: false, layoutCenter: ['50%', '52%'], layoutSize: '94%',
        label: { show: true, color: C.ink, fontSize: many ? 10 : 12, formatter: function (p) { return state.names[p.name] || p.name; } },
        labelLayout: { hideOverlap: true },
        itemStyle: { areaColor: '#0b3b73', borderColor: C.cyan, borderWidth: 1 },
        emphasis: { label: { color: '#fff' }, itemStyle: { areaColor: C.blue } },
        data: []
      }, {
        // The open cases at community and grid level (drawPoints), on a
        // transparent geo laid out exactly as the map.
        type: 'scatter', coordinateSystem: 'geo', geoIndex: 0, z: 5, symbolSize: 11, data: [],
        tooltip: { formatter: function (p) { return esc(p.data.number) + '<br>' + esc(p.data.category) + ' · ' + esc(p.data.status_name) + '<br>' + esc(t('sla.' + p.data.sla)); } },
        itemStyle: { borderColor: '#fff', borderWidth: 1, color: function (p) { return slaColor(p.data.sla); } }
      }, {
        // The active device alarms (drawAlarms), pulsing above the cases.
        type: reducedMotion ? 'scatter' : 'effectScatter', coordinateSystem: 'geo', geoIndex: 0, z: 6, symbol: 'diamond', symbolSize: 20, data: [],
        rippleEffect: { scale: 2.6, brushType: 'stroke', color: '#fff' },
        tooltip: { formatter: function (p) {
          return esc(t('screen.alarms')) + ' · ' + esc(t('screen.alarm.' + p.data.severity)) + '<br>' + esc(p.data.what) +
            (p.data.count > 1 ? ' ' + esc(tf('screen.alarms.count', p.data.count)) : '') + '<br>' + esc(tf('screen.alarms.since', hhmm(p.data.first_at)));
        } },
        // A white edge and glow keep it visible on any area's colour.
        itemStyle: { borderColor: '#fff', borderWidth: 2, shadowColor: 'rgba(255,255,255,.9)', shadowBlur: 10, color: function (p) { return sevColor(p.data.severity); } }
      }],
      geo: { map: name, nameProperty: 'code', roam: false, silent: true, z: 1, layoutCenter: ['50%', '52%'], layoutSize: '94%',
        itemStyle: { areaColor: 'transparent', borderColor: 'transparent' }, label: { show: false }, emphasis: { disabled: true } }
    });
  }

  function slaColor(st) {
    return { overdue: C.red, warning: C.amber, ok: C.green, paused: C.blue }[st] || C.muted;
  }

  // drawPoints puts the open cases on the map, coloured by time state;
  // each opens its case.
  function drawPoints(cs) {
    cs = cs || [];
    charts.map.setOption({ series: [{}, {
      data: cs.map(function (c) {
        return { value: [c.lng, c.lat], id: c.id, number: c.number, category: c.category, status_name: c.status_name, sla: c.sla };
      })
    }] });
    $('sc-map').setAttribute('data-points', String(cs.length));
  }

  // loadFeed fills 实时动态 with the latest steps under the node, oldest
  // first so that the newest ends on top, as the stream then adds them.
  function loadFeed(code, seq) {
    return api('/api/v1/stats/recent' + q(code) + '&limit=20').then(function (r) {
      if (seq !== state.seq) { return; }
      var list = $('sc-feed');
      list.innerHTML = '';
      r.events.slice().reverse().forEach(feed);
      if (!list.children.length) { list.innerHTML = empty(); }
    });
  }

  function mapTip(p) {
    var v = p.value;
    var shown = (v == null || isNaN(v)) ? t('screen.no_rating') : (state.metric === 'satisfaction' ? (v * 100).toFixed(1) + '%' : String(v));
    return esc(state.names[p.name] || p.name) + '<br>' + esc(t('screen.metric.' + state.metric)) + ': ' + esc(shown);
  }

  function drawMapValues(m) {
    state.metric = m.metric;
    var max = 0;
    var data = m.areas.map(function (a) {
      if (a.value != null && a.value > max) { max = a.value; }
      return { name: a.code, value: a.value == null ? NaN : a.value };
    });
    var sat = m.metric === 'satisfaction';
    var top = sat ? 1 : Math.max(max, 1);
    // The scale is replaced, not merged: a merged one keeps the range it
    // was first given and greys out the areas above it.
    charts.map.setOption({
      visualMap: [{
        type: 'continuous', min: 0, max: top, range: [0, top], left: 12, bottom: 12, itemHeight: 110, calculable: false,
        text: sat ? ['100%', '0%'] : [String(top), '0'], textStyle: { color: C.muted },
        inRange: { color: sat ? [C.red, C.amber, '#d4e157', C.green] : ['#123a73', '#1e88e5', '#26c6da', '#ffee58', '#ffa726', '#ef5350'] }
      }],
      series: [{ data: data }]
    }, { replaceMerge: ['visualMap'] });
    $('sc-map').setAttribute('data-metric', m.metric);
  }

  // ---- charts ----

  function axisStyle() {
    return { axisLine: { lineStyle: { color: C.edge } }, axisLabel: { color: C.muted }, splitLine: { lineStyle: { color: 'rgba(143,168,204,.15)' } } };
  }

  function drawTrend(days) {
    var x = days.map(function (d) { return d.day.slice(5); });
    charts.trend.setOption({
      grid: { left: 40, right: 16, top: 28, bottom: 24 },
      tooltip: { trigger: 'axis' },
      legend: { data: [t('screen.trend.reports'), t('screen.trend.closed')], textStyle: { color: C.muted }, right: 0, top: 0 },
      xAxis: Object.assign({ type: 'category', data: x, boundaryGap: false }, axisStyle()),
      yAxis: Object.assign({ type: 'value', minInterval: 1 }, axisStyle()),
      series: [
        { name: t('screen.trend.reports'), type: 'line', smooth: 0.25, symbol: 'none', data: days.map(function (d) { return d.reports; }),
          lineStyle: { color: C.cyan, width: 2 }, itemStyle: { color: C.cyan }, areaStyle: { color: 'rgba(53,208,255,.15)' } },
        { name: t('screen.trend.closed'), type: 'line', smooth: 0.25, symbol: 'none', data: days.map(function (d) { return d.closed; }),
          lineStyle: { color: C.green, width: 2 }, itemStyle: { color: C.green } }
      ]
    });
  }

  function drawCategories(cs) {
    var rows = cs.slice().reverse();
    charts.categories.setOption({
      grid: { left: 8, right: 36, top: 4, bottom: 4, containLabel: true },
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
      xAxis: Object.assign({ type: 'value', minInterval: 1 }, axisStyle(), { axisLabel: { show: false }, splitLine: { show: false } }),
      yAxis: Object.assign({ type: 'category', data: rows.map(function (c) { return c.name; }) }, axisStyle(),
        { axisLabel: { color: C.ink, width: 120, overflow: 'truncate' } }),
      series: [{ type: 'bar', data: rows.map(function (c) { return c.n; }), barMaxWidth: 14,
        label: { show: true, position: 'right', color: C.ink },
        itemStyle: { borderRadius: 3, color: new echarts.graphic.LinearGradient(0, 0, 1, 0, [{ offset: 0, color: C.blue }, { offset: 1, color: C.cyan }]) } }]
    }, true);
  }

  function drawSources(ss) {
    charts.sources.setOption({
      tooltip: { trigger: 'item', formatter: '{b}: {c} ({d}%)' },
      legend: { orient: 'vertical', right: 0, top: 'middle', textStyle: { color: C.muted } },
      color: [C.cyan, C.green, C.amber, C.blue, '#b37feb', C.red],
      series: [{ type: 'pie', radius: ['45%', '72%'], center: ['36%', '50%'], label: { show: false },
        itemStyle: { borderColor: '#050d1f', borderWidth: 2 },
        data: ss.map(function (s) { return { name: s.name, value: s.n }; }) }]
    }, true);
  }

  // ---- lists ----

  function empty() { return '<li class="empty">' + esc(t('screen.none')) + '</li>'; }

  function drawHotspots(gs) {
    var max = gs.reduce(function (m, g) { return Math.max(m, g.open); }, 1);
    $('sc-hotspots').innerHTML = gs.length ? gs.map(function (g, i) {
      return '<li><span class="rank">' + (i + 1) + '</span>' +
        '<a class="name" href="/screen/' + esc(g.code) + '" data-code="' + esc(g.code) + '">' + esc(g.name) +
        (g.community && g.name.indexOf(g.community) !== 0 ? '<small>' + esc(g.community) + '</small>' : '') + '</a>' +
        '<span class="bar"><i style="width:' + Math.round(100 * g.open / max) + '%"></i></span><span class="n">' + g.open + '</span></li>';
    }).join('') : empty();
    fit($('sc-hotspots'));
  }

  // fit drops a list's last lines until it fits its panel without a
  // scroll bar (a list may scroll only when one line does not fit).
  function fit(list) {
    while (list.children.length > 1 && list.scrollHeight > list.clientHeight + 1) { list.removeChild(list.lastChild); }
  }

  function lateness(deadline) {
    if (!deadline) { return ''; }
    var ms = Date.now() - Date.parse(deadline);
    if (ms <= 0) { return ''; }
    var h = Math.floor(ms / 3600000);
    var span = h >= 24 ? Math.floor(h / 24) + t('screen.days') : Math.max(h, 1) + t('screen.hours');
    return tf('screen.overdue_for', span);
  }

  function drawOverdue(cs) {
    $('sc-overdue').innerHTML = cs.length ? cs.map(function (c) {
      return '<li><a class="num" href="/cases/' + c.id + '">' + esc(c.number) + '</a>' +
        '<span class="what">' + esc(c.category) + ' · ' + esc(c.grid.name || c.address) + '</span>' +
        '<span class="late">' + esc(lateness(c.deadline)) + '</span></li>';
    }).join('') : empty();
  }

  // ---- live feed ----

  // childOf names the area on the map an event's region path falls in.
  function childOf(path) {
    var parts = path.split('/').filter(Boolean);
    var i = parts.indexOf(state.code);
    if (i < 0) { return ''; }
    var c = parts[i + 1] || state.code;
    return state.names[c] || '';
  }

  function feed(ev) {
    var list = $('sc-feed');
    var at = ev.at ? new Date(ev.at) : new Date();
    var time = at.toLocaleTimeString('zh-CN', { hour12: false, timeZone: 'Asia/Shanghai' });
    var li = document.createElement('li');
    li.setAttribute('data-case', String(ev.case_id));
    li.innerHTML = '<time>' + esc(time) + '</time><span class="act ' + esc(ev.action) + '">' + esc(t('action.' + ev.action)) + '</span>' +
      '<a class="txt" href="/cases/' + ev.case_id + '">' + esc(ev.number) + ' · ' + esc(t('status.' + ev.status)) +
      (childOf(ev.region_path || '') ? ' · ' + esc(childOf(ev.region_path)) : '') + '</a>';
    var first = list.querySelector('.empty');
    if (first) { first.remove(); }
    list.insertBefore(li, list.firstChild);
    while (list.children.length > 40) { list.removeChild(list.lastChild); }
  }

  function connect() {
    var live = $('sc-live');
    if (!window.EventSource) { return; }
    var es = new EventSource('/api/v1/events');
    var down = false;
    es.onopen = function () {
      live.setAttribute('data-state', 'open');
      live.title = t('screen.live');
      if (down) { soon(); } // events may have been missed while reconnecting
      down = false;
    };
    es.onerror = function () { down = true; live.setAttribute('data-state', 'closed'); live.title = t('screen.offline'); };
    es.addEventListener('case', function (m) {
      var ev;
      try { ev = JSON.parse(m.data); } catch (e) { return; }
      if (!ev.region_path || ev.region_path.indexOf('/' + state.code + '/') < 0) { return; }
      feed(ev);
      soon();
    });
    es.addEventListener('alarm', function (m) {
      var ev;
      try { ev = JSON.parse(m.data); } catch (e) { return; }
      if (!ev.region_path || ev.region_path.indexOf('/' + state.code + '/') < 0) { return; }
      alarmsSoon();
    });
  }

  // alarmsSoon re-reads the alarms once a burst of their steps is over.
  function alarmsSoon() {
    clearTimeout(state.alarmTimer);
    state.alarmTimer = setTimeout(function () { loadAlarms(state.code); }, 500);
  }

  // ---- wiring ----

  function navClick(e) {
    var a = e.target.closest('a[data-code]');
    if (!a || e.ctrlKey || e.metaKey || e.shiftKey || e.button !== 0) { return; }
    e.preventDefault();
    if (a.getAttribute('data-code') !== state.code) { load(a.getAttribute('data-code'), true); }
  }

  function clock() {
    $('sc-clock').textContent = new Date().toLocaleString(document.documentElement.lang === 'en' ? 'en-GB' : 'zh-CN', { hour12: false, timeZone: 'Asia/Shanghai' });
  }

  function init() {
    if (!window.echarts) { return; }
    charts.map = echarts.init($('sc-map'));
    charts.trend = echarts.init($('sc-trend'));
    charts.categories = echarts.init($('sc-categories'));
    charts.sources = echarts.init($('sc-sources'));
    charts.map.on('click', function (p) {
      if (p.seriesIndex === 2) { if (p.data.case_id) { location.href = '/cases/' + p.data.case_id; } return; }
      if (p.seriesType === 'scatter') { location.href = '/cases/' + p.data.id; return; }
      if (p.name && p.name !== state.code && state.names[p.name]) { load(p.name, true); }
    });
    window.addEventListener('resize', function () {
      Object.keys(charts).forEach(function (k) { charts[k].resize(); });
    });
    $('sc-metrics').addEventListener('click', function (e) {
      var b = e.target.closest('button[data-metric]');
      if (!b) { return; }
      Array.prototype.forEach.call(this.querySelectorAll('button'), function (x) { x.setAttribute('aria-checked', String(x === b)); });
      state.metric = b.getAttribute('data-metric');
      api('/api/v1/stats/map' + q(state.code) + '&metric=' + state.metric).then(drawMapValues).catch(function (err) { console.error(err); });
    });
    $('sc-alarm-layer').addEventListener('click', function () {
      state.alarmLayer = !state.alarmLayer;
      this.setAttribute('aria-pressed', String(state.alarmLayer));
      drawAlarms(state.lastAlarms || []);
    });
    setInterval(function () { loadAlarms(state.code); }, 60000);
    $('sc-crumbs').addEventListener('click', navClick);
    $('sc-hotspots').addEventListener('click', navClick);
    window.addEventListener('popstate', function () {
      var m = location.pathname.match(/^\/screen\/([^/]+)$/);
      if (m) { load(decodeURIComponent(m[1]), false); }
    });
    $('sc-feed').innerHTML = empty();
    clock();
    setInterval(clock, 1000);
    load(state.code, false);
    connect();
  }

  if (document.readyState === 'loading') {
    document.addEventListener('DOMContentLoaded', init);
  } else {
    init();
  }
}());
