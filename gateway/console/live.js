// The board's live feed (console.js connects after sign-in): GET /v1/stream through a fresh
// single-use ticket per connection, resumed from the last id; and the critical-task beep.
"use strict";

async function connect() {
  if (!S.token) return;
  setConn(S.failures ? "reconnecting" : "connecting");
  let ticket;
  try {
    const r = await api("POST", "/v1/stream/tickets");
    if (!r.ok) throw new Error(String(r.status));
    ticket = (await r.json()).ticket;
  } catch (e) {
    S.failures += 1;
    if (S.token) retry();
    return;
  }
  const query = new URLSearchParams({ ticket });
  if (S.lastId) query.set("after", S.lastId);
  const es = new EventSource(`/v1/stream?${query}`);
  S.es = es;
  let ready = false;
  es.addEventListener("ready", (e) => {
    ready = true;
    S.lastId = e.lastEventId || S.lastId;
    S.failures = 0;
    S.refusals = 0;
    setConn("live");
  });
  for (const type of FOLLOWED) {
    es.addEventListener(type, (e) => { S.lastId = e.lastEventId; onEvent(type, JSON.parse(e.data)); });
  }
  es.onerror = () => {
    es.close();
    if (S.es !== es) return;
    S.es = null;
    S.failures += 1;
    if (!ready) S.refusals += 1; // the server answered the ticket but not the stream
    retry();
  };
}

async function retry() {
  setConn("reconnecting");
  if (S.refusals >= 3 && S.lastId) {
    // Refused again and again (a position the streams no longer hold: 410): reload the board.
    S.lastId = null;
    S.refusals = 0;
    await loadBoard().catch(() => {});
  }
  setTimeout(connect, Math.min(4000, 250 * 2 ** S.failures));
}

function beep() {
  const audio = new AudioContext();
  const tone = audio.createOscillator();
  tone.frequency.value = 880;
  tone.connect(audio.destination);
  tone.start();
  tone.stop(audio.currentTime + 0.25);
}
