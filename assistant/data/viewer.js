// The document viewer: bring the answering sentence into view when the page opens
// (a served file, not inline script, so a strict Content-Security-Policy still allows it).
document.addEventListener('DOMContentLoaded', () => {
  const target = document.getElementById('svar');
  if (!target) return;
  const folded = target.closest('details');
  if (folded) folded.open = true;
  target.scrollIntoView({ block: 'center', inline: 'nearest' });
});
