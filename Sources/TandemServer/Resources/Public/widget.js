// Tandem help widget. Embed on any page with
//   <script src="https://your-tandem-host/widget.js" async></script>
// Optional attributes on that script tag: data-label="Help" (button text),
// data-position="left" (bottom-left instead of bottom-right).
// A signed-in user can be verified: set, before the script runs,
//   window.TandemIdentity = { userId: '42', userHash: '<hex HMAC-SHA256 of the id>', email: 'a@b.c', name: 'Ada' };
// (the hash made on the host site's server with the workspace's identity secret; see README).
// It adds a floating button that opens the Tandem chat (/chat?embed=true) in a frame. Styles
// are set through the DOM style API, so the host page needs no stylesheet from us.
(function () {
  'use strict';

  if (window.__tandemWidget) return;
  window.__tandemWidget = true;

  function findScript() {
    if (document.currentScript && document.currentScript.src) return document.currentScript;
    const scripts = document.getElementsByTagName('script');
    for (let i = scripts.length - 1; i >= 0; i -= 1) {
      if (/\/widget\.js(\?|#|$)/.test(scripts[i].src)) return scripts[i];
    }
    return null;
  }

  const script = findScript();
  let origin;
  try {
    origin = new URL(script ? script.src : '/', window.location.href).origin;
  } catch (e) {
    return;
  }
  const label = (script && script.dataset.label) || 'Help';
  const left = !!(script && script.dataset.position === 'left');
  const chatURL = origin + '/chat?embed=true';

  const Z = '2147483000';
  let button;
  let panel;
  let frame;
  let open = false;

  function setStyles(element, styles) {
    for (const name of Object.keys(styles)) element.style.setProperty(name, styles[name]);
  }

  // Only the four known fields, as strings.
  function hostIdentity() {
    const given = window.TandemIdentity;
    if (!given || typeof given !== 'object') return null;
    const identity = {};
    for (const key of ['userId', 'userHash', 'email', 'name']) {
      if (typeof given[key] === 'string' && given[key] !== '') identity[key] = given[key];
    }
    return Object.keys(identity).length ? identity : null;
  }

  function isSmall() {
    return window.innerWidth < 480;
  }

  function layout() {
    if (!panel) return;
    const small = isSmall();
    // Full screen on phones: the chat's own Close button (and Escape) closes it there.
    button.style.setProperty('display', open && small ? 'none' : 'inline-block');
    setStyles(panel, small ? {
      left: '0', right: '0', bottom: '0', top: '0',
      width: '100%', height: '100%', 'border-radius': '0',
    } : {
      top: 'auto', bottom: '88px',
      left: left ? '20px' : 'auto', right: left ? 'auto' : '20px',
      width: '380px', height: 'min(600px, calc(100vh - 120px))', 'border-radius': '12px',
    });
  }

  function build() {
    panel = document.createElement('div');
    panel.setAttribute('role', 'dialog');
    panel.setAttribute('aria-label', 'Help chat');
    panel.id = 'tandem-widget-panel';
    setStyles(panel, {
      position: 'fixed', 'z-index': Z, display: 'none', overflow: 'hidden',
      background: '#ffffff', border: '1px solid #d5dbe3',
      'box-shadow': '0 12px 32px rgba(16, 24, 40, 0.24)',
    });
    frame = document.createElement('iframe');
    frame.title = 'Help chat';
    frame.src = chatURL;
    frame.setAttribute('allow', 'clipboard-write');
    // The identity goes to the chat by message, only to Tandem's origin, never in the URL.
    frame.addEventListener('load', () => {
      const identity = hostIdentity();
      if (identity && frame.contentWindow) frame.contentWindow.postMessage({ type: 'tandem:identity', identity }, origin);
    });
    setStyles(frame, { width: '100%', height: '100%', border: '0', display: 'block' });
    panel.appendChild(frame);
    document.body.appendChild(panel);
    button.setAttribute('aria-controls', panel.id);
    layout();
  }

  function setOpen(value) {
    if (value && !panel) build();
    open = value;
    panel.style.setProperty('display', open ? 'block' : 'none');
    button.setAttribute('aria-expanded', open ? 'true' : 'false');
    button.textContent = open ? 'Close help' : label;
    layout();
    if (open) {
      frame.focus();
    } else {
      button.focus();
    }
  }

  function init() {
    button = document.createElement('button');
    button.type = 'button';
    button.textContent = label;
    button.setAttribute('aria-expanded', 'false');
    button.setAttribute('aria-haspopup', 'dialog');
    setStyles(button, {
      position: 'fixed', bottom: '20px', 'z-index': String(Number(Z) + 1),
      left: left ? '20px' : 'auto', right: left ? 'auto' : '20px',
      'min-height': '48px', padding: '0 20px', 'border-radius': '999px',
      border: '2px solid #ffffff', background: '#1d4ed8', color: '#ffffff',
      font: '600 16px/1 system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif',
      cursor: 'pointer', 'box-shadow': '0 6px 16px rgba(16, 24, 40, 0.28)',
    });
    button.addEventListener('focus', () => {
      setStyles(button, { outline: '3px solid #1b2430', 'outline-offset': '2px' });
    });
    button.addEventListener('blur', () => {
      button.style.removeProperty('outline');
      button.style.removeProperty('outline-offset');
    });
    button.addEventListener('click', () => setOpen(!open));
    document.body.appendChild(button);

    document.addEventListener('keydown', (event) => {
      if (open && event.key === 'Escape') setOpen(false);
    });
    window.addEventListener('resize', layout);
    // The chat asks to be closed (its Close button, or Escape inside the frame).
    window.addEventListener('message', (event) => {
      if (event.origin !== origin || !frame || event.source !== frame.contentWindow) return;
      if (event.data && event.data.type === 'tandem:close' && open) setOpen(false);
    });
  }

  if (document.body) {
    init();
  } else {
    document.addEventListener('DOMContentLoaded', init);
  }
})();
