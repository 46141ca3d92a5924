// Tandem agent console: the live queue (console.leaf) and one conversation with the AI's
// assistance (conversation.leaf). Server-sent events keep both current, with polling as the
// fallback. All text from the server is set with textContent, never parsed as HTML.
(function () {
  'use strict';

  const T = window.Tandem;
  const { $, element, parseDate } = T;
  const api = T.consoleApi();

  // ---------- helpers ----------

  // Agents' tags as chips, built with textContent (a tag is user text, even if the server
  // only stores a–z, digits, '-', '_' and spaces). `removable` adds a remove button to each.
  function renderTags(list, tags, removable) {
    list.textContent = '';
    for (const tag of Array.isArray(tags) ? tags : []) {
      const chip = element('li', 'tag-chip');
      chip.dataset.tag = tag;
      if (removable) {
        chip.appendChild(element('span', 'tag-chip__label', tag));
        const remove = element('button', 'tag-chip__remove', '×');
        remove.type = 'button';
        remove.dataset.tag = tag;
        remove.setAttribute('aria-label', 'Remove the tag ' + tag);
        chip.appendChild(remove);
      } else {
        chip.textContent = tag;
      }
      list.appendChild(chip);
    }
  }

  function formatDuration(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    if (s < 60) return s + ' s';
    if (s < 3600) return Math.floor(s / 60) + ' min';
    return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
  }

  // ---------- the queue page ----------

  function queuePage(root) {
    const queueList = $('queue');
    const mineList = $('mine');
    const error = T.messageBox('console-error');
    const liveStatus = $('live-status');
    const baseTitle = document.title;
    // Last customer message per conversation (the queue API does not include it).
    const lastMessages = new Map();
    let refreshing = false;
    let again = false;

    for (const item of document.querySelectorAll('.queue-item, .mine-item')) {
      const last = item.querySelector('.queue-item__last, .mine-item__last');
      lastMessages.set(item.dataset.id.toLowerCase(), { updatedAt: null, text: last ? last.textContent : '' });
    }

    // Team names by id, for the queue's team badges (read once per page).
    const teamNames = new Map();

    function queueItem(c) {
      const id = c.id;
      const item = element('li', 'queue-item');
      item.dataset.id = id;

      const main = element('div', 'queue-item__main');
      const head = element('div', 'queue-item__head');
      const name = element('h3', 'queue-item__name');
      name.id = 'q-' + id;
      const badges = element('span', 'queue-item__badges');
      head.append(name, badges);
      const tags = element('ul', 'tags tags--inline queue-item__tags');
      tags.setAttribute('aria-label', 'Tags');
      main.append(head, tags, element('p', 'queue-item__reason'), element('p', 'queue-item__last'));

      const side = element('div', 'queue-item__side');
      const waiting = element('p', 'queue-item__waiting', 'Waiting ');
      waiting.appendChild(element('span', 'waiting'));
      const claim = element('button', 'button claim', 'Claim');
      claim.type = 'button';
      claim.setAttribute('aria-describedby', name.id);
      side.append(waiting, element('p', 'queue-item__sla'), claim);

      item.append(main, side);
      return item;
    }

    const slaNames = { first_response: 'First response', next_response: 'Next response', resolution: 'Resolution' };
    // "First response: 12 min left" / "… 5 min over", in business time.
    function slaText(kind, left) {
      if (!kind || typeof left !== 'number') return '';
      return (slaNames[kind] || kind) + ': ' + formatDuration(Math.abs(left)) + (left < 0 ? ' over' : ' left');
    }

    function updateQueueItem(item, c) {
      const urgent = (c.priority || 0) > 0;
      item.querySelector('.queue-item__name').textContent = c.customerName || 'Customer';
      item.querySelector('.queue-item__reason').textContent = c.handoffReason || '';
      renderTags(item.querySelector('.queue-item__tags'), c.tags, false);
      const cached = lastMessages.get(c.id.toLowerCase());
      item.querySelector('.queue-item__last').textContent = cached ? cached.text : '';
      const waited = typeof c.waitingSeconds === 'number'
        ? c.waitingSeconds
        : (parseDate(c.queuedAt) ? (Date.now() - parseDate(c.queuedAt).getTime()) / 1000 : 0);
      item.dataset.queuedAt = String(Date.now() - waited * 1000);
      item.classList.toggle('queue-item--urgent', urgent);
      const badges = item.querySelector('.queue-item__badges');
      badges.textContent = '';
      if (urgent) badges.appendChild(element('span', 'badge badge--urgent', 'Urgent'));
      const team = c.teamID ? teamNames.get(String(c.teamID).toLowerCase()) : null;
      if (team) badges.appendChild(element('span', 'badge badge--team', team));
      // Items from the API say whether the host site signed the identity; events do not.
      if (typeof c.customerVerified === 'boolean') item.dataset.verified = String(c.customerVerified);
      const verified = item.dataset.verified === 'true';
      badges.appendChild(element('span', verified ? 'badge badge--verified' : 'badge badge--unverified', verified ? 'Verified' : 'Unverified'));
      if (c.slaBreachedAt) badges.appendChild(element('span', 'badge badge--breached', 'SLA breached'));
      item.querySelector('.queue-item__sla').textContent = slaText(c.slaKind, c.slaSecondsLeft);
      tickItem(item, c.late === true);
    }

    // Updates the waiting time and the "late" badge from the time the item was queued.
    function tickItem(item, lateFromServer) {
      const queuedAt = Number(item.dataset.queuedAt);
      if (!queuedAt) return;
      const seconds = (Date.now() - queuedAt) / 1000;
      item.querySelector('.waiting').textContent = formatDuration(seconds);
      // Late is the server's word: targets count business hours only, which the page does not know.
      if (lateFromServer !== undefined) item.dataset.late = lateFromServer ? '1' : '';
      const late = item.dataset.late === '1';
      item.classList.toggle('queue-item--late', late);
      const badges = item.querySelector('.queue-item__badges');
      const existing = badges.querySelector('.badge--late');
      if (late && !existing) badges.appendChild(element('span', 'badge badge--late', 'Late'));
      if (!late && existing) existing.remove();
    }

    function mineItem(c) {
      const item = element('li', 'mine-item');
      item.dataset.id = c.id;
      const link = element('a', 'open-conversation');
      link.href = '/console/conversations/' + encodeURIComponent(c.id);
      const tags = element('ul', 'tags tags--inline mine-item__tags');
      tags.setAttribute('aria-label', 'Tags');
      item.append(link, tags, element('p', 'mine-item__last'));
      return item;
    }

    function updateMineItem(item, c) {
      item.querySelector('.open-conversation').textContent = c.customerName || 'Customer';
      renderTags(item.querySelector('.mine-item__tags'), c.tags, false);
      const cached = lastMessages.get(c.id.toLowerCase());
      item.querySelector('.mine-item__last').textContent = cached ? cached.text : '';
    }

    // Reuses existing items (so focus and in-flight buttons survive) and moves only what changed.
    function reconcile(list, conversations, create, update) {
      const existing = new Map();
      for (const child of list.children) existing.set((child.dataset.id || '').toLowerCase(), child);
      conversations.forEach((c, index) => {
        const key = c.id.toLowerCase();
        let item = existing.get(key);
        if (item) existing.delete(key); else item = create(c);
        update(item, c);
        if (list.children[index] !== item) list.insertBefore(item, list.children[index] || null);
      });
      for (const stale of existing.values()) stale.remove();
    }

    async function fillLastMessages(conversations) {
      const stale = conversations.filter((c) => {
        const cached = lastMessages.get(c.id.toLowerCase());
        if (!cached) return true;
        if (cached.updatedAt === null) {
          cached.updatedAt = c.updatedAt || '';
          return false;
        }
        return cached.updatedAt !== (c.updatedAt || '');
      }).slice(0, 20);
      await Promise.all(stale.map(async (c) => {
        try {
          const view = await api('GET', '/api/v1/agent/conversations/' + encodeURIComponent(c.id));
          const messages = Array.isArray(view.messages) ? view.messages : [];
          let text = '';
          for (let i = messages.length - 1; i >= 0; i -= 1) {
            if (messages[i].role === 'customer') { text = String(messages[i].text).slice(0, 140); break; }
          }
          lastMessages.set(c.id.toLowerCase(), { updatedAt: c.updatedAt || '', text });
        } catch (e) { /* keep what we had */ }
      }));
    }

    async function refresh() {
      if (refreshing) { again = true; return; }
      refreshing = true;
      try {
        if (!teamNames.loaded) {
          for (const team of await api('GET', '/api/v1/teams')) teamNames.set(String(team.id).toLowerCase(), team.name);
          teamNames.loaded = true;
        }
        const [queue, mine] = await Promise.all([
          api('GET', '/api/v1/agent/queue'),
          api('GET', '/api/v1/agent/conversations?status=assigned&mine=true'),
        ]);
        mine.sort((a, b) => (parseDate(a.claimedAt) || 0) - (parseDate(b.claimedAt) || 0));
        await fillLastMessages(queue.concat(mine));
        reconcile(queueList, queue, queueItem, updateQueueItem);
        reconcile(mineList, mine, mineItem, updateMineItem);
        $('queue-count').textContent = String(queue.length);
        $('mine-count').textContent = String(mine.length);
        $('queue-empty').hidden = queue.length > 0;
        $('mine-empty').hidden = mine.length > 0;
        document.title = (queue.length ? '(' + queue.length + ') ' : '') + baseTitle;
      } catch (e) {
        if (e.status !== 401) error.show(e.message);
      } finally {
        refreshing = false;
        if (again) { again = false; refresh(); }
      }
    }

    const scheduleRefresh = T.debounce(refresh, 250);

    queueList.addEventListener('click', async (event) => {
      const button = event.target.closest('button.claim');
      if (!button || button.disabled) return;
      const item = button.closest('.queue-item');
      const id = item.dataset.id;
      error.clear();
      button.disabled = true;
      button.textContent = 'Claiming…';
      try {
        await api('POST', '/api/v1/agent/conversations/' + encodeURIComponent(id) + '/claim', {});
        window.location.assign('/console/conversations/' + encodeURIComponent(id));
      } catch (e) {
        button.disabled = false;
        button.textContent = 'Claim';
        error.show(e.message);
        refresh();
      }
    });

    window.setInterval(() => {
      for (const item of queueList.querySelectorAll('.queue-item')) tickItem(item);
    }, 10000);

    T.live({
      url: '/api/v1/agent/events',
      kinds: T.CONVERSATION_EVENTS.concat(['message', 'mention', 'conversation.tagged']),
      onEvent(kind, payload) {
        if (kind === 'mention') { T.shareEvent(kind, payload); return; }
        if (kind.startsWith('conversation.')) scheduleRefresh();
        else if (kind === 'message' && payload && payload.role === 'customer') scheduleRefresh();
      },
      poll: refresh,
      pollMs: 5000,
      onMode(mode) {
        liveStatus.textContent = mode === 'live' ? 'Live' : 'Updating every 5 s';
        liveStatus.classList.toggle('live--polling', mode !== 'live');
      },
    }).connect();
    refresh();
  }

  // ---------- the conversation page ----------

  function conversationPage(root) {
    const id = root.dataset.id;
    const base = '/api/v1/agent/conversations/' + encodeURIComponent(id);
    const error = T.messageBox('conversation-error');
    const list = $('messages');
    const form = $('reply-form');
    const text = $('reply-text');
    const intent = $('reply-intent');
    const send = $('send-reply');
    const buttons = { claim: $('claim'), release: $('release'), returnToAI: $('return-to-ai'), resolve: $('resolve') };
    const customerName = root.querySelector('.page-head__title').textContent;
    const maxLength = Number(root.dataset.maxLength) || 2000;

    const state = {
      status: root.dataset.status,
      mine: root.dataset.mine === 'true',
      myId: null,
      lastSeq: Number(list.dataset.lastSeq) || 0,
      seen: new Set(),
      draft: text.value, // the assistant's draft as last filled in
      intentTouched: false,
      busy: false,
      pending: null,
    };
    for (const item of list.querySelectorAll('.message')) state.seen.add(Number(item.dataset.seq));
    list.scrollTop = list.scrollHeight;

    function authorLabel(m) {
      switch (m.role) {
        case 'customer': return customerName;
        case 'ai': return 'Assistant';
        case 'agent': return m.agentName || 'Agent';
        default: return 'Tandem';
      }
    }

    function addMessage(m) {
      if (!m || typeof m.seq !== 'number' || state.seen.has(m.seq)) return false;
      state.seen.add(m.seq);
      const item = T.messageItem(m, authorLabel(m));
      const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 48;
      T.insertBySeq(list, item);
      if (m.seq > state.lastSeq) {
        state.lastSeq = m.seq;
        list.dataset.lastSeq = String(m.seq);
      }
      if (atBottom || m.role === 'agent') list.scrollTop = list.scrollHeight;
      return true;
    }

    function statusLabel(status, mine, assignedTo) {
      switch (status) {
        case 'ai': return 'With the assistant';
        case 'queued': return 'Waiting in the queue';
        case 'assigned': return mine ? 'Assigned to you' : 'Assigned to ' + (assignedTo || 'another agent');
        case 'resolved': return 'Resolved';
        default: return status;
      }
    }

    function updateControls(assignedTo) {
      const status = state.status;
      const badge = $('conversation-status');
      if (assignedTo !== undefined || status !== 'assigned') {
        badge.textContent = statusLabel(status, state.mine, assignedTo);
      }
      badge.className = 'status status--' + (['ai', 'queued', 'assigned', 'resolved'].includes(status) ? status : 'ai');
      root.dataset.status = status;
      root.dataset.mine = String(state.mine);
      buttons.claim.hidden = status !== 'queued';
      buttons.release.hidden = status !== 'assigned';
      buttons.returnToAI.hidden = status !== 'assigned';
      buttons.resolve.hidden = status === 'resolved';
      for (const button of Object.values(buttons)) button.disabled = state.busy;
      // A resolved conversation takes no more replies (the server would refuse them).
      send.disabled = state.busy || status === 'resolved';
      text.disabled = status === 'resolved';
      intent.disabled = status === 'resolved';
    }

    function setBusy(busy) {
      state.busy = busy;
      root.setAttribute('aria-busy', busy ? 'true' : 'false');
      updateControls();
    }

    function applyConversation(c, assignedTo) {
      if (!c || (c.id && !T.sameId(c.id, id))) return;
      state.status = c.status;
      if (state.myId) state.mine = c.status === 'assigned' && T.sameId(c.assignedAgentID, state.myId);
      $('handoff-reason').textContent = c.handoffReason || 'Not handed off.';
      updateControls(assignedTo);
    }

    function renderSuggestions(intents) {
      const ul = $('suggestions');
      ul.textContent = '';
      for (const s of intents || []) {
        const li = element('li', 'suggestion');
        li.dataset.key = s.intent;
        const use = element('button', 'suggestion__use', s.title || s.intent);
        use.type = 'button';
        use.dataset.key = s.intent;
        li.append(use, document.createTextNode(' '),
          element('span', 'suggestion__probability', Math.round((Number(s.probability) || 0) * 100) + '%'));
        ul.appendChild(li);
      }
      $('suggestions-empty').hidden = ul.children.length > 0;
      markChosenSuggestion();
    }

    function markChosenSuggestion() {
      for (const button of document.querySelectorAll('#suggestions .suggestion__use')) {
        button.setAttribute('aria-pressed', button.dataset.key === intent.value ? 'true' : 'false');
      }
    }

    function actionLabel(action) {
      switch (action) {
        case 'answer': return 'Answered';
        case 'draft': return 'Drafted for a person';
        case 'hand-off': return 'Handed off';
        default: return action;
      }
    }

    function number(value) {
      return typeof value === 'number' ? value.toFixed(3) : '—';
    }

    function fact(term, detail) {
      const div = element('div');
      div.append(element('dt', null, term), detail);
      return div;
    }

    function renderDecisions(decisions) {
      const ol = $('decisions');
      ol.textContent = '';
      for (const d of (decisions || []).slice().reverse()) {
        const action = String(d.action || '');
        const li = element('li', 'decision decision--' + action.replace(/[^a-z-]/g, ''));
        const head = element('p', 'decision__head');
        head.append(T.timeElement('decision__time', d.createdAt), document.createTextNode(' '),
          element('span', 'badge decision__action', actionLabel(action)));
        const explanation = element('p', 'decision__explanation', d.explanation || '');
        const facts = element('dl', 'decision__facts');
        const confidence = element('dd', 'decision__confidence', number(d.confidence) + ' ');
        confidence.append(element('span', 'muted', 'vs threshold'), document.createTextNode(' ' + number(d.threshold)));
        facts.append(
          fact('Intent', element('dd', 'decision__intent', d.intentTitle || d.intent || '—')),
          fact('Confidence', confidence));
        const reasons = element('ul', 'decision__reasons');
        for (const reason of d.reasons || []) reasons.appendChild(element('li', null, reason));
        // Plain words first; the numbers one click away.
        const numbers = element('details', 'decision__numbers');
        const rule = element('p');
        rule.appendChild(element('code', 'decision__rule', d.rule));
        numbers.append(element('summary', null, 'The numbers'), rule, facts, reasons);
        li.append(head, explanation, numbers);
        ol.appendChild(li);
      }
      $('decisions-empty').hidden = ol.children.length > 0;
    }

    // ---- tags ----
    const tagList = $('tags');
    const tagForm = $('tag-form');
    const tagInput = $('tag-input');

    function applyTags(tags) {
      const next = Array.isArray(tags) ? tags : [];
      const shown = Array.from(tagList.children, (chip) => chip.dataset.tag);
      // Unchanged: keep the chips (and a focused or pressed remove button) as they are.
      if (shown.length === next.length && shown.every((tag, i) => tag === next[i])) return;
      renderTags(tagList, next, true);
      $('tags-empty').hidden = tagList.children.length > 0;
    }

    tagForm.addEventListener('submit', async (event) => {
      event.preventDefault();
      const tag = tagInput.value.trim();
      if (!tag) { tagInput.focus(); return; }
      error.clear();
      try {
        const result = await api('POST', base + '/tags', { tag });
        applyTags(result.tags);
        tagInput.value = '';
      } catch (e) {
        error.show(e.message);
      }
      tagInput.focus();
    });

    tagList.addEventListener('click', async (event) => {
      const button = event.target.closest('.tag-chip__remove');
      if (!button || button.disabled) return;
      button.disabled = true;
      error.clear();
      try {
        const result = await api('DELETE', base + '/tags/' + encodeURIComponent(button.dataset.tag));
        applyTags(result.tags);
        tagInput.focus();
      } catch (e) {
        button.disabled = false;
        error.show(e.message);
      }
    });

    // The whole view from the API: messages, status, tags, and the assistance panel.
    async function refresh() {
      try {
        const view = await api('GET', base);
        for (const m of view.messages || []) {
          // Messages the server rendered show UTC times; show them like the rest.
          if (!addMessage(m)) T.retimeMessage(list, m);
        }
        applyConversation(view.conversation, view.assignedAgentName || null);
        applyTags(view.tags);
        const suggestions = view.suggestions;
        $('summary').textContent = suggestions && suggestions.summary ? suggestions.summary : 'No customer messages yet.';
        renderSuggestions(suggestions ? suggestions.intents : []);
        renderDecisions(view.decisions);
        // Refill the draft only if the agent has not started editing it.
        const draft = suggestions && suggestions.draft ? suggestions.draft : '';
        if (draft && draft !== state.draft && (text.value === state.draft || text.value.trim() === '')) {
          text.value = draft;
          state.draft = draft;
        }
        if (!state.intentTouched && suggestions && suggestions.intents && suggestions.intents.length) {
          const predicted = suggestions.intents[0].intent;
          if (intent.querySelector('option[value="' + CSS.escape(predicted) + '"]')) intent.value = predicted;
          markChosenSuggestion();
        }
      } catch (e) {
        if (e.status !== 401) error.show(e.message);
      }
    }

    const scheduleRefresh = T.debounce(refresh, 250);

    async function action(path, button) {
      if (state.busy) return;
      error.clear();
      setBusy(true);
      try {
        const c = await api('POST', base + path, {});
        if (path === '/claim') state.mine = true;
        if (path === '/release' || path === '/return-to-ai') state.mine = false;
        applyConversation(c, path === '/claim' ? undefined : null);
        if (path === '/claim') $('conversation-status').textContent = 'Assigned to you';
        scheduleRefresh();
      } catch (e) {
        error.show(e.message);
        refresh();
      } finally {
        setBusy(false);
        if (!button.hidden) button.focus();
        else if (path === '/claim') text.focus();
      }
    }

    buttons.claim.addEventListener('click', () => action('/claim', buttons.claim));
    buttons.release.addEventListener('click', () => action('/release', buttons.release));
    buttons.returnToAI.addEventListener('click', () => action('/return-to-ai', buttons.returnToAI));
    buttons.resolve.addEventListener('click', () => action('/resolve', buttons.resolve));

    $('suggestions').addEventListener('click', (event) => {
      const button = event.target.closest('.suggestion__use');
      if (!button) return;
      if (intent.querySelector('option[value="' + CSS.escape(button.dataset.key) + '"]')) {
        intent.value = button.dataset.key;
        state.intentTouched = true;
        markChosenSuggestion();
      }
    });
    intent.addEventListener('change', () => {
      state.intentTouched = true;
      markChosenSuggestion();
    });

    async function sendReply() {
      if (state.busy) return;
      const body = text.value.trim();
      if (!body) {
        error.show('Write a reply first.');
        text.focus();
        return;
      }
      if (body.length > maxLength) {
        error.show('The reply is too long: the limit is ' + maxLength + ' characters.');
        return;
      }
      error.clear();
      const payload = { text: body };
      if (intent.value) payload.intent = intent.value;
      if (!state.pending || state.pending.text !== body) state.pending = { text: body, key: T.randomId() };
      setBusy(true);
      try {
        const message = await api('POST', base + '/messages', payload, { headers: { 'Idempotency-Key': state.pending.key } });
        state.pending = null;
        addMessage(message);
        text.value = '';
        state.draft = '';
        state.intentTouched = false;
      } catch (e) {
        error.show(e.message);
      } finally {
        setBusy(false);
        text.focus();
      }
    }

    form.addEventListener('submit', (event) => {
      event.preventDefault();
      sendReply();
    });
    text.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        sendReply();
      }
    });

    api('GET', '/api/v1/agent/me').then((me) => {
      state.myId = me && me.id;
    }).catch(() => { /* ownership then comes from the page */ });

    T.live({
      url: '/api/v1/agent/events?conversation=' + encodeURIComponent(id),
      kinds: T.CONVERSATION_EVENTS.concat(['message', 'decision', 'note', 'conversation.tagged']),
      onEvent(kind, payload) {
        if (kind === 'note') {
          T.shareEvent(kind, payload);
        // Its data is the tags, not a Conversation: handled before the conversation.* case.
        } else if (kind === 'conversation.tagged') {
          if (payload && T.sameId(payload.conversationID, id)) applyTags(payload.tags);
        } else if (kind === 'message') {
          if (payload && typeof payload.seq === 'number' && payload.seq > state.lastSeq) addMessage(payload);
          else if (payload && !state.seen.has(payload.seq)) addMessage(payload);
        } else {
          if (kind.startsWith('conversation.') && payload) applyConversation(payload);
          scheduleRefresh();
        }
      },
      poll: refresh,
      pollMs: 3000,
    }).connect();

    updateControls();
  }

  const queueRoot = $('console');
  if (queueRoot && $('queue')) queuePage(queueRoot);
  const conversationRoot = $('conversation');
  if (conversationRoot && $('reply-form')) conversationPage(conversationRoot);
})();
