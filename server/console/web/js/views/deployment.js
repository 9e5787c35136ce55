// One deployment (pipeline): its targets as a graph, the decisions waiting for people, each
// target's progress, analysis results, webhook messages and preview links, the judgments made,
// and the deploy.yml as submitted.
import { h, replace, badge, time, announce, statusInfo, isTerminal, errorBanner } from '../dom.js';
import { enc } from '../api.js';
import { Poller } from '../poll.js';
import { pipelineGraph, targetsOf, progressText, gateOf } from '../graph.js';
import { pageHeader, confirmDialog } from './common.js';
import { objectTable } from './generic.js';

const DEPLOY_SCOPE = 'api:deployment:full';

/** judgePermission says whether the person may decide on a gate that requires roles, and why not. */
export function judgePermission(principal, requiresRoles) {
  const scopes = principal.scopes || [];
  const admin = scopes.includes('api:tenant:full') || scopes.includes('api:organization:full');
  if (!admin && !scopes.includes(DEPLOY_SCOPE)) return { allowed: false, reason: `You need the scope ${DEPLOY_SCOPE} to decide on deployments.` };
  if (admin || !requiresRoles || requiresRoles.length === 0) return { allowed: true };
  if ((principal.roles || []).some((r) => requiresRoles.includes(r))) return { allowed: true };
  return { allowed: false, reason: `Only ${requiresRoles.join(' or ')} may decide here (or a tenant admin); your roles: ${(principal.roles || []).join(', ') || 'none'}.` };
}

/** waitingGates are the gates a person can act on: approvals and running timed pauses. */
export function waitingGates(pipeline) {
  const gates = (pipeline.pendingApprovals || []).map((a) => ({ ...a, kind: 'approval' }));
  for (const t of targetsOf(pipeline)) {
    for (const g of t.gates) {
      const st = (g.status || '').toUpperCase();
      if (g.type === 'pause' && (st === 'RUNNING' || st === 'PAUSED') && !(g.step.pause && g.step.pause.untilApproved)
        && !gates.some((x) => x.target === t.name && x.gate === g.gate)) {
        gates.push({ target: t.name, gate: g.gate, requiresRoles: [], kind: 'timed' });
      }
    }
  }
  return gates;
}

export function renderDeployment(ctx, main, id) {
  const { el: header, report } = pageHeader('Deployment', h('span', { class: 'title-badge' }));
  const meta = h('dl', { class: 'meta' });
  const notice = h('div', { class: 'notice-area', 'aria-live': 'polite' });
  const decisions = h('section', { class: 'panel', 'aria-labelledby': 'decisions-h' });
  const graph = h('section', { class: 'panel', 'aria-labelledby': 'graph-h' });
  const details = h('section', { class: 'panel', 'aria-labelledby': 'targets-h' });
  const history = h('section', { class: 'panel', 'aria-labelledby': 'history-h' });
  const configBox = h('pre', { class: 'code', tabindex: 0, 'aria-label': 'deploy.yml' }, 'Loading…');
  const config = h('section', { class: 'panel', 'aria-labelledby': 'config-h' },
    h('h2', { id: 'config-h' }, 'Configuration'),
    h('details', { class: 'config', id: 'config-details' },
      h('summary', {}, 'deploy.yml and manifests as submitted'), configBox));
  replace(main,
    h('nav', { 'aria-label': 'Breadcrumb', class: 'breadcrumb' }, h('a', { href: '#/deployments' }, 'Deployments'), ' › ', h('span', { 'aria-current': 'page' }, id)),
    header, meta, notice, decisions, graph, details, history, config);
  document.title = `${id} · Aurora`;

  let pipeline = null;
  let last = null;
  let configLoaded = false;
  let poller = null;

  const loadConfig = async () => {
    if (configLoaded) return;
    configLoaded = true;
    try {
      replace(configBox, await ctx.api.text(`/pipelines/${enc(id)}/config`));
    } catch (e) {
      configLoaded = false;
      replace(configBox, errorBanner(e, 'Could not load the deploy.yml: '));
    }
  };
  config.querySelector('details').addEventListener('toggle', (e) => { if (e.target.open) loadConfig(); });

  const act = async (decision, gate, label) => {
    const body = {};
    if (gate.target) body.target = gate.target;
    if (gate.gate) body.gate = gate.gate;
    if (decision !== 'approve' && decision !== 'skip') {
      const answer = await confirmDialog({
        title: `${label}?`,
        body: decision === 'cancel' ? `Cancel deployment ${id}? Targets that have not finished stop.`
          : decision === 'rollback' ? `Roll target ${gate.target} back to its previous version?`
            : `Reject ${gate.target} ${gate.gate}? The target rolls back.`,
        confirmLabel: label, danger: true, askReason: true,
      });
      if (!answer) return;
      if (answer.reason) body.reason = answer.reason;
    }
    try {
      const res = await ctx.api.post(`/pipelines/${enc(id)}/${decision}`, body);
      const where = [res && res.target, res && res.gate].filter(Boolean).join(' ');
      const text = `${label}: done${where ? ` for ${where}` : ''}.`;
      replace(notice, h('p', { class: 'banner ok', role: 'status' }, '✓ ', text));
      announce(text);
    } catch (e) {
      replace(notice, errorBanner(e, `${label} failed: `));
    }
    poller.now();
  };

  // actionGroup renders buttons {label, decision, reason} acting on gate; disabled buttons point
  // (aria-describedby) at their reason, which is shown once below the group.
  const actionGroup = (gate, buttons, cls) => {
    const slug = (x) => x.replace(/[^a-zA-Z0-9]/g, '-');
    const prefix = `why-${slug(cls)}-${slug(gate.target || 'pipeline')}-${slug(gate.gate || 'all')}-`;
    const reasons = [];
    const els = buttons.map(({ label, decision, reason }) => {
      let reasonId;
      if (reason) {
        if (!reasons.includes(reason)) reasons.push(reason);
        reasonId = prefix + reasons.indexOf(reason);
      }
      return h('button', {
        type: 'button', class: `button ${decision === 'approve' ? 'primary' : decision === 'skip' ? 'secondary' : 'danger'}`,
        disabled: Boolean(reason), 'aria-describedby': reasonId,
        dataset: { key: `${decision}:${gate.target || ''}:${gate.gate || ''}`, action: decision },
        onclick: () => act(decision, gate, label),
      }, label);
    });
    return h('div', { class: cls },
      h('div', { class: 'buttons' }, els),
      reasons.map((r, i) => h('p', { class: 'why', id: prefix + i }, r)));
  };

  const renderDecisions = (p) => {
    const principal = ctx.auth.principal;
    const gates = waitingGates(p);
    const finished = isTerminal(p.status);
    const rows = gates.map((g) => {
      const perm = judgePermission(principal, g.requiresRoles);
      const timed = g.kind === 'timed';
      return h('li', { class: 'decision', dataset: { target: g.target, gate: g.gate } },
        h('div', { class: 'decision-what' },
          h('strong', {}, g.target), ' ', h('code', {}, g.gate), ' ',
          timed ? 'is a timed pause' : 'waits for approval',
          g.requiresRoles && g.requiresRoles.length ? h('span', { class: 'roles' }, ` (requires ${g.requiresRoles.join(' or ')})`) : null,
          g.since ? [' since ', time(g.since)] : null),
        actionGroup(g, [
          { label: 'Approve', decision: 'approve', reason: perm.reason || (timed ? 'A timed pause needs no approval: skip it or let it run out; it cannot be rejected.' : '') },
          { label: 'Reject', decision: 'reject', reason: perm.reason || (timed ? 'A timed pause needs no approval: skip it or let it run out; it cannot be rejected.' : '') },
          { label: 'Skip', decision: 'skip', reason: perm.reason },
        ], 'decision-actions'));
    });
    if (rows.length === 0) {
      const none = { allowed: false, reason: finished ? 'The deployment has finished: nothing waits.' : 'Nothing waits for a decision right now.' };
      rows.push(h('li', { class: 'decision none' },
        h('div', { class: 'decision-what' }, finished ? 'Nothing waits: the deployment has finished.' : 'Nothing waits for a decision right now.'),
        actionGroup({}, ['Approve', 'Reject', 'Skip'].map((label) => ({ label, decision: label.toLowerCase(), reason: none.reason })), 'decision-actions')));
    }
    const cancelPerm = judgePermission(principal, []);
    replace(decisions,
      h('h2', { id: 'decisions-h' }, 'Decisions'),
      h('ul', { class: 'decisions' }, rows),
      actionGroup({}, [{ label: 'Cancel deployment', decision: 'cancel', reason: cancelPerm.reason || (finished ? 'The deployment has finished.' : '') }], 'pipeline-actions'));
  };

  const focusTarget = (name) => {
    const el = document.getElementById(`target-${name}`);
    if (el) { el.setAttribute('tabindex', '-1'); el.focus(); }
  };

  const renderTargets = (p, detailsById) => {
    const principal = ctx.auth.principal;
    const perm = judgePermission(principal, []);
    replace(details, h('h2', { id: 'targets-h' }, 'Targets'),
      targetsOf(p).map((t) => {
        const d = t.deployment;
        const detail = d && d.id ? detailsById.get(d.id) : null;
        const running = !isTerminal(t.status) && !['QUEUED', 'NOT_STARTED', 'PENDING', ''].includes((t.status || '').toUpperCase());
        return h('article', { class: 'target', id: `target-${t.name}`, 'aria-labelledby': `target-h-${t.name}` },
          h('header', { class: 'target-head' },
            h('h3', { id: `target-h-${t.name}` }, t.name), badge(t.status),
            h('span', { class: 'progress-text' }, progressText(d))),
          d ? h('dl', { class: 'meta small' },
            h('dt', {}, 'Deployment'), h('dd', {}, h('code', {}, d.id || '—')),
            h('dt', {}, 'Account'), h('dd', {}, d.account || t.account || '—'),
            t.dependsOn.length ? [h('dt', {}, 'Depends on'), h('dd', {}, t.dependsOn.join(', '))] : null,
            d.message ? [h('dt', {}, 'Message'), h('dd', {}, d.message)] : null) : h('p', { class: 'muted' }, `Account ${t.account || '—'}. Waits for ${t.dependsOn.join(', ') || 'its gates'}.`),
          d && typeof d.weight === 'number' ? h('div', { class: 'weight' },
            h('label', { for: `weight-${t.name}` }, 'Weight'),
            h('progress', { id: `weight-${t.name}`, max: 100, value: d.weight }, `${d.weight}%`),
            h('span', {}, `${d.weight}%`)) : null,
          t.gates.length ? h('ul', { class: 'gates', 'aria-label': `Gates of ${t.name}` }, t.gates.map((g) => h('li', {}, badge(g.status), ' ', g.type, ' ', h('code', {}, g.gate)))) : null,
          detail instanceof Error ? errorBanner(detail, 'Could not load this target: ') : null,
          detail && !(detail instanceof Error) ? targetDetail(detail) : null,
          actionGroup({ target: t.name }, [{
            label: `Roll back ${t.name}`, decision: 'rollback',
            reason: perm.reason || (running ? '' : (isTerminal(t.status) ? `${t.name} has finished: a finished deployment cannot be rolled back, redeploy instead.` : `${t.name} has not started.`)),
          }], 'target-actions'));
      }));
  };

  const renderHistory = (p) => {
    const js = p.judgments || [];
    replace(history, h('h2', { id: 'history-h' }, 'Judgments'),
      js.length ? objectTable('Decisions made on this deployment, oldest first', js) : h('p', { class: 'muted' }, 'No decisions yet.'));
  };

  const renderMeta = (p) => {
    replace(header.querySelector('h1'), p.application || id);
    replace(header.querySelector('.title-badge'), badge(p.status));
    replace(meta,
      h('dt', {}, 'Pipeline'), h('dd', {}, h('code', {}, p.id)),
      h('dt', {}, 'Started'), h('dd', {}, time(p.startedAtIso8601)),
      h('dt', {}, 'Completed'), h('dd', {}, time(p.completedAtIso8601)),
      h('dt', {}, 'Initiated by'), h('dd', {}, p.initiatedBy || '—'),
      p.description ? [h('dt', {}, 'Description'), h('dd', {}, p.description)] : null,
      p.environments && p.environments.length ? [h('dt', {}, 'Environments'), h('dd', {}, p.environments.join(', '))] : null);
    document.title = `${p.application || id} ${statusInfo(p.status)[2]} · Aurora`;
  };

  const load = async () => {
    const p = await ctx.api.get(`/pipelines/${enc(id)}`);
    const ids = targetsOf(p).map((t) => t.deployment && t.deployment.id).filter(Boolean);
    const detailsById = new Map(await Promise.all(ids.map(async (did) => {
      try { return [did, await ctx.api.get(`/deployments/${enc(did)}`)]; } catch (e) { return [did, e]; }
    })));
    const focusedKey = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.key : '';
    const focusedTarget = document.activeElement && document.activeElement.dataset ? document.activeElement.dataset.target : '';
    const focusedInGraph = graph.contains(document.activeElement);
    if (pipeline && pipeline.status !== p.status) announce(`Deployment ${p.application}: ${statusInfo(p.status)[2]}`);
    if (pipeline) {
      const before = new Map(targetsOf(pipeline).map((t) => [t.name, t.status]));
      for (const t of targetsOf(p)) {
        if (before.get(t.name) && before.get(t.name) !== t.status) announce(`Target ${t.name}: ${statusInfo(t.status)[2]}`);
      }
    }
    pipeline = p;
    renderMeta(p);
    renderDecisions(p);
    const snapshot = JSON.stringify(p.steps);
    if (snapshot !== last) {
      last = snapshot;
      replace(graph, h('h2', { id: 'graph-h' }, 'Targets graph'),
        h('p', { class: 'legend' }, 'Arrows point from a target to the targets that wait for it. Grey nodes with dotted arrows have not started. Select a node for its details.'),
        h('div', { class: 'graph-scroll' }, pipelineGraph(p, focusTarget)));
    }
    renderTargets(p, detailsById);
    renderHistory(p);
    // Keep the keyboard where it was.
    if (focusedKey) {
      const again = main.querySelector(`[data-key="${CSS.escape(focusedKey)}"]`);
      if (again && !again.disabled) again.focus();
    } else if (focusedInGraph && focusedTarget) {
      const again = graph.querySelector(`[data-target="${CSS.escape(focusedTarget)}"]`);
      if (again) again.focus();
    }
  };
  poller = new Poller(load, ctx.config.pollIntervalMs, report);
  poller.now();
  return poller;
}

/** targetDetail renders what GET /deployments/{id} adds: steps, analysis, webhooks, previews. */
function targetDetail(d) {
  const out = [];
  if (Array.isArray(d.steps) && d.steps.length) out.push(objectTable('Strategy steps', d.steps));
  if (Array.isArray(d.analysis) && d.analysis.length) out.push(objectTable('Analysis results', d.analysis));
  if (Array.isArray(d.webhooks) && d.webhooks.length) out.push(objectTable('Webhook messages', d.webhooks));
  const previews = d.previews && typeof d.previews === 'object' ? Object.entries(d.previews) : [];
  if (previews.length) {
    out.push(h('div', { class: 'previews' }, h('h4', {}, 'Preview links'),
      h('ul', {}, previews.map(([svc, url]) => h('li', {}, safeURL(url)
        ? h('a', { href: url, target: '_blank', rel: 'noopener noreferrer' }, `${svc}: ${url}`, h('span', { class: 'visually-hidden' }, ' (opens in a new tab)'))
        : `${svc}: ${url}`)))));
  }
  return out;
}

function safeURL(u) {
  try { return ['https:', 'http:'].includes(new URL(String(u)).protocol); } catch { return false; }
}

export { gateOf };
