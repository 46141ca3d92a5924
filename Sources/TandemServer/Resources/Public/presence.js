// Tandem agent console: my presence. Online agents get waiting conversations of their teams
// automatically; while the console is open and I am online or away, it repeats my status every
// 30 seconds (the heartbeat): a console not heard from for 90 seconds counts as offline.
(function () {
  'use strict';

  const T = window.Tandem;
  const { $ } = T;
  const api = T.consoleApi();
  const select = $('presence-status');
  const root = $('presence');
  const note = $('presence-note');
  if (!select || !root) return;

  const HEARTBEAT_MS = 30000;

  function show(status) {
    root.className = 'presence presence--' + status;
    if (select.value !== status) select.value = status;
  }

  async function send(status) {
    try {
      const presence = await api('PUT', '/api/v1/agent/presence', { status });
      show(presence.effective);
      note.textContent = presence.effective === 'online'
        ? 'You get conversations automatically (' + presence.open + ' of ' + presence.limit + ' open).'
        : '';
    } catch (e) {
      if (e.status !== 401) note.textContent = e.message;
    }
  }

  select.addEventListener('change', () => send(select.value));
  // Away and online are kept fresh; offline needs no heartbeat.
  // (Also in a background tab: browsers slow its timers to at most once a minute, inside the timeout.)
  setInterval(() => { if (select.value !== 'offline') send(select.value); }, HEARTBEAT_MS);
  // Coming back to a console whose heartbeat lapsed (a sleeping laptop) says so at once.
  document.addEventListener('visibilitychange', () => { if (!document.hidden && select.value !== 'offline') send(select.value); });
})();
