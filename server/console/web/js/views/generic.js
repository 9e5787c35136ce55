// Renders API objects whose exact shape may grow (analysis results, webhook messages, steps) as
// readable tables, without knowing every field in advance.
import { h, badge, time } from '../dom.js';

const PREFERRED = ['name', 'query', 'type', 'status', 'result', 'value', 'lowerLimit', 'upperLimit', 'weight', 'message', 'mdMessage', 'at', 'startedAtIso8601', 'completedAtIso8601'];

function label(key) {
  return key.replace(/Iso8601$/, '').replace(/([a-z])([A-Z])/g, '$1 $2').replace(/^./, (c) => c.toUpperCase());
}

/** cell renders one value: status words as badges, times as <time>, objects as compact JSON. */
export function cell(key, v) {
  if (v === undefined || v === null || v === '') return h('span', { class: 'muted' }, '—');
  if ((key === 'status' || key === 'result') && typeof v === 'string' && /^[A-Z_]+$/.test(v)) return badge(v);
  if (/(^at$|Iso8601$|At$)/.test(key) && typeof v === 'string') return time(v);
  if (typeof v === 'boolean') return v ? '✓ yes' : '✗ no';
  if (typeof v === 'object') return h('code', {}, JSON.stringify(v));
  return String(v);
}

/** objectTable renders a list of flat objects as a table with a caption. */
export function objectTable(caption, list) {
  const keys = [];
  for (const o of list) for (const k of Object.keys(o || {})) if (!keys.includes(k)) keys.push(k);
  keys.sort((a, b) => rank(a) - rank(b));
  return h('table', { class: 'table compact' },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, keys.map((k) => h('th', { scope: 'col' }, label(k))))),
    h('tbody', {}, list.map((o) => h('tr', {}, keys.map((k) => h('td', {}, cell(k, o ? o[k] : undefined)))))));
}

function rank(k) {
  const i = PREFERRED.indexOf(k);
  return i < 0 ? PREFERRED.length : i;
}
