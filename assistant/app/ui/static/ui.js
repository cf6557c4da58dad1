
if (!window.__ccInit) {
  window.__ccInit = true;
  const style = document.createElement('style');
  style.id = 'cc-style';
  style.textContent = __CSS__;
  document.head.appendChild(style);
  const focusCite = (a, scrollPage) => {
    const id = (a.getAttribute('href') || '').slice(1);
    const el = document.getElementById(id);
    if (!el) return;
    const older = el.closest('details');
    if (older && !older.open) older.open = true;
    document.querySelectorAll('.cc-cite.cc-active').forEach(e => e.classList.remove('cc-active'));
    el.classList.add('cc-active');
    const box = el.closest('.cc-evidence');
    if (box) box.scrollTop = el.offsetTop - 8;  // .cc-evidence is the offsetParent (position: relative)
    if (scrollPage) el.scrollIntoView({block: 'nearest'});
  };
  document.addEventListener('click', ev => {
    const a = ev.target.closest && ev.target.closest('a.cc-ref');
    if (!a) return;
    ev.preventDefault();
    focusCite(a, true);
  }, true);
  document.addEventListener('mouseover', ev => {
    const a = ev.target.closest && ev.target.closest('a.cc-ref');
    if (a) focusCite(a, false);
  });
}
