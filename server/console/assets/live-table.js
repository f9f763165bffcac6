// Keeps a server-rendered table live: re-reads this page every few seconds and swaps in the new rows.
// The X-Console-Poll header tells the server this is not the admin's doing (it does not reset the idle timer).

const POLL_MS = 3000;

for (const tableEl of document.querySelectorAll('table[data-live]')) {
  const refresh = async () => {
    try {
      const response = await fetch(location.href, { headers: { 'x-console-poll': '1' }, credentials: 'same-origin' });
      if (response.status === 401) {
        location.href = '/login?why=expired';
        return;
      }
      if (!response.ok) return;
      const page = new DOMParser().parseFromString(await response.text(), 'text/html');
      const fresh = page.getElementById(tableEl.id);
      if (fresh?.tBodies[0] && tableEl.tBodies[0]) tableEl.tBodies[0].replaceWith(document.adoptNode(fresh.tBodies[0]));
    } catch {
      // The next poll tries again.
    }
  };
  setInterval(refresh, POLL_MS);
}
