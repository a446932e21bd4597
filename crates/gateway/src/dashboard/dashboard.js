// Switchboard routing dashboard. Vanilla JS, no build step. Everything it shows comes from the admin
// API with the admin token (kept in this tab's sessionStorage, sent only as a Bearer header). Data
// goes into the page as text nodes and SVG attributes, never as HTML.
'use strict';

(() => {
  const TOKEN_KEY = 'switchboard.admin_token';
  const REFRESH_MS = 5000;
  const SERIES_SECS = 900;
  const BUCKET_SECS = 10;
  const PALETTE = ['#2f6fdf', '#e0662b', '#1f9d6b', '#b0379f', '#c49a00', '#5b5bd6', '#d23b3b', '#2a9fb3'];
  const SVG_NS = 'http://www.w3.org/2000/svg';

  const $ = (id) => document.getElementById(id);

  // ---- DOM helpers: text only ------------------------------------------------------------------

  /** An element with attributes (class, data-*, …) and children (nodes or strings, as text). */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') node.className = value;
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children.flat()) {
      if (child === undefined || child === null || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS(SVG_NS, tag);
    for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, String(value));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  // ---- formatting ------------------------------------------------------------------------------

  const pct = (r) => (r === null || r === undefined ? '—' : `${(r * 100).toFixed(1)} %`);

  function ms(v) {
    if (v === null || v === undefined) return '—';
    if (v < 10) return `${v.toFixed(1)} ms`;
    if (v < 1000) return `${Math.round(v)} ms`;
    return `${(v / 1000).toFixed(2)} s`;
  }

  function age(s) {
    if (s === null || s === undefined) return '—';
    if (s < 60) return `${Math.round(s)} s`;
    if (s < 3600) return `${Math.round(s / 60)} min`;
    return `${(s / 3600).toFixed(1)} h`;
  }

  const count = (n) => (n === null || n === undefined || n < 0 ? '?' : String(n));
  const circuitLabel = (c) => (c || 'unknown').replace('_', '-');

  function badge(circuit) {
    const c = circuit || 'unknown';
    return el('span', { class: `badge circuit-${c}`, 'data-field': 'circuit' }, circuitLabel(c));
  }

  // ---- API -------------------------------------------------------------------------------------

  class Unauthorized extends Error {}

  class ApiFailure extends Error {
    constructor(status, body) {
      const code = body && body.code ? `${body.code}: ` : '';
      super(`${code}${(body && body.message) || `HTTP ${status}`}`);
      this.status = status;
    }
  }

  async function api(path, method = 'GET') {
    const token = sessionStorage.getItem(TOKEN_KEY);
    if (!token) throw new Unauthorized();
    const res = await fetch(path, {
      method,
      headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
      cache: 'no-store',
      credentials: 'omit',
    });
    if (res.status === 401) throw new Unauthorized();
    const body = await res.json().catch(() => null);
    if (!res.ok) throw new ApiFailure(res.status, body);
    return body;
  }

  // ---- state -----------------------------------------------------------------------------------

  let windowName = '1m';
  let last = null; // the last successful fetch
  let timer = null;
  let generation = 0; // bumped on login/logout so a late answer of an old session is dropped

  function showLogin(message) {
    generation += 1;
    clearTimeout(timer);
    sessionStorage.removeItem(TOKEN_KEY);
    last = null;
    $('app').hidden = true;
    $('logout').hidden = true;
    $('status').textContent = '';
    $('login').hidden = false;
    $('login-error').textContent = message || '';
    $('token').focus();
  }

  function showApp() {
    $('login').hidden = true;
    $('app').hidden = false;
    $('logout').hidden = false;
  }

  function banner(message) {
    const b = $('banner');
    b.textContent = message || '';
    b.hidden = !message;
  }

  async function fetchAll() {
    const [stats, channels, operators, dead] = await Promise.all([
      api('/admin/stats'),
      api('/admin/channels'),
      api('/admin/operators'),
      api('/admin/webhooks/dead-letters'),
    ]);
    return { stats, channels: channels.channels, operators: operators.operators, dead: dead.dead_letters };
  }

  async function refresh() {
    const mine = generation;
    // A tab nobody looks at does not poll; it refreshes as soon as it is shown again.
    if (document.hidden) {
      timer = setTimeout(refresh, REFRESH_MS);
      return;
    }
    try {
      const data = await fetchAll();
      if (mine !== generation) return;
      last = data;
      render();
      banner('');
    } catch (e) {
      if (mine !== generation) return;
      if (e instanceof Unauthorized) {
        showLogin('The gateway refused the token (401). Log in again.');
        return;
      }
      const since = last ? ` Showing figures from ${timeOf(last.stats.generated_at)}.` : '';
      banner(`Could not refresh: ${e.message}.${since}`);
    }
    if (mine === generation) timer = setTimeout(refresh, REFRESH_MS);
  }

  function start() {
    generation += 1;
    clearTimeout(timer);
    showApp();
    refresh();
  }

  const timeOf = (iso) => new Date(iso).toLocaleTimeString();

  // ---- rendering -------------------------------------------------------------------------------

  function render() {
    const { stats } = last;
    const win = stats.windows[windowName] || { channels: [], operators: [] };
    const byChannel = new Map(win.channels.map((c) => [c.channel, c]));
    const byOperator = new Map(win.operators.map((o) => [o.operator, o]));
    const colors = new Map(stats.series.map((s, i) => [s.channel, PALETTE[i % PALETTE.length]]));
    const config = new Map(last.channels.map((c) => [c.id, c]));

    $('status').textContent = `Updated ${timeOf(stats.generated_at)} · ${stats.scope} figures`;
    $('app').dataset.updated = stats.generated_at;
    $('operators').replaceChildren(...last.operators.map((op) => operatorBlock(op, byOperator, byChannel, config)));
    $('channels').replaceChildren(...last.channels.map((ch) => channelCard(ch, byChannel.get(ch.id))));
    renderCharts(stats, colors);
    renderBacklog(stats.backlog);
    renderDeadLetters(last.dead);
  }

  function figure(label, field, value) {
    return el('div', {}, el('dt', {}, label), el('dd', { 'data-field': field }, value));
  }

  function operatorBlock(op, byOperator, byChannel, config) {
    const s = byOperator.get(op.id) || {};
    const lat = s.latency_ms || {};
    // In the order /admin/operators gives: the routing order.
    const channels = op.channels.map((id) => config.get(id) || { id });
    return el(
      'article',
      { class: 'operator', 'data-operator': op.id },
      el(
        'header',
        {},
        el('h3', {}, op.name || op.id, ' ', el('span', { class: 'muted' }, [op.name ? op.id : null, op.country, op.currency].filter(Boolean).join(' · '))),
        el('p', { class: 'summary' }, `${count(s.attempts)} attempts · ${pct(s.success_rate)} success · p95 ${ms(lat.p95)}`),
      ),
      el(
        'ol',
        { class: 'ranked' },
        channels.map((ch) => {
          const cs = byChannel.get(ch.id) || {};
          return el(
            'li',
            { 'data-channel': ch.id },
            el('span', { class: 'name' }, ch.id),
            badge(ch.health && ch.health.circuit),
            el(
              'span',
              { class: 'nums' },
              el('b', {}, pct(cs.success_rate)),
              ` success · p95 ${ms(cs.latency_ms && cs.latency_ms.p95)} · share ${pct(cs.traffic_share)}`,
            ),
          );
        }),
      ),
    );
  }

  function channelCard(ch, s) {
    const stats = s || {};
    const lat = stats.latency_ms || {};
    const health = ch.health || {};
    const errors = Object.entries(stats.errors || {}).sort((a, b) => b[1] - a[1]);
    const meta = [ch.adapter, `priority ${ch.priority}`, `weight ${ch.weight}`, (ch.operators || []).join(', ')];
    if (health.consecutive_failures > 0) meta.push(`${health.consecutive_failures} consecutive failures`);
    return el(
      'article',
      { class: `card${ch.enabled ? '' : ' disabled'}`, 'data-channel': ch.id },
      el('header', {}, el('h3', {}, ch.id), badge(health.circuit)),
      el('p', { class: 'muted meta' }, meta.join(' · ')),
      el(
        'dl',
        { class: 'figures' },
        figure('Attempts', 'attempts', count(stats.attempts)),
        figure('Success', 'success-rate', pct(stats.success_rate)),
        figure('Share', 'traffic-share', pct(stats.traffic_share)),
        figure('p50', 'p50', ms(lat.p50)),
        figure('p95', 'p95', ms(lat.p95)),
        figure('p99', 'p99', ms(lat.p99)),
        figure('Refused', 'refused', count(stats.refused)),
        figure('Failed', 'technical-failures', count(stats.technical_failures)),
      ),
      errors.length
        ? el('ul', { class: 'errors', 'data-field': 'errors' }, errors.map(([code, n]) => el('li', {}, code, ' ', el('b', {}, n))))
        : el('p', { class: 'muted errors', 'data-field': 'errors' }, 'No errors'),
    );
  }

  // ---- charts (hand-drawn SVG) -----------------------------------------------------------------

  const CHART = { w: 600, h: 220, left: 78, right: 18, top: 12, bottom: 30 };

  function niceMax(v) {
    if (!(v > 0)) return 100;
    const step = 10 ** Math.floor(Math.log10(v));
    return [1, 2, 5, 10].map((m) => m * step).find((m) => m >= v);
  }

  function drawChart(node, series, colors, now, valueOf, max, format) {
    const { w, h, left, right, top, bottom } = CHART;
    const x = (t) => left + ((t - (now - SERIES_SECS)) / SERIES_SECS) * (w - left - right);
    const y = (v) => top + (1 - v / max) * (h - top - bottom);
    const parts = [];
    for (let i = 0; i <= 4; i += 1) {
      const v = (max * i) / 4;
      parts.push(svg('line', { class: 'grid', x1: left, x2: w - right, y1: y(v), y2: y(v) }));
      parts.push(svg('text', { class: 'axis', x: left - 6, y: y(v) + 4, 'text-anchor': 'end' }, format(v)));
    }
    for (const [label, t] of [['−15 min', now - 900], ['−10', now - 600], ['−5', now - 300], ['now', now]]) {
      parts.push(svg('text', { class: 'axis', x: x(t), y: h - 8, 'text-anchor': 'middle' }, label));
    }
    let drawn = 0;
    for (const s of series) {
      const color = colors.get(s.channel);
      const points = s.points.filter((p) => valueOf(p) !== null && valueOf(p) !== undefined);
      // Consecutive buckets are joined; a gap (no traffic) breaks the line.
      let run = [];
      const flush = () => {
        if (run.length > 1) {
          parts.push(svg('polyline', { points: run.map((p) => `${x(p.t)},${y(Math.min(valueOf(p), max))}`).join(' '), fill: 'none', stroke: color, 'stroke-width': 2 }));
        }
        run = [];
      };
      points.forEach((p, i) => {
        if (i > 0 && p.t - points[i - 1].t > BUCKET_SECS) flush();
        run.push(p);
        parts.push(svg('circle', { cx: x(p.t), cy: y(Math.min(valueOf(p), max)), r: 2.5, fill: color }));
        drawn += 1;
      });
      flush();
    }
    if (!drawn) {
      parts.push(svg('text', { class: 'empty', x: w / 2, y: h / 2, 'text-anchor': 'middle' }, 'No traffic in the last 15 minutes'));
    }
    node.replaceChildren(...parts);
  }

  function renderCharts(stats, colors) {
    const now = Math.floor(Date.parse(stats.generated_at) / 1000);
    const series = stats.series.filter((s) => s.points.length);
    drawChart($('chart-success'), series, colors, now, (p) => p.success_rate, 1, (v) => `${Math.round(v * 100)} %`);
    const worst = Math.max(0, ...series.flatMap((s) => s.points.map((p) => p.p95_ms || 0)));
    drawChart($('chart-latency'), series, colors, now, (p) => p.p95_ms, niceMax(worst), ms);
    $('legend').replaceChildren(
      ...series.map((s) => {
        const swatch = svg('svg', { width: 14, height: 14, viewBox: '0 0 14 14', 'aria-hidden': 'true' });
        swatch.append(svg('rect', { width: 14, height: 14, rx: 3, fill: colors.get(s.channel) }));
        return el('li', {}, swatch, s.channel);
      }),
    );
  }

  // ---- backlog and dead letters ----------------------------------------------------------------

  function renderBacklog(b) {
    const pending = b.reconciliation_pending || {};
    $('backlog').replaceChildren(
      ...Object.entries(pending).map(([kind, n]) => figure(`Unsettled ${kind}s`, `pending-${kind}`, count(n))),
      figure('Oldest unsettled', 'oldest-age', age(b.reconciliation_oldest_age_seconds)),
      figure('Webhooks queued', 'webhook-pending', count(b.webhook_pending)),
      figure('Dead letters', 'dead-letters', count(b.webhook_dead_letters)),
    );
  }

  function replayPath(letter) {
    const merchant = encodeURIComponent(letter.merchant_id);
    return `/admin/webhooks/dead-letters/${merchant}/${encodeURIComponent(letter.id)}/replay`;
  }

  async function replay(path, button) {
    button.disabled = true;
    try {
      const answer = await api(path, 'POST');
      banner('');
      $('status').textContent = `Replayed ${answer.replayed} ${answer.replayed === 1 ? 'delivery' : 'deliveries'}`;
    } catch (e) {
      if (e instanceof Unauthorized) return showLogin('The gateway refused the token (401). Log in again.');
      banner(`Replay failed: ${e.message}`);
    }
    generation += 1;
    clearTimeout(timer);
    refresh();
  }

  function renderDeadLetters(letters) {
    $('dead-letters-empty').hidden = letters.length > 0;
    $('replay-all').hidden = letters.length === 0;
    $('dead-letters').replaceChildren(
      ...letters.map((d) => {
        const button = el('button', { type: 'button', class: 'replay' }, 'Replay');
        button.addEventListener('click', () => replay(replayPath(d), button));
        return el(
          'li',
          { 'data-dead-letter': d.id },
          el('div', {}, el('b', {}, d.type), ' → ', el('span', { class: 'url' }, d.endpoint && d.endpoint.url)),
          el('div', { class: 'muted' }, `${d.merchant_id} · ${d.attempts} attempts · ${d.reason || d.last_error || ''}`),
          el('div', { class: 'muted' }, `failed ${timeOf(d.failed_at)}`),
          button,
        );
      }),
    );
  }

  // ---- route test ------------------------------------------------------------------------------

  async function routeTest(event) {
    event.preventDefault();
    const out = $('route-result');
    const query = new URLSearchParams({ phone: $('route-phone').value.trim(), operation: $('route-operation').value });
    out.replaceChildren(el('p', { class: 'muted' }, 'Asking the router…'));
    try {
      const r = await api(`/admin/route?${query}`);
      const how = r.source === 'mnp_override' ? 'an MNP override' : 'the number plan';
      const prefix = r.matched_prefix ? ` (prefix ${r.matched_prefix})` : '';
      out.replaceChildren(
        el('p', { 'data-field': 'route-operator' }, `${r.phone} · ${r.operation}: operator `, el('b', {}, r.operator.name || r.operator.id), ` found by ${how}${prefix}.`),
        el(
          'ol',
          { class: 'ranked', 'data-field': 'route-channels' },
          r.channels.map((c) =>
            el('li', { 'data-channel': c.id }, el('span', { class: 'name' }, c.id), badge(c.circuit), el('span', { class: 'muted reason' }, c.reason)),
          ),
        ),
      );
    } catch (e) {
      if (e instanceof Unauthorized) return showLogin('The gateway refused the token (401). Log in again.');
      out.replaceChildren(el('p', { class: 'error', 'data-field': 'route-error' }, e.message));
    }
  }

  // ---- wiring ----------------------------------------------------------------------------------

  function init() {
    $('login-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const token = $('token').value.trim();
      $('token').value = '';
      if (!token) return;
      sessionStorage.setItem(TOKEN_KEY, token);
      $('login-error').textContent = '';
      start();
    });
    $('logout').addEventListener('click', () => showLogin(''));
    $('route-form').addEventListener('submit', routeTest);
    $('replay-all').addEventListener('click', (e) => replay('/admin/webhooks/dead-letters/replay', e.currentTarget));
    for (const button of document.querySelectorAll('[data-window]')) {
      button.addEventListener('click', () => {
        windowName = button.dataset.window;
        for (const b of document.querySelectorAll('[data-window]')) b.classList.toggle('active', b === button);
        if (last) render();
      });
    }
    document.addEventListener('visibilitychange', () => {
      if (!document.hidden && !$('app').hidden) start();
    });
    if (sessionStorage.getItem(TOKEN_KEY)) start();
    else showLogin('');
  }

  init();
})();
