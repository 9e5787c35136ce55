// The Console's entry point: reads config.json, completes a login, draws the session bar and
// routes #/deployments, #/deployments/<id>, #/agents and #/credentials to their pages.
import { h, replace, errorBanner, focusHeading, announce } from './dom.js';
import { Auth } from './auth.js';
import { Api } from './api.js';
import { renderDeployments } from './views/deployments.js';
import { renderDeployment } from './views/deployment.js';
import { renderAgents } from './views/agents.js';
import { renderCredentials } from './views/credentials.js';

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const sessionBar = document.getElementById('session');

let current = null; // the page's poller

async function start() {
  let config;
  try {
    const res = await fetch('config.json', { cache: 'no-cache' });
    if (!res.ok) throw new Error(`config.json answered ${res.status}`);
    config = await res.json();
  } catch (e) {
    replace(main, errorBanner(e, 'The Console cannot start: '));
    return;
  }
  const auth = new Auth(config);
  const ctx = { config, auth, api: new Api(config.apiURL, auth) };

  try {
    await auth.completeLogin();
  } catch (e) {
    showLogin(ctx, e);
    return;
  }
  // Re-route when who is logged in or the tenant changes, not when a token is merely renewed.
  let identity = identityOf(auth);
  auth.onChange(() => {
    renderSession(ctx);
    const now = identityOf(auth);
    if (now !== identity) { identity = now; route(ctx); }
  });
  renderSession(ctx);
  window.addEventListener('hashchange', () => {
    if (location.hash.startsWith('#/') || location.hash === '') route(ctx, true);
    else if (location.hash === '#main') main.focus();
  });
  route(ctx, false);
}

function identityOf(auth) {
  const p = auth.principal;
  return p ? `${p.name}|${p.organization}|${p.environment}` : '';
}

function renderSession(ctx) {
  const p = ctx.auth.principal;
  nav.hidden = !p;
  if (!p) { replace(sessionBar); return; }
  const tenants = [...new Set([p.environment, ...(p.tenants || [])].filter(Boolean))];
  const tenant = tenants.length > 1
    ? h('span', { class: 'tenant' }, h('label', { for: 'tenant-select' }, 'Tenant'),
      h('select', {
        id: 'tenant-select',
        onchange: async (e) => {
          const env = e.target.value;
          try {
            await ctx.auth.refresh(env);
            announce(`Switched to tenant ${p.organization}/${env}`);
          } catch (err) {
            e.target.value = p.environment;
            replace(main, errorBanner(err, 'Could not switch tenant: '));
          }
        },
      }, tenants.map((t) => h('option', { value: t, selected: t === p.environment }, `${p.organization} / ${t}`))))
    : h('span', { class: 'tenant', id: 'tenant-name' }, h('span', { class: 'muted' }, 'Tenant '), `${p.organization} / ${p.environment}`);
  replace(sessionBar, tenant,
    h('span', { class: 'who', title: (p.roles || []).length ? `Roles: ${p.roles.join(', ')}` : 'No roles' }, p.name || 'signed in'),
    h('button', { type: 'button', class: 'button secondary small', id: 'logout', onclick: () => ctx.auth.logout() }, 'Log out'));
}

function showLogin(ctx, error) {
  nav.hidden = true;
  replace(sessionBar);
  document.title = 'Log in · Aurora';
  const button = h('button', {
    type: 'button', class: 'button primary large', id: 'login',
    onclick: async () => {
      button.disabled = true;
      try {
        await ctx.auth.login(location.hash.startsWith('#/') ? location.hash : '#/deployments');
      } catch (e) {
        button.disabled = false;
        replace(problem, errorBanner(e, 'Cannot log in: '));
      }
    },
  }, 'Log in');
  const expired = ctx.auth.expiredBecause;
  ctx.auth.expiredBecause = '';
  const problem = h('div', {}, error ? errorBanner(error, 'Login failed: ')
    : expired ? h('p', { class: 'banner info', role: 'status' }, expired) : null);
  replace(main, h('section', { class: 'card login', 'aria-labelledby': 'login-h' },
    h('h1', { id: 'login-h' }, 'Aurora Console'),
    h('p', {}, 'Deployments, approvals, agents and credentials of your tenant. Log in with your organization\'s account.'),
    problem, button));
  focusHeading(main);
}

function route(ctx, focus = true) {
  if (current) { current.stop(); current = null; }
  if (!ctx.auth.loggedIn) { showLogin(ctx); return; }
  const path = location.hash.replace(/^#/, '') || '/deployments';
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  for (const a of nav.querySelectorAll('a')) {
    if (a.dataset.section === parts[0]) a.setAttribute('aria-current', 'page');
    else a.removeAttribute('aria-current');
  }
  if (parts[0] === 'deployments' && parts[1]) current = renderDeployment(ctx, main, parts[1]);
  else if (parts[0] === 'agents') current = renderAgents(ctx, main);
  else if (parts[0] === 'credentials') current = renderCredentials(ctx, main);
  else if (parts[0] === 'deployments' || parts.length === 0) current = renderDeployments(ctx, main);
  else {
    replace(main, h('h1', {}, 'Not found'), h('p', {}, 'No page here. ', h('a', { href: '#/deployments' }, 'Go to the deployments.')));
  }
  if (focus) focusHeading(main);
}

start();
