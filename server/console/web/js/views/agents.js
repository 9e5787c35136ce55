// The tenant's agents (Remote Network Agents): connected or not, since when, last heartbeat, version.
import { h, replace, time, announce } from '../dom.js';
import { items } from '../api.js';
import { Poller } from '../poll.js';
import { pageHeader, emptyState } from './common.js';

export function renderAgents(ctx, main) {
  const { el: header, report } = pageHeader('Agents');
  const body = h('div', { class: 'table-wrap' });
  replace(main, header, h('p', { class: 'lead' }, 'Remote Network Agents dial out from target clusters to the Hub; a target\'s account is its agent identifier.'), body);
  document.title = 'Agents · Aurora';
  let previous = null;

  const load = async () => {
    const list = items(await ctx.api.get('/identity/connected-agents'));
    list.sort((a, b) => String(a.agentIdentifier).localeCompare(String(b.agentIdentifier)));
    if (previous) {
      for (const a of list) {
        const before = previous.get(a.agentIdentifier);
        if (before !== undefined && before !== Boolean(a.connected)) announce(`Agent ${a.agentIdentifier} ${a.connected ? 'connected' : 'disconnected'}`);
      }
    }
    previous = new Map(list.map((a) => [a.agentIdentifier, Boolean(a.connected)]));
    if (list.length === 0) {
      replace(body, emptyState('No agent has registered in this tenant yet. Install the RNA in a target cluster with a credential that has api:agentHub:full.'));
      return;
    }
    replace(body, h('table', { class: 'table', id: 'agents-table' },
      h('caption', { class: 'visually-hidden' }, 'Agents of the tenant'),
      h('thead', {}, h('tr', {}, ['Agent', 'Connection', 'Connected at', 'Last heartbeat', 'Version', 'Hub replica'].map((c) => h('th', { scope: 'col' }, c)))),
      h('tbody', {}, list.map((a) => h('tr', { dataset: { agent: a.agentIdentifier } },
        h('th', { scope: 'row' }, a.agentIdentifier, h('div', { class: 'sub' }, a.clientId ? `client ${a.clientId}` : '')),
        h('td', {}, a.connected
          ? h('span', { class: 'badge tone-ok', dataset: { status: 'CONNECTED' } }, h('span', { class: 'badge-icon', 'aria-hidden': 'true' }, '●'), 'Connected')
          : h('span', { class: 'badge tone-bad', dataset: { status: 'DISCONNECTED' } }, h('span', { class: 'badge-icon', 'aria-hidden': 'true' }, '○'), 'Disconnected')),
        h('td', {}, time(a.connectedAtIso8601)),
        h('td', {}, time(a.lastHeartbeatAtIso8601)),
        h('td', {}, a.agentVersion || '—'),
        h('td', {}, a.hubInstanceUuid || '—'))))));
  };
  const poller = new Poller(load, ctx.config.pollIntervalMs, report);
  poller.now();
  return poller;
}
