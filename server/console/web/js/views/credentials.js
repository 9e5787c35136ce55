// Machine credentials of the tenant: create one with scopes (its secret is shown once, with a copy
// button), list them, delete one after confirmation.
import { h, replace, time, announce, errorBanner } from '../dom.js';
import { items, enc } from '../api.js';
import { Poller } from '../poll.js';
import { pageHeader, confirmDialog, emptyState } from './common.js';

/** SCOPES are the scopes a credential may be given, with what each allows. */
export const SCOPES = [
  ['api:deployment:full', 'Start, read and judge deployments (CI pipelines)'],
  ['read:infrastructure:data', 'Read agents and the infrastructure cache'],
  ['api:agentHub:full', 'Connect as a Remote Network Agent'],
  ['api:tenant:full', 'Everything in this tenant'],
];

/** credentialRequest turns the form's values into the POST /credentials body, or lists what is wrong. */
export function credentialRequest({ name, scopes, agents, expires }) {
  const errors = [];
  name = (name || '').trim();
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(name)) {
    errors.push({ field: 'name', message: 'expected 1 to 63 lower-case letters, digits or dashes, starting and ending with a letter or digit' });
  }
  if (!scopes.length) errors.push({ field: 'scopes', message: 'expected at least one scope' });
  const agentIdentifiers = (agents || '').split(',').map((a) => a.trim()).filter(Boolean);
  const body = { name, scopes, agentIdentifiers };
  if (expires) {
    const d = new Date(expires);
    if (Number.isNaN(d.getTime()) || d <= new Date()) errors.push({ field: 'expiresAtIso8601', message: 'expected a date in the future' });
    else body.expiresAtIso8601 = d.toISOString();
  }
  return { body, errors };
}

export function renderCredentials(ctx, main) {
  const { el: header, report } = pageHeader('Credentials');
  const formErrors = h('div', { class: 'form-errors' });
  const secretBox = h('div', { class: 'secret-box', 'aria-live': 'polite' });
  const listNotice = h('div', { 'aria-live': 'polite' });
  const body = h('div', { class: 'table-wrap' });
  const nameInput = h('input', { id: 'cred-name', name: 'name', required: true, autocomplete: 'off', spellcheck: 'false', 'aria-describedby': 'cred-name-help', pattern: '[a-z0-9]([\\-a-z0-9]*[a-z0-9])?', maxlength: 63 });
  const agentsInput = h('input', { id: 'cred-agents', name: 'agents', autocomplete: 'off', 'aria-describedby': 'cred-agents-help' });
  const expiresInput = h('input', { id: 'cred-expires', name: 'expires', type: 'date' });
  const form = h('form', { class: 'card form', id: 'create-credential', novalidate: true },
    h('h2', { id: 'create-h' }, 'New credential'),
    h('div', { class: 'field' }, h('label', { for: 'cred-name' }, 'Name'), nameInput,
      h('p', { id: 'cred-name-help', class: 'help' }, 'Lower-case letters, digits and dashes, e.g. ci-pipeline.')),
    h('fieldset', { class: 'field' }, h('legend', {}, 'Scopes'),
      SCOPES.map(([scope, what]) => h('div', { class: 'check' },
        h('input', { type: 'checkbox', id: `scope-${scope}`, name: 'scopes', value: scope }),
        h('label', { for: `scope-${scope}` }, h('code', {}, scope), ' — ', what)))),
    h('div', { class: 'field' }, h('label', { for: 'cred-agents' }, 'Agent identifiers (optional)'), agentsInput,
      h('p', { id: 'cred-agents-help', class: 'help' }, 'Comma-separated; limits api:agentHub:full to these agents.')),
    h('div', { class: 'field' }, h('label', { for: 'cred-expires' }, 'Expires (optional)'), expiresInput),
    formErrors,
    h('button', { type: 'submit', class: 'button primary' }, 'Create credential'));
  const canManage = (ctx.auth.principal.scopes || []).some((x) => x === 'api:tenant:full' || x === 'api:organization:full');
  replace(main, header,
    canManage ? null : h('p', { class: 'banner info' }, 'Managing credentials needs api:tenant:full; you may not be able to see or change them.'),
    secretBox, form, h('section', { 'aria-labelledby': 'creds-h' }, h('h2', { id: 'creds-h', tabindex: -1 }, 'Existing credentials'), listNotice, body));
  document.title = 'Credentials · Aurora';

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const scopes = [...form.querySelectorAll('input[name="scopes"]:checked')].map((c) => c.value);
    const { body: req, errors } = credentialRequest({ name: nameInput.value, scopes, agents: agentsInput.value, expires: expiresInput.value });
    nameInput.removeAttribute('aria-invalid');
    if (errors.length) {
      replace(formErrors, errorBanner({ message: 'Please correct the form.', details: errors }));
      if (errors.some((x) => x.field === 'name')) { nameInput.setAttribute('aria-invalid', 'true'); nameInput.focus(); }
      return;
    }
    replace(formErrors);
    const submit = form.querySelector('button[type="submit"]');
    submit.disabled = true;
    try {
      const created = await ctx.api.post('/credentials', req);
      showSecret(created);
      form.reset();
      poller.now();
    } catch (err) {
      replace(formErrors, errorBanner(err, 'Could not create the credential: '));
      formErrors.querySelector('[role="alert"]').setAttribute('tabindex', '-1');
    } finally {
      submit.disabled = false;
    }
  });

  const copyButton = (label, value) => h('button', {
    type: 'button', class: 'button secondary',
    onclick: async (e) => {
      const b = e.currentTarget;
      try {
        await navigator.clipboard.writeText(value);
        b.textContent = '✓ Copied';
        announce(`${label} copied to the clipboard`);
      } catch {
        b.textContent = 'Copy failed: select the text and copy it';
      }
    },
  }, `Copy ${label}`);

  const showSecret = (c) => {
    replace(secretBox, h('section', { class: 'card secret', 'aria-labelledby': 'secret-h' },
      h('h2', { id: 'secret-h', tabindex: -1 }, `Credential ${c.name} created`),
      h('p', { class: 'banner warn' }, '⚠ Copy the client secret now: it is shown only once and cannot be shown again.'),
      h('div', { class: 'field' }, h('label', { for: 'new-client-id' }, 'Client id'),
        h('div', { class: 'copy-row' }, h('input', { id: 'new-client-id', readonly: true, value: c.clientId || '' }), copyButton('client id', c.clientId || ''))),
      h('div', { class: 'field' }, h('label', { for: 'new-client-secret' }, 'Client secret'),
        h('div', { class: 'copy-row' }, h('input', { id: 'new-client-secret', readonly: true, value: c.clientSecret || '', class: 'mono' }), copyButton('client secret', c.clientSecret || ''))),
      h('button', { type: 'button', class: 'button secondary', onclick: () => { replace(secretBox); form.querySelector('#cred-name').focus(); } }, 'I have stored it — hide')));
    secretBox.querySelector('#secret-h').focus();
  };

  const remove = async (c) => {
    const ok = await confirmDialog({
      title: `Delete credential ${c.name}?`,
      body: 'Clients using it can no longer get tokens. This cannot be undone.',
      confirmLabel: 'Delete credential', danger: true,
    });
    if (!ok) return;
    try {
      await ctx.api.del(`/credentials/${enc(c.name)}`);
      replace(listNotice, h('p', { class: 'banner ok', role: 'status' }, `✓ Credential ${c.name} deleted.`));
      document.getElementById('creds-h').focus();
      poller.now();
    } catch (err) {
      replace(listNotice, errorBanner(err, `Could not delete ${c.name}: `));
    }
  };

  const load = async () => {
    const list = items(await ctx.api.get('/credentials?limit=500'));
    if (list.length === 0) {
      replace(body, emptyState('No machine credentials in this tenant.'));
      return;
    }
    replace(body, h('table', { class: 'table', id: 'credentials-table' },
      h('caption', { class: 'visually-hidden' }, 'Machine credentials of the tenant'),
      h('thead', {}, h('tr', {}, ['Name', 'Client id', 'Scopes', 'Created', 'Created by', 'Actions'].map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, list.map((c) => h('tr', { dataset: { credential: c.name } },
        h('th', { scope: 'row' }, c.name),
        h('td', {}, h('code', {}, c.clientId || '—')),
        h('td', {}, (c.scopes || []).map((x) => h('code', { class: 'chip' }, x))),
        h('td', {}, time(c.createdIso8601)),
        h('td', {}, c.createdBy || '—'),
        h('td', {}, h('button', { type: 'button', class: 'button danger small', onclick: () => remove(c), 'aria-label': `Delete credential ${c.name}`, dataset: { key: `delete:${c.name}` } }, 'Delete')))))));
  };
  const poller = new Poller(load, ctx.config.pollIntervalMs * 3, report);
  poller.now();
  return poller;
}
