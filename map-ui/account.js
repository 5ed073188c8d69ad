// The sign-in panel: user name and password → a session; who is signed in (name, role, unit,
// cells) and signing out. The header button shows the signed-in user.
import { t, lang, onLangChange } from './i18n.js';
import { $, esc } from './ui.js';
import { current, signIn, signOut, onSessionChange, problemMessage } from './session.js';

/** The role's name in the current language. */
export const roleLabel = (role) => t(`role_${role}`);

/** Wires the sign-in panel; `showTab(name)` opens a panel tab. */
export function initAccount({ showTab }) {
  $('account').addEventListener('click', () => showTab('account'));
  $('signin-form').addEventListener('submit', async (e) => {
    e.preventDefault();
    const username = $('signin-username').value.trim();
    const password = $('signin-password').value;
    if (!username || !password) { $('signin-error').textContent = t('signin_missing'); return; }
    $('signin-submit').disabled = true;
    $('signin-error').textContent = '';
    try {
      await signIn(username, password);
      $('signin-password').value = '';
      // Straight to the work: my tasks where the role has some.
      const tasks = document.querySelector('#tabs button[data-tab="tasks"]');
      showTab(tasks.hidden ? 'layers' : 'tasks');
    } catch (err) {
      $('signin-error').textContent = err.status === 401 ? t('signin_refused') : problemMessage(err);
    } finally {
      $('signin-submit').disabled = false;
    }
  });
  $('signout').addEventListener('click', () => signOut());
  onSessionChange(render);
  onLangChange(render);
  render();
}

function render() {
  const s = current();
  $('signin-form').hidden = Boolean(s);
  $('account-info').hidden = !s;
  const button = $('account');
  if (!s) {
    button.textContent = t('signin');
    button.removeAttribute('data-user');
    return;
  }
  const u = s.user;
  button.textContent = `${u.display_name || u.username} · ${roleLabel(u.role)}`;
  button.dataset.user = u.username;
  const rows = [
    [t('user_name'), `${u.display_name} (${u.username})`],
    [t('user_role'), roleLabel(u.role)],
    ...(u.unit ? [[t('user_unit'), u.unit]] : []),
    ...(u.cells?.length ? [[t('user_cells'), u.cells.join(lang() === 'zh' ? '、' : ', ')]] : []),
  ];
  $('account-table').innerHTML = rows.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(v)}</td></tr>`).join('');
}
