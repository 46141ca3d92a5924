// Tandem audits (audits.leaf): the AI answers sampled for review, each with the customer's
// question, the answer and the intent it answered with; a verdict (correct, or wrong with the
// right intent) goes to POST /api/v1/audits/:id, which labels the message and lets the quality
// guardrail re-judge the intent. Supervisors also see the guardrail's state and its log.
// Everything goes through the JSON API with the session cookie; all text from the server is
// set with textContent, never parsed as HTML.
(function () {
  'use strict';

  const T = window.Tandem;
  const { $, element, formatDateTime, messageBox } = T;

  const api = T.consoleApi();
  const page = $('audits-page');
  const supervisor = page && page.dataset.supervisor === 'true';
  const error = messageBox('audits-error');
  const status = messageBox('audits-status');
  const list = $('audits');

  const KIND_LABELS = {
    'switch-to-draft': 'Switched to draft-only',
    'restore-auto': 'Automatic answers restored',
    override: 'Supervisor override',
    'kill-switch-on': 'Kill switch on',
    'kill-switch-off': 'Kill switch off',
    'leave-shadow': 'Left shadow mode',
  };

  let intents = [];
  let pending = 0;

  function percent(value, digits) {
    return typeof value === 'number' ? (value * 100).toFixed(digits === undefined ? 1 : digits) + '%' : '—';
  }

  function setCount(n) {
    pending = Math.max(0, n);
    $('audit-count').textContent = String(pending);
    $('audits-empty').hidden = pending > 0 || list.children.length > 0;
  }

  // ---------- one audit ----------

  function intentSelect(id, current) {
    const select = element('select', 'input audit__select');
    select.id = id;
    const prompt = element('option', null, 'Choose the right intent…');
    prompt.value = '';
    select.appendChild(prompt);
    for (const intent of intents) {
      if (intent.key === current) continue;
      const option = element('option', null, intent.title + ' (' + intent.key + ')');
      option.value = intent.key;
      select.appendChild(option);
    }
    const unknown = element('option', null, 'unknown: not in the knowledge base');
    unknown.value = 'unknown';
    select.appendChild(unknown);
    return select;
  }

  function block(label, text, className) {
    const wrap = element('div', 'audit__block ' + className);
    wrap.append(element('p', 'audit__label', label), element('p', 'audit__text', text == null || text === '' ? '(not available)' : text));
    return wrap;
  }

  function auditItem(audit) {
    const item = element('li', 'audit');
    item.dataset.id = audit.id;
    const head = element('div', 'audit__head');
    const intent = element('span', 'audit__intent', audit.intentTitle || audit.intent);
    const key = element('code', 'audit__key', audit.intent);
    const when = element('span', 'audit__time muted', formatDateTime(audit.createdAt));
    head.append(intent, key, when);
    const why = element('p', 'audit__reason hint', audit.sampleReason ? 'Why it was sampled: ' + audit.sampleReason : '');

    const actions = element('div', 'audit__actions');
    const correct = element('button', 'button button--success button--small audit__correct', 'Correct');
    correct.type = 'button';
    const wrong = element('button', 'button button--danger button--small audit__wrong', 'Wrong');
    wrong.type = 'button';
    wrong.setAttribute('aria-expanded', 'false');
    actions.append(correct, wrong);

    const form = element('form', 'audit__fix');
    form.hidden = true;
    const selectId = 'fix-' + audit.id;
    const label = element('label', 'field__label', 'What was the customer asking about?');
    label.htmlFor = selectId;
    const select = intentSelect(selectId, audit.intent);
    const save = element('button', 'button button--small audit__save', 'Save verdict');
    save.type = 'submit';
    const row = element('div', 'audit__fix-row');
    row.append(select, save);
    form.append(label, row);

    const result = element('p', 'audit__result');
    result.hidden = true;
    result.setAttribute('role', 'status');

    item.append(head, block('Customer asked', audit.question, 'audit__block--question'),
      block('The AI answered', audit.answer, 'audit__block--answer'), why, actions, form, result);

    async function review(isCorrect, label) {
      error.clear();
      for (const b of item.querySelectorAll('button')) b.disabled = true;
      try {
        const body = isCorrect ? { correct: true } : { correct: false, intent: label };
        const outcome = await api('POST', '/api/v1/audits/' + encodeURIComponent(audit.id), body);
        actions.hidden = true;
        form.hidden = true;
        item.classList.add(isCorrect ? 'audit--correct' : 'audit--wrong');
        let text = isCorrect ? 'Marked correct.' : 'Marked wrong: labelled ' + (outcome && outcome.label ? outcome.label : label) + '.';
        const g = outcome && outcome.guardrail;
        if (g && g.kind === 'switch-to-draft') text += ' The guardrail switched this intent to draft-only.';
        if (g && g.kind === 'restore-auto') text += ' The guardrail restored automatic answers for this intent.';
        result.textContent = text;
        result.hidden = false;
        setCount(pending - 1);
        status.show(text);
        if (supervisor) loadGuardrail();
      } catch (e) {
        for (const b of item.querySelectorAll('button')) b.disabled = false;
        error.show(e.message);
        if (e.status === 409) {
          result.textContent = 'Already reviewed by someone else.';
          result.hidden = false;
          actions.hidden = true;
          form.hidden = true;
        }
      }
    }

    correct.addEventListener('click', () => review(true));
    wrong.addEventListener('click', () => {
      form.hidden = !form.hidden;
      wrong.setAttribute('aria-expanded', String(!form.hidden));
      if (!form.hidden) select.focus();
    });
    form.addEventListener('submit', (event) => {
      event.preventDefault();
      if (!select.value) {
        error.show('Choose the intent the customer was really asking about, or “unknown”.');
        select.focus();
        return;
      }
      review(false, select.value);
    });
    return item;
  }

  async function loadAudits() {
    try {
      const [audits, all] = await Promise.all([api('GET', '/api/v1/audits'), api('GET', '/api/v1/intents')]);
      intents = Array.isArray(all) ? all.map((i) => ({ key: i.key, title: i.title })) : [];
      list.textContent = '';
      for (const audit of Array.isArray(audits) ? audits : []) list.appendChild(auditItem(audit));
      setCount(list.children.length);
    } catch (e) {
      error.show(e.message);
    } finally {
      $('audits-loading').hidden = true;
    }
  }

  // ---------- the guardrail (supervisors) ----------

  async function loadGuardrail() {
    let state;
    try {
      state = await api('GET', '/api/v1/guardrail');
    } catch (e) {
      error.show(e.message);
      return;
    }
    const w = state.workspace || {};
    let summary = 'Target: at most ' + percent(state.targetRisk) + ' wrong answers, with ' + percent(state.confidenceLevel, 0) + ' confidence. ';
    summary += w.audited ? 'All audits: ' + w.wrong + ' wrong of ' + w.audited + ' (upper bound ' + percent(w.upperBound) + ').' : 'No audits reviewed yet.';
    if (state.killSwitch) summary += ' The kill switch is on: every message goes to a person.';
    $('guardrail-summary').textContent = summary;

    const guarded = $('guarded');
    guarded.textContent = '';
    for (const intent of (state.intents || []).filter((i) => i.guarded)) {
      const li = element('li', 'guarded__item');
      // How far people's verdicts on its drafts are from bringing it back on their own.
      const r = intent.restore;
      const progress = !r ? '' : r.certified ? 'the evidence since the switch certifies the target'
        : r.verdicts.wrong + ' wrong of ' + r.verdicts.audited + ' verdicts since the switch; at least ' + r.agreeingNeeded
          + ' more agreeing to answer on its own';
      li.append(element('span', 'guarded__title', intent.title), document.createTextNode(' '), element('span', 'muted', progress));
      guarded.appendChild(li);
    }
    $('guarded-empty').hidden = guarded.children.length > 0;

    // New intents: people answer until their labels prove the target; the evidence says how far off that is.
    const shadow = $('shadow');
    shadow.textContent = '';
    for (const intent of (state.intents || []).filter((i) => i.shadow)) {
      const li = element('li', 'guarded__item');
      const needed = intent.agreeingLabelsNeeded;
      li.append(element('span', 'guarded__title', intent.title), document.createTextNode(' '),
        element('span', 'muted', needed > 0 ? 'at least ' + needed + ' more agreeing label' + (needed === 1 ? '' : 's') + ' to answer on its own' : 'ready to leave shadow mode'));
      const evidence = element('ul', 'guardrail-event__evidence');
      for (const line of intent.shadowEvidence || []) evidence.appendChild(element('li', null, line));
      li.appendChild(evidence);
      shadow.appendChild(li);
    }
    $('shadow-empty').hidden = shadow.children.length > 0;

    const events = $('guardrail-events');
    events.textContent = '';
    for (const event of (state.events || []).slice(0, 20)) {
      const li = element('li', 'guardrail-event guardrail-event--' + String(event.kind).replace(/[^a-z-]/g, ''));
      const head = element('p', 'guardrail-event__head');
      head.append(element('span', 'guardrail-event__kind', KIND_LABELS[event.kind] || event.kind));
      if (event.intent) head.append(document.createTextNode(' · '), element('code', null, event.intent));
      const meta = element('p', 'guardrail-event__meta muted', [formatDateTime(event.createdAt), event.actor].filter(Boolean).join(' · '));
      const evidence = element('ul', 'guardrail-event__evidence');
      for (const line of event.evidence || []) evidence.appendChild(element('li', null, line));
      li.append(head, meta, evidence);
      events.appendChild(li);
    }
    $('guardrail-events-empty').hidden = events.children.length > 0;
  }

  loadAudits();
  if (supervisor) loadGuardrail();
})();
