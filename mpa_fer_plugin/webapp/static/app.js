// The page's behaviour: upload or webcam -> /api/analyze -> boxes, face
// cards with expression bars; a picked face -> /api/heatmap; the model
// selector -> /api/card. No library, nothing fetched from the network.
'use strict';

const PALETTE = ['#ffc800', '#00a0ff', '#50dc50', '#e650e6', '#ff3c3c',
                 '#50ffff'];
const $ = (id) => document.getElementById(id);
const state = { result: null, face: null, blob: null, stream: null };

function setStatus(text, error) {
  $('status').textContent = text;
  $('status').classList.toggle('error', Boolean(error));
}

function busy(on) {
  document.body.dataset.state = on ? 'busy' : 'ready';
}

async function api(url, options) {
  const res = await fetch(url, options);
  const type = res.headers.get('Content-Type') || '';
  const data = type.startsWith('application/json') ? await res.json() : null;
  if (!res.ok) {
    throw new Error((data && data.error) || `${res.status} ${res.statusText}`);
  }
  return data;
}

function el(tag, attrs, text) {
  const node = document.createElement(tag);
  Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
  if (text !== undefined) node.textContent = text;
  return node;
}

// -- models -------------------------------------------------------------
function fillModels(data, selected) {
  const select = $('model');
  select.textContent = '';
  data.models.forEach((m) => {
    const opt = el('option', { value: m.name },
                   m.error ? `${m.label} (unavailable)` : m.label);
    if (m.error) { opt.disabled = true; opt.title = m.error; }
    select.appendChild(opt);
  });
  select.value = selected || data.default || '';
}

async function loadModels() {
  const data = await api('/api/models');
  fillModels(data);
  $('load-panel').hidden = !data.allow_load;
  const missing = data.models.filter((m) => m.error);
  setStatus(missing.length ? missing.map((m) => `${m.name}: ${m.error}`)
    .join('; ') : 'Upload a photo or use the webcam.');
  await showCard();
}

function showWarning(text) {
  $('warning').hidden = !text;
  $('warning').textContent = text || '';
}

async function showCard() {
  const body = $('card').querySelector('tbody');
  body.textContent = '';
  if (!$('model').value) return;
  const data = await api(`/api/card?model=${encodeURIComponent(
    $('model').value)}`);
  showWarning(data.warning);
  cardRows(data.card, '').forEach(([key, text]) => {
    const row = el('tr', { 'data-key': key });
    row.appendChild(el('th', {}, key));
    row.appendChild(el('td', {}, text));
    body.appendChild(row);
  });
}

// Nested card fields become 'outer.inner' rows; lists are joined.
function cardRows(obj, prefix) {
  const rows = [];
  Object.entries(obj).forEach(([key, value]) => {
    const name = prefix + key;
    if (value === null || value === undefined || value === '') {
      rows.push([name, '—']);
    } else if (Array.isArray(value)) {
      rows.push([name, value.map((v) => (typeof v === 'object'
        ? JSON.stringify(v) : String(v))).join(', ')]);
    } else if (typeof value === 'object') {
      rows.push(...cardRows(value, `${name}.`));
    } else if (typeof value === 'number' && !Number.isInteger(value)) {
      rows.push([name, String(Number(value.toFixed(4)))]);  // 4 decimals
    } else {
      rows.push([name, String(value)]);
    }
  });
  return rows;
}

// -- analysis -----------------------------------------------------------
// live: a webcam frame of the Live loop (no heatmap until it stops).
async function analyze(blob, live) {
  state.blob = blob;
  busy(true);
  setStatus('Finding faces…');
  try {
    const model = encodeURIComponent($('model').value);
    const data = await api(`/api/analyze?model=${model}`,
      { method: 'POST', body: blob,
        headers: { 'Content-Type': blob.type || 'application/octet-stream' } });
    state.result = data;
    // A counter of finished analyses (the browser test waits on it).
    document.body.dataset.analyses = String(
      Number(document.body.dataset.analyses || 0) + 1);
    if ($('photo').src.startsWith('blob:')) URL.revokeObjectURL($('photo').src);
    $('photo').src = URL.createObjectURL(blob);
    $('stage').hidden = false;
    render(data);
    setStatus(`${data.faces.length} face(s) with ${data.model} ` +
              `(${data.detector}, ${data.seconds.toFixed(2)} s).`);
    showWarning(data.warning);
    if (live) clearHeatmap('Live: uncheck Live, then pick a face.');
    else if (data.faces.length) await pick(0);
    else clearHeatmap('No face found.');
  } catch (err) {
    setStatus(err.message, true);
  } finally {
    busy(false);
  }
}

function render(data) {
  const svg = $('boxes');
  svg.textContent = '';
  svg.setAttribute('viewBox', `0 0 ${data.width} ${data.height}`);
  const list = $('faces');
  list.textContent = '';
  $('face-count').textContent = `(${data.faces.length})`;
  const heat = $('heat-class');
  heat.length = 1;
  data.classes.forEach((c) => heat.appendChild(el('option', { value: c }, c)));
  data.faces.forEach((face) => {
    const color = PALETTE[face.index % PALETTE.length];
    const [x1, y1, x2, y2] = face.box;
    const ns = 'http://www.w3.org/2000/svg';
    const rect = document.createElementNS(ns, 'rect');
    Object.entries({ x: x1, y: y1, width: x2 - x1, height: y2 - y1,
                     stroke: color, 'data-index': face.index })
      .forEach(([k, v]) => rect.setAttribute(k, v));
    const label = document.createElementNS(ns, 'text');
    label.setAttribute('x', x1 + 3);
    label.setAttribute('y', Math.max(16, y1 - 4));
    label.setAttribute('fill', color);
    label.textContent = `${face.index + 1} ${face.pred_class}`;
    [rect, label].forEach((n) => {
      n.addEventListener('click', () => pick(face.index));
      svg.appendChild(n);
    });
    list.appendChild(faceCard(face, data.classes, color));
  });
}

function faceCard(face, classes, color) {
  const card = el('div', { class: 'face', 'data-index': face.index,
                           'data-pred': face.pred_class });
  card.style.borderLeftColor = color;
  card.appendChild(el('img', { src: face.crop, alt: `face ${face.index + 1}` }));
  const right = el('div');
  right.appendChild(el('div', { class: 'face-title' },
    `Face ${face.index + 1}: ${face.pred_class} ` +
    `${(100 * face.pred_score).toFixed(1)}%`));
  classes.forEach((c) => {
    const p = face.scores[c];
    const row = el('div', { class: 'bar-row' + (c === face.pred_class
      ? ' top' : ''), 'data-class': c, 'data-score': p.toFixed(6) });
    row.appendChild(el('span', {}, c));
    const bar = el('div', { class: 'bar' });
    const fill = el('div', { class: 'bar-fill' });
    fill.style.width = `${(100 * p).toFixed(1)}%`;
    bar.appendChild(fill);
    row.appendChild(bar);
    row.appendChild(el('span', {}, `${(100 * p).toFixed(1)}%`));
    right.appendChild(row);
  });
  card.appendChild(right);
  card.addEventListener('click', () => pick(face.index));
  return card;
}

function clearHeatmap(note) {
  $('heatmap').hidden = true;
  $('heat-note').textContent = note;
}

async function pick(index) {
  state.face = index;
  document.querySelectorAll('.face, #boxes rect').forEach((n) => {
    n.classList.toggle('selected', Number(n.dataset.index) === index);
  });
  const r = state.result;
  const cls = $('heat-class').value;
  const url = `/api/heatmap?id=${r.id}&face=${index}` +
              (cls ? `&class=${encodeURIComponent(cls)}` : '');
  const img = $('heatmap');
  img.dataset.face = String(index);
  $('heat-note').textContent = `Face ${index + 1}: loading the heatmap…`;
  await new Promise((resolve) => {
    img.onload = () => {
      img.hidden = false;
      $('heat-note').textContent = `Face ${index + 1}, class ` +
        `${cls || r.faces[index].pred_class}.`;
      resolve();
    };
    img.onerror = () => {
      clearHeatmap(`Face ${index + 1}: no heatmap (see the server log).`);
      resolve();
    };
    img.src = url;
  });
}

// -- webcam -------------------------------------------------------------
async function startWebcam() {
  try {
    state.stream = await navigator.mediaDevices.getUserMedia({ video: true });
  } catch (err) {
    setStatus(`No webcam: ${err.message}`, true);
    return;
  }
  const video = $('video');
  video.srcObject = state.stream;
  video.hidden = false;
  $('webcam-capture').hidden = false;
  $('webcam-stop').hidden = false;
  $('webcam-live-label').hidden = false;
  setStatus('Webcam on: press Capture to analyse a frame, or tick Live.');
}

function stopWebcam() {
  if (state.stream) state.stream.getTracks().forEach((t) => t.stop());
  state.stream = null;
  $('video').hidden = true;
  $('webcam-capture').hidden = true;
  $('webcam-stop').hidden = true;
  $('webcam-live-label').hidden = true;
  $('webcam-live').checked = false;
}

function grab() {
  const video = $('video');
  const canvas = document.createElement('canvas');
  canvas.width = video.videoWidth;
  canvas.height = video.videoHeight;
  canvas.getContext('2d').drawImage(video, 0, 0);
  return new Promise((resolve) => canvas.toBlob(resolve, 'image/png'));
}

async function capture() {
  await analyze(await grab());
}

// One frame after another while Live is ticked (each waits for the last).
async function live() {
  while ($('webcam-live').checked && state.stream) {
    await analyze(await grab(), true);
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
}

// -- wiring -------------------------------------------------------------
async function loadModel(event) {
  event.preventDefault();
  busy(true);
  setStatus('Loading the model…');
  try {
    const data = await api('/api/models', { method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ name: $('load-name').value,
                             config: $('load-config').value || null }) });
    fillModels(data, data.name);
    await showCard();
    setStatus(`Loaded ${data.name}.`);
    if (state.blob) await analyze(state.blob);
  } catch (err) {
    setStatus(err.message, true);
  } finally {
    busy(false);
  }
}

$('file').addEventListener('change', (e) => {
  if (e.target.files.length) analyze(e.target.files[0]);
});
$('model').addEventListener('change', async () => {
  busy(true);
  setStatus(`Loading ${$('model').value}…`);
  try {
    await showCard();
    if (state.blob) await analyze(state.blob);
    else setStatus(`Model ${$('model').value}: upload a photo.`);
  } catch (err) {
    setStatus(err.message, true);
  } finally {
    busy(false);
  }
});
$('heat-class').addEventListener('change', () => {
  if (state.result && state.face !== null) pick(state.face);
});
$('webcam-start').addEventListener('click', startWebcam);
$('webcam-stop').addEventListener('click', stopWebcam);
$('webcam-capture').addEventListener('click', capture);
$('webcam-live').addEventListener('change', () => {
  if ($('webcam-live').checked) live();
});
$('load-form').addEventListener('submit', loadModel);
loadModels().then(() => busy(false))
  .catch((err) => { setStatus(err.message, true); busy(false); });
