// Pieces every page uses: the page header with its freshness line, the poll report, dialogs.
import { h, replace, clock, errorBanner } from '../dom.js';

/**
 * pageHeader renders the page's h1 and a line saying when the data was last updated, and returns
 * a report function for the Poller.
 */
export function pageHeader(title, ...extra) {
  const updated = h('span', { class: 'updated' }, 'Loading…');
  const problem = h('div', { class: 'refresh-problem' });
  const el = h('div', { class: 'page-header' },
    h('div', { class: 'page-title' }, h('h1', {}, title), ...extra),
    h('p', { class: 'freshness' }, updated),
    problem);
  const report = ({ ok, at, error, retryIn }) => {
    if (ok) {
      replace(updated, 'Updated ', h('time', { datetime: at.toISOString() }, clock(at)), h('span', { class: 'live-dot', 'aria-hidden': 'true' }), ' live');
      replace(problem);
    } else {
      replace(problem, errorBanner(error, `Could not refresh (retrying in ${Math.round(retryIn / 1000)} s): `));
    }
  };
  return { el, report };
}

/**
 * confirmDialog asks a question in a modal dialog; it resolves to {reason} when confirmed and null
 * when dismissed. With askReason the dialog has a reason field.
 */
export function confirmDialog({ title, body, confirmLabel, danger = false, askReason = false }) {
  return new Promise((resolve) => {
    const reason = h('textarea', { id: 'dialog-reason', name: 'reason', rows: 3, maxlength: 1000 });
    const opener = document.activeElement;
    const openerKey = opener && opener.dataset ? opener.dataset.key : '';
    const form = h('form', { method: 'dialog', class: 'dialog-form' },
      h('h2', { id: 'dialog-title' }, title),
      h('p', {}, body),
      askReason ? [h('label', { for: 'dialog-reason' }, 'Reason (optional)'), reason] : null,
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'submit', value: 'cancel', class: 'button secondary' }, 'Keep as it is'),
        h('button', { type: 'submit', value: 'confirm', class: `button ${danger ? 'danger' : 'primary'}` }, confirmLabel)));
    const dialog = h('dialog', { 'aria-labelledby': 'dialog-title', class: 'dialog' }, form);
    dialog.addEventListener('close', () => {
      const ok = dialog.returnValue === 'confirm';
      dialog.remove();
      // The page may have been redrawn while the dialog was open: find the opener again by its key.
      const back = opener && opener.isConnected ? opener
        : openerKey ? document.querySelector(`[data-key="${CSS.escape(openerKey)}"]`) : null;
      if (back && !back.disabled) back.focus();
      resolve(ok ? { reason: reason.value.trim() } : null);
    });
    document.body.append(dialog);
    dialog.showModal();
    (askReason ? reason : form.querySelector('button[value="cancel"]')).focus();
  });
}

/** emptyState renders a friendly line for an empty list. */
export function emptyState(text) {
  return h('p', { class: 'empty' }, text);
}
