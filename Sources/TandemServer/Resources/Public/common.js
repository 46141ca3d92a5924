// Helpers shared by chat.js, console.js and knowledge-base.js, loaded before them as
// window.Tandem. No build step and no modules: each page script reads what it needs from here.
// Text from the server or the user is only ever set with textContent, never parsed as HTML.
window.Tandem = (function () {
  'use strict';

  const $ = (id) => document.getElementById(id);

  // Event names of the conversation lifecycle, as sent on the event streams.
  const CONVERSATION_EVENTS = [
    'conversation.created', 'conversation.handed_off', 'conversation.claimed', 'conversation.assigned', 'conversation.released',
    'conversation.reassigned', 'conversation.returned_to_ai', 'conversation.resolved', 'conversation.rated',
  ];
  const ROLES = ['customer', 'ai', 'agent', 'system'];

  // ---------- the JSON API ----------

  class ApiError extends Error {
    constructor(message, status, retryAfter) {
      super(message);
      this.status = status;
      // Seconds from the Retry-After header of a 429 or 503, when the server sent one.
      this.retryAfter = retryAfter;
    }
  }

  // Returns api(method, path, body, options): `body` is JSON-encoded unless options.raw
  // ({ text, type }) is given to send as is; options.headers adds request headers. Resolves to
  // the parsed JSON (or null); rejects with an ApiError whose message can be shown to people.
  // config: credentials, token() (a bearer token, if any), unreachable (the message when the
  // server cannot be reached), fallback(status) (the message for an error response without one),
  // statusMessages ({ status: message }, taking precedence over fallback), onUnauthorized()
  // (called on 401, before the error is thrown).
  function apiClient(config) {
    const c = config || {};
    const fallback = c.fallback || ((status) => 'Something went wrong (HTTP ' + status + ').');
    return async function api(method, path, body, options) {
      const opts = options || {};
      const headers = { Accept: 'application/json' };
      const token = c.token ? c.token() : null;
      if (token) headers.Authorization = 'Bearer ' + token;
      let payload;
      if (opts.raw) {
        headers['Content-Type'] = opts.raw.type;
        payload = opts.raw.text;
      } else if (body !== undefined) {
        headers['Content-Type'] = 'application/json';
        payload = JSON.stringify(body);
      }
      Object.assign(headers, opts.headers || {});
      let response;
      try {
        response = await fetch(path, {
          method,
          headers,
          body: payload,
          credentials: c.credentials || 'same-origin',
          cache: 'no-store',
        });
      } catch (e) {
        throw new ApiError(c.unreachable || 'The server cannot be reached.', 0);
      }
      if (response.status === 401 && c.onUnauthorized) {
        c.onUnauthorized();
        throw new ApiError('Your session has ended; please sign in again.', 401);
      }
      const data = parseJSON(await response.text());
      if (!response.ok) {
        let message = data && data.error && typeof data.error.message === 'string' ? data.error.message : null;
        if (message === null) {
          const known = c.statusMessages && c.statusMessages[response.status];
          message = known || fallback(response.status);
        }
        const wait = Number(response.headers.get('Retry-After'));
        throw new ApiError(message, response.status, Number.isFinite(wait) && wait > 0 ? wait : null);
      }
      return data;
    };
  }

  // The console's pages use the session cookie; a 401 sends the agent to the login page.
  function consoleApi(extra) {
    return apiClient(Object.assign({
      credentials: 'same-origin',
      unreachable: 'The server cannot be reached. Check the connection and try again.',
      onUnauthorized() {
        window.location.assign('/console/login?next=' + encodeURIComponent(window.location.pathname));
      },
    }, extra || {}));
  }

  function parseJSON(text) {
    if (!text) return null;
    try { return JSON.parse(text); } catch (e) { return null; }
  }

  // ---------- values ----------

  function randomId() {
    if (window.crypto && typeof window.crypto.randomUUID === 'function') return window.crypto.randomUUID();
    const bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
  }

  function sameId(a, b) {
    return typeof a === 'string' && typeof b === 'string' && a.toLowerCase() === b.toLowerCase();
  }

  // Dates arrive as ISO-8601 strings; a number is seconds since 2001-01-01 (Foundation's
  // reference date) unless it is clearly a Unix time. A Date is taken as is.
  function parseDate(value) {
    if (value === null || value === undefined || value === '') return null;
    let date;
    if (typeof value === 'number') {
      date = new Date(value > 1.5e9 ? value * 1000 : (value + 978307200) * 1000);
    } else {
      date = new Date(value);
    }
    return Number.isNaN(date.getTime()) ? null : date;
  }

  const pad2 = (n) => String(n).padStart(2, '0');

  // The one time format of every page: 24-hour HH:MM in the user's own time zone.
  function formatTime(value) {
    const date = parseDate(value);
    if (!date) return '';
    return pad2(date.getHours()) + ':' + pad2(date.getMinutes());
  }

  // "YYYY-MM-DD HH:MM" in the user's time zone, for things that can be days apart.
  function formatDateTime(value) {
    const date = parseDate(value);
    if (!date) return '';
    return date.getFullYear() + '-' + pad2(date.getMonth() + 1) + '-' + pad2(date.getDate()) + ' ' + formatTime(date);
  }

  // ---------- the page ----------

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // A <time> element showing formatTime(value), with its machine-readable datetime.
  function timeElement(className, value) {
    const time = element('time', className, formatTime(value));
    const date = parseDate(value);
    if (date) time.dateTime = date.toISOString();
    return time;
  }

  // An alert paragraph (role="alert" or "status") that is hidden while it has nothing to say.
  function messageBox(id) {
    const box = $(id);
    return {
      show(message) {
        if (!box) return;
        box.textContent = message;
        box.hidden = false;
      },
      clear() {
        if (!box) return;
        box.textContent = '';
        box.hidden = true;
      },
    };
  }

  // One message of a conversation thread, as the pages render it:
  // <li class="message message--role" data-seq><p class="message__meta">author time</p><p class="message__text">.
  function messageItem(message, author) {
    const role = ROLES.includes(message.role) ? message.role : 'system';
    const item = element('li', 'message message--' + role);
    item.dataset.seq = String(message.seq);
    const meta = element('p', 'message__meta');
    meta.append(element('span', 'message__author', author), document.createTextNode(' '));
    if (parseDate(message.createdAt)) meta.appendChild(timeElement('message__time', message.createdAt));
    item.append(meta, element('p', 'message__text', message.text == null ? '' : message.text));
    return item;
  }

  // Inserts a message item into a thread list, keeping the list in data-seq order.
  function insertBySeq(list, item) {
    const seq = Number(item.dataset.seq);
    let before = null;
    for (const child of list.children) {
      if (Number(child.dataset.seq) > seq) { before = child; break; }
    }
    list.insertBefore(item, before);
  }

  // Re-shows a message's time (e.g. one rendered by the server) in the page's time format.
  function retimeMessage(list, message) {
    if (!message || typeof message.seq !== 'number' || !parseDate(message.createdAt)) return;
    const item = list.querySelector('.message[data-seq="' + message.seq + '"]');
    const old = item && item.querySelector('.message__time');
    if (old && !old.dateTime) old.replaceWith(timeElement('message__time', message.createdAt));
  }

  // Calls fn once things have been quiet for ms milliseconds.
  function debounce(fn, ms) {
    let timer = null;
    return () => {
      if (timer) window.clearTimeout(timer);
      timer = window.setTimeout(() => { timer = null; fn(); }, ms);
    };
  }

  // ---------- live updates ----------

  // Keeps a page current with server-sent events, polling while the stream is down.
  // options: url (a string, or a function returning one), kinds (event names to listen to),
  // onEvent(kind, payload), poll() and pollMs for the fallback, onOpen() when the stream
  // (re)connects (default: poll() once to catch up), onMode('live' | 'polling'), and
  // canReconnect() deciding whether a page restored from the back/forward cache reconnects.
  // Returns { connect, disconnect, stopPolling }; call connect() to start.
  // One event stream per page: the page's main script hands the events other scripts on the
  // page care about (notes, mentions) to them as a DOM event, 'tandem:event'.
  function shareEvent(kind, payload) {
    document.dispatchEvent(new CustomEvent('tandem:event', { detail: { kind, payload } }));
  }

  function onSharedEvent(kind, handler) {
    document.addEventListener('tandem:event', (event) => { if (event.detail.kind === kind) handler(event.detail.payload); });
  }

  function live(options) {
    const o = options;
    let source = null;
    let timer = null;

    function startPolling() {
      if (timer) return;
      timer = window.setInterval(o.poll, o.pollMs);
      if (o.onMode) o.onMode('polling');
    }
    function stopPolling() {
      if (timer) window.clearInterval(timer);
      timer = null;
    }
    function disconnect() {
      if (source) {
        source.close();
        source = null;
      }
      stopPolling();
    }
    function connect() {
      disconnect();
      if (!('EventSource' in window)) { startPolling(); return; }
      const stream = new EventSource(typeof o.url === 'function' ? o.url() : o.url);
      source = stream;
      stream.addEventListener('open', () => {
        stopPolling();
        if (o.onMode) o.onMode('live');
        (o.onOpen || o.poll)();
      });
      for (const kind of o.kinds) {
        stream.addEventListener(kind, (event) => o.onEvent(kind, parseJSON(event.data)));
      }
      stream.addEventListener('error', () => {
        if (stream.readyState === EventSource.CLOSED) {
          stream.close();
          if (source === stream) source = null;
        }
        startPolling();
      });
    }

    window.addEventListener('pagehide', disconnect);
    window.addEventListener('pageshow', (event) => {
      if (event.persisted && (!o.canReconnect || o.canReconnect())) connect();
    });
    return { connect, disconnect, stopPolling };
  }

  return Object.freeze({
    $,
    CONVERSATION_EVENTS,
    ROLES,
    ApiError,
    apiClient,
    consoleApi,
    parseJSON,
    randomId,
    sameId,
    parseDate,
    formatTime,
    formatDateTime,
    element,
    timeElement,
    messageBox,
    messageItem,
    insertBySeq,
    retimeMessage,
    debounce,
    live,
    shareEvent,
    onSharedEvent,
  });
})();
