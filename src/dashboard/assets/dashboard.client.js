// The dashboard's script: re-fetches the server-rendered sections every few seconds and sends
// the operator's actions with the API token (asked once, kept in this tab's sessionStorage).
(function () {
  'use strict';
  var KEY = 'nodepool-builder-api-token';
  var EVERY_MS = 2000;
  var notice = document.getElementById('notice');
  var updated = document.getElementById('updated');
  var seen = {};
  document.documentElement.classList.add('js');

  function say(text, bad) {
    notice.textContent = text;
    notice.className = bad ? 'bad' : 'good';
  }

  function replace(id, markup) {
    var section = document.getElementById(id);
    if (!section || seen[id] === markup) return;
    seen[id] = markup;
    // Log tails an operator opened stay open.
    var open = [];
    section.querySelectorAll('details').forEach(function (d, i) { if (d.open) open.push(i); });
    section.innerHTML = markup;
    var details = section.querySelectorAll('details');
    open.forEach(function (i) { if (details[i]) details[i].open = true; });
  }

  function refresh() {
    return fetch('dashboard/data' + location.search, { headers: { accept: 'application/json' }, cache: 'no-store' })
      .then(function (r) {
        if (!r.ok) throw new Error('HTTP ' + r.status);
        return r.json();
      })
      .then(function (data) {
        Object.keys(data.sections).forEach(function (id) { replace(id, data.sections[id]); });
        updated.textContent = 'as of ' + data.now;
        updated.className = 'quiet';
      })
      .catch(function (err) {
        updated.textContent = 'not updating: ' + err.message;
        updated.className = 'bad';
      });
  }

  function loop() {
    var next = function () { setTimeout(loop, EVERY_MS); };
    if (document.hidden) return next();
    refresh().then(next, next);
  }

  function action(d) {
    var where = d.provider ? 'uploads of ' + d.image + ' to ' + d.provider : 'builds of ' + d.image;
    var body = { image: d.image };
    if (d.provider) body.provider = d.provider;
    switch (d.act) {
      case 'pause': return { what: 'Pause ' + where, method: 'POST', path: 'image-pause', body: body };
      case 'unpause': return { what: 'Unpause ' + where, method: 'POST', path: 'image-unpause', body: body };
      case 'build': return { what: 'Build ' + d.image + ' now', method: 'POST', path: 'image-build-request', body: { image: d.image } };
      case 'delete': return { what: 'Delete upload ' + d.upload, method: 'DELETE', path: 'uploads/' + encodeURIComponent(d.upload) };
    }
    return undefined;
  }

  document.addEventListener('click', function (event) {
    var button = event.target instanceof Element ? event.target.closest('button[data-act]') : null;
    if (!button) return;
    var a = action(button.dataset);
    if (!a || !window.confirm(a.what + '?')) return;
    var token = sessionStorage.getItem(KEY) || window.prompt('API token (kept in this tab only)');
    if (!token) return say(a.what + ': cancelled, no token given.', true);
    button.disabled = true;
    fetch(a.path, {
      method: a.method,
      headers: { authorization: 'Bearer ' + token, 'content-type': 'application/json', accept: 'application/json' },
      body: a.body ? JSON.stringify(a.body) : undefined,
    })
      .then(function (r) {
        return r.json().catch(function () { return {}; }).then(function (json) {
          if (r.ok) {
            sessionStorage.setItem(KEY, token);
            say(a.what + ': done.', false);
          } else {
            if (r.status === 401 || r.status === 403) sessionStorage.removeItem(KEY);
            say(a.what + ': refused (' + r.status + '): ' + (json.error ? json.error.message : r.statusText), true);
          }
        });
      })
      .catch(function (err) { say(a.what + ': failed: ' + err.message, true); })
      .then(function () {
        button.disabled = false;
        return refresh();
      });
  });

  setTimeout(loop, EVERY_MS);
})();
