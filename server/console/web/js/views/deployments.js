// The deployments (pipelines) of the tenant, newest first, with live status.
import { h, replace, badge, time, announce, statusInfo } from '../dom.js';
import { items } from '../api.js';
import { Poller } from '../poll.js';
import { pageHeader, emptyState } from './common.js';

// LIMIT is how many deployments the list shows, newest first.
const LIMIT = 100;

export function renderDeployments(ctx, main) {
  const { el: header, report } = pageHeader('Deployments');
  const body = h('div', { class: 'table-wrap' });
  replace(main, header, h('section', { 'aria-labelledby': 'deployments-caption' }, body));
  document.title = 'Deployments · Aurora';
  let previous = null;

  const load = async () => {
    const answer = await ctx.api.get(`/pipelines?limit=${LIMIT}`);
    const list = items(answer);
    const more = Boolean(answer && answer.continue);
    if (previous) {
      for (const p of list) {
        const before = previous.get(p.id);
        if (before && before !== p.status) announce(`${p.application} ${p.id}: ${statusInfo(p.status)[2]}`);
      }
    }
    previous = new Map(list.map((p) => [p.id, p.status]));
    if (list.length === 0) {
      replace(body, h('span', { id: 'deployments-caption', class: 'visually-hidden' }, 'Deployments'),
        emptyState('No deployments yet in this tenant. Start one with `aurora deploy start -f deploy.yml`.'));
      return;
    }
    replace(body, h('table', { class: 'table', id: 'deployments-table' },
      h('caption', { id: 'deployments-caption', class: 'visually-hidden' }, 'Deployments of the tenant, newest first'),
      h('thead', {}, h('tr', {},
        ['Application', 'Status', 'Started', 'Completed', 'Initiated by'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, list.map((p) => h('tr', { dataset: { pipeline: p.id } },
        h('th', { scope: 'row' }, h('a', { href: `#/deployments/${encodeURIComponent(p.id)}` }, p.application || p.id),
          h('div', { class: 'sub' }, p.id)),
        h('td', {}, badge(p.status)),
        h('td', {}, time(p.startedAtIso8601)),
        h('td', {}, time(p.completedAtIso8601)),
        h('td', {}, p.initiatedBy || h('span', { class: 'muted' }, '—')))))),
      more ? h('p', { class: 'muted' }, `The newest ${LIMIT} deployments are shown.`) : null);
  };
  const poller = new Poller(load, ctx.config.pollIntervalMs, report);
  poller.now();
  return poller;
}
