// The targets of a pipeline drawn as a graph (SVG): the trigger, then one node per target, with
// constraints.dependsOn as edges. Each node shows its status, current step and weight and its
// gates; targets that have not started are greyed, their incoming edges dotted.
import { s, statusInfo, isWaiting } from './dom.js';

const NODE_W = 250;
const GAP_X = 70;
const GAP_Y = 28;
const TRIGGER_W = 120;
const LINE = 18;

/** targetsOf lists the pipeline's targets: {name, status, dependsOn, deployment, gates}. */
export function targetsOf(pipeline) {
  const steps = pipeline.steps || [];
  const targets = steps.filter((st) => st.type === 'deployment').map((st) => ({
    name: st.ref || (st.deployment && st.deployment.environment) || '?',
    status: st.status,
    dependsOn: st.dependsOn || [],
    // A target's deployment exists once its Rollout has a name; until then it waits.
    deployment: st.deployment && st.deployment.id ? st.deployment : null,
    account: st.deployment ? st.deployment.account : '',
    gates: [],
  }));
  const byName = new Map(targets.map((t) => [t.name, t]));
  for (const st of steps) {
    if (st.type === 'deployment') continue;
    const t = byName.get(st.constraintFor || (st.ref || '').split('/')[0]);
    if (t) t.gates.push({ type: st.type, status: st.status, ref: st.ref, gate: gateOf(st.ref), step: st });
  }
  return targets;
}

/** gateOf is the gate part of a step ref "target/gate". */
export function gateOf(ref) {
  const i = (ref || '').indexOf('/');
  return i < 0 ? ref || '' : ref.slice(i + 1);
}

/** layout places targets in columns by their depth in the dependency graph. */
export function layout(targets) {
  const byName = new Map(targets.map((t) => [t.name, t]));
  const depth = new Map();
  const visiting = new Set();
  const depthOf = (t) => {
    if (depth.has(t.name)) return depth.get(t.name);
    if (visiting.has(t.name)) return 0; // a cycle: the controller reports it; draw what we can
    visiting.add(t.name);
    let d = 0;
    for (const dep of t.dependsOn) {
      const parent = byName.get(dep);
      if (parent) d = Math.max(d, depthOf(parent) + 1);
    }
    visiting.delete(t.name);
    depth.set(t.name, d);
    return d;
  };
  const columns = [];
  for (const t of targets) {
    const d = depthOf(t);
    (columns[d] = columns[d] || []).push(t);
  }
  const maxGates = Math.max(0, ...targets.map((t) => t.gates.length));
  const nodeH = 92 + maxGates * LINE;
  const pos = new Map();
  columns.forEach((col, c) => col.forEach((t, r) => {
    pos.set(t.name, { x: 20 + TRIGGER_W + GAP_X + c * (NODE_W + GAP_X), y: 20 + r * (nodeH + GAP_Y) });
  }));
  const rows = Math.max(1, ...columns.map((c) => (c ? c.length : 0)));
  const height = 40 + rows * nodeH + (rows - 1) * GAP_Y;
  const width = 40 + TRIGGER_W + GAP_X + columns.length * (NODE_W + GAP_X) - GAP_X;
  return { pos, nodeH, width, height, trigger: { x: 20, y: height / 2 - 30 } };
}

function clip(text, n) {
  text = String(text || '');
  return text.length > n ? `${text.slice(0, n - 1)}…` : text;
}

function gateLabel(g) {
  const [icon, , label] = statusInfo(g.status);
  return `${icon} ${g.type} ${g.gate} — ${label}`;
}

/** progressText is "Step 2 of 4 · weight 50%" for a target's deployment. */
export function progressText(d) {
  if (!d) return 'Not started';
  const parts = [];
  if (d.totalSteps) parts.push(`Step ${d.step || 0} of ${d.totalSteps}`);
  if (d.weight !== undefined && d.weight !== null) parts.push(`weight ${d.weight}%`);
  return parts.join(' · ') || 'Starting';
}

/**
 * pipelineGraph draws the graph. onSelect(name) is called when a target's node is clicked or
 * activated with Enter or Space.
 */
export function pipelineGraph(pipeline, onSelect) {
  const targets = targetsOf(pipeline);
  const { pos, nodeH, width, height, trigger } = layout(targets);
  const edges = s('g', { class: 'edges' });
  const nodes = s('g', { class: 'nodes' });
  const svg = s('svg', {
    class: 'pipeline-graph', viewBox: `0 0 ${width} ${height}`, width, height,
    role: 'group', 'aria-label': `Targets of ${pipeline.application || pipeline.id} and their dependencies`,
  },
  s('defs', {},
    s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' },
      s('path', { d: 'M 0 0 L 10 5 L 0 10 z', class: 'arrowhead' }))),
  edges, nodes);

  const mid = (p) => p.y + nodeH / 2;
  const edge = (x1, y1, x2, y2, waiting) => edges.append(s('path', {
    d: `M ${x1} ${y1} C ${x1 + GAP_X / 2} ${y1}, ${x2 - GAP_X / 2} ${y2}, ${x2} ${y2}`,
    class: waiting ? 'edge waiting' : 'edge', 'marker-end': 'url(#arrow)',
  }));

  // The trigger: who started the deployment.
  nodes.append(s('g', { class: 'trigger', transform: `translate(${trigger.x} ${trigger.y})` },
    s('rect', { width: TRIGGER_W, height: 60, rx: 30 }),
    s('text', { x: TRIGGER_W / 2, y: 26, 'text-anchor': 'middle', class: 'title' }, 'Start'),
    s('text', { x: TRIGGER_W / 2, y: 44, 'text-anchor': 'middle', class: 'sub' }, clip(pipeline.initiatedBy || 'deploy.yml', 16))));

  for (const t of targets) {
    const p = pos.get(t.name);
    const waiting = isWaiting(t.status) && !t.deployment;
    const parents = t.dependsOn.filter((d) => pos.has(d));
    if (parents.length === 0) edge(trigger.x + TRIGGER_W, trigger.y + 30, p.x, mid(p), waiting);
    for (const d of parents) {
      const q = pos.get(d);
      edge(q.x + NODE_W, mid(q), p.x, mid(p), waiting || isWaiting(t.status));
    }
    const [icon, tone, label] = statusInfo(t.status);
    const d = t.deployment;
    const weight = d && typeof d.weight === 'number' ? Math.max(0, Math.min(100, d.weight)) : 0;
    const g = s('g', {
      class: `node tone-${tone}${isWaiting(t.status) ? ' waiting' : ''}`,
      transform: `translate(${p.x} ${p.y})`, tabindex: 0, role: 'button',
      'aria-label': `Target ${t.name}: ${label}. ${progressText(d)}. ${t.gates.length} gate${t.gates.length === 1 ? '' : 's'}. Show details.`,
      dataset: { target: t.name, status: (t.status || 'UNKNOWN').toUpperCase() },
    },
    s('title', {}, `${t.name}: ${label}`),
    s('rect', { class: 'box', width: NODE_W, height: nodeH, rx: 10 }),
    s('rect', { class: 'stripe', width: 6, height: nodeH, rx: 3 }),
    s('text', { x: 18, y: 26, class: 'title' }, clip(t.name, 18)),
    s('text', { x: NODE_W - 14, y: 26, 'text-anchor': 'end', class: 'status' }, `${icon} ${label}`),
    s('text', { x: 18, y: 46, class: 'sub' }, clip(d ? `account ${d.account || t.account || t.name}` : `account ${t.account || '?'} · waiting`, 34)),
    s('text', { x: 18, y: 66, class: 'sub' }, progressText(d)),
    s('rect', { class: 'weight-track', x: 18, y: 74, width: NODE_W - 36, height: 6, rx: 3 }),
    s('rect', { class: 'weight-bar', x: 18, y: 74, width: ((NODE_W - 36) * weight) / 100, height: 6, rx: 3 }),
    t.gates.map((gate, i) => s('text', { x: 18, y: 100 + i * LINE, class: `gate tone-${statusInfo(gate.status)[1]}` }, clip(gateLabel(gate), 31))));
    const activate = () => onSelect && onSelect(t.name);
    g.addEventListener('click', activate);
    g.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); activate(); }
    });
    nodes.append(g);
  }
  return svg;
}
