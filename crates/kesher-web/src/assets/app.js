// kesher's pages work without this file; it only adds conveniences: the language menu applies
// at once, and the segment editor shows its count and errors while one types.
'use strict';
document.addEventListener('DOMContentLoaded', () => {
  for (const s of document.querySelectorAll('select[data-autosubmit]')) {
    s.addEventListener('change', () => s.form.submit());
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
