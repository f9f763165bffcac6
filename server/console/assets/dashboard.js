// The dashboard's live figures: one Server-Sent Events stream (/events), drawn without reloading the page.
// No inline script (the console's CSP forbids it); only textContent is written, never HTML.

const chartBox = document.getElementById('chart');
let plot;

async function drawChart(columns) {
  if (!chartBox) return;
  if (!plot) {
    const { default: uPlot } = await import('./uPlot.esm.js');
    plot = new uPlot(
      {
        width: Math.max(300, chartBox.clientWidth),
        height: 220,
        series: [{}, { label: 'connections', stroke: '#3b6fb6' }, { label: 'sessions', stroke: '#2a9d4b' }, { label: 'requests/s', stroke: '#c0392b', scale: 'rps' }],
        axes: [{}, {}, { scale: 'rps', side: 1, grid: { show: false } }],
      },
      columns,
      chartBox,
    );
    return;
  }
  plot.setData(columns);
}

function fillTable(id, rows) {
  const tableEl = document.getElementById(id);
  if (!tableEl) return;
  const body = tableEl.tBodies[0] ?? tableEl.createTBody();
  body.replaceChildren(
    ...rows.map((cells) => {
      const tr = document.createElement('tr');
      for (const cell of cells) {
        const td = document.createElement('td');
        td.textContent = String(cell);
        tr.append(td);
      }
      return tr;
    }),
  );
}

const counts = (record) => Object.entries(record).sort((a, b) => b[1] - a[1]);

const events = new EventSource('/events');
events.onmessage = (message) => {
  const data = JSON.parse(message.data);
  for (const el of document.querySelectorAll('[data-figure]')) {
    const value = data[el.dataset.figure];
    if (value !== undefined) el.textContent = String(value);
  }
  fillTable('byVersion', counts(data.byVersion));
  fillTable('byClient', counts(data.byClient));
  fillTable(
    'nodes',
    data.nodes.map((n) => [n.nodeId, n.version, n.connections, n.sessions, n.stale ? `missing (${Math.round(n.ageMs / 1000)} s)` : n.draining ? 'draining' : 'up']),
  );
  if (data.global) void drawChart(data.chart);
  const live = document.getElementById('live');
  if (live) live.textContent = `live · updated ${new Date().toLocaleTimeString()}`;
};
events.addEventListener('end', () => {
  events.close();
  location.href = '/login?why=expired';
});
events.onerror = () => {
  // A refused stream (401: the session ended) is closed for good; a dropped one reconnects by itself.
  if (events.readyState === EventSource.CLOSED) {
    location.href = '/login?why=expired';
    return;
  }
  const live = document.getElementById('live');
  if (live) live.textContent = 'reconnecting…';
};
