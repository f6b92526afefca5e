// The Coalesce dashboard: reads the stats document every few seconds and draws it. No framework, nothing from
// elsewhere; every value is written as text (never as markup). Fields the page does not know (added to the document
// later) are listed generically, and fields it knows may be absent.
(() => {
  'use strict';
  const body = document.body;
  const base = body.dataset.base || '';
  const refreshMs = Math.max(250, Number(body.dataset.refreshMs) || 2000);
  const historyMs = Math.max(refreshMs * 10, Number(body.dataset.historyMs) || 300000);
  const SVG = 'http://www.w3.org/2000/svg';
  const history = new Map(); // endpoint name -> [{ t, saved, misses, stale, refusals }]
  const known = new Set(['name', 'hits', 'misses', 'errors', 'active', 'hitRate', 'staleHits', 'staleOnError',
    'inputRefusals', 'unkeyedInputs', 'routePattern']);
  let polls = 0;

  const $ = id => document.getElementById(id);
  const num = v => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  const words = k => k.replace(/([a-z0-9])([A-Z])/g, '$1 $2').toLowerCase();
  const fmt = v => {
    if (typeof v === 'boolean') { return v ? 'yes' : 'no'; }
    if (typeof v !== 'number') { return String(v); }
    if (Number.isInteger(v)) { return v.toLocaleString('en-US'); }
    return Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : String(Math.round(v * 100) / 100);
  };
  const pct = v => (Math.round(num(v) * 1000) / 10) + '%';

  function el(tag, className, text) {
    const e = document.createElement(tag);
    if (className) { e.className = className; }
    if (text !== undefined) { e.textContent = text; }
    return e;
  }

  // Scalars of an object, one level of nested objects flattened as "outer inner".
  function scalars(obj, prefix) {
    const out = [];
    for (const [k, v] of Object.entries(obj || {})) {
      const label = prefix ? prefix + ' ' + words(k) : words(k);
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        if (!prefix) { out.push(...scalars(v, label)); }
      } else if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'string') {
        out.push([label, v]);
      }
    }
    return out;
  }

  function card(title, big, rows) {
    const c = el('div', 'card');
    c.append(el('h3', '', title), el('div', 'big', big));
    const dl = el('dl', 'grid');
    for (const [k, v] of rows) { dl.append(el('dt', '', k), el('dd', '', k.endsWith('hit rate') ? pct(v) : fmt(v))); }
    c.append(dl);
    return c;
  }

  function drawTotals(doc) {
    const cards = [];
    const r = doc.requests || {};
    cards.push(card('Requests', pct(r.hitRate) + ' saved', scalars(r).filter(([k]) => k !== 'hit rate')));
    const c = doc.cache || {};
    cards.push(card('Memo cache', fmt(num(c.size)) + ' entries', scalars(c).filter(([k]) => k !== 'size')));
    const top = Object.entries(doc).filter(([, v]) => v === null || typeof v !== 'object');
    if (top.length) { cards.push(card('App', '', top.map(([k, v]) => [words(k), v ?? '–']))); }
    $('totals').replaceChildren(...cards);
  }

  // A small line chart over the history window: x is time (now at the right), y from 0 to the series' maximum.
  function spark(points, kind, now, max) {
    const w = 120, h = 26;
    const svg = document.createElementNS(SVG, 'svg');
    svg.setAttribute('class', 'spark rate-' + kind);
    svg.setAttribute('width', w);
    svg.setAttribute('height', h);
    svg.setAttribute('viewBox', `0 0 ${w} ${h}`);
    svg.dataset.points = String(points.length);
    const top = max ?? Math.max(0, ...points.map(p => p.v));
    svg.dataset.max = String(top);
    const baseLine = document.createElementNS(SVG, 'line');
    baseLine.setAttribute('class', 'base');
    baseLine.setAttribute('x1', 0); baseLine.setAttribute('x2', w);
    baseLine.setAttribute('y1', h - 1); baseLine.setAttribute('y2', h - 1);
    svg.append(baseLine);
    if (points.length > 0) {
      const line = document.createElementNS(SVG, 'polyline');
      const xy = points.map(p => {
        const x = w - ((now - p.t) / historyMs) * w;
        const y = h - 1 - (top > 0 ? (p.v / top) * (h - 3) : 0);
        return x.toFixed(1) + ',' + y.toFixed(1);
      });
      if (xy.length === 1) { xy.unshift((w - (refreshMs / historyMs) * w).toFixed(1) + ',' + xy[0].split(',')[1]); }
      line.setAttribute('points', xy.join(' '));
      svg.append(line);
    }
    const title = document.createElementNS(SVG, 'title');
    const last = points.length ? points[points.length - 1].v : 0;
    title.textContent = kind === 'hit' ? `hit rate now ${pct(last)}` : `${fmt(last)} per second now, at most ${fmt(top)}`;
    svg.append(title);
    return svg;
  }

  // Rates between consecutive readings; a figure that went down (a reset) counts from zero.
  function rates(points, field) {
    const out = [];
    for (let i = 1; i < points.length; i++) {
      const a = points[i - 1], b = points[i];
      const dt = (b.t - a.t) / 1000;
      if (dt <= 0) { continue; }
      const d = b[field] >= a[field] ? b[field] - a[field] : b[field];
      out.push({ t: b.t, v: d / dt });
    }
    return out;
  }

  function hitRates(points) {
    const out = [];
    for (let i = 1; i < points.length; i++) {
      const a = points[i - 1], b = points[i];
      const saved = b.saved >= a.saved ? b.saved - a.saved : b.saved;
      const runs = b.misses >= a.misses ? b.misses - a.misses : b.misses;
      if (saved + runs > 0) { out.push({ t: b.t, v: saved / (saved + runs) }); }
    }
    return out;
  }

  function figure(value, chart, className) {
    const td = el('td', 'n ' + (className || ''));
    td.append(el('span', 'v', value));
    if (chart) { td.append(chart); }
    return td;
  }

  function drawEndpoints(doc, now) {
    const endpoints = Array.isArray(doc.endpoints) ? doc.endpoints : [];
    const rows = [];
    for (const e of endpoints) {
      const name = String(e.name ?? '');
      const points = history.get(name) || [];
      points.push({ t: now, saved: num(e.hits), misses: num(e.misses), stale: num(e.staleHits) + num(e.staleOnError), refusals: num(e.inputRefusals) });
      while (points.length && now - points[0].t > historyMs) { points.shift(); }
      history.set(name, points);

      const tr = el('tr');
      tr.dataset.endpoint = name;
      tr.dataset.saved = String(num(e.hits));
      const nameCell = el('td');
      nameCell.append(el('span', 'name', name));
      if (typeof e.routePattern === 'string' && !name.endsWith(e.routePattern)) { nameCell.append(el('span', 'more', e.routePattern)); }
      const extra = Object.entries(e).filter(([k, v]) => !known.has(k) && typeof v === 'number' && v !== 0);
      if (extra.length) { nameCell.append(el('span', 'more', extra.map(([k, v]) => words(k) + ' ' + fmt(v)).join(' · '))); }
      const inputs = el('td');
      for (const input of Array.isArray(e.unkeyedInputs) ? e.unkeyedInputs : []) { inputs.append(el('span', 'chip', String(input))); }
      tr.append(
        nameCell,
        figure(fmt(num(e.hits)), spark(rates(points, 'saved'), 'saved', now), 'saved'),
        figure(pct(e.hitRate), spark(hitRates(points), 'hit', now, 1), 'hit-rate'),
        figure(fmt(num(e.staleHits) + num(e.staleOnError)), spark(rates(points, 'stale'), 'stale', now), 'stale'),
        figure(fmt(num(e.inputRefusals)), spark(rates(points, 'refusals'), 'refusal', now), 'refusals'),
        figure(fmt(num(e.misses)) + (num(e.errors) ? ` (${fmt(num(e.errors))} failed)` : ''), null, 'executions'),
        figure(fmt(num(e.active)), null, 'active'),
        inputs);
      rows.push(tr);
    }
    for (const name of [...history.keys()]) {
      if (!endpoints.some(e => e.name === name)) { history.delete(name); }
    }
    $('endpoints').tBodies[0].replaceChildren(...rows);
    $('endpoints-empty').hidden = rows.length > 0;
  }

  function drawInFlight(doc) {
    const items = [];
    for (const e of Array.isArray(doc.endpoints) ? doc.endpoints : []) {
      if (num(e.active) > 0) { items.push(el('li', '', `${e.name}: ${fmt(num(e.active))} executing`)); }
    }
    for (const c of Array.isArray(doc.httpClients) ? doc.httpClients : []) {
      if (num(c.active) > 0) { items.push(el('li', '', `HttpClient ${c.name}: ${fmt(num(c.active))} calls`)); }
    }
    if (!items.length) { items.push(el('li', 'empty', 'Nothing is executing now.')); }
    $('inflight').replaceChildren(...items);
  }

  function drawClients(doc) {
    const clients = Array.isArray(doc.httpClients) ? doc.httpClients : [];
    $('clients-section').hidden = clients.length === 0;
    $('clients').tBodies[0].replaceChildren(...clients.map(c => {
      const tr = el('tr');
      tr.dataset.client = String(c.name ?? '');
      tr.append(el('td', 'name', String(c.name ?? '')),
        ...[fmt(num(c.hits)), fmt(num(c.misses)), pct(c.hitRate), fmt(num(c.errors)), fmt(num(c.active)), fmt(num(c.retries)), fmt(num(c.fallbacks))]
          .map(v => el('td', 'n', v)));
      return tr;
    }));
  }

  function drawRedis(doc) {
    const redis = doc.redis;
    $('redis-section').hidden = !redis || typeof redis !== 'object';
    if (!redis || typeof redis !== 'object') { return; }
    const items = [];
    for (const [k, v] of scalars(redis)) {
      const dd = el('dd');
      if (typeof v === 'boolean') {
        const good = k === 'breaker open' ? !v : v;
        dd.append(el('span', 'badge ' + (good ? 'ok' : 'bad'), fmt(v)));
      } else {
        dd.textContent = fmt(v);
      }
      items.push(el('dt', '', k), dd);
    }
    $('redis').replaceChildren(...items);
  }

  function setStatus(text, error) {
    const s = $('status');
    s.textContent = text;
    s.classList.toggle('error', !!error);
  }

  async function poll() {
    try {
      const response = await fetch(base + '/dashboard/stats', { cache: 'no-store', credentials: 'same-origin', headers: { Accept: 'application/json' } });
      if (!response.ok) { throw new Error('HTTP ' + response.status); }
      const doc = await response.json();
      const now = Date.now();
      drawTotals(doc);
      drawEndpoints(doc, now);
      drawInFlight(doc);
      drawClients(doc);
      drawRedis(doc);
      polls++;
      body.dataset.polls = String(polls);
      setStatus(`updated ${new Date(now).toLocaleTimeString('en-GB')} · every ${fmt(refreshMs / 1000)} s`);
    } catch (error) {
      // Shown on the page, not thrown: the page keeps trying.
      setStatus('cannot read the figures (' + (error && error.message ? error.message : error) + '); retrying', true);
    } finally {
      setTimeout(poll, refreshMs);
    }
  }

  function setUpInvalidation() {
    if (body.dataset.invalidation !== 'on') { return; }
    $('invalidate-section').hidden = false;
    const kind = $('invalidate-kind'), value = $('invalidate-value'), result = $('invalidate-result');
    kind.addEventListener('change', () => { value.disabled = kind.value === 'all'; });
    $('invalidate').addEventListener('submit', async event => {
      event.preventDefault();
      if (kind.value === 'all' && !window.confirm('Remove every memoized entry?')) { return; }
      const form = new URLSearchParams({ kind: kind.value, value: kind.value === 'all' ? '' : value.value });
      try {
        const response = await fetch(base + '/dashboard/invalidate', {
          method: 'POST', credentials: 'same-origin', body: form,
          headers: { RequestVerificationToken: body.dataset.token || '' },
        });
        const text = await response.text();
        if (!response.ok) { result.textContent = text || 'HTTP ' + response.status; return; }
        const done = JSON.parse(text);
        result.textContent = `${done.kind === 'all' ? 'everything' : done.kind + ' ' + done.value}: ${fmt(done.removed)} ${done.removed === 1 ? 'entry' : 'entries'} removed`;
      } catch (error) {
        result.textContent = 'the invalidation did not reach the app (' + error + ')';
      }
    });
  }

  setUpInvalidation();
  poll();
})();
