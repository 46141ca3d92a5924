// Tandem knowledge base: the intent list, new intents, import/export and the model panel
// (knowledge-base.leaf), and one intent's answer, settings and example phrasings (intent.leaf).
// Everything goes through the JSON API with the session cookie, as in console.js. All text
// from the server or the user is set with textContent, never parsed as HTML.
(function () {
  'use strict';

  const T = window.Tandem;
  const { $, element, formatDateTime, messageBox } = T;

  const MODES = ['auto', 'draft-only', 'off'];
  const MAX_IMPORT_BYTES = 8 * 1024 * 1024;
  const KEY_PATTERN = /^[a-z0-9_]{1,64}$/;

  // The console's API client (session cookie, 401 → sign-in page).
  const api = T.consoleApi({ statusMessages: { 413: 'The file is too large for the server.' } });

  // ---------- helpers ----------

  // A button that asks to be pressed twice (no modal dialog), e.g. for deleting.
  function confirmTwice(button, prompt, action) {
    const label = button.textContent;
    let armed = null;
    const disarm = () => {
      if (armed) window.clearTimeout(armed);
      armed = null;
      button.textContent = label;
      button.removeAttribute('aria-describedby');
    };
    button.addEventListener('click', async () => {
      if (!armed) {
        button.textContent = prompt;
        armed = window.setTimeout(disarm, 5000);
        return;
      }
      disarm();
      await action();
    });
    button.addEventListener('blur', () => { if (armed) window.setTimeout(disarm, 200); });
  }

  function lines(text) {
    return String(text || '').split(/\r?\n/).map((s) => s.trim()).filter((s) => s.length > 0);
  }

  // ---------- the knowledge-base page ----------

  function knowledgeBasePage() {
    const error = messageBox('kb-error');
    const status = messageBox('kb-status');
    const table = $('intents');
    const tbody = table.tBodies[0];

    function intentRow(intent) {
      const tr = element('tr');
      tr.dataset.key = intent.key;
      const key = element('td');
      key.appendChild(element('code', null, intent.key));
      const title = element('td', null, intent.title);
      const sensitive = element('td');
      sensitive.appendChild(intent.sensitive
        ? element('span', 'badge badge--sensitive', 'Sensitive')
        : element('span', 'muted', 'No'));
      const mode = MODES.includes(intent.automation) ? intent.automation : 'off';
      const automation = element('td');
      automation.appendChild(element('span', 'badge badge--mode badge--mode-' + mode, intent.automation));
      const examples = element('td', 'num', Array.isArray(intent.examples) ? intent.examples.length : 0);
      const edit = element('td');
      const link = element('a', null, 'Edit');
      link.href = '/console/knowledge-base/' + encodeURIComponent(intent.key);
      link.appendChild(element('span', 'visually-hidden', ' ' + intent.title));
      edit.appendChild(link);
      tr.append(key, title, sensitive, automation, examples, edit);
      return tr;
    }

    function renderIntents(intents) {
      tbody.textContent = '';
      for (const intent of intents) tbody.appendChild(intentRow(intent));
      $('intent-count').textContent = String(intents.length);
      $('intents-empty').hidden = intents.length > 0;
    }

    async function loadIntents() {
      try {
        renderIntents(await api('GET', '/api/v1/intents'));
      } catch (e) {
        if (e.status !== 401) error.show(e.message);
      }
    }

    // ----- new intent -----

    const newForm = $('new-intent');
    newForm.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.clear();
      status.clear();
      const key = $('new-key').value.trim();
      const title = $('new-title').value.trim();
      const answer = $('new-answer').value.trim();
      if (!KEY_PATTERN.test(key)) {
        error.show('The key must be 1–64 lower-case letters, digits or _ (for example reset_password).');
        $('new-key').focus();
        return;
      }
      if (!title) { error.show('Give the intent a title.'); $('new-title').focus(); return; }
      if (!answer) { error.show('Write the approved answer.'); $('new-answer').focus(); return; }
      const examplesField = $('new-examples');
      const body = {
        key,
        title,
        answer,
        sensitive: $('new-sensitive').checked,
        automation: $('new-automation').value,
        examples: examplesField ? lines(examplesField.value) : [],
      };
      const button = $('create-intent');
      button.disabled = true;
      try {
        const created = await api('POST', '/api/v1/intents', body);
        newForm.reset();
        await loadIntents();
        status.show('Created the intent “' + created.title + '”' +
          (created.examples.length ? ' with ' + created.examples.length + ' example' + (created.examples.length === 1 ? '' : 's') + '; the model retrains in the background.'
            : '. Add example phrasings on its page so the assistant can recognise it.'));
        const row = tbody.querySelector('tr[data-key="' + CSS.escape(created.key) + '"] a');
        if (row) row.focus();
        watchTraining();
      } catch (e) {
        if (e.status !== 401) error.show(e.message);
      } finally {
        button.disabled = false;
      }
    });

    // ----- import -----

    const importForm = $('import-form');
    importForm.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.clear();
      status.clear();
      const input = $('import-file');
      const file = input.files && input.files[0];
      if (!file) {
        error.show('Choose a .json or .csv file to import.');
        input.focus();
        return;
      }
      if (file.size > MAX_IMPORT_BYTES) {
        error.show('The file is too large: the limit is 8 MB.');
        return;
      }
      const name = file.name.toLowerCase();
      const isCSV = name.endsWith('.csv') || file.type === 'text/csv';
      const isJSON = name.endsWith('.json') || file.type === 'application/json';
      if (!isCSV && !isJSON) {
        error.show('Import a .json file (the export’s format) or a .csv file with the columns key,title,answer,sensitive,automation,example.');
        return;
      }
      const button = $('import');
      button.disabled = true;
      try {
        const text = await file.text();
        if (isJSON) {
          try { JSON.parse(text); } catch (e) {
            throw new T.ApiError('The file is not valid JSON: ' + e.message, 400);
          }
        }
        const result = await api('POST', '/api/v1/knowledge-base/import' + (isCSV ? '?format=csv' : ''), undefined, {
          raw: { text, type: isCSV ? 'text/csv; charset=utf-8' : 'application/json' },
        });
        importForm.reset();
        await loadIntents();
        status.show('Imported “' + file.name + '”: ' + result.created + ' new intent' + (result.created === 1 ? '' : 's') + ', ' +
          result.updated + ' updated, ' + result.examplesAdded + ' example' + (result.examplesAdded === 1 ? '' : 's') + ' added.');
        watchTraining();
      } catch (e) {
        if (e.status !== 401) error.show(e.message);
      } finally {
        button.disabled = false;
      }
    });

    // ----- the model -----

    const retrain = $('retrain');
    const training = $('model-training');
    const versionsList = $('model-versions');
    let knownVersions = null; // ids seen before a retrain was requested
    let pollTimer = null;
    let pollUntil = 0;
    let waitingForNew = false;

    function showActive(active) {
      const facts = $('model-active');
      const none = $('model-none');
      if (facts) facts.hidden = !active;
      if (none) none.hidden = !!active;
      if (!active) return;
      const version = $('model-version');
      if (version) {
        version.textContent = '';
        version.appendChild(element('code', null, active.version));
      }
      if ($('model-status')) $('model-status').textContent = active.status;
      if ($('model-trained-at')) $('model-trained-at').textContent = formatDateTime(active.createdAt);
      if ($('model-summary')) $('model-summary').textContent = active.summary || '';
    }

    function versionItem(v) {
      const li = element('li', 'model-version model-version--' + String(v.status).replace(/[^a-z-]/g, ''));
      li.dataset.id = v.id;
      const head = element('p', 'model-version__head');
      head.append(element('code', 'model-version__name', v.version), document.createTextNode(' '),
        element('span', 'badge model-version__status', v.status));
      const meta = element('p', 'model-version__meta hint',
        v.examples + ' example' + (v.examples === 1 ? '' : 's') + ' · ' + formatDateTime(v.createdAt));
      li.append(head, meta);
      if (v.error) li.appendChild(element('p', 'model-version__error', v.error));
      if (v.status === 'ready' || v.status === 'retired') {
        const button = element('button', 'button button--quiet button--small activate-model', 'Activate');
        button.type = 'button';
        button.dataset.id = v.id;
        button.setAttribute('aria-label', 'Activate model ' + v.version);
        li.appendChild(button);
      }
      return li;
    }

    function renderVersions(versions) {
      if (!versionsList) return;
      versionsList.textContent = '';
      for (const v of versions) versionsList.appendChild(versionItem(v));
      const empty = $('model-versions-empty');
      if (empty) empty.hidden = versions.length > 0;
    }

    async function loadModels() {
      const versions = await api('GET', '/api/v1/models');
      renderVersions(versions);
      showActive(versions.find((v) => v.status === 'active') || null);
      return versions;
    }

    function setTraining(text) {
      training.textContent = text;
    }

    // Polls the versions while a run is waiting or in progress, and says how it ended.
    async function poll() {
      pollTimer = null;
      let versions;
      try {
        versions = await loadModels();
      } catch (e) {
        if (e.status === 401) return;
        schedulePoll();
        return;
      }
      const running = versions.some((v) => v.status === 'training');
      const fresh = knownVersions ? versions.filter((v) => !knownVersions.has(v.id)) : [];
      const finished = fresh.find((v) => v.status !== 'training');
      if (finished && !running) {
        waitingForNew = false;
        knownVersions = null;
        retrain.disabled = false;
        if (finished.status === 'failed') {
          setTraining('');
          error.show('Training failed: ' + (finished.error || 'unknown error') + ' The previous model keeps answering.');
        } else {
          setTraining('Model ' + finished.version + ' is ' + (finished.status === 'active' ? 'now active.' : finished.status + '.'));
        }
        return;
      }
      if (running) {
        setTraining('Training a new model… the current one keeps answering meanwhile.');
      } else if (waitingForNew) {
        setTraining('Training is queued…');
      } else {
        setTraining('');
        retrain.disabled = false;
        return;
      }
      if (Date.now() < pollUntil) schedulePoll();
      else {
        setTraining('Training is taking long; reload the page later to see the result.');
        retrain.disabled = false;
      }
    }

    function schedulePoll() {
      if (pollTimer) window.clearTimeout(pollTimer);
      pollTimer = window.setTimeout(poll, 3000);
    }

    // After a change that retrains the model (or a retrain request): follow the new run.
    async function watchTraining() {
      try {
        const versions = await api('GET', '/api/v1/models');
        knownVersions = new Set(versions.filter((v) => v.status !== 'training').map((v) => v.id));
      } catch (e) {
        knownVersions = new Set();
      }
      waitingForNew = true;
      pollUntil = Date.now() + 10 * 60 * 1000;
      setTraining('Training is queued…');
      schedulePoll();
    }

    retrain.addEventListener('click', async () => {
      error.clear();
      status.clear();
      retrain.disabled = true;
      try {
        const result = await api('POST', '/api/v1/models/train', {});
        await watchTraining();
        if (result && result.queued === false) setTraining('A training run is already queued or running…');
      } catch (e) {
        retrain.disabled = false;
        if (e.status !== 401) error.show(e.message);
      }
    });

    if (versionsList) {
      versionsList.addEventListener('click', async (event) => {
        const button = event.target.closest('button.activate-model');
        if (!button || button.disabled) return;
        error.clear();
        status.clear();
        button.disabled = true;
        try {
          await api('POST', '/api/v1/models/' + encodeURIComponent(button.dataset.id) + '/activate', {});
          setTraining('');
          const versions = await loadModels();
          const active = versions.find((v) => v.status === 'active');
          status.show('Model ' + (active ? active.version : '') + ' is now active.');
        } catch (e) {
          button.disabled = false;
          if (e.status !== 401) error.show(e.message);
        }
      });
    }

    // Initial state: the versions, and a run already in progress (e.g. right after start-up).
    loadModels().then((versions) => {
      if (versions.some((v) => v.status === 'training')) {
        knownVersions = new Set(versions.filter((v) => v.status !== 'training').map((v) => v.id));
        waitingForNew = true;
        pollUntil = Date.now() + 10 * 60 * 1000;
        retrain.disabled = true;
        setTraining('Training a new model… the current one keeps answering meanwhile.');
        schedulePoll();
      }
    }).catch((e) => {
      if (e.status !== 401) error.show(e.message);
    });
  }

  // ---------- one intent ----------

  function intentPage(root) {
    const key = root.dataset.key;
    const base = '/api/v1/intents/' + encodeURIComponent(key);
    const error = messageBox('kb-error');
    const status = messageBox('kb-status');
    const form = $('intent-form');
    const list = $('examples');
    const exampleText = $('example-text');
    const save = $('save-intent');

    function updateCount() {
      const n = list.querySelectorAll('.example').length;
      $('example-count').textContent = String(n);
      $('examples-empty').hidden = n > 0;
    }

    function exampleItem(example) {
      const li = element('li', 'example');
      li.dataset.id = example.id;
      const del = element('button', 'button button--quiet button--small delete-example', 'Delete');
      del.type = 'button';
      del.dataset.id = example.id;
      del.setAttribute('aria-label', 'Delete example: ' + example.text);
      li.append(element('span', 'example__text', example.text), document.createTextNode(' '), del);
      return li;
    }

    function applyIntent(intent) {
      $('intent-heading').textContent = intent.title;
      document.title = intent.title + ' · Tandem';
      $('intent-title').value = intent.title;
      $('intent-answer').value = intent.answer;
      $('intent-sensitive').checked = intent.sensitive === true;
      if (MODES.includes(intent.automation)) $('intent-mode').value = intent.automation;
    }

    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.clear();
      status.clear();
      const title = $('intent-title').value.trim();
      const answer = $('intent-answer').value.trim();
      if (!title) { error.show('Give the intent a title.'); $('intent-title').focus(); return; }
      if (!answer) { error.show('Write the approved answer.'); $('intent-answer').focus(); return; }
      save.disabled = true;
      try {
        const intent = await api('PUT', base, {
          title,
          answer,
          sensitive: $('intent-sensitive').checked,
          automation: $('intent-mode').value,
        });
        applyIntent(intent);
        status.show('Saved. New conversations use this answer and these settings from now on.');
      } catch (e) {
        if (e.status !== 401) error.show(e.message);
      } finally {
        save.disabled = false;
      }
    });

    const del = $('delete-intent');
    if (del) {
      confirmTwice(del, 'Press again to delete', async () => {
        error.clear();
        status.clear();
        del.disabled = true;
        try {
          await api('DELETE', base);
          window.location.assign('/console/knowledge-base');
        } catch (e) {
          del.disabled = false;
          if (e.status !== 401) error.show(e.message);
        }
      });
    }

    $('add-example').addEventListener('submit', async (event) => {
      event.preventDefault();
      error.clear();
      status.clear();
      const text = exampleText.value.trim();
      if (!text) {
        error.show('Write an example phrasing first.');
        exampleText.focus();
        return;
      }
      const texts = Array.from(list.querySelectorAll('.example__text'), (node) => node.textContent);
      if (texts.includes(text)) {
        error.show('That example is there already.');
        exampleText.focus();
        return;
      }
      const button = $('add-example-button');
      if (button) button.disabled = true;
      try {
        const example = await api('POST', base + '/examples', { text });
        list.appendChild(exampleItem(example));
        updateCount();
        exampleText.value = '';
        status.show('Example added; the model retrains in the background.');
      } catch (e) {
        if (e.status !== 401) error.show(e.message);
      } finally {
        if (button) button.disabled = false;
        exampleText.focus();
      }
    });

    list.addEventListener('click', async (event) => {
      const button = event.target.closest('button.delete-example');
      if (!button || button.disabled) return;
      const item = button.closest('.example');
      error.clear();
      status.clear();
      button.disabled = true;
      try {
        await api('DELETE', base + '/examples/' + encodeURIComponent(button.dataset.id));
        // Keep focus in the list: the next example's button, else the previous, else the input.
        const next = item.nextElementSibling || item.previousElementSibling;
        item.remove();
        updateCount();
        const target = next && next.querySelector('button.delete-example');
        (target || exampleText).focus();
        status.show('Example deleted; the model retrains in the background.');
      } catch (e) {
        button.disabled = false;
        if (e.status !== 401) error.show(e.message);
      }
    });
  }

  // The small-talk replies are workspace settings: read, change the one field, save.
  function smallTalkForm() {
    const form = $('small-talk');
    const save = $('save-small-talk');
    if (!form || !save) return;
    const error = messageBox('kb-error');
    const status = messageBox('kb-status');
    form.addEventListener('submit', async (event) => {
      event.preventDefault();
      error.clear();
      status.clear();
      const replies = {};
      for (const field of form.querySelectorAll('textarea')) {
        if (!field.value.trim()) {
          error.show('Every small-talk reply needs some text.');
          field.focus();
          return;
        }
        replies[field.name] = field.value.trim();
      }
      save.disabled = true;
      try {
        const workspace = await api('GET', '/api/v1/workspace');
        workspace.settings.smallTalk = replies;
        await api('PUT', '/api/v1/workspace', { name: workspace.name, settings: workspace.settings });
        status.show('Saved. The assistant uses these replies from the next message on.');
      } catch (e) {
        if (e.status !== 401) error.show(e.message);
      } finally {
        save.disabled = false;
      }
    });
  }

  const kbRoot = $('knowledge-base');
  if (kbRoot) smallTalkForm();
  if (kbRoot && $('intents')) knowledgeBasePage(kbRoot);
  const intentRoot = $('intent-page');
  if (intentRoot && $('intent-form')) intentPage(intentRoot);
})();
