/**
 * /assets/subscribe.js, for the hosted form and for forms embedded on the publisher's pages. Served
 * from our own origin because the CSP allows scripts from 'self' only.
 *
 * - Ticking or unticking a topic selects "only the topics ticked"; "all topics" ticks every box.
 * - Fills the hidden timezone field from the browser (without it the publication's zone is used).
 * - Shows the weekly day only while "once a week" is chosen (without JavaScript it is always shown,
 *   and its hint says it applies to the weekly digest only).
 * - For every subscription form (marked `data-gazette-subscribe`, or posting to this origin's
 *   /subscribe) it fetches GET /api/v1/subscriptions/challenge from the origin the script came
 *   from, without cookies; an embedded form gets its signed render time as `embed_rendered`
 *   (the minimum time-to-submit), and when a proof-of-work is handed out the script solves it with
 *   ALTCHA's documented client algorithm (SHA-256 of salt + number, WebCrypto, in batches so the
 *   page stays responsive) and adds the solution as `altcha`. A submit before that is done waits
 *   for it; a challenge about to expire is fetched and solved again.
 */
export const SUBSCRIBE_SCRIPT = `(function () {
  'use strict';
  var script = document.currentScript;
  var origin = script && script.src ? new URL(script.src, location.href).origin : location.origin;
  var CHALLENGE_URL = origin + '/api/v1/subscriptions/challenge';
  var BATCH = 256;

  function fillTimezone() {
    var tz = '';
    try { tz = Intl.DateTimeFormat().resolvedOptions().timeZone || ''; } catch (e) { return; }
    if (!tz) return;
    var fields = document.querySelectorAll('input[data-gazette-timezone], input[name="timezone"][type="hidden"]');
    for (var i = 0; i < fields.length; i++) if (!fields[i].value) fields[i].value = tz;
  }

  function isSubscribeForm(form) {
    if (form.hasAttribute('data-gazette-subscribe')) return true;
    try {
      var action = new URL(form.getAttribute('action') || '', location.href);
      return action.origin === origin && action.pathname === '/subscribe';
    } catch (e) { return false; }
  }

  function hidden(form, name) {
    var input = form.querySelector('input[name="' + name + '"]');
    if (!input) {
      input = document.createElement('input');
      input.type = 'hidden';
      input.name = name;
      form.appendChild(input);
    }
    return input;
  }

  function hex(buffer) {
    var bytes = new Uint8Array(buffer), out = '';
    for (var i = 0; i < bytes.length; i++) out += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
    return out;
  }

  /** ALTCHA: the number n in [0, maxnumber] with hex(SHA-256(salt + n)) === challenge, or null. */
  function solve(c) {
    var encoder = new TextEncoder();
    function batch(start) {
      if (start > c.maxnumber) return Promise.resolve(null);
      var tries = [];
      for (var n = start; n < start + BATCH && n <= c.maxnumber; n++) {
        tries.push(crypto.subtle.digest('SHA-256', encoder.encode(c.salt + n)));
      }
      return Promise.all(tries).then(function (digests) {
        for (var i = 0; i < digests.length; i++) if (hex(digests[i]) === c.challenge) return start + i;
        return batch(start + BATCH);
      });
    }
    return batch(0);
  }

  function prepare(form, state) {
    state.expires = Infinity;
    var fetched = Date.now();
    state.ready = fetch(CHALLENGE_URL, { credentials: 'omit', cache: 'no-store' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        if (!form.querySelector('input[name="rendered"]')) hidden(form, 'embed_rendered').value = data.rendered;
        var c = data.altcha;
        if (!c || !window.crypto || !crypto.subtle) return;
        // measured on this clock: the browser's and the server's may differ
        state.expires = fetched + data.expiresInSeconds * 1000;
        return solve(c).then(function (number) {
          if (number === null) return;
          hidden(form, 'altcha').value = btoa(JSON.stringify({
            algorithm: c.algorithm, challenge: c.challenge, number: number, salt: c.salt, signature: c.signature
          }));
          form.setAttribute('data-gazette-solved', '');
        });
      })
      .catch(function () {});
  }

  function guard(form) {
    var state = {};
    prepare(form, state);
    form.addEventListener('submit', function (event) {
      if (state.passing) return;
      event.preventDefault();
      if (state.waiting) return;
      state.waiting = true;
      if (Date.now() > state.expires - 30000) prepare(form, state);
      state.ready.then(function () {
        // a task later: a form ignores submit requests while its own submit event is being fired
        setTimeout(function () {
          state.waiting = false;
          state.passing = true;
          if (form.requestSubmit) form.requestSubmit(); else form.submit();
          state.passing = false;
        }, 0);
      });
    });
  }

  /** Ticking or unticking a topic means "only these"; choosing "all topics" ticks every box. */
  function linkTopics(form) {
    var modes = form.querySelectorAll('input[name="topicsMode"]');
    if (!modes.length) return;
    function mode(value) {
      for (var i = 0; i < modes.length; i++) if (modes[i].value === value) modes[i].checked = true;
    }
    form.addEventListener('change', function (event) {
      var t = event.target;
      if (t.name === 'topics') mode('chosen');
      if (t.name === 'topicsMode' && t.value === 'all') {
        var boxes = form.querySelectorAll('input[name="topics"]');
        for (var i = 0; i < boxes.length; i++) boxes[i].checked = true;
      }
    });
  }

  /** The weekly day's field is hidden unless the weekly frequency is chosen. */
  function linkWeeklyDay(form) {
    var select = form.querySelector('select[name="weeklyDay"]');
    if (!select) return;
    var field = select.closest('.field') || select;
    function update() {
      var chosen = form.querySelector('input[name="frequency"]:checked');
      field.hidden = !!chosen && chosen.value !== 'weekly';
    }
    form.addEventListener('change', function (event) {
      if (event.target.name === 'frequency') update();
    });
    update();
  }

  function start() {
    fillTimezone();
    var forms = document.querySelectorAll('form');
    for (var i = 0; i < forms.length; i++) {
      linkTopics(forms[i]);
      linkWeeklyDay(forms[i]);
      if (isSubscribeForm(forms[i])) guard(forms[i]);
    }
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
`;
