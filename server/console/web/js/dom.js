// Small DOM helpers: build elements without innerHTML, format times and status words.

/** h builds an element: h('a', {href: '#/x', class: 'y', onclick: f}, 'text', child). */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** s builds an SVG element, as h does. */
export function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  setAttrs(el, attrs);
  append(el, children);
  return el;
}

function setAttrs(el, attrs) {
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
}

function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

/** replace empties el and appends children. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

const timeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
const clockFormat = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });

/** time renders an ISO 8601 instant as a <time> element, relative with the absolute as title. */
export function time(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return h('span', {}, iso);
  return h('time', { datetime: d.toISOString(), title: timeFormat.format(d) }, `${timeFormat.format(d)} (${ago(d)})`);
}

/** clock is the time of day of d. */
export function clock(d) {
  return clockFormat.format(d);
}

/** ago says how long ago d was, in words. */
export function ago(d, now = new Date()) {
  const secs = Math.round((now - d) / 1000);
  if (secs < 0) return 'in the future';
  if (secs < 5) return 'just now';
  if (secs < 60) return `${secs} s ago`;
  const mins = Math.floor(secs / 60);
  if (mins < 60) return `${mins} min ago`;
  const hours = Math.floor(mins / 60);
  if (hours < 48) return `${hours} h ago`;
  return `${Math.floor(hours / 24)} days ago`;
}

// STATUS gives every status word an icon and a tone, so colour is never the only signal.
const STATUS = {
  QUEUED: ['○', 'waiting', 'Queued'],
  NOT_STARTED: ['○', 'waiting', 'Not started'],
  PENDING: ['○', 'waiting', 'Pending'],
  RUNNING: ['▶', 'running', 'Running'],
  PAUSED: ['Ⅱ', 'paused', 'Paused'],
  AWAITING_APPROVAL: ['◆', 'paused', 'Awaiting approval'],
  SUCCEEDED: ['✓', 'ok', 'Succeeded'],
  FAILED: ['✗', 'bad', 'Failed'],
  CANCELLED: ['⊘', 'neutral', 'Cancelled'],
  ROLLED_BACK: ['↺', 'bad', 'Rolled back'],
  REJECTED: ['✗', 'bad', 'Rejected'],
  SKIPPED: ['»', 'neutral', 'Skipped'],
  UNKNOWN: ['?', 'neutral', 'Unknown'],
  PASSED: ['✓', 'ok', 'Passed'],
  PASS: ['✓', 'ok', 'Passed'],
  SUCCESS: ['✓', 'ok', 'Success'],
  FAIL: ['✗', 'bad', 'Failed'],
  ERROR: ['✗', 'bad', 'Error'],
  INCONCLUSIVE: ['?', 'paused', 'Inconclusive'],
};

/** statusInfo is [icon, tone, label] of a status word. */
export function statusInfo(word) {
  const w = (word || 'UNKNOWN').toUpperCase();
  return STATUS[w] || ['?', 'neutral', w];
}

/** badge renders a status word with its icon and label. */
export function badge(word) {
  const [icon, tone, label] = statusInfo(word);
  return h('span', { class: `badge tone-${tone}`, dataset: { status: (word || 'UNKNOWN').toUpperCase() } },
    h('span', { class: 'badge-icon', 'aria-hidden': 'true' }, icon), label);
}

/** isTerminal reports whether a status word is final. */
export function isTerminal(word) {
  return ['SUCCEEDED', 'FAILED', 'CANCELLED', 'ROLLED_BACK', 'REJECTED'].includes((word || '').toUpperCase());
}

/** isWaiting reports whether a target has not started yet. */
export function isWaiting(word) {
  return ['', 'QUEUED', 'NOT_STARTED', 'PENDING'].includes((word || '').toUpperCase());
}

/** announce tells screen-reader users about a change, through the page's live region. */
export function announce(message) {
  const el = document.getElementById('announcer');
  if (!el) return;
  el.textContent = '';
  // A separate task, so the same message twice is announced twice.
  setTimeout(() => { el.textContent = message; }, 50);
}

/** errorBanner renders an error with its details (field and message), as an alert. */
export function errorBanner(err, prefix = '') {
  const details = (err && err.details) || [];
  return h('div', { class: 'banner error', role: 'alert' },
    h('p', {}, h('strong', {}, prefix || 'Error: '), err && err.message ? err.message : String(err)),
    details.length ? h('ul', {}, details.map((d) => h('li', {}, d.field ? h('code', {}, d.field) : null, d.field ? ': ' : '', d.message))) : null);
}

/** focusHeading moves the keyboard focus to the first heading of el (after a page change). */
export function focusHeading(el) {
  const heading = el.querySelector('h1');
  if (heading) {
    heading.setAttribute('tabindex', '-1');
    heading.focus({ preventScroll: false });
  }
}
