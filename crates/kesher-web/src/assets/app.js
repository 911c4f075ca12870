// kesher's pages work without this file; it only adds conveniences: the language menu applies
// at once, the segment editor shows its count and errors while one types, and the analytics
// page follows a running refresh step by step.
'use strict';
document.addEventListener('DOMContentLoaded', () => {
  for (const s of document.querySelectorAll('select[data-autosubmit]')) {
    s.addEventListener('change', () => s.form.submit());
  }
  const prog = document.querySelector('[data-progress-url]');
  if (prog) {
    const text = document.getElementById('progress-text');
    const bar = document.getElementById('progress-bar');
    const tick = async () => {
      try {
        const r = await fetch(prog.dataset.progressUrl, { credentials: 'same-origin', headers: { Accept: 'application/json' } });
        if (r.ok) {
          const p = await r.json();
          // Done: the page again, with the figures the refresh stored.
          if (!p.running) { window.location.assign('/analytics'); return; }
          if (p.text) { text.textContent = p.text; }
          if (p.step_no) { bar.max = p.steps; bar.value = p.step_no; }
        }
      } catch (e) { /* offline: try again */ }
      setTimeout(tick, 1500);
    };
    setTimeout(tick, 1000);
  }
  const form = document.querySelector('form[data-live-segment]');
  if (form) {
    const expr = form.querySelector('textarea[name=expression]');
    const live = document.getElementById('seg-live');
    let timer = null;
    let seq = 0;
    expr.addEventListener('input', () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const mine = ++seq;
        try {
          const r = await fetch('/segments/live?expression=' + encodeURIComponent(expr.value), { credentials: 'same-origin' });
          // The server writes this fragment (escaped, translated); a later keystroke wins.
          if (mine === seq && r.ok) { live.innerHTML = await r.text(); }
        } catch (e) { /* offline: the Check button still works */ }
      }, 350);
    });
  }
});
