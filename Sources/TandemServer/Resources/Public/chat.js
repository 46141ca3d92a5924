// Tandem customer chat: resumes a conversation, or starts one with the customer's first
// message (never on page load, so visits and crawlers create nothing), sends messages, and
// keeps the thread live with server-sent events (falling back to polling). Every piece of text from the
// server or the customer is set with textContent, never parsed as HTML.
(function () {
  'use strict';

  const root = document.getElementById('chat');
  if (!root) return;

  const T = window.Tandem;
  const { $, parseDate } = T;
  const els = {
    messages: $('messages'),
    status: $('status'),
    error: $('chat-error'),
    composer: $('composer'),
    input: $('message-input'),
    send: $('send'),
    talk: $('talk-to-person'),
    resolvedYes: $('resolved-yes'),
    newConversation: $('new-conversation'),
    rating: $('rating'),
    rate: $('rate'),
    ratingThanks: $('rating-thanks'),
    close: $('close-chat'),
    typing: $('typing'),
    emailForm: $('email-form'),
    email: $('email-input'),
    emailThanks: $('email-thanks'),
  };

  const STORE_ID = 'tandem.conversation';
  const STORE_TOKEN = 'tandem.token';
  const EMBED = root.dataset.embed === 'true';
  const MAX_LENGTH = Number(root.dataset.maxLength) || 2000;
  const POLL_MS = 3000;
  const QUEUE_REFRESH_MS = 15000;

  const state = {
    id: null,
    token: null,
    conversation: null,
    seen: new Set(),
    messages: [], // {seq, role, agentName, date}, sorted by seq
    lastSeq: 0,
    busy: false,
    rated: false,
    polling: false,
    pollTicks: 0,
    queuePosition: null, // while queued: the place in the queue (1: next)
    expectedWait: null, // while queued: expected seconds until a person replies (null: unknown)
    hasEmail: true, // whether the conversation has an e-mail address (else the form offers one)
    queueTimer: null,
    pending: null, // {text, key}: reused when the same text is resent after a failure
    ready: false, // resumed, or ready to start a conversation with the first message
  };

  // Shown before the conversation exists; the server's own greeting replaces it.
  const WELCOME = "Hello! I'm Tandem's assistant. Ask me anything; you can ask for a person at any time.";

  // ---------- helpers ----------

  function storageGet(key) {
    try { return window.sessionStorage.getItem(key); } catch (e) { return null; }
  }
  function storageSet(key, value) {
    try { window.sessionStorage.setItem(key, value); } catch (e) { /* private mode: keep in memory only */ }
  }
  function storageRemove(key) {
    try { window.sessionStorage.removeItem(key); } catch (e) { /* ignore */ }
  }

  // The customer's API: the conversation's bearer token, no cookies.
  const api = T.apiClient({
    credentials: 'omit',
    token: () => state.token,
    unreachable: 'We could not reach the server. Check your connection and try again.',
    fallback: (status) => 'Something went wrong (HTTP ' + status + '). Please try again.',
  });

  const errorBox = T.messageBox('chat-error');
  const showError = errorBox.show;
  const clearError = errorBox.clear;

  // ---------- messages ----------

  function authorLabel(message) {
    switch (message.role) {
      case 'customer': return 'You';
      case 'ai': return 'Assistant';
      case 'agent': return message.agentName || 'Support team';
      default: return 'Tandem';
    }
  }

  // Adds messages not shown yet, in sequence order. Returns how many were new.
  function addMessages(list) {
    if (!Array.isArray(list)) return 0;
    let added = 0;
    for (const message of list) {
      if (!message || typeof message.seq !== 'number' || state.seen.has(message.seq)) continue;
      state.seen.add(message.seq);
      T.insertBySeq(els.messages, T.messageItem(message, authorLabel(message)));

      const entry = { seq: message.seq, role: message.role, agentName: message.agentName || null, date: parseDate(message.createdAt) };
      const index = state.messages.findIndex((m) => m.seq > message.seq);
      if (index === -1) state.messages.push(entry); else state.messages.splice(index, 0, entry);
      if (message.seq > state.lastSeq) state.lastSeq = message.seq;
      // Any answer (the assistant's, a person's, a notice) ends the wait for a held message.
      if (message.role !== 'customer') els.typing.hidden = true;
      added += 1;
    }
    if (added) {
      els.messages.dataset.lastSeq = String(state.lastSeq);
      els.messages.scrollTop = els.messages.scrollHeight;
      updateUI();
    }
    return added;
  }

  function clearMessages() {
    els.messages.textContent = '';
    els.typing.hidden = true;
    els.messages.dataset.lastSeq = '0';
    state.seen.clear();
    state.messages = [];
    state.lastSeq = 0;
  }

  // ---------- conversation state ----------

  // The agent currently helping: the author of the latest agent message since the claim.
  function helperName() {
    const c = state.conversation;
    const claimedAt = c ? parseDate(c.claimedAt) : null;
    for (let i = state.messages.length - 1; i >= 0; i -= 1) {
      const m = state.messages[i];
      if (m.role !== 'agent' || !m.agentName) continue;
      if (claimedAt && m.date && m.date.getTime() < claimedAt.getTime() - 1000) return null;
      return m.agentName;
    }
    return null;
  }

  function setConversation(conversation) {
    if (!conversation || (state.id && conversation.id && !T.sameId(conversation.id, state.id))) return;
    const wasQueued = state.conversation && state.conversation.status === 'queued';
    state.conversation = conversation;
    // While waiting for a person, the place in the queue is fetched again now and then (others
    // are claimed without an event on this conversation).
    if (conversation.status === 'queued' && !state.queueTimer) {
      state.queueTimer = setInterval(catchUp, QUEUE_REFRESH_MS);
      if (!wasQueued) catchUp();
    } else if (conversation.status !== 'queued' && state.queueTimer) {
      clearInterval(state.queueTimer);
      state.queueTimer = null;
      state.queuePosition = null;
    }
    if (conversation.rating !== null && conversation.rating !== undefined) state.rated = true;
    updateUI();
  }

  // Plain words for an expected wait, like the server's ExpectedWait.describe.
  function waitText(seconds) {
    if (seconds < 60) return 'less than a minute';
    const minutes = Math.round(seconds / 60);
    if (minutes < 90) return minutes === 1 ? 'about a minute' : 'about ' + minutes + ' minutes';
    const hours = Math.round(seconds / 3600);
    if (hours < 36) return hours === 1 ? 'about an hour' : 'about ' + hours + ' hours';
    const days = Math.round(seconds / 86400);
    return days === 1 ? 'about a day' : 'about ' + days + ' days';
  }

  // The answer of GET /conversations/{id}: where the customer stands while queued.
  function setWaiting(data) {
    state.queuePosition = data.queuePosition || null;
    state.expectedWait = typeof data.expectedWaitSeconds === 'number' ? data.expectedWaitSeconds : null;
    state.hasEmail = data.hasEmail !== false;
  }

  function statusText(status) {
    switch (status) {
      case 'ai': return "You are talking to Tandem's assistant";
      case 'queued': {
        const p = state.queuePosition;
        const wait = typeof state.expectedWait === 'number' ? '; expected wait ' + waitText(state.expectedWait) : '';
        if (!p) return 'Waiting for a person' + wait;
        return 'Waiting for a person: ' + (p === 1 ? "you're next" : "you're number " + p + ' in the queue') + wait;
      }
      case 'assigned': {
        const name = helperName();
        return name ? name + ' is helping you' : 'A person is helping you';
      }
      case 'resolved': return 'Resolved';
      default: return state.ready ? "You are talking to Tandem's assistant" : 'Connecting…';
    }
  }

  function updateUI() {
    const c = state.conversation;
    const status = c ? c.status : null;
    const resolved = status === 'resolved';
    const last = state.messages.length ? state.messages[state.messages.length - 1] : null;

    const text = statusText(status);
    if (els.status.textContent !== text) els.status.textContent = text;
    els.status.dataset.state = status || 'connecting';

    els.talk.hidden = resolved;
    els.talk.disabled = !state.ready || state.busy;
    els.resolvedYes.hidden = !(status === 'ai' && last && last.role === 'ai');
    els.resolvedYes.disabled = state.busy;

    els.rating.hidden = !(resolved && !state.rated);
    els.ratingThanks.hidden = !(resolved && state.rated);
    els.newConversation.hidden = !resolved;
    // Offered while waiting for a person, when there is no address yet to continue by e-mail.
    if (els.emailForm) els.emailForm.hidden = !(status === 'queued' || status === 'assigned') || state.hasEmail;

    els.input.disabled = !state.ready || resolved;
    els.send.disabled = !state.ready || resolved || state.busy;
    els.rate.disabled = state.busy;
    els.input.placeholder = resolved ? 'This conversation is resolved.' : 'Type your question…';
  }

  function setBusy(busy) {
    state.busy = busy;
    root.setAttribute('aria-busy', busy ? 'true' : 'false');
    updateUI();
  }

  // ---------- starting ----------

  async function start() {
    const id = storageGet(STORE_ID);
    const token = storageGet(STORE_TOKEN);
    if (id && token) {
      state.id = id;
      state.token = token;
      try {
        const data = await api('GET', '/api/v1/conversations/' + encodeURIComponent(id));
        state.ready = true;
        addMessages(data.messages);
        setWaiting(data);
        setConversation(data.conversation);
        connect();
        return;
      } catch (e) {
        if (e.status !== 404 && e.status !== 401) {
          showError(e.message);
          updateUI();
          setTimeout(start, 5000);
          return;
        }
        forget();
      }
    }
    welcome();
  }

  // A fresh chat: the welcome line, and the conversation created with the first message.
  function welcome() {
    const item = T.messageItem({ seq: 0, role: 'system', createdAt: null, text: WELCOME }, authorLabel({ role: 'system' }));
    item.dataset.local = 'true';
    els.messages.appendChild(item);
    state.ready = true;
    updateUI();
  }

  // Creates the conversation if there is none yet; false (with the error shown) if that failed.
  async function ensureConversation() {
    if (state.id) return true;
    try {
      const data = await api('POST', '/api/v1/conversations', state.identity || {});
      state.id = data.conversation.id;
      state.token = data.token;
      storageSet(STORE_ID, state.id);
      storageSet(STORE_TOKEN, state.token);
      els.messages.querySelectorAll('[data-local]').forEach((node) => node.remove());
      addMessages(data.messages);
      setConversation(data.conversation);
      connect();
      return true;
    } catch (e) {
      showError(e.message);
      return false;
    }
  }

  function forget() {
    storageRemove(STORE_ID);
    storageRemove(STORE_TOKEN);
    disconnect();
    state.id = null;
    state.token = null;
    state.conversation = null;
    state.rated = false;
    state.pending = null;
    state.ready = false;
    if (state.queueTimer) clearInterval(state.queueTimer);
    state.queueTimer = null;
    state.queuePosition = null;
    clearMessages();
  }

  // ---------- live updates ----------

  function conversationPath(suffix) {
    return '/api/v1/conversations/' + encodeURIComponent(state.id) + (suffix || '');
  }

  const stream = T.live({
    url: () => conversationPath('/events?token=' + encodeURIComponent(state.token)),
    kinds: ['message'].concat(T.CONVERSATION_EVENTS),
    onEvent(kind, payload) {
      if (kind === 'message') {
        if (payload) addMessages([payload]);
      } else {
        setConversation(payload);
      }
    },
    poll,
    pollMs: POLL_MS,
    onOpen: catchUp,
    canReconnect: () => !!state.id,
  });
  const connect = stream.connect;
  const disconnect = stream.disconnect;

  async function poll() {
    if (state.polling || !state.id) return;
    state.polling = true;
    try {
      const messages = await api('GET', conversationPath('/messages?after=' + state.lastSeq));
      const added = addMessages(messages);
      state.pollTicks += 1;
      // Status changes without a message (a claim, a return to the assistant) show up too.
      if (added || state.pollTicks % 5 === 0) {
        const data = await api('GET', conversationPath());
        setConversation(data.conversation);
      }
    } catch (e) {
      if (e.status === 404) {
        stream.stopPolling();
        showError('This conversation is no longer available. Please start a new one.');
        els.newConversation.hidden = false;
      }
    } finally {
      state.polling = false;
    }
  }

  async function catchUp() {
    if (!state.id) return;
    try {
      const data = await api('GET', conversationPath());
      addMessages(data.messages);
      setWaiting(data);
      setConversation(data.conversation);
    } catch (e) { /* the stream or the next poll will bring it */ }
  }

  // ---------- actions ----------

  async function sendMessage() {
    const text = els.input.value.trim();
    if (state.busy || !state.ready) return;
    if (!text) {
      showError('Please type a message first.');
      els.input.focus();
      return;
    }
    if (text.length > MAX_LENGTH) {
      showError('Your message is too long: the limit is ' + MAX_LENGTH + ' characters.');
      return;
    }
    clearError();
    if (!state.pending || state.pending.text !== text) state.pending = { text, key: T.randomId() };
    setBusy(true);
    try {
      if (!(await ensureConversation())) return;
      const data = await api('POST', conversationPath('/messages'), { text }, { headers: { 'Idempotency-Key': state.pending.key } });
      state.pending = null;
      els.input.value = '';
      addMessages([data.message, data.reply].filter(Boolean));
      // pending: the assistant waits a moment for the rest of the customer's burst; the
      // answer arrives on the stream.
      els.typing.hidden = data.action !== 'pending';
      setConversation(data.conversation);
    } catch (e) {
      if (e.status === 503 && e.retryAfter && e.retryAfter <= 30) {
        // The server was too busy to take it (nothing stored): send it again, same key.
        showError('We are very busy right now; sending your message again in ' + e.retryAfter + ' s…');
        setTimeout(() => { if (state.pending && els.input.value.trim() === state.pending.text) sendMessage(); }, e.retryAfter * 1000);
      } else {
        showError(e.message);
      }
      if (e.status === 409) catchUp();
    } finally {
      setBusy(false);
      if (!els.input.disabled) els.input.focus();
    }
  }

  async function conversationAction(suffix, body) {
    if (state.busy || !state.ready) return null;
    clearError();
    setBusy(true);
    try {
      if (!(await ensureConversation())) return null;
      const conversation = await api('POST', conversationPath(suffix), body === undefined ? {} : body);
      setConversation(conversation);
      catchUp();
      return conversation;
    } catch (e) {
      showError(e.message);
      return null;
    } finally {
      setBusy(false);
    }
  }

  els.composer.addEventListener('submit', (event) => {
    event.preventDefault();
    sendMessage();
  });

  els.input.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      sendMessage();
    }
  });

  els.talk.addEventListener('click', () => conversationAction('/handoff'));

  els.resolvedYes.addEventListener('click', async () => {
    const conversation = await conversationAction('/resolve');
    if (conversation && !els.rating.hidden) {
      const first = document.getElementById('score-1');
      if (first) first.focus();
    }
  });

  els.rating.addEventListener('submit', async (event) => {
    event.preventDefault();
    const checked = els.rating.querySelector('input[name="score"]:checked');
    if (!checked) {
      showError('Please choose a score from 1 to 5.');
      return;
    }
    const conversation = await conversationAction('/rating', { score: Number(checked.value) });
    if (conversation) {
      state.rated = true;
      updateUI();
      els.ratingThanks.focus();
    }
  });

  if (els.emailForm) els.emailForm.addEventListener('submit', async (event) => {
    event.preventDefault();
    const email = els.email.value.trim();
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(email)) {
      showError('Please enter an e-mail address such as name@example.com.');
      els.email.focus();
      return;
    }
    if (state.busy || !state.ready) return;
    clearError();
    setBusy(true);
    try {
      setConversation(await api('PUT', conversationPath('/email'), { email }));
      state.hasEmail = true;
      els.emailThanks.hidden = false;
      updateUI();
      els.emailThanks.focus();
    } catch (e) {
      showError(e.message);
    } finally {
      setBusy(false);
    }
  });

  els.newConversation.addEventListener('click', async () => {
    forget();
    clearError();
    welcome();
    els.input.focus();
  });

  // Inside the widget: ask the host page to close the frame.
  function requestClose() {
    if (window.parent && window.parent !== window) {
      window.parent.postMessage({ type: 'tandem:close' }, '*');
    }
  }
  if (els.close) els.close.addEventListener('click', requestClose);
  // The host page's signed identity (widget.js); the server checks the signature.
  if (EMBED && window.parent !== window) {
    window.addEventListener('message', (event) => {
      if (event.source !== window.parent || !event.data || event.data.type !== 'tandem:identity') return;
      const given = event.data.identity || {};
      const identity = {};
      for (const key of ['userId', 'userHash', 'email', 'name']) {
        if (typeof given[key] === 'string' && given[key] !== '') identity[key] = given[key];
      }
      state.identity = identity;
    });
  }
  if (EMBED) {
    document.addEventListener('keydown', (event) => {
      if (event.key === 'Escape') requestClose();
    });
  }

  updateUI();
  start();
})();
