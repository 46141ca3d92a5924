// Tandem agent console: private notes on a conversation (conversation.leaf) and the notes that
// mention me (console.leaf). Notes are for the team only; the server never sends them to the
// customer. All text from the server is set with textContent, never parsed as HTML.
(function () {
  'use strict';

  const T = window.Tandem;
  const { $, element } = T;
  const api = T.consoleApi();

  // ---------- notes on one conversation ----------

  function notesPanel(root) {
    const id = root.dataset.id;
    const path = '/api/v1/agent/conversations/' + encodeURIComponent(id) + '/notes';
    const list = $('notes');
    const empty = $('notes-empty');
    const form = $('note-form');
    const text = $('note-text');
    const add = $('add-note');
    const error = T.messageBox('note-error');
    const shown = new Set();

    function noteItem(note) {
      const item = element('li', 'note');
      item.dataset.id = note.id;
      const meta = element('p', 'note__meta');
      meta.append(element('span', 'note__author', note.agentName || 'Agent'), ' ', T.timeElement('note__time', note.createdAt));
      item.append(meta, element('p', 'note__text', note.text));
      if (note.mentions && note.mentions.length) {
        item.append(element('p', 'note__mentions', 'Notified: ' + note.mentions.map((m) => m.name).join(', ')));
      }
      return item;
    }

    function show(notes) {
      for (const note of notes) {
        if (!note || shown.has(String(note.id).toLowerCase())) continue;
        shown.add(String(note.id).toLowerCase());
        list.appendChild(noteItem(note));
      }
      empty.hidden = shown.size > 0;
    }

    async function load() {
      try {
        show(await api('GET', path));
      } catch (e) {
        error.show(e.message);
      }
    }

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      const value = text.value.trim();
      if (!value) {
        error.show('Write the note first.');
        text.focus();
        return;
      }
      error.clear();
      add.disabled = true;
      try {
        show([await api('POST', path, { text: value })]);
        text.value = '';
      } catch (e) {
        error.show(e.message);
      } finally {
        add.disabled = false;
      }
    });

    // Live through the page's one stream (console.js); a slow poll covers a lost stream.
    T.onSharedEvent('note', (payload) => { if (payload) show([payload]); });
    window.setInterval(load, 30000);
    load();
  }

  // ---------- canned replies in the reply box ----------

  function cannedReplies(root) {
    const id = root.dataset.id;
    const search = $('canned-search');
    const results = $('canned-results');
    const reply = $('reply-text');
    const error = T.messageBox('conversation-error');
    let asked = 0;

    function resultItem(r) {
      const item = element('li', 'canned__result');
      const use = element('button', 'canned__use', r.title);
      use.type = 'button';
      use.dataset.kind = r.kind;
      use.addEventListener('click', () => {
        // Into an empty reply as it is; after what is there, on a new paragraph.
        reply.value = reply.value.trim() ? reply.value.replace(/\s+$/, '') + '\n\n' + r.text : r.text;
        reply.dispatchEvent(new Event('input', { bubbles: true }));
        results.textContent = '';
        search.value = '';
        reply.focus();
      });
      item.append(use, element('span', 'canned__kind', r.kind === 'snippet' ? 'snippet' : 'approved answer'),
                  element('p', 'canned__text', r.text));
      return item;
    }

    async function find() {
      const query = search.value.trim();
      const ticket = ++asked;
      if (!query) { results.textContent = ''; return; }
      try {
        const found = await api('GET', '/api/v1/agent/conversations/' + encodeURIComponent(id) + '/replies?limit=8&q=' + encodeURIComponent(query));
        if (ticket !== asked) return; // a later search is on its way
        results.textContent = '';
        if (!found.length) results.appendChild(element('li', 'canned__none', 'Nothing matches “' + query + '”.'));
        for (const r of found) results.appendChild(resultItem(r));
      } catch (e) {
        error.show(e.message);
      }
    }

    const title = $('snippet-title');
    const body = $('snippet-text');
    const status = $('snippet-status');
    $('save-snippet').addEventListener('click', async () => {
      status.textContent = '';
      try {
        const saved = await api('POST', '/api/v1/agent/snippets', { title: title.value, text: body.value });
        status.textContent = 'Saved “' + saved.title + '”: search for it above.';
        title.value = '';
        body.value = '';
      } catch (e) {
        status.textContent = e.message;
      }
    });

    search.addEventListener('input', T.debounce(find, 200));
    search.addEventListener('keydown', (event) => { if (event.key === 'Enter') { event.preventDefault(); find(); } });
  }

  // ---------- my mentions ----------

  function mentionsPanel() {
    const list = $('mentions');
    const empty = $('mentions-empty');
    const count = $('mentions-count');
    const error = T.messageBox('console-error');
    let me = null;

    function mentionItem(m) {
      const item = element('li', 'mention');
      item.dataset.id = m.id;
      const meta = element('p', 'mention__meta');
      meta.append(element('span', 'mention__author', (m.byName || 'An agent') + ' mentioned you'), ' ', T.timeElement('mention__time', m.createdAt));
      const link = element('a', 'mention__open', 'Open the conversation');
      link.href = '/console/conversations/' + encodeURIComponent(m.conversationID);
      const read = element('button', 'button button--quiet button--small mention__read', 'Mark read');
      read.type = 'button';
      read.addEventListener('click', async () => {
        read.disabled = true;
        try {
          await api('POST', '/api/v1/agent/mentions/' + encodeURIComponent(m.id) + '/read', {});
          item.remove();
          update();
        } catch (e) {
          read.disabled = false;
          error.show(e.message);
        }
      });
      const actions = element('p', 'mention__actions');
      actions.append(link, ' ', read);
      item.append(meta, element('p', 'mention__text', m.text), actions);
      return item;
    }

    function update() {
      const n = list.querySelectorAll('.mention').length;
      count.textContent = String(n);
      empty.hidden = n > 0;
    }

    async function load() {
      try {
        const mentions = await api('GET', '/api/v1/agent/mentions?unread=true');
        list.textContent = '';
        for (const m of mentions) list.appendChild(mentionItem(m));
        update();
      } catch (e) {
        error.show(e.message);
      }
    }

    api('GET', '/api/v1/agent/me').then((agent) => { me = agent && agent.id; }).catch(() => {});
    T.onSharedEvent('mention', (payload) => { if (payload && (!me || T.sameId(payload.agentID, me))) load(); });
    window.setInterval(load, 30000);
    load();
  }

  const conversationRoot = $('conversation');
  if (conversationRoot && $('note-form')) notesPanel(conversationRoot);
  if (conversationRoot && $('canned-search')) cannedReplies(conversationRoot);
  if ($('mentions')) mentionsPanel();
})();
